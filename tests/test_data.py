from pathlib import Path

import pytest

from stance.data import DataError, Example, find_overlaps, read_examples


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_reads_jsonl_and_csv_with_custom_columns(tmp_path: Path) -> None:
    jsonl = write(tmp_path / "a.jsonl", '{"sentence": "They denied it.", "stance": "denial"}\n\n')
    csv = write(tmp_path / "a.csv", 'sentence,stance\n"He said, ""probe it.""",demand-for-investigation\n')
    assert read_examples(jsonl, "sentence", "stance") == [Example("They denied it.", "denial", f"{jsonl}:1")]
    [example] = read_examples(csv, "sentence", "stance")
    assert example.text == 'He said, "probe it."' and example.label == "demand-for-investigation"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "a.jsonl",
            '{"text": "ok", "label": "denial"}\n{"text": "x", "label": "blame"}\n',
            ":2: unknown label 'blame'",
        ),
        (
            "a.jsonl",
            '{"text": "ok", "label": "denial"}\n{"text": "  ", "label": "denial"}\n',
            ":2: empty or missing text",
        ),
        ("a.jsonl", '{"text": "ok", "label": "denial"}\n{"text": "ok", label}\n', ":2: bad JSON"),
        ("a.jsonl", '{"text": "ok"}\n', ":1: missing field(s) 'label'"),
        ("a.jsonl", '["text", "denial"]\n', ":1: expected a JSON object"),
        ("a.csv", "text,stance\nhello,denial\n", ":1: missing column(s) 'label'"),
        ("a.csv", "text,label\nhello,denial\n,denial\n", ":3: empty or missing text"),
        ("a.txt", "hello\n", "unsupported file type"),
        ("a.jsonl", "", "no labelled sentences"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(DataError) as error:
        read_examples(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.jsonl", b'{"text": "ok", "label": "denial"}\n{"text": "caf\xe9", "label": "denial"}\n'
    )
    with pytest.raises(DataError, match=r"a\.jsonl:2: not valid UTF-8"):
        read_examples(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_examples(tmp_path / "missing.jsonl")


def test_overlaps_are_found_ignoring_case_and_spaces() -> None:
    train = [Example("The army  denied it.", "denial", "t:1"), Example("Other.", "denial", "t:2")]
    dev = [Example("the army denied it.", "denial", "d:1")]
    assert find_overlaps(train, dev) == [(train[0], dev[0])]
