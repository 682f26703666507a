"""The heterogeneous GNN: features, model, training on post-loan outcomes, scoring.

The public API, imported lazily (torch loads only when one of them is used)::

    train_gnn(export, TrainConfig(...)) -> TrainResult          # .checkpoint, .metrics
    save_checkpoint(checkpoint, path=None) -> Path               # $FRAUDRINGS_HOME/models
    load_checkpoint(path=None) -> Checkpoint                      # latest by default
    score_book(store_or_export, checkpoint=None) -> pd.Series     # gnn_score by application_id
    score_application(store, application_id, checkpoint=None) -> ApplicationScore
    write_scores(store, scores) -> int                            # Application.gnn_score
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FEATURE_VERSION": "fraudrings.gnn.features",
    "FeatureConfig": "fraudrings.gnn.features",
    "build_features": "fraudrings.gnn.features",
    "RingSAGE": "fraudrings.gnn.model",
    "TrainConfig": "fraudrings.gnn.train",
    "TrainResult": "fraudrings.gnn.train",
    "train_gnn": "fraudrings.gnn.train",
    "temporal_split": "fraudrings.gnn.train",
    "Checkpoint": "fraudrings.gnn.checkpoint",
    "IncompatibleCheckpoint": "fraudrings.gnn.checkpoint",
    "CheckpointNotFound": "fraudrings.gnn.checkpoint",
    "save_checkpoint": "fraudrings.gnn.checkpoint",
    "load_checkpoint": "fraudrings.gnn.checkpoint",
    "ApplicationScore": "fraudrings.gnn.score",
    "score_book": "fraudrings.gnn.score",
    "score_application": "fraudrings.gnn.score",
    "write_scores": "fraudrings.gnn.score",
    "UnknownApplication": "fraudrings.gnn.fetch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'fraudrings.gnn' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
