"""Cheaper methods to compare the fine-tuned model with, each trained on the same train split."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from stance.data import Example
from stance.labels import LABEL2ID
from stance.model import StanceClassifier

Baseline = Callable[[list[Example], list[str]], np.ndarray]


def majority(train: list[Example], texts: list[str]) -> np.ndarray:
    """Always the most frequent train label."""
    label = Counter(e.label for e in train).most_common(1)[0][0]
    return np.full(len(texts), LABEL2ID[label])


def tfidf_logreg(train: list[Example], texts: list[str]) -> np.ndarray:
    """Word 1-2 gram TF-IDF with balanced logistic regression."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced"),
    )
    pipeline.fit([e.text for e in train], [LABEL2ID[e.label] for e in train])
    return pipeline.predict(texts)


def embedding_logreg(base_model: str, sample: int = 0, batch_size: int = 64) -> Baseline:
    """Frozen mean-pooled sentence embeddings of the base model, then logistic regression;
    with `sample`, fitted on a stratified sample of that many train sentences."""

    def run(train: list[Example], texts: list[str]) -> np.ndarray:
        if sample and len(train) > sample:
            labels = [e.label for e in train]
            train, _ = train_test_split(train, train_size=sample, stratify=labels, random_state=0)
        encoder = StanceClassifier.from_base(base_model)
        encoder.model.eval()
        features = encoder.embed([e.text for e in train], batch_size)
        classifier = LogisticRegression(max_iter=3000, C=1.0, class_weight="balanced")
        classifier.fit(_normalise(features), [LABEL2ID[e.label] for e in train])
        return classifier.predict(_normalise(encoder.embed(texts, batch_size)))

    return run


def all_baselines(base_model: str | None, embedding_sample: int = 0, n_train: int = 0) -> dict[str, Baseline]:
    baselines: dict[str, Baseline] = {
        "majority class": majority,
        "TF-IDF + logistic regression": tfidf_logreg,
    }
    if base_model:
        name = "frozen embeddings + logistic regression"
        if 0 < embedding_sample < n_train:
            name += f" (fitted on {embedding_sample:,} of {n_train:,} train sentences)"
        baselines[name] = embedding_logreg(base_model, embedding_sample)
    return baselines


def _normalise(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
