"""Check data/{train,dev,test}.jsonl against the corpus rules; exit 1 with every problem listed.

Rules: schema and labels; ids unique across splits; sizes (train >= 8,000, dev and test >= 1,000);
label balance in every split (accusation, denial and demand-for-investigation >= 15% each,
factual-report <= 45%); hard cases >= 15% of every split; whole articles of 10-25 sentences with
positions 0..n-1, >= 500 of them holding >= 70% of all sentences; >= 120 stories, none over 3% of
train; dev and test stories absent from train and from each other; no two sentences anywhere with
character 5-gram Jaccard similarity above 0.5.

Usage: python scripts/check_data.py [DATA_DIR]      (needs numpy and scipy)
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

LABELS = ("accusation", "denial", "demand-for-investigation", "factual-report")
STYLES = {
    "wire report",
    "official statement",
    "direct quote",
    "headline",
    "analysis",
    "court or legal",
    "press release",
    "interview",
}
SPLITS = ("train", "dev", "test")
MIN_SIZE = {"train": 8000, "dev": 1000, "test": 1000}
REQUIRED = {"id": str, "text": str, "label": str, "topic": str, "style": str, "hard": bool}
NEAR_DUPLICATE = 0.5


def load(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: bad JSON ({e.msg})")
            continue
        for key, kind in REQUIRED.items():
            if not isinstance(row.get(key), kind):
                problems.append(f"{where}: field {key!r} missing or not {kind.__name__}")
        extra = set(row) - set(REQUIRED) - {"article", "position"}
        if extra:
            problems.append(f"{where}: unknown field(s) {sorted(extra)}")
        if ("article" in row) != ("position" in row):
            problems.append(f"{where}: 'article' and 'position' go together")
        if row.get("label") not in LABELS:
            problems.append(f"{where}: unknown label {row.get('label')!r}")
        if row.get("style") not in STYLES:
            problems.append(f"{where}: unknown style {row.get('style')!r}")
        if not str(row.get("text", "")).strip():
            problems.append(f"{where}: empty text")
        row["_where"] = where
        rows.append(row)
    return rows


def check_split(name: str, rows: list[dict], problems: list[str]) -> None:
    total = len(rows)
    if total < MIN_SIZE[name]:
        problems.append(f"{name}: {total} sentences, need at least {MIN_SIZE[name]}")
    if not total:
        return
    counts = Counter(r.get("label") for r in rows)
    for label in LABELS[:3]:
        if counts[label] / total < 0.15:
            problems.append(f"{name}: {label} is {counts[label] / total:.1%} of the split, need >= 15%")
    if counts["factual-report"] / total > 0.45:
        problems.append(f"{name}: factual-report is {counts['factual-report'] / total:.1%}, need <= 45%")
    hard = sum(r.get("hard") is True for r in rows)
    if hard / total < 0.15:
        problems.append(f"{name}: hard cases are {hard / total:.1%}, need >= 15%")


def check_articles(rows: list[dict], problems: list[str]) -> tuple[int, int]:
    positions = defaultdict(list)
    topics = defaultdict(set)
    for r in rows:
        if "article" in r:
            positions[r["article"]].append(r["position"])
            topics[r["article"]].add(r["topic"])
    for article, seen in positions.items():
        if sorted(seen) != list(range(len(seen))):
            problems.append(f"article {article}: positions are not 0..{len(seen) - 1}")
        if not 10 <= len(seen) <= 25:
            problems.append(f"article {article}: {len(seen)} sentences, need 10-25")
        if len(topics[article]) > 1:
            problems.append(f"article {article}: spans topics {sorted(topics[article])}")
    in_articles = sum(len(p) for p in positions.values())
    if len(positions) < 500:
        problems.append(f"{len(positions)} whole articles, need at least 500")
    if in_articles < 0.7 * len(rows):
        problems.append(f"{in_articles / len(rows):.1%} of sentences are in articles, need >= 70%")
    return len(positions), in_articles


def check_stories(by_split: dict[str, list[dict]], problems: list[str]) -> None:
    topics = {name: Counter(r["topic"] for r in rows) for name, rows in by_split.items()}
    every = set().union(*topics.values())
    if len(every) < 120:
        problems.append(f"{len(every)} stories, need at least 120")
    for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
        for topic in sorted(set(topics[a]) & set(topics[b])):
            problems.append(f"story {topic!r} is in both {a} and {b}")
    train_total = sum(topics["train"].values())
    for topic, count in topics["train"].items():
        if count > 0.03 * train_total:
            problems.append(f"story {topic!r} has {count / train_total:.1%} of train, need <= 3%")


def shingles(text: str) -> set[str]:
    t = " ".join(text.lower().split())
    return {t[i : i + 5] for i in range(max(1, len(t) - 4))}


def near_duplicates(rows: list[dict]) -> list[str]:
    """Every pair above the threshold, from shingle intersections computed as a sparse product."""
    import numpy as np
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    sets = [shingles(r["text"]) for r in rows]
    columns = [vocabulary.setdefault(g, len(vocabulary)) for s in sets for g in s]
    pointers = np.cumsum([0] + [len(s) for s in sets])
    matrix = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.int32), columns, pointers), shape=(len(sets), len(vocabulary))
    )
    sizes = np.diff(pointers)
    found = []
    for start in range(0, len(sets), 1000):
        overlap = (matrix[start : start + 1000] @ matrix.T).toarray()
        union = sizes[start : start + 1000, None] + sizes[None, :] - overlap
        for i, j in zip(*np.nonzero(overlap > NEAR_DUPLICATE * union), strict=True):
            a, b = start + i, j
            if a < b:
                found.append(
                    f"near-duplicate ({overlap[i, j] / union[i, j]:.2f}): {rows[a]['_where']} "
                    f"{rows[a]['text']!r} ~ {rows[b]['_where']} {rows[b]['text']!r}"
                )
    return found


def summary(by_split: dict[str, list[dict]], articles: int, in_articles: int) -> str:
    lines = []
    for name, rows in by_split.items():
        counts = Counter(r["label"] for r in rows)
        shares = ", ".join(f"{label} {counts[label] / max(1, len(rows)):.1%}" for label in LABELS)
        hard = sum(r["hard"] is True for r in rows) / max(1, len(rows))
        stories = len({r["topic"] for r in rows})
        lines.append(f"{name}: {len(rows)} sentences, {stories} stories, hard {hard:.1%}; {shares}")
    total = sum(len(rows) for rows in by_split.values())
    lines.append(
        f"{articles} whole articles hold {in_articles} of {total} sentences ({in_articles / total:.1%})"
    )
    return "\n".join(lines)


def check(data_dir: Path) -> tuple[list[str], str]:
    problems: list[str] = []
    by_split: dict[str, list[dict]] = {}
    for name in SPLITS:
        path = data_dir / f"{name}.jsonl"
        if not path.is_file():
            problems.append(f"{path}: missing")
            by_split[name] = []
            continue
        by_split[name] = load(path, problems)
    every = [r for rows in by_split.values() for r in rows]
    for identifier, count in Counter(r.get("id") for r in every).items():
        if count > 1:
            problems.append(f"id {identifier!r} occurs {count} times")
    for name, rows in by_split.items():
        check_split(name, rows, problems)
    articles, in_articles = check_articles(every, problems) if every else (0, 0)
    check_stories(by_split, problems)
    problems += near_duplicates(every)
    return problems, summary(by_split, articles, in_articles) if every else ""


def main(argv: list[str]) -> int:
    data_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "data"
    problems, text = check(data_dir)
    print(text)
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
