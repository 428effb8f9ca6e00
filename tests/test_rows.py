"""What training says about every row: the per-row measures a run keeps, and the report of a table's rows."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from glassnet import (
    SGD,
    Callback,
    Network,
    RowMeasures,
    TabularModel,
    TrainingHistory,
    TrainingRun,
    TrainingSettings,
    WriteCheckpoints,
    get_data,
    selection,
)
from glassnet.functions import Head
from glassnet.network import check_data
from glassnet.reading import DataError
from glassnet.training import TrainingDiverged

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
    Y, Y_val = check_data(network, X, y)[1], check_data(network, X_val, y_val)[1]
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


# --------------------------------------------------------------------------- #
# The report of a table's rows
# --------------------------------------------------------------------------- #


def flipped_table(n: int = 300, seed: int = 0, flip: float = 0.1) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """Three classes around three centres in two columns, a text column, labels of a share ``flip`` of the rows
    changed to another class, and an index of labels of its own; the positions of the flipped rows."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, 3, n)
    X = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])[classes] + rng.normal(scale=0.6, size=(n, 2))
    labels = np.array(["low", "mid", "high"])[classes]
    flipped = rng.choice(n, round(n * flip), replace=False)
    for i in flipped:
        labels[i] = rng.choice([label for label in ("low", "mid", "high") if label != labels[i]])
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "kind": rng.choice(["x", "y"], n), "level": labels})
    frame.index = pd.Index([f"r{i}" for i in range(n)], name="id")
    return frame, flipped


def test_a_generated_tables_flipped_rows_come_first_and_are_the_suspects() -> None:
    frame, flipped = flipped_table()
    model = TabularModel(task="multiclass", hidden=(8,), epochs=60)
    model.fit(frame, "level", keep_rows=True)
    report = model.row_report()
    truly = set(frame.index[flipped])
    first = report.ranking()[: len(flipped)]
    assert len(truly & set(first)) / len(flipped) >= 0.9, "precision at k"
    suspects = report.suspects()
    found = len(truly & set(suspects.index))
    assert found / len(suspects) >= 0.85 and found / len(flipped) >= 0.85, "the flagged set: precision and recall"
    assert list(suspects["rank"]) == sorted(suspects["rank"]) and suspects["reason"].str.startswith("given '").all()
    assert (report.frame.loc[report.frame["suspect"], "mean_margin"] < 0).all()
    assert not report.frame["held_out"].any() and len(report.frame) == len(frame)
    columns = list(report.to_frame().columns)
    assert columns[:4] == ["a", "b", "kind", "level"] and columns[4] == "prediction"
    assert columns[-5:] == ["score", "rank", "suspect", "held_out", "reason"]
    np.testing.assert_array_equal(report.frame["score"], report.frame["mean_loss"])
    assert model.history.rows is not None
    by_label = pd.Series(model.history.rows.mean_loss, index=frame.index)
    np.testing.assert_array_equal(report.frame["mean_loss"], by_label[report.ranking()])
    assert report.frame["level"]["r0"] == frame["level"]["r0"], "the given label, as the table has it"


def ringed_table(n: int = 150, seed: int = 0, flip: float = 0.1) -> tuple[pd.DataFrame, set[str]]:
    """Three classes in rings around the origin (no line separates them), labels of a share ``flip`` of the rows
    changed to another class; the index labels of the flipped rows."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    labels = np.array(["inner", "middle", "outer"])[np.digitize(np.hypot(X[:, 0], X[:, 1]), [1.3, 2.3])]
    flipped = rng.choice(n, round(n * flip), replace=False)
    for i in flipped:
        labels[i] = rng.choice([label for label in ("inner", "middle", "outer") if label != labels[i]])
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "ring": labels}, index=[f"r{i}" for i in range(n)])
    return frame, set(frame.index[flipped])


def test_a_model_that_chooses_keeps_rows_every_candidate_measuring_every_row() -> None:
    """On rings only a relu network can fit, the linear network alone ranks the flipped rows poorly; a model that
    chooses averages the measures of each candidate's runs (two of the relu candidate, which is not refit), and
    keeping them changes neither the choice nor the network."""
    frame, flipped = ringed_table()
    model = TabularModel(task="multiclass", keep_rows=True)
    assert model.chooses, "keep_rows measures and changes no bit of training: it pins nothing"
    model.fit(frame, "ring")
    report = model.row_report()
    measures = model.row_measures
    assert list(measures) == ["linear", "relu average", "relu average, run 2"] and report.networks == 3
    assert {m.epochs for m in measures.values()} == {150} and " over 150 recorded epochs of 3 networks" in repr(report)
    relu, again = measures["relu average"].mean_loss, measures["relu average, run 2"].mean_loss
    assert not np.array_equal(relu, again), "the relu candidate's second run is seeded anew"
    by_label = pd.Series((measures["linear"].mean_loss + relu + again) / 3, index=frame.index)
    np.testing.assert_allclose(report.frame["score"], by_label[report.ranking()], rtol=1e-12)
    assert report.suspects()["reason"].str.contains("the 3 networks put another label ahead").all()

    def found(ranking: pd.Index) -> float:
        return len(flipped & set(ranking[: len(flipped)])) / len(flipped)

    linear = TabularModel(task="multiclass", hidden=[10, 25], keep_rows=True)
    linear.fit(frame, "ring")
    assert found(report.ranking()) >= 0.8 and found(linear.row_report().ranking()) <= 0.4
    plain = TabularModel(task="multiclass")
    plain.fit(frame, "ring")
    assert plain.selection == model.selection and plain.row_measures == {}
    assert plain.network.parameter_vector.tobytes() == model.network.parameter_vector.tobytes()


@pytest.mark.parametrize("truth", ["linear", "bowl"])
def test_a_regression_that_chooses_measures_its_rows_by_the_winner_alone(truth: str) -> None:
    """A shifted target is a residual under the model that fits the table: a regression's rows are measured by the
    winner's runs only (the linear refit, or the relu candidate's two runs), and its shifted rows come first."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, size=(200, 2))
    y = X @ [1.5, -2.0] if truth == "linear" else 2 * (X**2).sum(axis=1)
    y = y + rng.normal(0, 0.1, 200)
    shifted = rng.choice(200, 10, replace=False)
    y[shifted] += 3 * y.std() * rng.choice([-1.0, 1.0], 10)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y}, index=[f"r{i}" for i in range(200)])
    model = TabularModel(keep_rows=True)
    model.fit(frame, "y")
    assert model.selection is not None
    winner = model.selection.chosen.name
    assert winner == ("linear" if truth == "linear" else "relu average")
    expected = ["linear"] if truth == "linear" else ["relu average", "relu average, run 2"]
    assert list(model.row_measures) == expected and model.row_report().networks == len(expected)
    if truth == "linear":  # the refit that is the model measured the rows
        assert model.history.rows == model.row_measures["linear"]
    assert set(model.row_report().ranking()[:10]) == set(frame.index[shifted])


def test_a_choice_whose_measuring_runs_all_diverged_says_so_not_to_keep_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """keep_rows was given: when no run that measures the rows ended, the report says they diverged."""
    frame, _ = ringed_table()
    original = selection._refit

    def diverging(*args: Any, keep_rows: bool) -> tuple[Network, TrainingHistory]:
        network, history = original(*args, keep_rows=keep_rows)
        if keep_rows:
            raise TrainingDiverged("loss became nan in epoch 3", history)
        return network, history

    monkeypatch.setattr(selection, "_refit", diverging)
    model = TabularModel(task="multiclass", keep_rows=True)
    model.fit(frame, "ring")
    assert model.row_measures == {}
    with pytest.raises(ValueError, match="every run that measures the rows diverged"):
        model.row_report()


def test_the_report_prints_its_most_suspect_rows_and_draws_its_map() -> None:
    frame, _ = flipped_table(120)
    model = TabularModel(task="multiclass", hidden=(), epochs=20)
    model.fit(frame, "level", keep_rows=True)
    report = model.row_report()
    text = report.table(3).splitlines()
    assert text[0].split() == ["rank", "row", "given", "level", "prediction", "mean", "loss", "suspect", "held", "out"]
    assert len(text) == 5 and text[2].split()[:2] == ["1", report.ranking()[0]]
    suspects = int(report.frame["suspect"].sum())
    assert repr(report).startswith(
        f"RowReport('level': 120 rows (0 held out) over 20 recorded epochs, {suspects} suspects"
    )
    import matplotlib

    matplotlib.use("Agg")
    axes = report.plot()
    assert axes.get_xlabel().startswith("variability") and len(axes.collections) == 2


def test_rows_held_out_for_patience_are_scored_by_a_network_that_never_trained_on_them() -> None:
    """The carved rows' labels changed: the training rows' measures stay to the bit, so no step saw those rows."""
    frame, _ = flipped_table(200, flip=0.0)
    model = TabularModel(task="multiclass", hidden=(6,), activation="relu", epochs=60, patience=100)
    model.fit(frame, "level", keep_rows=True)
    report = model.row_report()
    held_out = report.frame.index[report.frame["held_out"]]
    assert len(held_out) == 20
    changed = frame.copy()
    changed.loc[held_out, "level"] = changed.loc[held_out, "level"].map({"low": "high", "mid": "low", "high": "mid"})
    other = TabularModel(task="multiclass", hidden=(6,), activation="relu", epochs=60, patience=100)
    other.fit(changed, "level", keep_rows=True)
    assert model.history.rows is not None and other.history.rows is not None
    assert model.history.rows.mean_loss.tobytes() == other.history.rows.mean_loss.tobytes()
    again = other.row_report()
    assert (again.frame.loc[held_out, "mean_margin"] < 0).all(), "a network that never saw them disagrees with all"
    assert set(again.suspects().index) >= set(held_out)
    assert model.history.val_rows is not None
    np.testing.assert_array_equal(
        np.sort(report.frame.loc[held_out, "mean_loss"]), np.sort(model.history.val_rows.mean_loss)
    )


def test_a_regression_reports_in_the_targets_units_and_its_shifted_rows_first() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=200), "z": rng.normal(size=200)})
    frame["price"] = 1000 + 300 * frame["x"] - 100 * frame["z"] + rng.normal(0, 20, 200)
    shifted = rng.choice(200, 10, replace=False)
    frame.loc[shifted, "price"] += 3 * frame["price"].std()
    model = TabularModel(hidden=(), epochs=300)
    model.fit(frame, "price", keep_rows=True)
    report = model.row_report()
    assert set(report.ranking()[:10]) == set(shifted)
    assert set(report.suspects().index) == set(shifted)
    scale = float(model.target_encoding.scaler.scale[0])  # type: ignore[union-attr]
    assert model.history.rows is not None
    in_order = report.frame.sort_index()
    np.testing.assert_allclose(in_order["mean_loss"], model.history.rows.mean_loss * scale**2, rtol=1e-12)
    np.testing.assert_allclose(in_order["error"], np.sqrt(in_order["mean_loss"]), rtol=1e-12)
    assert (
        "mean_margin" not in report.frame and report.suspects()["reason"].str.contains("times the rows' typical").all()
    )


def test_a_report_needs_a_fit_that_kept_rows_and_says_how_to_get_one() -> None:
    frame, _ = flipped_table(60)
    model = TabularModel(task="multiclass", hidden=(), epochs=2)
    model.fit(frame, "level")
    with pytest.raises(
        ValueError, match=r"row_report: this model kept no measures of its rows; fit it with keep_rows=True"
    ):
        model.row_report()


def test_rows_to_report_must_each_have_their_own_index_label() -> None:
    frame, _ = flipped_table(60)
    frame.index = pd.Index([0, 1, 2, 1, 0, *range(5, 60)])
    model = TabularModel(task="multiclass", hidden=(), epochs=2)
    with pytest.raises(DataError, match=r"frame: expected one row per index label .* got the label\(s\) 1, 0 on more"):
        model.fit(frame, "level", keep_rows=True)
    model.fit(frame, "level")  # without keep_rows the labels are never used


def test_a_missing_target_still_fails_at_fit_with_keep_rows() -> None:
    frame, _ = flipped_table(60)
    frame.loc["r3", "level"] = None
    with pytest.raises(DataError, match="level"):
        TabularModel(task="multiclass", hidden=(), epochs=2).fit(frame, "level", keep_rows=True)


def test_a_tabular_fit_stopped_after_a_checkpoint_resumes_to_the_same_row_measures(tmp_path: Path) -> None:
    frame, _ = flipped_table(90)
    options: dict[str, Any] = {"task": "multiclass", "hidden": (5,), "epochs": 12, "batch_size": 32, "keep_rows": True}
    whole = TabularModel(**options)
    whole.fit(frame, "level")

    class Stopped(Exception):
        pass

    writer = WriteCheckpoints(tmp_path / "run.json", every=4)

    class StopAfterTheFirstCheckpoint(Callback):
        def between_epochs(self, run: TrainingRun) -> None:
            if writer.written == 4:
                raise Stopped

    with pytest.raises(Stopped):
        TabularModel(**options).fit(frame, "level", callbacks=[writer, StopAfterTheFirstCheckpoint()])
    resumed = TabularModel.resume(tmp_path / "run.json", frame)
    assert resumed.history.model_dump_json() == whole.history.model_dump_json()
    pd.testing.assert_frame_equal(resumed.row_report().frame, whole.row_report().frame)
