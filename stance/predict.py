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
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from stance.corpus import Warnings
from stance.data import DataError
from stance.output import Progress, RowWriter, Sentences, format_for, open_output
from stance.reader import Chunk, ReadJob, default_tokenizers, read_corpus
from stance.tokens import BATCH_SIZE, CHUNK_SIZE, GPU_BATCH_SIZE, GPU_CHUNK_SIZE, Tokens

if TYPE_CHECKING:
    from stance.model import StanceClassifier


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
        help=f"sentences per flushed chunk (default {CHUNK_SIZE}; {GPU_CHUNK_SIZE} on a GPU)",
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
        "--tokenizers",
        type=int,
        help="processes that tokenize, taking chunks in turn (default: 1; on a GPU, one per 4 cores, "
        "at most 4)",
    )
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run into --out")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from stance.model import StanceClassifier, default_chunk_size

    state = PartialState()
    fmt = format_for(args.out, args.format)
    out = Path(args.out)
    target = out if state.num_processes == 1 else Path(f"{out}.part{state.process_index}")
    part_fmt = fmt if state.num_processes == 1 else "parts"
    device = args.device if state.num_processes == 1 or args.device != "auto" else str(state.device)
    clf = StanceClassifier.load(
        args.model, device=device, precision=args.precision, max_length=args.max_length
    )
    # Move the objects of torch and transformers out of the garbage collector's reach: otherwise
    # each full collection, triggered by the chunks' many small lists, walks all of them
    # (measured here: single calls stalled for half a second).
    gc.freeze()
    progress = Progress.open(
        target, vars(args) | {"processes": state.num_processes}, args.resume, args.overwrite
    )
    if progress.complete:
        print(f"{target} is already complete", file=sys.stderr)
        return 0
    job = ReadJob(
        args.inputs,
        args.text_field,
        args.id_field,
        args.sentences,
        args.chunk_size or default_chunk_size(clf.device),
        progress.next_position,
        state.process_index,
        state.num_processes,
        args.tokenizers or (default_tokenizers(state.num_processes) if clf.device.type == "cuda" else 1),
    )
    warnings = Warnings()
    started = time.perf_counter()
    chunks = read_corpus(job, clf.encoder, warnings, in_process=args.reader == "process")
    with open_output(
        target, part_fmt, append=progress.sentences_done > 0, truncate_at=progress.bytes
    ) as writer:
        done = label_corpus(clf, chunks, writer, progress, args.batch_size)
    progress.finish()
    seconds = time.perf_counter() - started
    state.wait_for_everyone()
    if state.num_processes > 1 and state.is_main_process:
        merge_parts([Path(f"{out}.part{k}") for k in range(state.num_processes)], out, fmt)
    print(
        f"labelled {done} sentences in {seconds:.1f} s ({done / max(seconds, 1e-9):,.0f} sentences/s)"
        f" -> {args.out}",
        file=sys.stderr,
    )
    if warnings:
        print(f"warnings: {warnings.report()}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from stance.model import ModelError

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
