"""Concurrent arrivals over real HTTP: linked applications see each other, a ring grows by
every member that arrives at once, retries racing their original store nothing twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from api_helpers import Live, body, load_book, planted, portfolio


def at_once(live: Live, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST the bodies from as many threads, released together."""
    start = threading.Barrier(len(bodies))

    def post(sent: dict[str, Any]) -> httpx.Response:
        with live.client() as http:
            start.wait()
            return http.post("/v1/applications", json=sent)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def shared_count(answer: dict[str, Any], kind: str, value: str) -> int:
    return next((s["applications"] for s in answer["evidence"]["shared_identifiers"]
                 if s["kind"] == kind and s["value"] == value), 1)


def test_two_linked_applications_arriving_together_see_each_other(live: Live) -> None:
    pair = [{"application_id": f"C-{k}", "applied_at": f"2025-06-01T10:0{k}:00",
             "applicant_id": f"P-C-{k}", "device_id": "dev-shared", "bank_account": "acc-9"}
            for k in range(2)]
    answers = at_once(live, pair)
    assert [a.status_code for a in answers] == [201, 201]
    seen = [shared_count(a.json(), "Device", "dev-shared") for a in answers]
    # each answer reflects what was committed before it looked: the later one always sees
    # the earlier; arriving truly together, both see both
    assert max(seen) == 2
    assert live.store.query("MATCH (d:Device {value: 'dev-shared'})<-[:FROM_DEVICE]-(a) "
                            "RETURN count(a) AS n") == [{"n": 2}]
    assert live.store.count("Device") == 1 and live.store.count("BankAccount") == 1
    with live.client("read") as http:  # afterwards, each is linked to the other
        for k in range(2):
            stored = http.get(f"/v1/applications/C-{k}").json()
            assert {"kind": "Device", "relationship": "FROM_DEVICE", "value": "dev-shared"} in (
                stored["identifiers"])


def test_a_ring_grows_by_every_member_arriving_at_once(live: Live) -> None:
    ring = planted(portfolio(), "device_farm")
    members = list(ring["application_id"])
    early, late = members[:3], members[3:7]
    load_book(live.store, without=set(members[3:]))
    answers = at_once(live, [body(r) for _, r in ring.iloc[3:7].iterrows()])
    assert [a.status_code for a in answers] == [201] * len(late)
    with live.client("read") as http:
        rings = http.get("/v1/rings").json()["rings"]
        mine = [r for r in rings if set(members) & {
            m["application_id"] for m in http.get(f"/v1/rings/{r['ring_id']}").json()["members"]}]
        assert len(mine) == 1  # one ring, however the requests interleaved
        found = http.get(f"/v1/rings/{mine[0]['ring_id']}").json()
    assert {m["application_id"] for m in found["members"]} >= set(late)
    assert set(early) & {m["application_id"] for m in found["members"]}
    final = [a.json()["ring"]["ring_id"] for a in answers if a.json()["ring"]]
    assert found["ring_id"] in final  # the last to persist answered with the ring as stored


def test_retries_racing_their_original_store_it_once(live: Live) -> None:
    sent = {"application_id": "R-1", "applied_at": "2025-06-01T10:00:00",
            "applicant_id": "P-R-1", "phone": "+79120000009"}
    answers = at_once(live, [sent] * 4)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert live.store.count("Application") == 1 and live.store.count("Phone") == 1
    clash = at_once(live, [{**sent, "application_id": "R-2"},
                           {**sent, "application_id": "R-2", "amount": 10}])
    assert sorted(a.status_code for a in clash) == [201, 409]
