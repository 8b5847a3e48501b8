"""What a finished training run leaves in its output directory, and the calibration before it."""

from __future__ import annotations

import json
import platform
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers

from stance.card import write_model_card
from stance.config import Config, save_config
from stance.data import Example, read_examples, sha256_file
from stance.labels import LABEL2ID
from stance.metrics import expected_calibration_error, fit_temperature
from stance.model import StanceClassifier, softmax


def calibrate(
    clf: StanceClassifier, dev_set: list[Example], cfg: Config, logits: np.ndarray | None = None
) -> dict[str, float]:
    """Fit a temperature on dev and, if it lowers dev calibration error, fold it into the output
    layer, so every loader (pipeline() included) gets calibrated probabilities. Labels do not change.
    `logits`: the model's dev logits if already computed (training keeps the best epoch's)."""
    clf.model.eval()
    if logits is None:
        logits = clf.logits([e.text for e in dev_set], cfg.training.eval_batch_size)
    gold = np.array([LABEL2ID[e.label] for e in dev_set])
    before = expected_calibration_error(softmax(logits), gold)
    head = getattr(clf.model, "classifier", None) or getattr(clf.model, "score", None)
    if not cfg.calibrate or not isinstance(head, torch.nn.Linear):
        return {"temperature": 1.0, "dev_ece_before": before, "dev_ece_after": before}
    temperature = fit_temperature(logits, gold)
    after = expected_calibration_error(softmax(logits / temperature), gold)
    if after >= before:  # it does not help: leave the probabilities as trained
        return {
            "temperature": 1.0,
            "fitted_temperature": temperature,
            "dev_ece_before": before,
            "dev_ece_after": before,
        }
    with torch.no_grad():
        head.weight.div_(temperature)
        if head.bias is not None:
            head.bias.div_(temperature)
    return {"temperature": temperature, "dev_ece_before": before, "dev_ece_after": after}


def finish_run(
    clf: StanceClassifier,
    cfg: Config,
    history: Any,
    calibration: dict[str, float],
    train_set: list[Example],
    dev_set: list[Example],
    seconds: float,
) -> None:
    """Save the model, its metadata, the resolved config, metrics.json, the test report and card."""
    out = Path(cfg.output_dir)
    metadata = _metadata(cfg, calibration, len(train_set), len(dev_set), seconds)
    clf.save(out, metadata)
    metadata["max_length"] = clf.max_length
    save_config(cfg, out / "config.yaml")
    metrics: dict[str, Any] = {
        "epochs": history.epochs,
        "best": {"epoch": history.best_epoch, "dev_macro_f1": history.best_f1},
        "calibration": calibration,
        "train_seconds": round(seconds, 1),
    }
    test_path = Path(cfg.data.test) if cfg.data.test else None
    if cfg.evaluate_test and test_path and test_path.is_file():
        from stance.evaluate import write_report

        test_set = read_examples(test_path, cfg.data.text_field, cfg.data.label_field)
        report = write_report(
            clf,
            test_set,
            out / "test_report",
            train_set,
            cfg.base_model,
            cfg.training.eval_batch_size,
            title=str(test_path),
            embedding_sample=cfg.baseline_sample,
        )
        metrics["test"] = {
            k: report["model"][k] for k in ("n", "accuracy", "macro_f1", "macro_f1_ci95", "per_label")
        }
        metrics["test"]["baselines_macro_f1"] = {n: r["macro_f1"] for n, r in report["baselines"].items()}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_model_card(out, metadata, metrics)


def _metadata(
    cfg: Config, calibration: dict[str, float], n_train: int, n_dev: int, seconds: float
) -> dict[str, Any]:
    files = {"train": (cfg.data.train, n_train), "dev": (cfg.data.dev, n_dev), "test": (cfg.data.test, None)}
    data = {
        split: {"path": path, "sha256": sha256_file(path), **({"sentences": n} if n else {})}
        for split, (path, n) in files.items()
        if path and Path(path).is_file()
    }
    return {
        "stance_version": _version("stance"),
        "base_model": cfg.base_model,
        "temperature": calibration["temperature"],
        "data": data,
        "trained_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "train_seconds": round(seconds, 1),
        "device": _device_name(),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    }


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _device_name() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
