"""fraudrings.gnn.benchmark / peers / gadbench: the comparison runs and the protocols hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fraudrings.gnn import gadbench
from fraudrings.gnn.benchmark import compare_on_portfolio, summarise
from fraudrings.gnn.features import FeatureConfig
from fraudrings.gnn.peers import aggregate_features, mean_operator, shared_identifier_operator
from fraudrings.gnn.train import TrainConfig
from fraudrings.graph.export import GraphExport
from fraudrings.loaders.generator import Portfolio

QUICK = TrainConfig(epochs=3, hidden=8)


def test_portfolio_comparison_with_and_without_heuristics(portfolio: Portfolio,
                                                          portfolio_export: GraphExport) -> None:
    skipped = compare_on_portfolio(portfolio, None, config=QUICK, export=portfolio_export)
    assert set(skipped["model"]) == {"GNN (RingSAGE)", "tabular (XGB, own fields)", "XGB-Graph"}
    assert set(skipped["eval"]) == {"test", "unlabelled"}
    assert {"auroc", "ap", "recall_top1pct"} <= set(skipped.columns)
    rng = np.random.default_rng(0)
    heuristic = pd.Series(rng.random(portfolio_export.n),
                          index=portfolio_export.applications["application_id"])
    joint = compare_on_portfolio(portfolio, heuristic, config=QUICK, export=portfolio_export)
    assert {"heuristics", "GNN + heuristics"} <= set(joint["model"])
    assert len(joint) == 10
    text = summarise(joint.assign(seed=0), ["eval", "model"], ["ap"])
    assert text["ap"].str.contains("±").all()


def test_mean_operator_has_self_loops_and_rows_summing_to_one() -> None:
    op = mean_operator(np.array([[0, 1, 1], [1, 0, 2]]), 4)
    assert np.allclose(np.asarray(op.sum(axis=1)).ravel(), 1.0)
    assert op[3, 3] == 1.0  # an isolated node keeps its own features
    x = np.arange(8, dtype=float).reshape(4, 2)
    assert aggregate_features(x, op).shape == (4, 6)


def test_shared_identifier_walk(tiny_export: GraphExport, tiny_config: FeatureConfig) -> None:
    walk = shared_identifier_operator(tiny_export, tiny_config)
    ones = walk(np.ones((tiny_export.n, 1)))
    assert np.allclose(ones, 1.0)  # a mean: constants stay constant
    onehot = walk(np.eye(tiny_export.n))
    ring = tiny_export.index_of(pd.Series(["A010", "A025", "A031", "A044"]))
    assert (onehot[ring][:, ring] > 0).all()  # ring members reach each other
    loner = int(tiny_export.index_of(pd.Series(["A001"]))[0])
    assert onehot[loner, loner] == 1.0


@pytest.mark.parametrize("name", gadbench.DATASETS)
def test_gadbench_graphs_follow_the_protocol(name: str) -> None:
    data = gadbench.load(name)
    n = len(data.y)
    src, dst = data.edge_index
    assert (src == dst).sum() == n  # one self-loop each
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    assert len(pairs) == data.edge_index.size(1)  # no duplicates
    assert all((d, s) in pairs for s, d in list(pairs)[:2000])  # undirected
    splits = list(data.splits())
    assert len(splits) == 10
    train, val, test = splits[0]
    assert len(set(train) | set(val) | set(test)) == len(train) + len(val) + len(test)
    if name == "reddit":
        assert len(train) == pytest.approx(0.4 * n, abs=2)
        rate = float(data.y.float().mean())
        tested = float(data.y[torch.from_numpy(test)].float().mean())
        assert tested == pytest.approx(rate, abs=0.005)  # stratified
