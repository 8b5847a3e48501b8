"""The four stance labels, in the fixed order the model's outputs use."""

LABELS: tuple[str, ...] = (
    "accusation",
    "denial",
    "demand-for-investigation",
    "factual-report",
)
ID2LABEL: dict[int, str] = dict(enumerate(LABELS))
LABEL2ID: dict[str, int] = {label: i for i, label in ID2LABEL.items()}
