"""The command line at its edges: outputs that collide, stale temporary files, classes absent from the test
rows, Ctrl-C, tables from a pipe, and messages that name the right file."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from glassnet import cli, make_housing, split_rows
from glassnet.bundles import TabularCheckpoint
from glassnet.checkpoints import read_checkpoint
from glassnet.files import STALE_UNOWNED_SECONDS, temporary_name, write_atomically

ROOT = Path(__file__).resolve().parents[1]
TRAIN = [sys.executable, "-c", "import sys; from glassnet.cli import main; sys.exit(main(sys.argv[1:]))"]
INTERRUPTIBLE = [  # a shell that starts a command in the background ignores SIGINT there; the user's terminal does not
    sys.executable,
    "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from glassnet.cli import main; sys.exit(main(sys.argv[1:]))",
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``cli.main`` in-process: (exit status, standard output, standard error)."""
    out = io.StringIO()
    code = cli.main(argv, out=out)
    return code, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def homes(tmp_path: Path) -> Path:
    path = tmp_path / "homes.csv"
    make_housing(200, seed=2).to_csv(path, index=False)
    return path


# --------------------------------------------------------------------------- #
# Outputs and temporary files
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("output", ["--trace", "--save", "--report", "--plot"])
def test_no_output_may_land_on_the_checkpoint(
    homes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    """The end-of-run file replaced the checkpoint, and the run could no longer go on."""
    checkpoint = tmp_path / "run.json"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "3", "--checkpoint", str(checkpoint)]

    code, stdout, stderr = run([*argv, output, str(checkpoint)], capsys)

    assert (code, stdout) == (1, "")
    assert stderr == f"error: {output} {checkpoint}: is also --checkpoint; give each output its own file\n"
    assert not checkpoint.exists()


def test_a_resumed_run_may_write_its_checkpoint_over_the_one_it_resumes_but_no_other_output(
    homes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = tmp_path / "run.json"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "4", "--checkpoint", str(checkpoint)]
    assert run([*argv, "--checkpoint-every", "2"], capsys)[0] == 0
    saved = checkpoint.read_bytes()

    elsewhere = ["--checkpoint", str(tmp_path / "next.json")]
    code, _, stderr = run(["--resume", str(checkpoint), *elsewhere, "--save", str(checkpoint)], capsys)
    assert code == 1 and stderr == f"error: --save {checkpoint}: is the input --resume; it would be overwritten\n"
    assert checkpoint.read_bytes() == saved
    assert run(["--resume", str(checkpoint), "--checkpoint", str(checkpoint)], capsys)[0] == 0


def _killed_mid_write(target: Path) -> Path:
    """The temporary file a process killed by SIGKILL while writing ``target`` leaves behind."""
    writer = (
        "import os, sys, time; from glassnet import files\n"
        "os.fsync = lambda fd: time.sleep(60)  # stop between writing the bytes and renaming them over\n"
        "files.write_atomically(sys.argv[1], 'x' * 5_000_000)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", writer, str(target)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (left := [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]):
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        while left[0].stat().st_size < 5_000_000:
            time.sleep(0.01)
    finally:
        process.kill()
        process.wait(timeout=30)
    return left[0]


def test_the_next_write_removes_what_a_killed_write_left_and_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    stale = _killed_mid_write(target)
    assert stale.name.startswith(".run.json.") and not target.exists()
    host, pid = stale.name.split(".")[3:5]
    old = time.time() - STALE_UNOWNED_SECONDS - 60
    kept = {
        f".run.json.{host}.{os.getppid()}.abcd1234.tmp": None,  # a live process's write in progress
        f".run.json.elsewhere.{pid}.abcd1234.tmp": None,  # another machine's, in a shared folder
        ".run.json.abcd1234.tmp": None,  # an older version's, written a moment ago
        ".run.json.backup": old,  # not of the shape write_atomically makes
        ".other.json.abcd1234.tmp": old,  # beside another file
        "run.json.abcd1234.tmp": old,  # not hidden
    }
    for name, mtime in kept.items():
        (tmp_path / name).write_text("someone's")
        if mtime is not None:
            os.utime(tmp_path / name, (mtime, mtime))
    older_version = tmp_path / ".run.json.zz99_xyq.tmp"  # an older version's, an hour old: its writer is gone
    older_version.write_text("partial")
    os.utime(older_version, (old, old))

    write_atomically(target, "{}")

    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["run.json", *kept])


def test_names_a_folder_takes_are_written_though_their_temporary_files_names_would_be_too_long(
    homes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 240-byte --save passed the checks and failed after training: its temporary file's name was over 255 bytes."""
    save, checkpoint = tmp_path / f"{'m' * 235}.json", tmp_path / f"{'r' * 236}.json"  # the log's name: 255 bytes
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "2", "--save", str(save)]

    code, _, stderr = run([*argv, "--checkpoint", str(checkpoint)], capsys)

    assert code == 0, stderr
    assert json.loads(save.read_text())["format"] == "glassnet.bundle"
    assert read_checkpoint(checkpoint, TabularCheckpoint).run.epochs_done == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["homes.csv", save.name, checkpoint.name, f"{checkpoint.name}.history.jsonl"]
    )


def test_a_killed_writes_temporary_file_of_a_name_cut_short_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / f"{'m' * 240}.json"
    stale = _killed_mid_write(target)
    assert len(os.fsencode(stale.name)) == 255 and not target.exists()
    host, _, random = stale.name.split(".")[-4:-1]
    live = temporary_name(target, f"{host}.{os.getppid()}", random)  # a live process's write in progress
    live.write_text("someone's")

    write_atomically(target, "{}")

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name])


# --------------------------------------------------------------------------- #
# Classes absent from the test rows
# --------------------------------------------------------------------------- #


def small_table(path: Path, labels: list[object]) -> Path:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"mpg": rng.normal(20, 5, len(labels)), "hp": rng.normal(150, 40, len(labels))})
    table["label"] = pd.Series(labels)
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("labels", "task"),
    [
        ([1, 2, 2, 3, 4, 4, 4, 6, 8, 1, 2, 2, 4, 4, 3, 1, 2, 2, 4, 4], "multiclass"),  # 6 and 8: training rows only
        (["yes"] * 8 + ["no"] * 2, "binary"),  # the two test rows: one class
    ],
    ids=["multiclass", "binary"],
)
def test_a_class_absent_from_the_test_rows_is_counted_as_zero_and_every_output_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: list[object], task: str
) -> None:
    """show_confusion raised IndexError, after training and before writing any file: the run was lost."""
    csv = small_table(tmp_path / "cars.csv", labels)
    outputs = {name: tmp_path / f"out.{name}" for name in ("save", "report", "plot", "trace")}
    argv = ["--csv", str(csv), "--target", "label", "--task", task, "--epochs", "3", "--seed", "0"]
    argv += [arg for name, path in outputs.items() for arg in (f"--{name}", str(path))]

    code, stdout, stderr = run(argv, capsys)

    assert code == 0, stderr
    assert all(path.exists() for path in outputs.values())
    matrix = stdout.split("confusion matrix on the test rows")[1].splitlines()[3:]
    shown = [line.split("|")[1].strip() for line in itertools.takewhile(lambda line: line.startswith("|"), matrix)]
    assert shown == sorted({str(label) for label in labels})  # every class, with or without test rows
    test_rows = {str(label) for label in pd.read_csv(csv)["label"].iloc[split_rows(len(labels), 0.2, seed=0)[1]]}
    assert test_rows < set(shown), "the table has a class that no test row holds"


@pytest.mark.parametrize("patience", [[], ["--patience", "5"]], ids=["without patience", "with patience"])
def test_a_class_found_only_among_the_test_rows_gets_an_output_with_patience_as_without(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], patience: list[str]
) -> None:
    """With --patience the classes came from the training part alone: evaluating the test part refused its
    'rare' label after training, and no file was written."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    label = np.where(x > 0, "hi", "lo").astype(object)
    label[split_rows(200, 0.2, seed=0)[1][0]] = "rare"  # the only 'rare' row is a test row
    csv = tmp_path / "rare.csv"
    pd.DataFrame({"x": x, "z": rng.normal(size=200), "label": label}).to_csv(csv, index=False)
    bundle = tmp_path / "model.json"
    argv = ["--csv", str(csv), "--target", "label", "--task", "multiclass", "--epochs", "30", "--save", str(bundle)]

    code, stdout, stderr = run([*argv, *patience], capsys)

    assert code == 0, stderr
    assert json.loads(bundle.read_text())["target"]["labels"] == ["hi", "lo", "rare"]
    assert "| rare |" in stdout.split("confusion matrix on the test rows")[1]


# --------------------------------------------------------------------------- #
# Ctrl-C
# --------------------------------------------------------------------------- #


def interrupt(argv: list[str], cwd: Path, ready: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Start the command line, send it SIGINT in its training (once ``ready`` exists, if given), and wait for it."""
    process = subprocess.Popen(
        [*INTERRUPTIBLE, *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    printed: list[str] = []
    while not (printed and printed[-1].startswith("training:")):  # the loss table comes next
        printed.append(process.stdout.readline())
        assert printed[-1] or process.poll() is None, process.communicate()
    deadline = time.monotonic() + 60
    while ready is not None and not ready.exists():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.01)
    time.sleep(0.2)  # into the next epochs
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, "".join(printed) + stdout, stderr)


def test_ctrl_c_prints_one_line_saying_how_to_go_on_and_exits_130(homes: Path, tmp_path: Path) -> None:
    checkpoint, model = tmp_path / "run.json", tmp_path / "model.json"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "1000000", "--checkpoint", str(checkpoint)]

    stopped = interrupt([*argv, "--save", str(model)], tmp_path, ready=checkpoint)

    assert stopped.returncode == 130
    assert stopped.stderr.count("\n") == 1 and "Traceback" not in stopped.stderr, stopped.stderr
    held = json.loads(checkpoint.read_text())["run"]["epochs_done"]
    assert stopped.stderr.startswith("interrupted: stopped after epoch ")
    assert stopped.stderr.endswith(f"; {checkpoint} holds epochs 1 to {held}: go on with --resume {checkpoint}\n")
    assert not model.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "homes.csv",
        "run.json",
        "run.json.history.jsonl",
    ]  # no partial file


def test_ctrl_c_without_a_checkpoint_says_the_epochs_are_lost(homes: Path, tmp_path: Path) -> None:
    stopped = interrupt(["--csv", str(homes), "--target", "price", "--epochs", "1000000"], tmp_path)

    assert stopped.returncode == 130
    assert stopped.stderr.count("\n") == 1 and "Traceback" not in stopped.stderr, stopped.stderr
    assert stopped.stderr.startswith("interrupted: stopped after epoch ")
    assert stopped.stderr.endswith(" of 1000000; --checkpoint PATH lets a run go on after a stop\n")


# --------------------------------------------------------------------------- #
# Tables from a pipe
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("rows", [50, 2_000])
def test_a_table_from_a_pipe_is_read_once(tmp_path: Path, rows: int) -> None:
    """Opened four times, the first read drained the pipe: 50 rows were 'empty', 2,000 'more fields than the header'."""
    table = make_housing(rows, seed=1).to_csv(index=False)
    argv = ["--csv", "/dev/stdin", "--target", "price", "--epochs", "2", "--save", str(tmp_path / "model.json")]

    trained = subprocess.run([*TRAIN, *argv], input=table, capture_output=True, text=True, cwd=ROOT, check=False)
    assert trained.returncode == 0, trained.stderr
    assert f"{rows:,} rows" in trained.stdout
    predicted = subprocess.run(
        [*TRAIN, "--model", str(tmp_path / "model.json"), "--predict", "/dev/stdin"],
        input=table,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert predicted.returncode == 0, predicted.stderr
    assert len(pd.read_csv(io.StringIO(predicted.stdout))) == rows


# --------------------------------------------------------------------------- #
# Messages that name the right thing
# --------------------------------------------------------------------------- #


def test_resume_messages_name_the_file_and_the_option_that_reads_it(
    homes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint, model = tmp_path / "run.json", tmp_path / "model.json"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "2", "--checkpoint", str(checkpoint)]
    assert run([*argv, "--save", str(model)], capsys)[0] == 0
    other = tmp_path / "other.csv"
    make_housing(200, seed=3).to_csv(other, index=False)
    fewer = tmp_path / "fewer.csv"
    make_housing(200, seed=2).drop(columns="price").to_csv(fewer, index=False)

    def refused(*argv: str) -> str:
        code, stdout, stderr = run(list(argv), capsys)
        assert (code, stdout) == (1, "")
        return stderr

    assert refused("--resume", str(checkpoint), "--csv", str(other)).startswith(
        f"error: {checkpoint}: the tables differ from those the run trained on: frame has the checkpoint's"
    )
    assert refused("--resume", str(checkpoint), "--csv", str(fewer)) == (
        f"error: {fewer}: target: no column 'price'; the columns are 'size_sqft', 'bedrooms', 'age_years', "
        "'distance_km'\n"
    )
    assert refused("--resume", str(model)) == (
        f"error: {model}: not a valid TabularCheckpoint: it is a glassnet.bundle file, "
        "not a glassnet.tabular-checkpoint file: give it to --model, with --predict\n"
    )
    assert refused("--model", str(checkpoint), "--predict", str(homes)) == (
        f"error: {checkpoint}: not a valid Bundle: it is a glassnet.tabular-checkpoint file, "
        "not a glassnet.bundle file: give it to --resume\n"
    )


def test_the_diagnosis_calls_the_test_rows_what_the_loss_table_calls_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The loss table said 'test loss' and the diagnosis 'validation loss', of the same rows."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(60, 5)), columns=list("abcde"))
    table["y"] = table["a"] + rng.normal(scale=2.0, size=60)  # mostly noise: a wide network memorizes it
    table.to_csv(tmp_path / "noisy.csv", index=False)
    argv = ["--csv", str(tmp_path / "noisy.csv"), "--target", "y", "--hidden", "64,64", "--activation", "relu"]

    code, stdout, stderr = run([*argv, "--epochs", "300", "--learning-rate", "0.01"], capsys)

    assert code == 0, stderr
    assert "|    test loss |" in stdout
    assert "diagnosis: overfitting from epoch " in stdout and ": test loss rose from " in stdout
    assert "validation" not in stdout


# --------------------------------------------------------------------------- #
# Pipes
# --------------------------------------------------------------------------- #


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """``glassnet --model m.json --predict rows.csv | head -2`` ended with 'error: [Errno 32] Broken pipe' and
    status 1: now the rows go out until the reader closes the pipe, then the command ends with no message and
    status 141, as a Unix tool that SIGPIPE stops (issue 29)."""
    fixtures = ROOT / "tests" / "fixtures" / "v1"
    rows = pd.read_csv(fixtures / "table.csv").drop(columns="rent")
    pd.concat([rows] * 20).to_csv(tmp_path / "rows.csv", index=False)  # far more than a pipe's buffer holds
    argv = ["--model", str(fixtures / "bundle-table.json"), "--predict", str(tmp_path / "rows.csv")]
    process = subprocess.Popen([*TRAIN, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert process.stdout is not None and process.stderr is not None
    head = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()  # the reader goes, as head does after its lines
    stderr = process.stderr.read().decode()
    assert (process.wait(timeout=120), stderr) == (141, "")
    assert head[0].decode().startswith("size,rooms,city,garden,prediction") and cli.READER_GONE == 141
