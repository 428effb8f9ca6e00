"""The README's library tour is a doctest: its printed output is what the code does."""

import doctest
import io
import math
import re
from pathlib import Path

import pytest

import train
from glassnet import cli, diagnosis
from glassnet.settings import default_learning_rates

pytestmark = pytest.mark.stored  # the README's printed numbers

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


def test_readme_sets_up_in_two_commands_and_runs_python_one_way() -> None:
    """One command runs the main job, one passes the tests (CI's command); Python always runs in the
    activated venv, never as .venv/bin/python beside a bare python."""
    text = README.read_text()
    setup = text[text.index("## Set up and run") : text.index("## What `python train.py` shows")]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.DOTALL)
    assert len(commands) == 2
    assert all("source .venv/bin/activate" in command and "\n" not in command for command in commands)
    assert commands[0].endswith("&& python train.py")
    assert commands[1].endswith("&& python -m pytest")
    assert set(re.findall(r"\.venv/bin/\w+", text)) == {".venv/bin/activate"}


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?")


def same_line(shown: str, printed: str) -> bool:
    """Equal text, and numbers equal to 4 significant digits: BLAS kernels differ in the last bits."""
    if NUMBER.sub("#", shown) != NUMBER.sub("#", printed):
        return False
    pairs = zip(NUMBER.findall(shown), NUMBER.findall(printed), strict=True)
    return all(math.isclose(float(a.replace(",", "")), float(b.replace(",", "")), rel_tol=1e-4) for a, b in pairs)


@pytest.mark.parametrize(
    ("before", "argv"),
    [
        ("Output of `python train.py` (abridged", []),
        ("Output of `python train.py --hidden 32\n--activation relu`", ["--hidden", "32", "--activation", "relu"]),
    ],
)
def test_readme_command_line_output_is_what_train_py_prints(before: str, argv: list[str]) -> None:
    """Every line of the README's (abridged) output of a command appears, in order, in a fresh run of it."""
    text = README.read_text()
    start = text.index("```text\n", text.index(before)) + len("```text\n")
    shown = [line for line in text[start : text.index("```", start)].splitlines() if line not in ("", "...")]
    out = io.StringIO()
    assert train.main(argv, out=out) == 0
    printed = iter(out.getvalue().splitlines())
    missing = [line for line in shown if not any(same_line(line, candidate) for candidate in printed)]
    assert missing == [], f"README lines not printed (in order) by python train.py {' '.join(argv)}: {missing}"


def test_same_line_tells_numbers_apart() -> None:
    assert same_line("| 10 | 1.085326e-01 | 328,819.61 |", "| 10 | 1.085330e-01 | 328,819.70 |")
    assert not same_line("| 10 | 1.085326e-01 |", "| 10 | 1.095326e-01 |")
    assert not same_line("| 10 | 1.085326e-01 |", "| 20 | 1.085326e-01 |")
    assert not same_line("train loss", "test loss")


def test_the_default_learning_rates_it_states_are_the_optimizers_own() -> None:
    text = " ".join(README.read_text().split())
    assert f"Default learning rates: {default_learning_rates()} (" in text


def test_the_command_line_defaults_it_states_are_the_command_line_s() -> None:
    """Every `--option value` in the command-line table's first column is that option's default (`N`, `PATH`
    and the like say what to give instead)."""
    text = README.read_text()
    table = text[text.index("| option | meaning |") : text.index("```bash", text.index("| option | meaning |"))]
    first_column = "\n".join(row.split(" | ")[0] for row in table.splitlines())
    found = re.findall(r"`--([a-z-]+) ([^`]+?)`", first_column)
    stated = [(option, value) for option, value in found if not value.split()[0].isupper()]  # N, PATH: to give
    assert len(stated) >= 10
    for option, value in stated:
        default = cli.DEFAULTS[option.replace("-", "_")]
        shown = value.split("\\|")[0]  # `--task regression\|binary\|multiclass`: the first is the default
        if isinstance(default, float):
            assert float(shown) == default, option
        else:
            assert shown == cli.shown_default(default), option


def test_the_diagnosis_thresholds_it_states_are_the_code_s() -> None:
    """The README's table of the diagnosis's thresholds lists every one of them, at its value in the code."""
    text = README.read_text()
    table = text[text.index("| threshold | value | why this value |") :]
    stated = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", table[: table.index("\n\n")], flags=re.M))
    thresholds = {
        name: [float(v) for v in (value if isinstance(value, tuple) else [value])]
        for name, value in vars(diagnosis).items()
        if name.isupper() and not name.startswith("_") and type(value) in (int, float, tuple)
    }
    assert {name: [float(number) for number in value.split(",")] for name, value in stated.items()} == thresholds
