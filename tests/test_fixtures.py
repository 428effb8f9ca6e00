"""Files that earlier versions of glassnet wrote still load, predict the same, and resume to the same end.

``tests/fixtures/v1`` was written by ``tests/fixtures/write_v1.py`` in commit 6f87752, with the
code of the last commit before the library became the ``glassnet`` package (the script imported
that code's modules, so it went with them); ``expected.json`` holds what that code computed.
The first epochs of each stored checkpoint were computed on an AVX2 machine, from data whose last bits
that machine's BLAS gave (``tests/conftest.py`` holds that data). NumPy's exp, log and tanh and OpenBLAS's
products take other code paths on other CPUs, so numbers are compared to a tolerance, never bit for bit:
with what the code of their day computed, and with today's unbroken run of the same data. That a resumed
run ends with the bits of an unbroken one on the machine that runs both is held by ``test_training.py``.
"""

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from glassnet import Network, TabularModel, TrainingHistory, TrainingRun, cli

pytestmark = pytest.mark.stored  # files earlier versions wrote, and the numbers they computed

V1 = Path(__file__).parent / "fixtures" / "v1"
EXPECTED: dict[str, Any] = json.loads((V1 / "expected.json").read_text())


def close(actual: object, expected: object) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), np.asarray(expected), rtol=1e-12, atol=1e-300)


def agree(actual: object, expected: object, where: str = "") -> None:
    """``actual`` and ``expected``, JSON values, are the same but for numbers equal to `close`'s tolerance."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            agree(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            agree(a, e, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert isinstance(actual, float), where
        close(actual, expected)
    else:
        assert actual == expected, where


def test_a_network_file_loads_and_computes_what_it_did() -> None:
    net = Network.load(V1 / "network.json")
    assert net.layer_sizes == [4, 6, 3] and net.activation == "tanh" and net.head == "softmax"
    close(net.forward(np.array(EXPECTED["inputs"])), EXPECTED["network_forward"])


def test_bundles_load_and_predict_what_they_did() -> None:
    rows = pd.read_csv(V1 / "housing-rows.csv")
    multiclass = TabularModel.load(V1 / "bundle.json")
    assert multiclass.predict(rows).tolist() == EXPECTED["bundle_predictions"]
    close(multiclass.predict_proba(rows).to_numpy(), EXPECTED["bundle_probabilities"])
    table = pd.read_csv(V1 / "table.csv")
    regression = TabularModel.load(V1 / "bundle-table.json")
    assert regression.feature_names == ["size", "rooms", "city=east", "city=north", "city=south", "garden=False",
                                        "garden=True"]  # fmt: skip
    close(regression.predict(table.drop(columns="rent")), EXPECTED["bundle_table_predictions"])


def test_a_trace_loads_as_a_history() -> None:
    history = TrainingHistory.model_validate_json((V1 / "trace.json").read_text())
    assert [record.epoch for record in history.records] == list(range(1, 13))
    assert sorted(history.kept_gradients()) == [1, 4, 8, 12]
    assert history.initial_loss is None  # written before the fresh network's loss was kept
    # twelve epochs of SGD that end above the labels' mean's loss, still falling: the diagnosis says so
    assert [finding.kind for finding in history.diagnose().findings] == ["not_learned"]


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_a_run_checkpoint_resumes_to_the_end_it_had(name: str, housing_arrays: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = housing_arrays
    np.testing.assert_array_equal(y, EXPECTED["regression_targets"])
    watched = (X[60:], y[60:]) if name == "adam" else None
    resumed = TrainingRun.load(V1 / f"run-checkpoint-{name}.json", X[:60], y[:60], watched)
    assert resumed.epochs_done == 10
    history = resumed.advance()
    close(resumed.network.parameter_vector, EXPECTED[f"run_{name}_final"])
    then = TrainingHistory.model_validate(EXPECTED[f"run_{name}_history"])
    assert [r.epoch for r in history.records] == [r.epoch for r in then.records]
    assert (history.best_epoch, history.stopped_early) == (then.best_epoch, then.stopped_early)
    close([r.loss for r in history.records], [r.loss for r in then.records])

    checkpoint = json.loads((V1 / f"run-checkpoint-{name}.json").read_text())
    unbroken = Network([4, 7, 1], activation="relu", init="he", seed=2)
    settings = checkpoint["settings"]
    unbroken.fit(
        X[:60],
        y[:60],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        l2=settings["l2"],
        patience=settings["patience"],
        record_every=settings["record_every"],
        keep_gradients=settings["keep_gradients"],
        optimizer=checkpoint["optimizer"]["kind"],
        validation_data=watched,
    )
    close(resumed.network.parameter_vector, unbroken.parameter_vector)


def resume_the_command_line(fixture: Path, housing_csv: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The command line resumed from a copy of ``fixture`` (a run of ``--samples 500 --epochs 40 --batch-size 64
    --print-every 5``) and the same run unbroken: (the checkpoint it went on writing, its bundle, the unbroken's)."""
    checkpoint = tmp_path / "run.json"
    shutil.copy(fixture, checkpoint)
    resumed, unbroken = tmp_path / "resumed.json", tmp_path / "unbroken.json"
    table = ["--csv", str(housing_csv)]  # the housing rows the run trained on, given as a moved table is
    cli_run = [*table, "--target", "price", "--epochs", "40", "--batch-size", "64", "--print-every", "5"]
    with contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["--resume", str(checkpoint), *table, "--checkpoint", str(checkpoint), "--save", str(resumed)],
                          out=io.StringIO()) == 0  # fmt: skip
        assert cli.main([*cli_run, "--save", str(unbroken)], out=io.StringIO()) == 0
    return checkpoint, resumed, unbroken


def test_a_command_line_checkpoint_resumes_to_the_end_it_had(housing_csv: Path, tmp_path: Path) -> None:
    _, resumed, unbroken = resume_the_command_line(V1 / "cli-checkpoint.json", housing_csv, tmp_path)
    network = TabularModel.load(resumed).network
    close(network.parameter_vector, EXPECTED["cli_final"])
    close(network.parameter_vector, TabularModel.load(unbroken).network.parameter_vector)


# --------------------------------------------------------------------------- #
# Version 2 checkpoints, the whole history inside the file: written by tests/fixtures/write_v2.py at commit
# 4fb2fff with the code of a09328b (the script went when checkpoints moved their records to a log)
# --------------------------------------------------------------------------- #

V2 = Path(__file__).parent / "fixtures" / "v2"
V2_RUNS: dict[str, dict[str, Any]] = {
    "adam": {"epochs": 30, "optimizer": "adam", "batch_size": 16, "patience": 6, "keep_gradients": 5},
    "momentum": {"epochs": 25, "optimizer": "momentum", "record_every": 3},
}


@pytest.mark.parametrize("name", sorted(V2_RUNS))
def test_a_version_2_run_checkpoint_resumes_to_the_end_of_an_unbroken_run(
    name: str, housing_arrays: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = housing_arrays
    watched = (X[60:], y[60:]) if name == "adam" else None
    resumed = TrainingRun.load(V2 / f"run-checkpoint-{name}.json", X[:60], y[:60], watched)
    assert resumed.epochs_done == 10
    history = resumed.advance()
    assert history.initial_loss is None  # the checkpoint did not keep it, and its fresh network is gone
    unbroken = Network([4, 7, 1], activation="relu", init="he", seed=2)
    then = unbroken.fit(X[:60], y[:60], validation_data=watched, **V2_RUNS[name])
    close(resumed.network.parameter_vector, unbroken.parameter_vector)
    # the records made after the checkpoint are today's, whole; those before it, made by the older code, lack
    # what records measure since (issue 18's unit health and parameter norms) but agree on all they hold
    made_then = {"epoch", "loss", "val_loss", "grad_norms", "update_ratios", "gradients"}
    for old, new in zip(history.records, then.records, strict=True):
        fields = made_then if old.epoch <= 10 else None
        agree(old.model_dump(mode="json", include=fields), new.model_dump(mode="json", include=fields), str(old.epoch))
    assert (history.best_epoch, history.stopped_early) == (then.best_epoch, then.stopped_early)


def test_a_version_2_command_line_checkpoint_resumes_to_the_bundle_of_an_unbroken_run(
    housing_csv: Path, tmp_path: Path
) -> None:
    checkpoint, resumed, unbroken = resume_the_command_line(V2 / "cli-checkpoint.json", housing_csv, tmp_path)
    agree(json.loads(resumed.read_text()), json.loads(unbroken.read_text()))
    assert json.loads(checkpoint.read_text())["run"]["epochs_done"] == 40, "the resumed run checkpointed to its end"
    assert len((tmp_path / "run.json.history.jsonl").read_bytes().splitlines()) == 40, "its history in the log"
