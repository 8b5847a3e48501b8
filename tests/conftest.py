"""Shared fixtures: a tiny random BERT saved as a local base model, and tiny labelled splits."""

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent

SENTENCES = {
    "accusation": [
        "police accused the army of the attack",
        "the minister blamed the rebels for the strike",
        "prosecutors charged the company with fraud",
        "the report said the army killed the villagers",
        "the union accused the company of hiding the leak",
        "the court convicted the mayor of fraud",
    ],
    "denial": [
        "the army denied the claims as lies",
        "the company rejected the accusations",
        "the ministry called the report groundless",
        "there is no evidence of the attack said the army",
        "the mayor denied any fraud",
        "the rebels dismissed the claims as lies",
    ],
    "demand-for-investigation": [
        "the union called for an inquiry into the leak",
        "the un demanded an independent investigation",
        "we insist on an investigation said the minister",
        "the families urged a probe into the strike",
        "the court was asked to order an audit",
        "the rebels called for an international inquiry",
    ],
    "factual-report": [
        "the meeting was held on monday",
        "the strike killed ten people on sunday",
        "the inquiry opened on monday in the capital",
        "the minister arrived in the capital",
        "ten people were injured in the leak",
        "the report was published on sunday",
    ],
}


def _words() -> list[str]:
    words = sorted({w for sents in SENTENCES.values() for s in sents for w in s.split()})
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", '"', *words]


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a vocab of a few dozen words."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "vocab.txt").write_text("\n".join(_words()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(_words()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def tiny_data(tmp_path: Path) -> dict[str, Path]:
    """Train (4 per label), dev and test (1 per label) from the fixture sentences."""
    train, dev, test = [], [], []
    for label, sents in SENTENCES.items():
        train += [{"text": s, "label": label} for s in sents[:4]]
        dev.append({"text": sents[4], "label": label})
        test.append({"text": sents[5], "label": label})
    return {
        "train": write_jsonl(tmp_path / "train.jsonl", train),
        "dev": write_jsonl(tmp_path / "dev.jsonl", dev),
        "test": write_jsonl(tmp_path / "test.jsonl", test),
    }


def tiny_overrides(base: Path, data: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return [
        f"base_model={base}",
        f"output_dir={out}",
        f"data.train={data['train']}",
        f"data.dev={data['dev']}",
        f"data.test={data['test']}",
        "max_length=32",
        "training.batch_size=4",
        "training.epochs=3",
        "training.lr=1e-3",
        "training.freeze_embeddings=false",
        "training.freeze_layers=1",  # exercise freezing, but leave one of the two layers to train
        *extra,
    ]


@pytest.fixture()
def trained_model(tiny_base: Path, tiny_data: dict[str, Path], tmp_path: Path) -> Path:
    from stance.config import load_config
    from stance.train import train

    cfg = load_config(
        ROOT / "configs" / "default.yaml", tiny_overrides(tiny_base, tiny_data, tmp_path / "model")
    )
    return train(cfg)
