"""Scoring a sweep against a ground truth, beside the textbook peer on the same data.

- ring recall: a planted ring counts as found when some predicted ring has Jaccard >= 0.5
  with its members;
- member precision / recall / F1: applications in any predicted ring vs in any planted ring;
- decoy share: the share of legitimate-sharing groups (families, tablets, ...) pulled into
  rings, a group being pulled when one predicted ring holds two or more of its honest members;
- average precision of the application score on the applications whose outcome is not known
  yet (the newest), against the true fraud flag.

The peer is connected components over shared identifiers, with and without a degree cap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import average_precision_score

from fraudrings.graph.export import GraphExport


@dataclass
class Quality:
    name: str
    rings: int
    ring_recall: float
    member_precision: float
    member_recall: float
    member_f1: float
    decoy_share: float
    ap_unlabelled: float | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def evaluate_rings(
    name: str,
    predicted: Sequence[Iterable[str]],
    truth: Mapping[str, Any],
    scores: pd.Series | None = None,
    labels: pd.DataFrame | None = None,
    unlabelled: Iterable[str] | None = None,
) -> Quality:
    predicted_sets = [set(p) for p in predicted]
    planted = [set(r["members"]) for r in truth["rings"]]
    in_pred = set().union(*predicted_sets) if predicted_sets else set()
    in_true = set().union(*planted) if planted else set()
    by_member: dict[str, list[int]] = {}
    for i, ring in enumerate(predicted_sets):
        for member in ring:
            by_member.setdefault(member, []).append(i)
    found = 0
    for ring in planted:
        overlap: dict[int, int] = {}
        for member in ring:
            for i in by_member.get(member, []):
                overlap[i] = overlap.get(i, 0) + 1
        best = max((k / (len(ring) + len(predicted_sets[i]) - k) for i, k in overlap.items()),
                   default=0.0)
        found += best >= 0.5
    tp = len(in_pred & in_true)
    precision = tp / len(in_pred) if in_pred else 0.0
    recall = tp / len(in_true) if in_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    pulled = 0
    decoys = truth.get("decoys", [])
    for decoy in decoys:
        honest = set(decoy["members"]) - in_true
        counts: dict[int, int] = {}
        for member in honest:
            for i in by_member.get(member, []):
                counts[i] = counts.get(i, 0) + 1
        pulled += any(c >= 2 for c in counts.values())
    ap = None
    if scores is not None and labels is not None and unlabelled is not None:
        target = labels.set_index("application_id")["true_fraud"]
        ids = [i for i in unlabelled if i in target.index]
        y = target.reindex(ids).to_numpy()
        if len(ids) and 0 < y.sum() < len(y):
            ap = float(average_precision_score(y, scores.reindex(ids).fillna(0).to_numpy()))
    return Quality(
        name=name, rings=len(predicted_sets), ring_recall=found / len(planted) if planted else 1,
        member_precision=precision, member_recall=recall, member_f1=f1,
        decoy_share=pulled / len(decoys) if decoys else 0.0, ap_unlabelled=ap,
    )


def textbook_wcc(export: GraphExport, degree_cap: int | None = None,
                 min_size: int = 2) -> list[list[str]]:
    """The peer: connected components over every shared identifier (optionally dropping
    identifiers used by more than ``degree_cap`` applications)."""
    n = export.n
    rows, cols, offset = [], [], n
    for frame in export.links.values():
        if frame.empty:
            continue
        codes, uniques = pd.factorize(frame["value"])
        if degree_cap is not None:
            degree = np.bincount(codes, minlength=len(uniques))
            keep = degree[codes] <= degree_cap
            codes, apps = codes[keep], frame["app"].to_numpy()[keep]
        else:
            apps = frame["app"].to_numpy()
        rows.append(apps)
        cols.append(offset + codes)
        offset += len(uniques)
    if not rows:
        return []
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r)), (r, c)), shape=(offset, offset))
    _, label = connected_components(graph, directed=False)
    ids = export.applications["application_id"].to_numpy()
    app_label = label[:n]
    order = np.argsort(app_label, kind="stable")
    bounds = np.flatnonzero(np.diff(app_label[order])) + 1
    return [sorted(ids[g]) for g in np.split(order, bounds) if len(g) >= min_size]


def format_table(rows: Sequence[Quality]) -> str:
    header = (f"{'method':<28} {'rings':>7} {'ring_rec':>8} {'mem_P':>6} {'mem_R':>6} "
              f"{'mem_F1':>6} {'decoys':>7} {'AP_new':>7}")
    lines = [header, "-" * len(header)]
    for q in rows:
        ap = f"{q.ap_unlabelled:.3f}" if q.ap_unlabelled is not None else "   -"
        lines.append(
            f"{q.name:<28} {q.rings:>7,} {q.ring_recall:>8.3f} {q.member_precision:>6.3f} "
            f"{q.member_recall:>6.3f} {q.member_f1:>6.3f} {q.decoy_share:>7.3f} {ap:>7}"
        )
    return "\n".join(lines)
