"""What the host allows `stance.predict` on a GPU: its loop with a model that costs nothing.

On a GPU the model is fast enough that the Python work around it (reading, tokenizing, writing)
sets the pace, and a GPU machine cannot be had for every change. This benchmark replaces the
model's forward pass with zeros and runs `stance.predict --sentences` over the same pre-split
corpus twice: with the corpus read, split and tokenized in a reader process (the default) and in a
thread of the main process (the baseline, `--reader thread`). It prints sentences/s and CPU
seconds per 1,000 sentences: of the main process, of its main thread, of the reading thread
(Python only; the Rust tokenizer works in threads of its own) and of the reader process. The main
process's Python work, which holds one GIL, is main thread plus reading thread: it bounds what a
GPU run can reach whatever the GPU. On a machine with few cores, as this project's, the Rust
tokenizer is the limit of both runs; on a GPU host with 16 cores it is not.

Usage: python scripts/bench_reader.py --model DIR [--sentences 300000] [--out /tmp/bench_reader]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench_gpu import corpus

# Runs stance.predict in this process with a zero-cost model and reports, as JSON on stderr, the
# CPU seconds of the main process, of its main thread, of the corpus reading in a thread of the
# main process (Python only: the Rust tokenizer's own threads do not count), and of the children.
RUNNER = """
import json, resource, sys, time, torch
from stance import model, reader
model.StanceClassifier._forward = lambda self, ids, mask, pooled: torch.zeros(len(ids), 4)
read_chunks, reading = reader.read_chunks, [0.0]
def timed_read_chunks(*args):
    chunks = read_chunks(*args)
    while True:
        before = time.thread_time()
        chunk = next(chunks, None)
        reading[0] += time.thread_time() - before
        if chunk is None:
            return
        yield chunk
reader.read_chunks = timed_read_chunks
from stance.predict import main
usage = lambda who: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(who))
self_before, thread_before, start = usage(resource.RUSAGE_SELF), time.thread_time(), time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - start,
    "main_cpu": usage(resource.RUSAGE_SELF) - self_before,
    "main_thread_cpu": time.thread_time() - thread_before,
    "reading_thread_cpu": reading[0],
    "reader_cpu": usage(resource.RUSAGE_CHILDREN)}), file=sys.stderr)
sys.exit(code)
"""


def run(model: str, corpus_path: Path, out: Path, reader: str, batch_size: int, chunk_size: int) -> dict:
    command = [sys.executable, "-c", RUNNER, "--model", model, "--sentences", "--overwrite"]
    command += ["--batch-size", str(batch_size), "--chunk-size", str(chunk_size), "--device", "cpu"]
    command += ["--reader", reader, "--out", str(out), str(corpus_path)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", type=int, default=300_000)
    parser.add_argument("--out", default="/tmp/bench_reader")
    args = parser.parse_args()
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    corpus(work / "sentences.txt", args.sentences)
    results = {}
    for reader in ("thread", "process"):  # as on a GPU: batches of 1,024, chunks of 32,768
        results[reader] = run(
            args.model, work / "sentences.txt", work / f"{reader}.jsonl", reader, 1024, 32768
        )
    same = (work / "thread.jsonl").read_bytes() == (work / "process.jsonl").read_bytes()
    print(f"{args.sentences:,} sentences; outputs identical: {same}")
    print("CPU seconds per 1,000 sentences:")
    columns = ("main process", "main thread", "reading thread", "reader process")
    print(f"{'reader':8s} {'sent/s':>8s}", *(f"{c:>15s}" for c in columns))
    for reader, r in results.items():
        cpu = [1000 * r[k] / args.sentences for k in ("main_cpu", "main_thread_cpu", "reading_thread_cpu")]
        cpu.append(1000 * r["reader_cpu"] / args.sentences)
        print(f"{reader:8s} {args.sentences / r['seconds']:8,.0f}", *(f"{c:15.3f}" for c in cpu))
    python_work = {k: r["main_thread_cpu"] + r["reading_thread_cpu"] for k, r in results.items()}
    print(
        "Python work of the main process (main thread + reading thread), process reader vs thread: "
        f"{python_work['process'] / python_work['thread']:.2f}x"
    )


if __name__ == "__main__":
    main()
