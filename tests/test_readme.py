"""The README's library tour is a doctest: its printed output is what the code does."""

import doctest
from pathlib import Path

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
