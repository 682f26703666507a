"""The GNN, when a trained checkpoint exists: one new application scored from its neighbourhood.

Optional by design: without a checkpoint (or without the GNN's dependencies) every answer has
``gnn_score: null`` and the rest of the assessment stands. The checkpoint is looked up again
at most once a second (a stat of the ``latest`` pointer; the loaded model is cached by file and
modification time in :mod:`fraudrings.gnn.checkpoint`), so a model trained while the server runs
is picked up within a second, without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fraudrings.graph.linkindex import LinkIndex
from fraudrings.graph.store import GraphStore

log = logging.getLogger("fraudrings.api")
#: Seconds between looks at the checkpoint on disk: a newly trained model is picked up within.
RECHECK_S = 1.0


@dataclass(frozen=True)
class GnnResult:
    score: float
    threshold: float
    flagged: bool


class GnnScorer:
    """``score(store, application_id)``: a :class:`GnnResult`, or None when no model is
    available."""

    def __init__(self, checkpoint: str | Path | None = None, enabled: bool = True) -> None:
        self.checkpoint = checkpoint
        self.enabled = enabled
        self._modules: tuple[Any, Any] | None = None
        if enabled:
            try:  # torch is heavy: import once, at start-up, not inside a request
                import torch

                from fraudrings.gnn import checkpoint as gnn_checkpoint
                from fraudrings.gnn import score as gnn_score

                # one application's neighbourhood is a few hundred rows: intra-op threads only
                # spin against the server's other threads for the same cores
                torch.set_num_threads(1)
                self._modules = (gnn_checkpoint, gnn_score)
            except Exception as exc:  # a GNN under construction must not take the API down
                log.warning("GNN scoring off: cannot import fraudrings.gnn (%s)",
                            type(exc).__name__)
        self._warned = False
        # One scoring at a time. torch releases the GIL around each of its small operations, so
        # scorings in parallel hand it to each other at every one: 446 context switches per
        # scoring at 4 threads against 0.5 at one, 24.6 against 13.1 ms of CPU each, 48.6
        # against 75.2 scorings/s (bench/gnn_parallel.py). With the GNN at 1M applications, 8
        # clients got 33 requests/s and a p99 of 616 ms with concurrent scorings, 47/s and 269
        # ms with one (bench/api.py --model, the same run otherwise).
        self._scoring = threading.Lock()
        self._loaded: Any | None = None
        self._checked_at = -RECHECK_S

    def _load(self) -> Any | None:
        if self._modules is None:
            return None
        now = time.monotonic()
        if now - self._checked_at < RECHECK_S:  # a stat per request showed in profiles
            return self._loaded
        gnn_checkpoint, _ = self._modules
        try:
            loaded = gnn_checkpoint.load_checkpoint(self.checkpoint)
        except (FileNotFoundError, ValueError) as exc:  # none trained yet, or incompatible
            if self.checkpoint is not None and not self._warned:
                log.warning("GNN scoring off: %s", str(exc).splitlines()[0])
                self._warned = True
            loaded = None
        self._loaded, self._checked_at = loaded, now
        return loaded

    @property
    def available(self) -> bool:
        return self._load() is not None

    def score(self, store: GraphStore, application_id: str,
              links: LinkIndex | None = None) -> GnnResult | None:
        checkpoint = self._load()
        if checkpoint is None or self._modules is None:
            return None
        _, gnn_score = self._modules
        try:
            with self._scoring:
                result = gnn_score.score_application(store, application_id, checkpoint, links)
        except Exception:  # a scoring failure degrades to "no GNN", never to a 500
            log.exception("GNN scoring failed; answering without it")
            return None
        return GnnResult(round(float(result.score), 5), float(result.threshold),
                         bool(result.flagged))
