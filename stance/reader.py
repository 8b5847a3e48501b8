"""The corpus side of `stance.predict`: documents read, split into sentences and tokenized, chunk by
chunk, ahead of the labelling loop.

By default this runs in a process of its own, so that reading, splitting and making token arrays
do not hold Python's GIL against the loop that feeds the device and writes the output (on a GPU
that loop, not the GPU, set the pace). The process imports no torch, so it starts in a fraction of
a second. It groups the documents into chunks and splits and tokenizes them itself, or hands the
groups out to worker processes, which send their chunks to the main process (see ReaderProcess):
splitting documents into sentences is the slowest step of all (about 300 µs a sentence for
syntok, on one core). Standard input, which the main process reads, is read in a thread, with a
`WorkerPool` where there are workers.
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
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stance.corpus import Document, Warnings, iter_documents
from stance.data import DataError
from stance.memory import release_free_memory
from stance.output import Sentence, Sentences
from stance.segment import split_sentences
from stance.tokens import FastEncoder, SlowEncoder, Tokens

# Characters of a sentence, for the size of a chunk of documents yet to be split: news sentences
# average about 125 (our data).
CHARS_PER_SENTENCE = 128


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
    workers: int = 1  # processes that split and tokenize, taking chunks in turn; 1: the reader itself


@dataclass
class Chunk:
    sentences: Sentences
    tokens: Tokens


@dataclass
class Documents:
    """Whole documents (or one sentence each, pre-split) as columns: what one chunk is made from."""

    ordinals: list[int]
    ids: list[str]
    texts: list[str]


@dataclass
class ChunkMaker:
    """Documents -> a chunk: their sentences (split unless pre-split, from `start` on) and token ids.
    Pickles with its encoder, so worker processes make chunks exactly as the reader does."""

    encoder: FastEncoder | SlowEncoder
    presplit: bool
    start: tuple[int, int] = (0, 0)  # (document ordinal, sentence number) to go on from

    def __call__(self, documents: Documents) -> tuple[Chunk, int]:
        """The chunk, and how many of its sentences were cut to max length."""
        if self.presplit:  # the hot path of pre-split corpora: one sentence per document, whole
            count, texts = len(documents.texts), documents.texts
            columns = (documents.ordinals, documents.ids, [0] * count, [0] * count, list(map(len, texts)))
            sentences = Sentences(*columns, texts)
        else:
            pairs = zip(documents.ordinals, map(Document, documents.ids, documents.texts))
            sentences = Sentences.from_rows(list(iter_sentences(pairs, self.start)))
        ids, cut = self.encoder(sentences.texts)
        return Chunk(sentences, Tokens.from_lists(ids)), cut


def read_corpus(
    job: ReadJob,
    encoder: FastEncoder | SlowEncoder,
    warnings: Warnings,
    in_process: bool = True,
    started: ReaderProcess | None = None,
) -> Iterator[Chunk]:
    """The chunks of the corpus in order, made in a reader process (or a thread, for stdin).

    `started` is a reader process started earlier on what the job was expected to be: it is used if
    its job and encoder are these, and stopped otherwise. Input problems are counted in `warnings`
    (a process's counts arrive when it is done) or raise DataError, as if the reading happened here.
    """
    if in_process and "-" not in job.inputs:
        if started is not None and started.serves(job, encoder):
            return started.chunks(warnings)
        if started is not None:
            started.stop()
        return ReaderProcess(job, encoder).chunks(warnings)
    if started is not None:
        started.stop()
    return _from_thread(job, encoder, warnings)


def default_workers(presplit: bool, processes_on_this_machine: int = 1) -> int:
    """Worker processes to feed a GPU, from this process's share of the cores. Documents: all but
    two (for the main and reader processes), at most 8: splitting them is the slowest step of all.
    Pre-split sentences: one per 4 cores, at most 4 (the Rust tokenizer uses the rest)."""
    share = _cores() // processes_on_this_machine
    return max(1, min(4, share // 4) if presplit else min(8, share - 2))


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (taskset, containers)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def read_chunks(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings) -> Iterator[Chunk]:
    """The chunks in order, made here or, with job.workers > 1, by that many worker processes."""
    make_chunk = ChunkMaker(encoder, job.presplit, job.start)
    with contextlib.ExitStack() as stack:
        if job.workers > 1:
            made = stack.enter_context(WorkerPool(make_chunk, job.workers)).map(job_groups(job, warnings))
        else:
            made = map(make_chunk, job_groups(job, warnings))
        yield from counted(made, warnings, encoder)


def job_groups(job: ReadJob, warnings: Warnings) -> Iterator[Documents]:
    """This process's documents of the job, from its start on, in groups that make one chunk each."""
    docs = enumerate(iter_documents(job.inputs, warnings, job.text_field, job.id_field, job.presplit))
    mine = ((i, doc) for i, doc in docs if i % job.num_processes == job.process_index)
    return resume_at(document_groups(mine, job.chunk_size, job.presplit), job.start, job.presplit)


def counted(
    made: Iterable[tuple[Chunk, int]], warnings: Warnings, encoder: FastEncoder | SlowEncoder
) -> Iterator[Chunk]:
    """The chunks that hold sentences, with the truncated ones counted in `warnings`."""
    for chunk, cut in made:
        if cut:
            warnings[f"sentences longer than {encoder.max_length} tokens truncated"] += cut
        if len(chunk.sentences):  # documents with no sentence in them make none
            yield chunk


def document_groups(
    documents: Iterator[tuple[int, Document]], chunk_size: int, presplit: bool
) -> Iterator[Documents]:
    """(ordinal, document) pairs in groups of chunk_size, or fewer where documents yet to be split
    add up to chunk_size sentences of CHARS_PER_SENTENCE: one group makes one chunk."""
    budget = chunk_size * CHARS_PER_SENTENCE if not presplit else float("inf")
    group, chars = Documents([], [], []), 0
    for ordinal, doc in documents:
        group.ordinals.append(ordinal)
        group.ids.append(doc.id)
        group.texts.append(doc.text)
        chars += len(doc.text)
        if len(group.texts) == chunk_size or chars >= budget:
            yield group
            group, chars = Documents([], [], []), 0
    if group.texts:
        yield group


def resume_at(groups: Iterator[Documents], start: tuple[int, int], presplit: bool) -> Iterator[Documents]:
    """The groups from `start` on: those before it dropped, and the one it falls in cut where it does
    not begin there (after a resume with another chunk size). As the documents are grouped from the
    first on, a resumed run makes the same chunks, and so the same output, as an uninterrupted one."""
    first_doc, first_index = start
    for group in groups:
        if group.ordinals[0] > first_doc or start == (0, 0):
            yield group
        elif group.ordinals[-1] >= first_doc:
            # A pre-split document is one sentence: done if the run had gone past its first.
            keep = [
                k
                for k, i in enumerate(group.ordinals)
                if i > first_doc or (i == first_doc and not (presplit and first_index))
            ]
            if keep:
                yield Documents(*([column[k] for k in keep] for column in vars(group).values()))


class WorkerPool:
    """Processes (`python -m stance.reader work`) that make every N-th chunk each.

    A fast tokenizer's Rust code runs in parallel, but splitting documents, and turning the
    tokenizer's results into Python objects and freeing them again (about 10 µs a sentence) are
    work that one process does alone: with a GPU that is the limit. One chunk is in flight per
    process. The chunks come back through the caller: the reading thread, or the reader process
    where it cannot hand the workers' pipes on (not POSIX); elsewhere see ReaderProcess.
    """

    def __init__(self, make_chunk: ChunkMaker, size: int) -> None:
        self.processes = [_start(["work"], _worker_env(size)) for _ in range(size)]
        for process in self.processes:  # after starting them all: each reads this once imported
            _send(process.stdin, make_chunk)

    def map(self, groups: Iterator[Documents]) -> Iterator[tuple[Chunk, int]]:
        in_flight: deque[subprocess.Popen] = deque()
        for documents, process in zip(groups, itertools.cycle(self.processes)):
            if len(in_flight) == len(self.processes):  # the oldest is with this same process
                yield _receive(in_flight.popleft(), "a worker process")
            _send(process.stdin, documents)
            in_flight.append(process)
        while in_flight:
            yield _receive(in_flight.popleft(), "a worker process")

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()  # type: ignore[union-attr]
            if exc[0] is not None:
                process.kill()
        for process in self.processes:
            process.wait()


def iter_sentences(
    documents: Iterator[tuple[int, Document]], start: tuple[int, int] = (0, 0)
) -> Iterator[Sentence]:
    """Sentences with offsets, from (ordinal, document) pairs, from `start` on."""
    for ordinal, doc in documents:
        for index, piece in enumerate(split_sentences(doc.text)):
            if (ordinal, index) >= start:
                yield Sentence(ordinal, doc.id, index, piece.start, piece.end, piece.text)


def _from_thread(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings) -> Iterator[Chunk]:
    chunks = read_chunks(job, encoder, warnings)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


class ReaderProcess:
    """`python -m stance.reader` at work on a job from the moment it is made: it reads ahead while
    the main process starts up (importing torch and loading the model take seconds).

    With job.workers > 1 (on POSIX) the worker processes are started here and send their chunks
    straight to this process; the reader process only reads the documents and hands them out in
    turn. Relaying the chunks, which are several times the size of the text, through the reader
    would cost it a pickling and an unpickling of each: on a GPU host that capped the whole run.
    """

    def __init__(self, job: ReadJob, encoder: FastEncoder | SlowEncoder) -> None:
        self.job, self.encoder = job, encoder
        self.workers: list[subprocess.Popen] = []
        feeds: list[int] = []  # the write ends of the workers' stdin, for the reader process
        if job.workers > 1 and os.name == "posix":
            for _ in range(job.workers):
                worker_input, feed = os.pipe()
                self.workers.append(_start(["work"], _worker_env(job.workers), stdin=worker_input))
                os.close(worker_input)
                feeds.append(feed)
        self.process = _start([], pass_fds=feeds)
        for feed in feeds:
            os.close(feed)
        with contextlib.suppress(BrokenPipeError):  # it stopped at once; reported by chunks()
            _send(self.process.stdin, (job, encoder, feeds))
            self.process.stdin.close()  # type: ignore[union-attr]

    def serves(self, job: ReadJob, encoder: FastEncoder | SlowEncoder) -> bool:
        """Whether this process reads `job` and tokenizes as `encoder` does."""
        if job != self.job:
            return False
        if isinstance(encoder, FastEncoder) and isinstance(self.encoder, FastEncoder):
            return (encoder.serialized, encoder.max_length) == (
                self.encoder.serialized,
                self.encoder.max_length,
            )
        return encoder is self.encoder

    def chunks(self, warnings: Warnings) -> Iterator[Chunk]:
        finished = False
        try:
            if self.workers:
                yield from counted(_from_workers(self.workers), warnings, self.encoder)
            while not finished:
                kind, payload = _receive(self.process, "the reader process")
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
                self.stop()
            for process in [self.process, *self.workers]:
                process.wait()

    def stop(self) -> None:
        for process in [self.process, *self.workers]:
            process.kill()
            process.wait()


def _from_workers(workers: list[subprocess.Popen]) -> Iterator[tuple[Chunk, int]]:
    """What the workers make, in turn, until the next one in turn has no more: the reader process
    hands out the groups in that order, so no later one has any either."""
    for worker in itertools.cycle(workers):
        try:
            yield pickle.load(worker.stdout)  # type: ignore[arg-type]
        except (EOFError, pickle.UnpicklingError):
            if worker.wait():  # not the end of its input: it failed
                code = worker.returncode
                raise RuntimeError(f"a worker process stopped unexpectedly (exit code {code})") from None
            return


def _worker_env(size: int) -> dict[str, str]:
    """The Rust tokenizer's threads shared out among `size` workers, unless the user set them."""
    return {} if "RAYON_NUM_THREADS" in os.environ else {"RAYON_NUM_THREADS": str(max(1, _cores() // size))}


def _start(
    arguments: list[str],
    env: dict[str, str] | None = None,
    stdin: int = subprocess.PIPE,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen:
    """`python -m stance.reader ARGUMENTS`, which is sent work on its stdin and answers on its stdout.

    A plain subprocess rather than multiprocessing, which would re-run the caller's script.
    """
    package_root = str(Path(__file__).resolve().parent.parent)  # the child runs this same code
    python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "stance.reader", *arguments],
        stdin=stdin,
        stdout=subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": python_path} | (env or {}),
        pass_fds=pass_fds,
    )


def _send(stream: IO[bytes] | None, message: object) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)  # type: ignore[arg-type]
    stream.flush()  # type: ignore[union-attr]


def _receive(process: subprocess.Popen, name: str) -> Any:
    try:
        return pickle.load(process.stdout)  # type: ignore[arg-type]
    except (EOFError, pickle.UnpicklingError):
        raise RuntimeError(f"{name} stopped unexpectedly (exit code {process.wait()})") from None


def main() -> None:
    """A reader process (a job on stdin; each chunk, or only the documents for the workers, then the
    warnings, on stdout), or with the argument `work` a worker process (a ChunkMaker, then
    Documents, on stdin)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's; it stops this one
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything else printed goes to stderr, not into the messages
    setup = pickle.load(sys.stdin.buffer)
    with contextlib.suppress(BrokenPipeError):  # the process it answers has stopped listening
        if sys.argv[1:] == ["work"]:
            with contextlib.suppress(EOFError):  # no more chunks
                while True:
                    _send(channel, setup(pickle.load(sys.stdin.buffer)))
                    release_free_memory()
        else:
            job, encoder, feeds = setup
            _read(job, encoder, feeds, channel)


def _read(job: ReadJob, encoder: FastEncoder | SlowEncoder, feeds: list[int], channel: IO[bytes]) -> None:
    warnings = Warnings()
    try:
        if feeds:
            _hand_out(job, encoder, warnings, feeds)
        else:
            for chunk in read_chunks(job, encoder, warnings):
                _send(channel, ("chunk", chunk))
                release_free_memory()
        _send(channel, ("done", warnings))
    except DataError as e:
        _send(channel, ("error", str(e)))
    except Exception:
        _send(channel, ("crash", traceback.format_exc()))


def _hand_out(job: ReadJob, encoder: FastEncoder | SlowEncoder, warnings: Warnings, feeds: list[int]) -> None:
    """The job's groups of documents to the workers, in turn, through their stdin (`feeds`); closing
    them, on an error too, tells the workers there is no more."""
    with contextlib.ExitStack() as stack:
        workers = [stack.enter_context(os.fdopen(feed, "wb")) for feed in feeds]
        for worker in workers:
            _send(worker, ChunkMaker(encoder, job.presplit, job.start))
        for documents, worker in zip(job_groups(job, warnings), itertools.cycle(workers)):
            _send(worker, documents)


if __name__ == "__main__":
    # Run as the module stance.reader, so that what it sends unpickles as stance.reader's classes.
    from stance.reader import main as serve

    serve()
