"""Ring assembly on hand-made books: rings form, ordinary sharing does not."""

from __future__ import annotations

import pandas as pd
import pytest

from fraudrings.graph.export import export_graph, export_rows
from fraudrings.graph.load import load_batch
from fraudrings.graph.rings import (
    AssemblyParams,
    assemble_rings,
    candidate_groups,
    combine_scores,
    identifier_table,
    ring_id_for,
)
from fraudrings.loaders.contract import validate

DAY = 86_400


def book() -> pd.DataFrame:
    rows = []

    def add(i: str, day: float, applicant: str, **ids: str) -> None:
        stamp = pd.Timestamp("2025-03-01") + pd.Timedelta(seconds=int(day * DAY))
        rows.append({"application_id": i, "applied_at": stamp.isoformat(),
                     "applicant_id": applicant, **ids})

    # a device farm: 8 identities, 2 devices, one mule account, within two days
    for k in range(8):
        add(f"FARM{k}", 10 + k * 0.2, f"farm-person-{k}", device_id=f"farm-dev-{k % 2}",
            bank_account="mule-1" if k % 3 else f"own-{k}", phone=f"+7900000{k:04d}")
    # a shop tablet keying 200 honest sales over 6 months at one merchant
    for k in range(200):
        add(f"SHOP{k}", k * 0.9, f"shopper-{k}", device_id="tablet-1", merchant_id="M1",
            agent_id=f"agent-{k % 4}", phone=f"+7911{k:07d}")
    # a family: 3 people, one flat, months apart, listing each other
    for k, day in enumerate((5, 70, 150)):
        add(f"FAM{k}", day, f"family-{k}", address="flat-9", phone=f"+7922000000{k}",
            contact_phones=f"+7922000000{(k + 1) % 3}")
    # a repeat customer: one person, four loans, same everything
    for k in range(4):
        add(f"REP{k}", 20 + 40 * k, "loyal-1", device_id="loyal-dev", phone="+79330000000",
            bank_account="loyal-acc")
    # carrier NAT: 150 unrelated people behind one IP
    for k in range(150):
        add(f"NAT{k}", k, f"mobile-{k}", ip="100.64.0.1", phone=f"+7944{k:07d}")
    return pd.DataFrame(rows)


def test_the_farm_is_a_ring_and_ordinary_sharing_is_not() -> None:
    export = export_rows(validate(book()).rows)
    rings, scores = assemble_rings(export)
    assert [sorted(r.members) for r in rings] == [[f"FARM{k}" for k in range(8)]]
    ring = rings[0]
    assert ring.ring_id == ring_id_for(ring.members)
    assert {s["kind"] for s in ring.shared} == {"Device", "BankAccount"}
    assert 0.5 <= ring.score <= 1.0
    assert any("burst" in r for r in ring.reasons)
    by_id = scores.set_index("application_id")
    assert (by_id.loc[[f"FARM{k}" for k in range(8)], "ring_id"] == ring.ring_id).all()
    others = by_id.drop(index=[f"FARM{k}" for k in range(8)])
    assert others["ring_id"].isna().all()
    assert others["score"].max() < ring.score


def test_ring_ids_are_stable_and_order_free() -> None:
    assert ring_id_for(["b", "a", "c"]) == ring_id_for(["c", "b", "a"])
    assert ring_id_for(["a", "b"]) != ring_id_for(["a", "b", "c"])


def test_heuristic_evidence_and_gnn_scores_raise_the_ring_score() -> None:
    export = export_rows(validate(book()).rows)
    plain, _ = assemble_rings(export)
    evidence = {"shared_device": pd.DataFrame({
        "members": [[f"FARM{k}" for k in range(8)]], "strength": [0.9]})}
    gnn = pd.Series(0.95, index=[f"FARM{k}" for k in range(8)])
    joint, scores = assemble_rings(export, evidence, gnn)
    assert joint[0].score > plain[0].score
    assert joint[0].reasons[0].startswith("shared_device")
    assert scores.set_index("application_id").loc["FARM0", "flags"] == "shared_device"


def test_a_members_own_gnn_score_orders_the_members_of_its_ring() -> None:
    # an honest application pulled into a ring must rank below the members the GNN rates as
    # fraud, and a member the GNN rates highly above its ring: with max(ring, own) every member
    # scored its ring's score whatever the GNN said of it
    export = export_rows(validate(book()).rows)
    farm = [f"FARM{k}" for k in range(8)]
    gnn = pd.Series(0.02, index=export.applications["application_id"])
    gnn[farm] = [0.9, 0.05, 0.7, 0.3, 0.95, 0.5, 0.1, 0.8]
    rings, scores = assemble_rings(export, None, gnn)
    (ring,) = rings
    members = scores.set_index("application_id").loc[farm]
    assert (members["ring_id"] == ring.ring_id).all()
    by_gnn = members.sort_values("gnn_score")["score"].to_numpy()
    assert (by_gnn[1:] > by_gnn[:-1]).all()  # strictly in the GNN's order
    assert (members["score"] >= round(ring.score, 5) - 1e-9).all()
    assert (members["score"] <= 1.0).all()
    assert members["score"].nunique() == len(farm)
    # outside rings: the application's own evidence
    shop = scores.set_index("application_id").loc["SHOP3", "score"]
    assert shop == 0.02


def test_scores_combine_by_noisy_or() -> None:
    assert combine_scores(0.0, 0.0, 0.0) == 0.0
    assert combine_scores(0.8, 0.0, 0.0) == pytest.approx(0.8)  # no own evidence: the ring's
    assert combine_scores(0.0, 0.0, 0.3) == pytest.approx(0.3)  # no ring, no flag: the GNN's
    assert combine_scores(0.0, 0.5, 0.0) == pytest.approx(0.3)  # a flag alone counts at 0.6
    assert combine_scores(0.7, 0.5, 0.5) == pytest.approx(1 - 0.3 * 0.7 * 0.5)
    assert combine_scores(1.0, 1.0, 1.0) == 1.0
    # more evidence of any kind never lowers the score
    assert combine_scores(0.6, 0.2, 0.3) < combine_scores(0.6, 0.2, 0.4)
    assert combine_scores(0.6, 0.2, 0.3) < combine_scores(0.7, 0.2, 0.3)
    assert combine_scores(0.6, 0.2, 0.3) < combine_scores(0.6, 0.3, 0.3)


def test_a_store_export_is_the_rows_export_and_assembles_the_same(ladybug_store) -> None:
    # the engine returns links in no fixed order; the export sorts them, so Louvain's splits
    # and therefore the rings do not depend on how a scan happened to run
    batch = validate(book())
    load_batch(ladybug_store, batch)
    stored, plain = export_graph(ladybug_store), export_rows(batch.rows)
    assert stored.applications["application_id"].tolist() == plain.applications[
        "application_id"].tolist()
    for rel, frame in plain.links.items():
        got = stored.links[rel]
        assert got["app"].tolist() == frame["app"].tolist(), rel
        assert got["value"].tolist() == frame["value"].tolist(), rel
    assert [r.as_dict() for r in assemble_rings(stored)[0]] == [
        r.as_dict() for r in assemble_rings(plain)[0]]


def test_own_and_contact_phones_are_one_identifier() -> None:
    # five people each name the next one's own phone as their contact, within a week: only
    # contact-to-own links tie them, which a per-relationship identifier would not see
    rows = []
    for k in range(5):
        stamp = pd.Timestamp("2025-05-01") + pd.Timedelta(days=k)
        rows.append({"application_id": f"C{k}", "applied_at": stamp.isoformat(),
                     "applicant_id": f"clique-{k}", "phone": f"+7955000000{k}",
                     "contact_phones": f"+7955000000{(k + 1) % 5}",
                     "bank_account": "clique-acc" if k < 2 else f"own-acc-{k}"})
    export = export_rows(validate(pd.DataFrame(rows)).rows)
    idents = identifier_table(export, AssemblyParams())
    phones = [label for label in idents.labels if label.startswith("Phone:")]
    assert len(phones) == 5  # each number: one owner and one lister, two applicants
    groups = candidate_groups(export, idents, AssemblyParams())
    assert [sorted(export.applications["application_id"][g]) for g in groups] == [
        [f"C{k}" for k in range(5)]]
