"""Typed run configuration: dataclass defaults, overridden by a YAML file, then by `key=value`."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = "configs/default.yaml"


class ConfigError(ValueError):
    """A config file or override that names an unknown key or holds a value of the wrong type."""


@dataclass(frozen=True)
class DataConfig:
    train: str = "data/train.jsonl"
    dev: str = "data/dev.jsonl"
    test: str = "data/test.jsonl"
    text_field: str = "text"
    label_field: str = "label"
    train_limit: int = 0
    dev_limit: int = 0


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 1
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    class_weights: str = "auto"
    imbalance_ratio: float = 1.5
    label_smoothing: float = 0.1
    patience: int = 2
    max_steps: int = 0
    length_bucketing: bool = True
    precision: str = "auto"
    freeze_embeddings: bool = True
    freeze_layers: int = 2
    dropout: float | None = 0.0
    eval_batch_size: int = 64

    def __post_init__(self) -> None:
        _check_choice("training.class_weights", self.class_weights, ("auto", "balanced", "none"))
        _check_choice("training.precision", self.precision, ("auto", "fp32", "bf16", "fp16"))


@dataclass(frozen=True)
class Config:
    base_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    output_dir: str = "runs/default"
    max_length: int = 128
    seed: int = 13
    resume: bool = False
    calibrate: bool = True
    evaluate_test: bool = True
    baseline_sample: int = 4000
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"config key {key}: {value!r} is not one of {', '.join(choices)}")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults, then the YAML file at `path`, then dotted `key=value` overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_yaml(Path(path))
    for override in overrides or []:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {override!r} is not of the form key=value")
        _set_dotted(values, key.strip(), yaml.safe_load(raw) if raw.strip() else "")
    return _build(Config, values, prefix="")


def config_to_dict(cfg: Config) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def save_config(cfg: Config, path: Path) -> None:
    path.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False), encoding="utf-8")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return loaded


def _set_dotted(values: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
    node[leaf] = value


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a section of keys")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        names = ", ".join(prefix + k for k in unknown)
        raise ConfigError(f"unknown config key(s): {names}; known: {', '.join(sorted(known))}")
    kwargs = {}
    for name, raw in values.items():
        kind = hints[name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            kwargs[name] = _build(kind, raw, prefix=f"{prefix}{name}.")
        else:
            kwargs[name] = _convert(raw, kind, prefix + name)
    return cls(**kwargs)


def _convert(raw: Any, kind: Any, key: str) -> Any:
    """Convert a YAML value to the field's type (PyYAML reads `3e-5` as a string)."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        if raw is None and type(None) in typing.get_args(kind):
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "yes", "no"):
            return raw.lower() in ("true", "yes")
    elif kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
    elif kind is float:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                pass
    elif kind is str and isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        return str(raw)
    raise ConfigError(f"config key {key}: expected {kind.__name__}, got {raw!r}")
