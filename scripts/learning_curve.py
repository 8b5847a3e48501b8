"""Learning curve: train the default model on growing shares of train (whole stories at a time).

For each fraction, the first stories of a seeded shuffle of train's stories are kept (so the
subsets are nested), the default config is trained on them, and dev and test macro-F1 are
measured. Writes OUT/learning_curve.json, OUT/learning_curve.png and prints a markdown table.

Usage: python scripts/learning_curve.py [--out reports/learning_curve] [--fractions ...] [key=value ...]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
from pathlib import Path

from stance.config import load_config
from stance.data import read_examples
from stance.evaluate import evaluate
from stance.model import StanceClassifier
from stance.train import train

ROOT = Path(__file__).resolve().parent.parent


def subset(train_path: Path, fraction: float, seed: int, out: Path) -> tuple[Path, int, int]:
    rows = [json.loads(line) for line in train_path.read_text(encoding="utf-8").splitlines()]
    stories = sorted({r["topic"] for r in rows})
    random.Random(seed).shuffle(stories)
    kept = set(stories[: math.ceil(fraction * len(stories))])
    chosen = [r for r in rows if r["topic"] in kept]
    path = out / f"train-{fraction:g}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chosen), encoding="utf-8")
    return path, len(kept), len(chosen)


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [p["sentences"] for p in points]
    ax.plot(sizes, [p["dev_macro_f1"] for p in points], "o-", label="dev")
    ax.plot(sizes, [p["test_macro_f1"] for p in points], "s-", label="test")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("train sentences (whole stories)")
    ax.set_ylabel("macro-F1")
    ax.set_title("Learning curve, default config")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="reports/learning_curve")
    parser.add_argument("--config", default=str(ROOT / "configs" / "default.yaml"))
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-models", action="store_true")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(args.config, args.overrides)
    test_set = read_examples(base.data.test)
    points = []
    for fraction in args.fractions:
        train_path, stories, sentences = subset(Path(base.data.train), fraction, args.seed, out)
        model_dir = out / f"model-{fraction:g}"
        cfg = load_config(
            args.config,
            [*args.overrides, f"data.train={train_path}", f"output_dir={model_dir}", "evaluate_test=false"],
        )
        train(cfg)
        metrics = json.loads((model_dir / "metrics.json").read_text())
        test_metrics, _ = evaluate(StanceClassifier.load(model_dir), test_set)
        points.append(
            {
                "fraction": fraction,
                "stories": stories,
                "sentences": sentences,
                "dev_macro_f1": metrics["best"]["dev_macro_f1"],
                "test_macro_f1": test_metrics["macro_f1"],
                "train_seconds": metrics["train_seconds"],
            }
        )
        if not args.keep_models:
            shutil.rmtree(model_dir)
        (out / "learning_curve.json").write_text(json.dumps(points, indent=2) + "\n")
    plot(points, out / "learning_curve.png")
    print("| share of train | stories | sentences | dev macro-F1 | test macro-F1 |")
    print("|---|---|---|---|---|")
    for p in points:
        print(
            f"| {p['fraction']:.1%} | {p['stories']} | {p['sentences']:,} | {p['dev_macro_f1']:.3f} | "
            f"{p['test_macro_f1']:.3f} |"
        )


if __name__ == "__main__":
    main()
