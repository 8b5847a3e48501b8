"""The corpus side of `stance.predict`: documents read, split into sentences and tokenized, chunk by
chunk, one chunk ahead of the labelling loop.

By default this runs in a process of its own, so that reading, splitting and making token arrays
do not hold Python's GIL against the loop that feeds the device and writes the output (on a GPU
that loop, not the GPU, set the pace). The process imports no torch, so it starts in a fraction of
a second, and tokenizes with the classifier's own encoder. Standard input, which the main process
reads, is read in a thread.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stance.corpus import Document, Warnings, iter_documents
from stance.data import DataError
from stance.output import Sentence, Sentences
from stance.segment import split_sentences
from stance.tokens import FastEncoder, SlowEncoder, Tokens


@dataclass(frozen=True)
class ReadJob:
    """What to read and how to cut it into chunks; passed to the reader process as it is."""

    inputs: list[str]
    text_field: str
    id_field: str | None
    presplit: bool  # each line or record is one sentence
    chunk_size: int
    start: tuple[int, int] = (0, 0)  # (document ordinal, sentence number) to go on from
    process_index: int = 0  # under `accelerate launch`, this process reads every N-th document
    num_processes: int = 1


@dataclass
class Chunk:
    sentences: Sentences
    tokens: Tokens


def read_corpus(
    job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings, in_process: bool = True
) -> Iterator[Chunk]:
    """The chunks of the corpus in order, made in a reader process (or a thread, for stdin).

    Input problems are counted in `warnings` (a process's counts arrive when it is done) or raise
    DataError, as if the reading happened here.
    """
    if in_process and "-" not in job.inputs:
        return _from_process(job, encoder, warnings)
    return _from_thread(job, encoder, warnings)


def read_chunks(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings) -> Iterator[Chunk]:
    docs = enumerate(iter_documents(job.inputs, warnings, job.text_field, job.id_field, job.presplit))
    mine = ((i, doc) for i, doc in docs if i % job.num_processes == job.process_index)
    rows = iter_sentences(mine, job.presplit, job.start)
    while batch := list(itertools.islice(rows, job.chunk_size)):
        sentences = Sentences.from_rows(batch)
        ids, cut = encoder(sentences.texts)
        if cut:
            warnings[f"sentences longer than {encoder.max_length} tokens truncated"] += cut
        yield Chunk(sentences, Tokens.from_lists(ids))


def iter_sentences(
    documents: Iterator[tuple[int, Document]], presplit: bool, start: tuple[int, int] = (0, 0)
) -> Iterator[Sentence]:
    """Sentences with offsets, from (ordinal, document) pairs, skipping those before `start`."""
    first_doc, first_index = start
    for ordinal, doc in documents:
        if ordinal < first_doc:
            continue
        if presplit:  # the hot path of pre-split corpora: one sentence per document
            if ordinal > first_doc or first_index == 0:
                yield Sentence(ordinal, doc.id, 0, 0, len(doc.text), doc.text)
            continue
        spans = [(s.text, s.start, s.end) for s in split_sentences(doc.text)]
        for index, (text, begin, end) in enumerate(spans):
            if ordinal == first_doc and index < first_index:
                continue
            yield Sentence(ordinal, doc.id, index, begin, end, text)


def _from_thread(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings) -> Iterator[Chunk]:
    chunks = read_chunks(job, encoder, warnings)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _from_process(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings) -> Iterator[Chunk]:
    """Chunks from `python -m stance.reader`: the job goes in on its stdin, messages come back on its
    stdout. A plain subprocess rather than multiprocessing, which would re-run the caller's script."""
    package_root = str(Path(__file__).resolve().parent.parent)  # the child runs this same code
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "stance.reader"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": python_path},
    )
    assert process.stdin is not None and process.stdout is not None
    finished = False
    try:
        with contextlib.suppress(BrokenPipeError):  # it stopped at once; reported below
            pickle.dump((job, encoder), process.stdin)
            process.stdin.close()
        while not finished:
            try:
                kind, payload = pickle.load(process.stdout)
            except (EOFError, pickle.UnpicklingError):
                raise RuntimeError(
                    f"the reader process stopped unexpectedly (exit code {process.wait()})"
                ) from None
            if kind == "chunk":
                yield payload
            elif kind == "done":
                warnings.update(payload)
                finished = True
            elif kind == "error":
                raise DataError(payload)
            else:
                raise RuntimeError(f"the reader process failed:\n{payload}")
    finally:
        if not finished:  # the labelling stopped early: an error, or Ctrl-C
            process.kill()
        process.stdout.close()
        process.wait()


def main() -> None:
    """The reader process: a job on stdin; each chunk, then the warnings, on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's; it stops this one
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the messages
    job, encoder = pickle.load(sys.stdin.buffer)

    def send(message: tuple[str, Any]) -> None:
        pickle.dump(message, channel, protocol=pickle.HIGHEST_PROTOCOL)
        channel.flush()

    warnings = Warnings()
    with contextlib.suppress(BrokenPipeError):  # the main process has stopped listening
        try:
            for chunk in read_chunks(job, encoder, warnings):
                send(("chunk", chunk))
            send(("done", warnings))
        except DataError as e:
            send(("error", str(e)))
        except Exception:
            send(("crash", traceback.format_exc()))


if __name__ == "__main__":
    # Run as the module stance.reader, so that what it sends unpickles as stance.reader's classes.
    from stance.reader import main as serve

    serve()
