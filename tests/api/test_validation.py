"""A posted body is validated as a file row holding the same values would be: the request
model's conversions (JSON numbers, booleans, contact lists) and the one-row fast path together
give what ``contract.validate`` gives."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from api_helpers import body, portfolio

from fraudrings.api.models import ApplicationIn
from fraudrings.api.validation import InvalidApplication, validate_application
from fraudrings.loaders.contract import validate


def as_file_row(sent: dict[str, Any]) -> dict[str, Any]:
    row = ApplicationIn.model_validate(sent).contract_row()
    batch = validate(pd.DataFrame([row], dtype=object))
    assert batch.quarantine.empty
    return {k: None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else v.item() if isinstance(v, np.generic) else v
            for k, v in batch.rows.iloc[0].to_dict().items()}


def test_posted_bodies_validate_as_file_rows() -> None:
    bodies = [body(r) for r in portfolio().applications.head(40).to_dict("records")]
    bodies += [
        {**bodies[0], "amount": 25000.5, "term_months": 6, "is_fraud": True, "fpd": False},
        {**bodies[1], "amount": 25000.0, "contact_phones": ["8 912 000 00 01", " +79120000002"]},
        {**bodies[2], "channel": "web", "bureau": 640, "ratio": 0.25, "vip": False},
        {**bodies[3], "applied_at": "2025-06-01T10:00:00.5+03:00", "email": "\u0130van@X.ru"},
    ]
    for sent in bodies:
        row = ApplicationIn.model_validate(sent).contract_row()
        assert validate_application(row) == as_file_row(sent), sent


@pytest.mark.parametrize(("change", "error"), [
    ({"applied_at": "0827-01-31T23:34:10"},
     ("applied_at", "implausible time: applied_at before 1990")),
    ({"applied_at": "3000-01-01T00:00:00"}, ("applied_at", "unparseable time: applied_at")),
    ({"amount": "-1"}, ("amount", "wrong value: amount is negative")),
    ({"applicant_id": " "}, ("applicant_id", "missing required field: applicant_id")),
    ({"1st": "x"}, ("body", "column name '1st' is not a valid property name (letters, digits "
                            "and _; not starting with a digit)")),
    ({"_line": "7"}, ("body", "column name '_line' is reserved")),
])
def test_a_refusal_names_its_field(change: dict[str, str], error: tuple[str, str]) -> None:
    row = {"application_id": "A", "applied_at": "2025-06-01T10:00:00", "applicant_id": "P",
           **change}
    with pytest.raises(InvalidApplication) as refused:
        validate_application(row)
    assert refused.value.errors == [error]
