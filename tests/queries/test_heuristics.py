"""Every heuristic on the seeded graph (LadybugDB): it finds the planted pattern it is for, and
it flags none of the legitimate sharing (shop tablets, call centre, carrier IP, family, couple,
repeat customers)."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudrings.graph.store import GraphStore
from fraudrings.queries import catalog
from fraudrings.queries.fixtures import EXPECT, HUB_KEYS, Fixture

NAMES = catalog.names()


def test_at_least_eight_heuristics_and_every_one_has_expectations() -> None:
    assert len(NAMES) >= 8
    assert set(NAMES) == set(EXPECT), "each heuristic needs a planted pattern in fixtures.EXPECT"


@pytest.mark.parametrize("name", NAMES)
def test_result_has_the_standard_shape(seeded_ladybug: GraphStore, name: str) -> None:
    frame = catalog.run(seeded_ladybug, name)
    assert tuple(frame.columns) == catalog.COLUMNS
    assert len(frame) > 0
    assert frame["key"].is_unique
    assert frame["strength"].between(0.0, 1.0).all()
    assert (frame["first_seen"] <= frame["last_seen"]).all()
    assert (frame["applicants"] >= 1).all()
    for members in frame["members"]:
        assert members == sorted(set(members)) and len(members) >= 1
    assert frame["strength"].is_monotonic_decreasing
    assert frame.attrs["heuristic"] == name and frame.attrs["seconds"] >= 0


@pytest.mark.parametrize("name", NAMES)
def test_finds_the_planted_rings(seeded_ladybug: GraphStore, seeded: Fixture, name: str) -> None:
    frame = catalog.run(seeded_ladybug, name)
    for ring in EXPECT[name]:
        planted = set(seeded.rings[ring])
        hits = [set(m) for m in frame["members"] if set(m) & planted]
        assert hits, f"{name} missed the planted {ring} ring"
        assert any(len(h & planted) >= 2 for h in hits), f"{name}: {ring} found only in pieces"


@pytest.mark.parametrize("name", NAMES)
def test_flags_no_legitimate_sharing(seeded_ladybug: GraphStore, seeded: Fixture,
                                     name: str) -> None:
    frame = catalog.run(seeded_ladybug, name)
    assert not set(frame["key"]) & set(HUB_KEYS), f"{name} returned a hub"
    flagged = {m for members in frame["members"] for m in members}
    honest = flagged - seeded.ring_members
    decoys = {kind for kind, apps in seeded.decoys.items() if honest & set(apps)}
    assert not honest, f"{name} flagged honest applications of {sorted(decoys)}: {sorted(honest)}"


@pytest.mark.parametrize("name", NAMES)
def test_hubs_are_cut_not_expanded(hub_ladybug: GraphStore, name: str) -> None:
    """1,500 applicants on one device, IP, phone, contact, e-mail, flat, account, merchant and
    agent within a day: nothing is evidence, nothing comes back."""
    frame = catalog.run(hub_ladybug, name)
    assert frame.empty, f"{name} returned hub rows: {frame['key'].tolist()[:5]}"


def test_strength_orders_ring_evidence_above_weak_pairs(seeded_ladybug: GraphStore) -> None:
    # the farm's mule account (4 households within minutes) beats the synthetic account
    # (2 households over 5 days)
    frame = catalog.run(seeded_ladybug, "shared_bank_account").set_index("key")
    assert frame.loc["BankAccount:mule-farm", "strength"] > frame.loc[
        "BankAccount:acct-synth", "strength"]


def test_parameters_change_the_answer(seeded_ladybug: GraphStore) -> None:
    strict = catalog.run(seeded_ladybug, "shared_device", {"min_applicants": 4})
    assert strict["key"].tolist() == ["Device:dev-ag9"]
    none = catalog.run(seeded_ladybug, "contact_cycle", {"min_applicants": 6})
    assert none.empty and tuple(none.columns) == catalog.COLUMNS


def test_run_all_runs_every_heuristic_with_progress(seeded_ladybug: GraphStore) -> None:
    seen: list[tuple[str, int, int]] = []
    results = catalog.run_all(seeded_ladybug, {"shared_device": {"min_applicants": 4}},
                              progress=lambda name, done, total: seen.append((name, done, total)))
    assert list(results) == NAMES
    assert [s[1] for s in seen] == list(range(1, len(NAMES) + 1))
    assert results["shared_device"]["key"].tolist() == ["Device:dev-ag9"]
    assert all(isinstance(f, pd.DataFrame) for f in results.values())
