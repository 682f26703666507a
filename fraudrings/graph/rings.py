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


def identifier_table(export: GraphExport, params: AssemblyParams) -> pd.DataFrame:
    """One row per (identifier, application) link with the identifier's informativeness.

    Own phones and contact phones are one identifier space: a contact who is another
    applicant's own phone is what ties a contact clique.
    """
    apps = export.applications
    applicant = pd.factorize(apps["applicant_id"])[0]
    when = apps["applied_at"].to_numpy(dtype="int64", na_value=0)
    merchant = np.full(export.n, -1, dtype=np.int64)
    merchants = export.links.get("AT_MERCHANT")
    if merchants is not None and len(merchants):
        merchant[merchants["app"].to_numpy()] = pd.factorize(merchants["value"])[0]
    parts = []
    for rel, base in params.base.items():
        frame = export.links.get(rel)
        if frame is None or frame.empty:
            continue
        target = schema.link(rel).target
        parts.append(pd.DataFrame({
            "ident": target + ":" + frame["value"].astype(str),
            "rel": rel,
            "app": frame["app"].to_numpy(),
            "base": base,
        }))
    if not parts:
        return pd.DataFrame(columns=["ident", "rel", "app", "base", "weight"])
    links = pd.concat(parts, ignore_index=True)
    links["applicant"] = applicant[links["app"].to_numpy()]
    links["t"] = when[links["app"].to_numpy()]
    links["merchant"] = merchant[links["app"].to_numpy()]
    grouped = links.groupby("ident", sort=False)
    stats = pd.DataFrame({
        "applicants": grouped["applicant"].nunique(),
        "apps": grouped["app"].nunique(),
        "span": grouped["t"].max() - grouped["t"].min(),
        "merchants": grouped["merchant"].nunique(),
    })
    stats = stats[(stats["applicants"] >= 2) & (stats["applicants"] <= params.hub_applicants)]
    links = links.join(stats, on="ident", how="inner")
    span_days = links["span"] / DAY
    k = links["applicants"]
    # Fewer people sharing = stronger; a slow, steady fixture over months = weaker.
    size_factor = 1.0 / np.sqrt(np.maximum(1.0, k / 4.0))
    time_factor = np.exp(-np.maximum(0.0, span_days - params.slow_days / 3) / params.slow_days)
    links["weight"] = links["base"] * size_factor * time_factor
    return links


def candidate_groups(export: GraphExport, links: pd.DataFrame,
                     params: AssemblyParams) -> list[np.ndarray]:
    """Components over informative identifiers (and the applicant key), large ones split."""
    n = export.n
    strong = links[links["weight"] >= params.min_weight]
    idents, ident_index = np.unique(strong["ident"].to_numpy(), return_inverse=True)
    applicant = pd.factorize(export.applications["applicant_id"])[0]
    # bipartite graph: applications 0..n-1, identifiers n.., applicants n+len(idents)..
    rows = np.concatenate([strong["app"].to_numpy(), np.arange(n)])
    cols = np.concatenate([n + ident_index, n + len(idents) + applicant])
    size = n + len(idents) + applicant.max(initial=-1) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    app_label = label[:n]
    # only components with an informative identifier are candidates
    touched = np.zeros(n, dtype=bool)
    touched[strong["app"].to_numpy()] = True
    order = np.argsort(app_label, kind="stable")
    bounds = np.flatnonzero(np.diff(app_label[order])) + 1
    groups = []
    for members in np.split(order, bounds):
        if len(members) < params.min_applicants or not touched[members].any():
            continue
        if len(np.unique(applicant[members])) < params.min_applicants:
            continue
        if len(members) > params.max_ring:
            groups.extend(split_dense(members, strong, applicant, params))
        else:
            groups.append(members)
    return groups


def split_dense(members: np.ndarray, links: pd.DataFrame, applicant: np.ndarray,
                params: AssemblyParams) -> list[np.ndarray]:
    """Louvain communities of a large component on its weighted application graph."""
    inside = links[links["app"].isin(members)]
    graph = nx.Graph()
    graph.add_nodes_from(members.tolist())
    for _, group in inside.groupby("ident", sort=False):
        apps = group["app"].to_numpy()
        weight = float(group["weight"].iloc[0])
        hub = apps[0]  # a star per identifier keeps the graph linear in its links
        for other in apps[1:]:
            w = graph.get_edge_data(hub, other, {"weight": 0.0})["weight"]
            graph.add_edge(hub, other, weight=w + weight)
    # an identity's applications stay together
    by_applicant = pd.Series(members).groupby(applicant[members])
    for _, apps in by_applicant:
        apps = apps.to_numpy()
        for other in apps[1:]:
            graph.add_edge(apps[0], other, weight=1.0)
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
    ids = export.applications["application_id"].to_numpy(dtype=object)
    links = identifier_table(export, params)
    groups = candidate_groups(export, links, params)
    evidence = application_evidence(export, heuristics or {})
    gnn = (gnn_scores.reindex(ids).to_numpy(dtype=float)
           if gnn_scores is not None else np.full(export.n, np.nan))
    rings = score_groups(export, groups, links, evidence, gnn, params)
    rings = [r for r in rings if r.score >= params.min_score]
    rings.sort(key=lambda r: (-r.score, r.ring_id))
    return rings, application_scores(export, rings, evidence, gnn)


def application_evidence(export: GraphExport,
                         heuristics: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per application: the strongest evidence of each heuristic that implicates it."""
    position = pd.Series(np.arange(export.n), index=export.applications["application_id"])
    parts = []
    for name, frame in heuristics.items():
        if frame is None or frame.empty:
            continue
        exploded = frame[["members", "strength"]].explode("members")
        exploded = exploded[exploded["members"].notna()]
        app = position.reindex(exploded["members"]).to_numpy()
        keep = ~np.isnan(app)
        parts.append(pd.DataFrame({"app": app[keep].astype(np.int64), "heuristic": name,
                                   "strength": exploded["strength"].to_numpy(dtype=float)[keep]}))
    if not parts:
        return pd.DataFrame(columns=["app", "heuristic", "strength"])
    out = pd.concat(parts, ignore_index=True)
    return out.groupby(["app", "heuristic"], as_index=False)["strength"].max()


def score_groups(export: GraphExport, groups: list[np.ndarray], links: pd.DataFrame,
                 evidence: pd.DataFrame, gnn: np.ndarray,
                 params: AssemblyParams) -> list[Ring]:
    """Score every candidate group at once (vectorised: one groupby per signal)."""
    if not groups:
        return []
    n_groups = len(groups)
    group_of = np.full(export.n, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        group_of[members] = g
    apps = export.applications
    ids = apps["application_id"].to_numpy(dtype=object)
    applicant_ids = apps["applicant_id"].to_numpy(dtype=object)
    when = apps["applied_at"].to_numpy(dtype="int64", na_value=0)

    inside = links.assign(group=group_of[links["app"].to_numpy()])
    inside = inside[inside["group"] >= 0]
    # identifiers shared by at least two distinct applicants *inside* a group
    per_ident = inside.groupby(["group", "ident"], sort=False).agg(
        rel=("rel", "first"), weight=("weight", "first"), used=("applicant", "nunique"))
    per_ident = per_ident[per_ident["used"] >= 2].reset_index()
    # FRAUDAR-style density: informative sharing per member (each identifier counts its
    # in-group users beyond the first, weighted)
    per_ident["mass"] = per_ident["weight"] * (per_ident["used"] - 1)
    by_group = per_ident.groupby("group")
    mass = by_group["mass"].sum().reindex(range(n_groups), fill_value=0.0).to_numpy()
    breadth = by_group["rel"].nunique().reindex(range(n_groups), fill_value=0).to_numpy()
    cross = inside.merge(per_ident[["group", "ident"]], on=["group", "ident"])
    cross_t = {g: np.sort(t) for g, t in cross.groupby("group")["t"]}
    cross_links = {g: f for g, f in cross[["group", "app", "ident"]].groupby("group")}

    ev = evidence.assign(group=group_of[evidence["app"].to_numpy(dtype=np.int64)]) if len(
        evidence) else evidence.assign(group=pd.Series(dtype=np.int64))
    ev = ev[ev["group"] >= 0]
    fired_by_group = {g: f.groupby("heuristic")["strength"].max().sort_values(ascending=False)
                      for g, f in ev.groupby("group")}
    bad = np.fmax(apps["is_fraud"].to_numpy(dtype=float, na_value=np.nan),
                  apps["fpd"].to_numpy(dtype=float, na_value=np.nan))
    shared_by_group = {g: f for g, f in per_ident.groupby("group")}
    candidates = np.concatenate(groups)
    merchants = _values_by_app(export, "AT_MERCHANT", candidates)
    agents = _values_by_app(export, "KEYED_BY", candidates)

    rings = []
    for g, members in enumerate(groups):
        if g not in shared_by_group:
            continue
        applicants = sorted(set(applicant_ids[members]))
        if len(applicants) < params.min_applicants:
            continue
        density = float(mass[g]) / len(members)
        t = cross_t.get(g, np.zeros(0, dtype=np.int64))
        # burstiness: the share of the group's shared-identifier use within its densest
        # 14-day window
        if len(t):
            right = np.searchsorted(t, t + 14 * DAY, side="right")
            burst = float((right - np.arange(len(t))).max() / len(t))
        else:
            burst = 0.0
        fired = fired_by_group.get(g, pd.Series(dtype=float))
        heuristic_score = (float(1 - np.prod(1 - np.clip(fired.to_numpy(), 0, 0.95)))
                           if len(fired) else 0.0)
        member_gnn = gnn[members]
        has_gnn = bool(np.isfinite(member_gnn).any())
        gnn_score = float(np.nanmean(member_gnn)) if has_gnn else 0.0
        known = bad[members][~np.isnan(bad[members])]
        bad_rate = float(known.mean()) if len(known) >= 2 else math.nan
        # Combine: a logistic of interpretable evidence (weights documented in the README).
        # household-sized groups (2-5 people sharing a flat, a home device, each other as
        # contacts) are the commonest honest sharing: they need more evidence than larger ones
        household = 0.35 * (min(len(applicants), 7) - 4)
        z = (-3.2 + 2.2 * min(density, 2.0) + 2.0 * burst + 0.35 * min(breadth[g], 4)
             + household + 1.6 * heuristic_score
             + (2.5 * (gnn_score - 0.2) if has_gnn else 0.0)
             + (2.5 * (bad_rate - 0.2) if not math.isnan(bad_rate) else 0.0))
        score = 1.0 / (1.0 + math.exp(-z))
        if score < params.min_score:
            continue  # explanations are only built for rings that are reported
        idents = shared_by_group[g].sort_values(["used", "weight"], ascending=False)
        shared = [
            {"kind": ident.split(":", 1)[0], "value": ident.split(":", 1)[1],
             "relationship": rel, "members": int(used), "weight": round(float(weight), 3)}
            for ident, rel, used, weight in zip(idents["ident"], idents["rel"], idents["used"],
                                                idents["weight"])
        ]
        reasons = [f"{name} ({strength:.2f})" for name, strength in fired.items()]
        if burst >= 0.8:
            reasons.append(f"burst: {burst:.0%} of the shared use within 14 days")
        reasons.append(f"{len(shared)} identifiers shared across {len(applicants)} applicants")
        member_ids = sorted(ids[members].tolist())
        rings.append(Ring(
            ring_id=ring_id_for(member_ids), members=member_ids, applicants=applicants,
            score=score, heuristic_score=heuristic_score, gnn_score=gnn_score, density=density,
            burst=burst, first_seen=int(when[members].min()),
            last_seen=int(when[members].max()), shared=shared, reasons=reasons,
            merchants=sorted({v for m in members for v in merchants.get(m, ())}),
            agents=sorted({v for m in members for v in agents.get(m, ())}),
            links=sorted({(ids[a], i) for a, i in zip(cross_links[g]["app"],
                                                       cross_links[g]["ident"])}),
        ))
    return rings


def _values_by_app(export: GraphExport, rel: str, apps: np.ndarray) -> dict[int, list[str]]:
    frame = export.links.get(rel)
    if frame is None or frame.empty:
        return {}
    frame = frame[frame["app"].isin(apps)]
    out: dict[int, list[str]] = {}
    for app, value in zip(frame["app"].to_numpy(), frame["value"].to_numpy(dtype=object)):
        out.setdefault(int(app), []).append(value)
    return out


def application_scores(export: GraphExport, rings: list[Ring], evidence: pd.DataFrame,
                       gnn: np.ndarray) -> pd.DataFrame:
    """Final per-application risk: the ring's score for members, else own evidence and GNN."""
    ids = export.applications["application_id"]
    ring_of = pd.Series(pd.NA, index=ids.to_numpy(), dtype=object)
    ring_score = pd.Series(0.0, index=ids.to_numpy())
    for ring in rings:
        ring_of[ring.members] = ring.ring_id
        ring_score[ring.members] = np.maximum(ring_score[ring.members], ring.score)
    flags = (evidence.assign(id=ids.to_numpy()[evidence["app"].to_numpy(dtype=np.int64)])
             .groupby("id")["heuristic"].agg(lambda h: ";".join(sorted(set(h))))
             if len(evidence) else pd.Series(dtype=object))
    own = (evidence.groupby("app")["strength"]
           .agg(lambda s: 1 - np.prod(1 - np.clip(s.to_numpy(), 0, 0.95)))
           if len(evidence) else pd.Series(dtype=float))
    own_score = np.zeros(export.n)
    own_score[own.index.to_numpy(dtype=np.int64)] = own.to_numpy()
    gnn_part = np.nan_to_num(gnn, nan=0.0)
    # outside rings, a lone application is only as risky as its own evidence says, capped so
    # that ring membership ranks first
    lone = 1 - (1 - 0.6 * own_score) * (1 - 0.9 * gnn_part)
    score = np.maximum(ring_score.to_numpy(), lone)
    return pd.DataFrame({
        "application_id": ids.to_numpy(),
        "score": np.round(score, 5),
        "gnn_score": np.round(gnn, 5),
        "ring_id": ring_of.to_numpy(),
        "flags": flags.reindex(ids.to_numpy()).fillna("").to_numpy(),
    })
