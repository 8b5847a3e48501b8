"""Token ids without torch: encoders that cut sentences to max length, and padded batches.

Nothing here imports torch, so the reader process of `stance.predict` (see stance.reader) that
runs the classifier's encoder starts in a fraction of a second.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

# Sentences per batch, and per chunk (tokenized, length-sorted, labelled and handed out together),
# when none are given: a GPU needs large batches to be kept busy.
BATCH_SIZE, GPU_BATCH_SIZE = 64, 1024
CHUNK_SIZE, GPU_CHUNK_SIZE = 4096, 32768
TOKENS_PER_ROW = 64  # padded tokens per batch row on average; caps a batch's activation memory
# Sentences given to the Rust tokenizer at once: its results for a GPU chunk of 32,768 held 80 MB.
ENCODE_AT_ONCE = 4096
METADATA_FILE = "stance.json"  # what stance adds to a saved model folder: labels, max length, ...


class FastEncoder:
    """A fast tokenizer's Rust backend, called directly: texts -> (ids cut to max_length, number cut).

    Calling the backend directly saves the Python conversions of `tokenizer(...)`, which hold the
    GIL and halved the throughput of the GPU loop. Pickles as its serialized backend, so a reader
    process tokenizes exactly as the classifier does.
    """

    def __init__(self, serialized: str, max_length: int) -> None:
        self.serialized, self.max_length = serialized, max_length

    @functools.cached_property
    def backend(self) -> Tokenizer:
        # Built on first use: the main process of stance.predict only hands encoders on (40 ms each).
        backend = Tokenizer.from_str(self.serialized)
        backend.no_padding()
        backend.enable_truncation(self.max_length + 1)  # one over, to tell the cut ones
        return backend

    def __reduce__(self) -> tuple[Any, ...]:
        return FastEncoder, (self.serialized, self.max_length)

    def __call__(self, texts: list[str]) -> tuple[list[list[int]], int]:
        ids = []
        # encode_batch_fast skips the character offsets, which we never read: 12% less CPU here.
        encode = getattr(self.backend, "encode_batch_fast", self.backend.encode_batch)
        for start in range(0, len(texts), ENCODE_AT_ONCE):
            encodings = encode(texts[start : start + ENCODE_AT_ONCE])
            ids += [encoding.ids for encoding in encodings]
        return ids, cut_to_length(ids, self.max_length)


def saved_encoder(folder: Path, max_length: int | None = None) -> FastEncoder | None:
    """The encoder of a saved model folder with a fast tokenizer, made without transformers (None
    if it has no tokenizer.json). What the loaded classifier's `encoder` is expected to equal."""
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    return FastEncoder(Tokenizer.from_file(str(path)).to_str(), saved_max_length(folder, max_length))


def saved_max_length(folder: Path, asked: int | None = None) -> int:
    """Tokens per sentence for a saved model: as asked, else as trained (stance.json), else its
    tokenizer's limit; at most 512, the position embeddings of BERT-sized models."""
    config = folder / "tokenizer_config.json"
    tokenizer_limit = (
        json.loads(config.read_text(encoding="utf-8")).get("model_max_length") if config.is_file() else None
    )
    return min(int(asked or read_metadata(folder).get("max_length") or tokenizer_limit or 512), 512)


def read_metadata(folder: Path) -> dict[str, Any]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


class SlowEncoder:
    """The same for a tokenizer without a Rust backend, called through transformers."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, texts: list[str]) -> tuple[list[list[int]], int]:
        ids = self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length + 1,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        return ids, cut_to_length(ids, self.max_length)


def cut_to_length(ids: list[list[int]], max_length: int) -> int:
    """Cut rows longer than max_length in place, keeping the last ([SEP]) token; how many were cut."""
    over = [i for i, row in enumerate(ids) if len(row) > max_length]
    for i in over:
        ids[i] = ids[i][: max_length - 1] + ids[i][-1:]
    return len(over)


@dataclass
class Tokens:
    """A chunk's token ids end to end in one array (compact, and cheap to pass between processes)."""

    flat: np.ndarray  # int32
    lengths: np.ndarray  # int64, one per sentence

    @classmethod
    def from_lists(cls, ids: Sequence[list[int]]) -> Tokens:
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        return cls(flat, lengths)

    def __len__(self) -> int:
        return len(self.lengths)


@dataclass
class Packed:
    """A chunk's padded batches laid end to end in flat buffers, to reach the device in one copy."""

    ids: np.ndarray  # int64 token ids, the pad id in the padding
    mask: np.ndarray  # bool, True on tokens
    batches: list[tuple[int, int, int]]  # (start in the buffers, rows, width) of each batch


def pack(tokens: Tokens, plan: list[np.ndarray], pad_id: int) -> Packed:
    """Each batch of `plan` (row indices) padded to its longest row, all in one buffer."""
    lengths = tokens.lengths
    masks = [np.arange(lengths[batch].max()) < lengths[batch][:, None] for batch in plan]
    mask = np.concatenate([m.ravel() for m in masks]) if masks else np.zeros(0, dtype=bool)
    rows = np.concatenate(plan) if plan else np.zeros(0, dtype=np.int64)
    # Where each token of the rows, taken in plan order, sits in tokens.flat.
    row_lengths = lengths[rows]
    shift = (np.cumsum(lengths) - lengths)[rows] - (np.cumsum(row_lengths) - row_lengths)
    source = np.repeat(shift, row_lengths) + np.arange(int(row_lengths.sum()))
    flat_ids = np.full(mask.shape, pad_id, dtype=np.int64)
    flat_ids[mask] = tokens.flat[source]
    sizes = np.array([m.size for m in masks], dtype=np.int64)
    starts = (np.cumsum(sizes) - sizes).tolist()
    return Packed(flat_ids, mask, [(start, *m.shape) for start, m in zip(starts, masks)])


def batches(order: np.ndarray, lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of `order` (`lengths` are its rows' lengths, ascending) of at most
    batch_size rows and batch_size * TOKENS_PER_ROW padded tokens: long sentences come in smaller
    batches, so a batch's activations are bounded by that product rather than by max_length."""
    start = 0
    while start < len(order):
        window = lengths[start : start + batch_size]
        # Padded tokens of the first k rows = k times the k-th length, which grows with k.
        fits = np.arange(1, len(window) + 1) * window <= batch_size * TOKENS_PER_ROW
        stop = start + max(1, int(fits.sum()))
        yield order[start:stop]
        start = stop
