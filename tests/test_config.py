from pathlib import Path

import pytest

from stance.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_a_file() -> None:
    assert load_config() == Config()


def test_overrides_convert_to_field_types() -> None:
    cfg = load_config(
        ROOT / "configs" / "default.yaml",
        ["training.lr=3e-5", "training.epochs=2", "output_dir=runs/x", "resume=true", "data.test="],
    )
    assert cfg.training.lr == pytest.approx(3e-5) and isinstance(cfg.training.lr, float)
    assert cfg.training.epochs == 2
    assert cfg.output_dir == "runs/x"
    assert cfg.resume is True
    assert cfg.data.test == ""


def test_yaml_string_exponent_becomes_float(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("training:\n  lr: 3e-5\n")  # PyYAML reads this as a string
    assert load_config(path).training.lr == pytest.approx(3e-5)


@pytest.mark.parametrize(
    ("override", "named"),
    [("training.epoch=2", "training.epoch"), ("colour=red", "colour"), ("data.bogus.x=1", "data.bogus")],
)
def test_unknown_keys_are_errors_that_name_them(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(None, [override])


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("training.epochs=two", "training.epochs"),
        ("resume=maybe", "resume"),
        ("training.lr=fast", "training.lr"),
        ("training.precision=fp8", "training.precision"),
    ],
)
def test_wrong_types_are_errors_that_name_the_key(override: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(None, [override])


def test_override_without_equals_is_an_error() -> None:
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["training.epochs"])


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_config_file_loads(path: Path) -> None:
    assert isinstance(load_config(path), Config)


def test_default_yaml_lists_every_field() -> None:
    import dataclasses

    import yaml

    written = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text())
    for f in dataclasses.fields(Config):
        assert f.name in written
        value = getattr(Config(), f.name)
        if dataclasses.is_dataclass(value):
            assert set(written[f.name]) == {g.name for g in dataclasses.fields(value)}


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
