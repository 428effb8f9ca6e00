"""glassnet.health: the unit health a record measures of its epoch for the diagnosis, over many rows.

Unit health is compared with a forward pass written here (`forward_health`), over every training row;
the counts must come from the epoch's last steps, at least 256 rows of them, on recorded epochs only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from glassnet import ACTIVATIONS, Network, get_data, register_activation
from glassnet.buffers import StepBuffers
from glassnet.functions import HEADS
from glassnet.health import UnitCounts
from glassnet.layout import ParameterLayout
from glassnet.network import check_data
from glassnet.step import TrainingStep

pytestmark = pytest.mark.stored  # exact shares of units, compared with a pass written here

FloatArray = npt.NDArray[np.float64]
REGRESSION = get_data(300, seed=0)


def forward_health(net: Network, X: FloatArray) -> list[tuple[float, float]]:
    """Per hidden layer, over every row of ``X``: the share of units whose derivative stays below 1% of its
    largest on every row (dead), and the share of unit-row pairs where it is (saturated): a forward pass
    written here, with each activation's derivative in closed form."""
    slopes: dict[str, Callable[[FloatArray], FloatArray]] = {
        "relu": lambda z: (z > 0).astype(float),
        "tanh": lambda z: 1 - np.tanh(z) ** 2,
        "sigmoid": lambda z: 4 / (np.exp(z / 2) + np.exp(-z / 2)) ** 2,  # sigma' / max sigma' = 4 sigma (1 - sigma)
    }
    functions: dict[str, Callable[[FloatArray], FloatArray]] = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    }
    health, a = [], X
    for layer in net.params[:-1]:
        z = a @ layer.weights + layer.bias
        blocked = slopes[net.activation](z) < 0.01
        health.append((float(np.mean(blocked.all(axis=0))), float(np.mean(blocked))))
        a = functions[net.activation](z)
    return health


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_full_batch_record_counts_unit_health_over_its_last_256_rows_or_relu_s_over_all(activation: str) -> None:
    X, y = REGRESSION  # 300 rows
    net = Network([4, 12, 12, 1], activation=activation, init="normal", seed=3)
    net.params[0].bias[:4] = -50.0  # four units off (relu) or flat (tanh) on every row
    counted = X if activation == "relu" else X[-256:]  # relu reads the bias gradients: the whole batch
    fresh = forward_health(net, counted)
    record = net.fit(X, y, epochs=1).records[0]  # its one step starts from these parameters
    assert record.unit_rows == len(counted)
    assert record.dead_fractions == [d for d, _ in fresh] and record.dead_fractions[0] == 4 / 12
    expected = [s for _, s in fresh] if activation == "tanh" else [0.0, 0.0]
    assert record.saturated_fractions == pytest.approx(expected, abs=1e-12)
    assert activation == "relu" or min(expected) > 0.2, "tanh: units of both layers saturate on some rows"


@pytest.mark.parametrize(
    ("rows", "batch_size", "tanh_rows", "relu_rows"),
    [(300, 1, 256, 256), (300, 32, 256, 268), (1000, 300, 256, 400), (1000, 1000, 256, 1000), (100, 10, 100, 100)],
)
def test_unit_health_is_counted_over_the_epoch_s_last_256_rows(
    rows: int, batch_size: int, tanh_rows: int, relu_rows: int
) -> None:
    """The last 256 rows, or all when fewer: 300 rows in batches of 32 end with 12, then the 8 batches before
    give 32 each, the first of them its last 20. Relu counts whole steps: 12 + 8 x 32 = 268."""
    X, y = get_data(rows, seed=1)
    for activation, counted in (("tanh", tanh_rows), ("relu", relu_rows)):
        net = Network([4, 8, 1], activation=activation, seed=0)
        assert net.fit(X, y, epochs=1, batch_size=batch_size).records[0].unit_rows == counted, activation


def test_one_row_cannot_make_a_healthy_relu_layer_dead() -> None:
    """batch_size=1: the last row alone leaves a quarter of the units off; the epoch's last 256 rows do not."""
    X, y = REGRESSION
    net = Network([4, 16, 16, 1], activation="relu", init="he", seed=0)
    history = net.fit(X, y, epochs=3, optimizer="adam", learning_rate=0.001, batch_size=1)
    off_on_the_last_row = [d for d, _ in forward_health(net, X[-1:])]
    assert max(off_on_the_last_row) >= 0.25, off_on_the_last_row
    assert all(record.dead_fractions == [0.0, 0.0] for record in history.records), history.records[-1]
    assert [d for d, _ in forward_health(net, X)] == [0.0, 0.0]


def test_relu_units_below_a_dead_layer_are_judged_by_their_rows_on_every_counted_step() -> None:
    """Layer 2 off on every row cuts every delta below it to exactly 0, so no bias gradient of layer 1 says
    which of its units were active: each counted step's rows do, and none of them is taken for dead."""
    X, y = get_data(50, seed=2)
    net = Network([4, 8, 8, 1], activation="relu", init="he", seed=0)
    net.params[1].bias[...] = -100.0
    record = net.fit(X, y, epochs=1, batch_size=1).records[0]
    assert record.unit_rows == 50
    assert record.dead_fractions == [forward_health(net, X)[0][0], 1.0]


def test_leaky_relu_and_identity_never_count_dead_or_saturated_units() -> None:
    X, y = REGRESSION
    for activation in ("leaky_relu", "identity"):
        net = Network([4, 6, 1], activation=activation, seed=0)
        net.params[0].bias[...] = -100.0
        record = net.fit(X, y, epochs=1).records[0]
        assert record.dead_fractions == record.saturated_fractions == [0.0], activation


def hard_tanh(z: FloatArray) -> FloatArray:
    return np.clip(z, -1.0, 1.0)


def hard_tanh_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.where(np.abs(z) < 1.0, 1.0, 0.0)


def test_a_registered_activation_saturates_when_it_says_so() -> None:
    X, y = REGRESSION
    shares = {}
    for saturates in (True, False):
        name = f"test_hard_tanh_{saturates}"
        if name not in ACTIVATIONS:
            register_activation(name, hard_tanh, hard_tanh_slope, saturates=saturates)
        net = Network([4, 4, 1], activation=name, seed=0)
        net.params[0].bias[...] = [5.0, -5.0, 5.0, 0.0]  # three units flat on every row
        record = net.fit(X, y, epochs=1).records[0]
        assert record.saturated_fractions is not None
        shares[saturates] = (record.dead_fractions, record.saturated_fractions)
    assert shares[True][0] == shares[False][0] and shares[True][0][0] >= 0.75
    assert shares[True][1][0] >= 0.75 and shares[False][1] == [0.0]
    with pytest.raises(TypeError, match=r"saturates: expected True or False, got 'yes'"):
        register_activation("test_never_registered", np.tanh, lambda z, a: 1 - a * a, saturates="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_unit_counts_need_no_network_only_the_arrays_a_step_wrote(activation: str) -> None:
    """The health room counts what a step left in its buffers and in the gradient vector it was given, both made
    here from flat arrays; the plan of a record's rows is its own too: 300 rows in batches of 32 count the
    last 20 rows of step 1 (of 0 to 9), then every later one, 256 in all."""
    X, y = get_data(40, seed=5)
    net = Network([4, 6, 5, 1], activation=activation, init="normal", seed=3)
    net.params[0].bias[:2] = -50.0  # two units off (relu) or flat (tanh) on every row
    layout, spec = ParameterLayout(net.shapes), ACTIVATIONS[activation]
    gradients = np.zeros(layout.size)
    step = TrainingStep.of(40, layout, net.parameter_vector.copy(), gradients, spec, HEADS["identity"])
    counts = UnitCounts(spec, [6, 5], layout.hidden_biases(gradients), rows=40, batch=40)
    step.loss_and_gradients(*check_data(net, X, y), 0.0)
    counts.count(step.buffers, first=True, rows=40)

    dead, saturated = counts.fractions()
    expected = forward_health(net, X)
    assert dead == [d for d, _ in expected] and dead[0] == 2 / 6
    assert saturated == pytest.approx([s for _, s in expected] if activation == "tanh" else [0.0, 0.0], abs=1e-12)
    assert (counts.counted_from, counts.first_counted_rows, counts.steps, counts.rows) == (0, 40, 1, 40)
    plan = UnitCounts(spec, [6, 5], layout.hidden_biases(gradients), rows=300, batch=32)
    assert (plan.counted_from, plan.first_counted_rows) == (1, 20)


def test_unrecorded_epochs_count_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[int] = []
    real = UnitCounts.count

    def count(self: UnitCounts, buffers: StepBuffers, *, first: bool, rows: int) -> None:
        counted.append(rows)
        real(self, buffers, first=first, rows=rows)

    monkeypatch.setattr(UnitCounts, "count", count)
    X, y = get_data(100, seed=0)
    history = Network([4, 5, 1], activation="tanh").fit(X, y, epochs=10, batch_size=10, record_every=5)
    assert [r.epoch for r in history.records] == [1, 5, 10]
    assert counted == [10] * 30, "every step of the three recorded epochs (100 rows: fewer than 256), no other"


def test_saturated_and_dead_tanh_units_are_counted_over_every_step_of_a_minibatch_epoch() -> None:
    """Ten batches of 10 rows: a unit counts as dead only if it was blocked on all 100, and the blocked pairs
    of every batch add up to the share of the whole epoch (the parameters barely move: learning rate 1e-12)."""
    X, y = get_data(100, seed=3)
    net = Network([4, 12, 1], activation="tanh", init="normal", seed=3)
    net.params[0].bias[:4] = -50.0
    net.params[0].bias[4] = 3.0  # blocked on many rows, not on all
    [(dead, saturated)] = forward_health(net, X)
    record = net.fit(X, y, epochs=1, batch_size=10, learning_rate=1e-12).records[0]
    assert record.unit_rows == 100
    assert record.dead_fractions == [dead] == [4 / 12]
    assert record.saturated_fractions == pytest.approx([saturated], abs=1e-12) and saturated > 5 / 12
