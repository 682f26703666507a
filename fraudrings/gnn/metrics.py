"""Ranking metrics of anomaly detection (GADBench's, plus the lender's top-1 % recall)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def recall_at(y: np.ndarray, score: np.ndarray, k: int) -> float:
    """Share of the positives among the ``k`` highest scores (ties broken by position)."""
    y = np.asarray(y)
    positives = int(y.sum())
    if positives == 0 or k <= 0:
        return float("nan")
    top = np.argsort(-np.asarray(score), kind="stable")[:k]
    return float(y[top].sum() / positives)


def ranking_metrics(y: np.ndarray, score: np.ndarray, top_share: float = 0.01) -> dict[str, float]:
    """AUROC, average precision, recall in the top ``top_share`` of the ranking and GADBench's
    Rec@K (K = number of positives). NaN where a metric is undefined (one class only)."""
    y = np.asarray(y).astype(int)
    score = np.asarray(score, dtype=np.float64)
    both = 0 < y.sum() < len(y)
    return {
        "auroc": float(roc_auc_score(y, score)) if both else float("nan"),
        "ap": float(average_precision_score(y, score)) if both else float("nan"),
        "recall_top1pct": recall_at(y, score, max(1, int(round(top_share * len(y))))),
        "rec_at_k": recall_at(y, score, int(y.sum())),
        "n": int(len(y)),
        "positives": int(y.sum()),
    }


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    y = np.asarray(y).astype(int)
    if not 0 < y.sum() < len(y):
        return float("nan")
    return float(average_precision_score(y, score))


def best_f1_threshold(y: np.ndarray, probability: np.ndarray) -> float:
    """The probability cut that maximises F1 (0.5 when there is no positive to find)."""
    y = np.asarray(y).astype(int)
    if y.sum() == 0:
        return 0.5
    order = np.argsort(-probability, kind="stable")
    hits = np.cumsum(y[order])
    precision = hits / np.arange(1, len(y) + 1)
    recall = hits / y.sum()
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    best = int(np.argmax(f1))
    return float(probability[order][best])
