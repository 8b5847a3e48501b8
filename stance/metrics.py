"""Pure metric functions over label ids, probabilities and logits (numpy in, numbers out)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from stance.labels import LABELS


def confusion_matrix(gold: np.ndarray, predicted: np.ndarray, n_labels: int = len(LABELS)) -> np.ndarray:
    """Rows are gold labels, columns predicted labels."""
    matrix = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(gold), np.asarray(predicted)), 1)
    return matrix


def per_label_scores(matrix: np.ndarray) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label; 0 where a ratio has no denominator."""
    true_pos = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0)
    support = matrix.sum(axis=1)
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, support, out=np.zeros_like(true_pos), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(true_pos), where=both > 0)
    return {
        label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for label, p, r, f, s in zip(LABELS, precision, recall, f1, support)
    }


def macro_f1(matrix: np.ndarray) -> float:
    return float(np.mean([s["f1"] for s in per_label_scores(matrix).values()]))


def accuracy(matrix: np.ndarray) -> float:
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else 0.0


def bootstrap_macro_f1(
    gold: np.ndarray, predicted: np.ndarray, rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """A 95% percentile bootstrap interval for macro-F1, resampling sentences."""
    rng = np.random.default_rng(seed)
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    scores = []
    for _ in range(rounds):
        sample = rng.integers(0, len(gold), len(gold))
        scores.append(macro_f1(confusion_matrix(gold[sample], predicted[sample])))
    low, high = np.percentile(scores, [2.5, 97.5])
    return float(low), float(high)


def calibration_bins(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Per confidence bin: mean confidence, accuracy and count of the top prediction."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(gold)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        rows.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "confidence": float(confidence[inside].mean()) if count else 0.0,
                "accuracy": float(correct[inside].mean()) if count else 0.0,
                "count": count,
            }
        )
    return rows


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean gap between confidence and accuracy over equal-width bins."""
    rows = calibration_bins(probs, gold, bins)
    total = sum(r["count"] for r in rows)
    if not total:
        return 0.0
    return float(sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / total)


def log_loss(logits: np.ndarray, gold: np.ndarray, temperature: float = 1.0) -> float:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(gold)), np.asarray(gold)].mean())


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The temperature in [0.05, 20] that minimises the negative log-likelihood of `gold`."""
    result = minimize_scalar(
        lambda log_t: log_loss(logits, gold, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(result.x))
