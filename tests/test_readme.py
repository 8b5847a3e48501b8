"""The README's fresh-machine commands are the ones CI runs, and its commands name real things."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_first_block_holds_the_two_fresh_machine_commands() -> None:
    train_command, test_command = readme_commands()
    assert train_command.endswith("python -m stance.train")
    assert test_command.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci
