"""Scoring: the whole book in one pass, or one application from its neighbourhood.

Both paths build features with the same function and the same hub rule, and run the same
model, so an application's inductive score equals its batch score (up to float rounding).
Outcomes known in the store feed the label features of later applications — post-loan
evidence reaching the next pre-loan decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fraudrings.gnn.checkpoint import Checkpoint, IncompatibleCheckpoint, load_checkpoint
from fraudrings.gnn.data import to_tensors
from fraudrings.gnn.features import build_features
from fraudrings.gnn.fetch import fetch_neighbourhood
from fraudrings.gnn.relations import APP
from fraudrings.graph import schema
from fraudrings.graph.export import GraphExport, export_graph
from fraudrings.graph.linkindex import LinkIndex
from fraudrings.graph.store import GraphStore

CheckpointLike = Checkpoint | str | Path | None
SCORE = "gnn_score"
_KEY = schema.APPLICATION.key
assert SCORE in {p.name for p in schema.APPLICATION.properties}


def _checkpoint(checkpoint: CheckpointLike) -> Checkpoint:
    if isinstance(checkpoint, Checkpoint):
        checkpoint.check()
        return checkpoint
    return load_checkpoint(checkpoint)


def _logits(checkpoint: Checkpoint, export: GraphExport, targets: np.ndarray | None,
            degrees: dict | None = None, num_targets: int | None = None) -> torch.Tensor:
    features = build_features(export, checkpoint.feature_config, targets=targets,
                              degrees=degrees)
    x, edges, head = to_tensors(features, checkpoint.normaliser)
    model = checkpoint.model()
    with torch.inference_mode():
        out = model(x, edges, head, num_targets=num_targets)
    return out[:, 0]


def score_book(source: GraphStore | GraphExport, checkpoint: CheckpointLike = None) -> pd.Series:
    """``gnn_score`` (fraud probability, 0-1) of every application, indexed by
    ``application_id``; ``source`` is a store (exported here) or an export."""
    checkpoint = _checkpoint(checkpoint)
    export = source if isinstance(source, GraphExport) else export_graph(source)
    if export.schema_version != checkpoint.schema_version:
        raise IncompatibleCheckpoint(
            f"the graph has schema v{export.schema_version}, the checkpoint "
            f"v{checkpoint.schema_version}: train a new model (fraudrings train)")
    if export.n == 0:
        return pd.Series([], dtype="float64", name=SCORE,
                         index=pd.Index([], name="application_id"))
    probability = torch.sigmoid(_logits(checkpoint, export, None)).numpy().astype(np.float64)
    index = pd.Index(export.applications["application_id"].to_numpy(), name="application_id")
    return pd.Series(probability, index=index, name=SCORE)


@dataclass
class ApplicationScore:
    application_id: str
    score: float  # fraud probability 0-1
    flagged: bool  # score >= the checkpoint's validation threshold
    threshold: float
    neighbours: int  # applications in the neighbourhood that was scored
    fetch_ms: float
    model_ms: float


def score_application(store: GraphStore, application_id: str,
                      checkpoint: CheckpointLike = None,
                      links: LinkIndex | None = None) -> ApplicationScore:
    """Score one application (typically just inserted) from its neighbourhood in the store
    (``links``: its links in memory, see :func:`fetch_neighbourhood`)."""
    checkpoint = _checkpoint(checkpoint)
    started = time.perf_counter()
    export, degrees = fetch_neighbourhood(store, application_id, checkpoint.feature_config,
                                          links)
    fetched = time.perf_counter()
    targets = np.zeros(export.n, dtype=bool)
    targets[0] = True  # fetch_neighbourhood puts the application first
    logit = _logits(checkpoint, export, targets, degrees, num_targets=1)
    score = float(torch.sigmoid(logit[0]))
    done = time.perf_counter()
    return ApplicationScore(
        application_id=application_id, score=score, flagged=score >= checkpoint.threshold,
        threshold=checkpoint.threshold, neighbours=export.n - 1,
        fetch_ms=(fetched - started) * 1000, model_ms=(done - fetched) * 1000)


def write_scores(store: GraphStore, scores: pd.Series, chunk: int = 50_000,
                 progress: Callable[[int, int], None] | None = None) -> int:
    """Write ``scores`` back to ``Application.gnn_score`` in chunks; returns rows written."""
    written = 0
    for rows in _chunks(scores, chunk):
        store.write([(f"UNWIND $rows AS r MATCH (a:{APP} {{{_KEY}: r.id}}) "
                      f"SET a.{SCORE} = r.s", {"rows": rows})])
        written += len(rows)
        if progress:
            progress(written, len(scores))
    return written


def _chunks(scores: pd.Series, size: int) -> Iterator[list[dict]]:
    ids = scores.index.astype(str).tolist()
    values = [float(v) for v in scores.to_numpy(dtype=np.float64)]
    for start in range(0, len(ids), size):
        yield [{"id": i, "s": s} for i, s in zip(ids[start:start + size],
                                                values[start:start + size], strict=True)]
