"""A resumed run on the command line (glassnet/cli/resume.py): killed and resumed to the same bytes, the
options that define the run kept, output options given again taking the checkpoint's place, and what is
refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import ROOT, loss_table_epochs, make_table, read_report, run, run_ok, write_csv

from glassnet import Network, TrainingHistory, cli

CHECKPOINTED = ["--samples", "1000", "--epochs", "300", "--batch-size", "32", "--print-every", "50"]


@pytest.mark.parametrize("rows", [False, True], ids=["", "with every row's measures"])
def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_bytes(tmp_path: Path, rows: bool) -> None:
    """SIGKILL once a checkpoint is on disk; --resume ends with the bundle and report of an unbroken run (and,
    with --rows, the same report of every row: the running means are in the checkpoint)."""
    whole = tmp_path / "whole"
    whole.mkdir()

    def measured(folder: Path) -> list[str]:
        return ["--rows", str(folder / "rows.csv")] if rows else []

    run_ok(
        [*CHECKPOINTED, "--save", str(whole / "model.json"), "--report", str(whole / "report.json"), *measured(whole)]
    )

    checkpoint, model, report = tmp_path / "run.json", tmp_path / "model.json", tmp_path / "report.json"
    argv = [*CHECKPOINTED, "--checkpoint", str(checkpoint), "--save", str(model), "--report", str(report)]
    argv += measured(tmp_path)
    process = subprocess.Popen([sys.executable, "train.py", *argv], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        while not checkpoint.exists() and process.poll() is None:
            time.sleep(0.005)
        process.kill()  # SIGKILL: no handler runs, nothing is flushed
    finally:
        process.wait(timeout=60)
    done = json.loads(checkpoint.read_text())["run"]["epochs_done"]
    assert 0 < done < 300 and not model.exists(), "killed mid-run, after its first checkpoint"
    log = tmp_path / "run.json.history.jsonl"
    with log.open("ab") as killed_mid_append:  # what a kill between a log's append and its checkpoint leaves
        killed_mid_append.write(b'{"epoch":')

    stdout = run_ok(["--resume", str(checkpoint)])
    assert f"resumed from {checkpoint} after epoch {done}" in stdout
    assert f"training: adam, epochs {done + 1} to 300" in stdout
    assert loss_table_epochs(stdout)[0] > done, "only the epochs that remain run"
    assert model.read_bytes() == (whole / "model.json").read_bytes()
    assert report.read_bytes() == (whole / "report.json").read_bytes()
    if rows:
        assert (tmp_path / "rows.csv").read_bytes() == (whole / "rows.csv").read_bytes()
    assert json.loads(checkpoint.read_text())["run"]["epochs_done"] == 300
    assert len(log.read_bytes().splitlines()) == 300 and log.read_bytes().endswith(b"}\n"), "one line per epoch"


def test_trace_given_with_resume_keeps_the_gradients_and_not_a_bit_of_the_run_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--trace is an output option, yet a resumed run kept no gradients: they were set on a fresh fit only."""
    argv = ["--samples", "300", "--epochs", "40", "--print-every", "10", "--batch-size", "32"]
    paths = {name: tmp_path / f"{name}.json" for name in ("whole", "untraced", "resumed", "run", "trace", "traced")}
    run_ok([*argv, "--save", str(paths["whole"]), "--trace", str(paths["traced"])])
    run_ok([*argv, "--save", str(paths["untraced"])])
    checks = iter(range(1, 100))

    def stop_in_epoch_25(self: cli.BetweenEpochs) -> None:
        if next(checks) == 25:
            raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(cli.BetweenEpochs, "check", stop_in_epoch_25)
        assert run([*argv, "--checkpoint", str(paths["run"]), "--checkpoint-every", "10"])[0] == cli.INTERRUPTED
    assert json.loads(paths["run"].read_text())["run"]["epochs_done"] == 20

    stdout = run_ok(["--resume", str(paths["run"]), "--trace", str(paths["trace"]), "--save", str(paths["resumed"])])

    assert "resumed from" in stdout and f"with the full gradients of 2 epochs, to {paths['trace']}" in stdout
    kept = TrainingHistory.model_validate_json(paths["trace"].read_text()).kept_gradients()
    whole = TrainingHistory.model_validate_json(paths["traced"].read_text()).kept_gradients()
    assert sorted(kept) == [30, 40] and all(kept[e].model_dump_json() == whole[e].model_dump_json() for e in kept)
    assert paths["resumed"].read_bytes() == paths["whole"].read_bytes() == paths["untraced"].read_bytes()


@pytest.fixture
def finished_checkpoint(tmp_path: Path) -> tuple[Path, Path]:
    """A CSV run that wrote checkpoints to the end: (its checkpoint, its table)."""
    csv = write_csv(make_table(seed=5, n_rows=300), "spend", tmp_path / "table.csv")
    checkpoint = tmp_path / "run.json"
    run_ok(
        [
            "--csv",
            str(csv),
            "--target",
            "spend",
            "--epochs",
            "12",
            "--checkpoint",
            str(checkpoint),
            "--checkpoint-every",
            "5",
        ]
    )
    return checkpoint, csv


def test_resume_keeps_the_runs_settings_and_takes_new_outputs(
    finished_checkpoint: tuple[Path, Path], tmp_path: Path
) -> None:
    checkpoint, _ = finished_checkpoint
    report = tmp_path / "later.json"
    stdout = run_ok(["--resume", str(checkpoint), "--epochs", "12", "--report", str(report)])  # the same value is fine
    assert "training: adam, nothing left to run: the run ended after epoch 12" in stdout
    assert loss_table_epochs(stdout) == [12], "no epoch runs again; the table shows where it ended"
    assert read_report(report)["training"]["epochs"] == 12


def test_resume_refuses_what_would_not_give_the_same_run(
    finished_checkpoint: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, csv = finished_checkpoint

    def refused(*argv: str) -> str:
        code, stdout = run(list(argv))
        assert code == 1 and stdout == ""
        return capsys.readouterr().err

    assert re.fullmatch(
        rf"error: --resume {re.escape(str(checkpoint))}: a resumed run keeps the settings it started with; "
        r"changed: --epochs 20 \(the checkpoint's run: 12\), --l2 0\.5 \(the checkpoint's run: 0\.0\)\n",
        refused("--resume", str(checkpoint), "--epochs", "20", "--l2", "0.5"),
    )
    moved = csv.rename(tmp_path / "moved.csv")  # the same table elsewhere resumes
    assert "training: adam, nothing left to run" in run_ok(["--resume", str(checkpoint), "--csv", str(moved)])
    table = pd.read_csv(moved)
    table["income"] = table["income"] + np.where(table.index == 7, 1.0, 0.0)
    table.to_csv(csv, index=False)
    assert (
        "the tables differ from those the run trained on: "
        "frame has the checkpoint's 240 rows and columns but other values" in refused("--resume", str(checkpoint))
    )
    damaged = tmp_path / "damaged.json"
    damaged.write_text(checkpoint.read_text()[:-40])
    assert f"error: {damaged}: not a valid TabularCheckpoint" in refused("--resume", str(damaged))
    foreign = tmp_path / "foreign.json"
    Network([2, 1]).save(foreign)
    assert "it is a glassnet.network file, not a glassnet.tabular-checkpoint file" in refused("--resume", str(foreign))
