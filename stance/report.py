"""Readable forms of an evaluation: the markdown report and the two pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stance.labels import LABELS


def render_markdown(report: dict[str, Any]) -> str:
    model = report["model"]
    low, high = model["macro_f1_ci95"]
    lines = [
        "# Evaluation report",
        "",
        f"Data: `{report.get('data') or 'n/a'}`, {model['n']} sentences.",
        "",
        f"- macro-F1: **{model['macro_f1']:.4f}** (bootstrap 95% CI {low:.4f}-{high:.4f})",
        f"- accuracy: {model['accuracy']:.4f}",
        f"- expected calibration error (10 bins): {model['expected_calibration_error']:.4f}",
        "",
        "## Per label",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label, s in model["per_label"].items():
        lines.append(
            f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        )
    lines += ["", "## Compared with baselines", "", comparison_table(report), ""]
    lines += ["## Confusion matrix (rows gold, columns predicted)", "", confusion_table(model), ""]
    lines += ["![confusion matrix](confusion.png)", "", "![reliability diagram](calibration.png)", ""]
    lines += ["Misclassified sentences, most confident first: `errors.jsonl`.", ""]
    return "\n".join(lines)


def comparison_table(report: dict[str, Any]) -> str:
    """Macro-F1 with its interval and F1 per label, the fine-tuned model beside the baselines."""
    header = "| method | macro-F1 (95% CI) | " + " | ".join(LABELS) + " |"
    rows = [header, "|---" * (len(LABELS) + 2) + "|"]
    for name, result in [("fine-tuned model", report["model"]), *report["baselines"].items()]:
        low, high = result["macro_f1_ci95"]
        f1s = " | ".join(f"{result['per_label'][label]['f1']:.3f}" for label in LABELS)
        rows.append(f"| {name} | {result['macro_f1']:.3f} ({low:.3f}-{high:.3f}) | {f1s} |")
    return "\n".join(rows)


def confusion_table(model: dict[str, Any]) -> str:
    matrix = model["confusion_matrix"]["rows_gold_columns_predicted"]
    rows = ["| gold \\ predicted | " + " | ".join(LABELS) + " |", "|---" * (len(LABELS) + 1) + "|"]
    for label, counts in zip(LABELS, matrix):
        rows.append(f"| {label} | " + " | ".join(str(c) for c in counts) + " |")
    return "\n".join(rows)


def plot_confusion(matrix: np.ndarray, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.4))
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS, rotation=30, ha="right")
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            color = "white" if shares[i, j] > 0.5 else "black"
            ax.text(j, i, f"{matrix[i, j]}\n{shares[i, j]:.0%}", ha="center", va="center", color=color)
    fig.colorbar(image, ax=ax, label="share of gold row")
    ax.set_title("Confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_reliability(bins: list[dict[str, float]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.4, 5.0))
    filled = [b for b in bins if b["count"]]
    centers = [(b["low"] + b["high"]) / 2 for b in filled]
    width = bins[0]["high"] - bins[0]["low"] if bins else 0.1
    ax.bar(centers, [b["accuracy"] for b in filled], width=width * 0.9, label="accuracy", alpha=0.8)
    ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    ax.plot(
        [b["confidence"] for b in filled],
        [b["accuracy"] for b in filled],
        "o-",
        color="tab:red",
        label="mean confidence vs accuracy",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence of the predicted label")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
