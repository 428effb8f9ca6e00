"""Checkpoint files that stay the run's: found by their own name, owned while a run writes them, never left
unreadable by another writer, a moved log or a full disk, and resumed from any folder without touching its files."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from glassnet import Network, TrainingRun, cli, get_data, make_housing
from glassnet.bundles import TabularCheckpoint
from glassnet.checkpoints import CheckpointNotSaved, read_checkpoint
from glassnet.files import InUse

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}

FloatArray = npt.NDArray[np.float64]


def data() -> tuple[FloatArray, FloatArray]:
    X, y = get_data(60, seed=3)
    return X, y


def short_run(epochs: int = 30) -> TrainingRun:
    X, y = data()
    return TrainingRun(Network([4, 8, 1], activation="tanh", seed=1), X, y, epochs=epochs, optimizer="adam")


def ran(epochs: int) -> TrainingRun:
    """A run of `short_run` advanced ``epochs``."""
    run = short_run()
    run.advance(epochs)
    return run


def same_run(loaded: TrainingRun, expected: TrainingRun) -> bool:
    """Whether ``loaded`` is ``expected`` to the bit: its parameters and its history."""
    return (
        loaded.network.parameter_vector.tobytes() == expected.network.parameter_vector.tobytes()
        and loaded.history.model_dump_json() == expected.history.model_dump_json()
    )


# --------------------------------------------------------------------------- #
# The log is the checkpoint's by its name
# --------------------------------------------------------------------------- #


def test_a_checkpoint_renamed_with_its_log_loads(tmp_path: Path) -> None:
    """'cannot read the history log of best.json: run.json.history.jsonl': the log was looked for by its stored name."""
    run, path = ran(10), tmp_path / "run.json"
    run.save(path)
    best = path.rename(tmp_path / "best.json")
    (tmp_path / "run.json.history.jsonl").rename(tmp_path / "best.json.history.jsonl")

    assert same_run(TrainingRun.load(best, *data()), run)


def test_a_checkpoint_copied_alone_still_finds_the_log_it_was_written_with(tmp_path: Path) -> None:
    run, path = ran(10), tmp_path / "run.json"
    run.save(path)
    snapshot = tmp_path / "epoch10.json"
    snapshot.write_bytes(path.read_bytes())
    run.advance(5)
    run.save(path)  # the log grows; its first lines are still the snapshot's

    assert same_run(TrainingRun.load(snapshot, *data()), ran(10))


# --------------------------------------------------------------------------- #
# A save never leaves a checkpoint that cannot load
# --------------------------------------------------------------------------- #


def test_a_save_after_another_run_saved_to_the_path_writes_a_checkpoint_that_loads(tmp_path: Path) -> None:
    """The second save appended this run's new records to the other run's log: it said nothing, and the
    checkpoint could not load."""
    run, other, path = ran(10), ran(4), tmp_path / "run.json"
    run.save(path)
    other.save(path)
    run.advance(5)

    run.save(path)

    assert same_run(TrainingRun.load(path, *data()), ran(15))


def test_a_save_after_the_log_was_moved_away_writes_it_whole_again(tmp_path: Path) -> None:
    run, path = ran(10), tmp_path / "run.json"
    run.save(path)
    moved = (tmp_path / "run.json.history.jsonl").rename(tmp_path / "kept.jsonl")
    run.advance(5)

    run.save(path)

    assert same_run(TrainingRun.load(path, *data()), ran(15))
    assert moved.read_bytes() == record_lines(ran(10)), "the moved log is left as it was"


def record_lines(run: TrainingRun) -> bytes:
    return b"".join(record.model_dump_json().encode() + b"\n" for record in run.history.records)


# --------------------------------------------------------------------------- #
# A run owns its checkpoint while it runs
# --------------------------------------------------------------------------- #

HOLDER = """
import sys
from glassnet import Network, TrainingRun, get_data
X, y = get_data(60, seed=3)
run = TrainingRun(Network([4, 8, 1], activation="tanh", seed=1), X, y, epochs=30, optimizer="adam")
run.advance(10)
run.save(sys.argv[1])
print("saved", flush=True)
sys.stdin.read()  # until told to go
run.advance(5)
run.save(sys.argv[1])
"""


def test_a_checkpoint_another_process_saves_to_is_refused_naming_that_process(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "saved\n"
        assert (tmp_path / "run.json.lock").read_text() == f"{holder.pid}\n"
        other = ran(4)
        with pytest.raises(InUse) as refused:
            other.save(path)
        assert str(refused.value) == (
            f"path {path}: in use by process {holder.pid}, whose run writes it (its lock: {path}.lock); "
            "wait for that run to end, or stop it, then try again"
        )
    finally:
        holder.communicate("go", timeout=60)
    assert holder.returncode == 0
    assert same_run(TrainingRun.load(path, *data()), ran(15)), "the owner's run, untouched"
    assert not (tmp_path / "run.json.lock").exists(), "let go when its process ended"
    other.save(path)  # free now
    assert same_run(TrainingRun.load(path, *data()), ran(4))


def test_runs_of_one_process_share_its_checkpoint_and_let_it_go_when_done(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    first = ran(10)
    first.save(path)
    second = TrainingRun.load(path, *data())
    second.advance(5)
    second.save(path)  # a notebook goes on from the file its earlier run still holds
    assert (tmp_path / "run.json.lock").exists()
    first.save(tmp_path / "elsewhere.json")
    assert (tmp_path / "run.json.lock").exists(), "the second run still holds it"
    del second
    assert not (tmp_path / "run.json.lock").exists()


# --------------------------------------------------------------------------- #
# A full disk
# --------------------------------------------------------------------------- #


def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on every flush to disk fails as a full disk's does."""

    def no_space(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def test_a_full_disk_names_the_file_what_the_checkpoint_still_holds_and_how_to_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only '[Errno 28] No space left on device' was said."""
    run, path = ran(10), tmp_path / "run.json"
    run.save(path)
    run.advance(5)
    with monkeypatch.context() as patched:
        full_disk(patched)
        with pytest.raises(CheckpointNotSaved) as failed:
            run.save(path)
    assert str(failed.value) == (
        f"{path}.history.jsonl: cannot save the checkpoint of epoch 15: No space left on device; "
        f"{path} still holds its last complete save, epoch 10: free some space, then resume from it"
    )
    assert failed.value.errno == errno.ENOSPC
    assert same_run(TrainingRun.load(path, *data()), ran(10))
    run.save(path)  # space freed: the next save is whole
    assert same_run(TrainingRun.load(path, *data()), ran(15))


def test_a_full_disk_at_a_runs_first_save_says_the_file_was_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, path = ran(10), tmp_path / "run.json"
    full_disk(monkeypatch)
    with pytest.raises(CheckpointNotSaved) as failed:
        run.save(path)
    assert str(failed.value) == (
        f"{path}.history.jsonl: cannot save the checkpoint of epoch 10: No space left on device; "
        f"{path} was not written: free some space, then start the run again"
    )


# --------------------------------------------------------------------------- #
# The command line
# --------------------------------------------------------------------------- #

INTERRUPTIBLE = [  # as a terminal runs it: SIGINT is Ctrl-C
    sys.executable,
    "-c",
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from glassnet.cli import main; sys.exit(main(sys.argv[1:]))",
]


@pytest.fixture
def homes(tmp_path: Path) -> Path:
    path = tmp_path / "homes.csv"
    make_housing(200, seed=2).to_csv(path, index=False)
    return path


def command_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``cli.main`` in-process: (exit status, standard error)."""
    code = cli.main(argv, out=io.StringIO())
    return code, capsys.readouterr().err


def stopped_after(epochs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next command line run stops (as Ctrl-C stops it) after ``epochs`` epochs."""
    checks = iter(range(1, 10**9))

    def stop(self: cli.BetweenEpochs) -> None:
        if next(checks) > epochs:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.BetweenEpochs, "check", stop)


def test_a_second_process_resuming_a_checkpoint_is_refused_while_the_first_runs(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both appended to one log; the survivor exited 0 and the checkpoint never loaded again."""
    path, lock = tmp_path / "run.json", tmp_path / "run.json.lock"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "10000000", "--checkpoint", str(path)]
    with monkeypatch.context() as patched:
        stopped_after(20, patched)
        assert command_line(argv, capsys)[0] == cli.INTERRUPTED
    first = subprocess.Popen(
        [*INTERRUPTIBLE, "--resume", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENVIRONMENT,
    )
    try:
        while not (lock.exists() and lock.read_text() == f"{first.pid}\n"):
            assert first.poll() is None, first.communicate()
            time.sleep(0.01)

        second = subprocess.run(
            [*INTERRUPTIBLE, "--resume", str(path)], capture_output=True, text=True, env=ENVIRONMENT, timeout=120
        )

        assert second.returncode == 1 and first.poll() is None
        assert second.stderr == (
            f"error: checkpoint {path}: in use by process {first.pid}, whose run writes it (its lock: {lock}); "
            "wait for that run to end, or stop it, then try again\n"
        )
    finally:
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == cli.INTERRUPTED, stderr
    assert read_checkpoint(path, TabularCheckpoint).run.epochs_done > 20, "whole, and the first run's"
    assert not lock.exists()


def test_a_full_disk_on_the_command_line_says_what_the_checkpoint_holds_and_the_command_that_goes_on(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path, log = tmp_path / "run.json", tmp_path / "run.json.history.jsonl"
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "20", "--checkpoint-every", "10"]
    real_fsync = os.fsync

    def full_once_the_checkpoint_is_written(descriptor: int) -> None:
        if path.exists():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", full_once_the_checkpoint_is_written)
        code, stderr = command_line([*argv, "--checkpoint", str(path)], capsys)
        assert code == 1
        assert stderr == (
            f"error: {log}: cannot save the checkpoint of epoch 20: No space left on device; {path} still holds its "
            f"last complete save, epoch 10: free some space, then go on with --resume {path}\n"
        )
        code, stderr = command_line(["--resume", str(path)], capsys)  # the disk still full: what the file holds
        assert stderr == (
            f"error: {log}: cannot save the checkpoint of epoch 20: No space left on device; {path} still holds its "
            f"last complete save, epoch 10: free some space, then go on with --resume {path}\n"
        )
    assert read_checkpoint(path, TabularCheckpoint).run.epochs_done == 10
    model = tmp_path / "model.json"

    def full_for_the_bundle(descriptor: int) -> None:
        if any(p.name.startswith(".model.json.") for p in tmp_path.iterdir()):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", full_for_the_bundle)
    code, stderr = command_line(["--resume", str(path), "--save", str(model)], capsys)
    assert code == 1
    assert stderr == (
        f"error: --save {model}: cannot be written: No space left on device; {path} holds the whole run: "
        f"free some space, then --resume {path} writes the files again\n"
    )
    assert not model.exists() and read_checkpoint(path, TabularCheckpoint).run.epochs_done == 20


TRAIN = [sys.executable, "-c", "import sys; from glassnet.cli import main; sys.exit(main(sys.argv[1:]))"]


def resume_in(folder: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """A real command line run in ``folder``."""
    return subprocess.run([*TRAIN, *argv], cwd=folder, capture_output=True, text=True, env=ENVIRONMENT, timeout=120)


def experiment(tmp_path: Path, name: str) -> Path:
    """A folder of another experiment, with files of its own at the names the checkpoint stores."""
    folder = tmp_path / name
    folder.mkdir()
    for file in ("run.json", "run.json.history.jsonl", "model.json", "report.json"):
        (folder / file).write_text(f"experiment {name}'s {file}")
    return folder


def own_files(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in folder.iterdir()}


def as_older_glassnet(path: Path, **typed: str) -> None:
    """Store the checkpoint ``path``'s paths as glassnet stored them before: as typed, with no folder."""
    document = json.loads(path.read_text())
    del document["extra"]["train.py"][cli.FOLDER]
    document["extra"]["train.py"].update(typed)
    path.write_text(json.dumps(document))


def test_resuming_from_another_folder_writes_beside_the_checkpoint_and_leaves_that_folders_files(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cd b && glassnet --resume ../a/run.json` wrote experiment A's checkpoint and bundle over b/run.json and
    b/model.json."""
    a, b = tmp_path / "a", experiment(tmp_path, "b")
    a.mkdir()
    options = ["--csv", "../homes.csv", "--target", "price", "--epochs", "40", "--checkpoint-every", "10"]
    outputs = ["--checkpoint", "run.json", "--save", "model.json", "--report", "report.json"]
    with monkeypatch.context() as patched:
        patched.chdir(a)
        stopped_after(20, patched)
        assert command_line([*options, *outputs], capsys)[0] == cli.INTERRUPTED
    b_before = own_files(b)
    unbroken = tmp_path / "unbroken.json"
    assert command_line(["--csv", str(homes), *options[2:], "--save", str(unbroken)], capsys)[0] == 0

    resumed = resume_in(b, "--resume", "../a/run.json")

    assert resumed.returncode == 0, resumed.stderr
    assert "saved the model bundle to ../a/model.json" in resumed.stdout
    assert own_files(b) == b_before, "experiment B's files are untouched"
    assert (a / "model.json").read_bytes() == unbroken.read_bytes()
    assert read_checkpoint(a / "run.json", TabularCheckpoint).run.epochs_done == 40
    assert json.loads((a / "report.json").read_text())["training"]["epochs"] == 40


def test_a_checkpoint_moved_among_another_runs_files_refuses_to_write_over_them(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, c = tmp_path / "a", experiment(tmp_path, "c")
    a.mkdir()
    monkeypatch.chdir(a)
    argv = ["--csv", "../homes.csv", "--target", "price", "--epochs", "4", "--checkpoint", "run.json"]
    assert command_line([*argv, "--save", "model.json"], capsys)[0] == 0
    for file in ("run.json", "run.json.history.jsonl"):
        (a / file).replace(c / file)
    c_before = own_files(c)

    refused = resume_in(tmp_path, "--resume", "c/run.json")

    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: --resume c/run.json: --save c/model.json exists and may be another run's file: the checkpoint was "
        f"written in {a}, where --save was model.json; give --save PATH to say where to write it\n"
    )
    assert own_files(c) == c_before
    written = resume_in(tmp_path, "--resume", "c/run.json", "--save", "a/model.json")
    assert written.returncode == 0, written.stderr
    assert own_files(c) == c_before, "a run at its end writes no checkpoint again"


def test_an_older_checkpoint_finds_the_folder_its_run_began_in_from_its_stored_checkpoint(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a", experiment(tmp_path, "b")
    a.mkdir()
    typed = {"csv": "homes.csv", "checkpoint": "a/run.json", "save": "a/model.json"}
    argv = ["--csv", str(homes), "--target", "price", "--epochs", "40", "--checkpoint", str(a / "run.json")]
    with monkeypatch.context() as patched:
        stopped_after(20, patched)
        assert command_line([*argv, "--save", str(a / "model.json")], capsys)[0] == cli.INTERRUPTED
    as_older_glassnet(a / "run.json", **typed)  # as `cd tmp_path && glassnet --csv homes.csv ...` stored them
    b_before = own_files(b)

    resumed = resume_in(b, "--resume", "../a/run.json")

    assert resumed.returncode == 0, resumed.stderr
    assert own_files(b) == b_before
    assert json.loads((a / "model.json").read_text())["format"] == "glassnet.bundle"


def test_an_older_checkpoint_refuses_outputs_that_exist_and_a_table_it_cannot_find_naming_the_option(
    homes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "a"
    a.mkdir()
    monkeypatch.chdir(a)
    argv = ["--csv", "../homes.csv", "--target", "price", "--epochs", "4", "--checkpoint", "run.json"]
    assert command_line([*argv, "--save", "model.json"], capsys)[0] == 0
    as_older_glassnet(a / "run.json")  # typed in a: the same strings
    before = (a / "model.json").read_bytes()

    refused = resume_in(tmp_path, "--resume", "a/run.json")

    assert refused.returncode == 1
    assert refused.stderr == (
        "error: --resume a/run.json: --save a/model.json exists and may be another run's file: the checkpoint, "
        "written by an older glassnet, keeps --save model.json as typed in another folder; give --save PATH to say "
        "where to write it\n"
    )
    assert (a / "model.json").read_bytes() == before
    (a / "run.json").rename(a / "best.json")
    (a / "run.json.history.jsonl").rename(a / "best.json.history.jsonl")
    homes.rename(tmp_path / "moved.csv")
    lost = resume_in(tmp_path, "--resume", "a/best.json", "--save", "a/model.json")
    assert lost.returncode == 1
    assert lost.stderr == (
        "error: --resume a/best.json: the table the run trained on, --csv ../homes.csv (as typed where the run "
        "began), is not at a/../homes.csv: give --csv PATH, the table the run trained on\n"
    )
    found = resume_in(tmp_path, "--resume", "a/best.json", "--save", "a/model.json", "--csv", "moved.csv")
    assert found.returncode == 0, found.stderr
    assert (a / "model.json").read_bytes() == before, "the same run, to the same bundle"
