"""What the command line prints and writes about a run (glassnet/cli/report.py): metrics to 4 significant
digits, the loss curves, the gradient columns and the diagnosis, the trace."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import github_table, loss_table_epochs, read_report, run_ok
from test_cli import run as cli_run

from glassnet import TrainingHistory, cli


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (102_539_924.0, "102,500,000"),
        (10_126.4, "10,130"),
        (1.33333, "1.333"),
        (0.99637, "0.9964"),
        (0.000123456, "0.0001235"),
        (1.23456e-7, "1.235e-07"),
        (-2.5, "-2.500"),
        (0.0, "0"),
    ],
)
def test_metrics_are_printed_to_4_significant_digits(value: float, shown: str) -> None:
    assert cli.significant(value) == shown


def test_small_errors_are_not_rounded_away(tmp_path: Path) -> None:
    """An RMSE of 1.33 printed as 1: metrics were rounded to whole target units."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.normal(size=200)}).assign(y=lambda t: t["x"] + rng.normal(0, 1.3, 200))
    table.to_csv(tmp_path / "t.csv", index=False)
    report = tmp_path / "r.json"
    stdout = run_ok(["--csv", str(tmp_path / "t.csv"), "--target", "y", "--report", str(report)])
    printed = dict((row[0], row[1:]) for row in github_table(stdout, "metrics"))
    assert printed["test"][1] == cli.significant(read_report(report)["test"]["rmse"])
    assert re.fullmatch(r"1\.\d{3}", printed["test"][1]), printed


def test_the_plot_draws_every_epoch_while_the_table_shows_every_print_every(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    drawn: list[TrainingHistory] = []

    def loss_plot(history: TrainingHistory, loss_name: str, validation: str) -> bytes:
        drawn.append(history)
        return b"png"

    monkeypatch.setattr("glassnet.cli.report.loss_plot", loss_plot)
    stdout = run_ok(["--samples", "300", "--epochs", "25", "--plot", str(tmp_path / "loss.png")])
    assert loss_table_epochs(stdout) == [1, 10, 20, 25]
    assert [record.epoch for record in drawn[0].records] == list(range(1, 26))
    assert all(record.val_loss is not None for record in drawn[0].records)


def test_gradients_adds_each_layers_norm_and_update_ratio_and_the_full_diagnosis() -> None:
    stdout = run_ok(["--samples", "500", "--epochs", "20", "--gradients"])
    header = next(line for line in stdout.splitlines() if line.startswith("|   epoch |"))
    cells = [cell.strip() for cell in header.strip("|").split("|")]
    assert cells == [
        "epoch",
        "train loss",
        "test loss",
        *(f"grad norm {i}" for i in (1, 2, 3)),
        "update 1",
        "update 2",
        "update 3",
    ]
    assert loss_table_epochs(stdout) == [1, 10, 20]
    assert "diagnosis of the training records\nno problems found in the training records" in stdout


def test_findings_are_printed_after_training_when_there_are_any() -> None:
    assert "diagnosis" not in run_ok(["--samples", "500", "--epochs", "20"]), "a healthy run says nothing"
    deep = ["--hidden", ",".join(["16"] * 9), "--activation", "sigmoid", "--optimizer", "sgd"]
    stdout = run_ok(["--samples", "1000", "--epochs", "20", *deep])
    assert re.search(
        r"^diagnosis: vanishing_gradients from epoch 1, layer 1: layer 1's gradient is .* try relu", stdout, re.M
    )
    assert re.search(r"^diagnosis: plateau from epoch 1: the loss has stayed at", stdout, re.M)


def test_trace_writes_the_history_with_full_gradients_every_print_every(tmp_path: Path) -> None:
    trace = tmp_path / "trace.json"
    stdout = run_ok(["--samples", "500", "--epochs", "25", "--print-every", "10", "--trace", str(trace)])
    history = TrainingHistory.model_validate_json(trace.read_text())
    assert [r.epoch for r in history.records] == list(range(1, 26))
    assert sorted(history.kept_gradients()) == [1, 10, 20, 25]
    assert [layer.weights.shape for layer in history.kept_gradients()[10].layers] == [(4, 10), (10, 25), (25, 1)]
    assert f"with the full gradients of 4 epochs, to {trace}" in stdout


def flipped_csv(tmp_path: Path, n: int = 240, flips: int = 24) -> tuple[Path, set[int]]:
    """A two-class table whose label is the sign of a linear score, with ``flips`` labels changed, and the index
    labels (file positions) of the rows changed."""
    rng = np.random.default_rng(7)
    table = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    table["label"] = np.where(table["a"] + 0.5 * table["b"] - table["c"] > 0, "yes", "no")
    flipped = rng.choice(n, flips, replace=False)
    table.loc[flipped, "label"] = np.where(table.loc[flipped, "label"] == "yes", "no", "yes")
    table.to_csv(tmp_path / "flipped.csv", index=False)
    return tmp_path / "flipped.csv", set(flipped.tolist())


def test_rows_writes_every_training_row_most_suspect_first_and_prints_the_ten_first(tmp_path: Path) -> None:
    csv, flipped = flipped_csv(tmp_path)
    rows, plot = tmp_path / "rows.csv", tmp_path / "rows.png"
    argv = ["--csv", str(csv), "--target", "label", "--task", "binary", "--rows", str(rows), "--rows-plot", str(plot)]
    stdout = run_ok(argv)
    assert "nothing chosen" not in stdout and "chose 'linear'" in stdout  # --rows keeps the choice
    assert (
        "the 10 most suspect training rows (RowReport('label': 192 rows (0 held out) over 150 recorded epochs of 3 "
        "networks" in stdout
    )
    report = pd.read_csv(rows, index_col=0)
    assert list(report.columns[:5]) == ["a", "b", "c", "d", "label"]  # the user's columns first, then the measures
    assert {"prediction", "mean_loss", "mean_margin", "score", "rank", "suspect", "reason"} <= set(report.columns)
    assert len(report) == 192 and report["rank"].tolist() == list(range(1, 193))
    assert report["score"].is_monotonic_decreasing
    train_flipped = flipped & set(report.index)
    top = set(report.index[: len(train_flipped)])
    assert len(top & train_flipped) >= 0.7 * len(train_flipped)  # the changed labels come first
    printed = [int(line.split()[1]) for line in stdout.split("most suspect training rows")[1].splitlines()[3:13]]
    assert printed == report.index[:10].tolist()
    assert plot.read_bytes().startswith(b"\x89PNG")


def test_rows_on_a_resumed_run_that_kept_no_rows_is_refused_before_training(tmp_path: Path) -> None:
    csv, _ = flipped_csv(tmp_path, n=80, flips=8)
    checkpoint = tmp_path / "run.json"
    run_ok(
        ["--csv", str(csv), "--target", "label", "--task", "binary", "--epochs", "4", "--checkpoint", str(checkpoint)]
    )
    code, _ = cli_run(["--resume", str(checkpoint), "--rows", str(tmp_path / "rows.csv")])
    assert code == 1 and not (tmp_path / "rows.csv").exists()


def test_a_table_run_chooses_its_network_unless_an_option_pins_one(tmp_path: Path) -> None:
    csv, _ = flipped_csv(tmp_path, n=120, flips=0)
    report = tmp_path / "report.json"
    chosen = run_ok(["--csv", str(csv), "--target", "label", "--task", "binary", "--report", str(report)])
    assert "the network chosen on the training rows" in chosen.splitlines()[0]
    assert re.search(r"^linear +hidden \[10, 25\] identity", chosen, flags=re.MULTILINE)
    assert re.search(r"^relu average +hidden \[64, 64\] relu", chosen, flags=re.MULTILINE)
    assert read_report(report)["selection"]["folds"] == 3
    pinned = run_ok(["--csv", str(csv), "--target", "label", "--task", "binary", "--hidden", "4"])
    assert pinned.splitlines()[1] == "nothing chosen: the network was given; trained hidden [4] identity as told"
