"""Label every sentence of a corpus: `python -m stance.predict --model DIR --out FILE INPUT...`.

Streams: documents are read, split, labelled and written chunk by chunk. Each chunk is flushed
whole and then recorded in OUT.progress.json (atomically), so `--resume` after a crash or kill
truncates OUT to the last recorded chunk and continues with no sentence lost or written twice.
Under `accelerate launch`, each process labels every N-th document into its own part file; the
main process merges the parts in document order at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import heapq
import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from stance.corpus import Warnings
from stance.data import DataError
from stance.errors import ModelError
from stance.output import Progress, RowWriter, Sentences, format_for, open_output
from stance.reader import Chunk, ReaderProcess, ReadJob, default_workers, read_corpus
from stance.tokens import BATCH_SIZE, CHUNK_SIZE, GPU_BATCH_SIZE, GPU_CHUNK_SIZE, Tokens, saved_encoder

if TYPE_CHECKING:
    from accelerate import PartialState

    from stance.model import StanceClassifier

# How launchers (torchrun and accelerate, MPI) tell a process how many processes there are.
WORLD_SIZE_VARIABLES = ("WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")


def label_corpus(
    clf: StanceClassifier,
    chunks: Iterator[Chunk],
    writer: RowWriter,
    progress: Progress,
    batch_size: int | None,
) -> int:
    """Label and write every chunk; record progress after each flushed chunk."""
    pending: deque[Sentences] = deque()

    def tokens() -> Iterator[Tokens]:
        for chunk in chunks:
            pending.append(chunk.sentences)
            yield chunk.tokens

    done = 0
    with tqdm(unit=" sentences", desc="labelling", initial=progress.sentences_done) as bar:
        for probs in clf.stream_tokens(tokens(), batch_size):
            sentences = pending.popleft()
            writer.write(sentences, probs)
            progress.record(writer, sentences)
            done += len(sentences)
            bar.update(len(sentences))
    return done


def merge_parts(parts: list[Path], out: Path, fmt: str) -> None:
    """Merge per-process part files (JSON lines led by the document ordinal) in document order."""
    with contextlib.ExitStack() as stack, open_output(out, fmt, append=False) as writer:
        files = [stack.enter_context(open(p, encoding="utf-8")) for p in parts]
        lines = heapq.merge(*[(line.split("\t", 1) for line in f) for f in files], key=lambda r: int(r[0]))
        for _ordinal, line in lines:
            writer.write_line(line)
    for p in parts:
        p.unlink()
        Path(f"{p}.progress.json").unlink(missing_ok=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stance.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", help=".txt files, folders of them, JSONL/CSV files, or - for stdin"
    )
    parser.add_argument("--model", required=True, help="a saved model directory")
    parser.add_argument("--out", required=True, help="output .jsonl or .csv, or - for stdout")
    parser.add_argument("--format", choices=("jsonl", "csv"), help="output format (default: from --out)")
    parser.add_argument(
        "--sentences",
        action="store_true",
        help="each input line or record is one sentence already (no splitting)",
    )
    parser.add_argument("--text-field", default="text", help="text column of JSONL/CSV input")
    parser.add_argument("--id-field", help="id column of JSONL/CSV input (default: file:line)")
    parser.add_argument(
        "--batch-size",
        type=int,
        help=f"sentences per batch (default {BATCH_SIZE}; {GPU_BATCH_SIZE} on a GPU)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        help=f"sentences per flushed chunk (default {CHUNK_SIZE}; {GPU_CHUNK_SIZE} on a GPU with "
        "--sentences); documents are grouped into chunks of about as many sentences (by length)",
    )
    parser.add_argument("--max-length", type=int, help="tokens per sentence (default: the model's)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="auto: bf16 on GPUs and on CPUs with native bf16, else fp32",
    )
    parser.add_argument(
        "--reader",
        default="process",
        choices=("process", "thread"),
        help="read, split and tokenize in a separate process (default) or a thread; stdin: a thread",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="processes that split and tokenize, taking chunks in turn (default: 1; on a GPU, "
        "for documents all cores but 2, at most 8, and for --sentences one per 4 cores, at most 4)",
    )
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run into --out")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    fmt = format_for(args.out, args.format)
    out = Path(args.out)
    state = None if launched_alone() else _partial_state(args.device)
    index, processes = (0, 1) if state is None else (state.process_index, state.num_processes)
    target = out if processes == 1 else Path(f"{out}.part{index}")
    progress = Progress.open(target, vars(args) | {"processes": processes}, args.resume, args.overwrite)
    if progress.complete:
        print(f"{target} is already complete", file=sys.stderr)
        return 0
    early = read_early(args, progress) if state is None and args.reader == "process" else None
    try:
        clf = load_classifier(args, state)
    except BaseException:
        if early is not None:
            early.stop()
        if progress.sentences_done == 0:  # nothing to resume: leave no record behind
            progress.discard()
        raise
    # Move the objects of torch and transformers out of the garbage collector's reach: otherwise
    # each full collection, triggered by the chunks' many small lists, walks all of them
    # (measured here: single calls stalled for half a second).
    gc.freeze()
    job = read_job(args, progress, clf.device.type == "cuda", index, processes)
    warnings = Warnings()
    started = time.perf_counter()
    chunks = read_corpus(job, clf.encoder, warnings, args.reader == "process", early)
    with open_output(
        target,
        fmt if processes == 1 else "parts",
        append=progress.sentences_done > 0,
        truncate_at=progress.bytes,
    ) as writer:
        done = label_corpus(clf, chunks, writer, progress, args.batch_size)
    progress.finish()
    seconds = time.perf_counter() - started
    if state is not None:
        state.wait_for_everyone()
        if state.is_main_process:
            merge_parts([Path(f"{out}.part{k}") for k in range(processes)], out, fmt)
    print(
        f"labelled {done} sentences in {seconds:.1f} s ({done / max(seconds, 1e-9):,.0f} sentences/s)"
        f" -> {args.out}",
        file=sys.stderr,
    )
    if warnings:
        print(f"warnings: {warnings.report()}", file=sys.stderr)
    return 0


def launched_alone() -> bool:
    """Whether this is the only process of its launch, told (as accelerate tells it) from the
    variables that torchrun and MPI set, so without importing torch."""
    return all(int(os.environ.get(name) or 1) <= 1 for name in WORLD_SIZE_VARIABLES)


def _partial_state(device: str) -> PartialState:
    import torch
    from accelerate import PartialState

    # Processes on CPUs (torchrun, or accelerate with MPI) are only seen as such when asked for.
    return PartialState(cpu=device == "cpu" or (device == "auto" and not torch.cuda.is_available()))


def load_classifier(args: argparse.Namespace, state: PartialState | None) -> StanceClassifier:
    from stance.model import StanceClassifier

    device = args.device if state is None or args.device != "auto" else str(state.device)
    return StanceClassifier.load(
        args.model, device=device, precision=args.precision, max_length=args.max_length
    )


def read_job(
    args: argparse.Namespace, progress: Progress, on_gpu: bool, index: int = 0, processes: int = 1
) -> ReadJob:
    return ReadJob(
        args.inputs,
        args.text_field,
        args.id_field,
        args.sentences,
        # Large chunks keep a GPU busy; documents, which are split far slower than a GPU labels
        # them, come in small ones, shared out among more workers (see default_workers).
        args.chunk_size or (GPU_CHUNK_SIZE if on_gpu and args.sentences else CHUNK_SIZE),
        progress.next_position,
        index,
        processes,
        args.workers or (default_workers(args.sentences, processes) if on_gpu else 1),
    )


def read_early(args: argparse.Namespace, progress: Progress) -> ReaderProcess | None:
    """The reader process, started before torch is imported (importing it and loading the model take
    seconds) on the job expected once the model is loaded; read_corpus checks that guess."""
    if "-" in args.inputs:
        return None
    try:
        encoder = saved_encoder(Path(args.model), args.max_length)
    except Exception:  # an unreadable tokenizer: loading the model reports it properly
        return None
    if encoder is None:
        return None
    return ReaderProcess(read_job(args, progress, cuda_expected(args.device)), encoder)


def cuda_expected(device: str) -> bool:
    """Whether `--device` will come out as a CUDA device, guessed without importing torch."""
    if device != "auto":
        return device.startswith("cuda")
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES") in ("", "-1")
    return not hidden and Path("/proc/driver/nvidia/version").exists()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (DataError, ModelError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.out == "-":
            print("\ninterrupted", file=sys.stderr)
        else:
            print(
                f"\ninterrupted: {args.out} holds every chunk finished so far; "
                "run the same command with --resume to go on from there",
                file=sys.stderr,
            )
        return 130


if __name__ == "__main__":
    sys.exit(main())
