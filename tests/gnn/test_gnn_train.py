"""fraudrings.gnn.train: the temporal split, learning, reproducibility, both batch modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fraudrings.gnn.features import time_rank
from fraudrings.gnn.train import TrainConfig, estimate_label_lag, temporal_split, train_gnn
from fraudrings.graph.export import GraphExport

QUICK = TrainConfig(epochs=12, patience=100, hidden=16, seed=3)


def test_temporal_split_orders_by_time(portfolio_export: GraphExport) -> None:
    apps = portfolio_export.applications
    split = temporal_split(apps, val_share=0.15, test_share=0.15)
    rank = time_rank(apps)
    labelled = apps["is_fraud"].notna().to_numpy()
    assert not (split.train & split.val).any() and not (split.val & split.test).any()
    assert ((split.train | split.val | split.test) == labelled).all()
    assert (split.unlabelled == ~labelled).all()
    assert rank[split.train].max() < rank[split.val].min()
    assert rank[split.val].max() < rank[split.test].min()
    assert split.val.sum() == pytest.approx(0.15 * labelled.sum(), abs=1)


def test_label_lag_is_estimated_from_the_unlabelled_tail(portfolio_export: GraphExport) -> None:
    lag = estimate_label_lag(portfolio_export.applications)
    assert 55 * 86_400 <= lag <= 61 * 86_400  # the generator's outcomes take 60 days


def test_training_reduces_the_loss_and_is_reproducible(portfolio_export: GraphExport) -> None:
    first = train_gnn(portfolio_export, QUICK)
    losses = [h["loss"] for h in first.fit.history]
    assert losses[-1] < 0.8 * losses[0]
    assert 0 < first.checkpoint.threshold < 1
    assert first.metrics["val"]["ap"] > first.metrics["val"]["positives"] / first.metrics[
        "val"]["n"]  # better than chance
    again = train_gnn(portfolio_export, QUICK)
    assert [h["loss"] for h in again.fit.history] == losses
    for name, tensor in first.checkpoint.state_dict.items():
        assert torch.equal(tensor, again.checkpoint.state_dict[name])


def test_sampled_mini_batches_learn_too(portfolio_export: GraphExport) -> None:
    sampled = train_gnn(portfolio_export, TrainConfig(epochs=4, patience=100, hidden=16,
                                                      batch_size=256))
    losses = [h["loss"] for h in sampled.fit.history]
    assert losses[-1] < losses[0]


def test_refuses_a_book_without_outcomes(portfolio_export: GraphExport) -> None:
    apps = portfolio_export.applications.assign(is_fraud=pd.array([pd.NA] * portfolio_export.n,
                                                                  dtype="Int64"))
    with pytest.raises(ValueError, match="known outcomes"):
        train_gnn(GraphExport(apps, portfolio_export.links), QUICK)


def test_class_weight_modes() -> None:
    from fraudrings.gnn.train import class_weight

    y = torch.tensor([1.0, 0.0, 0.0, 0.0, float("nan")])
    assert float(class_weight(y, "balanced")) == pytest.approx(3.0)
    assert float(class_weight(y, "sqrt")) == pytest.approx(np.sqrt(3.0))
    assert class_weight(y, "none") is None
