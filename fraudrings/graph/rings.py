"""Ring assembly: from shared identifiers and evidence to scored, explainable rings.

Plain connected components over shared identifiers fail on real books: a shop tablet, a carrier
IP or a call-centre workstation joins thousands of honest applications into one blob. So:

1. **Weigh every identifier by how informative it is** (:func:`identifier_table`): how many
   distinct applicants use it (one = a repeat customer: no evidence; hundreds = a hub: none
   either), over what time span and at what rate, and how many merchants it touches.
   Identifiers above the hub cut are dropped *before* anything expands.
2. **Candidate groups**: connected components of the application graph whose edges are the
   informative identifiers (each identifier a star, so cost is linear in links), joined by the
   applicant key (an identity's earlier applications belong to its ring: bust-out sleepers).
3. **Split large components** into dense communities (Louvain, networkx) on the weighted
   application graph.
4. **Rank** each candidate by FRAUDAR-style density (Hooi et al., KDD 2016: identifier weight
   per member), burstiness (how much of it happened within days), breadth (how many kinds of
   identifier tie it), the heuristics that fired on its members and the GNN's application
   scores, into one ring score in 0-1 with the reasons a person can check.
5. **Score every application** by noisy-OR of its ring's score, the heuristics that flagged it
   and its own GNN score (:func:`combine_scores`): members rank at or above their ring, in the
   order their own evidence gives.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from fraudrings.graph import schema
from fraudrings.graph.export import GraphExport

DAY = 86_400


@dataclass(frozen=True)
class AssemblyParams:
    #: Base weight of one shared value per relationship type: how hard it is to share by chance.
    base: Mapping[str, float] = field(default_factory=lambda: {
        "PAYS_TO": 1.0, "FROM_DEVICE": 0.9, "USES_PHONE": 0.9, "USES_EMAIL": 0.9,
        "LISTS_CONTACT": 0.6, "AT_ADDRESS": 0.6, "FROM_IP": 0.35,
    })
    #: Identifiers with more distinct applicants than this are hubs (tablets, NAT, offices).
    hub_applicants: int = 40
    #: An identifier used over a longer span than this (days) by many people is a fixture.
    slow_days: float = 45.0
    #: Edges lighter than this do not join a candidate.
    min_weight: float = 0.25
    #: Components larger than this are split into communities.
    max_ring: int = 40
    min_applicants: int = 3
    #: Rings scoring below this are not reported.
    min_score: float = 0.5
    louvain_seed: int = 7


@dataclass
class Ring:
    ring_id: str
    members: list[str]
    applicants: list[str]
    score: float
    heuristic_score: float
    gnn_score: float
    density: float
    burst: float
    first_seen: int
    last_seen: int
    shared: list[dict[str, Any]]
    reasons: list[str]
    merchants: list[str]
    agents: list[str]
    links: list[list[str]] = field(default_factory=list)  # [application_id, "Kind:value"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ring_id": self.ring_id, "score": round(self.score, 4), "size": len(self.members),
            "members": self.members, "applicants": self.applicants, "shared": self.shared,
            "reasons": self.reasons, "first_seen": self.first_seen,
            "last_seen": self.last_seen, "merchants": self.merchants, "agents": self.agents,
            "heuristic_score": round(self.heuristic_score, 4),
            "gnn_score": round(self.gnn_score, 4), "density": round(self.density, 4),
            "burst": round(self.burst, 4), "links": self.links,
        }


def ring_id_for(members: list[str]) -> str:
    """Stable for the same members, whatever the order or the sweep."""
    digest = hashlib.blake2b("\x1f".join(sorted(members)).encode(), digest_size=6).hexdigest()
    return f"ring-{digest}"


@dataclass
class Identifiers:
    """The informative identifiers of an export, as integer codes.

    ``links`` has one row per (identifier, application) link of an identifier shared by 2 to
    ``hub_applicants`` applicants, in export order (relationship by relationship, as
    ``AssemblyParams.base`` lists them): ``ident`` (code), ``rel`` (index into ``rels``),
    ``app`` (row of the application), ``applicant`` (code), ``t`` (applied_at),
    ``applicants``, ``span`` and ``weight``. Identifiers stay integers until a ring reports
    them: a ``Kind:value`` string per link, grouped on, was most of the cost on large books.
    """

    links: pd.DataFrame
    labels: np.ndarray  # "Kind:value" by ident code
    rels: tuple[str, ...]
    applicant: np.ndarray  # applicant code of every application (export row order)


def identifier_table(export: GraphExport, params: AssemblyParams) -> Identifiers:
    """Every link of an informative identifier, with the identifier's weight.

    Own phones and contact phones are one identifier space (one code per target label and
    value): a contact who is another applicant's own phone is what ties a contact clique.
    """
    applicant = _applicant_codes(export)
    n_people = max(int(applicant.max(initial=-1)) + 1, 1)
    when = export.applications["applied_at"].to_numpy(dtype="int64", na_value=0)
    present = [(rel, base) for rel, base in params.base.items()
               if export.links.get(rel) is not None and len(export.links[rel])]
    rels = tuple(rel for rel, _ in present)
    # one code per (target label, value): the relationships of one target share the codes
    codes: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in present]
    sources: list[tuple[int, str, Any]] = []  # (first code, target, values)
    offset = 0
    for target in dict.fromkeys(schema.link(rel).target for rel in rels):
        parts = [i for i, rel in enumerate(rels) if schema.link(rel).target == target]
        values = pd.concat([export.links[rels[i]]["value"] for i in parts], ignore_index=True)
        local, uniques = pd.factorize(values)
        local = np.where(local >= 0, local + offset, -1)  # a missing value ties nothing
        start = 0
        for i in parts:
            size = len(export.links[rels[i]])
            codes[i] = local[start:start + size]
            start += size
        sources.append((offset, target, uniques))  # as returned: most are never spelled out
        offset += len(uniques)
    sizes = [len(c) for c in codes]
    ident = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int64)
    app = (np.concatenate([export.links[rel]["app"].to_numpy(dtype=np.int64) for rel in rels])
           if rels else np.zeros(0, dtype=np.int64))
    rel_code = np.repeat(np.arange(len(rels), dtype=np.int64), sizes)
    base = np.repeat(np.array([b for _, b in present], dtype=float), sizes)
    # distinct applicants per identifier. An identifier on one link has one applicant, so the
    # many used once are dropped before the (identifier, applicant) pairs are sorted
    uses = np.bincount(ident[ident >= 0], minlength=offset)
    maybe = np.flatnonzero((ident >= 0) & (uses[np.maximum(ident, 0)] >= 2))
    pairs = np.unique(ident[maybe] * n_people + applicant[app[maybe]])
    people = np.bincount(pairs // n_people, minlength=offset)
    informative = (people >= 2) & (people <= params.hub_applicants)
    rows = maybe[informative[ident[maybe]]]  # ascending: export order is kept
    ident, app, rel_code, base = ident[rows], app[rows], rel_code[rows], base[rows]
    t = when[app]
    kept = np.flatnonzero(informative)
    compact = np.full(offset, -1, dtype=np.int64)
    compact[kept] = np.arange(len(kept))
    labels = np.empty(len(kept), dtype=object)
    for first, target, values in sources:
        here = (kept >= first) & (kept < first + len(values))
        labels[here] = [f"{target}:{v}" for v in values.take(kept[here] - first).tolist()]
    low = np.full(offset, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(offset, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(low, ident, t)
    np.maximum.at(high, ident, t)
    span = high[ident] - low[ident]
    k = people[ident]
    # Fewer people sharing = stronger; a slow, steady fixture over months = weaker.
    size_factor = 1.0 / np.sqrt(np.maximum(1.0, k / 4.0))
    time_factor = np.exp(-np.maximum(0.0, span / DAY - params.slow_days / 3) / params.slow_days)
    links = pd.DataFrame({
        "ident": compact[ident], "rel": rel_code, "app": app, "applicant": applicant[app],
        "t": t, "applicants": k, "span": span, "weight": base * size_factor * time_factor,
    })
    return Identifiers(links, labels, rels, applicant)


def _applicant_codes(export: GraphExport) -> np.ndarray:
    return pd.factorize(export.applications["applicant_id"])[0].astype(np.int64)


def candidate_groups(export: GraphExport, idents: Identifiers,
                     params: AssemblyParams) -> list[np.ndarray]:
    """Components over informative identifiers (and the applicant key), large ones split."""
    n = export.n
    links = idents.links
    strong = links[links["weight"] >= params.min_weight]
    s_app = strong["app"].to_numpy()
    s_ident = strong["ident"].to_numpy()
    n_ident = len(idents.labels)
    applicant = idents.applicant
    n_people = int(applicant.max(initial=-1)) + 1
    # bipartite graph: applications 0..n-1, identifiers n.., applicants n+n_ident..
    rows = np.concatenate([s_app, np.arange(n)])
    cols = np.concatenate([n + s_ident, n + n_ident + applicant])
    size = n + n_ident + n_people
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    app_label = label[:n].astype(np.int64)
    n_labels = int(app_label.max(initial=-1)) + 1
    # only components with an informative identifier and enough applicants are candidates
    members_of = np.bincount(app_label, minlength=n_labels)
    touched = np.bincount(app_label[s_app], minlength=n_labels) > 0
    pairs = np.unique(app_label * max(n_people, 1) + applicant)
    people = np.bincount(pairs // max(n_people, 1), minlength=n_labels)
    wanted = ((members_of >= params.min_applicants) & touched
              & (people >= params.min_applicants))
    chosen = np.flatnonzero(wanted[app_label])  # ascending application rows
    order = chosen[np.argsort(app_label[chosen], kind="stable")]
    bounds = np.flatnonzero(np.diff(app_label[order])) + 1
    s_label = app_label[s_app]
    by_label = np.argsort(s_label, kind="stable")  # strong links by component, export order
    groups = []
    for members in np.split(order, bounds) if len(order) else []:
        if len(members) > params.max_ring:
            lab = app_label[members[0]]
            lo, hi = np.searchsorted(s_label[by_label], [lab, lab + 1])
            inside = by_label[lo:hi]
            groups.extend(split_dense(members, s_app[inside], s_ident[inside],
                                      strong["weight"].to_numpy()[inside], applicant, params))
        else:
            groups.append(members)
    return groups


def split_dense(members: np.ndarray, apps: np.ndarray, idents: np.ndarray,
                weights: np.ndarray, applicant: np.ndarray,
                params: AssemblyParams) -> list[np.ndarray]:
    """Louvain communities of a large component on its weighted application graph.

    ``apps``, ``idents`` and ``weights`` are the component's strong links in export order;
    the graph is built in that order (Louvain's result depends on it).
    """
    graph = nx.Graph()
    graph.add_nodes_from(members.tolist())
    first, _ = pd.factorize(idents)  # identifiers in order of first appearance
    order = np.argsort(first, kind="stable")
    bounds = np.flatnonzero(np.diff(first[order])) + 1
    for rows in np.split(order, bounds) if len(order) else []:
        linked = apps[rows].tolist()
        weight = float(weights[rows[0]])
        hub = linked[0]  # a star per identifier keeps the graph linear in its links
        for other in linked[1:]:
            w = graph.get_edge_data(hub, other, {"weight": 0.0})["weight"]
            graph.add_edge(hub, other, weight=w + weight)
    # an identity's applications stay together
    by_applicant = np.argsort(applicant[members], kind="stable")
    people = applicant[members][by_applicant]
    for rows in np.split(by_applicant, np.flatnonzero(np.diff(people)) + 1):
        same = members[rows].tolist()
        for other in same[1:]:
            graph.add_edge(same[0], other, weight=1.0)
    communities = nx.community.louvain_communities(graph, weight="weight",
                                                   seed=params.louvain_seed, resolution=1.0)
    return [np.array(sorted(c)) for c in communities if len(c) >= params.min_applicants]


def assemble_rings(
    export: GraphExport,
    heuristics: Mapping[str, pd.DataFrame] | None = None,
    gnn_scores: pd.Series | None = None,
    params: AssemblyParams | None = None,
) -> tuple[list[Ring], pd.DataFrame]:
    """Rings and the per-application frame (application_id, score, gnn_score, ring_id, flags)."""
    params = params or AssemblyParams()
    idents = identifier_table(export, params)
    groups = candidate_groups(export, idents, params)
    evidence = application_evidence(export, heuristics or {})
    gnn = (gnn_scores.reindex(export.applications["application_id"]).to_numpy(dtype=float)
           if gnn_scores is not None else np.full(export.n, np.nan))
    rings = score_groups(export, groups, idents, evidence, gnn, params)
    rings = [r for r in rings if r.score >= params.min_score]
    rings.sort(key=lambda r: (-r.score, r.ring_id))
    return rings, application_scores(export, rings, evidence, gnn)


def application_evidence(export: GraphExport,
                         heuristics: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per application: the strongest evidence of each heuristic that implicates it."""
    names, strengths, flat = [], [], []
    for name, frame in heuristics.items():
        if frame is None or frame.empty:
            continue
        for members, strength in zip(frame["members"].tolist(),
                                     frame["strength"].to_numpy(dtype=float).tolist()):
            if isinstance(members, (list, tuple, np.ndarray)) and len(members):
                flat.extend(members)
                names.extend([name] * len(members))
                strengths.extend([strength] * len(members))
    if not flat:
        return pd.DataFrame({"app": np.zeros(0, dtype=np.int64),
                             "heuristic": pd.Series([], dtype=object),
                             "strength": np.zeros(0)})
    app = export.positions(flat)  # one lookup for every heuristic's members
    keep = app >= 0
    out = pd.DataFrame({"app": app[keep], "heuristic": np.array(names, dtype=object)[keep],
                        "strength": np.array(strengths, dtype=float)[keep]})
    return out.groupby(["app", "heuristic"], as_index=False)["strength"].max()


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For keys sorted ascending: the distinct keys and where each one's run starts and ends."""
    if not len(keys):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    ends = np.concatenate([starts[1:], [len(keys)]])
    return keys[starts], starts, ends


def score_groups(export: GraphExport, groups: list[np.ndarray], idents: Identifiers,
                 evidence: pd.DataFrame, gnn: np.ndarray,
                 params: AssemblyParams) -> list[Ring]:
    """Score every candidate group at once (one array operation per signal), then explain
    the groups that score as rings."""
    if not groups:
        return []
    n_groups = len(groups)
    group_of = np.full(export.n, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        group_of[members] = g
    sizes = np.array([len(m) for m in groups], dtype=np.int64)
    apps = export.applications
    ids = apps["application_id"].to_numpy(dtype=object)
    applicant_ids = apps["applicant_id"].to_numpy(dtype=object)
    applicant = idents.applicant
    n_people = max(int(applicant.max(initial=-1)) + 1, 1)
    when = apps["applied_at"].to_numpy(dtype="int64", na_value=0)
    all_members = np.concatenate(groups)
    member_group = group_of[all_members]
    people = np.bincount(np.unique(member_group * n_people + applicant[all_members]) // n_people,
                         minlength=n_groups)

    links = idents.links
    in_group = group_of[links["app"].to_numpy()]
    inside = np.flatnonzero(in_group >= 0)
    i_group = in_group[inside]
    i_ident = links["ident"].to_numpy()[inside]
    i_app = links["app"].to_numpy()[inside]
    i_person = links["applicant"].to_numpy()[inside]
    i_t = links["t"].to_numpy()[inside]
    # identifiers shared by at least two distinct applicants *inside* a group, in order of
    # first appearance (ties in the explanations keep that order)
    n_ident = max(len(idents.labels), 1)
    pair, _ = pd.factorize(i_group * n_ident + i_ident)
    pair = pair.astype(np.int64)
    n_pairs = int(pair.max(initial=-1)) + 1
    first_row = np.full(n_pairs, len(pair), dtype=np.int64)
    np.minimum.at(first_row, pair, np.arange(len(pair)))
    used = np.bincount(np.unique(pair * n_people + i_person) // n_people, minlength=n_pairs)
    shared_pair = used >= 2
    p_group = i_group[first_row]
    p_ident = i_ident[first_row]
    p_rel = links["rel"].to_numpy()[inside][first_row]
    p_weight = links["weight"].to_numpy()[inside][first_row]
    sel = np.flatnonzero(shared_pair)
    p_group, p_ident, p_rel, p_weight, p_used = (
        p_group[sel], p_ident[sel], p_rel[sel], p_weight[sel], used[sel])
    has_shared = np.bincount(p_group, minlength=n_groups) > 0
    # FRAUDAR-style density: informative sharing per member (each identifier counts its
    # in-group users beyond the first, weighted)
    mass = np.bincount(p_group, weights=p_weight * (p_used - 1), minlength=n_groups)
    n_rels = max(len(idents.rels), 1)
    breadth = np.bincount(np.unique(p_group * n_rels + p_rel) // n_rels, minlength=n_groups)
    # the links of the shared identifiers: their times make the burst
    cross = np.flatnonzero(shared_pair[pair])
    c_order = cross[np.lexsort((i_t[cross], i_group[cross]))]
    c_group, c_t = i_group[c_order], i_t[c_order]
    burst = np.zeros(n_groups)
    keys, starts, ends = _segments(c_group)
    if len(c_group):
        # the share of the group's shared-identifier use within its densest 14-day window:
        # one searchsorted over (group, time) keys for every group at once
        stamp = c_t - c_t.min()
        key = c_group * (int(stamp.max()) + 14 * DAY + 1) + stamp
        right = np.searchsorted(key, key + 14 * DAY, side="right")
        within = right - np.arange(len(key))
        burst[keys] = np.maximum.reduceat(within, starts) / (ends - starts)

    # the heuristics that fired on members, strongest first (ties by name)
    ev_group = group_of[evidence["app"].to_numpy(dtype=np.int64)] if len(evidence) else (
        np.zeros(0, dtype=np.int64))
    fired = (pd.DataFrame({"group": ev_group[ev_group >= 0],
                           "heuristic": evidence["heuristic"].to_numpy(dtype=object)[
                               ev_group >= 0],
                           "strength": evidence["strength"].to_numpy(dtype=float)[
                               ev_group >= 0]})
             .groupby(["group", "heuristic"], as_index=False)["strength"].max())
    f_order = np.lexsort((fired["heuristic"].to_numpy(dtype=object).astype(str),
                          -fired["strength"].to_numpy(), fired["group"].to_numpy()))
    fired = fired.iloc[f_order].reset_index(drop=True)
    f_group = fired["group"].to_numpy(dtype=np.int64)
    f_strength = fired["strength"].to_numpy(dtype=float)
    heuristic_score = np.zeros(n_groups)
    f_keys, f_starts, f_ends = _segments(f_group)
    if len(f_group):
        kept_part = np.multiply.reduceat(1 - np.clip(f_strength, 0, 0.95), f_starts)
        heuristic_score[f_keys] = 1 - kept_part

    member_gnn = gnn[all_members]
    finite = np.isfinite(member_gnn)
    gnn_count = np.bincount(member_group[finite], minlength=n_groups)
    gnn_sum = np.bincount(member_group[finite], weights=member_gnn[finite], minlength=n_groups)
    has_gnn = gnn_count > 0
    gnn_score = np.where(has_gnn, gnn_sum / np.maximum(gnn_count, 1), 0.0)
    bad = np.fmax(apps["is_fraud"].to_numpy(dtype=float, na_value=np.nan),
                  apps["fpd"].to_numpy(dtype=float, na_value=np.nan))[all_members]
    known = ~np.isnan(bad)
    known_count = np.bincount(member_group[known], minlength=n_groups)
    bad_sum = np.bincount(member_group[known], weights=bad[known], minlength=n_groups)
    bad_rate = np.where(known_count >= 2, bad_sum / np.maximum(known_count, 1), np.nan)

    density = mass / sizes
    # Combine: a logistic of interpretable evidence (weights documented in the README).
    # household-sized groups (2-5 people sharing a flat, a home device, each other as
    # contacts) are the commonest honest sharing: they need more evidence than larger ones
    household = 0.35 * (np.minimum(people, 7) - 4)
    z = (-3.2 + 2.2 * np.minimum(density, 2.0) + 2.0 * burst + 0.35 * np.minimum(breadth, 4)
         + household + 1.6 * heuristic_score
         + np.where(has_gnn, 2.5 * (gnn_score - 0.2), 0.0)
         + np.where(np.isnan(bad_rate), 0.0, 2.5 * (bad_rate - 0.2)))
    score = np.array([1.0 / (1.0 + math.exp(-v)) for v in z.tolist()])
    reported = np.flatnonzero(has_shared & (people >= params.min_applicants)
                              & (score >= params.min_score))
    if not len(reported):
        return []

    # explanations, only for the groups that are reported
    s_order = np.lexsort((np.arange(len(p_group)), -p_weight, -p_used, p_group))
    s_keys, s_starts, s_ends = _segments(p_group[s_order])
    s_at = dict(zip(s_keys.tolist(), zip(s_starts.tolist(), s_ends.tolist())))
    c_at = dict(zip(keys.tolist(), zip(starts.tolist(), ends.tolist())))
    f_at = dict(zip(f_keys.tolist(), zip(f_starts.tolist(), f_ends.tolist())))
    c_app, c_ident = i_app[c_order], i_ident[c_order]
    heuristic_names = fired["heuristic"].to_numpy(dtype=object)
    ring_apps = np.concatenate([groups[g] for g in reported])
    merchants = _values_by_group(export, "AT_MERCHANT", ring_apps, group_of)
    agents = _values_by_group(export, "KEYED_BY", ring_apps, group_of)
    rels = np.array(idents.rels, dtype=object)
    rings = []
    for g in reported.tolist():
        members = groups[g]
        lo, hi = s_at[g]
        rows = s_order[lo:hi]
        shared = [
            {"kind": label.split(":", 1)[0], "value": label.split(":", 1)[1],
             "relationship": rel, "members": int(n_used), "weight": round(float(weight), 3)}
            for label, rel, n_used, weight in zip(idents.labels[p_ident[rows]],
                                                  rels[p_rel[rows]], p_used[rows],
                                                  p_weight[rows])
        ]
        lo, hi = f_at.get(g, (0, 0))
        reasons = [f"{name} ({strength:.2f})" for name, strength in
                   zip(heuristic_names[lo:hi], f_strength[lo:hi])]
        if burst[g] >= 0.8:
            reasons.append(f"burst: {burst[g]:.0%} of the shared use within 14 days")
        applicants = sorted(set(applicant_ids[members]))
        reasons.append(f"{len(shared)} identifiers shared across {len(applicants)} applicants")
        member_ids = sorted(ids[members].tolist())
        lo, hi = c_at[g]
        rings.append(Ring(
            ring_id=ring_id_for(member_ids), members=member_ids, applicants=applicants,
            score=float(score[g]), heuristic_score=float(heuristic_score[g]),
            gnn_score=float(gnn_score[g]), density=float(density[g]), burst=float(burst[g]),
            first_seen=int(when[members].min()), last_seen=int(when[members].max()),
            shared=shared, reasons=reasons,
            merchants=merchants.get(g, []), agents=agents.get(g, []),
            links=sorted({(ids[a], i) for a, i in zip(
                c_app[lo:hi].tolist(), idents.labels[c_ident[lo:hi]].tolist())}),
        ))
    return rings


def _values_by_group(export: GraphExport, rel: str, apps: np.ndarray,
                     group_of: np.ndarray) -> dict[int, list[str]]:
    """The sorted distinct values of ``rel`` (merchants, agents) per group of ``apps``."""
    frame = export.links.get(rel)
    if frame is None or frame.empty:
        return {}
    wanted = np.zeros(export.n, dtype=bool)
    wanted[apps] = True
    linked = frame["app"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(wanted[linked])
    out: dict[int, set[str]] = {}
    for g, value in zip(group_of[linked[rows]].tolist(),
                        frame["value"].to_numpy(dtype=object)[rows].tolist()):
        out.setdefault(g, set()).add(value)
    return {g: sorted(values) for g, values in out.items()}


def combine_scores(ring_score: Any, own_score: Any, gnn: Any) -> Any:
    """An application's final risk from its three pieces of evidence, by noisy-OR:

    ``1 - (1 - ring) * (1 - 0.6 * own) * (1 - gnn)``

    ``ring``: the score of the ring it belongs to (0 outside rings); ``own``: the heuristics
    that flagged the application itself (their noisy-OR strength), counted at 0.6 because a
    flag without a ring is weaker evidence; ``gnn``: its GNN score (0 when there is none). Each
    term is the chance that this evidence alone is right, and the application is clean only
    if every one is wrong.

    A ring member never scores below its ring, and its *own* evidence orders it among the
    members of its ring and between rings: an honest application pulled into a heuristic ring
    by one shared identifier ranks below the members the GNN rates as fraud (with ``max(ring,
    own evidence)`` every member had its ring's score whatever the GNN said of it, and the
    joint score lost to the GNN alone on the temporal test split). Works elementwise on arrays
    and on floats (the API's plain-Python mirror calls it too).
    """
    return 1 - (1 - ring_score) * (1 - 0.6 * own_score) * (1 - gnn)


def application_scores(export: GraphExport, rings: list[Ring], evidence: pd.DataFrame,
                       gnn: np.ndarray) -> pd.DataFrame:
    """Final per-application risk (:func:`combine_scores`): the ring's score, the
    application's own heuristic evidence and its GNN score."""
    n = export.n
    ids = export.applications["application_id"].to_numpy(dtype=object)
    ring_of = np.full(n, -1, dtype=np.int64)
    ring_score = np.zeros(n)
    if rings:
        sizes = [len(r.members) for r in rings]
        at = export.positions(pd.Index(
            [m for r in rings for m in r.members], dtype=object))
        which = np.repeat(np.arange(len(rings)), sizes)
        found = at >= 0
        at, which = at[found], which[found]
        np.maximum.at(ring_score, at, np.array([r.score for r in rings])[which])
        ring_of[at] = which  # rings do not overlap; were they to, the later one is named
    ring_ids = np.array([r.ring_id for r in rings] + [None], dtype=object)
    own_score = np.zeros(n)
    flags = np.full(n, "", dtype=object)
    if len(evidence):
        app = evidence["app"].to_numpy(dtype=np.int64)
        order = np.argsort(app, kind="stable")
        keys, starts, _ = _segments(app[order])
        strength = np.clip(evidence["strength"].to_numpy(dtype=float)[order], 0, 0.95)
        own_score[keys] = 1 - np.multiply.reduceat(1 - strength, starts)
        # the flags as a bit set per application: a handful of distinct sets to spell out
        names = sorted(set(evidence["heuristic"].astype(str)))
        bit = pd.Index(names).get_indexer(evidence["heuristic"].astype(str))
        mask = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(mask, app, np.left_shift(1, bit).astype(np.int64))
        distinct, inverse = np.unique(mask, return_inverse=True)
        spelled = np.array([";".join(name for i, name in enumerate(names) if m >> i & 1)
                            for m in distinct.tolist()], dtype=object)
        flags = spelled[inverse]
    score = combine_scores(ring_score, own_score, np.nan_to_num(gnn, nan=0.0))
    return pd.DataFrame({
        "application_id": ids,
        "score": np.round(score, 5),
        "gnn_score": np.round(gnn, 5),
        "ring_id": ring_ids[ring_of],
        "flags": flags,
    })
