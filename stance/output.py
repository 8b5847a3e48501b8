"""Writing labelled sentences (JSONL, CSV, or per-process parts) and the resumable progress record."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from stance.labels import LABELS

FINGERPRINT_KEYS = (
    "model",
    "inputs",
    "out",
    "format",
    "sentences",
    "text_field",
    "id_field",
    "max_length",
    "processes",
)
CSV_COLUMNS = ["id", "sentence", "start", "end", "text", "label", *[f"p_{label}" for label in LABELS]]


class Sentence(NamedTuple):
    ordinal: int  # the document's position in the corpus
    doc_id: str
    number: int  # the sentence's position in its document
    start: int
    end: int
    text: str


@dataclass
class Sentences:
    """A chunk of sentences as columns, which pickle in a fifth of the time of tuples or less."""

    ordinals: list[int]
    doc_ids: list[str]
    numbers: list[int]
    starts: list[int]
    ends: list[int]
    texts: list[str]

    @classmethod
    def from_rows(cls, rows: list[Sentence]) -> Sentences:
        return cls(*map(list, zip(*rows))) if rows else cls([], [], [], [], [], [])

    def __len__(self) -> int:
        return len(self.texts)


def format_for(out: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    if out == "-":
        return "jsonl"
    suffix = Path(out).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise ValueError(f"cannot tell the output format from {out!r}; use .jsonl or .csv, or --format")


class RowWriter:
    """Writes rows in one format to an open text stream; `write` flushes a whole chunk."""

    def __init__(self, stream: IO[str], fmt: str, fresh: bool) -> None:
        self.stream, self.fmt = stream, fmt
        self.csv = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
        if self.csv and fresh:
            self.csv.writerow(CSV_COLUMNS)

    def write(self, chunk: Sentences, probs: np.ndarray) -> None:
        rows, best = probs.tolist(), probs.argmax(axis=1).tolist()
        columns = (chunk.doc_ids, chunk.numbers, chunk.starts, chunk.ends, chunk.texts, rows, best)
        if self.csv:
            self.csv.writerows(map(_csv_row, *columns))
        else:
            lines = map(_jsonl_line, *columns)
            if self.fmt == "parts":  # led by the document ordinal, for the merge
                lines = map("{}\t{}".format, chunk.ordinals, lines)
            self.stream.write("".join(lines))
        self.stream.flush()
        if self.stream is not sys.stdout:
            os.fsync(self.stream.fileno())

    def write_line(self, line: str) -> None:
        """Write one JSONL line (as this writer's JSONL format makes it) in this writer's format."""
        if self.csv:
            row = json.loads(line)
            fields = (row["id"], row["sentence"], row["start"], row["end"], row["text"])
            probs = list(row["probabilities"].values())
            self.csv.writerow(_csv_row(*fields, probs, LABELS.index(row["label"])))
        else:
            self.stream.write(line)

    def tell(self) -> int:
        return self.stream.tell() if self.stream is not sys.stdout else 0


_PROBABILITIES = ", ".join(f'"{label}": %.6f' for label in LABELS)
_JSONL_FORMAT = (
    '{"id": %s, "sentence": %d, "start": %d, "end": %d, "text": %s, "label": "%s", '
    f'"probabilities": {{{_PROBABILITIES}}}}}\n'
)
_dumps = json.encoder.encode_basestring  # what json.dumps(str, ensure_ascii=False) calls


def _jsonl_line(
    doc_id: str, number: int, start: int, end: int, text: str, probs: list[float], top: int
) -> str:
    """One output record as a JSON line, built by one format operation: this is the hot loop."""
    return _JSONL_FORMAT % (_dumps(doc_id), number, start, end, _dumps(text), LABELS[top], *probs)


def _csv_row(
    doc_id: str, number: int, start: int, end: int, text: str, probs: list[float], top: int
) -> list[Any]:
    return [doc_id, number, start, end, text, LABELS[top], *[f"{p:.6f}" for p in probs]]


@contextlib.contextmanager
def open_output(path: Path, fmt: str, append: bool, truncate_at: int = 0) -> Iterator[RowWriter]:
    """A RowWriter on `path` (or stdout for '-'); when appending, first cut off any partial chunk."""
    if str(path) == "-":
        yield RowWriter(sys.stdout, fmt, fresh=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if append:
        with open(path, "r+b") as raw:
            raw.truncate(truncate_at)
    with open(path, "a" if append else "w", encoding="utf-8", newline="") as stream:
        yield RowWriter(stream, fmt, fresh=not append)


@dataclass
class Progress:
    """OUT.progress.json: how many sentences of which run are safely in OUT, and where to go on."""

    path: Path | None
    fingerprint: dict[str, Any]
    sentences_done: int = 0
    bytes: int = 0
    next_position: tuple[int, int] = (0, 0)
    complete: bool = False

    @classmethod
    def open(cls, out: Path, args: dict[str, Any], resume: bool, overwrite: bool) -> Progress:
        fingerprint = {k: args.get(k) for k in FINGERPRINT_KEYS}
        if str(out) == "-":
            if resume:
                raise ValueError("--resume needs an output file, not stdout")
            return cls(None, fingerprint)
        path = Path(f"{out}.progress.json")
        if resume and path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved["fingerprint"] != fingerprint:
                raise ValueError(
                    f"cannot resume {out}: it was started with other inputs or options "
                    f"({saved['fingerprint']})"
                )
            return cls(
                path,
                fingerprint,
                saved["sentences_done"],
                saved["bytes"],
                tuple(saved["next_position"]),
                saved["complete"],
            )
        if out.exists() and not resume and not overwrite:
            raise ValueError(f"{out} exists; use --resume to continue it or --overwrite to start again")
        progress = cls(path, fingerprint)
        progress._save()
        return progress

    def record(self, writer: RowWriter, chunk: Sentences) -> None:
        """After `chunk` has been written and flushed: it is done, and where to go on."""
        self.sentences_done += len(chunk)
        self.bytes = writer.tell()
        self.next_position = (chunk.ordinals[-1], chunk.numbers[-1] + 1)
        self._save()

    def finish(self) -> None:
        self.complete = True
        self._save()

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        if self.path is None:
            return
        state = {
            "fingerprint": self.fingerprint,
            "sentences_done": self.sentences_done,
            "bytes": self.bytes,
            "next_position": list(self.next_position),
            "complete": self.complete,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.path)
