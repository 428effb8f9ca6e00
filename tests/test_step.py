"""Tests for step.py: a training step computes from the arrays it is given, what `Network.gradients` computes."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from glassnet import ACTIVATIONS, LayerGradients, LayerParams, Network
from glassnet.functions import HEADS
from glassnet.layout import ParameterLayout
from glassnet.network import check_data
from glassnet.step import TrainingStep

FloatArray = npt.NDArray[np.float64]
BUILTIN_ACTIVATIONS = ("identity", "relu", "leaky_relu", "sigmoid", "tanh")
OUTPUTS = {"identity": 2, "sigmoid": 1, "softmax": 3}
ROWS = 6


def case(activation: str, head: str) -> tuple[Network, FloatArray, FloatArray]:
    """A network with a one-unit hidden layer (a bias added as it is, a one-column delta carried down as a
    broadcast product) among wider ones (their biases added from a tile of rows), and ``ROWS`` rows of data."""
    net = Network([3, 4, 1, 5, OUTPUTS[head]], activation=activation, head=head, seed=7)  # type: ignore[arg-type]
    rng = np.random.default_rng(3)
    for p in net.params:
        p.bias[...] = rng.normal(0.0, 0.5, size=p.bias.shape)
    X = rng.normal(size=(ROWS, 3))
    if head == "identity":
        return net, X, rng.normal(size=(ROWS, OUTPUTS[head]))
    classes = max(2, OUTPUTS[head])  # the sigmoid's one output holds two classes
    return net, X, rng.integers(0, classes, ROWS).astype(np.float64)


@pytest.mark.parametrize("head", list(OUTPUTS))
@pytest.mark.parametrize("activation", BUILTIN_ACTIVATIONS)
def test_a_step_given_its_own_arrays_computes_the_network_s_gradients(activation: str, head: str) -> None:
    net, X, y = case(activation, head)
    expected = net.gradients(X, y, l2=0.1)
    X_checked, Y = check_data(net, X, y)
    parameters, gradients = net.parameter_vector.copy(), np.zeros_like(net.parameter_vector)
    layout = ParameterLayout(net.shapes)
    step = TrainingStep(
        ROWS,
        layout.views(parameters, LayerParams),
        layout.views(gradients, LayerGradients),
        parameters[: layout.n_weights],
        gradients[: layout.n_weights],
        ACTIVATIONS[activation],
        HEADS[head],
    )
    net.parameter_vector.fill(np.nan)  # the step reads only what it was given...

    loss = step.loss_and_gradients(X_checked, Y, 0.1)

    assert np.isnan(net.parameter_vector).all(), "...and writes nothing of the network's"
    assert loss == expected.loss
    assert (
        gradients.tobytes()
        == np.concatenate([*(g.weights.ravel() for g in expected.layers), *(g.bias for g in expected.layers)]).tobytes()
    )


def test_a_step_of_two_flat_vectors_and_their_layout_computes_the_network_s_gradients() -> None:
    net, X, y = case("tanh", "softmax")
    expected = net.gradients(X, y, l2=0.1)
    layout = ParameterLayout(net.shapes)
    gradients = np.zeros(layout.size)
    step = TrainingStep.of(ROWS, layout, net.parameter_vector, gradients, ACTIVATIONS["tanh"], HEADS["softmax"])

    assert step.loss_and_gradients(*check_data(net, X, y), 0.1) == expected.loss
    assert [g.weights.tobytes() + g.bias.tobytes() for g in layout.views(gradients, LayerGradients)] == [
        g.weights.tobytes() + g.bias.tobytes() for g in expected.layers
    ]
