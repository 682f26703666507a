"""Normalisation and the torch-geometric ``HeteroData`` of a :class:`GraphFeatures`.

Every node type and edge type of :mod:`fraudrings.gnn.relations` is always present (possibly
with zero rows), so that a model built on one graph runs unchanged on any other — the whole
book, one application's neighbourhood, a tiny test graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch_geometric.data import HeteroData

from fraudrings.gnn.features import GraphFeatures
from fraudrings.gnn.relations import APP, EDGE_TYPES, ID_LABELS

HEAD = "head"  # the key of the head features in a Normaliser


@dataclass
class Normaliser:
    """Per-column mean and standard deviation of each node type's features (and the head's),
    taken from the training graph and stored in the checkpoint."""

    mean: dict[str, list[float]] = field(default_factory=dict)
    std: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def fit(cls, features: GraphFeatures, rows: np.ndarray | None = None) -> Normaliser:
        """Statistics of the applications in ``rows`` (the training split) and of every
        identifier (no labels reach identifier features, so all of them may be used)."""
        rows = np.ones(len(features.app_x), dtype=bool) if rows is None else rows
        blocks = {APP: features.app_x[rows], HEAD: features.head_x[rows & features.targets]}
        blocks.update(features.id_x)
        out = cls()
        for key, block in blocks.items():
            if len(block):
                mean, std = block.mean(axis=0), block.std(axis=0)
            else:
                mean, std = np.zeros(block.shape[1]), np.ones(block.shape[1])
            std = np.where(std < 1e-6, 1.0, std)  # a constant column stays at zero
            out.mean[key] = [float(v) for v in mean]
            out.std[key] = [float(v) for v in std]
        return out

    def apply(self, key: str, block: np.ndarray) -> torch.Tensor:
        mean = np.asarray(self.mean[key], dtype=np.float64)
        std = np.asarray(self.std[key], dtype=np.float64)
        if block.shape[1] != len(mean):
            raise ValueError(f"{key}: {block.shape[1]} feature columns, the model expects "
                             f"{len(mean)}")
        return torch.from_numpy(((block - mean) / std).astype(np.float32))

    def as_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std}

    @classmethod
    def from_dict(cls, raw: Mapping) -> Normaliser:
        return cls(mean=dict(raw["mean"]), std=dict(raw["std"]))


def to_hetero_data(features: GraphFeatures, norm: Normaliser) -> HeteroData:
    """The graph as ``HeteroData``: ``x`` per node type, ``head`` on applications."""
    data = HeteroData()
    data[APP].x = norm.apply(APP, features.app_x)
    data[APP].head = norm.apply(HEAD, features.head_x)
    for label in ID_LABELS:
        data[label].x = norm.apply(label, features.id_x[label])
    for edge_type in EDGE_TYPES:
        edges = features.edges.get(edge_type, np.zeros((2, 0), dtype=np.int64))
        data[edge_type].edge_index = torch.from_numpy(np.ascontiguousarray(edges, dtype=np.int64))
    return data


def in_channels(norm: Normaliser) -> dict[str, int]:
    return {key: len(values) for key, values in norm.mean.items() if key != HEAD}
