"""CPU inference benchmark: the plain transformers pipeline against stance's paths, in one process.

All paths label the same news-like sentences (from data/dev.jsonl and data/test.jsonl, repeated
if needed). Prints sentences/s, the speed-up over the plain pipeline and label agreement with
stance's fp32 labels.

Usage: python scripts/bench_predict.py --model runs/default [--sentences 5000] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import cycle, islice
from pathlib import Path

import numpy as np
import torch

from stance.model import StanceClassifier, cpu_has_native_bf16

ROOT = Path(__file__).resolve().parent.parent


def sentences(count: int) -> list[str]:
    texts = []
    for name in ("dev", "test"):
        path = ROOT / "data" / f"{name}.jsonl"
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    return list(islice(cycle(texts), count))


def timed(label: str, run, texts: list[str]) -> tuple[float, np.ndarray]:
    run(texts[:64])  # warm-up
    start = time.perf_counter()
    labels = np.asarray(run(texts))
    rate = len(texts) / (time.perf_counter() - start)
    print(f"{label:44s} {rate:8.0f} sentences/s", flush=True)
    return rate, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="runs/default")
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts = sentences(args.sentences)
    print(
        f"{len(texts)} sentences, {args.threads} threads, torch {torch.__version__}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_native_bf16()}"
    )
    from transformers import pipeline

    plain = pipeline("text-classification", model=args.model, device="cpu")
    results = {
        "plain pipeline (defaults, batch 1)": timed(
            "plain pipeline (defaults, batch 1)", lambda t: [r["label"] for r in plain(t)], texts
        )
    }
    fp32 = StanceClassifier.load(args.model, device="cpu", precision="fp32")
    paths = {"stance fp32 (sorted batches of 64)": fp32}
    paths["stance default (precision=auto)"] = StanceClassifier.load(args.model, device="cpu")
    if cpu_has_native_bf16():
        paths["stance bf16 autocast"] = StanceClassifier.load(args.model, device="cpu", precision="bf16")
    # Not offered by stance (it changes labels); measured here to show why.
    int8 = StanceClassifier.load(args.model, device="cpu", precision="fp32")
    int8.model = torch.ao.quantization.quantize_dynamic(int8.model, {torch.nn.Linear}, dtype=torch.qint8)
    paths["int8 dynamic quantization (not offered)"] = int8
    for name, clf in paths.items():
        results[name] = timed(name, lambda t, c=clf: [p.label for p in c.predict(t, batch_size=64)], texts)
    base_rate = results["plain pipeline (defaults, batch 1)"][0]
    reference = results["stance fp32 (sorted batches of 64)"][1]
    print(f"\n{'path':44s} {'sent/s':>8s} {'vs pipeline':>12s} {'labels = fp32':>14s}")
    for name, (rate, labels) in results.items():
        agreement = float(np.mean(labels == reference))
        print(f"{name:44s} {rate:8.0f} {rate / base_rate:11.2f}x {agreement:13.2%}")


if __name__ == "__main__":
    main()
