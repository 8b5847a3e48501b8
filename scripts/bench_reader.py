"""What the host allows `stance.predict` on a GPU, and its memory: its loop with a zero-cost model.

On a GPU the model is fast enough that the Python work around it (reading, splitting, tokenizing,
writing) sets the pace, and a GPU machine cannot be had for every change. This benchmark replaces
the model's forward pass with zeros and runs `stance.predict` over the same corpus (pre-split
sentences, or with --documents whole articles) with the corpus read, split and tokenized in a
thread of the main process (the baseline, `--reader thread`), in a reader process with 1, 2, ...
worker processes (`--workers`), and once more with one, started only after the model has loaded
("late", as before the reader was started ahead of the start-up). It prints sentences/s of the
whole process and the seconds of the labelling loop and of the whole process; CPU seconds per
1,000 sentences, in the labelling loop, of the main process, of its main thread and of the
reading thread (Python only: the Rust tokenizer works in threads of its own), and of the reader
and worker processes together and of the reader alone, start-up included; and peak resident memory of the main process and of
all. The main process's Python work, which holds one GIL, is main thread plus reading thread: it
bounds what a GPU run can reach whatever the GPU. On a machine with few cores, as this project's,
the CPU time of the tokenizer (and of splitting documents) is the limit of every run; on a GPU
host with 16 cores it is not. With --real-model the model itself labels, with its CPU defaults
(for memory figures; slow).

Usage: python scripts/bench_reader.py --model DIR [--sentences 300000] [--workers 1,2] [--documents]
                                      [--real-model] [--out /tmp/bench_reader]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_gpu import ROOT, corpus

# Runs stance.predict in this process (with a zero-cost model unless --real-model) and reports, as
# JSON on stderr, the seconds and CPU seconds of the labelling loop in the main process, in its main
# thread and in the corpus reading in a thread of the main process (Python only: the Rust
# tokenizer's threads do not count), and the CPU seconds of the child processes, start-up included.
# Nothing imports torch before stance.predict does, so its reader can start first, as in real use.
RUNNER = """
import json, os, resource, sys, time
from stance import predict, reader
if os.environ["BENCH_ZERO_COST_MODEL"] == "1":
    load_classifier = predict.load_classifier
    def zero_cost_classifier(*args):
        import torch
        clf = load_classifier(*args)
        type(clf)._forward = lambda self, ids, mask, pooled: torch.zeros(len(ids), 4)
        return clf
    predict.load_classifier = zero_cost_classifier
if os.environ["BENCH_LATE_READER"] == "1":  # the reader process started after the model loaded
    predict.read_early = lambda *args: None
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
usage = lambda who: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(who))
label_corpus, loop = predict.label_corpus, {}
def timed_label_corpus(*args):  # the main process's CPU time is counted from here, start-up apart
    loop.update(main=usage(resource.RUSAGE_SELF), thread=time.thread_time(), start=time.perf_counter())
    return label_corpus(*args)
predict.label_corpus = timed_label_corpus
code = predict.main(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - loop["start"],
    "main_cpu": usage(resource.RUSAGE_SELF) - loop["main"],
    "main_thread_cpu": time.thread_time() - loop["thread"],
    "reading_thread_cpu": reading[0],
    "children_cpu": usage(resource.RUSAGE_CHILDREN)}), file=sys.stderr)
sys.exit(code)
"""


def run(args: argparse.Namespace, corpus_path: Path, out: Path, variant: tuple[str, int, bool]) -> dict:
    reader, workers, late = variant
    command = [sys.executable, "-c", RUNNER, "--model", args.model, "--overwrite"]
    command += [] if args.documents else ["--sentences"]
    if not args.real_model:  # chunks and batches as on a GPU
        chunk_size = "4096" if args.documents else "32768"
        command += ["--batch-size", "1024", "--chunk-size", chunk_size, "--device", "cpu"]
    command += ["--reader", reader, "--workers", str(workers), "--out", str(out), str(corpus_path)]
    env = os.environ | {
        "BENCH_ZERO_COST_MODEL": "0" if args.real_model else "1",
        "BENCH_LATE_READER": str(int(late)),
    }
    started = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    peak_main = peak_all = 0
    reader_cpu = 0.0
    while process.poll() is None:
        tree = process_tree(process.pid)
        sizes = [size for _, size, _ in tree]
        peak_main, peak_all = max(peak_main, sizes[0] if sizes else 0), max(peak_all, sum(sizes))
        reader_cpu = max([reader_cpu] + [cpu for role, _, cpu in tree if role == "reader"])
        time.sleep(0.1)
    wall = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode:
        raise SystemExit(stderr)
    result = json.loads(stderr.strip().splitlines()[-1])
    return result | {
        "wall": wall,
        "peak_main_mb": peak_main,
        "peak_all_mb": peak_all,
        "reader_cpu": reader_cpu,
    }


def documents(path: Path, count: int) -> None:
    """A JSONL corpus of whole articles (our own, their sentences joined), cycled to `count` sentences."""
    articles: dict[str, list[tuple[int, str]]] = {}
    for name in ("train", "dev", "test"):
        for line in (ROOT / "data" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("article"):
                articles.setdefault(row["article"], []).append((row["position"], row["text"]))
    texts = [" ".join(text for _, text in sorted(rows)) for rows in articles.values()]
    sizes = [len(rows) for rows in articles.values()]
    with open(path, "w", encoding="utf-8") as f:
        written = 0
        while written < count:
            for text, size in zip(texts, sizes):
                f.write(json.dumps({"text": text}) + "\n")
                written += size
                if written >= count:
                    break


def process_tree(pid: int) -> list[tuple[str, int, float]]:
    """(role, resident MB, CPU seconds) of a process and of each of its descendants (from /proc);
    the role is "reader" for the reader process, "" for the others."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue
    tree, found = [pid], []
    for member in tree:
        tree += [child for child, fields in stats.items() if int(fields[1]) == member]
        try:
            pages = int(Path(f"/proc/{member}/statm").read_text().split()[1])
            command = Path(f"/proc/{member}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        cpu = (int(stats[member][11]) + int(stats[member][12])) / os.sysconf("SC_CLK_TCK")
        role = "reader" if command[-3:] == [b"-m", b"stance.reader", b""] else ""
        found.append((role, pages * os.sysconf("SC_PAGE_SIZE") // 2**20, cpu))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", type=int, default=300_000)
    parser.add_argument("--workers", default="1,2", help="worker process counts to try")
    parser.add_argument(
        "--documents", action="store_true", help="whole articles to split (JSONL), not pre-split sentences"
    )
    parser.add_argument("--real-model", action="store_true", help="label with the model itself")
    parser.add_argument("--out", default="/tmp/bench_reader")
    args = parser.parse_args()
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.jsonl"):
        old.unlink()
    corpus_path = work / ("documents.json" if args.documents else "sentences.txt")
    if args.documents:
        documents(corpus_path, args.sentences)
    else:
        corpus(corpus_path, args.sentences)
    variants = [("thread", 1, False), ("process", 1, True)]
    variants += [("process", int(k), False) for k in args.workers.split(",")]
    results = {}
    for variant in variants:
        reader, workers, late = variant
        name = f"{reader}, {workers}" + (", late" if late else "")
        out = work / f"{reader}{workers}{'late' if late else ''}.jsonl"
        results[name] = run(args, corpus_path, out, variant)
    outputs = {path.read_bytes() for path in work.glob("*.jsonl")}
    count = next(iter(outputs)).count(b"\n")
    cores = len(os.sched_getaffinity(0))
    kind = "sentences from whole articles" if args.documents else "pre-split sentences"
    print(f"{count:,} {kind}, {cores} cores, outputs identical: {len(outputs) == 1}")
    columns = ("main process", "main thread", "reading thread", "reader+workers", "reader alone")
    print(f"{'':52s} {'CPU seconds per 1,000 sentences, labelling loop':^89s} {'peak resident MB':^16s}")
    print(
        f"{'reader, workers':25s} {'sent/s':>8s} {'loop s':>8s} {'wall s':>8s}",
        *(f"{c:>17s}" for c in columns),
        "   main    all",
    )
    for name, r in results.items():
        keys = ("main_cpu", "main_thread_cpu", "reading_thread_cpu", "children_cpu", "reader_cpu")
        cpu = [1000 * r[k] / count for k in keys]
        print(
            f"{name:25s} {count / r['wall']:8,.0f} {r['seconds']:8.1f} {r['wall']:8.1f}",
            *(f"{c:17.3f}" for c in cpu),
            f"{r['peak_main_mb']:7,d} {r['peak_all_mb']:6,d}",
        )
    python_work = {name: r["main_thread_cpu"] + r["reading_thread_cpu"] for name, r in results.items()}
    print(
        "Python work of the main process (main thread + reading thread), reader process vs thread: "
        f"{python_work['process, 1, late'] / python_work['thread, 1']:.2f}x"
    )
    if "process, 1" in results:
        print(
            "whole process, reader started before the model loads vs after: "
            f"{results['process, 1, late']['wall'] - results['process, 1']['wall']:+.1f} s saved"
        )


if __name__ == "__main__":
    main()
