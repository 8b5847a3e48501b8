"""The corpus checker: it passes on the committed data and fails, readably, on broken data."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "scripts" / "check_data.py"


def run(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECKER), str(data_dir)], capture_output=True, text=True, timeout=300
    )


def test_committed_data_passes() -> None:
    done = run(ROOT / "data")
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("OK")


def test_broken_data_fails_with_every_problem_listed(tmp_path: Path) -> None:
    def row(i: int, text: str, label: str, topic: str, **extra) -> dict:
        return {
            "id": f"x{i}",
            "text": text,
            "label": label,
            "topic": topic,
            "style": "wire report",
            "hard": False,
            **extra,
        }

    train = [
        row(0, "The Kremlin rejected the accusations as groundless on Monday.", "denial", "a"),
        row(1, "The Kremlin rejected the accusations as groundless on Tuesday.", "denial", "a"),
        row(2, "Police said the strike killed four people.", "blame", "b", article="b-1", position=3),
    ]
    dev = [row(2, "Investigators reached the site at dawn.", "factual-report", "a")]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dev))
    done = run(tmp_path)
    assert done.returncode == 1
    for expected in (
        "test.jsonl: missing",
        "unknown label 'blame'",
        "id 'x2' occurs 2 times",
        "story 'a' is in both train and dev",
        "near-duplicate (0.77)",
        "article b-1: positions are not 0..0",
        "train: 3 sentences, need at least 8000",
    ):
        assert expected in done.stdout, expected


def test_data_card_quotes_the_counts_of_the_committed_files() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from data_stats import tables

    card = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for table in tables(ROOT / "data"):
        assert table in card


def test_data_card_learning_curve_rows_match_the_subsets_of_train(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    from learning_curve import subset

    card = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([\d.]+)% \| (\d+) \| ([\d,]+) \| 0\.\d+ \| 0\.\d+ \|$", card, re.MULTILINE)
    assert [float(share) for share, _, _ in rows] == [12.5, 25, 50, 100]
    for share, stories, sentences in rows:
        _, kept, chosen = subset(ROOT / "data" / "train.jsonl", float(share) / 100, 0, tmp_path)
        assert (kept, chosen) == (int(stories), int(sentences.replace(",", "")))
