"""The GNN beside its peers, in the same run, on the same splits (``bench/gnn.py``, the CLI).

* :func:`compare_on_portfolio` — a generated portfolio, temporal split: the GNN, a tabular
  model on the application's own fields, XGB-Graph, the heuristics alone and GNN + heuristics
  (these two only when the caller passes heuristic scores), scored against the *true* labels on
  the newest labelled applications (features see training outcomes only) and on the newest
  applications whose outcome is not known yet (features see every known outcome, as in
  production).
* :func:`gadbench` — Tolokers and Reddit under GADBench's protocol: the project's model on the
  homogeneous graph, plain GraphSAGE and XGB-Graph, mean ± std over the splits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from fraudrings.gnn import gadbench as gb
from fraudrings.gnn.features import build_features
from fraudrings.gnn.metrics import ranking_metrics
from fraudrings.gnn.model import RingSAGE
from fraudrings.gnn.peers import (
    HomogeneousSAGE,
    aggregate_features,
    fit_xgb,
    mean_operator,
    shared_identifier_operator,
)
from fraudrings.gnn.score import score_book
from fraudrings.gnn.train import TrainConfig, fit_model, predict, seed_everything, train_gnn
from fraudrings.graph.export import GraphExport

Log = Callable[[str], None]
EVAL_SETS = ("test", "unlabelled")
#: Both GNNs on GADBench: the same optimiser, epochs and selection (validation AUPRC).
GADBENCH_CONFIG = TrainConfig(lr=0.01, epochs=150, patience=40, dropout=0.1, pos_weight="none")


def _quiet(_: str) -> None:
    pass


def export_of(portfolio: Any) -> GraphExport:
    """The export a store would give for a generated portfolio (no store needed)."""
    from fraudrings.graph.export import export_rows
    from fraudrings.loaders.contract import validate

    return export_rows(validate(portfolio.applications).rows)


def compare_on_portfolio(portfolio: Any, heuristic_scores: pd.Series | None = None, *,
                         config: TrainConfig | None = None, export: GraphExport | None = None,
                         log: Log = _quiet) -> pd.DataFrame:
    """One row per (model, evaluation set) with AUROC, AP and recall in the top 1 %.

    ``heuristic_scores``: the sweep's per-application heuristic score indexed by
    ``application_id`` (higher = riskier); without it the heuristic rows are skipped.
    """
    config = config or TrainConfig()
    export = export if export is not None else export_of(portfolio)
    apps = export.applications
    truth = (portfolio.labels.set_index("application_id")["true_fraud"]
             .reindex(apps["application_id"]).fillna(0).astype(int).to_numpy())
    y = apps["is_fraud"].to_numpy(dtype=np.float64, na_value=np.nan)

    started = time.perf_counter()
    result = train_gnn(export, config)
    gnn_seconds = time.perf_counter() - started
    split, fcfg = result.split, result.checkpoint.feature_config
    log(f"GNN trained in {gnn_seconds:.0f}s (best epoch {result.fit.best_epoch})")
    # training-time view (only training outcomes visible) and production view (all known)
    seen = {"test": torch.sigmoid(predict(result.checkpoint.model(), result.data)).numpy(),
            "unlabelled": score_book(export, result.checkpoint).to_numpy()}
    scores: dict[str, dict[str, np.ndarray]] = {"GNN (RingSAGE)": seen}

    started = time.perf_counter()
    own = result.features.app_x
    tabular = fit_xgb(own[split.train], y[split.train], own[split.val], y[split.val],
                      seed=config.seed)
    tab = tabular.predict_proba(own)[:, 1]
    scores["tabular (XGB, own fields)"] = {"test": tab, "unlabelled": tab}
    log(f"tabular peer in {time.perf_counter() - started:.0f}s")

    started = time.perf_counter()
    operator = shared_identifier_operator(export, fcfg)
    production = build_features(export, fcfg)
    x_train = aggregate_features(np.hstack([result.features.app_x, result.features.head_x]),
                                 operator)
    x_prod = aggregate_features(np.hstack([production.app_x, production.head_x]), operator)
    xgb_graph = fit_xgb(x_train[split.train], y[split.train], x_train[split.val],
                        y[split.val], seed=config.seed)
    scores["XGB-Graph"] = {"test": xgb_graph.predict_proba(x_train)[:, 1],
                           "unlabelled": xgb_graph.predict_proba(x_prod)[:, 1]}
    log(f"XGB-Graph peer in {time.perf_counter() - started:.0f}s")

    if heuristic_scores is not None:
        h = (heuristic_scores.reindex(apps["application_id"]).fillna(0.0)
             .to_numpy(dtype=np.float64))
        scores["heuristics"] = {"test": h, "unlabelled": h}
        scores["GNN + heuristics"] = _stack(seen, h, y, split.val)
    else:
        log("heuristics and GNN + heuristics skipped: no heuristic scores given")

    rows = []
    for model, by_set in scores.items():
        for name in EVAL_SETS:
            mask = split.test if name == "test" else split.unlabelled
            rows.append({"model": model, "eval": name,
                         **ranking_metrics(truth[mask], by_set[name][mask])})
    table = pd.DataFrame(rows)
    table.attrs["gnn_seconds"] = gnn_seconds
    table.attrs["best_epoch"] = result.fit.best_epoch
    return table


def _stack(gnn: dict[str, np.ndarray], heuristic: np.ndarray, y: np.ndarray,
           val: np.ndarray) -> dict[str, np.ndarray]:
    """GNN + heuristics: a logistic regression on [logit(gnn), heuristic] fitted on the
    validation applications' outcomes (no evaluation label is used)."""
    from sklearn.linear_model import LogisticRegression

    def design(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.stack([np.log(p / (1 - p)), heuristic], axis=1)

    known = val & ~np.isnan(y)
    model = LogisticRegression(class_weight="balanced", max_iter=1000)
    model.fit(design(gnn["test"])[known], y[known].astype(int))
    return {name: model.predict_proba(design(gnn[name]))[:, 1] for name in EVAL_SETS}


def portfolio_benchmark(n: int = 30_000, seeds: Iterable[int] = (0, 1, 2), *,
                        heuristics: Callable[[Any], pd.Series] | None = None,
                        config: TrainConfig | None = None, difficulty: float = 1.0,
                        log: Log = _quiet) -> pd.DataFrame:
    """:func:`compare_on_portfolio` over several generated portfolios; ``heuristics`` maps a
    portfolio to its heuristic scores (None: skip those rows)."""
    from fraudrings.loaders.generator import generate_portfolio

    tables = []
    for seed in seeds:
        portfolio = generate_portfolio(n, seed=seed, difficulty=difficulty)
        log(f"portfolio seed {seed}: {n:,} applications")
        scores = heuristics(portfolio) if heuristics else None
        table = compare_on_portfolio(portfolio, scores, config=config, log=log)
        tables.append(table.assign(seed=seed))
    return pd.concat(tables, ignore_index=True)


def summarise(table: pd.DataFrame, by: list[str], metrics: Iterable[str]) -> pd.DataFrame:
    """mean ± std of each metric per group, as strings."""
    out = table.groupby(by, sort=False)[list(metrics)].agg(["mean", "std"])
    text = pd.DataFrame(index=out.index)
    for metric in metrics:
        mean, std = out[(metric, "mean")], out[(metric, "std")].fillna(0.0)
        text[metric] = [f"{m:.4f} ± {s:.4f}" for m, s in zip(mean, std, strict=True)]
    return text.reset_index()


# -- GADBench ---------------------------------------------------------------------------------


def gadbench(datasets: Iterable[str] = gb.DATASETS, splits: int = 5, *,
             config: TrainConfig | None = None, log: Log = _quiet) -> pd.DataFrame:
    """One row per (dataset, split, model): test AUROC, AUPRC, Rec@K, fit seconds."""
    config = config or GADBENCH_CONFIG
    rows = []
    for name in datasets:
        data = gb.load(name)
        for i, (train, val, test) in enumerate(data.splits()):
            if i >= splits:
                break
            rows += _gadbench_split(data, i, train, val, test, config, log)
    return pd.DataFrame(rows)


def _gadbench_split(data: gb.Dataset, index: int, train: np.ndarray, val: np.ndarray,
                    test: np.ndarray, config: TrainConfig, log: Log) -> list[dict]:
    y = data.y.numpy()
    mean = data.x[train].mean(0)
    std = data.x[train].std(0).clamp_min(1e-6)
    hetero = data.hetero()
    hetero[gb.NODE].x = (data.x - mean) / std
    labels = data.y.float()
    train_t, val_t = torch.from_numpy(train), torch.from_numpy(val)
    models: dict[str, Callable[[], torch.nn.Module]] = {
        "RingSAGE (project)": lambda: RingSAGE(
            ([gb.NODE], [gb.EDGE]), {gb.NODE: data.x.size(1)}, target=gb.NODE,
            hidden_channels=config.hidden, num_layers=config.layers, out_channels=1,
            dropout=config.dropout, aggr=config.aggr),
        "GraphSAGE": lambda: HomogeneousSAGE(data.x.size(1), config.hidden, config.layers,
                                             config.dropout),
    }
    rows = []
    for model_name, build in models.items():
        seed_everything(config.seed + index)
        model = build()
        started = time.perf_counter()
        fit = fit_model(model, hetero, labels, None, train_t, val_t,
                        replace(config, seed=config.seed + index))
        score = predict(model, hetero).numpy()
        rows.append(_gadbench_row(data.name, index, model_name, y[test], score[test],
                                  time.perf_counter() - started, fit.best_epoch))
        log(f"{data.name} split {index} {model_name}: AUPRC {rows[-1]['ap']:.4f}")
    started = time.perf_counter()
    x = aggregate_features(data.x.numpy().astype(np.float64),
                           mean_operator(data.edge_index.numpy(), len(y)))
    trees = fit_xgb(x[train], y[train], x[val], y[val], seed=config.seed + index)
    score = trees.predict_proba(x)[:, 1]
    rows.append(_gadbench_row(data.name, index, "XGB-Graph", y[test], score[test],
                              time.perf_counter() - started, -1))
    log(f"{data.name} split {index} XGB-Graph: AUPRC {rows[-1]['ap']:.4f}")
    return rows


def _gadbench_row(dataset: str, split: int, model: str, y: np.ndarray, score: np.ndarray,
                  seconds: float, best_epoch: int) -> dict:
    metrics = ranking_metrics(y, score)
    return {"dataset": dataset, "split": split, "model": model, "auroc": metrics["auroc"],
            "ap": metrics["ap"], "rec_at_k": metrics["rec_at_k"], "seconds": seconds,
            "best_epoch": best_epoch}


# -- scale ------------------------------------------------------------------------------------


def training_cost(n: int, batch_size: int | None, epochs: int = 2, seed: int = 0,
                  hidden: int = 64) -> dict[str, float]:
    """Seconds per training epoch (validation excluded) and this process's peak memory when
    training on a generated book of ``n`` applications, full-batch or sampled. Run it in a
    fresh process for a peak that is its own."""
    from fraudrings.gnn.train import peak_rss_mb
    from fraudrings.loaders.generator import generate_portfolio

    started = time.perf_counter()
    export = export_of(generate_portfolio(n, seed=seed))
    before = peak_rss_mb()
    config = TrainConfig(epochs=epochs, patience=epochs + 1, batch_size=batch_size, hidden=hidden,
                         seed=seed, full_batch_max=10**9)  # None here means full-batch
    result = train_gnn(export, config)
    return {"applications": n, "mode": "full-batch" if batch_size is None else
            f"sampled ({batch_size})", "seconds_per_epoch": result.fit.seconds_per_epoch,
            "peak_rss_mb": result.fit.peak_rss_mb, "rss_before_training_mb": before,
            "total_s": time.perf_counter() - started,
            "nodes": int(sum(result.features.num_nodes.values())),
            "edges": int(sum(e.shape[1] for e in result.features.edges.values()))}


def scoring_cost(n: int, latency_samples: int = 200, seed: int = 0, epochs: int = 3,
                 log: Log = _quiet) -> dict[str, float]:
    """Batch scoring throughput and single-application latency on a LadybugDB holding a
    generated book of ``n`` applications (a quickly trained model: cost, not quality)."""
    import shutil
    import tempfile
    from pathlib import Path

    from fraudrings.gnn.score import score_application
    from fraudrings.graph.export import export_graph
    from fraudrings.graph.load import load_batch
    from fraudrings.graph.store import open_store
    from fraudrings.loaders.contract import validate
    from fraudrings.loaders.generator import generate_portfolio

    portfolio = generate_portfolio(n, seed=seed)
    folder = Path(tempfile.mkdtemp())
    try:
        store = open_store("ladybug", path=folder / "book.lbug")
        started = time.perf_counter()
        load_batch(store, validate(portfolio.applications))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        export = export_graph(store)
        export_s = time.perf_counter() - started
        checkpoint = train_gnn(export, TrainConfig(epochs=epochs, seed=seed)).checkpoint
        started = time.perf_counter()
        scores = score_book(export, checkpoint)
        score_s = time.perf_counter() - started
        log(f"scored {len(scores):,} applications in {score_s:.1f}s")
        rng = np.random.default_rng(seed)
        ids = rng.choice(export.applications["application_id"].to_numpy(), latency_samples,
                         replace=False)
        fetch_ms, model_ms, total_ms, cpu_ms = [], [], [], []
        for application_id in ids:
            started, cpu = time.perf_counter(), time.process_time()
            one = score_application(store, application_id, checkpoint)
            total_ms.append((time.perf_counter() - started) * 1000)
            # CPU time of this process: what a request costs when the cores are not shared
            cpu_ms.append((time.process_time() - cpu) * 1000)
            fetch_ms.append(one.fetch_ms)
            model_ms.append(one.model_ms)
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"applications": n, "load_s": load_s, "export_s": export_s,
            "score_book_s": score_s, "score_book_per_s": n / score_s,
            "latency_total_median_ms": float(np.median(total_ms)),
            "latency_total_p99_ms": float(np.percentile(total_ms, 99)),
            "cpu_per_application_median_ms": float(np.median(cpu_ms)),
            "cpu_per_application_p99_ms": float(np.percentile(cpu_ms, 99)),
            "fetch_median_ms": float(np.median(fetch_ms)),
            "fetch_p99_ms": float(np.percentile(fetch_ms, 99)),
            "model_median_ms": float(np.median(model_ms)),
            "model_p99_ms": float(np.percentile(model_ms, 99))}
