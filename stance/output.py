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

    def write(self, chunk: list[Sentence], probs: np.ndarray) -> None:
        rows, best = probs.tolist(), probs.argmax(axis=1).tolist()
        if self.fmt == "jsonl":
            self.stream.write("".join(map(_jsonl_line, chunk, rows, best)))
        else:
            for sentence, row_probs, top in zip(chunk, rows, best):
                row = {
                    "id": sentence.doc_id,
                    "sentence": sentence.number,
                    "start": sentence.start,
                    "end": sentence.end,
                    "text": sentence.text,
                    "label": LABELS[top],
                    "probabilities": {label: round(p, 6) for label, p in zip(LABELS, row_probs)},
                }
                self.write_row([sentence.ordinal, row] if self.fmt == "parts" else row)
        self.stream.flush()
        if self.stream is not sys.stdout:
            os.fsync(self.stream.fileno())

    def write_row(self, row: Any) -> None:
        if self.csv:
            self.csv.writerow([*[row[c] for c in CSV_COLUMNS[:6]], *row["probabilities"].values()])
        else:
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")

    def tell(self) -> int:
        return self.stream.tell() if self.stream is not sys.stdout else 0


def _jsonl_line(sentence: Sentence, probs: list[float], top: int) -> str:
    """The same line as json.dumps(row) would give, built directly: this is the hot loop."""
    p = ", ".join(f'"{label}": {round(value, 6)!r}' for label, value in zip(LABELS, probs))
    return (
        f'{{"id": {_dumps(sentence.doc_id)}, "sentence": {sentence.number}, "start": {sentence.start}, '
        f'"end": {sentence.end}, "text": {_dumps(sentence.text)}, "label": "{LABELS[top]}", '
        f'"probabilities": {{{p}}}}}\n'
    )


_dumps = json.JSONEncoder(ensure_ascii=False).encode


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

    def record(self, writer: RowWriter, last: Sentence, count: int) -> None:
        self.sentences_done += count
        self.bytes = writer.tell()
        self.next_position = (last.ordinal, last.number + 1)
        self._save()

    def finish(self) -> None:
        self.complete = True
        self._save()

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
