"""Fine-tune the classifier: `python -m stance.train [--config FILE] [key=value ...]`."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from stance.artifacts import calibrate, finish_run
from stance.checkpoint import load_best, load_checkpoint, save_checkpoint
from stance.config import DEFAULT_CONFIG, Config, ConfigError, config_to_dict, load_config
from stance.data import DataError, Example, find_overlaps, read_examples
from stance.errors import ModelError
from stance.labels import LABEL2ID, LABELS
from stance.metrics import confusion_matrix, macro_f1
from stance.model import StanceClassifier, autocast_dtype, resolve_device


@dataclass
class History:
    """What the loop has done so far; saved with every checkpoint so a resumed run continues it."""

    epochs: list[dict] = field(default_factory=list)
    best_f1: float = -1.0
    best_epoch: int = 0
    stale_epochs: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stance.train", description=__doc__)
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="YAML file (default: %(default)s)")
    parser.add_argument("overrides", nargs="*", help="dotted key=value, e.g. training.epochs=2")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
        train(cfg)
    except (ConfigError, DataError, ModelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ninterrupted: every finished epoch is checkpointed; add resume=true to the same command "
            "to go on from the last one",
            file=sys.stderr,
        )
        return 130
    return 0


def train(cfg: Config) -> Path:
    """Train, keep the best epoch by dev macro-F1, save the model directory and return its path."""
    started = time.perf_counter()
    out = Path(cfg.output_dir)
    accelerator = Accelerator(mixed_precision=_mixed_precision(cfg.training.precision))
    set_seed(cfg.seed)
    train_set, dev_set = _read_splits(cfg, accelerator)
    clf = StanceClassifier.from_base(cfg.base_model, cfg.max_length)
    clf.freeze(cfg.training.freeze_embeddings, cfg.training.freeze_layers)
    if cfg.training.dropout is not None:
        clf.set_dropout(cfg.training.dropout)
    train_ids = clf.encode([e.text for e in train_set])
    train_labels = np.array([LABEL2ID[e.label] for e in train_set])
    batches_per_epoch = len(_epoch_batches(train_ids, cfg, 0)) // accelerator.num_processes
    total_steps = cfg.training.epochs * batches_per_epoch
    if cfg.training.max_steps:
        total_steps = min(total_steps, cfg.training.max_steps)
    optimizer = _optimizer(clf.model, cfg)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.training.warmup_ratio * total_steps), max(1, total_steps)
    )
    model, optimizer, scheduler = accelerator.prepare(clf.model, optimizer, scheduler)
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=_class_weights(train_labels, cfg, accelerator), label_smoothing=cfg.training.label_smoothing
    )
    history, start_epoch = History(), 0
    if cfg.resume:
        start_epoch = load_checkpoint(
            out, accelerator.unwrap_model(model), optimizer, scheduler, history, config_to_dict(cfg)
        )
        accelerator.print(f"resuming after epoch {start_epoch}")
    step = start_epoch * batches_per_epoch
    best_dev_logits: np.ndarray | None = None  # reused by calibration; None after a resume
    for epoch in range(start_epoch, cfg.training.epochs):
        if step >= total_steps or history.stale_epochs >= cfg.training.patience:
            break
        epoch_start = time.perf_counter()
        set_seed(cfg.seed + epoch)  # the epoch's order and dropout do not depend on a resume
        batches = _epoch_batches(train_ids, cfg, epoch)[
            accelerator.process_index :: accelerator.num_processes
        ]
        model.train()
        losses = []
        bar = tqdm(
            batches[:batches_per_epoch],
            desc=f"epoch {epoch + 1}/{cfg.training.epochs}",
            disable=not accelerator.is_local_main_process,
            leave=False,
        )
        for rows in bar:
            if step >= total_steps:
                break
            loss = _train_step(
                clf, model, loss_fn, train_ids, train_labels, rows, accelerator, cfg.training.max_grad_norm
            )
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss)
            step += 1
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
        dev_f1, dev_logits = _dev_macro_f1(clf, dev_set, cfg)
        _record_epoch(history, epoch, float(np.mean(losses)), dev_f1, time.perf_counter() - epoch_start)
        if history.best_epoch == epoch + 1:
            best_dev_logits = dev_logits
        accelerator.print(
            f"epoch {epoch + 1}/{cfg.training.epochs}  train loss {np.mean(losses):.4f}  "
            f"dev macro-F1 {dev_f1:.4f}{'  (best)' if history.best_epoch == epoch + 1 else ''}  "
            f"{time.perf_counter() - epoch_start:.0f} s"
        )
        if accelerator.is_main_process:
            save_checkpoint(
                out,
                accelerator.unwrap_model(model),
                optimizer,
                scheduler,
                history,
                epoch + 1,
                history.best_epoch == epoch + 1,
                config_to_dict(cfg),
            )
        accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        clf.model = accelerator.unwrap_model(model)
        load_best(out, clf.model)
        calibration = calibrate(clf, dev_set, cfg, best_dev_logits)
        finish_run(clf, cfg, history, calibration, train_set, dev_set, time.perf_counter() - started)
        shutil.rmtree(out / ".checkpoint", ignore_errors=True)
    accelerator.wait_for_everyone()
    accelerator.print(f"saved {out}  total time {time.perf_counter() - started:.0f} s")
    return out


def _mixed_precision(precision: str) -> str:
    device = resolve_device("auto")
    dtype = autocast_dtype(device, precision)
    return {None: "no", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def _read_splits(cfg: Config, accelerator: Accelerator) -> tuple[list[Example], list[Example]]:
    fields = (cfg.data.text_field, cfg.data.label_field)
    train_set = read_examples(cfg.data.train, *fields)
    dev_set = read_examples(cfg.data.dev, *fields)
    if cfg.data.train_limit:
        train_set = train_set[: cfg.data.train_limit]
    if cfg.data.dev_limit:
        dev_set = dev_set[: cfg.data.dev_limit]
    for name, other in [("dev", dev_set)] + ([("test", _read_test(cfg))] if cfg.data.test else []):
        overlaps = find_overlaps(train_set, other)
        if overlaps:
            shown = "; ".join(f"{a.source} = {b.source}" for a, b in overlaps[:5])
            accelerator.print(f"warning: {len(overlaps)} sentence(s) occur in both train and {name}: {shown}")
    counts = {label: sum(e.label == label for e in train_set) for label in LABELS}
    accelerator.print(f"train {len(train_set)} sentences {counts}, dev {len(dev_set)}")
    return train_set, dev_set


def _read_test(cfg: Config) -> list[Example]:
    path = Path(cfg.data.test)
    return read_examples(path, cfg.data.text_field, cfg.data.label_field) if path.is_file() else []


def _epoch_batches(ids: list[list[int]], cfg: Config, epoch: int) -> list[np.ndarray]:
    """Shuffled batches; with bucketing, each batch holds sentences of similar length."""
    size = cfg.training.batch_size
    rng = np.random.default_rng(cfg.seed + epoch)
    order = rng.permutation(len(ids))
    if cfg.training.length_bucketing:
        lengths = np.array([len(row) for row in ids])
        window = size * 50
        order = np.concatenate(
            [
                chunk[np.argsort(lengths[chunk], kind="stable")]
                for chunk in np.array_split(order, max(1, len(order) // window))
            ]
        )
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(batches)
    return batches


def _optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.Optimizer:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 else decay).append(param)  # biases and LayerNorm weights
    groups = [
        {"params": decay, "weight_decay": cfg.training.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    fused = torch.cuda.is_available() or resolve_device("auto").type == "cpu"
    return torch.optim.AdamW(groups, lr=cfg.training.lr, fused=fused)


def _class_weights(labels: np.ndarray, cfg: Config, accelerator: Accelerator) -> torch.Tensor | None:
    counts = np.bincount(labels, minlength=len(LABELS)).astype(float)
    mode = cfg.training.class_weights
    imbalanced = counts.min() == 0 or counts.max() / counts.min() > cfg.training.imbalance_ratio
    if mode == "none" or (mode == "auto" and not imbalanced):
        return None
    weights = counts.sum() / (len(LABELS) * np.maximum(counts, 1))
    accelerator.print("class weights: " + ", ".join(f"{label} {w:.2f}" for label, w in zip(LABELS, weights)))
    return torch.tensor(weights, dtype=torch.float32, device=accelerator.device)


def _train_step(
    clf: StanceClassifier,
    model: torch.nn.Module,
    loss_fn: torch.nn.Module,
    ids: list[list[int]],
    labels: np.ndarray,
    rows: np.ndarray,
    accelerator: Accelerator,
    max_grad_norm: float,
) -> float:
    input_ids, mask = clf.pad([ids[i] for i in rows])
    target = torch.from_numpy(labels[rows]).to(accelerator.device)
    with accelerator.autocast():
        logits = model(
            input_ids=input_ids.to(accelerator.device), attention_mask=mask.to(accelerator.device)
        ).logits
        loss = loss_fn(logits.float(), target)
    accelerator.backward(loss)
    if max_grad_norm > 0:
        accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
    return float(loss.detach())


def _dev_macro_f1(clf: StanceClassifier, dev_set: list[Example], cfg: Config) -> tuple[float, np.ndarray]:
    clf.model.eval()
    logits = clf.logits([e.text for e in dev_set], cfg.training.eval_batch_size)
    gold = np.array([LABEL2ID[e.label] for e in dev_set])
    return macro_f1(confusion_matrix(gold, logits.argmax(axis=1))), logits


def _record_epoch(history: History, epoch: int, loss: float, dev_f1: float, seconds: float) -> None:
    history.epochs.append(
        {"epoch": epoch + 1, "train_loss": loss, "dev_macro_f1": dev_f1, "seconds": round(seconds, 1)}
    )
    if dev_f1 > history.best_f1:
        history.best_f1, history.best_epoch, history.stale_epochs = dev_f1, epoch + 1, 0
    else:
        history.stale_epochs += 1


if __name__ == "__main__":
    sys.exit(main())
