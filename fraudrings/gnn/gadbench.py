"""GADBench's Tolokers and Reddit under its fully supervised protocol.

Homogeneous graph with self-loops and duplicates removed; Tolokers' ten given 50/25/25
splits, Reddit stratified 40/20/40 with seeds 3407 + 10·i; model selection on validation
AUPRC; AUROC, AUPRC and Rec@K (K = anomalies in the test set) on the test nodes.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import HeteroData
from torch_geometric.utils import coalesce, remove_self_loops, to_torch_csr_tensor

NODE, RELATION = "node", "to"
EDGE = (NODE, RELATION, NODE)
DATASETS = ("tolokers", "reddit")


def data_dir() -> Path:
    """``$FRAUDRINGS_GADBENCH``, else ``shared/data/gadbench`` beside the repository."""
    env = os.environ.get("FRAUDRINGS_GADBENCH")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        for candidate in (parent / "shared" / "data" / "gadbench",
                          parent.parent / "shared" / "data" / "gadbench"):
            if candidate.exists():
                return candidate
    return Path("shared/data/gadbench")


@dataclass
class Dataset:
    name: str
    x: torch.Tensor  # (n, d) float32
    edge_index: torch.Tensor  # (2, E): both directions, self-loops, no duplicates
    y: torch.Tensor  # (n,) int64
    splits: Callable[[], Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]]

    def log_degree(self) -> torch.Tensor:
        """``(n, 1)`` log of each node's degree in the protocol's graph (self-loop included):
        a structural input the project's model adds to the node's own features, because a
        mean aggregator cannot count neighbours (Xu et al., *How Powerful are Graph Neural
        Networks?*, ICLR 2019) and how many co-workers or interactions a node has is evidence
        in itself — as identifier degrees are in the project's own features."""
        degree = torch.bincount(self.edge_index[1], minlength=len(self.y)).clamp_min(1)
        return degree.float().log().unsqueeze(1)

    def hetero(self) -> HeteroData:
        """The graph as a one-node-type, one-relation ``HeteroData`` (for RingSAGE). The
        relation is a sparse CSR adjacency rather than an edge list: PyG then aggregates with
        one sparse-dense product instead of gathering a message per edge, several times faster
        on CPU, with the same result (the graph is symmetric, so orientation does not matter)."""
        n = len(self.y)
        data = HeteroData()
        data[NODE].x = self.x
        data[EDGE].edge_index = to_torch_csr_tensor(self.edge_index, size=(n, n))
        return data


def prepare_edges(edge_index: torch.Tensor, n: int) -> torch.Tensor:
    """Undirected, duplicates removed, one self-loop per node (the protocol's graph)."""
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1)
    edge_index, _ = remove_self_loops(edge_index)
    loops = torch.arange(n).repeat(2, 1)
    return coalesce(torch.cat([edge_index, loops], dim=1), num_nodes=n)


def load(name: str, folder: Path | None = None) -> Dataset:
    folder = folder or data_dir()
    if name == "tolokers":
        return _tolokers(folder / "tolokers.npz")
    if name == "reddit":
        return _reddit(folder / "reddit.pt.zip")
    raise ValueError(f"unknown GADBench dataset {name!r}: choose one of {', '.join(DATASETS)}")


def _tolokers(path: Path) -> Dataset:
    raw = np.load(path)
    x = torch.from_numpy(raw["node_features"]).float()
    y = torch.from_numpy(raw["node_labels"]).long()
    edges = prepare_edges(torch.from_numpy(raw["edges"]).long().t(), len(y))
    masks = [raw[k] for k in ("train_masks", "val_masks", "test_masks")]

    def splits() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for i in range(masks[0].shape[0]):
            yield tuple(np.flatnonzero(m[i]) for m in masks)

    return Dataset("tolokers", x, edges, y, splits)


def _reddit(path: Path) -> Dataset:
    with zipfile.ZipFile(path) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".pt"))
        # a pickled torch-geometric Data from the dataset's publisher (see the README)
        data = torch.load(io.BytesIO(archive.read(member)), weights_only=False)
    y = data.y.long().view(-1)
    edges = prepare_edges(data.edge_index.long(), len(y))

    def splits() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        from sklearn.model_selection import train_test_split

        index = np.arange(len(y))
        labels = y.numpy()
        for i in range(10):
            seed = 3407 + 10 * i
            train, rest = train_test_split(index, train_size=0.4, stratify=labels,
                                           random_state=seed, shuffle=True)
            val, test = train_test_split(rest, test_size=2 / 3, stratify=labels[rest],
                                         random_state=seed, shuffle=True)
            yield np.sort(train), np.sort(val), np.sort(test)

    return Dataset("reddit", data.x.float(), edges, y, splits)
