"""Evaluate a saved model: `python -m stance.evaluate --model DIR --data FILE --out DIR`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from stance.baselines import all_baselines
from stance.data import DataError, Example, read_examples, sha256_file
from stance.errors import ModelError
from stance.labels import LABEL2ID, LABELS
from stance.metrics import (
    accuracy,
    bootstrap_macro_f1,
    calibration_bins,
    confusion_matrix,
    expected_calibration_error,
    macro_f1,
    per_label_scores,
)
from stance.model import StanceClassifier, softmax
from stance.report import plot_confusion, plot_reliability, render_markdown
from stance.tokens import read_metadata


def score(gold: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 with a bootstrap 95% interval, per-label scores, confusion matrix."""
    matrix = confusion_matrix(gold, predicted)
    return {
        "n": len(gold),
        "accuracy": accuracy(matrix),
        "macro_f1": macro_f1(matrix),
        "macro_f1_ci95": list(bootstrap_macro_f1(gold, predicted)),
        "per_label": per_label_scores(matrix),
        "confusion_matrix": {"labels": list(LABELS), "rows_gold_columns_predicted": matrix.tolist()},
    }


def evaluate(clf: StanceClassifier, examples: list[Example], batch_size: int = 64) -> tuple[dict, np.ndarray]:
    """Metrics of the model on `examples`, and its probabilities (input order)."""
    clf.model.eval()
    probs = softmax(clf.logits([e.text for e in examples], batch_size))
    gold = np.array([LABEL2ID[e.label] for e in examples])
    metrics = score(gold, probs.argmax(axis=1))
    metrics["expected_calibration_error"] = expected_calibration_error(probs, gold)
    metrics["calibration_bins"] = calibration_bins(probs, gold)
    return metrics, probs


def write_report(
    clf: StanceClassifier,
    examples: list[Example],
    out: str | Path,
    train: list[Example] | None = None,
    base_model: str | None = None,
    batch_size: int = 64,
    title: str = "",
    embedding_sample: int = 0,
) -> dict[str, Any]:
    """Write metrics.json, report.md, confusion.png, calibration.png and errors.jsonl to `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics, probs = evaluate(clf, examples, batch_size)
    texts = [e.text for e in examples]
    gold = np.array([LABEL2ID[e.label] for e in examples])
    baselines = {}
    if train:
        for name, baseline in all_baselines(base_model, embedding_sample, len(train)).items():
            baselines[name] = score(gold, baseline(train, texts))
    report = {"model": metrics, "baselines": baselines, "data": title}
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    plot_confusion(
        np.array(metrics["confusion_matrix"]["rows_gold_columns_predicted"]), out / "confusion.png"
    )
    plot_reliability(metrics["calibration_bins"], out / "calibration.png")
    _write_errors(examples, probs, out / "errors.jsonl")
    return report


def _write_errors(examples: list[Example], probs: np.ndarray, path: Path) -> None:
    """Every misclassified sentence, the most confident errors first."""
    predicted = probs.argmax(axis=1)
    wrong = [i for i, e in enumerate(examples) if LABELS[predicted[i]] != e.label]
    wrong.sort(key=lambda i: -probs[i, predicted[i]])
    with open(path, "w", encoding="utf-8") as f:
        for i in wrong:
            record = {
                "source": examples[i].source,
                "text": examples[i].text,
                "gold": examples[i].label,
                "predicted": LABELS[predicted[i]],
                "probabilities": {label: round(float(p), 4) for label, p in zip(LABELS, probs[i])},
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _train_split(args: argparse.Namespace, metadata: dict) -> list[Example] | None:
    """The model's own train split (from its metadata), or --train; None without either."""
    if args.no_baselines:
        return None
    if args.train:
        return read_examples(args.train, args.text_field, args.label_field)
    recorded = metadata.get("data", {}).get("train")
    if not recorded:
        print("note: no train split recorded with the model and no --train given; skipping baselines")
        return None
    path = Path(recorded["path"])
    if not path.is_file():
        print(f"note: the model's train split {path} is not here; pass --train to run the baselines")
        return None
    if sha256_file(path) != recorded.get("sha256"):
        print(f"warning: {path} has changed since the model was trained; baselines use it as it is now")
    return read_examples(path, args.text_field, args.label_field)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stance.evaluate", description=__doc__)
    parser.add_argument("--model", required=True, help="a saved model directory")
    parser.add_argument("--data", required=True, help="labelled JSONL or CSV to evaluate on")
    parser.add_argument("--out", required=True, help="folder for the report files")
    parser.add_argument("--train", help="train split for the baselines (default: the model's own)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    parser.add_argument(
        "--baseline-sample",
        type=int,
        default=0,
        help="fit the frozen-embedding baseline on a stratified sample of this many train sentences (0 = all)",
    )
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    args = parser.parse_args(argv)
    try:
        examples = read_examples(args.data, args.text_field, args.label_field)
        clf = StanceClassifier.load(args.model, device=args.device)
        metadata = read_metadata(Path(args.model))
        train = _train_split(args, metadata)
        report = write_report(
            clf,
            examples,
            args.out,
            train,
            metadata.get("base_model"),
            args.batch_size,
            title=str(args.data),
            embedding_sample=args.baseline_sample,
        )
    except (DataError, ModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    model = report["model"]
    low, high = model["macro_f1_ci95"]
    print(f"macro-F1 {model['macro_f1']:.4f} (95% CI {low:.4f}-{high:.4f}), accuracy {model['accuracy']:.4f}")
    for name, result in report["baselines"].items():
        print(f"  {name}: macro-F1 {result['macro_f1']:.4f}")
    print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
