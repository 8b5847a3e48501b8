"""Streaming corpus reader for inference: .txt files, folders, JSONL/CSV records or stdin.

Everything is read lazily, one document at a time, so memory stays flat for any corpus size.
Problems that should not stop a long run (undecodable bytes, empty files, records without
text) are counted in `Warnings` and reported at the end; problems that make the whole input
unusable (a missing file or column) raise `DataError`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple

from stance.data import CSV_SUFFIXES, JSONL_SUFFIXES, DataError

TEXT_SUFFIXES = (".txt",)
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class Document(NamedTuple):
    id: str
    text: str


class Warnings(Counter):
    """Counts of recoverable input problems, by description."""

    def report(self) -> str:
        return "; ".join(f"{count} {what}" for what, count in sorted(self.items()))


def iter_documents(
    inputs: list[str],
    warnings: Warnings,
    text_field: str = "text",
    id_field: str | None = None,
    lines_as_documents: bool = False,
) -> Iterator[Document]:
    """Documents from every input in order; folders are walked recursively in sorted order.

    With `lines_as_documents`, each line of a .txt file or stdin is its own document.
    """
    for name in inputs:
        if name == "-":
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="surrogateescape")
            yield from _text_documents("stdin", stream, warnings, lines_as_documents)
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
            if not files:
                warnings["folder(s) with no .txt files"] += 1
            for file in files:
                yield from _file_documents(file, warnings, text_field, id_field, lines_as_documents)
        elif path.is_file():
            yield from _file_documents(path, warnings, text_field, id_field, lines_as_documents)
        else:
            raise DataError(f"{path}: no such file or folder")


def _file_documents(
    path: Path, warnings: Warnings, text_field: str, id_field: str | None, lines_as_documents: bool
) -> Iterator[Document]:
    suffix = path.suffix.lower()
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        if suffix in JSONL_SUFFIXES:
            yield from _jsonl_documents(path, f, warnings, text_field, id_field)
        elif suffix in CSV_SUFFIXES:
            yield from _csv_documents(
                path, f, warnings, text_field, id_field, "\t" if suffix == ".tsv" else ","
            )
        else:
            yield from _text_documents(str(path), f, warnings, lines_as_documents)


def _text_documents(
    name: str, stream: IO[str], warnings: Warnings, lines_as_documents: bool
) -> Iterator[Document]:
    if lines_as_documents:
        seen = False
        for number, line in enumerate(stream, 1):
            seen = True
            line = _checked(line.rstrip("\r\n"), warnings)
            if line and not line.isspace():
                yield Document(f"{name}:{number}", line)
            else:
                warnings["empty lines skipped"] += 1
        if not seen:
            warnings["empty files"] += 1
        return
    text = _checked(stream.read(), warnings)
    if text.strip():
        yield Document(name, text)
    else:
        warnings["empty files"] += 1


def _jsonl_documents(
    path: Path, f: IO[str], warnings: Warnings, text_field: str, id_field: str | None
) -> Iterator[Document]:
    for number, line in enumerate(f, 1):
        if not line.strip():
            warnings["empty lines skipped"] += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{number}: bad JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        document = _record_document(record, f"{path}:{number}", warnings, text_field, id_field)
        if document:
            yield document


def _csv_documents(
    path: Path, f: IO[str], warnings: Warnings, text_field: str, id_field: str | None, delimiter: str
) -> Iterator[Document]:
    reader = csv.DictReader(f, delimiter=delimiter)
    columns = reader.fieldnames or []
    for column in (text_field, id_field):
        if column and column not in columns:
            raise DataError(f"{path}:1: no column {column!r}; the header has {', '.join(map(repr, columns))}")
    for record in reader:
        document = _record_document(record, f"{path}:{reader.line_num}", warnings, text_field, id_field)
        if document:
            yield document


def _record_document(
    record: dict, where: str, warnings: Warnings, text_field: str, id_field: str | None
) -> Document | None:
    text = record.get(text_field)
    if not isinstance(text, str) or not text.strip():
        warnings[f"records without text in {text_field!r} skipped"] += 1
        return None
    doc_id = str(record[id_field]) if id_field and record.get(id_field) not in (None, "") else where
    return Document(doc_id, _checked(text, warnings))


def _checked(text: str, warnings: Warnings) -> str:
    """Replace undecodable bytes (kept as surrogates by the reader) with U+FFFD, counting them."""
    if text.isascii():  # constant time in CPython, and most text is
        return text
    cleaned = _UNDECODABLE.sub("\ufffd", text)
    if cleaned != text:
        warnings["texts with undecodable bytes (replaced by U+FFFD)"] += 1
    return cleaned
