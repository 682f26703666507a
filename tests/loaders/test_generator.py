"""The synthetic portfolio: contract, determinism, planted truth, outcomes, files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraudrings.graph.schema import CONTRACT_FIELDS, REQUIRED_FIELDS
from fraudrings.loaders.generator import (
    DECOY_KINDS,
    TYPOLOGIES,
    Portfolio,
    generate_portfolio,
)

N = 5000


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return generate_portfolio(N, seed=7)


@pytest.fixture(scope="module")
def by_id(portfolio: Portfolio) -> pd.DataFrame:
    return portfolio.applications.set_index("application_id")


def _phone_key(text: str) -> str:
    """Test-local normalisation: the 10-digit national number."""
    digits = re.sub(r"\D", "", text)
    return digits[-10:]


def _cutoff(portfolio: Portfolio) -> str:
    return portfolio.truth["params"]["label_cutoff"]


# -- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    for fmt in ("parquet", "csv", "jsonl"):
        first = generate_portfolio(1500, seed=3).write(tmp_path / "a", fmt)
        second = generate_portfolio(1500, seed=3).write(tmp_path / "b", fmt)
        for key, path in first.items():
            assert path.read_bytes() == second[key].read_bytes(), (fmt, key)


def test_other_seed_gives_other_portfolio() -> None:
    a = generate_portfolio(1500, seed=3).applications
    b = generate_portfolio(1500, seed=4).applications
    assert set(a["applicant_id"]).isdisjoint(set(b["applicant_id"])) or not a.equals(b)
    assert not a["phone"].equals(b["phone"])


# -- the input contract ------------------------------------------------------------------------


def test_columns_are_the_input_contract(portfolio: Portfolio) -> None:
    apps = portfolio.applications
    assert list(apps.columns) == list(CONTRACT_FIELDS)
    assert len(apps) == N
    for field in REQUIRED_FIELDS:
        assert (apps[field] != "").all() and apps[field].notna().all()
    assert set(apps["product"]) == {"pos", "online", "cash"}
    assert (apps["amount"] > 0).all() and apps["term_months"].dtype == np.int64
    assert set(apps["is_fraud"]) <= {"1", "0", ""} and set(apps["fpd"]) <= {"1", "0", ""}


def test_ids_are_unique_and_well_formed(portfolio: Portfolio) -> None:
    apps = portfolio.applications
    assert apps["application_id"].is_unique
    assert apps["application_id"].str.fullmatch(r"A\d{7}").all()
    assert apps["applicant_id"].str.fullmatch(r"P[0-9a-f]{12}").all()
    assert apps["applied_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").all()
    assert apps["applied_at"].is_monotonic_increasing


def test_merchant_and_agent_only_at_point_of_sale(portfolio: Portfolio) -> None:
    apps = portfolio.applications
    pos = apps["product"] == "pos"
    assert (apps.loc[pos, "merchant_id"] != "").all() and (apps.loc[pos, "agent_id"] != "").all()
    assert (apps.loc[~pos, "merchant_id"] == "").all() and (apps.loc[~pos, "agent_id"] == "").all()


def test_phone_spellings_vary_but_numbers_stay(portfolio: Portfolio) -> None:
    apps = portfolio.applications
    phones = apps.loc[apps["phone"] != "", "phone"]
    shapes = set(phones.str.replace(r"\d", "d", regex=True))
    assert len(shapes) >= 5
    assert phones.map(_phone_key).str.fullmatch(r"9\d{9}").all()
    # Repeat customers give one number several ways.
    spellings = phones.groupby(phones.map(_phone_key)).nunique()
    assert (spellings > 1).sum() > 10
    contacts = apps["contact_phones"].str.split(";").explode()
    assert contacts[contacts.notna() & (contacts != "")].map(_phone_key).str.len().eq(10).all()


def test_email_case_and_spaces_vary(portfolio: Portfolio) -> None:
    emails = portfolio.applications["email"]
    emails = emails[emails != ""]
    assert (emails != emails.str.strip()).any()
    assert (emails.str.strip() != emails.str.strip().str.lower()).any()
    assert emails.str.strip().str.lower().str.fullmatch(r"[a-z._]+\d+@[a-z.]+").all()


# -- planted rings -----------------------------------------------------------------------------


def test_every_typology_is_planted(portfolio: Portfolio) -> None:
    rings = portfolio.truth["rings"]
    assert set(TYPOLOGIES) <= {r["typology"] for r in rings}
    assert len(TYPOLOGIES) >= 5
    for ring in rings:
        assert 4 <= ring["size"] <= 30 and ring["size"] == len(ring["members"])
    share = sum(r["size"] for r in rings) / N
    assert 0.015 <= share <= 0.04


def _hub_values(portfolio: Portfolio) -> set[tuple[str, str]]:
    """Devices and IPs that many honest applications use (tablets, NAT, shop lines...)."""
    apps = portfolio.applications[portfolio.labels["true_fraud"] == 0]
    hubs = set()
    for field in ("device_id", "ip"):
        counts = apps.loc[apps[field] != "", field].value_counts()
        hubs |= {(field, value) for value in counts.index[counts >= 10]}
    return hubs


def _own_values(row: pd.Series) -> set[tuple[str, str]]:
    values = {("applicant_id", row["applicant_id"])}
    for field in ("device_id", "ip", "address", "bank_account"):
        if row[field]:
            values.add((field, row[field]))
    if row["email"]:
        values.add(("email", row["email"].strip().lower()))
    if row["phone"]:
        values.add(("phone", _phone_key(row["phone"])))
    return values


def _linked(members: pd.DataFrame, hubs: set[tuple[str, str]]) -> int:
    """Connected components of the members over their non-hub identifiers and contacts."""
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, (_, row) in enumerate(members.iterrows()):
        values = _own_values(row) - hubs
        values |= {("phone", _phone_key(c)) for c in row["contact_phones"].split(";") if c}
        for value in values:
            parent[find(i)] = find(owner.setdefault(value, i))
    return len({find(i) for i in range(len(members))})


def test_rings_are_connected_but_no_identifier_covers_them(portfolio: Portfolio,
                                                           by_id: pd.DataFrame) -> None:
    hubs = _hub_values(portfolio)
    for ring in portfolio.truth["rings"]:
        members = by_id.loc[ring["members"]].reset_index()
        assert _linked(members, hubs) == 1, ring["ring_id"]
        common = set.intersection(*(_own_values(row) for _, row in members.iterrows())) - hubs
        assert not common, (ring["ring_id"], common)


def test_rings_are_fraud_and_camouflaged(portfolio: Portfolio, by_id: pd.DataFrame) -> None:
    labels = portfolio.labels.set_index("application_id")
    hubs = _hub_values(portfolio)
    used_hub = 0
    for ring in portfolio.truth["rings"]:
        assert (labels.loc[ring["members"], "true_fraud"] == 1).all()
        assert (labels.loc[ring["members"], "ring"] == ring["ring_id"]).all()
        members = by_id.loc[ring["members"]]
        used_hub += any(_own_values(row) & hubs for _, row in members.iterrows())
        assert set(members["applicant_id"]) == set(ring["applicants"])
    assert used_hub >= 3  # some members hide behind honest hubs
    assert (labels["ring"] != "").sum() == sum(r["size"] for r in portfolio.truth["rings"])


def test_lone_fraud_exists_outside_rings(portfolio: Portfolio) -> None:
    labels = portfolio.labels
    assert ((labels["true_fraud"] == 1) & (labels["ring"] == "")).sum() >= 5


# -- decoys ------------------------------------------------------------------------------------


def test_every_decoy_kind_is_present_and_honest(portfolio: Portfolio, by_id: pd.DataFrame) -> None:
    decoys = portfolio.truth["decoys"]
    assert {d["kind"] for d in decoys} == set(DECOY_KINDS)
    fraud = set(portfolio.labels.loc[portfolio.labels["true_fraud"] == 1, "application_id"])
    for decoy in decoys:
        assert decoy["size"] == len(decoy["members"]) >= 2
        assert fraud.isdisjoint(decoy["members"])
        field, value = decoy["identifier"]["field"], decoy["identifier"]["value"]
        assert (by_id.loc[decoy["members"], field] == value).all(), decoy["decoy_id"]


def test_decoys_look_like_their_kind(portfolio: Portfolio, by_id: pd.DataFrame) -> None:
    kinds = Counter()
    for decoy in portfolio.truth["decoys"]:
        members = by_id.loc[decoy["members"]]
        kind = decoy["kind"]
        kinds[kind] += 1
        if kind == "shop_tablet":
            assert len(members) >= 10 and (members["product"] == "pos").all()
            assert members["merchant_id"].nunique() == 1 and members["agent_id"].nunique() >= 1
        elif kind == "family":
            assert 2 <= members["applicant_id"].nunique() <= 5
        elif kind == "repeat_customer":
            assert members["applicant_id"].nunique() == 1
            days = pd.to_datetime(members["applied_at"]).diff().dt.days.dropna()
            assert days.min() >= 14  # months apart, not a burst
        elif kind == "call_centre":
            assert (members["product"] == "cash").all() and members["device_id"].nunique() > 1
    big_ip = max(d["size"] for d in portfolio.truth["decoys"] if d["kind"] == "carrier_ip")
    assert big_ip >= 300
    assert kinds["family"] >= 20 and kinds["repeat_customer"] >= 50


# -- outcomes ----------------------------------------------------------------------------------


def test_labels_only_on_older_applications(portfolio: Portfolio) -> None:
    apps = portfolio.applications
    old = apps["applied_at"] <= _cutoff(portfolio)
    assert old.any() and (~old).any()
    assert (apps.loc[~old, "is_fraud"] == "").all() and (apps.loc[~old, "fpd"] == "").all()
    assert apps.loc[old, "is_fraud"].isin(["0", "1"]).all()
    assert apps.loc[old, "fpd"].isin(["0", "1"]).all()


def test_outcomes_are_incomplete_and_noisy(portfolio: Portfolio) -> None:
    apps = portfolio.applications.merge(portfolio.labels, on="application_id")
    labelled = apps[apps["is_fraud"] != ""]
    honest, fraud = labelled[labelled["true_fraud"] == 0], labelled[labelled["true_fraud"] == 1]
    assert (honest["is_fraud"] == "0").all()
    assert 0.5 <= (fraud["is_fraud"] == "1").mean() < 1.0  # coverage 0.8, sleepers later
    assert 0.02 <= (honest["fpd"] == "1").mean() <= 0.06  # fpd_noise 0.04
    assert (fraud["fpd"] == "1").mean() >= 0.6


# -- ground truth and files --------------------------------------------------------------------


def test_ground_truth_members_exist(portfolio: Portfolio) -> None:
    ids = set(portfolio.applications["application_id"])
    truth = portfolio.truth
    assert truth["seed"] == 7 and truth["n_applications"] == N
    for item in truth["rings"] + truth["decoys"]:
        assert set(item["members"]) <= ids
    assert list(portfolio.labels.columns) == ["application_id", "true_fraud", "ring", "decoy"]
    assert set(portfolio.labels["decoy"]) - {""} <= {d["decoy_id"] for d in truth["decoys"]}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_write_round_trips(tmp_path: Path, fmt: str) -> None:
    portfolio = generate_portfolio(1500, seed=11)
    paths = portfolio.write(tmp_path, fmt)
    assert paths["applications"].name == f"applications.{fmt}"
    path = paths["applications"]
    if fmt == "parquet":
        back = pd.read_parquet(path)
    elif fmt == "csv":
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        back = pd.read_json(path, lines=True, dtype=False)
    apps = portfolio.applications
    assert list(back.columns) == list(apps.columns)
    for column in apps.columns:
        if column in ("amount", "term_months"):
            np.testing.assert_array_equal(back[column].astype(float), apps[column].astype(float))
        else:
            assert back[column].astype(str).tolist() == apps[column].tolist(), column
    assert json.loads(paths["ground_truth"].read_text()) == portfolio.truth
    labels = pd.read_csv(paths["labels"], dtype={"ring": str, "decoy": str},
                         keep_default_na=False)
    pd.testing.assert_frame_equal(labels, portfolio.labels, check_dtype=False)


# -- knobs -------------------------------------------------------------------------------------


def test_difficulty_and_share_are_respected() -> None:
    easy = generate_portfolio(3000, seed=5, difficulty=0.0, ring_share=0.01)
    hard = generate_portfolio(3000, seed=5, difficulty=1.5, ring_share=0.05)
    def share(p: Portfolio) -> float:
        return float((p.labels["ring"] != "").mean())
    assert share(easy) < share(hard)
    assert 0.03 <= share(hard) <= 0.07
    assert {r["typology"] for r in hard.truth["rings"]} == set(TYPOLOGIES)


def test_progress_reaches_the_total() -> None:
    seen: list[int] = []
    generate_portfolio(800, seed=1, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 800


@pytest.mark.parametrize("kwargs", [{"n_applications": 0}, {"n_applications": 100, "months": 0},
                                    {"n_applications": 100, "ring_share": 0.9},
                                    {"n_applications": 100, "fraud_label_coverage": 2.0}])
def test_bad_arguments_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate_portfolio(**kwargs)
