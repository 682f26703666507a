"""The ``Server-Timing`` header: each step of the underwriting path, over real HTTP on both
stores, and the header's own format."""

from __future__ import annotations

import pytest
from api_helpers import Live

from fraudrings.api import timing
from fraudrings.api.timing import Phases

STEPS = ("queue", "validate", "store", "commit-wait", "commit", "neighbourhood", "ring",
         "evidence", "total")


def application(k: int) -> dict[str, object]:
    return {"application_id": f"T-{k}", "applied_at": f"2025-06-01T0{k}:00:00",
            "applicant_id": f"P-T-{k}", "device_id": "dev-shared", "bank_account": "acct-shared",
            "phone": f"+7 912 000-20-0{k}", "amount": 20000, "term_months": 12}


def test_every_answer_says_where_its_time_went(live: Live) -> None:
    with live.client() as http:
        answers = [http.post("/v1/applications", json=application(k)) for k in range(3)]
        replay = http.post("/v1/applications", json=application(2))
    assert [a.status_code for a in answers] == [201, 201, 201] and replay.status_code == 200
    assert answers[-1].json()["ring"] is not None  # the third forms a ring: every step ran
    for answer in answers:
        steps = timing.parse(answer.headers[timing.HEADER])
        assert tuple(steps) == STEPS  # no GNN model: no gnn step
        assert all(ms >= 0 for ms in steps.values())
        parts = sum(ms for name, ms in steps.items() if name != "total")
        assert parts <= steps["total"] + 0.05 * len(steps)  # each rounded to 0.01 ms
        assert steps["commit"] > 0  # a transaction takes time on either store
    replayed = timing.parse(replay.headers[timing.HEADER])  # Neo4j's replay tries the insert
    assert {"queue", "store", "neighbourhood", "total"} <= set(replayed)


def test_the_header_round_trips() -> None:
    phases = Phases()
    phases.add("queue", 0.0012345)
    phases.add("commit-wait", 0.5)
    phases.add("commit-wait", 0.25)  # a step seen twice adds up
    phases.add("ring", -1e-9)  # a clock's jitter is not a negative duration
    assert phases.header() == "queue;dur=1.23, commit-wait;dur=750.00, ring;dur=0.00"
    assert timing.parse(phases.header()) == {"queue": 1.23, "commit-wait": 750.0, "ring": 0.0}


@pytest.mark.parametrize(("value", "parsed"), [
    ('db;desc="Store";dur=53.2, app;dur=47.2', {"db": 53.2, "app": 47.2}),
    ("cache;desc=hit, miss", {"cache": 0.0, "miss": 0.0}),
    (" total ; dur = 9.5 ", {"total": 9.5}),
    ("", {}), (None, {}), (",,", {}),
])
def test_server_timing_values_from_other_servers_parse(
        value: str | None, parsed: dict[str, float]) -> None:
    assert timing.parse(value) == parsed
