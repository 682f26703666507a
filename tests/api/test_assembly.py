"""The request path's plain-Python ring assembly gives what ``assemble_rings`` gives on the same
neighbourhood: rings, their evidence and reasons, and every application's score.

Neighbourhoods are fetched from a generated book in LadybugDB (the fetch itself is tested on
both stores through the HTTP tests): every member of a planted ring and a sample of the rest,
with heuristic flags, GNN scores and known outcomes as evidence, so that rings form, grow,
fall short of the threshold and (with a small ``max_ring``) need the Louvain split."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict

import pandas as pd
import pytest
from api_helpers import load_book

from fraudrings.api.assembly import assemble
from fraudrings.api.neighbourhood import Neighbourhood, fetch
from fraudrings.graph.rings import AssemblyParams, Ring, assemble_rings

STRENGTH = 0.5
FLOATS = ("score", "heuristic_score", "gnn_score", "density", "burst")


def _draw(key: str, salt: str) -> float:
    return int(hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 2**32


def evidence(nb: Neighbourhood) -> tuple[dict[str, list[str]], dict[str, float]]:
    """Deterministic flags on some neighbours and GNN scores on most applications."""
    flagged: dict[str, list[str]] = {}
    for row in nb.rows:
        app = row["application_id"]
        if app != nb.application_id:
            for name in ("shared_device", "velocity_identifier", "a_first_name"):
                if _draw(app, name) < 0.3:
                    flagged.setdefault(name, []).append(app)
    gnn = {r["application_id"]: round(_draw(r["application_id"], "gnn"), 4) for r in nb.rows
           if _draw(r["application_id"], "has-gnn") < 0.7}
    return flagged, gnn


def reference(nb: Neighbourhood, flagged: dict[str, list[str]], gnn: dict[str, float],
              params: AssemblyParams) -> tuple[list[Ring], dict[str, float]]:
    heuristics = {name: pd.DataFrame({"members": [sorted(ids)], "strength": [STRENGTH]})
                  for name, ids in flagged.items()}
    rings, scores = assemble_rings(nb.export, heuristics,
                                   pd.Series(gnn, dtype="float64") if gnn else None, params)
    return rings, dict(zip(scores["application_id"], scores["score"]))


def assert_same_rings(got: list[Ring], expected: list[Ring]) -> None:
    assert [r.ring_id for r in got] == [r.ring_id for r in expected]
    for mine, theirs in zip(got, expected):
        a, b = asdict(mine), asdict(theirs)
        for name in FLOATS:
            assert a.pop(name) == pytest.approx(b.pop(name), rel=1e-9, abs=1e-12), name
        assert a["links"] == [tuple(x) for x in b.pop("links")]
        a.pop("links")
        assert a == b


@pytest.fixture(scope="module")
def neighbourhoods(tmp_path_factory: pytest.TempPathFactory) -> list[Neighbourhood]:
    """Around every member of a planted ring and every 40th other application."""
    from api_helpers import portfolio

    from fraudrings.graph.store import open_store

    book = portfolio()
    members = sorted({m for ring in book.truth["rings"] for m in ring["members"]})
    others = [a for a in sorted(book.applications["application_id"])[::40]
              if a not in set(members)]
    with open_store("ladybug", path=tmp_path_factory.mktemp("assembly") / "graph.lbug") as store:
        load_book(store)
        return [fetch(store, app) for app in members + others]


@pytest.mark.parametrize("max_ring", [40, 4])
def test_assembly_matches_assemble_rings(neighbourhoods: list[Neighbourhood],
                                         max_ring: int) -> None:
    params = AssemblyParams(max_ring=max_ring)
    rings_seen = scored = 0
    for nb in neighbourhoods:
        if nb.applicants < params.min_applicants:
            continue
        flagged, gnn = evidence(nb)
        expected_rings, expected_scores = reference(nb, flagged, gnn, params)
        rings, scores = assemble(nb, flagged, STRENGTH, gnn, params)
        assert_same_rings(rings, expected_rings)
        assert scores.keys() == expected_scores.keys()
        for key, value in expected_scores.items():
            assert math.isclose(scores[key], value, rel_tol=1e-9, abs_tol=1e-12), key
        rings_seen += len(rings)
        scored += 1
    assert scored > 80 and rings_seen > 40, (scored, rings_seen)  # rings, not just empties


def test_without_evidence_too(neighbourhoods: list[Neighbourhood]) -> None:
    params = AssemblyParams()
    for nb in neighbourhoods[::2]:
        expected_rings, expected_scores = reference(nb, {}, {}, params)
        rings, scores = assemble(nb, {}, STRENGTH, {}, params)
        assert_same_rings(rings, expected_rings)
        assert scores == pytest.approx(expected_scores)
