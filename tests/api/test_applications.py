"""The underwriting path over real HTTP, on both stores: scoring, replays, rings forming as
their members arrive, joining a swept ring, reads, and Cypher-looking data kept as data."""

from __future__ import annotations

import gc
import time
from pathlib import Path

from api_helpers import Live, body, load_book, planted, portfolio, serve

from fraudrings.api import auth
from fraudrings.api.app import create_app
from fraudrings.api.gnn import GnnScorer
from fraudrings.graph.export import export_graph
from fraudrings.graph.rings import assemble_rings
from fraudrings.graph.store import GraphStore
from fraudrings.sweep.writeback import write_back


def new_application(**fields: object) -> dict[str, object]:
    base = {"application_id": "NEW-1", "applied_at": "2025-06-01T10:00:00",
            "applicant_id": "P-NEW-1", "phone": "+7 912 000-00-01", "amount": 25000,
            "term_months": 12, "product": "pos"}
    return {**base, **fields}


def test_a_new_application_is_stored_scored_and_explained(live: Live) -> None:
    with live.client() as http:
        for k in range(3):  # two earlier applicants on the same device and mule account
            created = http.post("/v1/applications", json=new_application(
                application_id=f"OLD-{k}", applicant_id=f"P-OLD-{k}", device_id="dev-farm",
                bank_account="mule-1", phone=f"+7 912 000-10-0{k}",
                applied_at=f"2025-06-01T0{k}:00:00"))
            assert created.status_code == 201, created.text
        answer = created.json()
    assert 0.0 <= answer["score"] <= 1.0 and answer["gnn_score"] is None
    assert answer["recommendation"] in ("approve", "review", "decline")
    shared = {(s["kind"], s["value"]): s for s in answer["evidence"]["shared_identifiers"]}
    assert shared[("Device", "dev-farm")]["applications"] == 3
    assert shared[("Device", "dev-farm")]["applicants"] == 3
    assert shared[("BankAccount", "mule-1")]["hub"] is False
    assert answer["evidence"]["burst"]["applicants"] == 2
    assert answer["ring"] is not None  # three identities on one device and account in 3 hours
    assert set(answer["ring"]["members"][i]["application_id"] for i in range(3)) == {
        "OLD-0", "OLD-1", "OLD-2"}
    assert answer["ring"]["found_by"] == "api"
    assert answer["recommendation"] == "decline"

    with live.client("read") as http:
        stored = http.get("/v1/applications/OLD-2").json()
        ring = http.get(f"/v1/rings/{answer['ring']['ring_id']}").json()
        listed = http.get("/v1/rings", params={"min_score": 0.5}).json()["rings"]
        assert http.get("/v1/applications/NOPE").status_code == 404
        assert http.get("/v1/rings/ring-000000000000").status_code == 404
    assert stored["score"] == answer["score"] and stored["ring"]["ring_id"] == ring["ring_id"]
    assert {"kind": "Phone", "relationship": "USES_PHONE", "value": "+79120001002"} in stored[
        "identifiers"]  # normalised as the loader does
    assert stored["applied_at"] == 1748743200 and stored["recommendation"] == "decline"
    assert ring["size"] == 3 and {s["kind"] for s in ring["shared"]} >= {"Device", "BankAccount"}
    assert [r["ring_id"] for r in listed] == [ring["ring_id"]]


def test_a_lone_application_is_approved_with_no_ring(live: Live) -> None:
    with live.client() as http:
        answer = http.post("/v1/applications", json=new_application()).json()
    assert answer["score"] == 0.0 and answer["recommendation"] == "approve"
    assert answer["ring"] is None and answer["evidence"]["shared_identifiers"] == []
    assert answer["evidence"]["reasons"] == []


def test_a_replay_answers_the_same_and_stores_nothing_twice(live: Live) -> None:
    app = new_application(device_id="dev-1", contact_phones=["+79120000002", "89120000003"])
    with live.client() as http:
        first = http.post("/v1/applications", json=app)
        nodes = live.store.count("Application"), live.store.count("Phone")
        again = http.post("/v1/applications", json=app)
        # the same content written differently is the same application
        same = http.post("/v1/applications", json={**app, "amount": 25000.0,
                                                   "contact_phones": "+79120000002;89120000003"})
        changed = http.post("/v1/applications", json={**app, "amount": 1})
    assert first.status_code == 201 and again.status_code == 200 and same.status_code == 200
    assert again.json() == first.json() == same.json()
    assert (live.store.count("Application"), live.store.count("Phone")) == nodes == (1, 3)
    assert changed.status_code == 409
    assert changed.json() == {"detail": "application NEW-1 is stored with different content"}
    stored = live.store.query("MATCH (a:Application {application_id: 'NEW-1'}) "
                              "RETURN a.amount AS amount")
    assert stored == [{"amount": 25000.0}]


def test_a_ring_forms_as_its_members_arrive(live: Live) -> None:
    ring = planted(portfolio(), "device_farm")
    members = list(ring["application_id"])
    load_book(live.store, without=set(members))
    arrived: list[str] = []
    with live.client() as http:
        for _, row in ring.iterrows():
            answer = http.post("/v1/applications", json=body(row))
            assert answer.status_code == 201, answer.text
            arrived.append(row["application_id"])
            found = answer.json()["ring"]
            if len(arrived) < 3:
                assert found is None  # two applicants are no ring
                continue
            assert found is not None, f"no ring after {len(arrived)} members"
            assert sorted(m["application_id"] for m in found["members"]) == sorted(arrived)
            listed = http.get("/v1/rings").json()["rings"]
            assert [r["ring_id"] for r in listed] == [found["ring_id"]]  # grown, not copied
        assert answer.json()["recommendation"] == "decline"
        assert len(arrived) == len(members) >= 5


def test_an_application_joining_a_swept_ring_says_so(live: Live) -> None:
    ring = planted(portfolio(), "device_farm")
    latest = ring.iloc[-1]
    load_book(live.store, without={latest["application_id"]})
    rings, scores = assemble_rings(export_graph(live.store))  # a sweep without heuristics
    write_back(live.store, rings, scores, swept_at=int(time.time()))
    swept = next(r for r in rings if set(r.members) & set(ring["application_id"]))
    with live.client() as http:
        answer = http.post("/v1/applications", json=body(latest)).json()
    joined = answer["ring"]
    assert joined["found_by"] == "sweep" and joined["swept_at"] is not None
    assert {m["application_id"] for m in joined["members"]} >= {*swept.members,
                                                                 latest["application_id"]}
    assert answer["evidence"]["reasons"][0].startswith("joins a ring the sweep found")
    with live.client("read") as http:
        assert http.get(f"/v1/rings/{swept.ring_id}").status_code == 404  # absorbed
        assert http.get(f"/v1/rings/{joined['ring_id']}").json()["size"] == len(
            joined["members"])


def test_cypher_looking_strings_are_stored_verbatim(live: Live) -> None:
    nasty = {
        "application_id": "X'}) MATCH (n) DETACH DELETE n //",
        "applicant_id": '" RETURN 1; CREATE (:Ring {ring_id: "pwned"}) //',
        "address": "`Application`) WITH * CALL db.labels() //",
        "device_id": "$id} ]->(n) SET n.score = 1 //",
    }
    app = new_application(**nasty, phone=None)
    with live.client() as http:
        assert http.post("/v1/applications", json=new_application(
            application_id="KEEP", applicant_id="P-KEEP")).status_code == 201
        created = http.post("/v1/applications", json=app)
        assert created.status_code == 201, created.text
        stored = http.get("/v1/applications/" + nasty["application_id"]).json()
    assert stored["application_id"] == nasty["application_id"]
    assert stored["applicant_id"] == nasty["applicant_id"]
    values = {i["kind"]: i["value"] for i in stored["identifiers"]}
    assert values["Address"] == nasty["address"] and values["Device"] == nasty["device_id"]
    assert live.store.count("Application") == 2 and live.store.count("Ring") == 0


def test_the_heap_at_start_is_out_of_the_collectors_view_while_serving(
        store: GraphStore, tmp_path: Path) -> None:
    # a full collection over it holds the GIL for 60-100 ms, stalling every request in flight
    keys_file = tmp_path / "api-keys"
    auth.add_key(keys_file, "k", "write")
    app = create_app(store, keys=auth.KeyStore(keys_file), gnn=GnnScorer(enabled=False))
    assert gc.get_freeze_count() == 0
    url, stop = serve(app)
    try:
        assert gc.get_freeze_count() > 10_000
    finally:
        stop()
    assert gc.get_freeze_count() == 0  # collectable again once the server stops
