"""The per-application path: validate, store, look around, assemble, persist, explain.

1. **Validate** with the contract's rules (:func:`fraudrings.loaders.single.validate_one`, held
   equal to the file path by a parity test): the same hashes and normalisation as a file load;
   a quarantine reason becomes a 422 naming its field.
2. **Store** with :func:`insert_application` (one transaction; the answer is given only after it
   commits). A per-id lock makes "is it stored? then insert" atomic, so a retry racing its
   original cannot interleave: same content is a replay that stores nothing, different content
   is a conflict.
3. **Look around** (:mod:`fraudrings.api.neighbourhood`), after the commit and without any API
   lock: two linked applications arriving together each see whatever the other has committed.
   On Neo4j the application's own identifiers are read last in the transaction that stores it
   (:class:`~fraudrings.api.commits.ReadBack`), which sees the same: its group and every
   transaction committed before.
4. **Assemble** the local rings (:func:`fraudrings.api.assembly.assemble`: the sweep's
   ``assemble_rings`` step for step in plain Python, held equal to it by a parity test), with
   the heuristics' flags the last sweep left on the neighbours and the GNN's scores as
   evidence. Skipped when fewer applicants than a ring needs are in reach: it could find
   nothing.
5. **Persist** the ring (absorbing stored rings it overlaps) and the application's score, under
   one lock per store, so that concurrent requests' read-then-write of rings do not interleave.

Steps 2 and 5 go through a group commit (:mod:`fraudrings.api.commits`): concurrent requests
share transactions, each answered only once its application has committed. A score outside a
ring is a deferred write (it rides with the next commit); the reads of this API flush first.

Nothing is cached between requests: every answer is computed from what the store holds now.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fraudrings.api import ringstore
from fraudrings.api.assembly import application_scores, assemble
from fraudrings.api.commits import GroupCommit, QuietCheckpoint, ReadBack
from fraudrings.api.gnn import GnnResult, GnnScorer
from fraudrings.api.locks import KeyedLocks
from fraudrings.api.models import ApplicationIn
from fraudrings.api.neighbourhood import (
    RING_LINKS,
    Neighbourhood,
    fetch,
    identifiers_each_statement,
)
from fraudrings.api.timing import Phases
from fraudrings.api.validation import validate_application
from fraudrings.graph import schema
from fraudrings.graph.linkindex import LinkIndex
from fraudrings.graph.load import insert_application
from fraudrings.graph.rings import AssemblyParams, Ring
from fraudrings.graph.store import GraphStore, Statement

DAY = 86_400
BURST_DAYS = 14
#: The last sweep stores *which* heuristics flagged a neighbour, not how strongly: a middle
#: strength lets the flags count in a ring's score without outweighing its own structure.
FLAG_STRENGTH = 0.5
_APP, _KEY = schema.APPLICATION.label, schema.APPLICATION.key
_APP_PROPS = tuple(p.name for p in schema.APPLICATION.properties)


class Conflict(ValueError):
    """The store holds this application id with different content."""


@dataclass(frozen=True)
class Thresholds:
    review_at: float = 0.5
    decline_at: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 <= self.review_at <= self.decline_at <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= review <= decline <= 1")

    def recommend(self, score: float) -> str:
        if score >= self.decline_at:
            return "decline"
        return "review" if score >= self.review_at else "approve"


class Assessor:
    """Everything the HTTP layer asks of the store, for one store."""

    def __init__(self, store: GraphStore, thresholds: Thresholds | None = None,
                 gnn: GnnScorer | None = None, params: AssemblyParams | None = None,
                 link_index: bool = True, quiet: QuietCheckpoint | None = None) -> None:
        self.store = store
        self.thresholds = thresholds or Thresholds()
        self.gnn = gnn
        self.params = params or AssemblyParams()
        self._id_locks = KeyedLocks()
        self._ring_lock = threading.Lock()
        # the store's only writer keeps its ring links in memory (see linkindex)
        self.links = LinkIndex(store) if link_index and store.traits.sole_writer else None
        if self.links is not None:
            self.links.rebuild()
        # without the links in memory, a server store (Neo4j) reads each new application's
        # identifiers in the transaction that inserts it: a round trip per group, not per request
        read_back = (ReadBack(identifiers_each_statement, "anchor")
                     if self.links is None and store.traits.round_trips else None)
        self.commits = GroupCommit(store, links=self.links, quiet=quiet, read_back=read_back)

    # -- POST /v1/applications ------------------------------------------------------------
    def submit(self, body: ApplicationIn,
               phases: Phases | None = None) -> tuple[bool, dict[str, Any]]:
        """Store (unless it is a replay) and assess; returns (created, assessment).
        ``phases``: gets the time of each step (:mod:`fraudrings.api.timing`)."""
        phases = phases if phases is not None else Phases()
        with phases.span("validate"):
            row = validate_application(body.contract_row())
        app_id = row["application_id"]
        phases.add("store", 0.0)  # first in the header: the path's order
        started = time.perf_counter()
        with self._id_locks.hold(app_id):
            # Most ids are new: ask the store first only when the link index knows the id (a
            # replay or a conflict). Without an index the insert itself finds out: the store
            # refuses a stored id, and then the lookup below tells a replay from a conflict.
            # That spares Neo4j a round trip per request; a replay costs its group a retry.
            known = (self.links.holds(app_id) if self.links is not None
                     and self.links.current() else False)
            created = not (known and self._stored(row))
            read_back: list[list[dict] | None] = []

            def write(statements: Sequence[Statement]) -> None:
                read_back.append(self.commits.write(statements, inserted=[row], phases=phases))

            if created:
                try:  # False: another writer (a second server on one Neo4j) stored it first
                    created = insert_application(self.store, row, write)
                except Exception:  # ... with other content: a conflict, else a real failure
                    if not self._stored(row):
                        raise
                    created = False
        # "store" is the rest of the block (the lock, the statements, a replay's lookup): the
        # insert's commit is the only write that times itself into these phases
        committing = phases.spans.get("commit-wait", 0.0) + phases.spans.get("commit", 0.0)
        phases.add("store", time.perf_counter() - started - committing)
        return created, self.assess(row, read_back[-1] if created and read_back else None,
                                    phases)

    def _stored(self, row: dict[str, Any]) -> bool:
        """Whether the store holds the application; :class:`Conflict` if with other content."""
        stored = self.store.query(f"MATCH (a:{_APP} {{{_KEY}: $id}}) RETURN a.content_hash AS h",
                                  {"id": row["application_id"]})
        if stored and stored[0]["h"] != row["content_hash"]:
            raise Conflict(f"application {row['application_id']} is stored with different "
                           "content")
        return bool(stored)

    def assess(self, row: dict[str, Any], read_back: list[dict] | None = None,
               phases: Phases | None = None) -> dict[str, Any]:
        """``read_back``: its own identifiers, read in the transaction that stored it."""
        phases = phases if phases is not None else Phases()
        app_id = row["application_id"]
        gnn = None
        if self.gnn is not None and self.gnn.enabled:
            with phases.span("gnn"):
                gnn = self.gnn.score(self.store, app_id, self.links)
        with phases.span("neighbourhood"):
            nb = fetch(self.store, app_id, row, self.links, read_back)
        with phases.span("ring"):
            ring, score, ring_out = self._ring(app_id, nb, gnn)
        score = round(float(score), 4)
        with phases.span("evidence"):
            evidence = self._evidence(row, nb, gnn, ring_out)
        return {
            "application_id": app_id, "score": score,
            "gnn_score": gnn.score if gnn else None,
            "recommendation": self.thresholds.recommend(score),
            "ring": ring_out, "evidence": evidence,
        }

    def _ring(self, app_id: str, nb: Neighbourhood, gnn: GnnResult | None,
              ) -> tuple[Ring | None, float, dict[str, Any] | None]:
        """The ring it joins or forms (persisted) and its score, with the ring's view."""
        ring, score = self._rings(nb, gnn)
        ring_out = None
        if ring is None:
            # no ring lock: a ring a concurrent request forms around this application may have
            # raised its score meanwhile, and the statement keeps the higher one. Deferred: the
            # application is durable already, its score rides with the next commit
            self.commits.write_later(
                [self._score_statement(app_id, score, gnn, keep_higher=True)])
        else:
            with self._ring_lock:
                # a member is at least as risky as its ring, grown or not
                ring_id, ring_score = ringstore.persist(
                    self.store, ring,
                    lambda stored: [self._score_statement(app_id, max(score, stored), gnn)],
                    write=self.commits.write)
            score = max(score, ring_score)
            ring_out = ringstore.ring_view(self.store, ring_id)
        return ring, score, ring_out

    def _rings(self, nb: Neighbourhood, gnn: GnnResult | None) -> tuple[Ring | None, float]:
        app_id = nb.application_id
        gnn_scores = self._gnn_scores(nb, gnn)
        if nb.applicants < self.params.min_applicants:
            if gnn is None:
                return None, 0.0  # no ring can form and there is no other evidence
            ids = [r[_KEY] for r in nb.rows]
            scores = application_scores(ids, [], {},
                                        [gnn_scores.get(a, math.nan) for a in ids])
            return None, scores[app_id]
        rings, scores = assemble(nb, _flagged(nb), FLAG_STRENGTH, gnn_scores, self.params)
        ring = next((r for r in rings if app_id in r.members), None)
        return ring, scores[app_id]

    @staticmethod
    def _gnn_scores(nb: Neighbourhood, gnn: GnnResult | None) -> dict[str, float]:
        """The last sweep's GNN scores of the neighbours, and this application's fresh one."""
        stored = {r[_KEY]: float(r["gnn_score"]) for r in nb.rows if r["gnn_score"] is not None}
        if gnn is not None:
            stored[nb.application_id] = gnn.score
        return stored

    @staticmethod
    def _score_statement(app_id: str, score: float, gnn: GnnResult | None,
                         keep_higher: bool = False) -> tuple[str, dict[str, Any]]:
        sets = ("a.score = CASE WHEN a.score IS NULL OR a.score < $s THEN $s ELSE a.score END"
                if keep_higher else "a.score = $s")
        sets += ", a.gnn_score = $g" if gnn is not None else ""
        params: dict[str, Any] = {"id": app_id, "s": round(float(score), 4)}
        if gnn is not None:
            params["g"] = gnn.score
        return f"MATCH (a:{_APP} {{{_KEY}: $id}}) SET {sets}", params

    # -- evidence -------------------------------------------------------------------------
    def _evidence(self, row: dict[str, Any], nb: Neighbourhood, gnn: GnnResult | None,
                  ring: dict[str, Any] | None) -> dict[str, Any]:
        app_id, applicant, when = row[_KEY], row["applicant_id"], int(row["applied_at"])
        shared, near_apps, near_people = [], set(), set()
        for rel, label, value in _own_links(row):
            ident = nb.own.get((label, value))
            if ident is None or ident.degree < 2:
                continue
            users = ident.applications
            applicants = None if ident.hub else len(
                {nb.by_id[a]["applicant_id"] for a in users if a in nb.by_id})
            if not ident.hub and len(users) < 2:
                continue
            shared.append({"kind": label, "relationship": rel, "value": value,
                           "applications": ident.degree if ident.hub else len(users),
                           "applicants": applicants, "hub": ident.hub})
            for other in users - {app_id}:
                info = nb.by_id.get(other)
                if (info and info["applicant_id"] != applicant and info["applied_at"] is not None
                        and abs(int(info["applied_at"]) - when) <= BURST_DAYS * DAY):
                    near_apps.add(other)
                    near_people.add(info["applicant_id"])
        shared.sort(key=lambda s: (s["hub"], -(s["applicants"] or 0), s["kind"], s["value"]))
        flags = Counter(f for a in nb.hop1 for f in _flags(nb.by_id.get(a)))
        ring_id = ring["ring_id"] if ring else None
        neighbour_rings = []
        for other_ring, count in sorted(Counter(
                nb.by_id[a]["ring_id"] for a in nb.hop1
                if a in nb.by_id and nb.by_id[a]["ring_id"]).items()):
            props = ringstore.read_ring(self.store, other_ring) if other_ring != ring_id else None
            if props is not None:  # absorbed rings are gone; its own ring is reported above
                neighbour_rings.append({
                    "ring_id": other_ring, "score": ringstore.summary(props)["score"],
                    "found_by": ringstore.found_by(props), "applications": count})
        evidence = {
            "shared_identifiers": shared,
            "burst": {"window_days": BURST_DAYS, "applications": len(near_apps),
                      "applicants": len(near_people)},
            "neighbour_flags": [{"heuristic": h, "applications": n}
                                for h, n in sorted(flags.items(), key=lambda kv: (-kv[1], kv[0]))],
            "neighbour_rings": neighbour_rings,
            "gnn": ({"score": gnn.score, "threshold": gnn.threshold, "flagged": gnn.flagged}
                    if gnn else None),
            "neighbourhood": len(nb.rows),
            "truncated": nb.truncated,
        }
        evidence["reasons"] = _reasons(evidence, ring)
        return evidence

    # -- reads ----------------------------------------------------------------------------
    def application(self, app_id: str) -> dict[str, Any] | None:
        self.commits.flush()  # a score answered a moment ago is read back
        columns = ", ".join(f"a.{p} AS {p}" for p in _APP_PROPS)
        rows = self.store.query(f"MATCH (a:{_APP} {{{_KEY}: $id}}) RETURN {columns}",
                                {"id": app_id})
        if not rows:
            return None
        props = rows[0]
        links = self.store.query(_IDENTIFIERS, {"id": app_id})
        ring_rows = self.store.query(
            f"MATCH (a:{_APP} {{{_KEY}: $id}})-[:{schema.IN_RING}]->(g:{schema.RING.label}) "
            f"RETURN {ringstore._RETURN}", {"id": app_id})
        score = props.get("score")
        try:
            extra = json.loads(props.get("extra") or "{}")
        except ValueError:
            extra = {}
        return {
            **{c: props.get(c) for c in ("application_id", "applicant_id", "applied_at",
                                          "amount", "term_months", "product", "is_fraud",
                                          "fpd", "gnn_score")},
            "amount": _finite(props.get("amount")),
            "extra": extra if isinstance(extra, dict) else {},
            "identifiers": sorted(({"kind": r["kind"], "relationship": r["rel"],
                                    "value": r["value"]} for r in links),
                                  key=lambda i: (i["relationship"], i["value"])),
            "score": score,
            "flags": [f for f in (props.get("flags") or "").split(";") if f],
            "recommendation": self.thresholds.recommend(score) if score is not None else None,
            "ring": ringstore.summary(ring_rows[0]) if ring_rows else None,
        }

    def ring(self, ring_id: str) -> dict[str, Any] | None:
        self.commits.flush()
        return ringstore.ring_view(self.store, ring_id)

    def rings(self, min_score: float, limit: int) -> list[dict[str, Any]]:
        self.commits.flush()
        return ringstore.list_rings(self.store, min_score, limit)

    def ready(self) -> bool:
        try:
            return bool(self.store.query("RETURN 1 AS ok"))
        except Exception:
            return False


_IDENTIFIERS = " UNION ALL ".join(
    f"MATCH (a:{_APP} {{{_KEY}: $id}})-[:{link.type}]->(n:{link.target}) "
    f"RETURN '{link.target}' AS kind, '{link.type}' AS rel, "
    f"n.{schema.node_kind(link.target).key} AS value"
    for link in schema.LINKS
)


def _own_links(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(relationship, label, value) of the application's ring identifiers, from its row."""
    out = []
    for link in RING_LINKS:
        value = row.get(link.field)
        values = value if link.multi else [value]
        for v in values if isinstance(values, (list, tuple)) else []:
            if isinstance(v, str) and v:
                out.append((link.type, link.target, v))
    return out


def _flags(info: dict[str, Any] | None) -> list[str]:
    return [f for f in ((info or {}).get("flags") or "").split(";") if f]


def _flagged(nb: Neighbourhood) -> dict[str, list[str]]:
    """The neighbours each heuristic flagged in the last sweep: assembly evidence."""
    flagged: dict[str, list[str]] = {}
    for info in nb.rows:
        if info[_KEY] != nb.application_id:
            for name in _flags(info):
                flagged.setdefault(name, []).append(info[_KEY])
    return flagged


def _reasons(evidence: dict[str, Any], ring: dict[str, Any] | None) -> list[str]:
    reasons = []
    if ring is not None:
        how = ("joins a ring the sweep found" if ring["found_by"] == "sweep"
               else "forms a ring")
        reasons.append(f"{how}: {ring['ring_id']} with {ring['size']} applications "
                       f"(score {ring['score']:.2f})")
    for item in evidence["shared_identifiers"]:
        if item["hub"]:
            continue
        others = (item["applicants"] or 1) - 1
        if others > 0:
            reasons.append(f"{item['kind']} shared with {others} other applicant"
                           f"{'s' if others > 1 else ''}")
    burst = evidence["burst"]
    if burst["applications"] >= 2:
        reasons.append(f"{burst['applications']} applications by {burst['applicants']} other "
                       f"applicants on its identifiers within {burst['window_days']} days")
    if evidence["neighbour_flags"]:
        reasons.append("neighbours flagged by the last sweep: " + ", ".join(
            f"{f['heuristic']} ({f['applications']})" for f in evidence["neighbour_flags"]))
    for other in evidence["neighbour_rings"]:
        reasons.append(f"linked to {other['applications']} member(s) of ring {other['ring_id']}"
                       f" ({other['found_by']}, score {other['score']:.2f})")
    gnn = evidence["gnn"]
    if gnn is not None and gnn["flagged"]:
        reasons.append(f"GNN score {gnn['score']:.2f} above its threshold {gnn['threshold']:.2f}")
    return reasons


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
