"""Training on post-loan outcomes with a temporal split.

The labelled applications (``is_fraud`` known) are cut by time: the oldest ``1 - val - test``
share trains, the next share validates (early stopping on average precision, the threshold) and
the newest labelled share tests. Applications whose outcome is not known yet are never a
target. ``fpd`` (first-payment default) is a weaker, noisier signal of fraud and is learnt as a
down-weighted auxiliary output. Both losses are class-weighted: fraud is ~2 % of a book.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor
from torch_geometric.data import HeteroData
from torch_geometric.loader import NodeLoader

from fraudrings.gnn.checkpoint import Checkpoint, model_config
from fraudrings.gnn.data import Normaliser, in_channels, to_hetero_data
from fraudrings.gnn.features import (
    DAY,
    FeatureConfig,
    GraphFeatures,
    build_features,
    head_columns,
    product_vocabulary,
    time_rank,
)
from fraudrings.gnn.metrics import average_precision, best_f1_threshold, ranking_metrics
from fraudrings.gnn.model import RingSAGE
from fraudrings.gnn.relations import EDGE_TYPES, NODE_TYPES
from fraudrings.gnn.sampler import ReceptiveFieldSampler
from fraudrings.graph.export import GraphExport

Log = Callable[[str], None]


@dataclass
class TrainConfig:
    hidden: int = 64
    layers: int = 2
    dropout: float = 0.2
    aggr: str = "mean"
    lr: float = 3e-3
    weight_decay: float = 1e-4
    epochs: int = 150
    patience: int = 25
    fpd_weight: float = 0.3  # the auxiliary first-payment-default loss, relative to fraud's
    pos_weight: str = "sqrt"  # "balanced" (negatives / positives), "sqrt" of it, or "none"
    # None: full-batch up to ``full_batch_max`` applications, sampled batches of 4096 above;
    # an int: always sampled batches of that many seed applications. Measured (bench/gnn.py
    # scale; 30k and 100k books): the same AP either way, sampled reaches its best epoch
    # sooner, full-batch needs ~2x the memory (2.6 GB against 1.7 GB at 100k) and would not
    # fit 1M.
    batch_size: int | None = None
    full_batch_max: int = 200_000
    val_share: float = 0.15
    test_share: float = 0.15
    seed: int = 0
    device: str = "auto"

    def batch_for(self, applications: int) -> int | None:
        """The mini-batch size for a book of this size (None: full-batch)."""
        if self.batch_size is None and applications > self.full_batch_max:
            return 4096
        return self.batch_size

    def hyper(self) -> dict[str, Any]:
        """The model's hyper-parameters (what a checkpoint must rebuild it with)."""
        return {"hidden_channels": self.hidden, "num_layers": self.layers,
                "dropout": self.dropout, "aggr": self.aggr, "out_channels": 2}


@dataclass
class Split:
    """Boolean masks over the export's applications."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    unlabelled: np.ndarray

    def summary(self) -> dict[str, int]:
        return {k: int(v.sum()) for k, v in asdict(self).items()}


@dataclass
class FitResult:
    best_epoch: int
    best_val_ap: float
    history: list[dict[str, float]]
    seconds_per_epoch: float
    peak_rss_mb: float = float("nan")


@dataclass
class TrainResult:
    checkpoint: Checkpoint
    split: Split
    fit: FitResult
    features: GraphFeatures
    data: HeteroData
    metrics: dict[str, Any] = field(default_factory=dict)


def temporal_split(apps: pd.DataFrame, val_share: float = 0.15,
                   test_share: float = 0.15) -> Split:
    """Cut the labelled applications by time (oldest train, then validation, newest test)."""
    labelled = apps["is_fraud"].notna().to_numpy()
    rank = time_rank(apps)
    order = np.flatnonzero(labelled)[np.argsort(rank[labelled], kind="stable")]
    n = len(order)
    n_test = int(round(test_share * n))
    n_val = int(round(val_share * n))
    masks = [np.zeros(len(apps), dtype=bool) for _ in range(3)]
    masks[0][order[: n - n_val - n_test]] = True
    masks[1][order[n - n_val - n_test: n - n_test]] = True
    masks[2][order[n - n_test:]] = True
    return Split(*masks, unlabelled=~labelled)


def estimate_label_lag(apps: pd.DataFrame) -> int:
    """How long outcomes take to come back: the newest application minus the newest one with
    a known outcome, in whole days (0 when everything or nothing is labelled)."""
    t = apps["applied_at"].to_numpy(dtype=np.int64)
    labelled = apps["is_fraud"].notna().to_numpy()
    if not labelled.any() or labelled.all():
        return 0
    return int((t.max() - t[labelled].max()) // DAY * DAY)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def class_weight(y: Tensor, mode: str) -> Tensor | None:
    """``pos_weight`` of BCE for labels ``y`` (NaN = unknown)."""
    known = y[~torch.isnan(y)]
    pos = float(known.sum())
    neg = float(len(known) - pos)
    if mode == "none" or pos == 0 or neg == 0:
        return None
    ratio = neg / pos
    return torch.tensor(math.sqrt(ratio) if mode == "sqrt" else ratio)


def _bce(logit: Tensor, y: Tensor, pos_weight: Tensor | None) -> Tensor:
    known = ~torch.isnan(y)
    if not bool(known.any()):
        return logit.sum() * 0.0
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logit[known], y[known], pos_weight=pos_weight)


def predict(model: RingSAGE, data: HeteroData, device: torch.device | None = None) -> Tensor:
    """Fraud logits of every target node (no gradients, eval mode)."""
    device = device or next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        head = data[model.target].get("head")
        out = model({k: v.to(device) for k, v in data.x_dict.items()},
                    {k: v.to(device) for k, v in data.edge_index_dict.items()},
                    head.to(device) if head is not None else None)
    return out[:, 0].cpu()


def fit_model(model: RingSAGE, data: HeteroData, labels: Tensor, aux: Tensor | None,
              train_idx: Tensor, val_idx: Tensor, config: TrainConfig,
              log: Log | None = None) -> FitResult:
    """Train ``model`` in place on ``labels[train_idx]`` (and the auxiliary ``aux``), keep the
    weights of the epoch with the best validation average precision.

    Full-batch, or sampled mini-batches of seeds (``config.batch_for``) through
    PyG's ``NodeLoader`` and :class:`ReceptiveFieldSampler`.
    """
    seed_everything(config.seed)
    device = pick_device(config.device)
    model.to(device)
    target = model.target
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr,
                                  weight_decay=config.weight_decay)
    weight = class_weight(labels[train_idx], config.pos_weight)
    aux_weight = class_weight(aux[train_idx], config.pos_weight) if aux is not None else None
    weight = weight.to(device) if weight is not None else None
    aux_weight = aux_weight.to(device) if aux_weight is not None else None
    y_val = labels[val_idx].numpy()
    val_known = ~np.isnan(y_val)

    def loss_of(out: Tensor, rows: Tensor) -> Tensor:
        loss = _bce(out[:, 0], labels[rows].to(device), weight)
        if aux is not None and out.size(1) > 1 and config.fpd_weight > 0:
            loss = loss + config.fpd_weight * _bce(out[:, 1], aux[rows].to(device), aux_weight)
        return loss

    batch_size = config.batch_for(data[target].num_nodes)
    if batch_size:
        generator = torch.Generator().manual_seed(config.seed)
        loader = NodeLoader(data, ReceptiveFieldSampler(data, model.num_layers, target),
                            input_nodes=(target, train_idx), batch_size=batch_size,
                            shuffle=True, generator=generator)
    else:
        x = {k: v.to(device) for k, v in data.x_dict.items()}
        edges = {k: v.to(device) for k, v in data.edge_index_dict.items()}
        head = data[target].get("head")
        head = head.to(device) if head is not None else None

    best = (-np.inf, -1, copy.deepcopy(model.state_dict()))
    history: list[dict[str, float]] = []
    seconds = []
    for epoch in range(config.epochs):
        started = time.perf_counter()
        model.train()
        losses = []
        if batch_size:
            for batch in loader:
                n = batch[target].batch_size
                optimiser.zero_grad()
                batch_head = batch[target].get("head")
                out = model({k: v.to(device) for k, v in batch.x_dict.items()},
                            {k: v.to(device) for k, v in batch.edge_index_dict.items()},
                            batch_head.to(device) if batch_head is not None else None,
                            num_targets=n)
                loss = loss_of(out, batch[target].n_id[:n])
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()))
        else:
            optimiser.zero_grad()
            out = model(x, edges, head)
            loss = loss_of(out[train_idx.to(device)], train_idx)
            loss.backward()
            optimiser.step()
            losses.append(float(loss.detach()))
        seconds.append(time.perf_counter() - started)
        val_logit = predict(model, data, device)[val_idx]
        val_ap = average_precision(y_val[val_known], val_logit.numpy()[val_known])
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_ap": val_ap,
                        "seconds": seconds[-1]})
        if log:
            log(f"epoch {epoch:3d}  loss {np.mean(losses):.4f}  val AP {val_ap:.4f}")
        # a validation window without fraud has no AP: select on its (negated) loss instead
        criterion = val_ap if not np.isnan(val_ap) else -float(
            _bce(val_logit, labels[val_idx], weight.cpu() if weight is not None else None))
        if criterion > best[0]:
            best = (criterion, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= config.patience:
            break
    model.load_state_dict(best[2])
    model.eval()
    return FitResult(best_epoch=best[1], best_val_ap=history[best[1]]["val_ap"], history=history,
                     seconds_per_epoch=float(np.mean(seconds)) if seconds else 0.0,
                     peak_rss_mb=peak_rss_mb())


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux: kilobytes in ru_maxrss)."""
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except (ImportError, OSError):  # not on every platform
        return float("nan")


def outcome_tensor(values: pd.Series) -> Tensor:
    """1 / 0 / NaN (unknown) as float32."""
    return torch.tensor(values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan),
                        dtype=torch.float32)


def train_gnn(export: GraphExport, config: TrainConfig | None = None,
              feature_config: FeatureConfig | None = None,
              log: Log | None = None) -> TrainResult:
    """Train the project's GNN on the labelled applications of ``export``.

    Labels reach the features only through the training split (``visible``), so validation
    and test are honest. Returns the checkpoint (not yet saved) with validation and test
    metrics; the threshold is the validation F1 optimum.
    """
    config = config or TrainConfig()
    apps = export.applications
    split = temporal_split(apps, config.val_share, config.test_share)
    if split.train.sum() == 0 or split.val.sum() == 0:
        raise ValueError("too few applications with known outcomes (is_fraud) to train on")
    if apps.loc[split.train, "is_fraud"].astype(int).sum() == 0:
        raise ValueError("no confirmed fraud among the training applications")
    if feature_config is None:
        feature_config = FeatureConfig(products=product_vocabulary(apps.loc[split.train,
                                                                            "product"]),
                                       label_lag=estimate_label_lag(apps))
    features = build_features(export, feature_config, visible=split.train)
    norm = Normaliser.fit(features, rows=split.train)
    data = to_hetero_data(features, norm)
    seed_everything(config.seed)
    hyper = model_config(in_channels(norm), len(head_columns()), **config.hyper())
    model = RingSAGE((NODE_TYPES, EDGE_TYPES), **hyper)
    labels, aux = outcome_tensor(apps["is_fraud"]), outcome_tensor(apps["fpd"])
    train_idx = torch.from_numpy(np.flatnonzero(split.train))
    val_idx = torch.from_numpy(np.flatnonzero(split.val))
    fit = fit_model(model, data, labels, aux, train_idx, val_idx, config, log)

    probability = torch.sigmoid(predict(model, data)).numpy()
    y = apps["is_fraud"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    threshold = best_f1_threshold(y[split.val], probability[split.val])
    metrics: dict[str, Any] = {
        "split": split.summary(),
        "best_epoch": fit.best_epoch,
        "seconds_per_epoch": fit.seconds_per_epoch,
    }
    for name in ("val", "test"):
        mask = getattr(split, name)
        metrics[name] = ranking_metrics(y[mask], probability[mask])
    checkpoint = Checkpoint(
        model_config=hyper,
        feature_config=feature_config,
        normaliser=norm,
        state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()},
        threshold=threshold,
        metrics=metrics,
    )
    checkpoint._model = model.cpu().eval()
    return TrainResult(checkpoint=checkpoint, split=split, fit=fit, features=features,
                       data=data, metrics=metrics)
