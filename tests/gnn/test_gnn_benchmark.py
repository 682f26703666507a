"""fraudrings.gnn.benchmark / peers / gadbench: the comparison runs and the protocols hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fraudrings.gnn import gadbench
from fraudrings.gnn.benchmark import (
    compare_on_portfolio,
    summarise,
    sweep_scorer,
    training_view,
)
from fraudrings.gnn.benchmark import gadbench as gadbench_benchmark
from fraudrings.gnn.features import FeatureConfig
from fraudrings.gnn.peers import aggregate_features, mean_operator, shared_identifier_operator
from fraudrings.gnn.train import TrainConfig, temporal_split
from fraudrings.graph.export import GraphExport
from fraudrings.loaders.generator import Portfolio

QUICK = TrainConfig(epochs=3, hidden=8)


def test_portfolio_comparison_with_and_without_heuristics(portfolio: Portfolio,
                                                          portfolio_export: GraphExport) -> None:
    skipped = compare_on_portfolio(portfolio, None, config=QUICK, export=portfolio_export)
    assert set(skipped["model"]) == {"GNN (RingSAGE)", "tabular (XGB, own fields)", "XGB-Graph"}
    assert set(skipped["eval"]) == {"test", "unlabelled"}
    assert {"auroc", "ap", "recall_top1pct"} <= set(skipped.columns)

    books: list[pd.DataFrame] = []
    given: list[pd.Series | None] = []

    def heuristics(book: pd.DataFrame) -> Callable[[pd.Series | None], pd.Series]:
        books.append(book)
        rng = np.random.default_rng(len(books))
        noise = pd.Series(rng.random(len(book)), index=book["application_id"].to_numpy())

        def score(gnn: pd.Series | None) -> pd.Series:
            given.append(gnn)
            return noise if gnn is None else (noise + gnn) / 2

        return score

    joint = compare_on_portfolio(portfolio, heuristics, config=QUICK, export=portfolio_export)
    assert set(joint["model"]) == {"GNN (RingSAGE)", "tabular (XGB, own fields)", "XGB-Graph",
                                   "heuristics (sweep, no GNN)",
                                   "GNN + heuristics (sweep score)",
                                   "GNN + heuristics (stacked on val)"}
    assert len(joint) == 12
    # the sweep ran twice: on the book as it stood at training time, then as it is now
    training, production = books
    assert training["is_fraud"].ne("").sum() < production["is_fraud"].ne("").sum()
    assert [g is None for g in given] == [True, False, True, False]
    text = summarise(joint.assign(seed=0), ["eval", "model"], ["ap"])
    assert text["ap"].str.contains("±").all()


def test_training_view_hides_every_later_outcome(portfolio: Portfolio,
                                                 portfolio_export: GraphExport) -> None:
    apps = portfolio_export.applications
    split = temporal_split(apps)
    visible = apps.loc[split.train, "application_id"]
    view = training_view(portfolio.applications, visible)
    known = view.loc[view["is_fraud"] != "", "application_id"]
    assert set(known) <= set(visible)  # nothing from validation, test or later leaks
    assert (view.loc[view["fpd"] != "", "application_id"].isin(set(visible))).all()
    kept = portfolio.applications["application_id"].isin(set(visible))
    assert (view.loc[kept, "is_fraud"] == portfolio.applications.loc[kept, "is_fraud"]).all()


def test_sweep_scorer_is_the_products_score(portfolio: Portfolio, tmp_path: Path) -> None:
    from fraudrings.graph.load import load_batch
    from fraudrings.graph.store import open_store
    from fraudrings.loaders.contract import validate
    from fraudrings.sweep.run import run_sweep

    sweep = sweep_scorer(portfolio.applications)
    alone = sweep(None)
    assert len(alone) == len(portfolio.applications)
    with open_store("ladybug", path=tmp_path / "g.lbug") as store:
        load_batch(store, validate(portfolio.applications))
        product = run_sweep(store, use_gnn=False, write=False).applications
    expected = product.set_index("application_id")["score"]
    assert np.allclose(alone.reindex(expected.index), expected)
    # the GNN's scores are evidence: a high score everywhere can only raise the final score
    high = pd.Series(0.99, index=alone.index)
    assert (sweep(high).reindex(alone.index) >= alone - 1e-9).all()


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
    degree = data.log_degree().exp().round().long().view(-1)
    assert degree.shape == (n,) and int(degree.min()) >= 1
    assert int(degree.sum()) == data.edge_index.size(1)  # every stored edge, self-loops too
    splits = list(data.splits())
    assert len(splits) == 10
    train, val, test = splits[0]
    assert len(set(train) | set(val) | set(test)) == len(train) + len(val) + len(test)
    if name == "reddit":
        assert len(train) == pytest.approx(0.4 * n, abs=2)
        rate = float(data.y.float().mean())
        tested = float(data.y[torch.from_numpy(test)].float().mean())
        assert tested == pytest.approx(rate, abs=0.005)  # stratified


def test_gadbench_runs_three_models_on_the_same_splits() -> None:
    rng = np.random.default_rng(0)
    n = 120
    y = torch.from_numpy((rng.random(n) < 0.2).astype(np.int64))
    x = torch.from_numpy(rng.normal(size=(n, 4)).astype(np.float32)) + y[:, None].float()
    edges = gadbench.prepare_edges(torch.from_numpy(rng.integers(0, n, size=(2, 400))), n)
    index = np.arange(n)

    def splits() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for i in range(2):
            order = np.random.default_rng(i).permutation(index)
            yield np.sort(order[:60]), np.sort(order[60:90]), np.sort(order[90:])

    toy = gadbench.Dataset("toy", x, edges, y, splits)
    table = gadbench_benchmark([toy], splits=2, config=TrainConfig(epochs=2, hidden=8, lr=0.01,
                                                                   pos_weight="none"))
    assert len(table) == 10
    assert set(table["model"]) == {"RingSAGE (project)", "ablation: RingSAGE, one seed",
                                   "ablation: RingSAGE, 3 seeds", "GraphSAGE", "XGB-Graph"}
    assert table["ap"].between(0, 1).all()
    project = table[table["model"] == "RingSAGE (project)"]
    assert set(project["chosen"]) <= {"one seed", "3 seeds"}
    for _, row in project.iterrows():  # the project's row is the variant it chose
        same = table[(table["split"] == row["split"])
                     & (table["model"] == ("ablation: RingSAGE, one seed"
                                           if row["chosen"] == "one seed"
                                           else "ablation: RingSAGE, 3 seeds"))]
        assert same["ap"].iloc[0] == pytest.approx(row["ap"])


def test_gadbench_selection_uses_validation_only(tmp_path: Path) -> None:
    from fraudrings.gnn.benchmark import candidate_name, gadbench_select

    rng = np.random.default_rng(1)
    n = 120
    y = torch.from_numpy((rng.random(n) < 0.2).astype(np.int64))
    x = torch.from_numpy(rng.normal(size=(n, 4)).astype(np.float32)) + y[:, None].float()
    edges = gadbench.prepare_edges(torch.from_numpy(rng.integers(0, n, size=(2, 400))), n)

    def splits() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for i in range(2):
            order = np.random.default_rng(i).permutation(n)
            yield np.sort(order[:60]), np.sort(order[60:90]), np.sort(order[90:])

    toy = gadbench.Dataset("toy", x, edges, y, splits)
    grid = {"base": {}, "1 layer": {"layers": 1}}
    quick = TrainConfig(epochs=2, hidden=8, lr=0.01, pos_weight="none")
    selection, result = gadbench_select([toy], splits=2, grid=grid, ensembles=(1, 2),
                                        config=quick, cache=tmp_path)
    # the selection table: every candidate, validation only, one selected per dataset
    assert list(selection["candidate"]) == [candidate_name(c, k) for c in grid for k in (1, 2)]
    assert not {"ap", "auroc", "rec_at_k"} & set(selection.columns)
    assert (selection["splits"] == 2).all() and selection["selected"].sum() == 1
    best = selection.loc[selection["val_ap_mean"].idxmax(), "candidate"]
    assert selection.loc[selection["selected"], "candidate"].item() == best
    # the result: the selected candidate and the two peers on each split
    assert len(result) == 6
    assert set(result["model"]) == {"RingSAGE (project)", "GraphSAGE", "XGB-Graph"}
    ours = result[result["model"] == "RingSAGE (project)"]
    assert set(ours["chosen"]) == {best}
    assert ours["val_ap"].mean() == pytest.approx(
        selection.loc[selection["selected"], "val_ap_mean"].item())
    assert result["ap"].between(0, 1).all()
    # the cache: one file per split; a second run reads it back unchanged
    assert len(list(tmp_path.glob("toy-*.csv"))) == 2
    again, result_again = gadbench_select([toy], splits=2, grid=grid, ensembles=(1, 2),
                                          config=quick, cache=tmp_path)
    pd.testing.assert_frame_equal(again, selection)
    assert np.allclose(result_again["ap"], result["ap"])
