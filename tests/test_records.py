"""glassnet.records: records that refuse what no network could produce, and the diagnosis of a history."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from examples import iris
from examples.xor import VARIANTS, XOR_INPUTS, XOR_LABELS
from glassnet import (
    Diagnosis,
    EpochRecord,
    Finding,
    GradientRecord,
    Head,
    LayerGradients,
    Network,
    TrainingHistory,
    TrainingRun,
    get_data,
    split_rows,
)
from glassnet.encoding import Task
from glassnet.records import InputScales

# --------------------------------------------------------------------------- #
# Records: valid ones round-trip, invalid ones are rejected on construction and from JSON
# --------------------------------------------------------------------------- #


def gradients(*shapes: tuple[int, int], loss: float = 0.5) -> dict[str, Any]:
    """A GradientRecord's fields with layers of these weight shapes."""
    layers = [{"weights": np.ones(shape), "bias": np.ones(shape[1])} for shape in shapes]
    return {"loss": loss, "layers": layers}


def epoch(**changes: Any) -> dict[str, Any]:
    """A valid EpochRecord's fields for a 2-layer network, with ``changes``."""
    return {
        "epoch": 3,
        "loss": 0.25,
        "val_loss": 0.3,
        "grad_norms": [1.0, 2.0],
        "update_ratios": [0.01, 0.02],
        "dead_fractions": [0.0],
        "gradients": None,
    } | changes


def history(*records: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"records": list(records), "best_epoch": None, "stopped_early": False, "baseline_loss": 1.0} | changes


def as_json(fields: dict[str, Any]) -> str:
    """``fields`` as JSON, arrays written the way pydantic-numpy writes them."""

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return {"data_type": "float64", "data": value.tolist(), "shape": list(value.shape)}
        if isinstance(value, dict):
            return {key: encode(item) for key, item in value.items()}
        if isinstance(value, list):
            return [encode(item) for item in value]
        return value

    return json.dumps(encode(fields))


VALID: list[tuple[type[Any], dict[str, Any]]] = [
    (GradientRecord, gradients((2, 3), (3, 1))),
    (EpochRecord, epoch()),
    (EpochRecord, epoch(val_loss=None, grad_norms=[0.0, 0.0], update_ratios=[0.0, 1.0], dead_fractions=[1.0])),
    (EpochRecord, epoch(grad_norms=[math.sqrt(9.0), math.sqrt(4.0)], gradients=gradients((2, 3), (3, 1)))),
    (EpochRecord, epoch(grad_norms=[5.0], update_ratios=[0.5], dead_fractions=[])),
    (TrainingHistory, history(epoch(epoch=1), epoch(epoch=4, val_loss=0.2), best_epoch=4)),
    (TrainingHistory, history(epoch(epoch=1), epoch(epoch=4, val_loss=0.2))),  # a selection: best_epoch not told
    (TrainingHistory, history(epoch(epoch=1), epoch(epoch=4, val_loss=0.4), best_epoch=1, stopped_early=True)),
    (TrainingHistory, history()),
]

INVALID: list[tuple[str, type[Any], dict[str, Any], str]] = [
    (
        "NaN loss",
        GradientRecord,
        gradients((2, 3)) | {"loss": math.nan},
        r"loss\n  Input should be (a finite number|greater than or equal to 0)",
    ),
    (
        "negative loss",
        GradientRecord,
        gradients((2, 3), loss=-0.1),
        r"loss\n  Input should be (a finite number|greater than or equal to 0)",
    ),
    ("no layers", GradientRecord, {"loss": 0.5, "layers": []}, r"layers"),
    ("layers that do not chain", GradientRecord, gradients((2, 3), (4, 1)), r"layer 1 has 3 outputs but layer 2"),
    ("epoch -3", EpochRecord, epoch(epoch=-3), r"epoch"),
    ("epoch 0", EpochRecord, epoch(epoch=0), r"epoch"),
    ("infinite loss", EpochRecord, epoch(loss=math.inf), r"loss\n  Input should be a finite number"),
    ("negative val_loss", EpochRecord, epoch(val_loss=-1.0), r"val_loss\n  Input should be greater than or equal to 0"),
    (
        "negative norm",
        EpochRecord,
        epoch(grad_norms=[1.0, -2.0]),
        r"grad_norms\.1\n  Input should be greater than or equal to 0",
    ),
    ("NaN norm", EpochRecord, epoch(grad_norms=[math.nan, 2.0]), r"grad_norms\.0\n  Input should be a finite number"),
    ("no norms", EpochRecord, epoch(grad_norms=[], update_ratios=[], dead_fractions=[]), r"grad_norms"),
    (
        "negative ratio",
        EpochRecord,
        epoch(update_ratios=[-0.1, 0.1]),
        r"update_ratios\.0\n  Input should be greater than or equal to 0",
    ),
    ("ratios per layer", EpochRecord, epoch(update_ratios=[0.1]), r"update_ratios: expected one per layer \(2\)"),
    (
        "fraction above 1",
        EpochRecord,
        epoch(dead_fractions=[1.5]),
        r"dead_fractions\.0\n  Input should be less than or equal to 1",
    ),
    ("fractions per hidden layer", EpochRecord, epoch(dead_fractions=[0.0, 0.0]), r"one per hidden layer \(1\)"),
    (
        "gradients of another step",
        EpochRecord,
        epoch(gradients=gradients((2, 3), (3, 1))),
        r"gradients: expected the step whose norms are grad_norms",
    ),
    ("epochs out of order", TrainingHistory, history(epoch(epoch=4), epoch(epoch=2)), r"strictly increasing epochs"),
    ("repeated epoch", TrainingHistory, history(epoch(epoch=4), epoch(epoch=4)), r"strictly increasing epochs"),
    (
        "depths that disagree",
        TrainingHistory,
        history(epoch(epoch=1), epoch(epoch=2, grad_norms=[1.0], update_ratios=[0.1], dead_fractions=[])),
        r"the same layers",
    ),
    (
        "val_loss on some records only",
        TrainingHistory,
        history(epoch(epoch=1), epoch(epoch=2, val_loss=None)),
        r"val_loss on every record or on none",
    ),
    ("best epoch not recorded", TrainingHistory, history(epoch(epoch=1), best_epoch=7), r"best_epoch"),
    ("stopped early without records", TrainingHistory, history(stopped_early=True), r"stopped_early"),
    (
        "kept gradients of two networks",
        TrainingHistory,
        history(
            epoch(epoch=1, grad_norms=[math.sqrt(9.0), math.sqrt(4.0)], gradients=gradients((2, 3), (3, 1))),
            epoch(epoch=2, grad_norms=[math.sqrt(12.0), math.sqrt(5.0)], gradients=gradients((2, 4), (4, 1))),
        ),
        r"records: expected kept gradients of one network, got layer shapes \[\(2, 3\), \(3, 1\)\] at epoch 1 "
        r"and \[\(2, 4\), \(4, 1\)\] at epoch 2",
    ),
    (
        "best epoch without a val_loss",
        TrainingHistory,
        history(epoch(epoch=1, val_loss=None), best_epoch=1),
        r"best_epoch: expected none, as no record has a val_loss, got 1",
    ),
    (
        "best epoch at the worst val_loss",
        TrainingHistory,
        history(epoch(epoch=1, val_loss=0.1), epoch(epoch=2, val_loss=0.9), best_epoch=2),
        r"best_epoch: expected 1, the first lowest val_loss, got 2",
    ),
    (
        "stopped early without validation",
        TrainingHistory,
        history(epoch(epoch=1, val_loss=None), epoch(epoch=2, val_loss=None), stopped_early=True),
        r"stopped_early: expected epochs recorded after the best val_loss, .* got no val_loss",
    ),
    (
        "stopped early at its best epoch",
        TrainingHistory,
        history(epoch(epoch=1, val_loss=0.5), epoch(epoch=2, val_loss=0.1), best_epoch=2, stopped_early=True),
        r"stopped_early: .* got the last record at the best epoch 2",
    ),
    ("an epoch of true", EpochRecord, epoch(epoch=True), r"epoch\n  Input should be a valid integer"),
    ("an epoch in text", EpochRecord, epoch(epoch="2"), r"epoch\n  Input should be a valid integer"),
    ("a loss in text", EpochRecord, epoch(loss="0.5"), r"loss\n  Input should be a valid number"),
    (
        "infinite baseline",
        TrainingHistory,
        history(baseline_loss=math.inf),
        r"baseline_loss\n  Input should be a finite number",
    ),
]


@pytest.mark.parametrize(("model", "fields"), VALID, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(VALID)])
def test_valid_records_are_accepted_and_round_trip(model: type[Any], fields: dict[str, Any]) -> None:
    record = model(**fields)
    assert model.model_validate_json(record.model_dump_json()).model_dump_json() == record.model_dump_json()
    assert model.model_validate_json(as_json(fields)).model_dump_json() == record.model_dump_json()


@pytest.mark.parametrize(("case", "model", "fields", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_a_record_no_network_could_produce_is_rejected(
    case: str, model: type[Any], fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        model(**fields)
    with pytest.raises(ValidationError, match=message):
        model.model_validate_json(as_json(fields))


def test_layer_records_still_check_their_arrays() -> None:
    with pytest.raises(ValidationError, match="expected finite values"):
        LayerGradients(weights=np.array([[np.inf]]), bias=np.zeros(1))


def test_records_of_a_real_run_validate_and_round_trip() -> None:
    X, y = get_data(200, seed=1)
    net = Network([4, 6, 5, 1], activation="tanh", seed=1)
    trained = net.fit(X, y, epochs=6, batch_size=64, keep_gradients=2, validation_data=(X[:50], y[:50]))
    again = TrainingHistory.model_validate_json(trained.model_dump_json())
    assert again.model_dump_json() == trained.model_dump_json()
    assert sorted(again.kept_gradients()) == [1, 2, 4, 6]


# --------------------------------------------------------------------------- #
# Diagnosis: the problems are found, healthy runs stay healthy
# --------------------------------------------------------------------------- #


def kinds(diagnosis: Diagnosis) -> set[str]:
    return {finding.kind for finding in diagnosis.findings}


HOUSING = get_data(1_500, seed=0)
TRAIN, TEST = split_rows(1_500, 0.2, seed=0)


def test_an_epoch_loss_weights_each_minibatch_by_its_rows() -> None:
    """11 rows in batches of 10 and 1: at a step too small to move the parameters, every batch is measured at the
    same network, so the epoch's loss is the loss over all rows (the plain mean of the two would not be)."""
    X, y = get_data(11, seed=0)
    net = Network([4, 3, 1], seed=0)
    whole = net.loss(X, y)
    history = net.fit(X, y, epochs=1, batch_size=10, learning_rate=1e-300)
    assert math.isclose(history.records[0].loss, whole, rel_tol=1e-12)


def test_a_ten_deep_sigmoid_network_is_found_vanishing_and_stuck() -> None:
    X, y = HOUSING
    net = Network([4, *[16] * 9, 1], activation="sigmoid", seed=0)
    diagnosis = net.fit(X[TRAIN], y[TRAIN], epochs=60, learning_rate=0.05).diagnose()

    vanishing = [f for f in diagnosis.findings if f.kind == "vanishing_gradients"]
    assert len(vanishing) == 1
    assert vanishing[0].epoch == 1 and vanishing[0].layer == 1, "it vanishes from the start, worst at the input"
    assert "plateau" in kinds(diagnosis), "then the whole network stays at the loss of predicting the mean"
    assert "relu" in vanishing[0].message, "the finding says what to try"


def test_the_same_network_with_relu_and_he_initialization_is_healthy() -> None:
    X, y = HOUSING
    net = Network([4, *[16] * 9, 1], activation="relu", init="he", seed=0)
    diagnosis = net.fit(X[TRAIN], y[TRAIN], epochs=60, learning_rate=0.01, optimizer="adam").diagnose()
    assert diagnosis.healthy, diagnosis.table()


def test_a_relu_layer_whose_units_are_all_dead_is_found() -> None:
    X, y = HOUSING
    net = Network([4, 16, 1], activation="relu", init="he", seed=0)
    net.params[0].bias[...] = -100.0  # no row reaches a positive pre-activation
    trained = net.fit(X[TRAIN], y[TRAIN], epochs=20)

    assert all(record.dead_fractions == [1.0] for record in trained.records)
    diagnosis = trained.diagnose()
    dead = [f for f in diagnosis.findings if f.kind == "dead_units"]
    assert [(f.epoch, f.layer) for f in dead] == [(1, 1)]
    assert "vanishing_gradients" not in kinds(diagnosis), "a dead layer cuts the gradient; it does not vanish"


def test_steps_too_large_and_too_small_are_found() -> None:
    X, y = get_data(2_000, seed=0, task="binary")
    overshooting = Network([4, 8, 1], activation="tanh", head="sigmoid", seed=0)
    assert "step_too_large" in kinds(overshooting.fit(X, y, epochs=100, learning_rate=100.0).diagnose())

    creeping = Network([4, 10, 25, 1], seed=0)
    diagnosis = creeping.fit(HOUSING[0], HOUSING[1], epochs=50, learning_rate=1e-6).diagnose()
    assert "step_too_small" in kinds(diagnosis)


def test_enormous_initial_outputs_are_found_exploding() -> None:
    X, y = get_data(1_000, seed=0)
    net = Network([4, 64, 64, 64, 64, 1], activation="relu", init="normal", seed=0)
    diagnosis = net.fit(X, y, epochs=10, learning_rate=1e-9).diagnose()
    assert [(f.kind, f.epoch) for f in diagnosis.findings] == [("exploding_gradients", 1)]


def test_overfitting_is_found_from_the_best_validation_epoch() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10))
    y = X[:, 0] + rng.normal(size=60)
    net = Network([10, 100, 100, 1], activation="relu", init="he", seed=0)
    trained = net.fit(X[:30], y[:30], epochs=200, optimizer="adam", validation_data=(X[30:], y[30:]))
    [overfitting] = [f for f in trained.diagnose().findings if f.kind == "overfitting"]
    assert overfitting.epoch == min(trained.records, key=lambda r: r.val_loss or math.inf).epoch

    early = Network([10, 100, 100, 1], activation="relu", init="he", seed=0)
    stopped = early.fit(X[:30], y[:30], epochs=200, optimizer="adam", validation_data=(X[30:], y[30:]), patience=10)
    assert stopped.stopped_early and "overfitting" not in kinds(stopped.diagnose()), "patience restored the best"


def test_a_linear_boundary_on_rings_plateaus_at_the_baseline() -> None:
    rng = np.random.default_rng(0)
    ring = rng.integers(0, 2, 400)
    radius = np.where(ring == 1, 0.5, 1.0) + rng.normal(0.0, 0.1, 400)
    angle = rng.uniform(0.0, 2 * np.pi, 400)
    points = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    net = Network([2, 8, 1], head="sigmoid")
    trained = net.fit(points, ring, epochs=100, optimizer="adam", learning_rate=0.02, batch_size=32)
    assert kinds(trained.diagnose()) == {"plateau"}


def test_healthy_runs_diagnose_as_healthy() -> None:
    """The command line's default run, the notebook's training runs and the examples: no false alarms."""
    X, y = HOUSING
    histories = {
        "train.py default": Network([4, 10, 25, 1], seed=0).fit(
            X[TRAIN], y[TRAIN], epochs=150, optimizer="adam", validation_data=(X[TEST], y[TEST])
        ),
        "notebook sgd": Network([4, 10, 25, 1], seed=0).fit(
            X[TRAIN], y[TRAIN], epochs=150, validation_data=(X[TEST], y[TEST])
        ),
    }
    classifiers: list[tuple[Task, Head, list[int]]] = [
        ("binary", "sigmoid", [4, 8, 1]),
        ("multiclass", "softmax", [4, 16, 3]),
    ]
    for task, head, sizes in classifiers:
        Xc, yc = get_data(1_500, seed=0, task=task)
        net = Network(sizes, activation="relu", head=head, init="he", seed=0)
        histories[task] = net.fit(Xc[TRAIN], yc[TRAIN], epochs=30, optimizer="adam", batch_size=64)
    for variant in VARIANTS:
        net = Network([2, 8, 2 if variant.head == "softmax" else 1], activation="tanh", head=variant.head, seed=0)
        histories[variant.name] = net.fit(
            XOR_INPUTS,
            XOR_LABELS,
            epochs=variant.epochs,
            learning_rate=variant.learning_rate,
            batch_size=variant.batch_size,
        )
    flowers, _ = iris.load_split()
    for init, activation in iris.PAIRINGS:
        histories[f"iris {init}"] = iris.train(flowers, init, activation).history
    unhealthy = {name: h.diagnose().table() for name, h in histories.items() if not h.diagnose().healthy}
    assert unhealthy == {}


def test_a_diagnosis_prints_and_validates() -> None:
    finding = Finding(kind="plateau", epoch=3, message="the loss is flat")
    diagnosis = Diagnosis(findings=[finding])
    assert not diagnosis.healthy
    assert "plateau" in diagnosis.table() and "the loss is flat" in diagnosis.table()
    assert Diagnosis().table() == "no problems found in the training records"
    with pytest.raises(ValidationError):
        Finding.model_validate({"kind": "sadness", "epoch": 1, "message": "?"})
    with pytest.raises(ValidationError):
        Finding(kind="plateau", epoch=0, message="?")


def test_a_history_keeps_the_scale_of_each_input_column() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3.0, 2.0, 500), np.full(500, 7.0), rng.normal(0, 1e300, 500)])
    y = rng.normal(size=500)
    scales = TrainingRun(Network([3, 1]), X, y).history.input_scales  # a run keeps them from its start
    assert scales is not None
    np.testing.assert_allclose(scales.means[:2], X[:, :2].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scales.stds[:2], X[:, :2].std(axis=0), rtol=1e-12, atol=1e-12)
    assert scales.stds[1] == 0.0 and 5e299 < scales.stds[2] < 2e300, "a constant column, and one near float64's limit"


@pytest.mark.stored  # a stored checkpoint resumed
def test_records_and_histories_written_before_these_measures_still_load_and_diagnose(
    housing_arrays: tuple[np.ndarray, np.ndarray],
) -> None:
    v1 = Path(__file__).parent / "fixtures" / "v1"
    trace = TrainingHistory.model_validate_json((v1 / "trace.json").read_text())
    assert trace.input_scales is None and all(r.saturated_fractions is None for r in trace.records)
    assert all(r.param_norms is None and r.unit_rows is None for r in trace.records)
    trace.diagnose()  # every rule reads what an older record has

    X, y = housing_arrays
    resumed = TrainingRun.load(v1 / "run-checkpoint-momentum.json", X[:60], y[:60])
    history = resumed.advance()
    assert history.input_scales == TrainingRun(Network([4, 7, 1]), X[:60], y[:60]).history.input_scales
    old, new = history.records[0], history.records[-1]
    assert old.saturated_fractions is None and new.saturated_fractions is not None and new.param_norms is not None
    history.diagnose()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"param_norms": [1.0]}, r"param_norms: expected one per layer \(2\), got 1"),
        ({"saturated_fractions": [0.1, 0.2]}, r"saturated_fractions: expected one per hidden layer \(1\), got 2"),
        ({"saturated_fractions": [1.5]}, r"saturated_fractions\.0\n  Input should be less than or equal to 1"),
        ({"unit_rows": 0}, r"unit_rows\n  Input should be greater than or equal to 1"),
    ],
)
def test_a_record_whose_new_measures_could_not_come_from_a_network_is_rejected(
    fields: dict[str, Any], message: str
) -> None:
    valid: dict[str, Any] = {
        "epoch": 1,
        "loss": 0.5,
        "grad_norms": [1.0, 2.0],
        "update_ratios": [0.1, 0.1],
        "dead_fractions": [0.0],
    }
    EpochRecord(**valid, param_norms=[1.0, 1.0], saturated_fractions=[0.0], unit_rows=5)
    with pytest.raises(ValueError, match=message):
        EpochRecord(**valid, **fields)


def test_input_scales_that_could_not_come_from_the_run_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"stds: expected one per column of means \(2\), got 1"):
        InputScales(means=[0.0, 1.0], stds=[1.0])
    X, y = get_data(20, seed=0)
    history = Network([4, 3, 1]).fit(X, y, epochs=2, keep_gradients=1)
    fields = history.model_dump()
    fields["input_scales"] = {"means": [0.0] * 3, "stds": [1.0] * 3}
    with pytest.raises(ValueError, match=r"input_scales: expected one per input of the network \(4\), got 3"):
        TrainingHistory.model_validate(fields)
