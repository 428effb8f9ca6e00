"""What training says about every row: the per-row measures a run keeps, and the report of a table's rows."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from glassnet import SGD, Network, RowMeasures, TrainingHistory, TrainingRun, TrainingSettings, get_data
from glassnet.functions import Head

FloatArray = npt.NDArray[np.float64]

HEADS: dict[Head, tuple[str, int]] = {
    "identity": ("regression", 2),
    "sigmoid": ("binary", 1),
    "softmax": ("multiclass", 3),
}


def logits(params: FloatArray, network: Network, X: FloatArray) -> FloatArray:
    """The output layer's pre-activation of ``network`` with the flat parameters ``params``, by plain NumPy."""
    probe = copy.deepcopy(network)
    np.copyto(probe.parameter_vector, params)
    A = X
    for i, layer in enumerate(probe.params):
        Z = A @ layer.weights + layer.bias
        A = np.maximum(Z, 0.0) if i < len(probe.params) - 1 else Z  # relu hidden layers
    return Z


def row_losses(Z: FloatArray, Y: FloatArray, head: Head) -> tuple[FloatArray, FloatArray | None]:
    """Each row's loss and margin from the logits ``Z`` and the target matrix ``Y``, written out from the math."""
    if head == "identity":
        return ((Z - Y) ** 2).mean(axis=1), None
    if head == "sigmoid":
        z, y = Z[:, 0], Y[:, 0]
        return np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z, np.where(y == 1, z, -z)
    top = Z.max(axis=1)
    loss = top + np.log(np.exp(Z - top[:, None]).sum(axis=1)) - (Y * Z).sum(axis=1)
    given = (Y * Z).sum(axis=1)
    others = np.where(Y == 1, -np.inf, Z).max(axis=1)
    return loss, given - others


class Recorder:
    """SGD that keeps the parameters before every step."""

    def __init__(self) -> None:
        self.before: list[FloatArray] = []
        self.sgd = SGD()

    def init(self, params: FloatArray) -> None:
        return None

    def step(self, params: FloatArray, grads: FloatArray, state: None, scratch: FloatArray) -> None:
        self.before.append(params.copy())
        self.sgd.step(params, grads, state, scratch)


@pytest.mark.parametrize("head", list(HEADS))
@pytest.mark.parametrize("batch_size", [None, 16])
def test_the_measures_equal_a_loop_over_each_recorded_epochs_own_steps(head: Head, batch_size: int | None) -> None:
    """Each recorded epoch's row losses are those of the step that trained on the row, before its update: the
    shuffles replayed from the network's generator, every step's parameters from a recording optimizer."""
    task, n_out = HEADS[head]
    X, y = get_data(50, seed=3, task=task)  # type: ignore[arg-type]
    X_val, y_val = get_data(12, seed=4, task=task)  # type: ignore[arg-type]
    if head == "identity":  # two outputs: a row's loss is the mean over them
        y, y_val = np.column_stack([y, -y]), np.column_stack([y_val, y_val**2])
    network = Network([4, 5, n_out], activation="relu", head=head, seed=1)
    Y, Y_val = network.check_data(X, y)[1], network.check_data(X_val, y_val)[1]
    shuffles = copy.deepcopy(network.generator)
    recorder, after = Recorder(), []
    run = TrainingRun(network, X, y, epochs=7, batch_size=batch_size, optimizer=recorder, record_every=3,
                      keep_rows=True, validation_data=(X_val, y_val))  # fmt: skip
    run.advance(on_record=lambda record: after.append(network.parameter_vector.copy()))
    batch = batch_size or len(X)
    steps = -(-len(X) // batch)
    per_epoch: list[FloatArray] = []
    margins_per_epoch: list[FloatArray] = []
    val_per_epoch: list[FloatArray] = []
    for epoch in range(1, 8):
        order = np.arange(len(X)) if batch_size is None else shuffles.permutation(len(X))
        if epoch not in (1, 3, 6, 7):
            continue
        losses, margins = np.empty(len(X)), np.empty(len(X))
        for step in range(steps):
            rows = order[step * batch : (step + 1) * batch]
            Z = logits(recorder.before[(epoch - 1) * steps + step], network, X[rows])
            loss, margin = row_losses(Z, Y[rows], head)
            losses[rows] = loss
            margins[rows] = np.nan if margin is None else margin
        per_epoch.append(losses)
        margins_per_epoch.append(margins)
        val_per_epoch.append(row_losses(logits(after[len(val_per_epoch)], network, X_val), Y_val, head)[0])
    measures, watched = run.history.rows, run.history.val_rows
    assert measures is not None and watched is not None and measures.epochs == watched.epochs == 4
    expected = np.array(per_epoch)
    np.testing.assert_allclose(measures.mean_loss, expected.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(measures.loss_std, expected.std(axis=0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(measures.last_loss, expected[-1], rtol=1e-12, atol=1e-15)
    if head == "identity":
        assert measures.mean_margin is None and watched.mean_margin is None
    else:
        assert measures.mean_margin is not None
        np.testing.assert_allclose(measures.mean_margin, np.mean(margins_per_epoch, axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(watched.mean_loss, np.mean(val_per_epoch, axis=0), rtol=1e-12, atol=1e-15)


def test_keeping_rows_changes_no_bit_of_training_and_without_it_the_json_is_as_before() -> None:
    X, y = get_data(40, seed=3, task="multiclass")
    kept, plain = (Network([4, 6, 3], activation="tanh", head="softmax", seed=2) for _ in range(2))
    with_rows = kept.fit(X, y, epochs=5, batch_size=8, keep_rows=True, optimizer="adam")
    without = plain.fit(X, y, epochs=5, batch_size=8, optimizer="adam")
    assert kept.parameter_vector.tobytes() == plain.parameter_vector.tobytes()
    assert without.rows is None and '"rows"' not in without.model_dump_json()
    assert with_rows.model_copy(update={"rows": None}).model_dump_json() == without.model_dump_json()
    again = TrainingHistory.model_validate_json(with_rows.model_dump_json())
    assert again.rows is not None and with_rows.rows is not None
    assert again.rows.mean_loss.tobytes() == with_rows.rows.mean_loss.tobytes()


def test_a_run_saved_and_loaded_keeps_its_row_measures_to_the_bit(tmp_path: Path) -> None:
    X, y = get_data(70, seed=3, task="multiclass")
    settings: dict[str, Any] = {
        "epochs": 9,
        "batch_size": 16,
        "optimizer": "momentum",
        "keep_rows": True,
        "record_every": 2,
    }

    def run() -> TrainingRun:
        network = Network([4, 6, 3], activation="relu", head="softmax", seed=5)
        return TrainingRun(network, X[:50], y[:50], validation_data=(X[50:], y[50:]), **settings)

    whole, paused = run(), run()
    whole.advance()
    paused.advance(5)
    paused.save(tmp_path / "run.json")
    resumed = TrainingRun.load(tmp_path / "run.json", X[:50], y[:50], validation_data=(X[50:], y[50:]))
    resumed.advance()
    assert resumed.history.rows is not None and resumed.history.rows.epochs == 6
    assert resumed.history.model_dump_json() == whole.history.model_dump_json()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"loss_m2": np.zeros(3)}, r"loss_m2: expected one value per row of mean_loss \(2\), got 3"),
        ({"mean_loss": np.array([1.0, np.nan])}, r"mean_loss: expected finite values"),
        ({"last_loss": np.array([-1.0, 0.0])}, r"last_loss: expected values >= 0"),
        ({"epochs": 0}, r"epochs"),
        ({"mean_loss": np.zeros(0), "loss_m2": np.zeros(0), "last_loss": np.zeros(0)}, r"at least one row"),
    ],
)
def test_row_measures_no_run_could_make_are_refused(change: dict[str, Any], message: str) -> None:
    good: dict[str, Any] = {"mean_loss": np.ones(2), "loss_m2": np.zeros(2), "last_loss": np.ones(2), "epochs": 3}
    RowMeasures(**good)
    with pytest.raises(ValueError, match=message):
        RowMeasures(**(good | change))


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_keep_rows_is_true_or_false(bad: object) -> None:
    with pytest.raises(TypeError, match=rf"keep_rows: expected True or False, got {bad!r}"):
        TrainingSettings.of(keep_rows=bad)  # type: ignore[arg-type]


def test_a_checkpoint_whose_row_measures_are_not_one_per_row_is_refused_naming_it(tmp_path: Path) -> None:
    X, y = get_data(30, seed=3)
    run = TrainingRun(Network([4, 3, 1], seed=0), X, y, epochs=4, keep_rows=True)
    run.advance(2)
    checkpoint = run.checkpoint()
    assert checkpoint.history.rows is not None
    short = RowMeasures.first(checkpoint.history.rows.mean_loss[:29], None)
    damaged = checkpoint.model_copy(update={"history": checkpoint.history.model_copy(update={"rows": short})})
    with pytest.raises(ValueError, match=r"^here: history.rows: expected a measure per row of the data \(30\), got 29"):
        TrainingRun.from_checkpoint(damaged, X, y, source="here")
