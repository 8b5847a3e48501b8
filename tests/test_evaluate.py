import json
from pathlib import Path

from conftest import SENTENCES

from stance.baselines import embedding_logreg, majority, tfidf_logreg
from stance.data import Example
from stance.evaluate import main
from stance.labels import LABEL2ID


def test_report_files_have_the_expected_keys(trained_model: Path, tiny_data: dict, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["--model", str(trained_model), "--data", str(tiny_data["test"]), "--out", str(out)]) == 0
    for name in ("metrics.json", "report.md", "confusion.png", "calibration.png", "errors.jsonl"):
        assert (out / name).is_file(), name
    report = json.loads((out / "metrics.json").read_text())
    model = report["model"]
    assert {
        "accuracy",
        "macro_f1",
        "macro_f1_ci95",
        "per_label",
        "confusion_matrix",
        "expected_calibration_error",
        "calibration_bins",
    } <= set(model)
    assert set(report["baselines"]) == {
        "majority class",
        "TF-IDF + logistic regression",
        "frozen embeddings + logistic regression",
    }
    assert sum(map(sum, model["confusion_matrix"]["rows_gold_columns_predicted"])) == 4
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == round(4 * (1 - model["accuracy"]))
    confidences = [e["probabilities"][e["predicted"]] for e in errors]
    assert confidences == sorted(confidences, reverse=True)
    assert "Compared with baselines" in (out / "report.md").read_text()


def test_baselines_on_tiny_data(tiny_base: Path) -> None:
    train = [Example(s, label, "t") for label, sents in SENTENCES.items() for s in sents[:4]]
    train.append(Example("the union said nothing", "factual-report", "t"))
    texts = [sents[5] for sents in SENTENCES.values()]
    assert set(majority(train, texts)) == {LABEL2ID["factual-report"]}
    for baseline in (
        tfidf_logreg,
        embedding_logreg(str(tiny_base)),
        embedding_logreg(str(tiny_base), sample=8),
    ):
        predicted = baseline(train, texts)
        assert len(predicted) == 4 and set(predicted) <= set(range(4))


def test_bad_input_gives_a_message_not_a_traceback(trained_model: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhello,denial\n")
    assert main(["--model", str(trained_model), "--data", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert f"{bad}:1: missing column(s) 'text'" in capsys.readouterr().err
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "x", "label": "denial"}\n')
    assert (
        main(["--model", str(tmp_path / "nowhere"), "--data", str(good), "--out", str(tmp_path / "r")]) == 2
    )
    assert "not a saved model directory" in capsys.readouterr().err
