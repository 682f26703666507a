"""The input contract: normalisation, quarantine with reasons, formats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fraudrings.loaders.contract import ContractError, read_applications, validate

HEADER = ("application_id,applied_at,applicant_id,phone,device_id,merchant_id,agent_id,email,ip,"
          "address,bank_account,contact_phones,amount,term_months,product,is_fraud,fpd,channel")


def rows(*lines: str) -> pd.DataFrame:
    text = "\n".join([HEADER, *lines])
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


#: link_hash and content_hash of GOOD as the first release computed them
LINK_0, CONTENT_0 = "a76cda9c15bed7ad", "74ad6822d685f713"
GOOD = ("A1,2025-01-02T10:00:00,P1,+7 912 345-67-89,D1,M1,G1, Foo@X.com ,1.1.1.1,ADR,B1,,"
        "100,12,pos,,,web")


def test_normalises_phones_emails_and_contacts() -> None:
    batch = validate(rows(
        GOOD,
        "A2,2025-01-02T11:00:00+03:00,P2,8 (912) 345 67 89,,,,FOO@x.com,,,,"
        "89123450000; +7 912 345 0000 ;9123450001,5,3,Cash,1,0,",
    ))
    assert batch.quarantine.empty
    a1, a2 = batch.rows.to_dict("records")
    assert a1["phone"] == a2["phone"] == "+79123456789"
    assert a1["email"] == a2["email"] == "foo@x.com"
    assert a2["contact_phones"] == ["+79123450000", "+79123450001"]
    assert a1["contact_phones"] == []
    assert a1["applied_at"] - a2["applied_at"] == 7200  # 11:00+03:00 is 08:00 UTC
    assert a2["product"] == "cash"
    assert a1["device_id"] == "D1" and pd.isna(a2["device_id"])  # empty = absent
    assert a1["extra"] == '{"channel": "web"}'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("A1,,P1,,,,,,,,,,,,,,,", "missing required field: applied_at"),
        (",2025-01-01,P1,,,,,,,,,,,,,,,", "missing required field: application_id"),
        ("A1,2025-01-01,,,,,,,,,,,,,,,,", "missing required field: applicant_id"),
        ("A1,yesterday,P1,,,,,,,,,,,,,,,", "unparseable time: applied_at"),
        ("A1,2025-01-01,P1,,,,,,,,,,lots,,,,,", "wrong type: amount is not a number"),
        ("A1,2025-01-01,P1,,,,,,,,,,,2.5,,,,", "wrong type: term_months is not a whole number"),
        ("A1,2025-01-01,P1,,,,,,,,,,,,,maybe,,", "wrong type: is_fraud must be 1, 0 or empty"),
        ("A1,2025-01-01,P1,,,,,,,,,,,,,,2,", "wrong type: fpd must be 1, 0 or empty"),
        ("A1,2025-01-01,P1,,,,,,,,,,-5,,,,,", "wrong value: amount is negative"),
        ("A1,1970-01-02,P1,,,,,,,,,,,,,,,", "implausible time: applied_at before 1990"),
    ],
)
def test_each_bad_row_is_quarantined_with_its_reason(line: str, reason: str) -> None:
    batch = validate(rows(GOOD.replace("A1,", "OK,", 1), line))
    assert list(batch.rows["application_id"]) == ["OK"]
    assert list(batch.quarantine["_reason"]) == [reason]
    assert list(batch.quarantine["_line"]) == [3]
    assert batch.total == 2


def test_duplicate_ids_with_different_content_are_all_quarantined() -> None:
    batch = validate(rows(GOOD, GOOD.replace("100,", "999,"), GOOD.replace("A1", "A2")))
    assert list(batch.rows["application_id"]) == ["A2"]
    assert list(batch.quarantine["_reason"]) == [
        "duplicate application_id with different content"] * 2


def test_exact_duplicate_rows_fold_into_one() -> None:
    batch = validate(rows(GOOD, GOOD))
    assert len(batch.rows) == 1 and batch.quarantine.empty and batch.duplicates == 1


def test_cypher_looking_strings_are_kept_verbatim() -> None:
    nasty = "x'}) DETACH DELETE n //"
    batch = validate(rows(GOOD.replace("P1", f'"{nasty}"')))
    assert batch.rows.loc[0, "applicant_id"] == nasty


def test_missing_required_column_refuses_the_whole_file() -> None:
    with pytest.raises(ContractError, match="missing required column"):
        validate(pd.DataFrame({"application_id": ["A1"], "applied_at": ["2025-01-01"]}))


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_the_three_formats_read_the_same(tmp_path: Path, suffix: str) -> None:
    frame = rows(GOOD, GOOD.replace("A1", "A2").replace("pos", "online"))
    path = tmp_path / f"apps.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=True)
    batch = read_applications(path)
    assert list(batch.rows["application_id"]) == ["A1", "A2"]
    assert batch.rows.loc[0, "phone"] == "+79123456789"
    assert batch.quarantine.empty


def test_wrong_path_and_wrong_type_of_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="no such file"):
        read_applications(tmp_path / "nope.csv")
    (tmp_path / "x.xlsx").write_text("nope")
    with pytest.raises(ContractError, match="unknown file type"):
        read_applications(tmp_path / "x.xlsx")


def test_a_year_far_in_the_past_is_quarantined_not_a_crash() -> None:
    batch = validate(rows(GOOD, GOOD.replace("A1,2025-01-02", "A2,0827-01-31")))
    assert list(batch.quarantine["_reason"]) == ["implausible time: applied_at before 1990"]


def test_extra_columns_are_the_json_a_person_would_write() -> None:
    """The vectorised writer against ``json.dumps`` itself, over values that need escaping."""
    import json

    import numpy as np

    odd = ["", "x", 'say "hi"', "back\\slash", "tab\there", "юникод", "emoji 😀", "a/b",
           "~[]{}", "\x7f", "ctrl\x01", "ends, ", ",", '"', "MATCH (n) DETACH DELETE n"]
    rng = np.random.default_rng(3)
    names = ["zeta", "Alpha", "m_1"]
    frame = rows(*[f"A{i},2025-01-02T10:00:00,P{i},,,,,,,,,,,,,,," for i in range(300)])
    for name in names:
        frame[name] = rng.choice(odd, len(frame))
    got = validate(frame).rows["extra"]
    want = frame[["channel", *names]].apply(
        lambda r: json.dumps({k: v.strip() for k, v in r.items() if v.strip()},
                             sort_keys=True), axis=1)
    assert list(got) == list(want)
    assert json.loads(got[0]) == {k: v.strip() for k, v in frame.loc[0, [*names]].items()
                                  if v.strip()}


def test_content_hashes_are_stable_across_releases() -> None:
    """Stored applications carry these hashes; a change would turn every re-load into a
    conflict. The values below were computed by the first release."""
    batch = validate(rows(GOOD))
    assert batch.rows.loc[0, ["link_hash", "content_hash"]].tolist() == [LINK_0, CONTENT_0]
