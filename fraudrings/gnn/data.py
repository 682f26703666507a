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
from fraudrings.gnn.relations import APP, EDGE_TYPES, ID_LABELS, EdgeType

HEAD = "head"  # the key of the head features in a Normaliser


@dataclass
class Normaliser:
    """Per-column mean and standard deviation of each node type's features (and the head's),
    taken from the training graph and stored in the checkpoint."""

    mean: dict[str, list[float]] = field(default_factory=dict)
    std: dict[str, list[float]] = field(default_factory=dict)
    #: (mean, std) as arrays per key, built on first use: scoring one application calls
    #: :meth:`apply` a dozen times, and rebuilding them from the lists showed in its profile
    _arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

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
        cache = self.__dict__.setdefault("_arrays", {})  # also on a pickled older one
        arrays = cache.get(key)
        if arrays is None or len(arrays[0]) != len(self.mean[key]):
            arrays = (np.asarray(self.mean[key], dtype=np.float64),
                      np.asarray(self.std[key], dtype=np.float64))
            cache[key] = arrays
        mean, std = arrays
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
    x, edges, head = to_tensors(features, norm)
    data = HeteroData()
    for node_type, block in x.items():
        data[node_type].x = block
    data[APP].head = head
    for edge_type, edge_index in edges.items():
        data[edge_type].edge_index = edge_index
    return data


def to_tensors(features: GraphFeatures, norm: Normaliser
               ) -> tuple[dict[str, torch.Tensor], dict[EdgeType, torch.Tensor], torch.Tensor]:
    """What the model takes — ``x`` per node type, ``edge_index`` per edge type, the head
    features — as plain dicts: scoring one application skips ``HeteroData``'s bookkeeping
    (a millisecond for three dozen stores)."""
    x = {APP: norm.apply(APP, features.app_x)}
    head = norm.apply(HEAD, features.head_x)
    for label in ID_LABELS:
        x[label] = norm.apply(label, features.id_x[label])
    edges = {}
    for edge_type in EDGE_TYPES:
        found = features.edges.get(edge_type, _NO_EDGES)
        edges[edge_type] = torch.from_numpy(np.ascontiguousarray(found, dtype=np.int64))
    return x, edges, head


_NO_EDGES = np.zeros((2, 0), dtype=np.int64)


def in_channels(norm: Normaliser) -> dict[str, int]:
    return {key: len(values) for key, values in norm.mean.items() if key != HEAD}
