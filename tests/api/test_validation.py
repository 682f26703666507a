"""Batched contract validation gives each row exactly what validating it alone gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from api_helpers import body, portfolio

from fraudrings.api.models import ApplicationIn
from fraudrings.api.validation import BatchValidator, InvalidApplication, validate_rows
from fraudrings.loaders.contract import validate


def rows(n: int) -> list[dict[str, str]]:
    apps = portfolio().applications.head(n)
    return [ApplicationIn.model_validate(body(r)).contract_row() for _, r in apps.iterrows()]


def test_a_batch_validates_each_row_as_alone() -> None:
    sample = rows(12)
    sample[3] = {**sample[3], "applied_at": "not a time"}
    sample[7] = {**sample[7], "amount": "-1"}
    together = validate_rows(sample)
    for row, result in zip(sample, together):
        alone = validate(pd.DataFrame([row], dtype=object))
        if len(alone.quarantine):
            assert isinstance(result, InvalidApplication)
            assert result.errors[0][1] == alone.quarantine["_reason"].iloc[0]
        else:
            expected = alone.rows.iloc[0].to_dict()
            assert result["content_hash"] == expected["content_hash"]
            assert result["link_hash"] == expected["link_hash"]
            assert result["contact_phones"] == expected["contact_phones"]
    assert together[3].errors == [("applied_at", "unparseable time: applied_at")]
    assert together[7].errors == [("amount", "wrong value: amount is negative")]


def test_concurrent_requests_with_one_id_are_never_batched_together() -> None:
    validator = BatchValidator()
    row = rows(1)[0]
    variants = [{**row, "amount": str(k)} for k in range(6)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(validator, variants))
    assert sorted(r["amount"] for r in results) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(InvalidApplication):
        validator({**row, "applied_at": "soon"})
