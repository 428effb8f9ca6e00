"""Training runs: kept gradients, update ratios, dead units, pause and resume, checkpoints, step buffers."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import glassnet
from glassnet import SGD, Adam, Network, TrainingRun, TrainingSettings, get_data
from glassnet.buffers import ArrayMaker
from glassnet.checkpoints import TrainingCheckpoint
from glassnet.layout import ParameterLayout
from glassnet.optim import OptimizerName

pytestmark = pytest.mark.stored  # checkpoints, their data fingerprints and bit-for-bit resumes

FloatArray = npt.NDArray[np.float64]


class Recorder:
    """SGD that remembers, for every step, the parameters before it and the gradients it was given."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        self.sgd = SGD(learning_rate=learning_rate)
        self.before: list[FloatArray] = []
        self.grads: list[FloatArray] = []

    def init(self, params: FloatArray) -> None:
        return self.sgd.init(params)

    def step(self, params: FloatArray, grads: FloatArray, state: None, scratch: FloatArray) -> None:
        self.before.append(params.copy())
        self.grads.append(grads.copy())
        self.sgd.step(params, grads, state, scratch)


def data(n: int = 60, task: str = "regression") -> tuple[FloatArray, np.ndarray]:
    X, y = get_data(n, seed=3, task=task)  # type: ignore[arg-type]
    return X, y


def flat(record: glassnet.GradientRecord) -> FloatArray:
    """A gradient record in the network's flat layout: every layer's weights, then every bias."""
    return np.concatenate([*(g.weights.ravel() for g in record.layers), *(g.bias for g in record.layers)])


# --------------------------------------------------------------------------- #
# What a record holds
# --------------------------------------------------------------------------- #


def test_kept_gradients_are_those_of_the_step_recomputed_on_its_parameters() -> None:
    X, y = data()
    net = Network([4, 5, 3, 1], activation="tanh", seed=0)
    recorder = Recorder()
    history = net.fit(X, y, epochs=12, optimizer=recorder, keep_gradients=5)

    kept = history.kept_gradients()
    assert sorted(kept) == [1, 5, 10, 12], "the first, every 5th and the last epoch"
    for epoch, record in kept.items():
        replay = Network([4, 5, 3, 1], activation="tanh")
        replay.parameter_vector[...] = recorder.before[epoch - 1]  # full batch: one step per epoch
        recomputed = replay.gradients(X, y)
        np.testing.assert_allclose(flat(record), flat(recomputed), rtol=0, atol=1e-12)
        assert record.loss == pytest.approx(recomputed.loss, abs=1e-12)
        assert history.records[epoch - 1].grad_norms == pytest.approx(record.norms, rel=1e-12)


def test_kept_gradients_of_a_minibatch_epoch_are_its_last_step_before_the_update() -> None:
    X, y = data(50)
    net = Network([4, 6, 1], activation="relu", seed=1)
    recorder = Recorder()
    history = net.fit(X, y, epochs=3, batch_size=16, optimizer=recorder, keep_gradients=1, record_every=1)
    steps_per_epoch = 4  # 16 + 16 + 16 + 2 rows
    for record in history.records:
        last_step = record.epoch * steps_per_epoch - 1
        assert record.gradients is not None
        np.testing.assert_array_equal(flat(record.gradients), recorder.grads[last_step])


def test_without_keep_gradients_nothing_is_kept() -> None:
    X, y = data()
    history = Network([4, 3, 1]).fit(X, y, epochs=4)
    assert history.kept_gradients() == {}
    assert all(record.gradients is None for record in history.records)


def test_update_ratios_are_exact_for_plain_sgd() -> None:
    X, y = data()
    net = Network([4, 5, 1], activation="sigmoid", seed=2)
    recorder = Recorder(learning_rate=0.3)
    history = net.fit(X, y, epochs=4, optimizer=recorder)
    for record in history.records:
        before, grads = recorder.before[record.epoch - 1], recorder.grads[record.epoch - 1]
        layout = ParameterLayout(net.shapes)
        change = [
            math.hypot(0.3 * np.linalg.norm(g.weights), 0.3 * np.linalg.norm(g.bias))
            for g in layout.views(grads, glassnet.LayerGradients)
        ]
        size = [p.norm for p in layout.views(before, glassnet.LayerParams)]
        assert record.update_ratios == pytest.approx([c / s for c, s in zip(change, size, strict=True)], rel=1e-9)


def test_a_layer_of_zeros_before_the_step_has_ratio_one() -> None:
    X, y = data()
    net = Network([4, 3, 1], seed=0)
    net.params[1].weights[...] = 0.0
    history = net.fit(X, y, epochs=1)
    assert history.records[0].update_ratios[1] == 1.0, "the step made all of the layer"


def test_relu_units_pushed_to_minus_100_are_all_dead() -> None:
    X, y = data()
    net = Network([4, 8, 8, 1], activation="relu", seed=0)
    net.params[1].bias[...] = -100.0
    history = net.fit(X, y, epochs=3)
    assert [record.dead_fractions[1] for record in history.records] == [1.0, 1.0, 1.0]
    assert all(record.dead_fractions[0] < 1.0 for record in history.records)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturated_units_count_as_dead_and_identity_never(activation: str) -> None:
    X, y = data()
    net = Network([4, 4, 1], activation=activation, seed=0)
    net.params[0].bias[...] = [50.0, -50.0, 0.0, 0.0]
    assert net.fit(X, y, epochs=1).records[0].dead_fractions == [0.5]
    linear = Network([4, 4, 1], seed=0)
    linear.params[0].bias[...] = 1e6
    assert linear.fit(X, y, epochs=1).records[0].dead_fractions == [0.0]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_keep_gradients_must_be_a_positive_integer_and_changes_nothing(bad: Any) -> None:
    X, y = data()
    net = Network([4, 3, 1])
    before = net.parameter_vector.copy()
    with pytest.raises((TypeError, ValueError), match=r"keep_gradients: expected a positive integer"):
        net.fit(X, y, keep_gradients=bad)
    assert net.parameter_vector.tobytes() == before.tobytes()


def test_a_gradient_whose_size_overflows_is_divergence() -> None:
    X = np.array([[1e200], [-1e200]])
    net = Network([1, 1], seed=0)
    with np.errstate(all="ignore"), pytest.raises(glassnet.TrainingDiverged, match="epoch 1"):
        net.fit(X, np.array([0.0, 1.0]), epochs=3, learning_rate=1e-300)
    assert np.isfinite(net.parameter_vector).all()


# --------------------------------------------------------------------------- #
# Pause, inspect, go on
# --------------------------------------------------------------------------- #

SETTINGS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 16,
    "optimizer": "adam",
    "l2": 0.01,
    "record_every": 3,
    "keep_gradients": 6,
    "patience": 50,
}


def classifier_run(net: Network | None = None) -> TrainingRun:
    X, y = data(70, task="multiclass")
    net = net or Network([4, 8, 3], activation="relu", head="softmax", seed=5)
    return TrainingRun(net, X[:50], y[:50], validation_data=(X[50:], y[50:]), **SETTINGS)


def test_a_run_advanced_in_pieces_ends_with_the_bits_of_one_call() -> None:
    whole = classifier_run()
    whole.advance()
    pieces = classifier_run()
    for step in (1, 5, 3, 100):
        pieces.advance(step)
        assert pieces.history.records[-1].epoch <= pieces.epochs_done
    assert pieces.finished and pieces.epochs_done == 20
    assert pieces.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()
    assert pieces.history.model_dump_json() == whole.history.model_dump_json()


def test_fit_goes_on_in_a_later_call_that_asks_to_warm_start() -> None:
    X, y = data(64)
    once = Network([4, 6, 1], activation="tanh", seed=7)
    once.fit(X, y, epochs=30, batch_size=8, optimizer=Adam())
    twice = Network([4, 6, 1], activation="tanh", seed=7)
    twice.fit(X, y, epochs=12, batch_size=8, optimizer="adam")
    assert twice.optimizer_state.step == 12 * 8, "the state the call ended with, on the network"
    twice.fit(X, y, epochs=18, batch_size=8, optimizer="adam", warm_start=True)
    assert twice.optimizer_state.step == 30 * 8
    assert twice.parameter_vector.tobytes() == once.parameter_vector.tobytes()


def test_fit_twice_starts_a_fresh_optimizer_state_whether_given_settings_an_object_or_a_name() -> None:
    X, y = data(40)
    settings = TrainingSettings(epochs=5, batch_size=8, optimizer=Adam())
    adam = Adam()
    ways: dict[str, dict[str, Any]] = {
        "settings": {"settings": settings},
        "object": {"epochs": 5, "batch_size": 8, "optimizer": adam},
        "name": {"epochs": 5, "batch_size": 8, "optimizer": "adam"},
    }
    bits = set()
    for way in ways.values():
        net = Network([4, 6, 1], activation="tanh", seed=3)
        net.fit(X, y, **way)
        net.fit(X, y, **way)
        assert net.optimizer_state.step == 5 * 5, "the second call's 5 epochs of 5 steps, from a fresh state"
        bits.add(net.parameter_vector.tobytes())
    assert len(bits) == 1, "the three ways in train alike"


@pytest.mark.parametrize(
    ("first", "then", "found"),
    [(None, "adam", "got none"), ("momentum", "adam", "got a MomentumState"), ("adam", "sgd", "got an AdamState")],
)
def test_a_warm_start_without_the_state_its_optimizer_keeps_is_refused(
    first: OptimizerName | None, then: OptimizerName, found: str
) -> None:
    X, y = data(16)
    net = Network([4, 3, 1], seed=0)
    if first is not None:
        net.fit(X, y, epochs=1, optimizer=first)
    before = net.parameter_vector.copy()
    with pytest.raises(
        ValueError, match=rf"^warm_start: network\.optimizer_state: expected .*, as {then} keeps, {found};"
    ):
        net.fit(X, y, epochs=1, optimizer=then, warm_start=True)
    assert net.parameter_vector.tobytes() == before.tobytes(), "refused before any step"


def test_a_copied_network_carries_its_own_copy_of_the_optimizer_state() -> None:
    X, y = data(16)
    net = Network([4, 3, 1], seed=0)
    net.fit(X, y, epochs=2, optimizer="momentum")
    copied = copy.deepcopy(net)
    assert copied.optimizer_state.velocity.tobytes() == net.optimizer_state.velocity.tobytes()
    copied.fit(X, y, epochs=1, optimizer="momentum", warm_start=True)
    net.fit(X, y, epochs=1, optimizer="momentum", warm_start=True)
    assert copied.parameter_vector.tobytes() == net.parameter_vector.tobytes()


def test_a_saved_run_resumes_to_the_same_bits(tmp_path: Path) -> None:
    whole = classifier_run()
    whole.advance()
    paused = classifier_run()
    paused.advance(7)
    paused.save(tmp_path / "run.json")

    X, y = data(70, task="multiclass")
    resumed = TrainingRun.load(tmp_path / "run.json", X[:50], y[:50], validation_data=(X[50:], y[50:]))
    assert resumed.epochs_done == 7 and not resumed.finished
    resumed.advance()
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()
    assert resumed.history.model_dump_json() == whole.history.model_dump_json()
    assert json.loads((tmp_path / "run.json").read_text())["format"] == "glassnet.checkpoint"


@pytest.mark.parametrize("paused_after", [0, 3])
def test_the_fresh_networks_loss_is_kept_and_a_resumed_run_carries_it(tmp_path: Path, paused_after: int) -> None:
    """``initial_loss`` is the loss before the first step (minibatches and l2 as the records count them), and a
    run checkpointed before its first epoch or after some ends with the history of an unbroken one."""
    X, y = data(50)

    def run() -> TrainingRun:
        network = Network([4, 6, 1], activation="tanh", seed=3)
        return TrainingRun(network, X, y, epochs=6, batch_size=16, optimizer="adam", l2=0.01)

    expected = Network([4, 6, 1], activation="tanh", seed=3).loss(X, y, l2=0.01)
    whole = run()
    assert whole.history.initial_loss is None  # measured when the run starts, not when it is made
    whole.advance()
    assert whole.history.initial_loss == pytest.approx(expected, rel=1e-12)
    paused = run()
    if paused_after:
        paused.advance(paused_after)
    paused.save(tmp_path / "run.json")
    resumed = TrainingRun.load(tmp_path / "run.json", X, y)
    resumed.advance()
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()
    assert resumed.history.model_dump_json() == whole.history.model_dump_json()


def test_resuming_with_other_data_says_what_differs(tmp_path: Path) -> None:
    run = classifier_run()
    run.advance(2)
    path = tmp_path / "run.json"
    run.save(path)
    X, y = data(70, task="multiclass")
    changed = X[:50].copy()
    changed[3, 1] += 1e-9
    with pytest.raises(ValueError, match=r"run\.json: .*X has the checkpoint's shape \(50, 4\) but other values"):
        TrainingRun.load(path, changed, y[:50], validation_data=(X[50:], y[50:]))
    with pytest.raises(ValueError, match=r"run\.json: .*X has shape \(49, 4\), the checkpoint's had \(50, 4\)"):
        TrainingRun.load(path, X[:49], y[:49], validation_data=(X[50:], y[50:]))
    with pytest.raises(ValueError, match=r"run\.json: patience: expected validation_data"):
        TrainingRun.load(path, X[:50], y[:50])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda doc: doc.update(format="someone.else"), r"format"),
        (lambda doc: doc.update(epochs_done=99), r"epochs_done: expected at most settings\.epochs"),
        (lambda doc: doc["random_state"].update(bit_generator="MT19937"), r"random_state"),
        (lambda doc: doc["settings"]["optimizer"].update(kind="rmsprop"), r"optimizer"),
        (lambda doc: doc["optimizer_state"]["first_moment"].update(data=[0.0], shape=[1]), r"one per parameter"),
        (lambda doc: doc["settings"].update(batch_size=0), r"settings\.batch_size"),
        (lambda doc: doc["data"]["inputs"].update(sha256="not a digest"), r"sha256"),
        (lambda doc: doc["history"]["records"][0].update(loss=-1.0), r"loss"),
    ],
)
def test_a_damaged_or_foreign_checkpoint_is_refused_naming_the_file(tmp_path: Path, change: Any, message: str) -> None:
    run = classifier_run()
    run.advance(3)
    document = json.loads(run.checkpoint().model_dump_json())
    change(document)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(document))
    X, y = data(70, task="multiclass")
    with pytest.raises(ValueError, match=r"damaged\.json: not a valid TrainingCheckpoint: .*" + message):
        TrainingRun.load(path, X[:50], y[:50], validation_data=(X[50:], y[50:]))


def test_a_bundle_or_network_file_given_as_a_checkpoint_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    Network([4, 3]).save(path)
    X, y = data()
    with pytest.raises(
        ValueError, match=r"it is a glassnet\.network file, not a glassnet\.checkpoint file: read it with"
    ):
        TrainingRun.load(path, X, y)


def test_a_custom_optimizer_cannot_be_checkpointed(tmp_path: Path) -> None:
    X, y = data()
    run = TrainingRun(Network([4, 2, 1]), X, y, epochs=3, optimizer=Recorder())
    run.advance(1)
    with pytest.raises(TypeError, match="optimizer: only sgd, momentum and adam can be saved"):
        run.save(tmp_path / "run.json")
    assert not (tmp_path / "run.json").exists()


@pytest.mark.parametrize(("epochs", "stopped_early"), [(20, False), (40, True)])
def test_patience_on_the_last_epoch_is_not_an_early_stop(epochs: int, stopped_early: bool) -> None:
    X, y = data(80)
    # labels of opposite sign for validation: every step that fits the training rows worsens it, so the
    # best validation epoch is the first; with sparse records patience is next checked at epoch 20
    net = Network([4, 1], seed=0)
    history = net.fit(X[:40], y[:40], epochs=epochs, record_every=20, validation_data=(X[40:], -y[40:]), patience=4)
    assert [r.epoch for r in history.records] == [1, 20]
    assert history.best_epoch == 1
    assert history.stopped_early is stopped_early, "stopping on the last epoch stops nothing"


def test_a_checkpoint_round_trips_its_document() -> None:
    run = classifier_run()
    run.advance(4)
    checkpoint = run.checkpoint()
    again = TrainingCheckpoint.model_validate_json(checkpoint.model_dump_json())
    assert again.model_dump_json() == checkpoint.model_dump_json()
    assert again.random_state.generator().bit_generator.state == run.network.generator.bit_generator.state


# --------------------------------------------------------------------------- #
# Checkpoint files: the document, and the history's records in a log beside it
# --------------------------------------------------------------------------- #


def long_run() -> TrainingRun:
    X, y = data(60)
    return TrainingRun(Network([4, 8, 1], activation="tanh", seed=1), X, y, epochs=300, optimizer="adam")


def record_lines(records: list[glassnet.EpochRecord]) -> bytes:
    return b"".join(record.model_dump_json().encode() + b"\n" for record in records)


def test_a_checkpoint_costs_the_same_however_long_the_run(tmp_path: Path) -> None:
    """Each save appends only the new records to the log; the document, without them, keeps its size."""
    run, path = long_run(), tmp_path / "run.json"
    log = tmp_path / "run.json.history.jsonl"
    sizes, logged = [], b""
    while not run.finished:
        run.advance(10)
        run.save(path)
        sizes.append(path.stat().st_size)
        held = log.read_bytes()
        assert held[: len(logged)] == logged, "the log is appended to, never rewritten"
        assert held[len(logged) :] == record_lines(run.history.records[-10:]), "with the 10 new records alone"
        logged = held
    assert len(sizes) == 30 and max(sizes) < 1.05 * min(sizes), (
        "a checkpoint at epoch 300 is as large as at 10 (but for digits)"
    )
    assert len(logged) > 10 * sizes[0], "what the document would have grown by with the history inside"
    X, y = data(60)
    assert TrainingRun.load(path, X, y).history.model_dump_json() == run.history.model_dump_json()


def test_lines_a_killed_run_appended_after_its_checkpoint_are_ignored_then_dropped(tmp_path: Path) -> None:
    whole = long_run()
    whole.advance(40)
    paused, path = long_run(), tmp_path / "run.json"
    paused.advance(20)
    paused.save(path)
    log = tmp_path / "run.json.history.jsonl"
    with log.open("ab") as killed:  # epochs 21 to 30 appended, then a kill halfway through a line
        killed.write(
            record_lines(whole.history.records[20:30]) + whole.history.records[30].model_dump_json()[:40].encode()
        )

    X, y = data(60)
    resumed = TrainingRun.load(path, X, y)
    assert [record.epoch for record in resumed.history.records] == list(range(1, 21))
    resumed.advance(20)
    resumed.save(path)
    assert log.read_bytes() == record_lines(whole.history.records), "the killed run's lines are gone"
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()
    assert TrainingRun.load(path, X, y).history.model_dump_json() == whole.history.model_dump_json()


def test_a_save_that_fails_while_made_leaves_the_next_one_whole(tmp_path: Path) -> None:
    """A save refused while its bytes are made (a NaN parameter) writes nothing and counts nothing: the next save's
    checkpoint still counts exactly the lines its log holds."""
    whole = long_run()
    whole.advance(30)
    run, path = long_run(), tmp_path / "run.json"
    run.advance(10)
    run.save(path)
    run.advance(10)
    kept = run.network.parameter_vector[0]
    run.network.parameter_vector[0] = np.nan
    before = path.read_bytes()
    with pytest.raises(ValueError, match="cannot store the network"):
        run.save(path)
    assert path.read_bytes() == before, "the refused save wrote nothing"
    run.network.parameter_vector[0] = kept
    run.advance(10)
    run.save(path)
    X, y = data(60)
    resumed = TrainingRun.load(path, X, y)
    assert resumed.history.model_dump_json() == whole.history.model_dump_json()
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda log: log.write_bytes(log.read_bytes()[:-30]), r"got [\d,]+ bytes that differ: .*cut short"),
        (lambda log: log.write_bytes(log.read_bytes().replace(b'"epoch":7,', b'"epoch":8,')), r"bytes that differ"),
        (lambda log: log.unlink(), r"cannot read the history log of .*run\.json"),
    ],
    ids=["cut short", "edited", "missing"],
)
def test_a_log_cut_short_edited_or_missing_is_refused_naming_both_files(
    tmp_path: Path, damage: Any, message: str
) -> None:
    run, path = long_run(), tmp_path / "run.json"
    run.advance(10)
    run.save(path)
    damage(tmp_path / "run.json.history.jsonl")
    X, y = data(60)
    with pytest.raises(ValueError, match=r"run\.json: not a valid TrainingCheckpoint: .*run\.json\.history\.jsonl: "):
        TrainingRun.load(path, X, y)
    with pytest.raises(ValueError, match=message):
        TrainingRun.load(path, X, y)


def test_a_checkpoint_file_read_without_its_log_says_how_to_read_it(tmp_path: Path) -> None:
    run, path = long_run(), tmp_path / "run.json"
    run.advance(3)
    run.save(path)
    with pytest.raises(ValueError, match=r"the records are in run\.json\.history\.jsonl, .*TrainingRun\.load"):
        TrainingCheckpoint.model_validate_json(path.read_text())


# --------------------------------------------------------------------------- #
# Step buffers: made in the first epoch, reused after, freed when fit returns
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("activation", "head", "batch_size", "l2"),
    [
        ("identity", "identity", None, 0.0),
        ("relu", "softmax", 32, 0.1),
        ("sigmoid", "sigmoid", 7, 0.0),
        ("leaky_relu", "identity", 40, 0.0),
        ("tanh", "softmax", None, 0.1),
    ],
)
def test_no_step_buffer_is_made_after_the_first_epoch(
    monkeypatch: pytest.MonkeyPatch, activation: str, head: glassnet.Head, batch_size: int | None, l2: float
) -> None:
    made_in_epoch: list[int] = []
    epoch = [1]
    real_init = ArrayMaker.__init__

    def counting_init(self: ArrayMaker, rows: int) -> None:
        made_in_epoch.append(epoch[0])  # a new buffer set
        real_init(self, rows)

    monkeypatch.setattr(ArrayMaker, "__init__", counting_init)
    real = ArrayMaker.floats

    def counting(self: ArrayMaker, *args: Any) -> Any:
        made_in_epoch.append(epoch[0])  # a new array in a set
        return real(self, *args)

    monkeypatch.setattr(ArrayMaker, "floats", counting)
    X, y = data(100, task={"identity": "regression", "sigmoid": "binary", "softmax": "multiclass"}[head])
    sizes = [4, 9, 5, 3 if head == "softmax" else 1]
    net = Network(sizes, activation=activation, head=head, seed=0)

    def next_epoch(record: glassnet.EpochRecord) -> None:
        epoch[0] = record.epoch + 1

    net.fit(
        X[:80], y[:80], epochs=4, batch_size=batch_size, l2=l2, validation_data=(X[80:], y[80:]), on_record=next_epoch
    )
    assert made_in_epoch and set(made_in_epoch) == {1}


@pytest.mark.parametrize("batch_size", [16, 50], ids=["a short last batch", "batches of one size"])
def test_an_epoch_gathered_at_once_trains_to_the_bits_of_one_gathered_batch_by_batch(
    monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    """Small data is gathered an epoch at once, its batches views of the copy; large data a batch at a time. The
    two give the same rows to the same steps, so the same bits."""
    X, y = data(200, task="multiclass")
    found = []
    for limit, at_once in ((0, False), (X.nbytes * 4, True)):
        monkeypatch.setattr(glassnet.epochs, "EPOCH_GATHER_BYTES", limit)
        net = Network([4, 8, 3], activation="relu", head="softmax", seed=2)
        run = TrainingRun(net, X, y, epochs=6, batch_size=batch_size, optimizer="momentum", keep_gradients=1)
        assert glassnet.epochs.Workspace(net, run.data, batch_size).gathers_epochs is at_once
        found.append((net.parameter_vector.tobytes(), run.advance().model_dump_json(), net.generator.random()))
    assert found[0] == found[1]


def test_later_epochs_allocate_no_batch_sized_arrays_and_fit_frees_its_buffers() -> None:
    X, y = get_data(8_000, seed=0)
    net = Network([4, 10, 25, 1], seed=0)
    batch_array = 8_000 * 25 * 8  # one hidden layer's pre-activations: 1.6 MB
    memory: list[tuple[int, int]] = []  # (current, peak since the previous record) at each record

    def measure(record: glassnet.EpochRecord) -> None:
        memory.append(tracemalloc.get_traced_memory())
        tracemalloc.reset_peak()

    net.fit(X, y, epochs=2)  # warm up anything made once per process
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        net.fit(X, y, epochs=6, optimizer="adam", on_record=measure)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    grown = [peak - current for (current, _), (_, peak) in itertools.pairwise(memory)]
    assert memory[0][1] - baseline > 2 * batch_array, "the first epoch makes the buffers"
    assert max(grown) < batch_array / 8, "later epochs reuse them"
    assert after - baseline < batch_array / 8, "fit's buffers are gone when it returns"


def _spliced(tmp_path: Path, change: Any, **settings: Any) -> Path:
    """A checkpoint of a 40-epoch Adam run stopped at epoch 20, edited by ``change``."""
    X, y = data(60)
    run = TrainingRun(Network([4, 8, 1], activation="tanh", seed=1), X, y, epochs=40, optimizer="adam", **settings)
    run.advance(20)
    document = json.loads(run.checkpoint().model_dump_json())
    change(document)
    path = tmp_path / "spliced.json"
    path.write_text(json.dumps(document))
    return path


def _other_architecture_history() -> dict[str, Any]:
    X, y = data(60)
    run = TrainingRun(Network([4, 3, 3, 1], activation="tanh", seed=1), X, y, epochs=40, optimizer="adam")
    run.advance(20)
    history: dict[str, Any] = json.loads(run.checkpoint().model_dump_json())["history"]
    return history


@pytest.mark.parametrize(
    ("record_every", "change", "message"),
    [  # the resumed run would have skipped epochs 21 to 30 without a word
        (
            1,
            lambda doc: doc.update(epochs_done=30),
            r"history: expected the records of epochs \[1, 2, 3, ..., 28, 29, 30\] \(30 epochs_done",
        ),
        (50, lambda doc: doc.update(epochs_done=30), r"optimizer_state: expected at least 30 Adam steps.* got 20"),
        (1, lambda doc: doc.update(history=_other_architecture_history()), r"history: expected records of the network"),
    ],
    ids=["epochs_done beyond the records", "epochs_done beyond the optimizer's steps", "another network's history"],
)
def test_a_checkpoint_whose_parts_disagree_is_refused_naming_them(
    tmp_path: Path, record_every: int, change: Any, message: str
) -> None:
    path = _spliced(tmp_path, change, record_every=record_every)
    X, y = data(60)
    with pytest.raises(ValueError, match=r"spliced\.json: not a valid TrainingCheckpoint: .*" + message):
        TrainingRun.load(path, X, y)


@pytest.mark.parametrize("patience", [None, 50], ids=["no patience", "patience not run out"])
def test_a_checkpoint_that_says_it_stopped_early_where_patience_did_not_is_refused(
    tmp_path: Path, patience: int | None
) -> None:
    """Else the run would end at epoch 20 of 40 as if stopped, without its best epoch restored."""
    X, y = data(60)
    validation = (X[:30], -y[:30])  # a loss that grows as the training loss falls: best at epoch 1
    path = _spliced(
        tmp_path, lambda doc: doc["history"].update(stopped_early=True), validation_data=validation, patience=patience
    )
    with pytest.raises(
        ValueError, match=rf"history\.stopped_early: .*got patience {patience}, best_epoch \d+, the last"
    ):
        TrainingRun.load(path, X, y, validation)


def test_a_checkpoint_takes_its_baseline_and_input_scales_from_the_data_not_the_file(tmp_path: Path) -> None:
    """What the data says (its fingerprint matched) wins over an edited file, which would mislead the diagnosis."""

    def edit(document: dict[str, Any]) -> None:
        document["history"]["input_scales"]["means"][0] = 500.0
        document["history"]["baseline_loss"] = 1e-6

    X, y = data(60)
    whole = TrainingRun(Network([4, 8, 1], activation="tanh", seed=1), X, y, epochs=40, optimizer="adam")
    resumed = TrainingRun.load(_spliced(tmp_path, edit), X, y)
    assert resumed.history.input_scales == whole.history.input_scales
    assert resumed.history.baseline_loss == whole.history.baseline_loss
    whole.advance()
    assert resumed.advance().model_dump_json() == whole.history.model_dump_json()


class CheckpointsWritten(glassnet.Callback, list[int]):
    """Given after a `WriteCheckpoints`, the epochs of each checkpoint it has written, as they are written."""

    def __init__(self, writer: glassnet.WriteCheckpoints) -> None:
        super().__init__()
        self.writer = writer

    def _seen(self) -> None:
        if self.writer.written is not None and (not self or self[-1] != self.writer.written):
            self.append(self.writer.written)
            self.written(self.writer.written)

    def written(self, epochs: int) -> None:
        """Called with the epochs of each checkpoint once it is written (or handed to the disk)."""

    def between_epochs(self, run: glassnet.TrainingRun) -> None:
        self._seen()

    def on_train_end(self, model: glassnet.TabularModel) -> None:
        self._seen()


class StopAt(glassnet.Callback):
    """Raises ``error`` at the end of epoch ``epoch``, as a Ctrl-C or a killed process would stop the run."""

    def __init__(self, epoch: int, error: type[BaseException] = KeyboardInterrupt) -> None:
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, record: glassnet.EpochRecord) -> None:
        if record.epoch == self.epoch:
            raise self.error


def test_checkpoints_written_during_a_fit_make_no_step_buffers_again(tmp_path: Path, monkeypatch: Any) -> None:
    """A checkpoint every epoch is written between the epochs of one advance, not by an advance per checkpoint."""
    made: list[int] = []
    real_init = ArrayMaker.__init__

    def counting_init(self: ArrayMaker, rows: int) -> None:
        made.append(rows)
        real_init(self, rows)

    monkeypatch.setattr(ArrayMaker, "__init__", counting_init)
    houses = glassnet.make_housing(60, seed=1)
    glassnet.TabularModel(epochs=12).fit(houses, "price")
    unsaved, made[:] = list(made), []
    writer = glassnet.WriteCheckpoints(tmp_path / "run.json", every=1)
    written = CheckpointsWritten(writer)
    glassnet.TabularModel(epochs=12).fit(houses, "price", callbacks=[writer, written])
    assert written == list(range(1, 13)) and made == unsaved, "the same buffer sets, however many checkpoints"


def test_a_fit_stopped_while_its_checkpoint_is_being_written_leaves_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checkpoints between epochs are written while training goes on; a fit that stops (here, its epoch
    callback raising) returns only once the checkpoint under way is on disk, whole, with nothing left beside it."""
    real_fsync = os.fsync

    def slow_disk(fd: int) -> None:
        time.sleep(0.05)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_disk)

    houses, path = glassnet.make_housing(60, seed=1), tmp_path / "run.json"
    writer = glassnet.WriteCheckpoints(path, every=10)
    with pytest.raises(KeyboardInterrupt):
        glassnet.TabularModel(epochs=40).fit(houses, "price", callbacks=[writer, StopAt(25)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.json.history.jsonl"]
    assert json.loads(path.read_text())["run"]["epochs_done"] == 20, "the checkpoint under way is in place"
    resumed = glassnet.TabularModel.resume(path, houses)
    whole = glassnet.TabularModel(epochs=40)
    whole.fit(houses, "price")
    assert [record.epoch for record in resumed.history.records] == list(range(1, 41))
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()


def test_a_checkpoint_that_fails_on_disk_stops_the_fit_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background write that fails (a full disk) stops the run with that error at its next checkpoint or end;
    the file on disk is the last one written whole, from which the run resumes to the same bits."""
    real_write = glassnet.files.AtomicFile.write
    whole: list[int] = []  # the epochs of the checkpoints written whole

    def full_disk_at_the_third(self: glassnet.files.AtomicFile, content: str | bytes) -> None:
        if self.path.name == "run.json":
            if len(whole) == 2:
                raise OSError(28, "No space left on device")
            real_write(self, content)
            whole.append(json.loads(content)["run"]["epochs_done"])
        else:
            real_write(self, content)

    monkeypatch.setattr(glassnet.files.AtomicFile, "write", full_disk_at_the_third)
    houses, path = glassnet.make_housing(60, seed=1), tmp_path / "run.json"
    with pytest.raises(OSError, match="No space left on device"):
        glassnet.TabularModel(epochs=60).fit(houses, "price", callbacks=[glassnet.WriteCheckpoints(path, every=10)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.json.history.jsonl"]
    monkeypatch.undo()
    assert json.loads(path.read_text())["run"]["epochs_done"] == whole[-1] < 60, "the third never replaced it"
    resumed = glassnet.TabularModel.resume(path, houses)
    unbroken = glassnet.TabularModel(epochs=60)
    unbroken.fit(houses, "price")
    assert resumed.network.parameter_vector.tobytes() == unbroken.network.parameter_vector.tobytes()


def test_checkpoints_made_while_the_disk_is_busy_go_to_it_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training does not wait for a slow disk: checkpoints made while the first is still being written
    (its flush held here until the 29th is made) go to disk as one, with all their records, and the run
    resumes from the file to the bits of an unbroken one."""
    real_fsync, flushes = os.fsync, threading.Event()

    def held_disk(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            assert flushes.wait(timeout=60), "the 29th checkpoint was never made"
        real_fsync(fd)

    real_write, epochs_written = glassnet.files.AtomicFile.write, []

    def counted(self: glassnet.files.AtomicFile, content: str | bytes) -> None:
        real_write(self, content)
        if self.path.name == "run.json":
            epochs_written.append(json.loads(content)["run"]["epochs_done"])

    monkeypatch.setattr(os, "fsync", held_disk)
    monkeypatch.setattr(glassnet.files.AtomicFile, "write", counted)

    class Made(CheckpointsWritten):
        def written(self, epochs: int) -> None:
            if epochs == 29:
                flushes.set()

    houses, path = glassnet.make_housing(60, seed=1), tmp_path / "run.json"
    writer = glassnet.WriteCheckpoints(path, every=1)
    made = Made(writer)
    model = glassnet.TabularModel(epochs=30)
    model.fit(houses, "price", callbacks=[writer, made])
    assert made == list(range(1, 31)) and epochs_written == [1, 29, 30], "2 to 29 waited, and went as one"
    log = [json.loads(line)["epoch"] for line in glassnet.checkpoints.history_log(path).read_text().splitlines()]
    assert log == list(range(1, 31))
    monkeypatch.undo()
    stored = glassnet.TabularModel.resume(path, houses)
    assert stored.history == model.history
    assert stored.network.parameter_vector.tobytes() == model.network.parameter_vector.tobytes()


def test_each_checkpoint_stores_extra_as_it_is_when_written(tmp_path: Path) -> None:
    """The model's parts are validated at the first checkpoint only, but ``extra`` is the writer's mapping as it
    stands at each checkpoint: a value changed mid-run reaches the next checkpoint."""
    stored: list[int] = []
    path = tmp_path / "run.json"
    writer = glassnet.WriteCheckpoints(path, every=4, extra={"stage": 0})

    class Stage(CheckpointsWritten):
        def written(self, epochs: int) -> None:
            if epochs == 12:  # the last, written before this call
                stored.append(json.loads(path.read_text())["extra"]["stage"])
            writer.extra["stage"] = epochs

    glassnet.TabularModel(epochs=12).fit(glassnet.make_housing(60, seed=1), "price", callbacks=[writer, Stage(writer)])
    assert stored == [8], "the last checkpoint holds the value set after the one before it"


def test_a_checkpoint_writer_given_to_another_fit_says_only_what_that_fit_wrote(tmp_path: Path) -> None:
    houses, writer = glassnet.make_housing(60, seed=1), glassnet.WriteCheckpoints(tmp_path / "run.json", every=5)
    glassnet.TabularModel(epochs=6).fit(houses, "price", callbacks=[writer])
    assert writer.written == 6
    with pytest.raises(KeyboardInterrupt):
        glassnet.TabularModel(epochs=6).fit(houses, "price", callbacks=[writer, StopAt(3)])
    assert writer.written is None, "the second fit stopped before its first checkpoint"
