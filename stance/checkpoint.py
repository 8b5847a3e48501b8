"""End-of-epoch checkpoints under OUTPUT_DIR/.checkpoint, so `resume=true` continues a run.

Layout: epoch-N/ (weights, optimizer and scheduler state, history), best.safetensors (weights of
the best epoch so far) and LATEST (the name of the newest complete epoch folder, replaced
atomically, so a crash mid-save leaves the previous checkpoint in force). The folder is removed
once the run has saved its model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_model, save_model

from stance.config import ConfigError

FOLDER = ".checkpoint"


def save_checkpoint(
    out: Path,
    model: torch.nn.Module,
    optimizer: Any,
    scheduler: Any,
    history: Any,
    epochs_done: int,
    is_best: bool,
    config: dict,
) -> None:
    root = out / FOLDER
    epoch_dir = root / f"epoch-{epochs_done}"
    epoch_dir.mkdir(parents=True, exist_ok=True)
    save_model(model, str(epoch_dir / "model.safetensors"))
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, epoch_dir / "state.pt"
    )
    state = {"epochs_done": epochs_done, "history": dataclasses.asdict(history), "config": config}
    (epoch_dir / "history.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    if is_best:
        _atomic_copy(epoch_dir / "model.safetensors", root / "best.safetensors")
    _atomic_write(root / "LATEST", epoch_dir.name)
    for old in root.glob("epoch-*"):
        if old != epoch_dir:
            shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(
    out: Path, model: torch.nn.Module, optimizer: Any, scheduler: Any, history: Any, config: dict
) -> int:
    """Restore the newest checkpoint into the given objects; return the epochs it had done."""
    root = out / FOLDER
    if not (root / "LATEST").is_file():
        print(f"no checkpoint in {root}; starting from the beginning")
        return 0
    epoch_dir = root / (root / "LATEST").read_text(encoding="utf-8").strip()
    state = json.loads((epoch_dir / "history.json").read_text(encoding="utf-8"))
    changed = sorted(k for k in _flat(config) if _flat(config)[k] != _flat(state["config"]).get(k))
    if changed:
        raise ConfigError(
            f"cannot resume {out}: the config changed since the checkpoint ({', '.join(changed)})"
        )
    load_model(model, str(epoch_dir / "model.safetensors"))
    saved = torch.load(epoch_dir / "state.pt", weights_only=True)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    for key, value in state["history"].items():
        setattr(history, key, value)
    return int(state["epochs_done"])


def load_best(out: Path, model: torch.nn.Module) -> None:
    best = out / FOLDER / "best.safetensors"
    if best.is_file():
        load_model(model, str(best))


def _flat(config: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        elif f"{prefix}{key}" != "resume":
            flat[f"{prefix}{key}"] = value
    return flat


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _atomic_copy(source: Path, target: Path) -> None:
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
