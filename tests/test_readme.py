"""The README's library tour is a doctest: its printed output is what the code does."""

import doctest
import io
from pathlib import Path

import train

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_tour_runs_as_written() -> None:
    results = doctest.testfile(
        str(README), module_relative=False, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    )
    assert results.attempted >= 10
    assert results.failed == 0


def test_readme_names_the_ci_test_command() -> None:
    ci_script = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in README.read_text()
    assert "python -m pytest" in ci_script


def test_readme_default_run_is_what_train_py_prints() -> None:
    """Every line of the README's abridged default-run output appears, in order, in a fresh run."""
    text = README.read_text()
    start = text.index("```text\n10,000 rows") + len("```text\n")
    shown = [line for line in text[start : text.index("```", start)].splitlines() if line not in ("", "...")]
    out = io.StringIO()
    assert train.main([], out=out) == 0
    printed = iter(out.getvalue().splitlines())
    missing = [line for line in shown if not any(line == candidate for candidate in printed)]
    assert missing == [], f"README lines not printed (in order) by python train.py: {missing}"
