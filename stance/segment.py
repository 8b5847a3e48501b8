"""Documents to sentences with character offsets, by syntok.

syntok was chosen by `scripts/bench_segment.py` on our own whole articles (quotes that open and
close mid-paragraph, "U.S.", "Mr.", datelines): it found the gold sentences best of pysbd,
blingfire, nupunkt and syntok.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import syntok.segmenter as syntok


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int  # document[start:end] == text


DASHES = ("-", "\u2013", "\u2014")
# A dateline that syntok cuts off as sentences of its own: "BISHKEK, April 14.", "/TASS/." or both.
PLACE_DATE = r"[A-Z][A-Z'\- ]+, [A-Z][a-z]{2,8}\.? \d{1,2}\."
DATELINE = re.compile(rf"(?:{PLACE_DATE}|(?:{PLACE_DATE} )?/[A-Z][A-Za-z-]+/\.)")


def split_sentences(document: str) -> list[Sentence]:
    """Sentences of `document` in order, each with offsets that slice back to it exactly."""
    sentences: list[Sentence] = []
    for paragraph in syntok.analyze(document):
        for tokens in paragraph:
            if not tokens:
                continue
            start = tokens[0].offset
            end = tokens[-1].offset + len(tokens[-1].value)
            if sentences and _continues_dateline(sentences[-1], document[start:end]):
                start = sentences.pop().start
            if document[start:end].strip():
                sentences.append(Sentence(text=document[start:end], start=start, end=end))
    return sentences


def _continues_dateline(previous: Sentence, text: str) -> bool:
    """True where syntok cut a dateline off its sentence: "WASHINGTON (Reuters) - The ..." after
    the agency, or "BISHKEK, April 14. /TASS/. Russia ..." into pieces; they are joined back."""
    if DATELINE.fullmatch(previous.text):
        return True
    return previous.text.endswith(")") and text.startswith(DASHES) and "." not in previous.text[-12:]
