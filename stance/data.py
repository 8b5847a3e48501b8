"""The one reader for labelled sentence files (JSONL or CSV), shared by train, evaluate and baselines."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from stance.labels import LABELS

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv", ".tsv")


class DataError(ValueError):
    """Bad input data; the message names the file and, where it can, the line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str  # "path:line", for messages


def read_examples(path: str | Path, text_field: str = "text", label_field: str = "label") -> list[Example]:
    """Read and validate a labelled file; raise DataError naming file and line on bad input."""
    path = Path(path)
    records = read_records(path, required=(text_field, label_field))
    examples = [_example(record, line, path, text_field, label_field) for line, record in records]
    if not examples:
        raise DataError(f"{path}: no labelled sentences found")
    return examples


def find_overlaps(train: list[Example], other: list[Example]) -> list[tuple[Example, Example]]:
    """Pairs of sentences that occur (case- and space-insensitively) in both lists."""
    seen = {_normalise(e.text): e for e in train}
    return [(seen[key], e) for e in other if (key := _normalise(e.text)) in seen]


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _example(record: dict, line: int, path: Path, text_field: str, label_field: str) -> Example:
    where = f"{path}:{line}"
    text, label = record.get(text_field), record.get(label_field)
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: empty or missing text in column {text_field!r}")
    if label not in LABELS:
        raise DataError(f"{where}: unknown label {label!r}; expected one of {', '.join(LABELS)}")
    return Example(text=text.strip(), label=label, source=where)


def _decoded_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, expected a file") from None
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(f"{path}:{number}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    return raw.decode("utf-8-sig").split("\n")


def read_records(path: Path, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record) from a JSONL or CSV file, checking `required` columns."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _jsonl_records(path, required)
    elif suffix in CSV_SUFFIXES:
        yield from _csv_records(path, required, delimiter="\t" if suffix == ".tsv" else ",")
    else:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .jsonl or .csv")


def _jsonl_records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(_decoded_lines(path), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{number}: bad JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
        missing = [c for c in required if c not in record]
        if missing:
            raise DataError(f"{path}:{number}: missing field(s) {', '.join(map(repr, missing))}")
        yield number, record


def _csv_records(path: Path, required: tuple[str, ...], delimiter: str) -> Iterator[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO("\n".join(_decoded_lines(path))), delimiter=delimiter)
    columns = reader.fieldnames or []
    missing = [c for c in required if c not in columns]
    if missing:
        raise DataError(
            f"{path}:1: missing column(s) {', '.join(map(repr, missing))}; "
            f"the header has {', '.join(map(repr, columns)) or 'nothing'}"
        )
    try:
        for record in reader:
            if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
                continue
            yield reader.line_num, record
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num}: bad CSV ({e})") from None
