"""``validate_one`` gives exactly what ``contract.validate`` gives: generated books (clean and
written messily) and every kind of bad row, compared value by value, hash by hash, reason by
reason."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudrings.loaders.contract import ContractError, to_text, validate
from fraudrings.loaders.generator import generate_portfolio
from fraudrings.loaders.single import RowRefused, validate_one

GOOD = {"application_id": "A1", "applied_at": "2025-01-02T10:00:00", "applicant_id": "P1",
        "phone": "+7 912 345-67-89", "device_id": "D1", "merchant_id": "M1", "agent_id": "G1",
        "email": "Foo@X.com", "ip": "1.1.1.1", "address": "ADR 1", "bank_account": "B1",
        "contact_phones": "89123450000;9123450001", "amount": "100", "term_months": "12",
        "product": "pos", "is_fraud": "", "fpd": ""}


def plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, np.ndarray)):
        return [plain(v) for v in value]
    return value


def reference(row: dict[str, Any]) -> Any:
    """What ``validate`` does with a one-row table: the row, its refusal, or an error."""
    try:
        batch = validate(pd.DataFrame([row], dtype=object))
    except Exception as exc:  # the whole table refused (ContractError) or unreadable
        return ("error", type(exc).__name__)
    if len(batch.quarantine):
        return ("refused", batch.quarantine["_reason"].iloc[0])
    return {k: plain(v) for k, v in batch.rows.iloc[0].to_dict().items()}


def fast(row: dict[str, Any]) -> Any:
    try:
        return validate_one(row)
    except RowRefused as exc:
        assert exc.reason.endswith(exc.field) or f": {exc.field} " in exc.reason
        return ("refused", exc.reason)
    except ContractError:
        return ("error", "ContractError")
    except Exception as exc:
        return ("error", type(exc).__name__)


def same(row: dict[str, Any]) -> None:
    expected, got = reference(row), fast(row)
    if isinstance(expected, tuple) and expected[0] == "error":
        # validate raises for the whole table; validate_one must raise too (ContractError)
        assert got == ("error", "ContractError"), (row, expected, got)
    else:
        assert got == expected, row


@pytest.mark.parametrize("seed", [3, 11])
def test_generated_books_give_identical_rows_and_hashes(seed: int) -> None:
    apps = generate_portfolio(2000, seed=seed).applications
    text = to_text(apps)
    batch = validate(apps)
    assert batch.quarantine.empty
    expected = [{k: plain(v) for k, v in r.items()} for r in batch.rows.to_dict("records")]
    got = [validate_one(r) for r in text.to_dict("records")]
    assert got == expected


def messy(row: dict[str, str], k: int) -> dict[str, str]:
    """The same application as another system might write it."""
    out = dict(row)
    variant = k % 8
    if variant == 0:
        out["applied_at"] = row["applied_at"] + "+03:00"
        out["amount"] = (row["amount"] or "0") + ".25"
    elif variant == 1:
        out["applied_at"] = row["applied_at"].replace("T", " ") + ".123456Z"
        out["email"] = f"  {row['email'].upper()}\t"
        out["term_months"] = (row["term_months"] or "6") + ".0"
    elif variant == 2:
        digits = "".join(c for c in row["phone"] if c.isdigit())[-10:]
        out["phone"] = f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"
        out["contact_phones"] = f" 00{row['phone']} ;; {row['contact_phones']};"
    elif variant == 3:
        out["device_id"] = f"  {row['device_id']}   x\n\ny "
        out["address"] = row["address"].replace("_", "  _\u00a0")
        out["product"] = row["product"].upper()
    elif variant == 4:
        out["is_fraud"], out["fpd"] = "TRUE", "No"
        out["email"] = row["email"].replace("a", "\u0130").replace("o", "\u03a3")
    elif variant == 5:
        out["applied_at"] = row["applied_at"][:10]
        out["channel"], out["branch_code"] = "web", ""
    elif variant == 6:
        out["amount"] = f"{float(row['amount'] or 1):.3e}"
        out["ip"] = f"\u2003{row['ip']}\u3000"
    else:
        out["phone"] = "\u0669\u0661\u0662" + row["phone"]  # Arabic-Indic digits are no digits
        out["merchant_id"] = row["merchant_id"].lower() + "\u00c9"
    return out


def test_generated_books_written_messily_give_identical_rows() -> None:
    apps = generate_portfolio(1000, seed=5).applications
    rows = [messy(row, k) for k, row in enumerate(to_text(apps).to_dict("records"))]
    batch = validate(pd.DataFrame(rows, dtype=object))  # rows are validated independently
    refused = dict(zip(batch.quarantine["_line"] - 2, batch.quarantine["_reason"]))
    accepted = iter(batch.rows.to_dict("records"))
    for k, row in enumerate(rows):
        expected = (("refused", refused[k]) if k in refused
                    else {c: plain(v) for c, v in next(accepted).items()})
        assert fast(row) == expected, row
    assert len(refused) < len(rows) / 10  # messy, yet mostly valid


BAD_ROWS: dict[str, dict[str, Any]] = {
    # missing fields: empty required values are refused, absent required columns refuse the
    # whole table
    "empty application_id": {"application_id": ""},
    "blank applied_at": {"applied_at": "   "},
    "empty applicant_id": {"applicant_id": ""},
    "none applicant_id": {"applicant_id": None},
    "first missing wins": {"application_id": "", "applied_at": "soon", "amount": "x"},
    # times
    "unparseable time": {"applied_at": "yesterday"},
    "february 30": {"applied_at": "2025-02-30T10:00:00"},
    "hour 24": {"applied_at": "2025-06-01T24:00:00"},
    "second 60": {"applied_at": "2025-06-01T10:00:60"},
    "week date": {"applied_at": "2025-W22"},
    "five-digit year": {"applied_at": "99999-01-01T00:00:00"},
    "year 0": {"applied_at": "0000-01-01T00:00:00"},
    "far-past year": {"applied_at": "0827-03-01T00:00:00"},
    "epoch zero": {"applied_at": "1970-01-01T00:00:00"},
    "just before 1990": {"applied_at": "1989-12-31T23:59:59"},
    "1990 local, 1989 UTC": {"applied_at": "1990-01-01T00:30:00+01:00"},
    "first second of 1990": {"applied_at": "1990-01-01T00:00:00"},
    "far future": {"applied_at": "2261-12-31T23:59:59"},
    "compact date": {"applied_at": "20250601"},
    "no seconds": {"applied_at": "2025-06-01T10:00"},
    "zone without colon": {"applied_at": "2025-06-01T10:00:00+0300"},
    "padded time": {"applied_at": "  2025-06-01T10:00:00 "},
    "nanoseconds": {"applied_at": "2025-06-01T10:00:00.999999999-05:00"},
    # wrong types and values
    "amount words": {"amount": "lots"},
    "amount with comma": {"amount": "1,5"},
    "amount hex": {"amount": "0x10"},
    "amount underscore": {"amount": "1_000"},
    "amount arabic digits": {"amount": "\u0661\u0662"},
    "amount nan": {"amount": "nan"},
    "amount inf": {"amount": "inf"},
    "amount negative": {"amount": "-5"},
    "amount negative zero": {"amount": "-0.0"},
    "amount plus": {"amount": "+5"},
    "amount exponent": {"amount": "1e3"},
    "amount fraction": {"amount": "0.1"},
    "amount dot": {"amount": ".5"},
    "amount long decimal": {"amount": "12345.678901234567890123"},
    "amount huge": {"amount": "123456789012345678901234567890"},
    "amount tiny": {"amount": "1e-7"},
    "term fraction": {"term_months": "2.5"},
    "term whole float": {"term_months": "12.0"},
    "term negative": {"term_months": "-1"},
    "term exponent": {"term_months": "1e2"},
    "term words": {"term_months": "a year"},
    "is_fraud maybe": {"is_fraud": "maybe"},
    "is_fraud yes": {"is_fraud": "Yes"},
    "is_fraud T": {"is_fraud": "T"},
    "is_fraud dotted I": {"is_fraud": "\u0130"},
    "fpd 2": {"fpd": "2"},
    "fpd FALSE": {"fpd": " FALSE "},
    "amount and fpd both bad": {"amount": "x", "fpd": "2"},
    # lengths (256 characters are fine, 257 are not; characters, not bytes)
    "id of 256": {"application_id": "A" * 256},
    "id of 257": {"application_id": "A" * 257},
    "address of 256 non-ASCII": {"address": "\u0416" * 256},
    "address of 257 non-ASCII": {"address": "\u0416" * 257},
    "contacts too long": {"contact_phones": ";".join(["+79120000000"] * 25)},
    "long extra value": {"note": "x" * 1000},
    # Cypher-looking strings are data
    "cypher id": {"application_id": "X'}) MATCH (n) DETACH DELETE n //"},
    "cypher applicant": {"applicant_id": '" RETURN 1; CREATE (:Ring {ring_id: "p"}) //'},
    "cypher address": {"address": "`Application`) WITH * CALL db.labels() //"},
    "cypher device": {"device_id": "$id} ]->(n) SET n.score = 1 //"},
    # phones
    "phone trunk form": {"phone": "8 912 345-67-89"},
    "phone bare": {"phone": "9123456789"},
    "phone 00 prefix": {"phone": "007 912 345 67 89"},
    "phone plus other country": {"phone": "+44 20 7946 0958"},
    "phone short": {"phone": "112"},
    "phone no digits": {"phone": "n/a"},
    "phone only plus": {"phone": "+"},
    "phone arabic digits": {"phone": "\u0669\u0661\u0662\u0663\u0664\u0665\u0666\u0667"},
    "phone fullwidth digits": {"phone": "\uff18\uff19\uff11\uff12"},
    "phone nbsp before plus": {"phone": "\u00a0+7 912 345 67 89"},
    "phone vertical tab before plus": {"phone": "\u000b+7 912 345 67 89"},
    "phone 11 digits not trunk": {"phone": "79123456789"},
    "phone trunk with plus": {"phone": "+8 912 345 67 89"},
    "contacts messy": {"contact_phones": " 8 912 000-00-01 ;;+79120000001; 9120000001 ;x;"},
    "contacts list": {"contact_phones": [" +79120000002", "89120000003 "]},
    "contacts empty list": {"contact_phones": []},
    "contacts only separators": {"contact_phones": ";;;"},
    # e-mails and tokens
    "email spaces and case": {"email": " Ivan . Petrov @ Mail.RU "},
    "email dotted capital I": {"email": "\u0130VAN@x.com"},
    "email final sigma": {"email": "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3@x.gr"},
    "email kelvin": {"email": "\u212aelvin@X.com"},
    "email nbsp inside": {"email": "a\u00a0b@x.com"},
    "email vertical tab inside": {"email": "a\u000bb@x.com"},
    "email tab inside": {"email": "a\tb@x.com"},
    "token whitespace runs": {"device_id": " dev \t\n 7 \r\f x "},
    "token unicode spaces": {"address": "\u2003ул.\u00a0Ленина\u2009 5\u3000"},
    "token only spaces": {"bank_account": " \t "},
    "product unicode": {"product": "\u00c7ASH \u0130"},
    "product sigma": {"product": "\u03a3\u03a3"},
    # extra columns
    "extra columns": {"channel": "web", "branch": "", "Score_2": "7"},
    "extra unicode value": {"comment": "  приве\u0301т  "},
    "extra numbers": {"score": 7, "ratio": 0.5, "flag": True},
    "extra bad name": {"bad name": "x"},
    "extra digit name": {"1st": "x"},
    "extra reserved _line": {"_line": "x"},
    "extra named extra": {"extra": "x"},
    "extra named like a hash": {"content_hash": "x"},
    "padded column name": {" phone ": "+79120000001", "phone": None},
    # empty strings everywhere optional
    "all optional empty": {k: "" for k in GOOD if k not in (
        "application_id", "applied_at", "applicant_id")},
    "all optional none": {k: None for k in GOOD if k not in (
        "application_id", "applied_at", "applicant_id")},
    "only required": "only required",
}


@pytest.mark.parametrize("case", list(BAD_ROWS), ids=list(BAD_ROWS))
def test_every_kind_of_row_gives_the_same_outcome(case: str) -> None:
    change = BAD_ROWS[case]
    if change == "only required":
        row: dict[str, Any] = {k: GOOD[k] for k in ("application_id", "applied_at",
                                                      "applicant_id")}
    else:
        row = {**GOOD, **change}
        if "phone" in change and change["phone"] is None:
            del row["phone"]  # the padded name is the column
    same(row)


def test_absent_required_columns_refuse_the_table() -> None:
    row = {k: v for k, v in GOOD.items() if k != "applicant_id"}
    with pytest.raises(ContractError, match="missing required column"):
        validate(pd.DataFrame([row], dtype=object))
    with pytest.raises(ContractError, match="missing required column"):
        validate_one(row)


def test_refusals_name_their_field() -> None:
    cases = {"applied_at": {"applied_at": "0827-01-01"}, "amount": {"amount": "-1"},
             "fpd": {"fpd": "2"}, "term_months": {"term_months": "inf"},
             "address": {"address": "x" * 300}}
    for field, change in cases.items():
        with pytest.raises(RowRefused) as refused:
            validate_one({**GOOD, **change})
        assert refused.value.field == field


@pytest.mark.parametrize(("change", "reason"), [
    ({"term_months": "inf"}, "wrong type: term_months is not a whole number"),
    ({"term_months": "1e300"}, "wrong type: term_months is not a whole number"),
    ({"applied_at": "2999-12-31T23:59:59"}, "unparseable time: applied_at"),
])
def test_values_beyond_the_engines_ranges_are_refused_rows(change: dict[str, str],
                                                           reason: str) -> None:
    row = {**GOOD, **change}
    assert fast(row) == ("refused", reason)
    assert reference(row) == ("refused", reason)
