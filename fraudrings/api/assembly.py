"""Ring assembly of one request's neighbourhood, in plain Python.

:func:`fraudrings.graph.rings.assemble_rings` is vectorised for whole books; on a neighbourhood
of a dozen applications its pandas and scipy calls cost ~10 ms, and building its input frames
a few more. :func:`assemble` computes the same rings and application scores straight from the
fetched :class:`Neighbourhood` — the same weights, candidates, scores, reasons and ring ids, step
for step (``tests/api/test_assembly.py`` compares the two over many neighbourhoods) — and hands
over to ``assemble_rings`` itself where a candidate must be split into Louvain communities.

Each step names the function of :mod:`fraudrings.graph.rings` it mirrors; a change there must be
made here too (the parity test fails until it is).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraudrings.api.neighbourhood import Neighbourhood
from fraudrings.graph import schema
from fraudrings.graph.rings import (
    DAY,
    AssemblyParams,
    Ring,
    assemble_rings,
    combine_scores,
    ring_id_for,
)

_KEY = schema.APPLICATION.key


@dataclass
class _Link:
    ident: str
    rel: str
    app: int
    base: float
    applicant: int
    t: int
    weight: float = 0.0
    applicants: int = 0


def assemble(nb: Neighbourhood, flagged: Mapping[str, Sequence[str]], strength: float,
             gnn: Mapping[str, float], params: AssemblyParams
             ) -> tuple[list[Ring], dict[str, float]]:
    """Rings (``assemble_rings``'s, in its order) and every application's score, for the
    neighbourhood with the heuristics that ``flagged`` applications (each with ``strength``)
    and the GNN scores ``gnn`` as evidence."""
    rows = sorted(nb.rows, key=lambda r: (r["applied_at"] or 0, r[_KEY]))  # export order
    ids = [r[_KEY] for r in rows]
    position = {a: i for i, a in enumerate(ids)}
    applicant = _factorize([r["applicant_id"] for r in rows])
    when = [int(r["applied_at"] or 0) for r in rows]
    pairs = _export_links(nb, position)
    links = identifier_table(pairs, applicant, when, params)
    groups = candidate_groups(len(rows), links, applicant, params)
    if groups is None:  # a component to split into communities: the sweep's own code
        return _vectorised(nb, flagged, strength, gnn, params)
    evidence: dict[int, dict[str, float]] = {}  # rings.application_evidence
    for name, members in flagged.items():
        for member in members:
            if member in position:
                fired = evidence.setdefault(position[member], {})
                fired[name] = max(fired.get(name, strength), strength)
    score = [gnn.get(a, math.nan) for a in ids]
    rings = score_groups(rows, groups, links, evidence, score, params)
    rings = sorted((r for r in rings if r.score >= params.min_score),
                   key=lambda r: (-r.score, r.ring_id))
    return rings, application_scores(ids, rings, evidence, score)


def _factorize(values: list[Any]) -> list[int]:
    codes: dict[Any, int] = {}
    return [codes.setdefault(v, len(codes)) for v in values]


def _export_links(nb: Neighbourhood, position: Mapping[str, int]) -> dict[str, list[tuple]]:
    """neighbourhood._export's link frames: per relationship, sorted (app, value) pairs."""
    pairs: dict[str, set[tuple[int, str]]] = {}
    for ident in nb.known.values():
        for rel, members in ident.members.items():
            pairs.setdefault(rel, set()).update(
                (position[a], ident.value) for a in members if a in position)
    return {rel: sorted(found) for rel, found in pairs.items()}


def identifier_table(pairs: Mapping[str, list[tuple[int, str]]], applicant: list[int],
                     when: list[int], params: AssemblyParams) -> list[_Link]:
    """rings.identifier_table: the informative links, in its row order, with their weights."""
    links = [_Link(f"{schema.link(rel).target}:{value}", rel, app, base, applicant[app],
                   when[app])
             for rel, base in params.base.items() for app, value in pairs.get(rel, ())]
    people: dict[str, set[int]] = {}
    times: dict[str, list[int]] = {}
    for link in links:
        people.setdefault(link.ident, set()).add(link.applicant)
        times.setdefault(link.ident, []).append(link.t)
    kept = []
    for link in links:
        k = len(people[link.ident])
        if not 2 <= k <= params.hub_applicants:
            continue
        span_days = (max(times[link.ident]) - min(times[link.ident])) / DAY
        size_factor = 1.0 / math.sqrt(max(1.0, k / 4.0))
        time_factor = math.exp(-max(0.0, span_days - params.slow_days / 3) / params.slow_days)
        link.weight, link.applicants = link.base * size_factor * time_factor, k
        kept.append(link)
    return kept


def candidate_groups(n: int, links: list[_Link], applicant: list[int],
                     params: AssemblyParams) -> list[list[int]] | None:
    """rings.candidate_groups: components over the strong identifiers and the applicant key,
    ordered by their first application; None where one is large enough to need splitting."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[Any, int] = {}
    touched = [False] * n
    for link in links:
        if link.weight >= params.min_weight:
            touched[link.app] = True
            join(link.app, first.setdefault(("ident", link.ident), link.app))
    for app, person in enumerate(applicant):
        join(app, first.setdefault(("applicant", person), app))
    components: dict[int, list[int]] = {}
    for app in range(n):
        components.setdefault(root(app), []).append(app)
    groups = []
    for members in components.values():  # keyed by their smallest member: in its order
        if len(members) < params.min_applicants or not any(touched[m] for m in members):
            continue
        if len({applicant[m] for m in members}) < params.min_applicants:
            continue
        if len(members) > params.max_ring:
            return None
        groups.append(members)
    return groups


def score_groups(rows: list[dict[str, Any]], groups: list[list[int]], links: list[_Link],
                 evidence: Mapping[int, Mapping[str, float]], gnn: list[float],
                 params: AssemblyParams) -> list[Ring]:
    """rings.score_groups, one group at a time."""
    group_of = {m: g for g, members in enumerate(groups) for m in members}
    ids = [r[_KEY] for r in rows]
    applicant_ids = [r["applicant_id"] for r in rows]
    when = [int(r["applied_at"] or 0) for r in rows]
    inside: dict[int, list[_Link]] = {}
    for link in links:
        if link.app in group_of:
            inside.setdefault(group_of[link.app], []).append(link)
    rings = []
    for g, members in enumerate(groups):
        # identifiers shared by two or more applicants inside the group: (rel, weight) of
        # their first link, in order of first appearance
        first: dict[str, _Link] = {}
        used: dict[str, set[int]] = {}
        for link in inside.get(g, ()):
            first.setdefault(link.ident, link)
            used.setdefault(link.ident, set()).add(link.applicant)
        shared_idents = [i for i in first if len(used[i]) >= 2]
        if not shared_idents:
            continue
        applicants = sorted({applicant_ids[m] for m in members})
        if len(applicants) < params.min_applicants:
            continue
        mass = sum(first[i].weight * (len(used[i]) - 1) for i in shared_idents)
        density = mass / len(members)
        breadth = len({first[i].rel for i in shared_idents})
        shared_set = set(shared_idents)
        cross = [link for link in inside[g] if link.ident in shared_set]
        t = sorted(link.t for link in cross)
        burst = (max(bisect.bisect_right(t, v + 14 * DAY) - k for k, v in enumerate(t))
                 / len(t)) if t else 0.0
        strongest: dict[str, float] = {}
        for m in members:
            for name, value in evidence.get(m, {}).items():
                strongest[name] = max(strongest.get(name, value), value)
        fired = sorted(sorted(strongest.items()), key=lambda kv: -kv[1])
        heuristic_score = (float(1 - np.prod(1 - np.clip([s for _, s in fired], 0, 0.95)))
                           if fired else 0.0)
        member_gnn = [gnn[m] for m in members if math.isfinite(gnn[m])]
        has_gnn = bool(member_gnn)
        gnn_score = float(np.mean(member_gnn)) if has_gnn else 0.0
        known = [b for b in (_bad(rows[m]) for m in members) if not math.isnan(b)]
        bad_rate = float(np.mean(known)) if len(known) >= 2 else math.nan
        household = 0.35 * (min(len(applicants), 7) - 4)
        z = (-3.2 + 2.2 * min(density, 2.0) + 2.0 * burst + 0.35 * min(breadth, 4)
             + household + 1.6 * heuristic_score
             + (2.5 * (gnn_score - 0.2) if has_gnn else 0.0)
             + (2.5 * (bad_rate - 0.2) if not math.isnan(bad_rate) else 0.0))
        score = 1.0 / (1.0 + math.exp(-z))
        if score < params.min_score:
            continue
        ordered = sorted(shared_idents, key=lambda i: (-len(used[i]), -first[i].weight))
        shared = [{"kind": i.split(":", 1)[0], "value": i.split(":", 1)[1],
                   "relationship": first[i].rel, "members": len(used[i]),
                   "weight": round(float(first[i].weight), 3)} for i in ordered]
        reasons = [f"{name} ({value:.2f})" for name, value in fired]
        if burst >= 0.8:
            reasons.append(f"burst: {burst:.0%} of the shared use within 14 days")
        reasons.append(f"{len(shared)} identifiers shared across {len(applicants)} applicants")
        member_ids = sorted(ids[m] for m in members)
        rings.append(Ring(
            ring_id=ring_id_for(member_ids), members=member_ids, applicants=applicants,
            score=score, heuristic_score=heuristic_score, gnn_score=gnn_score,
            density=density, burst=burst, first_seen=min(when[m] for m in members),
            last_seen=max(when[m] for m in members), shared=shared, reasons=reasons,
            merchants=[], agents=[],  # a neighbourhood holds no merchant or agent links
            links=sorted({(ids[link.app], link.ident) for link in cross}),
        ))
    return rings


def _bad(row: Mapping[str, Any]) -> float:
    """np.fmax(is_fraud, fpd): the known one, or NaN."""
    known = [float(row[c]) for c in ("is_fraud", "fpd") if row.get(c) is not None]
    return max(known) if known else math.nan


def application_scores(ids: list[str], rings: list[Ring],
                       evidence: Mapping[int, Mapping[str, float]],
                       gnn: list[float]) -> dict[str, float]:
    """rings.application_scores' score column: rings.combine_scores of the ring's score,
    the application's own evidence and its GNN score."""
    ring_score = dict.fromkeys(ids, 0.0)
    for ring in rings:
        for member in ring.members:
            ring_score[member] = max(ring_score[member], ring.score)
    out = {}
    for i, app in enumerate(ids):
        own = evidence.get(i)
        own_score = (float(1 - np.prod(1 - np.clip([v for _, v in sorted(own.items())], 0,
                                                    0.95))) if own else 0.0)
        gnn_part = gnn[i] if math.isfinite(gnn[i]) else 0.0
        out[app] = float(np.round(combine_scores(ring_score[app], own_score, gnn_part), 5))
    return out


def _vectorised(nb: Neighbourhood, flagged: Mapping[str, Sequence[str]], strength: float,
                gnn: Mapping[str, float], params: AssemblyParams
                ) -> tuple[list[Ring], dict[str, float]]:
    heuristics = {name: pd.DataFrame({"members": [sorted(ids)], "strength": [strength]})
                  for name, ids in flagged.items()}
    rings, scores = assemble_rings(nb.export, heuristics,
                                   pd.Series(dict(gnn), dtype="float64") if gnn else None,
                                   params)
    return rings, dict(zip(scores[_KEY], scores["score"].astype(float)))
