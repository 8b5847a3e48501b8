"""GPU inference benchmark: `stance.predict --sentences` end to end against the plain pipeline.

Needs only torch, transformers and accelerate besides stance. Writes a corpus of pre-split
news-like sentences (from data/, cycled), times `python -m stance.predict --sentences` over it
(read, tokenize, label, write; a separate process, as a user runs it, after one warm-up run on
20,000 sentences that loads the libraries from disk), with its defaults and with
the corpus read in a thread of the main process (`--reader thread --workers 1`), then times
`transformers.pipeline("text-classification")` on the same card with its defaults (batch 1)
and with batch_size=256, and checks the labels written against fp32 on the first 20,000 sentences.

Usage: python scripts/bench_gpu.py --model DIR [--sentences 1000000] [--out /tmp/bench_gpu]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from itertools import cycle, islice
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def corpus(path: Path, count: int) -> list[str]:
    texts = []
    for name in ("train", "dev", "test"):
        source = ROOT / "data" / f"{name}.jsonl"
        texts += [json.loads(line)["text"] for line in source.read_text(encoding="utf-8").splitlines()]
    lines = [t.replace("\n", " ") for t in islice(cycle(texts), count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def time_predict(model: str, corpus_path: Path, out: Path, extra: list[str]) -> tuple[float, float]:
    """Seconds for the whole process and for its labelling loop."""
    command = [
        sys.executable,
        "-m",
        "stance.predict",
        "--model",
        model,
        "--sentences",
        "--overwrite",
        "--out",
        str(out),
        *extra,
        str(corpus_path),
    ]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(*[line for line in done.stderr.splitlines() if line.startswith(("labelled", "warnings"))], sep="\n")
    if done.returncode:
        raise SystemExit(done.stderr)
    loop = re.search(r"labelled \d+ sentences in ([\d.]+) s", done.stderr)
    return seconds, float(loop.group(1)) if loop else float("nan")


def agreement_with_fp32(model: str, texts: list[str], labels_path: Path) -> float:
    from stance import StanceClassifier

    with open(labels_path, encoding="utf-8") as f:
        written = [json.loads(line)["label"] for line, _ in zip(f, texts)]
    reference = StanceClassifier.load(model, precision="fp32").predict(texts, batch_size=256)
    return sum(p.label == label for p, label in zip(reference, written)) / len(texts)


def time_pipeline(model: str, texts: list[str], batch_size: int | None) -> float:
    from transformers import pipeline

    classify = pipeline("text-classification", model=model, device=0 if torch.cuda.is_available() else -1)
    kwargs = {"batch_size": batch_size} if batch_size else {}
    classify(texts[:64], **kwargs)
    _sync()
    start = time.perf_counter()
    classify(texts, **kwargs)
    _sync()
    return len(texts) / (time.perf_counter() - start)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--out", default="/tmp/bench_gpu")
    parser.add_argument("--batch-size", type=int, help="passed to stance.predict (default: its own)")
    args = parser.parse_args()
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU (dry run)"
    print(f"{device}, torch {torch.__version__}", flush=True)
    texts = corpus(work / "sentences.txt", args.sentences)
    extra = ["--batch-size", str(args.batch_size)] if args.batch_size else []
    # The first run on a fresh machine reads torch, transformers and CUDA's libraries from disk: on
    # an H100 host it took about 10 s longer (38.7 s against 29.0 for 1M sentences) than a later
    # run. Paid here, by neither variant.
    warm_up = work / "warm_up.txt"
    warm_up.write_text("\n".join(texts[:20_000]) + "\n", encoding="utf-8")
    seconds, _ = time_predict(args.model, warm_up, work / "warm_up.jsonl", extra)
    print(f"warm-up: {min(20_000, len(texts)):,} sentences in {seconds:.1f} s, start-up included")
    seconds, loop_seconds = time_predict(args.model, work / "sentences.txt", work / "labels.jsonl", extra)
    lines = (work / "labels.jsonl").read_bytes().count(b"\n")
    assert lines == args.sentences, f"{lines} labels for {args.sentences} sentences"
    agreement = agreement_with_fp32(args.model, texts[:20_000], work / "labels.jsonl")
    print(
        f"labels written = fp32 labels on {agreement:.2%} of the first {min(20_000, len(texts)):,} sentences"
    )
    rates = {
        "stance.predict --sentences (end to end, process wall time incl. start-up)": args.sentences / seconds,
        "stance.predict --sentences, its labelling loop (read, tokenize, label, write)": args.sentences
        / loop_seconds,
    }
    # The same with the corpus read and tokenized in a thread of the main process, as before the
    # reader and worker processes (see stance.reader).
    baseline = ["--reader", "thread", "--workers", "1"]
    seconds, loop_seconds = time_predict(
        args.model, work / "sentences.txt", work / "thread.jsonl", extra + baseline
    )
    rates["the same, --reader thread --workers 1: end to end"] = args.sentences / seconds
    rates["the same, --reader thread --workers 1: labelling loop"] = args.sentences / loop_seconds
    rates["pipeline, defaults (batch 1)"] = time_pipeline(args.model, texts[: min(5000, len(texts))], None)
    rates["pipeline, batch_size=256"] = time_pipeline(args.model, texts[:100_000], 256)
    base = rates["pipeline, defaults (batch 1)"]
    print(f"\n{'path':80s} {'sent/s':>9s} {'vs pipeline':>12s}")
    for name, rate in rates.items():
        print(f"{name:80s} {rate:9.0f} {rate / base:11.1f}x")
    (work / "bench_gpu.json").write_text(json.dumps(rates | {"agreement_with_fp32": agreement}, indent=2))


if __name__ == "__main__":
    main()
