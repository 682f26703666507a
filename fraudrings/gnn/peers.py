"""The peers the GNN is measured against, run in the same process on the same split.

* a tabular model: class-weighted gradient-boosted trees on the application's own fields;
* GADBench's XGB-Graph (Tang et al., NeurIPS 2023): the same trees on ``[X, ĀX, Ā²X]``, Ā the
  neighbour mean with self-loops;
* plain GraphSAGE (Hamilton et al., 2017) for the homogeneous GADBench graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from torch import Tensor, nn
from torch_geometric.nn import GraphSAGE

from fraudrings.gnn.features import FeatureConfig
from fraudrings.gnn.relations import ID_LABELS, links_into
from fraudrings.graph.export import GraphExport

if TYPE_CHECKING:
    from xgboost import XGBClassifier

Operator = sp.spmatrix | Callable[[np.ndarray], np.ndarray]


def fit_xgb(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
            seed: int = 0, n_jobs: int = 2) -> XGBClassifier:
    """Class-weighted boosted trees, early-stopped on validation average precision."""
    from xgboost import XGBClassifier

    positives = max(float(y_train.sum()), 1.0)
    model = XGBClassifier(
        n_estimators=600, learning_rate=0.05, max_depth=6, subsample=0.8,
        colsample_bytree=0.8, min_child_weight=1.0, tree_method="hist",
        scale_pos_weight=(len(y_train) - positives) / positives, eval_metric="aucpr",
        early_stopping_rounds=50, random_state=seed, n_jobs=n_jobs)
    model.fit(x_train, y_train, eval_set=[(x_val, y_val)], verbose=False)
    return model


def mean_operator(edge_index: np.ndarray, n: int) -> sp.csr_matrix:
    """Ā = D⁻¹(A + I) of a homogeneous graph (duplicates count once)."""
    a = sp.coo_matrix((np.ones(edge_index.shape[1]), (edge_index[1], edge_index[0])),
                      shape=(n, n)).tocsr()
    a.data[:] = 1.0
    a = a + sp.eye(n, format="csr")
    a.data[:] = 1.0
    degree = np.asarray(a.sum(axis=1)).ravel()
    return sp.diags(1.0 / degree) @ a


def aggregate_features(x: np.ndarray, operator: Operator) -> np.ndarray:
    """``[X, ĀX, Ā²X]``; ``operator`` is a sparse matrix or a function applying Ā."""
    apply = operator if callable(operator) else (lambda m: operator @ m)
    once = apply(x)
    return np.concatenate([x, once, apply(once)], axis=1)


def shared_identifier_operator(export: GraphExport,
                               config: FeatureConfig) -> Callable[[np.ndarray], np.ndarray]:
    """Ā of the application–application graph implied by shared identifiers, applied without
    forming it: a two-step walk application → identifier → application (mean at each step),
    which includes the application itself (self-loop). Identifiers follow the GNN's cut: used by
    at least two applications and no hub (at most ``hub_degree`` on every relationship)."""
    n = export.n
    rows, cols = [], []
    offset = 0
    for label in ID_LABELS:
        frames = [export.links.get(link.type) for link in links_into(label)]
        frames = [f for f in frames if f is not None and len(f)]
        if not frames:
            continue
        apps = np.concatenate([f["app"].to_numpy(np.int64) for f in frames])
        values = np.concatenate([f["value"].to_numpy(object) for f in frames])
        codes, uniques = pd.factorize(values)
        index = pd.Index(uniques)
        keep = np.ones(len(uniques), dtype=bool)
        for f in frames:  # hub on any relationship
            c = index.get_indexer(f["value"].to_numpy(object))
            keep &= np.bincount(c, minlength=len(uniques)) <= config.hub_degree
        keep &= np.bincount(codes, minlength=len(uniques)) >= 2
        mask = keep[codes]
        rows.append(apps[mask])
        cols.append(codes[mask] + offset)
        offset += len(uniques)
    if not rows:
        return lambda m: m
    b = sp.coo_matrix((np.ones(sum(len(r) for r in rows)),
                       (np.concatenate(rows), np.concatenate(cols))), shape=(n, offset)).tocsr()
    b.data[:] = 1.0
    id_degree = np.asarray(b.sum(axis=0)).ravel()
    app_degree = np.asarray(b.sum(axis=1)).ravel()
    to_ids = sp.diags(np.divide(1.0, id_degree, out=np.zeros_like(id_degree),
                                where=id_degree > 0)) @ b.T.tocsr()
    to_apps = sp.diags(np.divide(1.0, app_degree, out=np.zeros_like(app_degree),
                                 where=app_degree > 0)) @ b
    alone = app_degree == 0

    def apply(m: np.ndarray) -> np.ndarray:
        out = to_apps @ (to_ids @ m)
        out[alone] = m[alone]  # no shared identifier: the self-loop only
        return out

    return apply


class HomogeneousSAGE(nn.Module):
    """PyG's plain :class:`~torch_geometric.nn.models.GraphSAGE`, with the calling convention
    of :class:`~fraudrings.gnn.model.RingSAGE` so the same training loop fits both."""

    def __init__(self, in_channels: int, hidden_channels: int = 64, num_layers: int = 2,
                 dropout: float = 0.2, node_type: str = "node",
                 relation: str = "to") -> None:
        super().__init__()
        self.target, self.num_layers = node_type, num_layers
        self.edge_type = (node_type, relation, node_type)
        self.sage = GraphSAGE(in_channels, hidden_channels, num_layers, out_channels=1,
                              dropout=dropout)

    def reset_parameters(self) -> None:
        self.sage.reset_parameters()

    def forward(self, x_dict: Mapping[str, Tensor], edge_index_dict: Mapping,
                head: Tensor | None = None, num_targets: int | None = None) -> Tensor:
        out = self.sage(x_dict[self.target], edge_index_dict[self.edge_type])
        return out if num_targets is None else out[:num_targets]
