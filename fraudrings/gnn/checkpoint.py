"""Checkpoints: everything scoring needs, and a refusal to run against another graph or
feature version.

A checkpoint is one ``torch.save`` file of plain values and tensors (loadable with
``weights_only=True``, so loading never runs code): the model's weights and hyper-parameters,
the feature configuration, the normalisation statistics, the threshold chosen on validation,
the schema and feature versions and the training metrics. By default they live in
``$FRAUDRINGS_HOME/models/`` (``~/.fraudrings/models``) beside a ``latest`` file naming the
newest one; any path may be given instead.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from fraudrings.gnn.data import HEAD, Normaliser
from fraudrings.gnn.features import FEATURE_VERSION, FeatureConfig
from fraudrings.gnn.model import RingSAGE
from fraudrings.gnn.relations import APP, EDGE_TYPES, NODE_TYPES
from fraudrings.graph.schema import SCHEMA_VERSION

FORMAT = "fraudrings-gnn"
LATEST = "latest"


class IncompatibleCheckpoint(ValueError):
    """The checkpoint was made for another graph schema or feature version (one line)."""


class CheckpointNotFound(FileNotFoundError):
    """No checkpoint at the given path, or none trained yet (one line)."""


@dataclass
class Checkpoint:
    model_config: dict[str, Any]  # RingSAGE keyword arguments besides metadata
    feature_config: FeatureConfig
    normaliser: Normaliser
    state_dict: dict[str, torch.Tensor]
    threshold: float = 0.5
    metrics: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    feature_version: int = FEATURE_VERSION
    created_at: str = ""
    path: Path | None = None
    _model: RingSAGE | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def model(self) -> RingSAGE:
        """The model in eval mode, built once per checkpoint (scoring reuses it)."""
        with self._lock:
            if self._model is None:
                model = RingSAGE((NODE_TYPES, EDGE_TYPES), **self.model_config)
                model.load_state_dict(self.state_dict)
                self._model = model.eval()
            return self._model

    def check(self) -> None:
        """Raise :class:`IncompatibleCheckpoint` unless this fraudrings can use it."""
        if self.schema_version != SCHEMA_VERSION or self.feature_version != FEATURE_VERSION:
            where = f" {self.path}" if self.path else ""
            raise IncompatibleCheckpoint(
                f"checkpoint{where} was trained for graph schema v{self.schema_version} and "
                f"features v{self.feature_version}, but this fraudrings uses schema "
                f"v{SCHEMA_VERSION} and features v{FEATURE_VERSION}: train a new model "
                f"(fraudrings train)")

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "feature_version": self.feature_version,
            "created_at": self.created_at,
            "model_config": self.model_config,
            "feature_config": self.feature_config.as_dict(),
            "normaliser": self.normaliser.as_dict(),
            "threshold": float(self.threshold),
            "metrics": self.metrics,
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
        }


def model_config(in_channels: dict[str, int], head_channels: int, **hyper: Any) -> dict[str, Any]:
    """The keyword arguments a checkpoint rebuilds its :class:`RingSAGE` from."""
    aggr = hyper.get("aggr", "mean")
    return {"in_channels": dict(in_channels), "target": APP, "head_channels": head_channels,
            **hyper, "aggr": aggr if isinstance(aggr, str) else list(aggr)}


def fraudrings_home() -> Path:
    return Path(os.environ.get("FRAUDRINGS_HOME") or Path.home() / ".fraudrings")


def models_dir() -> Path:
    return fraudrings_home() / "models"


def save_checkpoint(checkpoint: Checkpoint, path: str | Path | None = None) -> Path:
    """Write ``checkpoint`` to ``path`` (a file, or a folder to put a new file in; default:
    the models folder) and make it the folder's ``latest``."""
    if not checkpoint.created_at:
        checkpoint.created_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = Path(path) if path is not None else models_dir()
    if target.suffix != ".pt":
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        target = target / f"gnn-{stamp}.pt"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    torch.save(checkpoint.as_dict(), partial)
    partial.replace(target)  # readers never see half a file
    pointer = target.parent / LATEST
    pointer.write_text(target.name + "\n", encoding="utf-8")
    checkpoint.path = target
    return target


def resolve(path: str | Path | None = None) -> Path:
    """A checkpoint file from a file path, a folder (its ``latest``) or nothing (the default
    folder's ``latest``)."""
    where = Path(path) if path is not None else models_dir()
    if where.suffix != ".pt":  # a folder (its ``latest``) or the pointer file itself
        pointer = where if where.name == LATEST else where / LATEST
        if not pointer.exists():
            raise CheckpointNotFound(f"no trained model in {pointer.parent}: run fraudrings train")
        where = pointer.parent / pointer.read_text(encoding="utf-8").strip()
    if not where.exists():
        raise CheckpointNotFound(f"no checkpoint at {where}")
    return where


_cache: dict[tuple[str, int], Checkpoint] = {}
_cache_lock = threading.Lock()


def load_checkpoint(path: str | Path | None = None) -> Checkpoint:
    """Load (and cache, keyed by file and modification time) a checkpoint; raise
    :class:`IncompatibleCheckpoint` if it does not fit this fraudrings."""
    file = resolve(path)
    key = (str(file.resolve()), file.stat().st_mtime_ns)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        raw = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # a truncated or foreign file: one line, not a pickle traceback
        raise IncompatibleCheckpoint(f"{file} is not a fraudrings checkpoint ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise IncompatibleCheckpoint(f"{file} is not a fraudrings checkpoint")
    checkpoint = Checkpoint(
        model_config=raw["model_config"],
        feature_config=FeatureConfig.from_dict(raw["feature_config"]),
        normaliser=Normaliser.from_dict(raw["normaliser"]),
        state_dict=raw["state_dict"],
        threshold=float(raw["threshold"]),
        metrics=raw.get("metrics", {}),
        schema_version=int(raw["schema_version"]),
        feature_version=int(raw["feature_version"]),
        created_at=raw.get("created_at", ""),
        path=file,
    )
    checkpoint.check()
    if HEAD not in checkpoint.normaliser.mean:
        raise IncompatibleCheckpoint(f"{file} lacks normalisation statistics")
    with _cache_lock:
        _cache[key] = checkpoint
    return checkpoint
