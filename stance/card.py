"""The model card (README.md) written into every saved model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stance.labels import LABELS

LABEL_MEANINGS = {
    "accusation": "attributes wrongdoing, blame or responsibility for a harmful act to a party, "
    "voiced or reported (charges, findings, convictions, counter-accusations)",
    "denial": "rejects or disputes an accusation, asserts innocence, says there is no evidence, "
    "or calls the claim groundless, lies or a provocation",
    "demand-for-investigation": "calls for, urges, offers or supports an investigation, inquiry, "
    "probe, inspection, audit or verification, or faults its absence",
    "factual-report": "everything else: events, figures, background, procedural news, neutral "
    "quotes, condemnations that name no culprit",
}


def write_model_card(out: Path, metadata: dict[str, Any], metrics: dict[str, Any]) -> None:
    (out / "README.md").write_text(render_card(out, metadata, metrics), encoding="utf-8")


def render_card(out: Path, metadata: dict[str, Any], metrics: dict[str, Any]) -> str:
    best = metrics["best"]
    lines = [
        "---",
        "pipeline_tag: text-classification",
        "library_name: transformers",
        "language: en",
        "---",
        f"# stance classifier: {out.name}",
        "",
        "Labels each sentence of English news text with the communicative act it performs or "
        "reports. Trained with the `stance` package.",
        "",
        "## Labels",
        "",
        *[f"- `{label}`: {LABEL_MEANINGS[label]}" for label in LABELS],
        "",
        "## Training",
        "",
        f"- base model: `{metadata['base_model']}`",
        f"- max length: {metadata['max_length']} tokens",
        f"- data: {_data_line(metadata)}",
        f"- best epoch {best['epoch']} of {len(metrics['epochs'])}, dev macro-F1 {best['dev_macro_f1']:.4f}",
        _calibration_line(metadata, metrics),
        f"- trained on {metadata['device']} in {metadata['train_seconds']:.0f} s, {metadata['trained_at']}",
        "",
        _test_section(metrics),
        "## Use",
        "",
        "```python",
        "from transformers import pipeline",
        f'clf = pipeline("text-classification", model="{out}")',
        'clf("The ministry dismissed the report as fabricated.")',
        "```",
        "",
        "or, with batching, sentence splitting and all four probabilities, `stance.StanceClassifier`.",
        "",
        "## Intended use and limits",
        "",
        "- For researchers and analysts labelling news sentences about accusations, denials and "
        "calls for inquiries; aggregate counts are more reliable than any single label.",
        "- English news prose only; trained on sentences written for this project in the style of "
        "wire, broadsheet, state-media, tabloid and regional reporting, not on real articles, so "
        "real-world accuracy is expected to be lower than the test figure above.",
        "- One label per sentence: a sentence that does two things gets one of them (the main "
        "clause, then demand > denial > accusation > factual-report).",
        "- It labels the act a sentence reports, not whether a claim is true.",
        "",
    ]
    return "\n".join(lines)


def _calibration_line(metadata: dict[str, Any], metrics: dict[str, Any]) -> str:
    calibration = metrics.get("calibration", {})
    before, after = calibration.get("dev_ece_before", 0.0), calibration.get("dev_ece_after", 0.0)
    if metadata["temperature"] == 1.0:
        return f"- probabilities as trained: temperature scaling did not lower dev calibration error ({before:.3f})"
    return (
        f"- probabilities calibrated on dev by temperature scaling (T = {metadata['temperature']:.3f}, folded "
        f"into the output layer; dev expected calibration error {before:.3f} -> {after:.3f})"
    )


def _data_line(metadata: dict[str, Any]) -> str:
    parts = []
    for split, info in metadata.get("data", {}).items():
        count = f", {info['sentences']} sentences" if "sentences" in info else ""
        parts.append(f"{split} `{info['path']}`{count} (sha256 {info['sha256'][:12]}...)")
    return "; ".join(parts) or "n/a"


def _test_section(metrics: dict[str, Any]) -> str:
    test = metrics.get("test")
    if not test:
        return ""
    low, high = test["macro_f1_ci95"]
    rows = [
        "## Test results",
        "",
        f"Test set: {test['n']} sentences from stories not seen in training.",
        "",
        f"macro-F1 **{test['macro_f1']:.4f}** (95% CI {low:.4f}-{high:.4f}), accuracy {test['accuracy']:.4f}",
        "",
        "| label | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for label, s in test["per_label"].items():
        rows.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    if test.get("baselines_macro_f1"):
        rows += [
            "",
            "Baselines (macro-F1): "
            + ", ".join(f"{name} {f1:.3f}" for name, f1 in test["baselines_macro_f1"].items()),
        ]
    return "\n".join([*rows, "", ""])
