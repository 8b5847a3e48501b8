"""Print the data card's count tables from data/*.jsonl (tests check the card quotes them verbatim).

Usage: python scripts/data_stats.py [DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

LABELS = ("accusation", "denial", "demand-for-investigation", "factual-report")
SPLITS = ("train", "dev", "test")


def load(data_dir: Path) -> dict[str, list[dict]]:
    return {
        name: [
            json.loads(line) for line in (data_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for name in SPLITS
    }


def label_table(splits: dict[str, list[dict]]) -> str:
    rows = ["| split | sentences | " + " | ".join(LABELS) + " | hard |", "|---" * (len(LABELS) + 3) + "|"]
    for name, records in [*splits.items(), ("all", [r for rs in splits.values() for r in rs])]:
        counts = Counter(r["label"] for r in records)
        total = len(records)
        cells = " | ".join(f"{counts[label]:,} ({counts[label] / total:.1%})" for label in LABELS)
        hard = sum(r["hard"] for r in records)
        rows.append(f"| {name} | {total:,} | {cells} | {hard:,} ({hard / total:.1%}) |")
    return "\n".join(rows)


def shape_table(splits: dict[str, list[dict]]) -> str:
    rows = [
        "| split | stories | whole articles | sentences in articles | single sentences |",
        "|---|---|---|---|---|",
    ]
    for name, records in [*splits.items(), ("all", [r for rs in splits.values() for r in rs])]:
        articles = {r["article"] for r in records if "article" in r}
        in_articles = sum("article" in r for r in records)
        stories = len({r["topic"] for r in records})
        rows.append(
            f"| {name} | {stories} | {len(articles)} | {in_articles:,} ({in_articles / len(records):.1%}) "
            f"| {len(records) - in_articles:,} |"
        )
    return "\n".join(rows)


def style_table(splits: dict[str, list[dict]]) -> str:
    every = [r for rs in splits.values() for r in rs]
    counts = Counter(r["style"] for r in every)
    rows = ["| style | sentences |", "|---|---|"]
    rows += [f"| {style} | {n:,} ({n / len(every):.1%}) |" for style, n in counts.most_common()]
    return "\n".join(rows)


def tables(data_dir: Path) -> list[str]:
    splits = load(data_dir)
    return [label_table(splits), shape_table(splits), style_table(splits)]


def main(argv: list[str]) -> None:
    data_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "data"
    print("\n\n".join(tables(data_dir)))


if __name__ == "__main__":
    main(sys.argv[1:])
