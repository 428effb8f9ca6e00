"""Checkpoint files that stay the run's: found by their own name, owned while a run writes them, never left
unreadable by another writer, a moved log or a full disk, and resumed from any folder without touching its files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from glassnet import Network, TrainingRun, get_data

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
