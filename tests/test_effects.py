"""What the network learned: exact input gradients, feature effects in the target's units, and their records."""

from __future__ import annotations

from typing import get_args

import numpy as np
import numpy.typing as npt
import pytest
import torch

from glassnet import Activation, Head, Network, to_torch

ACTIVATION_NAMES: tuple[Activation, ...] = get_args(Activation)
HEAD_NAMES: tuple[Head, ...] = get_args(Head)
OUTPUTS = {"identity": 2, "sigmoid": 1, "softmax": 3}
FloatArray = npt.NDArray[np.float64]


def network(activation: Activation, head: Head) -> Network:
    return Network([4, 6, 5, OUTPUTS[head]], activation=activation, head=head, seed=7)


def inputs(n: int = 32) -> FloatArray:
    """Inputs wide enough to reach every activation's negative side and its saturation."""
    return np.random.default_rng(1).normal(scale=2.0, size=(n, 4))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``, as `gradient_check` measures it."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


# --------------------------------------------------------------------------- #
# Network.input_gradients
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_input_gradients_equal_central_differences_of_forward(activation: Activation, head: Head) -> None:
    net, X = network(activation, head), inputs()
    epsilon = 1e-6
    numeric = np.empty((X.shape[0], OUTPUTS[head], X.shape[1]))
    for j in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, j] = epsilon
        numeric[:, :, j] = (net.forward(X + step) - net.forward(X - step)) / (2 * epsilon)
    analytic = net.input_gradients(X)
    assert analytic.shape == (32, OUTPUTS[head], 4)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_input_gradients_equal_pytorch_autograd(activation: Activation, head: Head) -> None:
    net, X = network(activation, head), inputs()
    module = to_torch(net)
    rows = torch.from_numpy(X)
    jacobian = torch.autograd.functional.jacobian(module, rows).numpy()  # type: ignore[no-untyped-call]
    per_row = np.einsum("ikij->ikj", jacobian)  # (n, n_out, n, n_in): each row depends on its own inputs only
    np.testing.assert_allclose(net.input_gradients(X), per_row, rtol=0, atol=1e-12)


def test_softmax_input_gradients_sum_to_zero_over_the_classes() -> None:
    gradients = network("tanh", "softmax").input_gradients(inputs())
    assert np.abs(gradients).max() > 1e-3  # something to sum
    np.testing.assert_allclose(gradients.sum(axis=1), 0.0, atol=1e-15)


def test_a_linear_network_has_its_linear_map_on_every_row() -> None:
    net = Network([4, 10, 25, 2], seed=3)
    weights, _ = net.linear_map()
    gradients = net.input_gradients(inputs())
    np.testing.assert_allclose(gradients, np.broadcast_to(weights.T, gradients.shape), rtol=1e-12, atol=1e-15)


def test_input_gradients_leave_the_parameters_and_a_later_step_alone() -> None:
    net, X = network("relu", "softmax"), inputs()
    before = net.parameter_vector.copy()
    y = np.arange(len(X)) % 3
    record = net.gradients(X, y)
    net.input_gradients(X)
    assert net.parameter_vector.tobytes() == before.tobytes()
    again = net.gradients(X, y)
    assert [g.weights.tobytes() for g in again.layers] == [g.weights.tobytes() for g in record.layers]


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (np.zeros((2, 3)), ValueError, r"X has 3 features, but Network is expecting 4 features as input"),
        (np.zeros(4), ValueError, r"X: expected a 2-D array \(n_samples, 4\), got shape \(4,\)"),
        (np.full((2, 4), np.nan), ValueError, r"X: expected finite values, got NaN or infinity"),
        (np.zeros((0, 4)), ValueError, r"X: found array with 0 sample\(s\)"),
        ([["a", "b", "c", "d"]], TypeError, r"X"),
    ],
)
def test_input_gradients_refuse_what_forward_refuses(X: object, error: type[Exception], message: str) -> None:
    net = network("tanh", "identity")
    with pytest.raises(error, match=message):
        net.forward(X)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        net.input_gradients(X)  # type: ignore[arg-type]
