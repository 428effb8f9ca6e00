"""Tests for network.py: gradients, hand-computed cases, stability, optimizers, fit, records, files, validation."""

from __future__ import annotations

import json
import math
import re
import uuid
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from pydantic import ValidationError

from glassnet import (
    ACTIVATIONS,
    SGD,
    Activation,
    Adam,
    EpochRecord,
    GradientRecord,
    Head,
    LayerGradients,
    LayerParams,
    Momentum,
    Network,
    TrainingDiverged,
    TrainingHistory,
    TrainingRun,
    gradient_check,
    register_activation,
)

FloatArray = npt.NDArray[np.float64]
BUILTIN_ACTIVATIONS: tuple[str, ...] = ("identity", "relu", "leaky_relu", "sigmoid", "tanh")
LN2, LN3 = math.log(2.0), math.log(3.0)


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def snapshot(net: Network) -> FloatArray:
    """A copy of every parameter, layer by layer (weights then bias)."""
    return np.concatenate([np.concatenate([p.weights.ravel(), p.bias]) for p in net.params])


def set_params(net: Network, *layers: tuple[list[list[float]], list[float]]) -> None:
    """Overwrite each layer's weights and bias in place with the given values."""
    assert len(layers) == len(net.params)
    for p, (weights, bias) in zip(net.params, layers, strict=True):
        p.weights[...] = weights
        p.bias[...] = bias


def grads_of(record: GradientRecord, layer: int) -> tuple[FloatArray, FloatArray]:
    return record.layers[layer].weights, record.layers[layer].bias


@pytest.fixture
def custom_activation() -> Iterator[str]:
    """A correctly differentiated softsign-like activation under a unique name, removed afterwards."""
    name = f"test_softsign_{uuid.uuid4().hex}"
    register_activation(name, lambda z: z / (1.0 + np.abs(z)), lambda z, a: 1.0 / (1.0 + np.abs(z)) ** 2)
    yield name
    ACTIVATIONS.pop(name, None)


@pytest.fixture
def wrong_activation() -> Iterator[str]:
    """tanh with a deliberately wrong derivative (``1 - a`` instead of ``1 - a**2``), unique name."""
    name = f"test_wrong_tanh_{uuid.uuid4().hex}"
    register_activation(name, np.tanh, lambda z, a: 1.0 - a)
    yield name
    ACTIVATIONS.pop(name, None)


# --------------------------------------------------------------------------- #
# 1. gradients against central differences
# --------------------------------------------------------------------------- #

# name -> (head, number of outputs, label kind)
HEAD_CASES: dict[str, tuple[str, int, str]] = {
    "identity-1": ("identity", 1, "real"),
    "identity-3": ("identity", 3, "real"),
    "sigmoid": ("sigmoid", 1, "binary"),
    "softmax-int": ("softmax", 3, "integer"),
    "softmax-onehot": ("softmax", 3, "onehot"),
}


def random_case(activation: str, head_case: str, depth: int) -> tuple[Network, FloatArray, npt.NDArray[Any]]:
    """A random architecture of ``depth`` layers with non-zero biases, and data for it; seeded by the case."""
    head, n_out, labels = HEAD_CASES[head_case]
    seed = zlib.crc32(f"{activation}/{head_case}/{depth}".encode())
    rng = np.random.default_rng(seed)
    sizes = [int(rng.integers(1, 5)), *(int(k) for k in rng.integers(2, 7, size=depth - 1)), n_out]
    net = Network(sizes, activation=activation, head=head, seed=seed)  # type: ignore[arg-type]
    for p in net.params:
        p.bias[...] = rng.normal(0.0, 0.5, size=p.bias.shape)
    n = 7
    X = rng.normal(size=(n, sizes[0]))
    y: npt.NDArray[Any]
    if labels == "real":
        y = rng.normal(size=(n, n_out)) if n_out > 1 else rng.normal(size=n)
    elif labels == "binary":
        y = rng.integers(0, 2, size=n)
    elif labels == "integer":
        y = rng.integers(0, n_out, size=n)
    else:
        y = np.eye(n_out)[rng.integers(0, n_out, size=n)]
    return net, X, y


USER_MEMBERS = (
    *("activation", "head", "layer_sizes", "shapes", "loss_name", "n_parameters", "params", "parameter_vector"),
    *("forward", "predict", "score", "loss", "row_losses", "gradients", "input_gradients", "linear_map"),
    *("fit", "optimizer_state", "generator", "save", "load", "to_document", "from_document"),
)
"""What a user calls on a network: its architecture and parameters, forward, loss and gradients, input
gradients, fit (with the state it goes on from and the generator that shuffles), save and load."""


def test_a_network_s_public_members_are_only_what_a_user_calls() -> None:
    """The training loop builds its steps, gradients and unit counts from arrays of its own (`glassnet.epochs`),
    and the input checks are functions of `glassnet.network`: none of them is a member of the network."""
    members = [name for name in dir(Network([2, 3, 1])) if not name.startswith("_")]
    assert sorted(members) == sorted(USER_MEMBERS)


def test_builtin_activations_are_the_contract_ones() -> None:
    assert set(BUILTIN_ACTIVATIONS) == set(get_args(Activation))
    assert set(BUILTIN_ACTIVATIONS) <= set(ACTIVATIONS)


@pytest.mark.parametrize("l2", [0.0, 0.1], ids=["l2=0", "l2=0.1"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4], ids=lambda d: f"depth={d}")
@pytest.mark.parametrize("head_case", list(HEAD_CASES))
@pytest.mark.parametrize("activation", BUILTIN_ACTIVATIONS)
def test_gradients_match_central_differences(activation: str, head_case: str, depth: int, l2: float) -> None:
    net, X, y = random_case(activation, head_case, depth)
    assert all(np.any(p.bias != 0.0) for p in net.params)
    report = gradient_check(net, X, y, l2=l2)
    assert report.passed, report.table()
    assert report.max_relative_error < 1e-6, report.table()
    assert len(report.errors) == 2 * depth
    # the analytic side is exactly what net.gradients reports
    record = net.gradients(X, y, l2=l2)
    for a, b in zip(report.analytic.layers, record.layers, strict=True):
        assert np.array_equal(a.weights, b.weights)
        assert np.array_equal(a.bias, b.bias)


def test_gradient_check_leaves_parameters_bit_identical() -> None:
    net, X, y = random_case("tanh", "softmax-int", 3)
    net.params[0].weights[0, 0] = 0.0  # exact zeros and a negative zero must survive too
    net.params[1].bias[0] = -0.0
    before = snapshot(net)
    gradient_check(net, X, y, l2=0.3)
    assert snapshot(net).tobytes() == before.tobytes()
    # and the network still computes the same loss
    net2, _, _ = random_case("tanh", "softmax-int", 3)
    net2.params[0].weights[0, 0], net2.params[1].bias[0] = 0.0, -0.0
    assert net.loss(X, y, l2=0.3) == net2.loss(X, y, l2=0.3)


def test_gradient_check_numeric_side_and_error_formula() -> None:
    net, X, y = random_case("sigmoid", "identity-3", 2)
    eps = 1e-5
    report = gradient_check(net, X, y, epsilon=eps, l2=0.2)
    # numeric d loss / d W[0][1, 0], nudging the live parameter by hand
    w = net.params[0].weights
    original = w[1, 0]
    w[1, 0] = original + eps
    plus = net.loss(X, y, l2=0.2)
    w[1, 0] = original - eps
    minus = net.loss(X, y, l2=0.2)
    w[1, 0] = original
    assert report.numeric.layers[0].weights[1, 0] == pytest.approx((plus - minus) / (2 * eps), rel=1e-12)
    # errors[i] = ||a - n|| / (||a|| + ||n||), weights then bias per layer
    expected = []
    for a, n in zip(report.analytic.layers, report.numeric.layers, strict=True):
        for a_part, n_part in ((a.weights, n.weights), (a.bias, n.bias)):
            expected.append(np.linalg.norm(a_part - n_part) / (np.linalg.norm(a_part) + np.linalg.norm(n_part)))
    assert report.errors == pytest.approx(expected, rel=1e-12)


def test_gradient_check_catches_a_wrong_derivative(wrong_activation: str) -> None:
    rng = np.random.default_rng(3)
    net = Network([3, 4, 1], activation=wrong_activation, seed=3)
    net.params[0].bias[...] = rng.normal(size=4)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    report = gradient_check(net, X, y)
    assert not report.passed
    assert report.max_relative_error > 1e-2
    # the error is in the hidden layer; the output layer's gradient does not use the derivative
    assert report.errors[0] > 1e-2 and report.errors[1] > 1e-2
    assert report.errors[2] < 1e-6 and report.errors[3] < 1e-6
    assert "MISMATCH" in report.table()


@pytest.mark.parametrize("eps", [0.0, -1e-6, math.inf, math.nan])
def test_gradient_check_rejects_bad_epsilon(eps: float) -> None:
    net, X, y = random_case("relu", "identity-1", 1)
    with pytest.raises(ValueError, match=rf"epsilon: expected a positive finite number, got {eps!r}"):
        gradient_check(net, X, y, epsilon=eps)


def test_register_activation_validates() -> None:
    with pytest.raises(ValueError, match=r"name: expected a new activation name, got 'relu', which is already"):
        register_activation("relu", np.tanh, lambda z, a: 1.0 - a * a)
    with pytest.raises(TypeError, match=r"name: expected a non-empty string, got ''"):
        register_activation("", np.tanh, lambda z, a: 1.0 - a * a)
    bad: Any = "not callable"
    with pytest.raises(TypeError, match=r"function, derivative: expected two callables"):
        register_activation(f"test_bad_{uuid.uuid4().hex}", np.tanh, bad)
    assert ACTIVATIONS["relu"].derivative is not None  # the built-in survived


def test_custom_activation_trains_and_checks(custom_activation: str) -> None:
    rng = np.random.default_rng(0)
    net = Network([2, 5, 1], activation=custom_activation, seed=0)
    net.params[0].bias[...] = rng.normal(size=5)
    X, y = rng.normal(size=(10, 2)), rng.normal(size=10)
    assert gradient_check(net, X, y).max_relative_error < 1e-6


# --------------------------------------------------------------------------- #
# 2. small cases computed by hand
# --------------------------------------------------------------------------- #


def linear_2_1() -> tuple[Network, FloatArray, FloatArray]:
    """2-1 identity network W = [[2], [-1]], b = [0.5]; X = [[1, 2], [3, -1]], y = [1, 4]."""
    net = Network([2, 1])
    set_params(net, ([[2.0], [-1.0]], [0.5]))
    return net, np.array([[1.0, 2.0], [3.0, -1.0]]), np.array([1.0, 4.0])


def test_identity_forward_loss_and_gradients_by_hand() -> None:
    net, X, y = linear_2_1()
    # forward: 1*2 + 2*(-1) + 0.5 = 0.5 ; 3*2 + (-1)*(-1) + 0.5 = 7.5
    np.testing.assert_allclose(net.forward(X), [[0.5], [7.5]], rtol=0, atol=1e-15)
    # errors -0.5 and 3.5: MSE = (0.25 + 12.25) / 2 = 6.25
    assert net.loss(X, y) == pytest.approx(6.25, rel=1e-15)
    # dZ = 2 (a - y) / n = [-0.5, 3.5]; dW = X.T dZ = [1*-0.5 + 3*3.5, 2*-0.5 + (-1)*3.5] = [10, -4.5]; db = 3
    record = net.gradients(X, y)
    dW, db = grads_of(record, 0)
    np.testing.assert_allclose(dW, [[10.0], [-4.5]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(db, [3.0], rtol=0, atol=1e-14)
    assert record.loss == pytest.approx(6.25, rel=1e-15)
    # y as (n, 1) is the same problem
    assert net.loss(X, y[:, None]) == net.loss(X, y)


def test_l2_penalises_weights_only_by_hand() -> None:
    net, X, y = linear_2_1()
    # l2 = 0.1: loss += (0.1 / 2) * (2**2 + (-1)**2) = 0.05 * 5 = 0.25 -> 6.5; the bias 0.5 is not penalised
    assert net.loss(X, y, l2=0.1) == pytest.approx(6.5, rel=1e-15)
    # dW += 0.1 * W = [0.2, -0.1] -> [10.2, -4.6]; db unchanged at 3
    record = net.gradients(X, y, l2=0.1)
    dW, db = grads_of(record, 0)
    np.testing.assert_allclose(dW, [[10.2], [-4.6]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(db, [3.0], rtol=0, atol=1e-14)
    assert record.loss == pytest.approx(6.5, rel=1e-15)


def test_l2_on_a_deep_network_is_half_sum_of_squared_weights() -> None:
    net, X, y = random_case("tanh", "identity-3", 3)
    weights_sq = sum(float(np.sum(p.weights**2)) for p in net.params)
    assert net.loss(X, y, l2=0.4) - net.loss(X, y) == pytest.approx(0.2 * weights_sq, rel=1e-12)
    plain, penalised = net.gradients(X, y), net.gradients(X, y, l2=0.4)
    for p, a, b in zip(net.params, plain.layers, penalised.layers, strict=True):
        np.testing.assert_allclose(b.weights - a.weights, 0.4 * p.weights, rtol=1e-12, atol=1e-15)
        assert np.array_equal(b.bias, a.bias)


def test_mse_is_a_mean_over_samples_and_outputs() -> None:
    net = Network([1, 2])
    set_params(net, ([[1.0, 2.0]], [0.0, 0.0]))
    X, y = np.array([[1.0], [2.0]]), np.zeros((2, 2))
    # predictions [[1, 2], [2, 4]]: mean over all 4 entries = (1 + 4 + 4 + 16) / 4 = 6.25
    # (a sum over outputs, mean over samples, would give 12.5)
    assert net.loss(X, y) == pytest.approx(6.25, rel=1e-15)
    # dZ = 2 (a - y) / (n * k) = a / 2 = [[0.5, 1], [1, 2]]
    # dW = X.T dZ = [1*0.5 + 2*1, 1*1 + 2*2] = [2.5, 5]; db = [0.5 + 1, 1 + 2] = [1.5, 3]
    dW, db = grads_of(net.gradients(X, y), 0)
    np.testing.assert_allclose(dW, [[2.5, 5.0]], rtol=0, atol=1e-14)
    np.testing.assert_allclose(db, [1.5, 3.0], rtol=0, atol=1e-14)


def test_sigmoid_head_bce_and_gradient_by_hand() -> None:
    net = Network([1, 1], head="sigmoid")
    set_params(net, ([[1.0]], [0.0]))
    X, y = np.array([[0.0], [LN3]]), np.array([1, 0])
    # logits 0 and ln 3 -> probabilities 1/2 and 3/4
    np.testing.assert_allclose(net.forward(X), [[0.5], [0.75]], rtol=1e-15)
    # BCE = (-ln(1/2) - ln(1 - 3/4)) / 2 = (ln 2 + ln 4) / 2 = 1.5 ln 2
    assert net.loss(X, y) == pytest.approx(1.5 * LN2, rel=1e-14)
    # dZ = (a - y) / n = [(0.5 - 1) / 2, (0.75 - 0) / 2] = [-0.25, 0.375]
    # dW = 0 * -0.25 + ln3 * 0.375; db = -0.25 + 0.375 = 0.125
    dW, db = grads_of(net.gradients(X, y), 0)
    np.testing.assert_allclose(dW, [[0.375 * LN3]], rtol=1e-14)
    np.testing.assert_allclose(db, [0.125], rtol=1e-14)
    # labels as a column are the same
    assert net.loss(X, y[:, None]) == net.loss(X, y)


@pytest.mark.parametrize("one_hot", [False, True], ids=["integer", "one-hot"])
def test_softmax_head_cross_entropy_and_gradient_by_hand(one_hot: bool) -> None:
    net = Network([1, 2], head="softmax")
    set_params(net, ([[0.0, 0.0]], [0.0, LN3]))
    X = np.array([[1.0], [2.0]])
    y: npt.NDArray[Any] = np.array([[1, 0], [0, 1]]) if one_hot else np.array([0, 1])
    # logits [0, ln 3] for both rows -> probabilities [1/4, 3/4]
    np.testing.assert_allclose(net.forward(X), [[0.25, 0.75], [0.25, 0.75]], rtol=1e-15)
    # CE = (-ln(1/4) - ln(3/4)) / 2 = (ln 4 + ln 4 - ln 3) / 2 = 2 ln 2 - ln(3) / 2
    assert net.loss(X, y) == pytest.approx(2 * LN2 - LN3 / 2, rel=1e-14)
    # dZ = (p - y) / n: row 1 [1/4 - 1, 3/4] / 2 = [-3/8, 3/8]; row 2 [1/4, 3/4 - 1] / 2 = [1/8, -1/8]
    # dW = X.T dZ = [1*(-3/8) + 2*(1/8), 1*(3/8) + 2*(-1/8)] = [-1/8, 1/8]; db = [-1/4, 1/4]
    dW, db = grads_of(net.gradients(X, y), 0)
    np.testing.assert_allclose(dW, [[-0.125, 0.125]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(db, [-0.25, 0.25], rtol=0, atol=1e-15)


def test_hidden_layer_backprop_by_hand_leaky_relu() -> None:
    net = Network([1, 1, 1], activation="leaky_relu")
    set_params(net, ([[1.0]], [0.0]), ([[1.0]], [0.0]))
    X, y = np.array([[-2.0], [3.0]]), np.zeros(2)
    # hidden: leaky(-2) = -0.02, leaky(3) = 3; output the same
    np.testing.assert_allclose(net.forward(X), [[-0.02], [3.0]], rtol=1e-15)
    # loss = (0.0004 + 9) / 2 = 4.5002
    assert net.loss(X, y) == pytest.approx(4.5002, rel=1e-14)
    record = net.gradients(X, y)
    # dZ2 = 2 (a - y) / 2 = [-0.02, 3]; dW2 = a1.T dZ2 = 0.0004 + 9 = 9.0004; db2 = 2.98
    dW2, db2 = grads_of(record, 1)
    np.testing.assert_allclose(dW2, [[9.0004]], rtol=1e-14)
    np.testing.assert_allclose(db2, [2.98], rtol=1e-14)
    # delta1 = dZ2 * W2 * f'(z1) = [-0.02 * 0.01, 3 * 1] = [-0.0002, 3]
    # dW1 = X.T delta1 = (-2)(-0.0002) + 3*3 = 9.0004; db1 = 2.9998
    dW1, db1 = grads_of(record, 0)
    np.testing.assert_allclose(dW1, [[9.0004]], rtol=1e-14)
    np.testing.assert_allclose(db1, [2.9998], rtol=1e-14)


def test_relu_derivative_is_zero_at_zero() -> None:
    net = Network([1, 1, 1], activation="relu")
    set_params(net, ([[1.0]], [0.0]), ([[1.0]], [0.5]))
    X, y = np.array([[0.0]]), np.array([0.0])
    # hidden z = 0, a = 0; output 0.5; dZ2 = 2 * 0.5 / 1 = 1; dW2 = a1 * 1 = 0; db2 = 1
    # delta1 = 1 * W2 * relu'(0) = 0, so the first layer gets no gradient (it would get db1 = 1 with relu'(0) = 1)
    record = net.gradients(X, y)
    np.testing.assert_array_equal(record.layers[1].weights, [[0.0]])
    np.testing.assert_array_equal(record.layers[1].bias, [1.0])
    np.testing.assert_array_equal(record.layers[0].weights, [[0.0]])
    np.testing.assert_array_equal(record.layers[0].bias, [0.0])


# --------------------------------------------------------------------------- #
# 3. numerical stability
# --------------------------------------------------------------------------- #


def strict_floats() -> np.errstate:
    """Overflow, division by zero and invalid operations raise; underflow to 0 is allowed (it is exact here)."""
    return np.errstate(over="raise", divide="raise", invalid="raise", under="ignore")


@pytest.mark.parametrize(
    ("z", "label", "expected"),
    [
        (1000.0, 0, 1000.0),  # log(1 + e^1000) - 0 = 1000
        (1000.0, 1, 0.0),  # log(1 + e^1000) - 1000 = 0
        (-1000.0, 1, 1000.0),  # log(1 + e^-1000) + 1000 = 1000
        (-1000.0, 0, 0.0),  # log(1 + e^-1000) = 0
        (500.0, 0, 500.0),
        (-500.0, 1, 500.0),
    ],
)
def test_sigmoid_head_is_exact_at_huge_logits(z: float, label: int, expected: float) -> None:
    net = Network([1, 1], head="sigmoid")
    set_params(net, ([[1.0]], [0.0]))
    X, y = np.array([[z]]), np.array([label])
    with warnings.catch_warnings(), strict_floats():
        warnings.simplefilter("error")
        loss = net.loss(X, y)
        probability = net.forward(X)
        dW, db = grads_of(net.gradients(X, y), 0)
    assert loss == expected
    # sigma(z) for z >= 500 is exactly 1.0 in float64; for z < 0 it is e^z / (1 + e^z) = e^z (0.0 at -1000)
    a = 1.0 if z > 0 else math.exp(z)
    assert probability[0, 0] == pytest.approx(a, rel=1e-14, abs=0.0)
    # d loss / d z = a - y (n = 1): e.g. 1 - 0, 1 - 1, 0 - 1, 0 - 0
    assert db[0] == pytest.approx(a - label, rel=1e-14, abs=0.0)
    assert dW[0, 0] == z * db[0]


@pytest.mark.parametrize(
    ("x", "label", "expected"),
    [
        (1000.0, 0, 0.0),  # logits [1000, -1000]: logsumexp = 1000, minus z_0 = 1000 -> 0
        (1000.0, 1, 2000.0),  # 1000 - (-1000)
        (500.0, 1, 1000.0),  # logits [500, -500]: 500 - (-500)
        (-1000.0, 0, 2000.0),  # logits [-1000, 1000]: 1000 - (-1000)
    ],
)
def test_softmax_head_is_exact_at_huge_logits(x: float, label: int, expected: float) -> None:
    net = Network([1, 2], head="softmax")
    set_params(net, ([[1.0, -1.0]], [0.0, 0.0]))
    X, y = np.array([[x]]), np.array([label])
    with warnings.catch_warnings(), strict_floats():
        warnings.simplefilter("error")
        loss = net.loss(X, y)
        probabilities = net.forward(X)
        dW, db = grads_of(net.gradients(X, y), 0)
    assert loss == expected
    winner = 0 if x > 0 else 1
    np.testing.assert_array_equal(probabilities, [np.eye(2)[winner]])
    # dZ = p - onehot(label); dW = x * dZ
    dz = np.eye(2)[winner] - np.eye(2)[label]
    np.testing.assert_array_equal(db, dz)
    np.testing.assert_array_equal(dW, [x * dz])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturated_hidden_units_stay_finite(activation: str) -> None:
    net = Network([1, 2, 1], activation=activation)
    set_params(net, ([[300.0, -300.0]], [0.0, 0.0]), ([[1.0], [2.0]], [0.0]))
    X, y = np.array([[1.0], [-2.0]]), np.array([0.5, -0.5])  # hidden z = +-300 and -+600
    with warnings.catch_warnings(), strict_floats():
        warnings.simplefilter("error")
        out = net.forward(X)
        loss = net.loss(X, y)
        record = net.gradients(X, y)
    low = -1.0 if activation == "tanh" else 0.0
    # saturated units: a = [1, low] for x = 1 and [low, 1] for x = -2; output = a @ [1, 2]
    np.testing.assert_allclose(out, [[1.0 + 2.0 * low], [low + 2.0]], rtol=0, atol=1e-100)
    assert math.isfinite(loss)
    assert all(np.isfinite(layer.weights).all() and np.isfinite(layer.bias).all() for layer in record.layers)
    # the saturated hidden layer passes (almost) no gradient
    assert np.abs(record.layers[0].weights).max() < 1e-100


# --------------------------------------------------------------------------- #
# 4. optimizers, directly and through fit
# --------------------------------------------------------------------------- #

P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.5, -0.25, 2.0])
G2 = np.array([-1.0, 0.5, 0.25])


def test_sgd_step_by_hand() -> None:
    p = P0.copy()
    SGD(learning_rate=0.1).step(p, G1)
    # [1 - 0.05, -2 + 0.025, 0.5 - 0.2]
    np.testing.assert_allclose(p, [0.95, -1.975, 0.3], rtol=0, atol=1e-15)


def test_momentum_steps_by_hand() -> None:
    p = P0.copy()
    optimizer = Momentum(learning_rate=0.1)
    state = optimizer.init(p)
    optimizer.step(p, G1, state)
    # v = g1; p -= 0.1 g1 -> [0.95, -1.975, 0.3]
    np.testing.assert_allclose(p, [0.95, -1.975, 0.3], rtol=0, atol=1e-15)
    optimizer.step(p, G2, state)
    # v = 0.9 g1 + g2 = [0.45 - 1, -0.225 + 0.5, 1.8 + 0.25] = [-0.55, 0.275, 2.05]
    # p -= 0.1 v -> [0.95 + 0.055, -1.975 - 0.0275, 0.3 - 0.205] = [1.005, -2.0025, 0.095]
    np.testing.assert_allclose(state.velocity, [-0.55, 0.275, 2.05], rtol=0, atol=1e-15)
    np.testing.assert_allclose(p, [1.005, -2.0025, 0.095], rtol=0, atol=1e-15)


def test_adam_steps_by_hand() -> None:
    p = P0.copy()
    lr, eps = 0.01, 1e-8
    optimizer = Adam(learning_rate=lr)
    state = optimizer.init(p)
    optimizer.step(p, G1, state)
    # first step: m_hat = g, v_hat = g^2, so each parameter moves by lr * g / (|g| + eps) ~ lr * sign(g)
    np.testing.assert_allclose(p, P0 - lr * np.sign(G1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(p, P0 - lr * G1 / (np.abs(G1) + eps), rtol=1e-15)
    p1 = p.copy()
    optimizer.step(p, G2, state)
    # m = 0.9 * (0.1 g1) + 0.1 g2 = [0.045 - 0.1, -0.0225 + 0.05, 0.18 + 0.025] = [-0.055, 0.0275, 0.205]
    m = np.array([-0.055, 0.0275, 0.205])
    # v = 0.999 * (0.001 g1^2) + 0.001 g2^2
    v = 0.999 * 0.001 * G1**2 + 0.001 * G2**2
    assert state.step == 2
    np.testing.assert_allclose(state.first_moment, m, rtol=1e-14)
    np.testing.assert_allclose(state.second_moment, v, rtol=1e-14)
    # bias corrections: 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999
    expected = p1 - lr * (m / 0.19) / (np.sqrt(v / 0.001999) + eps)
    np.testing.assert_allclose(p, expected, rtol=1e-14)


def test_adam_leaves_zero_gradient_parameters_alone() -> None:
    p = P0.copy()
    adam = Adam(learning_rate=0.5)
    adam.step(p, np.array([0.0, 1.0, 0.0]), adam.init(p))
    assert p[0] == P0[0] and p[2] == P0[2]
    assert p[1] == pytest.approx(P0[1] - 0.5, abs=1e-8)


# the fit cases: a 2-1 identity network W = [[0.5], [-0.5]], b = [0.1] on four rows
FIT_X = np.array([[1.0, 2.0], [0.0, 1.0], [2.0, -1.0], [1.0, 1.0]])
FIT_Y = np.array([1.0, 0.0, 2.0, 1.0])


def fit_net() -> Network:
    net = Network([2, 1])
    set_params(net, ([[0.5], [-0.5]], [0.1]))
    return net


def linear_mse_gradient(flat: FloatArray) -> FloatArray:
    """[dW1, dW2, db] of mean((X w + b - y)^2) at flat = [w1, w2, b], written out from the formula."""
    w, b = flat[:2], flat[2]
    residual = FIT_X @ w + b - FIT_Y
    n = len(FIT_Y)
    return np.array([*(2.0 * FIT_X.T @ residual / n), 2.0 * residual.mean()])


def test_linear_mse_gradient_helper_by_hand() -> None:
    # X w = [0.5 - 1, -0.5, 1 + 0.5, 0.5 - 0.5] = [-0.5, -0.5, 1.5, 0]; + 0.1 - y = [-1.4, -0.4, -0.4, -0.9]
    # dW = (2/4) X.T r = 0.5 [-1.4 - 0.8 - 0.9, -2.8 - 0.4 + 0.4 - 0.9] = [-1.55, -1.85]; db = 0.5 * -3.1 = -1.55
    np.testing.assert_allclose(linear_mse_gradient(np.array([0.5, -0.5, 0.1])), [-1.55, -1.85, -1.55], atol=1e-15)
    dW, db = grads_of(fit_net().gradients(FIT_X, FIT_Y), 0)
    np.testing.assert_allclose(dW[:, 0], [-1.55, -1.85], atol=1e-15)
    np.testing.assert_allclose(db, [-1.55], atol=1e-15)


def simulate(optimizer: str, lr: float, steps: int) -> FloatArray:
    """Full-batch training of the fit case, with the optimizer's update written out in NumPy."""
    p = np.array([0.5, -0.5, 0.1])
    velocity, m, v = np.zeros(3), np.zeros(3), np.zeros(3)
    for t in range(1, steps + 1):
        g = linear_mse_gradient(p)
        if optimizer == "sgd":
            p = p - lr * g
        elif optimizer == "momentum":
            velocity = 0.9 * velocity + g
            p = p - lr * velocity
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            p = p - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return p


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("epochs", [1, 2])
def test_fit_optimizer_steps_match_hand_updates(optimizer: Any, epochs: int) -> None:
    net = fit_net()
    net.fit(FIT_X, FIT_Y, epochs=epochs, optimizer=optimizer, learning_rate=0.1)
    np.testing.assert_allclose(snapshot(net), simulate(optimizer, 0.1, epochs), rtol=1e-13, atol=1e-15)


def test_fit_first_steps_by_hand() -> None:
    # SGD lr 0.1: p - 0.1 * [-1.55, -1.85, -1.55] = [0.655, -0.315, 0.255]
    net = fit_net()
    net.fit(FIT_X, FIT_Y, epochs=1, optimizer="sgd", learning_rate=0.1)
    np.testing.assert_allclose(snapshot(net), [0.655, -0.315, 0.255], rtol=0, atol=1e-15)
    # Adam lr 0.01: every gradient is negative, so every parameter moves up by ~0.01
    net = fit_net()
    net.fit(FIT_X, FIT_Y, epochs=1, optimizer="adam", learning_rate=0.01)
    np.testing.assert_allclose(snapshot(net), [0.51, -0.49, 0.11], rtol=0, atol=1e-9)


def test_a_run_with_an_optimizer_object_keeps_its_state() -> None:
    net = fit_net()
    run = TrainingRun(net, FIT_X, FIT_Y, epochs=2, optimizer=Momentum(learning_rate=0.1))
    run.advance()
    np.testing.assert_allclose(snapshot(net), simulate("momentum", 0.1, 2), rtol=1e-13)
    g1 = linear_mse_gradient(np.array([0.5, -0.5, 0.1]))
    g2 = linear_mse_gradient(simulate("momentum", 0.1, 1))
    np.testing.assert_allclose(run.optimizer_state.velocity, 0.9 * g1 + g2, rtol=1e-13)


# learning_rate=None takes the optimizer's default
@pytest.mark.parametrize(("optimizer", "lr"), [("sgd", 0.05), ("momentum", 0.01), ("adam", 0.01)])
def test_fit_default_learning_rates(optimizer: Any, lr: float) -> None:
    net = fit_net()
    net.fit(FIT_X, FIT_Y, epochs=2, optimizer=optimizer)
    np.testing.assert_allclose(snapshot(net), simulate(optimizer, lr, 2), rtol=1e-13)


# --------------------------------------------------------------------------- #
# 5. fit: minibatches, validation, patience, records
# --------------------------------------------------------------------------- #


class Recorder:
    """An optimizer that records every gradient it is given and (optionally) takes SGD steps."""

    def __init__(self, learning_rate: float = 0.0) -> None:
        self.learning_rate = learning_rate
        self.grads: list[FloatArray] = []

    def init(self, params: FloatArray) -> None:
        return None

    def step(self, params: FloatArray, grads: FloatArray, state: None, scratch: FloatArray) -> None:
        self.grads.append(grads.copy())
        params -= self.learning_rate * grads


def regression_data(n: int = 8, seed: int = 0) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X @ np.array([1.5, -0.5]) + 0.3 + 0.1 * rng.normal(size=n)


def test_minibatches_are_reshuffled_permutations_every_epoch() -> None:
    X, y = regression_data(8)
    net = Network([2, 1], seed=4)
    # each sample has its own gradient; with a no-op optimizer they identify the order of the batches
    per_sample = [
        np.concatenate([g.weights.ravel(), g.bias])
        for g in (net.gradients(X[i : i + 1], y[i : i + 1]).layers[0] for i in range(8))
    ]
    recorder = Recorder()
    net.fit(X, y, epochs=3, batch_size=1, optimizer=recorder)
    assert len(recorder.grads) == 3 * 8
    order = [int(np.argmin([np.abs(g - s).max() for s in per_sample])) for g in recorder.grads]
    for g, i in zip(recorder.grads, order, strict=True):
        np.testing.assert_allclose(g, per_sample[i], rtol=1e-13)
    epochs = [order[k * 8 : (k + 1) * 8] for k in range(3)]
    assert all(sorted(e) == list(range(8)) for e in epochs)
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]


def test_batches_cover_the_data_and_the_epoch_loss_is_the_sample_mean() -> None:
    X, y = regression_data(8)
    net = Network([2, 1], seed=1)
    recorder = Recorder()
    history = net.fit(X, y, epochs=2, batch_size=3, optimizer=recorder, l2=0.2)
    # 8 rows in batches of 3: 3 + 3 + 2 -> 3 steps per epoch
    assert len(recorder.grads) == 2 * 3
    # with the parameters unchanged, the size-weighted mean of the batch losses is the full loss
    assert history.records[0].loss == pytest.approx(net.loss(X, y, l2=0.2), rel=1e-14)


def test_minibatch_training_differs_from_full_batch_and_reproduces() -> None:
    X, y = regression_data(12)

    def train(seed: int, batch_size: int | None, start: FloatArray) -> FloatArray:
        net = Network([2, 3, 1], activation="tanh", seed=seed)
        for p, (w, b) in zip(net.params, split(start, net), strict=True):
            p.weights[...], p.bias[...] = w, b
        net.fit(X, y, epochs=4, batch_size=batch_size, learning_rate=0.05)
        return snapshot(net)

    start = snapshot(Network([2, 3, 1], activation="tanh", seed=0))
    full = train(0, None, start)
    mini = train(0, 5, start)
    assert not np.allclose(mini, full)
    assert np.array_equal(train(0, 5, start), mini)  # same seed: bit for bit
    assert not np.array_equal(train(1, 5, start), mini)  # same start, another seed: another shuffle
    assert np.array_equal(train(1, None, start), full)  # full batch does not depend on the shuffle
    assert np.array_equal(train(0, 12, start), full)  # batch_size == n is full batch
    assert np.array_equal(train(0, 1000, start), full)  # batch_size > n is full batch


def split(flat: FloatArray, net: Network) -> list[tuple[FloatArray, FloatArray]]:
    """The inverse of ``snapshot`` for ``net``'s shapes."""
    out, at = [], 0
    for n_in, n_out in net.shapes:
        w = flat[at : at + n_in * n_out].reshape(n_in, n_out)
        at += n_in * n_out
        out.append((w, flat[at : at + n_out]))
        at += n_out
    return out


def test_online_training_with_batch_size_one() -> None:
    X, y = regression_data(10)
    net = Network([2, 1], seed=0)
    before = net.loss(X, y)
    history = net.fit(X, y, epochs=20, batch_size=1, learning_rate=0.05)
    assert len(history.records) == 20
    assert all(math.isfinite(r.loss) for r in history.records)
    assert net.loss(X, y) < before / 10


def test_epoch_one_loss_is_the_loss_at_initialisation() -> None:
    net, X, y = random_case("tanh", "softmax-int", 3)
    initial = net.loss(X, y, l2=0.05)
    history = net.fit(X, y, epochs=3, learning_rate=0.1, l2=0.05)
    # the loss is recorded before the step (7 rows: L * 7 / 7 may differ in the last bit)
    assert history.records[0].loss == pytest.approx(initial, rel=1e-15)
    assert history.records[0].loss != net.loss(X, y, l2=0.05)


def test_validation_loss_is_recorded_after_each_epoch() -> None:
    X, y = regression_data(16)
    X_val, y_val = regression_data(6, seed=9)
    net = Network([2, 4, 1], activation="relu", seed=2)
    history = net.fit(X, y, epochs=5, learning_rate=0.05, l2=0.01, validation_data=(X_val, y_val))
    assert [r.epoch for r in history.records] == [1, 2, 3, 4, 5]
    assert history.records[-1].val_loss == net.loss(X_val, y_val, l2=0.01)
    assert all(r.val_loss is not None for r in history.records)
    assert not history.stopped_early
    # without validation data there is no val_loss
    assert all(r.val_loss is None for r in net.fit(X, y, epochs=2).records)


def test_patience_stops_early_and_restores_the_best_parameters() -> None:
    X = np.linspace(-1.0, 1.0, 20)[:, None]
    net = Network([1, 1])
    set_params(net, ([[0.0]], [0.0]))
    # training pulls w from 0 towards 2 (y = 2x); the validation target y = x is best near w = 1, then worsens
    history = net.fit(
        X, 2.0 * X[:, 0], epochs=500, learning_rate=0.1, validation_data=(X, X[:, 0]), patience=3, l2=0.01
    )
    val = [r.val_loss for r in history.records if r.val_loss is not None]
    assert history.stopped_early
    assert history.best_epoch is not None and history.best_epoch > 1
    assert history.records[-1].epoch == history.best_epoch + 3 < 500
    assert history.records[history.best_epoch - 1].val_loss == min(val)
    assert history.records[-1].val_loss is not None and history.records[-1].val_loss > min(val)
    # the restored parameters give the best recorded validation loss
    assert net.loss(X, X[:, 0], l2=0.01) == min(val)


def test_patience_without_improvement_limit_runs_all_epochs() -> None:
    X, y = regression_data(12)
    net = Network([2, 1])
    history = net.fit(X, y, epochs=15, learning_rate=0.05, validation_data=(X, y), patience=2)
    assert not history.stopped_early
    assert len(history.records) == 15 and history.best_epoch == 15


# the first epoch, every ``record_every``-th epoch, and always the last
@pytest.mark.parametrize(
    ("epochs", "every", "expected"),
    [(12, 5, [1, 5, 10, 12]), (10, 5, [1, 5, 10]), (3, 7, [1, 3]), (1, 4, [1]), (4, 1, [1, 2, 3, 4])],
)
def test_record_every_thins_the_history(epochs: int, every: int, expected: list[int]) -> None:
    X, y = regression_data(8)
    history = Network([2, 1]).fit(X, y, epochs=epochs, record_every=every)
    assert [r.epoch for r in history.records] == expected


def test_verbose_prints_one_line_per_record_and_on_record_is_called(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = regression_data(8)
    seen: list[EpochRecord] = []
    history = Network([2, 1]).fit(
        X, y, epochs=12, record_every=5, verbose=True, on_record=seen.append, validation_data=(X, y)
    )
    lines = capsys.readouterr().out.splitlines()
    assert [r.epoch for r in history.records] == [1, 5, 10, 12]
    assert len(lines) == 4
    for line, record in zip(lines, history.records, strict=True):
        assert line.split()[:2] == ["epoch", str(record.epoch)]
        assert "loss" in line and "val_loss" in line
    assert seen == history.records
    Network([2, 1]).fit(X, y, epochs=3)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- #
# 6. divergence
# --------------------------------------------------------------------------- #


def test_training_diverged_keeps_the_last_finite_parameters() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X @ np.array([1.0, -2.0])
    net = Network([2, 3, 1], seed=0)
    ends_of_epochs: list[FloatArray] = [snapshot(net)]
    with (
        np.errstate(all="ignore"),
        pytest.raises(TrainingDiverged, match=r"training diverged: .* learning_rate") as info,
    ):
        net.fit(X, y, epochs=10_000, learning_rate=100.0, on_record=lambda r: ends_of_epochs.append(snapshot(net)))
    history = info.value.history
    assert isinstance(info.value, ArithmeticError)
    assert isinstance(history, TrainingHistory)
    assert len(history.records) == len(ends_of_epochs) - 1 > 0
    assert np.isfinite(snapshot(net)).all()
    # full batch: the diverging epoch's first loss was not finite, so the parameters are those
    # of the epoch before, the last ones whose loss was finite
    assert np.array_equal(snapshot(net), ends_of_epochs[-2])
    assert np.isfinite(net.loss(X, y))
    assert np.isfinite(net.forward(X)).all()


def test_training_diverged_in_the_first_epoch_restores_the_initial_parameters() -> None:
    X, y = regression_data(8)
    net = Network([2, 1], seed=0)
    initial = snapshot(net)
    # one step of size 1e308 * gradient overflows the parameters to infinity in epoch 1
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged, match=r"non-finite in epoch 1") as info:
        net.fit(X, y, epochs=5, learning_rate=1e308)
    assert info.value.history.records == []
    assert np.array_equal(snapshot(net), initial)


def test_training_diverged_with_minibatches_and_momentum() -> None:
    X, y = regression_data(16)
    net = Network([2, 4, 1], seed=0)
    with np.errstate(all="ignore"), pytest.raises(TrainingDiverged) as info:
        net.fit(X, y, epochs=10_000, batch_size=4, optimizer="momentum", learning_rate=50.0)
    assert isinstance(info.value.history, TrainingHistory)
    assert np.isfinite(snapshot(net)).all()


# --------------------------------------------------------------------------- #
# 7. typed models
# --------------------------------------------------------------------------- #

MODELS = [LayerParams, LayerGradients]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("weights", "bias", "message"),
    [
        (np.ones(3), np.ones(3), r"weights\s+Value error, Array 1-dimensional"),
        (np.ones((2, 3)), np.ones((1, 3)), r"bias\s+Value error, Array 2-dimensional"),
        (np.ones((2, 3)), np.ones(2), r"expected bias length equal to the weights' columns \(3\), got 2"),
        (np.array([[1.0, np.nan]]), np.ones(2), r"expected finite values, got NaN or infinity"),
        (np.ones((1, 2)), np.array([0.0, -np.inf]), r"expected finite values, got NaN or infinity"),
        (np.ones((2, 3), dtype=np.float32), np.ones(3), r"weights\s+.*numpy\.float32'> does not coincide"),
        (np.ones((2, 3)), np.ones(3, dtype=np.int64), r"bias\s+.*numpy\.int64'> does not coincide"),
        (np.ones((2, 0)), np.ones(0), r"expected non-empty weights, got shape \(2, 0\)"),
    ],
    ids=["1-D weights", "2-D bias", "bias length", "NaN", "inf", "float32", "int", "empty"],
)
def test_layer_models_reject_bad_arrays(model: Any, weights: FloatArray, bias: FloatArray, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        model(weights=weights, bias=bias)
    assert isinstance(info.value, ValueError)
    assert model.__name__ in str(info.value)


def test_params_are_live_views() -> None:
    net = Network([2, 1])
    set_params(net, ([[1.0], [1.0]], [0.0]))
    X = np.array([[1.0, 2.0]])
    assert net.forward(X)[0, 0] == 3.0  # 1 + 2
    net.params[0].weights[1, 0] = 10.0
    assert net.forward(X)[0, 0] == 21.0  # 1 + 20
    net.params[0].bias[0] = -1.0
    assert net.forward(X)[0, 0] == 20.0  # 1 + 20 - 1
    with pytest.raises(ValidationError, match="frozen"):
        net.params[0].weights = np.zeros((2, 1))  # type: ignore[misc]


def test_gradient_record_round_trips_through_json() -> None:
    net, X, y = random_case("tanh", "identity-3", 3)
    record = net.gradients(X, y, l2=0.1)
    again = GradientRecord.model_validate_json(record.model_dump_json())
    assert again.loss == record.loss
    for a, b in zip(record.layers, again.layers, strict=True):
        assert b.weights.dtype == np.float64 and b.bias.dtype == np.float64
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    assert again.norms == record.norms
    table = record.table()
    for header in ("layer", "weights shape", "|dW|", "|db|"):
        assert header in table
    assert len(table.splitlines()) == 2 + 3  # header, rule, one row per layer


def fitted_history(validation: bool) -> TrainingHistory:
    X, y = regression_data(10)
    net = Network([2, 3, 1], activation="tanh")
    return net.fit(X, y, epochs=6, record_every=2, validation_data=(X, y) if validation else None)


def test_training_history_round_trips_through_json() -> None:
    history = fitted_history(validation=True)
    again = TrainingHistory.model_validate_json(history.model_dump_json())
    assert again == history
    assert [r.loss for r in again.records] == [r.loss for r in history.records]
    assert [r.grad_norms for r in again.records] == [r.grad_norms for r in history.records]


def test_training_history_to_frame_and_table() -> None:
    history = fitted_history(validation=True)
    frame = history.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert frame.index.name == "epoch"
    assert list(frame.index) == [1, 2, 4, 6]
    assert list(frame.columns) == [
        "loss",
        "val_loss",
        "grad_norm_1",
        "grad_norm_2",
        "update_ratio_1",
        "update_ratio_2",
        "dead_fraction_1",
    ]
    assert frame.loc[4, "loss"] == history.records[2].loss
    assert frame.loc[6, "grad_norm_2"] == history.records[3].grad_norms[1]
    assert frame.loc[2, "val_loss"] == history.records[1].val_loss
    table = history.table()
    for header in ("epoch", "loss", "val_loss", "grad_norm_1", "grad_norm_2"):
        assert header in table
    plain = fitted_history(validation=False).table()
    assert "grad_norm_1" in plain and "val_loss" not in plain
    assert fitted_history(validation=False).to_frame()["val_loss"].isna().all()


def test_grad_norms_are_the_last_step_gradient_norms() -> None:
    X, y = regression_data(8)
    net = Network([2, 3, 1], activation="tanh")
    recorder = Recorder(learning_rate=0.05)
    history = net.fit(X, y, epochs=2, optimizer=recorder)
    last = recorder.grads[-1]
    # layout: all weights (2*3 + 3*1 = 9), then all biases (3 + 1)
    layer_1 = math.hypot(float(np.linalg.norm(last[:6])), float(np.linalg.norm(last[9:12])))
    layer_2 = math.hypot(float(np.linalg.norm(last[6:9])), float(np.linalg.norm(last[12:])))
    assert history.records[-1].grad_norms == pytest.approx([layer_1, layer_2], rel=1e-14)


def test_gradient_check_report_table() -> None:
    net, X, y = random_case("relu", "sigmoid", 2)
    table = gradient_check(net, X, y).table()
    for header in ("layer", "array", "|analytic|", "|numeric|", "relative error"):
        assert header in table
    assert table.count(" ok ") == 4 and "MISMATCH" not in table


# --------------------------------------------------------------------------- #
# 8. save / load
# --------------------------------------------------------------------------- #

SAVE_CASES = {
    "identity": ([3, 4, 2], "tanh", "identity"),
    "sigmoid": ([3, 4, 1], "relu", "sigmoid"),
    "softmax": ([3, 5, 4, 3], "leaky_relu", "softmax"),
}


def saved_case(name: str) -> tuple[Network, FloatArray]:
    sizes, activation, head = SAVE_CASES[name]
    net = Network(sizes, activation=activation, head=head, seed=11)  # type: ignore[arg-type]
    rng = np.random.default_rng(5)
    for p in net.params:
        p.bias[...] = rng.normal(size=p.bias.shape)
    return net, rng.normal(size=(9, 3))


@pytest.mark.parametrize("name", list(SAVE_CASES))
def test_save_load_round_trip_is_bit_exact(name: str, tmp_path: Path) -> None:
    net, X = saved_case(name)
    path = tmp_path / "net.json"
    net.save(path)
    loaded = Network.load(path)
    assert loaded.layer_sizes == net.layer_sizes
    assert loaded.activation == net.activation and loaded.head == net.head
    assert np.array_equal(snapshot(loaded), snapshot(net))
    assert np.array_equal(loaded.forward(X), net.forward(X))
    assert np.array_equal(loaded.predict(X), net.predict(X))
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "glassnet.network"
    assert document["version"] == 1
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind
    # str paths work too, and saving over an existing file replaces it
    net.params[0].weights[0, 0] += 1.0
    net.save(str(path))
    assert Network.load(str(path)).params[0].weights[0, 0] == net.params[0].weights[0, 0]
    assert sorted(tmp_path.iterdir()) == [path]


def test_saving_non_finite_parameters_fails_and_keeps_the_old_file(tmp_path: Path) -> None:
    net, _ = saved_case("identity")
    path = tmp_path / "net.json"
    net.save(path)
    before = path.read_bytes()
    net.params[1].weights[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"cannot store the network: .*expected finite values"):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]
    net.params[1].weights[0, 0] = 0.0
    net.params[0].bias[1] = np.inf
    with pytest.raises(ValueError, match=r"cannot store the network"):
        net.save(tmp_path / "other.json")
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_document_that_shares_the_parameters_dumps_as_a_copy_does_and_refuses_the_same() -> None:
    """``to_document(copy=False)`` (what a checkpoint writer dumps at once) holds the live arrays, writes the same
    JSON as the validated copy, and refuses non-finite parameters with the copy's error."""
    net, _ = saved_case("softmax")
    shared = net.to_document(copy=False)
    assert shared.params[0].weights is net.params[0].weights
    assert shared.model_dump_json() == net.to_document().model_dump_json()
    net.params[1].bias[0] = np.nan
    with pytest.raises(ValueError, match=r"cannot store the network: .*expected finite values"):
        net.to_document(copy=False)


def valid_document(tmp_path: Path) -> dict[str, Any]:
    net, _ = saved_case("sigmoid")
    path = tmp_path / "valid.json"
    net.save(path)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    return document


def bad_document_text(change: str, document: dict[str, Any]) -> str:
    """The text of a file that is not a valid network (``document`` is a valid one, for the sigmoid case)."""
    if change == "garbage":
        return "this is {not json"
    if change == "list":
        return "[1, 2, 3]"
    if change == "format":
        document["format"] = "something.else"
    elif change == "version":
        document["version"] = 2
    elif change == "shapes":
        document["layer_sizes"] = [3, 5, 1]
    elif change == "nan":
        document["params"][0]["bias"]["data"][0] = math.nan
    elif change == "head":
        document["head"] = "softmax"  # a softmax head on 1 output
    elif change == "sizes":
        document["layer_sizes"], document["params"] = [3], []
    else:
        document["activation"] = "no_such_activation"
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("garbage", r"not a valid NetworkDocument"),
        ("list", r"not a valid NetworkDocument"),
        ("format", r"not a valid NetworkDocument: format"),
        ("version", r"not a valid NetworkDocument: version"),
        ("shapes", r"not a valid NetworkDocument: .*expected weight shapes"),
        ("nan", r"not a valid NetworkDocument"),
        # well-formed documents describing a network that cannot exist: the error must still name the file
        ("head", r"the softmax head expects at least 2 outputs, got 1"),
        ("sizes", r"layer_sizes: expected a sequence of at least 2 positive integers"),
        ("activation", r"activation: expected one of .*got 'no_such_activation'; add others with register_activation"),
    ],
    ids=["garbage", "list", "format", "version", "shapes", "nan", "head", "sizes", "activation"],
)
def test_load_rejects_bad_files_naming_the_path(change: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(bad_document_text(change, valid_document(tmp_path)), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": .*" + message):
        Network.load(path)


def test_load_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": cannot read"):
        Network.load(path)


def test_custom_activation_must_be_registered_to_load(custom_activation: str, tmp_path: Path) -> None:
    net = Network([2, 3, 1], activation=custom_activation, seed=1)
    X = np.random.default_rng(0).normal(size=(4, 2))
    path = tmp_path / "custom.json"
    net.save(path)
    registered = ACTIVATIONS.pop(custom_activation)
    with pytest.raises(ValueError, match=r"activation: expected one of .*got .*; add others with register_activation"):
        Network.load(path)
    ACTIVATIONS[custom_activation] = registered
    loaded = Network.load(path)
    assert np.array_equal(loaded.forward(X), net.forward(X))


# --------------------------------------------------------------------------- #
# 9. reproducibility and initialisation
# --------------------------------------------------------------------------- #


def test_same_seed_same_network_and_training() -> None:
    X, y = regression_data(10)
    a = Network([2, 5, 1], activation="relu", seed=7)
    b = Network([2, 5, 1], activation="relu", seed=7)
    assert np.array_equal(snapshot(a), snapshot(b))
    ha = a.fit(X, y, epochs=5, batch_size=3, optimizer="adam", learning_rate=0.01)
    hb = b.fit(X, y, epochs=5, batch_size=3, optimizer="adam", learning_rate=0.01)
    assert np.array_equal(snapshot(a), snapshot(b))
    assert ha == hb


def test_different_seeds_differ() -> None:
    assert not np.array_equal(snapshot(Network([2, 5, 1], seed=0)), snapshot(Network([2, 5, 1], seed=1)))
    assert not np.array_equal(snapshot(Network([2, 5, 1], seed=None)), snapshot(Network([2, 5, 1], seed=None)))


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        ("xavier", math.sqrt(2.0 / 800.0)),  # sqrt(2 / (n_in + n_out)) = 0.05
        ("he", math.sqrt(2.0 / 400.0)),  # sqrt(2 / n_in) ~ 0.0707
        ("normal", 1.0),
    ],
)
def test_initialisation_scales(init: Any, expected_std: float) -> None:
    net = Network([400, 400], init=init, seed=3)
    weights = net.params[0].weights
    assert weights.std() == pytest.approx(expected_std, rel=0.05)
    assert abs(weights.mean()) < 0.05 * expected_std
    assert np.array_equal(net.params[0].bias, np.zeros(400))


# --------------------------------------------------------------------------- #
# 10. validation before anything changes
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("sizes", "kwargs", "error", "message"),
    [
        ([3], {}, ValueError, r"layer_sizes: expected a sequence of at least 2 positive integers, got \[3\]"),
        ([], {}, ValueError, r"layer_sizes: expected a sequence of at least 2 positive integers, got \[\]"),
        ("32", {}, TypeError, r"layer_sizes: expected a sequence of at least 2 positive integers, got '32'"),
        ([3, 0, 1], {}, ValueError, r"layer_sizes: expected a positive integer, got 0"),
        ([3, -2], {}, ValueError, r"layer_sizes: expected a positive integer, got -2"),
        ([3, 2.0], {}, TypeError, r"layer_sizes: expected a positive integer, got 2\.0"),
        ([3, True], {}, TypeError, r"layer_sizes: expected a positive integer, got True"),
        ([3, 2], {"activation": "swish"}, ValueError, r"activation: expected one of \[.*'relu'.*\], got 'swish'"),
        (
            [3, 2],
            {"head": "tanh"},
            ValueError,
            r"head: expected one of \['identity', 'sigmoid', 'softmax'\], got 'tanh'",
        ),
        ([3, 2], {"init": "glorot"}, ValueError, r"init: expected one of \['he', 'normal', 'xavier'\], got 'glorot'"),
        ([3, 1], {"head": "softmax"}, ValueError, r"layer_sizes: the softmax head expects at least 2 outputs, got 1"),
        ([3, 2], {"head": "sigmoid"}, ValueError, r"layer_sizes: the sigmoid head expects exactly 1 output, got 2"),
        ([3, 2], {"seed": 1.5}, TypeError, r"seed: expected an integer >= 0, got 1\.5"),
        ([3, 2], {"seed": "0"}, TypeError, r"seed: expected an integer >= 0, got '0'"),
        ([3, 2], {"seed": -1}, ValueError, r"seed: expected an integer >= 0, got -1"),
    ],
)
def test_constructor_validation(sizes: Any, kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        Network(sizes, **kwargs)


def make_classifier(head: str) -> Network:
    sizes = {"identity": [3, 4, 1], "identity-2": [3, 4, 2], "sigmoid": [3, 4, 1], "softmax": [3, 4, 3]}[head]
    return Network(sizes, activation="tanh", head=head.split("-")[0], seed=0)  # type: ignore[arg-type]


GOOD_X = np.random.default_rng(0).normal(size=(6, 3))
GOOD_Y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])

ENTRY_POINTS = ["forward", "predict", "score", "loss", "gradients", "fit", "gradient_check"]


def call(net: Network, entry: str, X: Any, y: Any) -> object:
    if entry == "forward":
        return net.forward(X)
    if entry == "predict":
        return net.predict(X)
    if entry == "score":
        return net.score(X, y)
    if entry == "loss":
        return net.loss(X, y)
    if entry == "gradients":
        return net.gradients(X, y)
    if entry == "gradient_check":
        return gradient_check(net, X, y)
    return net.fit(X, y, epochs=2)


BAD_X: list[tuple[Any, type[Exception], str]] = [
    (GOOD_X[0], ValueError, r"X: expected a 2-D array \(n_samples, 3\), got shape \(3,\)"),
    (GOOD_X[None], ValueError, r"X: expected a 2-D array \(n_samples, 3\), got shape \(1, 6, 3\)"),
    (
        np.empty((0, 3)),
        ValueError,
        r"X: found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 is required",
    ),
    (
        np.empty((6, 0)),
        ValueError,
        r"X: found array with 0 feature\(s\) \(shape=\(6, 0\)\) while a minimum of 1 is required",
    ),
    (
        GOOD_X[:, :2],
        ValueError,
        r"X has 2 features, but Network is expecting 3 features as input: "
        r"expected shape \(n_samples, 3\), got \(6, 2\)",
    ),
    (np.where(np.eye(6, 3) > 0, np.nan, GOOD_X), ValueError, r"X: expected finite values, got NaN or infinity"),
    (np.where(np.eye(6, 3) > 0, -np.inf, GOOD_X), ValueError, r"X: expected finite values, got NaN or infinity"),
    (GOOD_X.astype(str), TypeError, r"X: expected a numeric array, got dtype <U"),
    (
        np.array([[1.0, "a", 2.0]] * 6, dtype=object),
        TypeError,
        r"X: expected an array of numbers, got text in an object array, such as 'a'",
    ),
    (
        np.array([[1.0, {"a": 1}, 2.0]] * 6, dtype=object),
        TypeError,
        r"X: expected an array of numbers, got an object array of others: float\(\) argument must be a string",
    ),
    (GOOD_X + 1j, ValueError, r"X: expected real numbers, got complex values \(Complex data not supported\)"),
    (np.ma.masked_array(GOOD_X), TypeError, r"X: expected a plain array, got a masked array"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("X", "error", "message"),
    BAD_X,
    ids=[
        "1-D",
        "3-D",
        "no rows",
        "no columns",
        "width",
        "nan",
        "inf",
        "strings",
        "text objects",
        "dicts",
        "complex",
        "masked",
    ],
)
def test_bad_inputs_are_rejected_everywhere(entry: str, X: Any, error: type[Exception], message: str) -> None:
    net = make_classifier("sigmoid")
    before = snapshot(net)
    with pytest.raises(error, match=message):
        call(net, entry, X, GOOD_Y)
    assert np.array_equal(snapshot(net), before)


def test_integer_and_boolean_inputs_are_numeric() -> None:
    net = make_classifier("softmax")
    X = np.array([[1, 0, 2], [0, 1, 1]])
    assert np.array_equal(net.forward(X), net.forward(X.astype(np.float64)))
    assert np.array_equal(net.forward(X > 0), net.forward((X > 0).astype(np.float64)))
    assert np.array_equal(net.forward(X.astype(object)), net.forward(X.astype(np.float64)))
    assert net.loss(X.tolist(), [2, 0]) == net.loss(X.astype(np.float64), np.array([2.0, 0.0]))


BAD_Y: list[tuple[str, Any, type[Exception], str]] = [
    ("sigmoid", GOOD_Y[:5], ValueError, r"y: expected 6 rows to match X, got shape \(5,\)"),
    ("sigmoid", np.float64(1.0), ValueError, r"y: expected 6 rows to match X, got shape \(\)"),
    ("identity", np.array([0.0, 1, np.nan, 0, 1, 0]), ValueError, r"y: expected finite values, got NaN or infinity"),
    ("identity", np.array(list("abcdef")), TypeError, r"y: expected a numeric array, got dtype <U1"),
    (
        "identity",
        np.ones((6, 2)),
        ValueError,
        r"y: expected shape \(n,\) or \(n, 1\) for the identity head, got \(6, 2\)",
    ),
    ("identity-2", np.ones(6), ValueError, r"y: expected shape \(n, 2\) for the identity head, got \(6,\)"),
    ("identity-2", np.ones((6, 3)), ValueError, r"y: expected shape \(n, 2\) for the identity head, got \(6, 3\)"),
    ("sigmoid", np.array([0, 1, 2, 0, 1, 0]), ValueError, r"y: expected labels in \{0, 1\} .*got values \{0, 1, 2\}"),
    (
        "sigmoid",
        np.array([0, 1, 0.5, 0, 1, 0]),
        ValueError,
        r"y: expected labels in \{0, 1\} .*got values \{0, 0\.5, 1\}",
    ),
    (
        "sigmoid",
        np.eye(6, 2),
        ValueError,
        r"y: expected labels of shape \(n,\) or \(n, 1\) for the sigmoid head, got \(6, 2\)",
    ),
    (
        "softmax",
        np.array([0, 1, 3, 2, 1, 0]),
        ValueError,
        r"y: expected integer labels in \[0, 3\) .*got values \{0, 1, 2, 3\}",
    ),
    (
        "softmax",
        np.array([0, -1, 2, 2, 1, 0]),
        ValueError,
        r"y: expected integer labels in \[0, 3\) .*got values \{-1, 0, 1, 2\}",
    ),
    ("softmax", np.array([0, 1.5, 2, 2, 1, 0]), ValueError, r"y: expected integer labels in \[0, 3\)"),
    (
        "softmax",
        np.eye(6, 3) + np.eye(6, 3, k=1),
        ValueError,
        r"y: expected one-hot rows \(0/1 values, each row summing to 1\)",
    ),
    ("softmax", np.full((6, 3), 1 / 3), ValueError, r"y: expected one-hot rows \(0/1 values, each row summing to 1\)"),
    ("softmax", np.zeros((6, 3)), ValueError, r"y: expected one-hot rows \(0/1 values, each row summing to 1\)"),
    (
        "softmax",
        np.eye(6, 2),
        ValueError,
        r"y: expected labels \(n,\) or one-hot rows \(n, 3\) for the softmax head, got \(6, 2\)",
    ),
    ("softmax", np.zeros((6, 1), dtype=int), ValueError, r"y: expected labels \(n,\) or one-hot rows \(n, 3\)"),
]


@pytest.mark.parametrize("entry", ["score", "loss", "gradients", "fit", "gradient_check"])
@pytest.mark.parametrize(("head", "y", "error", "message"), BAD_Y, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_Y)])
def test_bad_y_is_rejected_everywhere(entry: str, head: str, y: Any, error: type[Exception], message: str) -> None:
    net = make_classifier(head)
    before = snapshot(net)
    with pytest.raises(error, match=message):
        call(net, entry, GOOD_X, y)
    assert np.array_equal(snapshot(net), before)


FIT_ERRORS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"epochs": 0}, ValueError, r"epochs: expected a positive integer, got 0"),
    ({"epochs": -3}, ValueError, r"epochs: expected a positive integer, got -3"),
    ({"epochs": True}, TypeError, r"epochs: expected a positive integer, got True"),
    ({"epochs": 2.0}, TypeError, r"epochs: expected a positive integer, got 2\.0"),
    ({"batch_size": 0}, ValueError, r"batch_size: expected a positive integer, got 0"),
    ({"batch_size": True}, TypeError, r"batch_size: expected a positive integer, got True"),
    ({"batch_size": 2.5}, TypeError, r"batch_size: expected a positive integer, got 2\.5"),
    ({"record_every": 0}, ValueError, r"record_every: expected a positive integer, got 0"),
    ({"record_every": False}, TypeError, r"record_every: expected a positive integer, got False"),
    ({"record_every": 1.0}, TypeError, r"record_every: expected a positive integer, got 1\.0"),
    ({"patience": 0, "validation_data": (GOOD_X, GOOD_Y)}, ValueError, r"patience: expected a positive integer, got 0"),
    (
        {"patience": True, "validation_data": (GOOD_X, GOOD_Y)},
        TypeError,
        r"patience: expected a positive integer, got True",
    ),
    (
        {"patience": 2.0, "validation_data": (GOOD_X, GOOD_Y)},
        TypeError,
        r"patience: expected a positive integer, got 2\.0",
    ),
    ({"patience": 3}, ValueError, r"patience: expected validation_data to measure improvement on, got none"),
    ({"learning_rate": 0.0}, ValueError, r"learning_rate: expected a positive finite number, got 0\.0"),
    ({"learning_rate": -0.1}, ValueError, r"learning_rate: expected a positive finite number, got -0\.1"),
    ({"learning_rate": math.inf}, ValueError, r"learning_rate: expected a positive finite number, got inf"),
    ({"learning_rate": math.nan}, ValueError, r"learning_rate: expected a positive finite number, got nan"),
    ({"learning_rate": True}, TypeError, r"learning_rate: expected a positive finite number, got True"),
    ({"learning_rate": "0.1"}, TypeError, r"learning_rate: expected a positive finite number, got '0\.1'"),
    ({"l2": -0.1}, ValueError, r"l2: expected a finite number >= 0, got -0\.1"),
    ({"l2": math.nan}, ValueError, r"l2: expected a finite number >= 0, got nan"),
    ({"l2": math.inf}, ValueError, r"l2: expected a finite number >= 0, got inf"),
    (
        {"optimizer": "rmsprop"},
        ValueError,
        r"optimizer: expected one of \['adam', 'momentum', 'sgd'\] or an Optimizer, got 'rmsprop'",
    ),
    (
        {"optimizer": object()},
        TypeError,
        r"optimizer: expected a name or an Optimizer with init\(parameters\) and step\(parameters, gradients, state",
    ),
    (
        {"optimizer": SGD(), "learning_rate": 0.1},
        ValueError,
        r"learning_rate: expected None when optimizer is an object",
    ),
    ({"validation_data": GOOD_X}, ValueError, r"validation_data: expected a pair \(X_val, y_val\), got ndarray"),
    ({"validation_data": (GOOD_X[:, :2], GOOD_Y)}, ValueError, r"validation_data X has 2 features, but Network"),
    (
        {"validation_data": (GOOD_X, GOOD_Y[:4])},
        ValueError,
        r"validation_data y: expected 6 rows to match validation_data X",
    ),
    ({"validation_data": (GOOD_X, GOOD_Y + 2)}, ValueError, r"validation_data y: expected labels in \{0, 1\}"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), FIT_ERRORS, ids=[str(i) for i in range(len(FIT_ERRORS))])
def test_fit_argument_validation_changes_nothing(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    net = make_classifier("sigmoid")
    twin = make_classifier("sigmoid")
    before = snapshot(net)
    with pytest.raises(error, match=message):
        net.fit(GOOD_X, GOOD_Y, **kwargs)
    assert np.array_equal(snapshot(net), before)
    # nothing else moved either (the shuffling generator included): training afterwards matches a fresh twin
    net.fit(GOOD_X, GOOD_Y, epochs=2, batch_size=4)
    twin.fit(GOOD_X, GOOD_Y, epochs=2, batch_size=4)
    assert np.array_equal(snapshot(net), snapshot(twin))


@pytest.mark.parametrize("l2", [-1.0, math.nan, math.inf])
def test_loss_and_gradients_reject_bad_l2(l2: float) -> None:
    net = make_classifier("sigmoid")
    with pytest.raises(ValueError, match=r"l2: expected a finite number >= 0, got"):
        net.loss(GOOD_X, GOOD_Y, l2=l2)
    with pytest.raises(ValueError, match=r"l2: expected a finite number >= 0, got"):
        net.gradients(GOOD_X, GOOD_Y, l2=l2)


# --------------------------------------------------------------------------- #
# 11. predict and score
# --------------------------------------------------------------------------- #


def test_identity_predict_is_forward() -> None:
    net, X = saved_case("identity")
    assert np.array_equal(net.predict(X), net.forward(X))
    assert net.predict(X).shape == (9, 2)


def test_sigmoid_predict_labels_by_hand() -> None:
    net = Network([1, 1], head="sigmoid")
    set_params(net, ([[1.0]], [0.0]))
    X = np.array([[-2.0], [0.5], [3.0], [-0.1]])
    labels = net.predict(X)
    # logits -2, 0.5, 3, -0.1 -> labels 0, 1, 1, 0
    np.testing.assert_array_equal(labels, [0, 1, 1, 0])
    assert labels.shape == (4,) and np.issubdtype(labels.dtype, np.integer)
    # accuracy against y = [0, 1, 0, 0]: 3 of 4
    assert net.score(X, np.array([0, 1, 0, 0])) == 0.75
    assert net.score(X, np.array([[0], [1], [1], [0]])) == 1.0


def test_softmax_predict_is_argmax() -> None:
    net, X = saved_case("softmax")
    labels = net.predict(X)
    assert labels.shape == (9,) and np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, net.forward(X).argmax(axis=1))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    assert net.score(X, y) == np.mean(labels == y)
    assert net.score(X, np.eye(3)[y]) == net.score(X, y)


def test_r2_by_hand() -> None:
    net = Network([1, 2])
    set_params(net, ([[1.0, 2.0]], [0.0, 0.0]))
    X = np.array([[1.0], [2.0], [3.0]])
    # output 1: predictions [1, 2, 3] against [2, 2, 4]: SS_res = 1 + 0 + 1 = 2;
    #   mean 8/3, SS_tot = 2 * (2/3)^2 + (4/3)^2 = 24/9; R^2 = 1 - 2 / (24/9) = 0.25
    # output 2: predictions [2, 4, 6] against [2, 4, 6]: R^2 = 1; the score is the mean, 0.625
    y = np.array([[2.0, 2.0], [2.0, 4.0], [4.0, 6.0]])
    assert net.score(X, y) == pytest.approx(0.625, rel=1e-14)
    single = Network([1, 1])
    set_params(single, ([[1.0]], [0.0]))
    assert single.score(X, y[:, 0]) == pytest.approx(0.25, rel=1e-14)


def test_r2_on_a_constant_target_is_not_perfect_unless_the_fit_is() -> None:
    net = Network([1, 1])
    set_params(net, ([[1.0]], [0.0]))
    X = np.array([[1.0], [2.0], [3.0]])
    # y = [2, 2, 2]: SS_tot = 0, so R^2 = 1 - SS_res / SS_tot is undefined; the usual convention
    # (scikit-learn's r2_score) is 1.0 for a perfect prediction and 0.0 otherwise.
    # predictions [1, 2, 3] miss two of the three targets (SS_res = 1 + 0 + 1 = 2): not a perfect score
    assert net.score(X, np.array([2.0, 2.0, 2.0])) == 0.0
    set_params(net, ([[0.0]], [2.0]))  # predicts 2 everywhere: perfect
    assert net.score(X, np.array([2.0, 2.0, 2.0])) == 1.0


def test_r2_is_one_for_a_linear_problem_the_net_represents() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 2))
    y = X @ np.array([3.0, -2.0]) + 1.0
    exact = Network([2, 1])
    set_params(exact, ([[3.0], [-2.0]], [1.0]))
    assert exact.score(X, y) == pytest.approx(1.0, abs=1e-14)
    trained = Network([2, 1], seed=0)
    assert trained.score(X, y) < 0.9
    trained.fit(X, y, epochs=300, learning_rate=0.1)
    assert trained.score(X, y) == pytest.approx(1.0, abs=1e-10)


def test_loss_name_follows_the_head() -> None:
    assert Network([2, 1]).loss_name == "mean squared error"
    assert Network([2, 1], head="sigmoid").loss_name == "binary cross-entropy"
    assert Network([2, 3], head="softmax").loss_name == "cross-entropy"


def test_linear_map_collapses_stacked_linear_layers() -> None:
    net = Network([2, 2, 1])
    set_params(net, ([[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0]), ([[2.0], [-1.0]], [0.5]))
    weights, bias = net.linear_map()
    # W = W1 @ W2 = [[1*2 + 2*(-1)], [3*2 + 4*(-1)]] = [[0], [2]]; b = b1 @ W2 + b2 = 2 + 1 + 0.5 = 3.5
    np.testing.assert_allclose(weights, [[0.0], [2.0]], atol=1e-15)
    np.testing.assert_allclose(bias, [3.5], atol=1e-15)
    deep, X, _ = random_case("identity", "identity-3", 4)
    weights, bias = deep.linear_map()
    np.testing.assert_allclose(deep.forward(X), X @ weights + bias, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"network: expected identity activation and head .*activation='tanh'"):
        Network([2, 2, 1], activation="tanh").linear_map()
    with pytest.raises(ValueError, match=r"network: expected identity activation and head .*head='sigmoid'"):
        Network([2, 1], head="sigmoid").linear_map()


# --------------------------------------------------------------------------- #
# 12. XOR
# --------------------------------------------------------------------------- #

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(("head", "n_out"), [("sigmoid", 1), ("softmax", 2)])
def test_xor_is_learned(head: Any, n_out: int) -> None:
    net = Network([2, 8, n_out], activation="tanh", head=head, seed=0)
    net.fit(XOR_X, XOR_Y, epochs=300, optimizer="adam", learning_rate=0.05)
    assert net.score(XOR_X, XOR_Y) == 1.0
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)


def test_a_linear_model_cannot_learn_xor() -> None:
    # a purely linear classifier separates at most 3 of the 4 XOR points
    net = Network([2, 8, 1], activation="identity", head="sigmoid", seed=0)
    net.fit(XOR_X, XOR_Y, epochs=300, optimizer="adam", learning_rate=0.05)
    assert net.score(XOR_X, XOR_Y) <= 0.75


def test_row_losses_are_what_loss_averages_for_every_head() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    labels: dict[Head, np.ndarray] = {
        "identity": rng.normal(size=(30, 2)),
        "sigmoid": rng.integers(0, 2, size=30),
        "softmax": rng.integers(0, 4, size=30),
    }
    outputs = {"identity": 2, "sigmoid": 1, "softmax": 4}
    for head, y in labels.items():
        network = Network([3, 5, outputs[head]], activation="tanh", head=head, seed=1)
        rows = network.row_losses(X, y)
        assert rows.shape == (30,) and (rows >= 0).all()
        assert np.mean(rows) == pytest.approx(network.loss(X, y), rel=1e-12)
        assert rows[7] == pytest.approx(network.loss(X[7:8], y[7:8]), rel=1e-12)
