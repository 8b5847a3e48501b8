"""Check one or more story part files written for data/ (writers' tool, stdlib only).

Usage: python3 scripts/check_part.py SLUG.txt|data/parts/SLUG.jsonl [more files]
A .txt story file (see WRITING FORMAT below) is first converted to data/parts/SLUG.jsonl.
Checks schema, labels, article shape, label mix, hard-case share, and near-duplicates
(character 5-gram Jaccard > 0.5) within the files and against every other file in data/parts/.
"""

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

LABELS = ("accusation", "denial", "demand-for-investigation", "factual-report")
STYLES = (
    "wire report",
    "official statement",
    "direct quote",
    "headline",
    "analysis",
    "court or legal",
    "press release",
    "interview",
)
KEYS = {"text", "label", "topic", "style", "hard"}
OPTIONAL = {"article", "position"}


CODES = {"ACC": "accusation", "DEN": "denial", "DEM": "demand-for-investigation", "FAC": "factual-report"}
STYLE_CODES = {
    "wire": "wire report",
    "official": "official statement",
    "quote": "direct quote",
    "headline": "headline",
    "analysis": "analysis",
    "court": "court or legal",
    "release": "press release",
    "interview": "interview",
}
# WRITING FORMAT, one story a file named SLUG.txt (SLUG is the story's topic slug):
#   @article NAME        starts a whole article (its sentences follow, in order)
#   @singles             starts the targeted single sentences
#   LABEL STYLE HARD text   e.g.  DEN quote h "What are these claims based on?"
# LABEL: ACC DEN DEM FAC; STYLE: wire official quote headline analysis court release
# interview; HARD: h (hard case) or - ; blank lines and lines starting with # are skipped.


def convert(txt: Path, problems: list[str]) -> Path:
    topic = txt.stem
    rows, article, position = [], None, 0
    for n, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@article"):
            article, position = f"{topic}--{line.split(maxsplit=1)[1].strip()}", 0
            continue
        if line.startswith("@singles"):
            article = None
            continue
        parts = line.split(maxsplit=3)
        if (
            len(parts) < 4
            or parts[0] not in CODES
            or parts[1] not in STYLE_CODES
            or parts[2] not in ("h", "-")
        ):
            problems.append(f"{txt.name}:{n}: cannot read line {line[:60]!r}")
            continue
        if parts[3].startswith(("- ", "-\t")):
            problems.append(f"{txt.name}:{n}: text starts with '- ' (write LABEL STYLE HARD text, no dash)")
        row = {
            "text": parts[3],
            "label": CODES[parts[0]],
            "topic": topic,
            "style": STYLE_CODES[parts[1]],
            "hard": parts[2] == "h",
        }
        if article:
            row.update(article=article, position=position)
            position += 1
        rows.append(row)
    out = Path(__file__).resolve().parent.parent / "data" / "parts" / f"{topic}.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return out


def shingles(text: str) -> set[str]:
    t = " ".join(text.lower().split())
    return {t[i : i + 5] for i in range(max(1, len(t) - 4))}


def load(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{n}"
        if not line.strip():
            problems.append(f"{where}: empty line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: bad JSON ({e})")
            continue
        missing = KEYS - row.keys()
        extra = row.keys() - KEYS - OPTIONAL
        if missing:
            problems.append(f"{where}: missing keys {sorted(missing)}")
        if extra:
            problems.append(f"{where}: unknown keys {sorted(extra)}")
        if row.get("label") not in LABELS:
            problems.append(f"{where}: bad label {row.get('label')!r}")
        if row.get("style") not in STYLES:
            problems.append(f"{where}: bad style {row.get('style')!r}")
        if not isinstance(row.get("hard"), bool):
            problems.append(f"{where}: hard must be true/false")
        if not str(row.get("text", "")).strip():
            problems.append(f"{where}: empty text")
        if ("article" in row) != ("position" in row):
            problems.append(f"{where}: article and position go together")
        row["_where"] = where
        rows.append(row)
    return rows


def check_articles(rows: list[dict], problems: list[str]) -> None:
    articles = defaultdict(list)
    for row in rows:
        if "article" in row:
            articles[row["article"]].append(row["position"])
    for slug, positions in articles.items():
        if sorted(positions) != list(range(len(positions))):
            problems.append(f"article {slug}: positions must be 0..n-1, got {sorted(positions)}")
        if not 10 <= len(positions) <= 25:
            problems.append(f"article {slug}: {len(positions)} sentences (need 10-25)")


def near_duplicates(new: list[dict], others: list[dict], problems: list[str]) -> None:
    """Prefix filtering: pairs with Jaccard > 0.5 must share one of their rarest shingles."""
    pool = others + new
    sets = [shingles(r["text"]) for r in pool]
    freq = Counter(g for s in sets for g in s)
    index = defaultdict(list)
    prefixes = []
    for i, s in enumerate(sets):
        ordered = sorted(s, key=lambda g: (freq[g], g))
        prefix = ordered[: len(s) - int(0.5 * len(s)) + 1]
        prefixes.append(prefix)
        for g in prefix:
            index[g].append(i)
    start = len(others)
    for i in range(start, len(pool)):
        candidates = {j for g in prefixes[i] for j in index[g] if j < i}
        for j in candidates:
            jac = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if jac > 0.5:
                problems.append(
                    f"near-duplicate ({jac:.2f}): {pool[i]['_where']} {pool[i]['text']!r} ~ "
                    f"{pool[j]['_where']} {pool[j]['text']!r}"
                )


def main(paths: list[str]) -> int:
    problems: list[str] = []
    targets = [Path(p).resolve() for p in paths]
    targets = [convert(p, problems).resolve() if p.suffix == ".txt" else p for p in targets]
    new = [r for p in targets for r in load(p, problems)]
    parts_dir = Path(__file__).resolve().parent.parent / "data" / "parts"
    others = []
    for p in sorted(parts_dir.glob("*.jsonl")):
        if p.resolve() not in targets:
            others += load(p, [])
    check_articles(new, problems)
    near_duplicates(new, others, problems)
    labels = Counter(r.get("label") for r in new)
    total = max(1, len(new))
    in_articles = sum("article" in r for r in new)
    hard = sum(r.get("hard") is True for r in new)
    print(f"{len(new)} sentences, {in_articles} in articles, {hard} hard ({hard / total:.0%})")
    for label in LABELS:
        print(f"  {label:26s} {labels[label]:4d}  {labels[label] / total:.0%}")
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
