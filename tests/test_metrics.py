import numpy as np
import pytest

from stance.metrics import (
    accuracy,
    bootstrap_macro_f1,
    confusion_matrix,
    expected_calibration_error,
    fit_temperature,
    log_loss,
    macro_f1,
    per_label_scores,
)


def test_hand_computed_scores_with_a_label_never_predicted() -> None:
    gold = np.array([0, 0, 1, 1, 2, 3])
    pred = np.array([0, 1, 1, 1, 0, 3])  # label 2 is never predicted
    matrix = confusion_matrix(gold, pred)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    scores = per_label_scores(matrix)
    assert scores["accusation"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert scores["denial"]["precision"] == pytest.approx(2 / 3)
    assert scores["denial"]["f1"] == pytest.approx(0.8)
    assert scores["demand-for-investigation"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["factual-report"]["f1"] == 1.0
    assert macro_f1(matrix) == pytest.approx((0.5 + 0.8 + 0.0 + 1.0) / 4)
    assert accuracy(matrix) == pytest.approx(4 / 6)


def test_bootstrap_interval_brackets_the_score() -> None:
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 4, 400)
    pred = np.where(rng.random(400) < 0.8, gold, rng.integers(0, 4, 400))
    low, high = bootstrap_macro_f1(gold, pred, rounds=300)
    score = macro_f1(confusion_matrix(gold, pred))
    assert low < score < high
    assert high - low < 0.15


def test_ece_of_perfectly_calibrated_and_overconfident_predictions() -> None:
    gold = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    confident = np.eye(4)[gold]
    assert expected_calibration_error(confident, gold) == pytest.approx(0.0)
    wrong = np.eye(4)[(gold + 1) % 4]
    assert expected_calibration_error(wrong, gold) == pytest.approx(1.0)


def test_temperature_fit_softens_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 4, 500)
    logits = rng.normal(0, 1, (500, 4))
    logits[np.arange(500), gold] += 1.0
    logits *= 8  # far too confident
    temperature = fit_temperature(logits, gold)
    assert temperature > 2
    assert log_loss(logits, gold, temperature) < log_loss(logits, gold)
