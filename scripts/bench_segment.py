"""Compare sentence segmenters on our own whole articles: accuracy and speed.

Each article in data/ (or data/parts/) is rebuilt by joining its gold sentences with a space
(a newline after the headline and, at random, between paragraphs); a segmenter scores a hit for
each gold sentence it returns exactly. Usage: python scripts/bench_segment.py [files...]
"""

import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path


def articles(paths: list[Path]) -> list[list[str]]:
    by_article = defaultdict(list)
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "article" in row:
                by_article[row["article"]].append((row["position"], row["text"]))
    return [[t for _, t in sorted(rows)] for rows in by_article.values()]


def rebuild(sentences: list[str], rng: random.Random) -> str:
    parts = [sentences[0], "\n\n"]
    for s in sentences[1:]:
        parts += [s, "\n\n" if rng.random() < 0.3 else " "]
    return "".join(parts).strip()


def segmenters() -> dict:
    import blingfire
    import nupunkt
    import pysbd
    import syntok.segmenter as syntok

    sbd = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def syntok_spans(text):
        for paragraph in syntok.analyze(text):
            for sentence in paragraph:
                tokens = list(sentence)
                yield tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)

    from stance.segment import split_sentences

    return {
        "stance (syntok + dateline join)": lambda t: [(s.start, s.end) for s in split_sentences(t)],
        "pysbd": lambda t: [(s.start, s.end) for s in sbd.segment(t)],
        "blingfire": lambda t: blingfire.text_to_sentences_and_offsets(t)[1],
        "syntok": lambda t: list(syntok_spans(t)),
        "nupunkt": lambda t: list(nupunkt.sent_spans(t)),
    }


def main(argv: list[str]) -> None:
    root = Path(__file__).resolve().parent.parent / "data"
    paths = [Path(p) for p in argv] or sorted(root.glob("*.jsonl")) or sorted(root.glob("parts/*.jsonl"))
    rng = random.Random(0)
    docs = [(arts, rebuild(arts, rng)) for arts in articles(paths)]
    n_gold = sum(len(a) for a, _ in docs)
    print(f"{len(docs)} articles, {n_gold} gold sentences")
    for name, split in segmenters().items():
        hits = predicted = 0
        start = time.perf_counter()
        for gold, text in docs:
            found = [text[a:b].strip() for a, b in split(text)]
            found = [s for s in found if s]
            predicted += len(found)
            hits += len(set(found) & set(gold))
        seconds = time.perf_counter() - start
        p, r = hits / max(1, predicted), hits / n_gold
        f1 = 2 * p * r / max(1e-9, p + r)
        print(f"{name:32s} precision {p:.3f} recall {r:.3f} F1 {f1:.3f}  {n_gold / seconds:,.0f} sentences/s")


if __name__ == "__main__":
    main(sys.argv[1:])
