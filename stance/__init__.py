"""Sentence-level stance labels for news text: accusation, denial, demand-for-investigation,
factual-report."""

from stance.labels import LABELS
from stance.model import Prediction, StanceClassifier

__all__ = ["LABELS", "Prediction", "StanceClassifier"]
