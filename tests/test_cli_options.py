"""The command line's options (glassnet/cli/options.py): the table of options, --help, bad options with
argparse's usage and exit status 2, and the did-you-mean of a mistyped option or choice."""

from __future__ import annotations

import io
import re

import pytest
from test_cli import run_cli

from glassnet import cli
from glassnet.cli import options

NOT_OF_A_RUN = {"help", "resume", "model", "predict", "output", "unseen"}
"""The options that say which job to do, or belong to --predict: not options of a training run."""


def test_every_option_of_a_training_run_has_one_role_in_the_table() -> None:
    parsed = {action.dest for action in cli.build_parser()._actions}
    assert set(options.OPTIONS) == parsed - NOT_OF_A_RUN
    assert set(options.RUN_OPTIONS) | set(options.OUTPUT_OPTIONS) == set(options.OPTIONS)
    assert not set(options.RUN_OPTIONS) & set(options.OUTPUT_OPTIONS)
    assert set(cli.DEFAULTS) == parsed - {"help"}


def test_the_lists_of_options_are_read_from_the_table_in_its_order() -> None:
    assert options.MODEL_OPTIONS == ("task", "hidden", "activation", "seed", "missing")
    assert options.RUN_OPTIONS[: len(options.MODEL_OPTIONS)] == options.MODEL_OPTIONS
    assert options.WRITTEN_OPTIONS == ("save", "report", "plot", "effects", "rows", "rows_plot", "trace", "checkpoint")
    assert (*options.WRITTEN_OPTIONS, "checkpoint_every", "gradients") == options.OUTPUT_OPTIONS
    assert set(options.OPTIONS) >= options.NEWER_OPTIONS


ALL_OPTIONS = [
    *("--epochs", "--learning-rate", "--hidden", "--activation", "--task", "--optimizer", "--batch-size", "--l2"),
    *("--samples", "--seed", "--print-every", "--csv", "--target", "--test-fraction", "--save", "--model"),
    *("--predict", "--output", "--report", "--plot", "--effects", "--drop", "--patience", "--unseen"),
    *("--gradients", "--trace", "--checkpoint", "--checkpoint-every", "--resume", "--rows", "--rows-plot"),
]


def test_help_lists_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert result.stderr == ""
    for option in ALL_OPTIONS:
        assert re.search(rf"(^|\s){option}\b", result.stdout), option


BAD_OPTIONS = {
    "epochs-zero": ["--epochs", "0"],
    "epochs-text": ["--epochs", "ten"],
    "hidden-text": ["--hidden", "10,x"],
    "hidden-zero": ["--hidden", "10,0"],
    "test-fraction-above-1": ["--test-fraction", "1.5"],
    "test-fraction-zero": ["--test-fraction", "0"],
    "learning-rate-zero": ["--learning-rate", "0"],
    "learning-rate-nan": ["--learning-rate", "nan"],
    "l2-negative": ["--l2", "-1"],
    "batch-size-zero": ["--batch-size", "0"],
    "samples-zero": ["--samples", "0"],
    "print-every-zero": ["--print-every", "0"],
    "seed-negative": ["--seed", "-1"],
    "task-unknown": ["--task", "foo"],
    "activation-unknown": ["--activation", "swish"],
    "optimizer-unknown": ["--optimizer", "rmsprop"],
    "unknown-option": ["--bogus"],
    "csv-without-target": ["--csv", "table.csv"],
    "target-without-csv": ["--target", "price"],
    "model-without-predict": ["--model", "model.json"],
    "predict-without-model": ["--predict", "rows.csv"],
    "output-without-predict": ["--output", "out.csv"],
    "unseen-without-predict": ["--unseen", "zero"],
    "unseen-unknown": ["--model", "m.json", "--predict", "rows.csv", "--unseen", "skip"],
    "drop-empty-name": ["--drop", "a,,b"],
    "patience-zero": ["--patience", "0"],
}


@pytest.mark.parametrize("argv", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_bad_options_exit_2_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv, out=io.StringIO())
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith("usage: ")
    assert "error: " in stderr
    assert "Traceback" not in stderr


def test_bad_option_from_the_shell() -> None:
    result = run_cli("--hidden", "10,x")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: ")
    assert "argument --hidden" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["--lr", "0.001"], "unrecognized arguments: --lr 0.001; did you mean --learning-rate?"),
        (["--learning_rate=0.1"], "unrecognized arguments: --learning_rate=0.1; did you mean --learning-rate?"),
        (["--epocs", "3"], "unrecognized arguments: --epocs 3; did you mean --epochs?"),
        (["--bs", "8", "--lr", "1"], "did you mean --batch-size (for --bs), --learning-rate (for --lr)?"),
        (["--optimizer", "adma"], "did you mean 'adam'?"),
        (["--task", "Binary"], "did you mean 'binary'?"),
    ],
)
def test_a_mistyped_option_or_choice_is_told_the_one_meant(
    argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    stderr = capsys.readouterr().err
    assert stop.value.code == 2 and "usage:" in stderr
    assert meant in stderr


def test_an_unknown_option_like_none_is_left_without_a_guess(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--foo", "1"])
    assert capsys.readouterr().err.endswith("error: unrecognized arguments: --foo 1\n")
