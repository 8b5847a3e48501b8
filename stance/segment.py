"""Documents to sentences with character offsets, by syntok.

syntok was chosen by `scripts/bench_segment.py` on our own whole articles (quotes that open and
close mid-paragraph, "U.S.", "Mr.", datelines): it found the gold sentences best of pysbd,
blingfire, nupunkt and syntok.
"""

from __future__ import annotations

from dataclasses import dataclass

import syntok.segmenter as syntok


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int  # document[start:end] == text


def split_sentences(document: str) -> list[Sentence]:
    """Sentences of `document` in order, each with offsets that slice back to it exactly."""
    sentences = []
    for paragraph in syntok.analyze(document):
        for tokens in paragraph:
            if not tokens:
                continue
            start = tokens[0].offset
            end = tokens[-1].offset + len(tokens[-1].value)
            text = document[start:end]
            if text.strip():
                sentences.append(Sentence(text=text, start=start, end=end))
    return sentences
