"""Sentence-level stance labels for news text: accusation, denial, demand-for-investigation,
factual-report."""

from typing import TYPE_CHECKING, Any

from stance.labels import LABELS

if TYPE_CHECKING:
    from stance.model import Prediction, StanceClassifier

__all__ = ["LABELS", "Prediction", "StanceClassifier"]


def __getattr__(name: str) -> Any:
    # The model module, and torch with it, loads on first use: the reader process of stance.predict
    # imports stance modules without needing either.
    if name in ("Prediction", "StanceClassifier"):
        from stance import model

        return getattr(model, name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")
