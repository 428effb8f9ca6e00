"""glassnet: a typed, NumPy-only dense network whose every gradient can be seen.

Read top to bottom:

1. Tables: hidden activations and output heads, one registry each.
2. Step buffers: every array one forward and backward pass needs, made once per batch size.
3. Optimizers: SGD, momentum and Adam, each updating one flat vector in place.
4. ``Network``: validation at the boundary, forward, backward, predict/score, persistence.
5. ``TrainingRun``: the loop and everything it owns (optimizer state, RNG position, epochs
   done, history, records, patience, divergence, checkpoints). ``Network.fit`` is a run taken
   to its end in one call.
6. ``gradient_check``: analytic gradients against central differences.

The typed records (``LayerParams``, ``GradientRecord``, ``EpochRecord``, ``TrainingHistory``,
the diagnosis) live in ``glassnet.records`` and are importable from here.

Conventions: float64 throughout; ``X`` is ``(n_samples, n_features)``; a layer computes
``Z = A_prev @ W + b`` and ``A = f(Z)``. All parameters live in one flat vector (every
layer's weights, then every layer's biases); the arrays in ``Network.params`` are views into
it, so an optimizer step is one vector update and a snapshot is one copy.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Annotated, Any, Literal, Protocol, Self, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, model_validator

from glassnet.guards import (
    Float64Vector,
    first_error,
    float_array,
    non_negative_number,
    one_of,
    optional_seed,
    positive_int,
    positive_number,
    read_model,
    write_atomically,
)
from glassnet.records import (
    Diagnosis,
    EpochRecord,
    Finding,
    GradientCheckReport,
    GradientRecord,
    LayerGradients,
    LayerParams,
    TrainingHistory,
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Derivative = FloatArray | BoolArray

Activation = Literal["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
Head = Literal["identity", "sigmoid", "softmax"]
Init = Literal["xavier", "he", "normal"]
OptimizerName = Literal["sgd", "momentum", "adam"]

LEAKY_RELU_SLOPE = 0.01
DEAD_DERIVATIVE_SHARE = 0.01
"""A unit is dead (or saturated) when its derivative stays below this share of the largest it can be."""


# --------------------------------------------------------------------------- #
# 1. Tables
# --------------------------------------------------------------------------- #
# Each function computes into the arrays of one layer's `LayerBuffers` (section 2), so a
# training step allocates nothing; each reproduces, operation for operation, the textbook
# expression in its docstring.


def _identity(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``f(z) = z``: the output is the pre-activation itself."""
    return z


def _relu(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``max(z, 0)``."""
    return np.maximum(z, 0.0, out=layer.a)


def _relu_derivative(z: FloatArray, a: FloatArray, layer: LayerBuffers) -> BoolArray:
    """``z > 0`` as a mask (0 at 0), which multiplies the delta without a float copy."""
    return np.greater(z, 0.0, out=layer.mask)


def _leaky_relu(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``where(z > 0, z, 0.01 z)``."""
    a = np.multiply(z, LEAKY_RELU_SLOPE, out=layer.a)
    np.copyto(a, z, where=np.greater(z, 0.0, out=layer.mask))
    return a


def _leaky_relu_derivative(z: FloatArray, a: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``where(z > 0, 1, 0.01)``."""
    slopes = layer.floats
    slopes.fill(LEAKY_RELU_SLOPE)
    np.copyto(slopes, 1.0, where=np.greater(z, 0.0, out=layer.mask))
    return slopes


def _sigmoid_into(z: FloatArray, out: FloatArray, scratch: FloatArray, mask: BoolArray) -> FloatArray:
    """``where(z >= 0, 1, e) / (1 + e)`` with ``e = exp(-|z|)``: ``exp`` never sees a positive number."""
    e = np.exp(np.negative(np.abs(z, out=scratch), out=scratch), out=scratch)
    np.copyto(out, e)
    np.copyto(out, 1.0, where=np.greater_equal(z, 0.0, out=mask))
    e += 1.0
    out /= e
    return out


def _sigmoid(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """The logistic function, without overflow."""
    return _sigmoid_into(z, layer.a, layer.floats, layer.mask)


def _sigmoid_derivative(z: FloatArray, a: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``a (1 - a)``."""
    slopes = np.subtract(1.0, a, out=layer.floats)
    slopes *= a
    return slopes


def _tanh(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``tanh(z)``."""
    return np.tanh(z, out=layer.a)


def _tanh_derivative(z: FloatArray, a: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``1 - a a``."""
    squares = np.multiply(a, a, out=layer.floats)
    return np.subtract(1.0, squares, out=squares)


@dataclass(frozen=True)
class ActivationFunction:
    """A hidden activation, computed into a layer's buffers.

    ``forward(z, layer) -> a`` returns ``f(z)`` (n, k), written into ``layer``'s arrays (or
    ``z`` itself for the identity); ``derivative(z, a, layer) -> f'(z)`` (n, k) receives both
    the pre-activation and the output, so it can use whichever is cheaper, and may return a
    boolean mask where f' is 0 or 1. ``None`` means ``f'(z) = 1`` (the delta passes through).
    ``max_derivative`` is the largest value f' can take (relu 1, sigmoid 0.25): a unit whose
    derivative stays below 1% of it on every row is dead or saturated. ``dead_shares(layers,
    bias_gradients)`` gives each hidden layer's share of such units from the last backward pass
    (``bias_gradients`` holds every hidden layer's bias gradient, one after another), faster than
    reducing the derivative over the rows; ``None`` reduces the derivative.
    """

    forward: Callable[[FloatArray, LayerBuffers], FloatArray]
    derivative: Callable[[FloatArray, FloatArray, LayerBuffers], Derivative] | None
    max_derivative: float = 1.0
    dead_shares: Callable[[Sequence[LayerBuffers], FloatArray], list[float]] | None = None

    def function(self, z: FloatArray) -> FloatArray:
        """``f(z)`` of ``z`` (n, k) as a new array."""
        layer = StepBuffers(z.shape[0], [z.shape[1]]).layers[0]
        return self.forward(z, layer).copy()


def _relu_dead_shares(layers: Sequence[LayerBuffers], bias_gradients: FloatArray) -> list[float]:
    """Each hidden layer's share of relu units inactive (``z <= 0``) on every row of the last pass.

    A unit inactive on every row has a delta of exactly 0 on every row, hence a bias gradient
    of exactly 0: only such units need their rows looked at, so healthy layers cost one
    comparison over the biases.
    """
    zero = bias_gradients == 0.0
    if not zero.any():
        return [0.0] * len(layers)
    shares, start = [], 0
    for layer in layers:
        (candidates,) = np.nonzero(zero[start : start + layer.width])
        dead = np.count_nonzero(~layer.mask[:, candidates].any(axis=0)) if candidates.size else 0
        shares.append(dead / layer.width)
        start += layer.width
    return shares


def _never_dead(layers: Sequence[LayerBuffers], bias_gradients: FloatArray) -> list[float]:
    """No unit: the derivative never falls below 1% of its largest value (identity 1; leaky relu 1 or 0.01)."""
    return [0.0] * len(layers)


ACTIVATIONS: dict[str, ActivationFunction] = {
    "identity": ActivationFunction(_identity, None, dead_shares=_never_dead),
    "relu": ActivationFunction(_relu, _relu_derivative, dead_shares=_relu_dead_shares),
    "leaky_relu": ActivationFunction(_leaky_relu, _leaky_relu_derivative, dead_shares=_never_dead),
    "sigmoid": ActivationFunction(_sigmoid, _sigmoid_derivative, max_derivative=0.25),
    "tanh": ActivationFunction(_tanh, _tanh_derivative),
}


def register_activation(
    name: str,
    function: Callable[[FloatArray], FloatArray],
    derivative: Callable[[FloatArray, FloatArray], Derivative],
    *,
    max_derivative: float = 1.0,
) -> None:
    """Add a hidden activation usable as ``Network(..., activation=name)``.

    Parameters
    ----------
    name : str
        New name; the built-in names cannot be replaced.
    function : callable
        ``z (n, k) -> a (n, k)``.
    derivative : callable
        ``(z, a) -> f'(z)``, all ``(n, k)``.
    max_derivative : float
        The largest value ``f'`` takes, for the dead-unit measure of the training records.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    if name in ACTIVATIONS:
        raise ValueError(f"name: expected a new activation name, got {name!r}, which is already registered")
    if not callable(function) or not callable(derivative):
        raise TypeError("function, derivative: expected two callables")
    max_derivative = positive_number(max_derivative, "max_derivative")

    def forward(z: FloatArray, layer: LayerBuffers) -> FloatArray:
        np.copyto(layer.a, function(z))  # a user's function allocates; its result is kept in the buffers
        return layer.a

    ACTIVATIONS[name] = ActivationFunction(forward, lambda z, a, layer: derivative(z, a), max_derivative)


def _mse(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean over samples and outputs of ``(a - y)**2``, from ``diff = a - y``."""
    return float(np.vdot(diff, diff)) / diff.size


def _binary_cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean BCE from the logits: ``log(1 + e^z) - y z`` never takes ``log(0)``."""
    terms = np.logaddexp(0.0, z, out=layer.floats)
    terms -= np.multiply(y, z, out=layer.spare)
    return float(np.mean(terms))


def _cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean categorical cross-entropy from the logits: ``logsumexp(z) - sum(y z)``, row by row.

    ``logsumexp(z) = max(z) + log(sum(exp(z - max(z))))`` is exact for large logits.
    """
    top = np.max(z, axis=1, out=layer.row_max)
    shifted = np.subtract(z, top[:, None], out=layer.floats)
    per_row = np.log(np.sum(np.exp(shifted, out=shifted), axis=1, out=layer.row_sum), out=layer.row_sum)
    per_row += top
    per_row -= np.einsum("ij,ij->i", y, z, out=layer.row_max)
    return float(np.mean(per_row))


def _softmax(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """Row-wise softmax of ``z`` (n, k); shifting by the row maximum keeps ``exp <= 1``."""
    top = np.max(z, axis=1, out=layer.row_max)
    e = np.exp(np.subtract(z, top[:, None], out=layer.a), out=layer.a)
    e /= np.sum(e, axis=1, keepdims=True, out=layer.row_sum[:, None])
    return e


def _sigmoid_head(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    return _sigmoid_into(z, layer.a, layer.floats, layer.mask)


def _entropy(frequencies: FloatArray) -> float:
    """``-sum(f log f)`` over the non-zero frequencies (k,)."""
    present = frequencies[frequencies > 0]
    return float(-np.sum(present * np.log(present)))


def _real_targets(y: FloatArray, n_out: int) -> FloatArray:
    if y.ndim == 1 and n_out == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[1] != n_out:
        shapes = "(n,) or (n, 1)" if n_out == 1 else f"(n, {n_out})"
        raise ValueError(f"y: expected shape {shapes} for the identity head, got {y.shape}")
    return y


def _binary_targets(y: FloatArray, n_out: int) -> FloatArray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y: expected labels of shape (n,) or (n, 1) for the sigmoid head, got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"y: expected labels in {{0, 1}} for the sigmoid head, got values {_some_values(y)}")
    return y[:, None]


def _categorical_targets(y: FloatArray, n_out: int) -> FloatArray:
    if y.ndim == 1:
        if not (np.isin(y, np.arange(n_out))).all():
            raise ValueError(
                f"y: expected integer labels in [0, {n_out}) for the softmax head, got values {_some_values(y)}"
            )
        return np.eye(n_out)[y.astype(np.intp)]
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(f"y: expected labels (n,) or one-hot rows (n, {n_out}) for the softmax head, got {y.shape}")
    if not np.isin(y, (0, 1)).all() or not (y.sum(axis=1) == 1).all():
        raise ValueError("y: expected one-hot rows (0/1 values, each row summing to 1), got rows that are not")
    return y


def _some_values(y: np.ndarray) -> str:
    """Up to five distinct values of ``y``, each written exactly (1.0000001, not 1)."""
    values = np.unique(y)
    shown = ", ".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values[:5])
    return f"{{{shown}{', ...' if values.size > 5 else ''}}}"


@dataclass(frozen=True)
class HeadFunction:
    """An output head with its matching loss (the canonical link).

    ``output(z, layer) -> a`` like an activation's forward; ``loss(z, a, y, a - y, layer) -> float``
    is a mean over samples; ``targets(y, n_out) -> (n, n_out)`` checks a float64 label array and
    returns the target matrix; ``baseline(Y)`` is the loss of the best constant prediction for
    targets ``Y`` (n, n_out). With the canonical link, ``d loss / d z`` is
    ``(a - y) * delta_factor(n_out) / n`` for every head.
    """

    loss_name: str
    output: Callable[[FloatArray, LayerBuffers], FloatArray]
    loss: Callable[[FloatArray, FloatArray, FloatArray, FloatArray, LayerBuffers], float]
    targets: Callable[[FloatArray, int], FloatArray]
    delta_factor: Callable[[int], float]
    baseline: Callable[[FloatArray], float]
    min_outputs: int
    max_outputs: int | None


HEADS: dict[str, HeadFunction] = {
    "identity": HeadFunction(
        "mean squared error",
        _identity,
        _mse,
        _real_targets,
        lambda k: 2.0 / k,
        lambda Y: float(np.mean(np.var(Y, axis=0))),  # predicting each column's mean
        1,
        None,
    ),
    "sigmoid": HeadFunction(
        "binary cross-entropy",
        _sigmoid_head,
        _binary_cross_entropy,
        _binary_targets,
        lambda k: 1.0,
        lambda Y: _entropy(np.array([Y.mean(), 1.0 - Y.mean()])),  # predicting the share of ones
        1,
        1,
    ),
    "softmax": HeadFunction(
        "cross-entropy",
        _softmax,
        _cross_entropy,
        _categorical_targets,
        lambda k: 1.0,
        lambda Y: _entropy(Y.mean(axis=0)),  # predicting the class frequencies
        2,
        None,
    ),
}


# --------------------------------------------------------------------------- #
# 2. Step buffers
# --------------------------------------------------------------------------- #


class ArrayMaker:
    """Makes the arrays of one buffer set, all ``rows`` rows long, and counts them in ``arrays_made``.

    The layers of a set share it; it refers to none of them, so a set is freed the moment
    the last reference to it goes (no reference cycle to wait for the garbage collector).
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.arrays_made = 0

    def floats(self, width: int | None) -> FloatArray:
        """A new uninitialized float64 array (rows, width), or (rows,) for ``width=None``."""
        self.arrays_made += 1
        return np.empty((self.rows,) if width is None else (self.rows, width))

    def mask(self, width: int) -> BoolArray:
        """A new uninitialized boolean array (rows, width)."""
        self.arrays_made += 1
        return np.empty((self.rows, width), dtype=np.bool_)


def _buffer(what: str, *, per_row: bool = False) -> cached_property[FloatArray]:
    """A float64 array of a `LayerBuffers`, (rows, width) or (rows,) ``per_row``, made on first use."""

    def make(layer: LayerBuffers) -> FloatArray:
        return layer.maker.floats(None if per_row else layer.width)

    make.__doc__ = what
    return cached_property(make)


class LayerBuffers:
    """One layer's arrays for a batch, each made on first use and then reused.

    ``output`` and ``derivative`` name whichever arrays the last pass left ``f(z)`` and
    ``f'(z)`` in: for the identity the output is ``z`` itself, and ``a`` is never made.
    """

    def __init__(self, maker: ArrayMaker, width: int) -> None:
        self.maker = maker
        self.width = width
        self.output: FloatArray
        self.derivative: Derivative | None = None

    z = _buffer("The pre-activation ``A_prev @ W + b``.")
    a = _buffer("The activation's output ``f(z)``.")
    delta = _buffer("``d loss / d z``.")
    floats = _buffer("The activation's scratch; ``f'(z)`` after a backward pass.")
    spare = _buffer("A second scratch, for the heads' losses.")
    row_max = _buffer("A value per row: the row maximum of the logits.", per_row=True)
    row_sum = _buffer("A value per row: the sum of the shifted exponentials.", per_row=True)

    @cached_property
    def mask(self) -> BoolArray:
        """The activation's boolean scratch; relu's ``f'(z)`` after a backward pass."""
        return self.maker.mask(self.width)


class StepBuffers:
    """Every array that a forward and backward pass over ``rows`` rows needs, one `LayerBuffers` per layer.

    Made once per batch size and reused by every batch of that size, so that a training step
    allocates nothing after its first; a forward-only pass never makes the backward's arrays.
    ``maker.arrays_made`` counts every array the set has made.
    """

    def __init__(self, rows: int, widths: Sequence[int], n_weights: int = 0) -> None:
        self.rows = rows
        self.n_weights = n_weights
        self.maker = ArrayMaker(rows)
        self.layers = [LayerBuffers(self.maker, width) for width in widths]

    @cached_property
    def ones(self) -> FloatArray:
        """(rows,) ones: ``db = 1^T delta`` as a matrix product, much faster than ``sum(axis=0)``."""
        ones = self.maker.floats(None)
        ones.fill(1.0)
        return ones

    @cached_property
    def weights_sized(self) -> FloatArray:
        """(n_weights,) scratch: the ``l2 W`` term of the gradient."""
        self.maker.arrays_made += 1
        return np.empty(self.n_weights)


# --------------------------------------------------------------------------- #
# 3. Optimizers: each updates the flat parameter vector in place
# --------------------------------------------------------------------------- #


class Optimizer(Protocol):
    """Anything with ``step(params, grads)`` that updates ``params`` (p,) in place."""

    def step(self, params: FloatArray, grads: FloatArray) -> None: ...


OPTIMIZER_SCRATCH_ROWS = 2
"""The built-in optimizers compute their update in up to this many parameter-sized vectors."""


def _work(params: FloatArray, scratch: FloatArray | None, row: int) -> FloatArray:
    """Row ``row`` of ``scratch`` (OPTIMIZER_SCRATCH_ROWS, p) to compute in, or a new (p,) array without it."""
    return np.empty_like(params) if scratch is None else scratch[row]


class SGD(BaseModel):
    """Plain gradient descent: ``p -= learning_rate * g``."""

    kind: Literal["sgd"] = "sgd"
    learning_rate: PositiveFloat = 0.05

    def step(self, params: FloatArray, grads: FloatArray, scratch: FloatArray | None = None) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,), computing in ``scratch`` if given."""
        params -= np.multiply(grads, self.learning_rate, out=_work(params, scratch, 0))


class MomentumState(BaseModel):
    """The velocity of ``Momentum``, one entry per parameter."""

    velocity: Float64Vector


class Momentum(BaseModel):
    """Heavy-ball momentum, PyTorch's convention: ``v = momentum v + g; p -= learning_rate v``."""

    kind: Literal["momentum"] = "momentum"
    learning_rate: PositiveFloat = 0.01
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    state: MomentumState | None = None

    def step(self, params: FloatArray, grads: FloatArray, scratch: FloatArray | None = None) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,), computing in ``scratch`` if given."""
        if self.state is None:
            self.state = MomentumState(velocity=np.zeros_like(params))
        velocity = self.state.velocity
        velocity *= self.momentum
        velocity += grads
        params -= np.multiply(velocity, self.learning_rate, out=_work(params, scratch, 0))


class AdamState(BaseModel):
    """Adam's step count and bias-uncorrected moment estimates."""

    step: int = Field(ge=0)
    first_moment: Float64Vector
    second_moment: Float64Vector


class Adam(BaseModel):
    """Adam with PyTorch's betas, eps and bias correction.

    The default learning rate is 0.01 rather than PyTorch's 0.001: glassnet trains
    full batch by default, one step per epoch, where 0.001 needs ten times the epochs.
    """

    kind: Literal["adam"] = "adam"
    learning_rate: PositiveFloat = 0.01
    beta1: float = Field(default=0.9, ge=0.0, lt=1.0)
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0)
    eps: PositiveFloat = 1e-8
    state: AdamState | None = None

    def step(self, params: FloatArray, grads: FloatArray, scratch: FloatArray | None = None) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,), computing in ``scratch`` if given:

        ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g g``,
        ``p -= (lr / (1 - b1^t)) m / (sqrt(v / (1 - b2^t)) + eps)``.
        """
        if self.state is None:
            self.state = AdamState(step=0, first_moment=np.zeros_like(params), second_moment=np.zeros_like(params))
        state = self.state
        state.step += 1
        m, v = state.first_moment, state.second_moment
        update, denominator = _work(params, scratch, 0), _work(params, scratch, 1)
        m *= self.beta1
        m += np.multiply(grads, 1.0 - self.beta1, out=update)
        v *= self.beta2
        v += np.multiply(np.multiply(grads, 1.0 - self.beta2, out=update), grads, out=update)
        step_size = self.learning_rate / (1.0 - self.beta1**state.step)
        np.sqrt(np.divide(v, 1.0 - self.beta2**state.step, out=denominator), out=denominator)
        denominator += self.eps
        np.multiply(m, step_size, out=update)
        update /= denominator
        params -= update


OPTIMIZERS: dict[str, type[SGD] | type[Momentum] | type[Adam]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
SavedOptimizer = Annotated[SGD | Momentum | Adam, Field(discriminator="kind")]


# --------------------------------------------------------------------------- #
# 4. The network
# --------------------------------------------------------------------------- #


class TrainingDiverged(ArithmeticError):
    """The training loss (or a gradient's size) became non-finite.

    ``history`` holds the epochs recorded so far; the network is restored to the last
    parameters that gave a finite loss (those at the first step of the diverging epoch,
    or of the epoch before when that step diverged).
    """

    def __init__(self, message: str, history: TrainingHistory) -> None:
        super().__init__(message)
        self.history = history


class NetworkDocument(BaseModel):
    """A network as stored on disk: ``{"format": "glassnet.network", "version": 1, ...}``."""

    format: Literal["glassnet.network"] = "glassnet.network"
    version: Literal[1] = 1
    layer_sizes: list[int]
    activation: str
    head: Head
    params: list[LayerParams]

    @model_validator(mode="after")
    def _buildable(self) -> Self:
        _check_architecture(self.layer_sizes, self.activation, self.head)
        shapes = [p.weights.shape for p in self.params]
        expected = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=False))
        if shapes != expected:
            raise ValueError(f"params: expected weight shapes {expected} for layer_sizes, got {shapes}")
        return self


def _check_architecture(layer_sizes: object, activation: object, head: object) -> list[int]:
    """Validated layer sizes for a network with this activation and head.

    Shared by ``Network`` and ``NetworkDocument``, so a file can never describe a
    network that cannot be built.
    """
    expected = "a sequence of at least 2 positive integers"
    if isinstance(layer_sizes, str) or not isinstance(layer_sizes, Sequence | np.ndarray):
        raise TypeError(f"layer_sizes: expected {expected}, got {layer_sizes!r}")
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes: expected {expected}, got {layer_sizes!r}")
    sizes = [positive_int(size, "layer_sizes") for size in layer_sizes]
    try:
        one_of(activation, "activation", ACTIVATIONS)
    except ValueError as error:
        raise ValueError(f"{error}; add others with register_activation") from None
    spec = HEADS[one_of(head, "head", HEADS)]
    if sizes[-1] < spec.min_outputs or (spec.max_outputs is not None and sizes[-1] > spec.max_outputs):
        wanted = "exactly 1 output" if spec.max_outputs == 1 else f"at least {spec.min_outputs} outputs"
        raise ValueError(f"layer_sizes: the {head} head expects {wanted}, got {sizes[-1]}")
    return sizes


LayerT = TypeVar("LayerT", LayerParams, LayerGradients)


class Network:
    """A dense feed-forward network with typed parameters and gradients.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from input to output, e.g. ``[4, 10, 25, 1]``; at least two.
    activation : str
        Hidden activation, a key of ``ACTIVATIONS``.
    head : {"identity", "sigmoid", "softmax"}
        Output function; it fixes the loss (MSE, binary or categorical cross-entropy).
    init : {"xavier", "he", "normal"}
        Weight scale: ``sqrt(2 / (n_in + n_out))``, ``sqrt(2 / n_in)`` or 1; biases start at 0.
    seed : int or None
        Seeds the one ``numpy.random.Generator`` used for initialization and shuffling.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        *,
        activation: Activation | str = "identity",
        head: Head = "identity",
        init: Init = "xavier",
        seed: int | None = 0,
    ) -> None:
        sizes = _check_architecture(layer_sizes, activation, head)
        scales = {"xavier": lambda i, o: math.sqrt(2.0 / (i + o)), "he": lambda i, o: math.sqrt(2.0 / i)}
        one_of(init, "init", (*scales, "normal"))
        seed = optional_seed(seed)

        self.layer_sizes = sizes
        self.activation = activation
        self.head: Head = head
        self._rng = np.random.default_rng(seed)
        n_weights = sum(i * o for i, o in self.shapes)
        try:
            self._set_parameters(np.zeros(n_weights + sum(sizes[1:])))
        except (MemoryError, ValueError):
            raise ValueError(f"layer_sizes: {sizes} need {n_weights:,} weights, more than memory holds") from None
        for p, (n_in, n_out) in zip(self.params, self.shapes, strict=True):
            scale = scales[init](n_in, n_out) if init in scales else 1.0
            p.weights[...] = self._rng.normal(0.0, scale, size=(n_in, n_out))

    def _set_parameters(self, flat: FloatArray) -> None:
        """Make ``flat`` (p,) the parameter vector: typed per-layer views of it, and a gradient vector like it."""
        self._n_weights = sum(i * o for i, o in self.shapes)  # the flat vector holds these first, then biases
        self._flat = flat
        self.params = self._layer_views(flat, LayerParams)
        self._grads = np.zeros_like(flat)
        self._grad_views = self._layer_views(self._grads, LayerGradients)

    # ----- copies ------------------------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        """What ``copy``, ``deepcopy`` and pickle keep: the architecture, the parameters and the RNG's position.

        The per-layer views are left out on purpose: ``__setstate__`` rebuilds them onto the
        copy's own vector. A copied view would be a separate array that the optimizer, which
        updates the flat vector, never touches, and the copy would not train.
        """
        return {
            "layer_sizes": list(self.layer_sizes),
            "activation": self.activation,
            "head": self.head,
            "parameters": self._flat.copy(),
            "rng_state": self._rng.bit_generator.state,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild a network from `__getstate__`'s dict, its views onto its own parameter vector."""
        self.layer_sizes = list(state["layer_sizes"])
        self.activation = state["activation"]
        self.head = state["head"]
        self._rng = np.random.default_rng()
        self._rng.bit_generator.state = state["rng_state"]
        self._set_parameters(np.array(state["parameters"], dtype=np.float64))

    # ----- layout ------------------------------------------------------------

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(n_in, n_out)`` of each layer's weights."""
        return list(zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=False))

    @property
    def loss_name(self) -> str:
        """The loss the head trains with, e.g. ``"mean squared error"``."""
        return HEADS[self.head].loss_name

    @property
    def n_parameters(self) -> int:
        """Total number of weights and biases."""
        return int(self._flat.size)

    def _layer_of_parameter(self) -> FloatArray:
        """(p, n_layers): 1 where parameter i belongs to layer j, else 0. ``squares @ it`` sums per layer."""
        sizes = [i * o for i, o in self.shapes] + self.layer_sizes[1:]  # the weights, then the biases
        layers = np.tile(np.arange(len(self.shapes)), 2)
        return np.repeat(np.eye(len(self.shapes))[layers], sizes, axis=0)

    def _layer_views(self, flat: FloatArray, kind: type[LayerT]) -> list[LayerT]:
        """Per-layer ``kind`` records viewing ``flat`` (p,): every layer's weights first, then every bias."""
        views: list[LayerT] = []
        w_at, b_at = 0, self._n_weights
        for n_in, n_out in self.shapes:
            weights = flat[w_at : w_at + n_in * n_out].reshape(n_in, n_out)
            views.append(kind(weights=weights, bias=flat[b_at : b_at + n_out]))
            w_at, b_at = w_at + n_in * n_out, b_at + n_out
        return views

    def _buffers(self, rows: int) -> StepBuffers:
        """A new set of step buffers for batches of ``rows`` rows."""
        return StepBuffers(rows, self.layer_sizes[1:], self._n_weights)

    def __repr__(self) -> str:
        return (
            f"Network({self.layer_sizes}, activation={self.activation!r}, head={self.head!r}, "
            f"n_parameters={self.n_parameters})"
        )

    # ----- validation at the boundary ----------------------------------------

    def _check_inputs(self, X: object, name: str = "X") -> FloatArray:
        """``X`` (n, n_in) as a C-contiguous float64 array, or the error that names what is wrong with it.

        The messages for empty arrays and a wrong width are worded as scikit-learn's, so the
        estimators in ``glassnet.sklearn`` pass its checks on glassnet's own validation.
        """
        array = float_array(X, name)
        n_in = self.layer_sizes[0]
        if array.ndim != 2:
            reshape = "; Reshape your data: X.reshape(1, -1) for one sample" if array.ndim == 1 else ""
            raise ValueError(f"{name}: expected a 2-D array (n_samples, {n_in}), got shape {array.shape}{reshape}")
        for axis, what in ((0, "sample"), (1, "feature")):
            if array.shape[axis] == 0:
                raise ValueError(
                    f"{name}: found array with 0 {what}(s) (shape={array.shape}) while a minimum of 1 is required."
                )
        if array.shape[1] != n_in:
            raise ValueError(
                f"{name} has {array.shape[1]} features, but Network is expecting {n_in} features as input: "
                f"expected shape (n_samples, {n_in}), got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"{name}: expected finite values, got NaN or infinity")
        return np.ascontiguousarray(array)

    def _check_data(self, X: object, y: object, names: tuple[str, str] = ("X", "y")) -> tuple[FloatArray, FloatArray]:
        X_checked = self._check_inputs(X, names[0])
        labels = float_array(y, names[1])
        if labels.ndim == 0 or labels.shape[0] != X_checked.shape[0]:
            raise ValueError(
                f"{names[1]}: expected {X_checked.shape[0]} rows to match {names[0]}, got shape {labels.shape}"
            )
        if not np.isfinite(labels).all():
            raise ValueError(f"{names[1]}: expected finite values, got NaN or infinity")
        try:
            targets = HEADS[self.head].targets(labels, self.layer_sizes[-1])
        except ValueError as error:
            raise ValueError(str(error).replace("y:", f"{names[1]}:", 1)) from None
        return X_checked, np.ascontiguousarray(targets)

    def _check_validation(self, validation_data: object) -> tuple[FloatArray, FloatArray]:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError(f"validation_data: expected a pair (X_val, y_val), got {type(validation_data).__name__}")
        X_val, y_val = validation_data
        return self._check_data(X_val, y_val, names=("validation_data X", "validation_data y"))

    def _answer(self, X: FloatArray) -> StepBuffers:
        """A forward pass over checked inputs ``X`` (n, n_in), in new buffers, refused if it overflowed."""
        buffers = self._buffers(X.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            self._forward(X, buffers)
        self._refuse_overflow(X, buffers)
        return buffers

    def _refuse_overflow(self, X: FloatArray, buffers: StepBuffers) -> None:
        """Raise if the last pass over ``X`` left infinite or NaN logits or outputs in ``buffers``.

        Finite but enormous inputs can overflow float64 on the way through the layers; the
        probabilities and labels computed from infinite logits would be silently wrong.
        """
        top = buffers.layers[-1]
        if not (np.isfinite(top.z).all() and np.isfinite(top.output).all()):
            raise ValueError(
                f"X: the network's output is not finite for these inputs: float64 overflowed on the way through "
                f"the layers (the largest |input| is {np.abs(X).max():.3g}); scale the inputs, "
                "e.g. standardize them"
            )

    def _decision(self, top: LayerBuffers) -> np.ndarray:
        """What ``predict`` returns from the output layer's buffers: the output, or labels from the logits."""
        if self.head == "identity":
            return top.output
        labels: npt.NDArray[np.int64] = (
            (top.z[:, 0] > 0).astype(np.int64) if self.head == "sigmoid" else top.z.argmax(axis=1)
        )
        return labels

    # ----- the math ----------------------------------------------------------

    def _forward(self, X: FloatArray, buffers: StepBuffers) -> FloatArray:
        """Every layer's ``Z`` and ``A`` for ``X`` (n, n_in), into ``buffers``; returns the output (n, n_out)."""
        hidden, head = ACTIVATIONS[self.activation].forward, HEADS[self.head].output
        a, last = X, len(self.params) - 1
        for i, (p, layer) in enumerate(zip(self.params, buffers.layers, strict=True)):
            z = np.matmul(a, p.weights, out=layer.z)
            z += p.bias
            a = layer.output = head(z, layer) if i == last else hidden(z, layer)
        return a

    def _penalty(self, l2: float) -> float:
        weights = self._flat[: self._n_weights]
        return 0.5 * l2 * float(np.vdot(weights, weights)) if l2 else 0.0

    def _head_loss(self, output: FloatArray, Y: FloatArray, buffers: StepBuffers) -> float:
        """The head's loss of ``output`` against ``Y`` (n, n_out); leaves ``output - Y`` in the top delta."""
        top = buffers.layers[-1]
        diff = np.subtract(output, Y, out=top.delta)
        return HEADS[self.head].loss(top.z, output, Y, diff, top)

    def _loss_and_gradients(self, X: FloatArray, Y: FloatArray, l2: float, buffers: StepBuffers) -> float:
        """Forward and backward on one batch; gradients land in ``self._grads``. Returns the loss.

        The output delta is ``(A - Y) * c / n``; then per layer, last to first,
        ``dW = A_prev.T @ delta``, ``db = 1.T @ delta``, ``delta = (delta @ W.T) * f'(Z_prev)``.
        """
        spec = HEADS[self.head]
        loss = self._head_loss(self._forward(X, buffers), Y, buffers) + self._penalty(l2)
        delta = buffers.layers[-1].delta
        delta *= spec.delta_factor(Y.shape[1]) / Y.shape[0]
        derivative = ACTIVATIONS[self.activation].derivative
        for i in range(len(self.params) - 1, -1, -1):
            grad = self._grad_views[i]
            inputs = X if i == 0 else buffers.layers[i - 1].output
            np.matmul(inputs.T, delta, out=grad.weights)
            np.matmul(buffers.ones, delta, out=grad.bias)
            if i > 0:
                below = buffers.layers[i - 1]
                delta = np.matmul(delta, self.params[i].weights.T, out=below.delta)
                if derivative is not None:
                    below.derivative = derivative(below.z, below.output, below)
                    delta *= below.derivative
        if l2:
            n_weights = self._n_weights
            self._grads[:n_weights] += np.multiply(self._flat[:n_weights], l2, out=buffers.weights_sized)
        return loss

    def _loss(self, X: FloatArray, Y: FloatArray, l2: float, buffers: StepBuffers) -> float:
        return self._head_loss(self._forward(X, buffers), Y, buffers) + self._penalty(l2)

    def _gradient_record(self, loss: float) -> GradientRecord:
        """A copy of the gradients in ``self._grads``, as a typed record with the ``loss`` they came from."""
        layers = [LayerGradients(weights=g.weights.copy(), bias=g.bias.copy()) for g in self._grad_views]
        return GradientRecord(loss=loss, layers=layers)

    def _dead_fractions(self, buffers: StepBuffers) -> list[float]:
        """Per hidden layer, the share of units whose ``f'`` stayed below 1% of its largest value on every row.

        Reads what the last backward pass left in ``buffers`` and ``self._grads``: the activation's
        own test when it has one, else the derivative's maximum over the rows (derivatives are
        never negative).
        """
        spec, hidden = ACTIVATIONS[self.activation], buffers.layers[:-1]
        if spec.dead_shares is not None:
            start = self._n_weights  # the biases follow the weights, layer by layer
            return spec.dead_shares(hidden, self._grads[start : start + sum(layer.width for layer in hidden)])
        threshold = DEAD_DERIVATIVE_SHARE * spec.max_derivative
        return [
            float(np.count_nonzero(np.max(layer.derivative, axis=0) < threshold)) / layer.width
            for layer in hidden
            if layer.derivative is not None  # always, after a backward pass
        ]

    # ----- public API --------------------------------------------------------

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Network output (n, n_out) with the head applied: probabilities for classifiers."""
        return self._answer(self._check_inputs(X)).layers[-1].output

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Identity head: ``forward(X)`` (n, n_out). Classifiers: integer labels (n,), from the logits."""
        return self._decision(self._answer(self._check_inputs(X)).layers[-1])

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """R^2 (averaged over outputs) for the identity head, accuracy for classifiers."""
        X_checked, Y = self._check_data(X, y)
        prediction = self._decision(self._answer(X_checked).layers[-1])
        if self.head != "identity":
            labels = Y[:, 0] if self.head == "sigmoid" else np.argmax(Y, axis=1)
            return float(np.mean(prediction == labels))
        with np.errstate(over="ignore", invalid="ignore"):
            residual = ((Y - prediction) ** 2).sum(axis=0)
            total = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        if not (np.isfinite(residual).all() and np.isfinite(total).all()):
            raise ValueError("X, y: R^2 overflows float64 for these predictions and labels; scale them")
        # a constant target has no variance to explain: 1 for an exact fit, else 0 (as scikit-learn)
        constant = np.where(residual == 0, 1.0, 0.0)
        r2 = np.divide(residual, total, out=np.ones_like(total), where=total > 0)
        return float(np.mean(np.where(total > 0, 1.0 - r2, constant)))

    def loss(self, X: npt.ArrayLike, y: npt.ArrayLike, *, l2: float = 0.0) -> float:
        """Mean loss of the head over ``X`` (n, n_in), plus ``(l2 / 2) * sum(W**2)``."""
        X_checked, Y = self._check_data(X, y)
        l2 = non_negative_number(l2, "l2")
        buffers = self._answer(X_checked)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self._head_loss(buffers.layers[-1].output, Y, buffers) + self._penalty(l2)
        if not math.isfinite(loss):
            raise ValueError(f"X, y: the loss overflows float64 ({loss}) for these inputs and labels; scale them")
        return loss

    def gradients(self, X: npt.ArrayLike, y: npt.ArrayLike, *, l2: float = 0.0) -> GradientRecord:
        """One backward pass over all of ``X``: the loss and a copy of every layer's gradients."""
        X_checked, Y = self._check_data(X, y)
        l2 = non_negative_number(l2, "l2")
        buffers = self._buffers(X_checked.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            loss = self._loss_and_gradients(X_checked, Y, l2, buffers)
        self._refuse_overflow(X_checked, buffers)
        if not (math.isfinite(loss) and np.isfinite(self._grads).all()):
            raise ValueError("X, y: the loss or its gradient overflows float64 for these inputs and labels; scale them")
        return self._gradient_record(loss)

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        epochs: int = 150,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        optimizer: OptimizerName | Optimizer = "sgd",
        l2: float = 0.0,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        patience: int | None = None,
        record_every: int = 1,
        keep_gradients: int | None = None,
        verbose: bool = False,
        on_record: Callable[[EpochRecord], None] | None = None,
    ) -> TrainingHistory:
        """Train by minibatch gradient descent and return the recorded history.

        One uninterrupted `TrainingRun`: the parameters are the same, bit for bit, as those of a
        run paused and resumed, or of ``fit`` called again with the same optimizer object (whose
        state goes on; a name starts a fresh optimizer) for the remaining epochs.

        Parameters
        ----------
        X, y : arrays
            Inputs (n, n_in) and labels in the head's format.
        epochs : int
            Passes over the data.
        learning_rate : float, optional
            Step size; ``None`` takes the optimizer's default (sgd 0.05, momentum 0.01, adam 0.01).
        batch_size : int, optional
            Rows per step, reshuffled every epoch; ``None`` is full batch.
        optimizer : {"sgd", "momentum", "adam"} or Optimizer
            A name, or an object with ``step(params, grads)`` (then leave ``learning_rate`` unset).
        l2 : float
            Adds ``(l2 / 2) * sum(W**2)`` over weights to the loss.
        validation_data : (X_val, y_val), optional
            Measured after every recorded epoch as ``val_loss``.
        patience : int, optional
            With ``validation_data``: stop once the validation loss has not improved for
            this many epochs (checked on recorded epochs) and restore the best parameters.
        record_every : int
            Record the first epoch, every this many epochs, and the last.
        keep_gradients : int, optional
            Keep the full `GradientRecord` of the last step on the recorded epochs that are
            the first, the last or a multiple of this; ``None`` keeps none.
        verbose : bool
            Print each record as it is made.
        on_record : callable, optional
            Called with each ``EpochRecord`` as it is made.

        Raises
        ------
        TrainingDiverged
            When a loss becomes non-finite; the network keeps its last finite parameters.
        """
        run = TrainingRun(
            self,
            X,
            y,
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            optimizer=optimizer,
            l2=l2,
            validation_data=validation_data,
            patience=patience,
            record_every=record_every,
            keep_gradients=keep_gradients,
        )
        return run.advance(verbose=verbose, on_record=on_record)

    def linear_map(self) -> tuple[FloatArray, FloatArray]:
        """The single affine map a network without nonlinearities computes.

        With identity activations and head, ``forward(X) == X @ W + b`` where
        ``W = W1 @ W2 @ ... @ WL`` (n_in, n_out) and ``b`` (n_out,) is the input
        bias carried through the later layers: stacked linear layers collapse.
        """
        if self.activation != "identity" or self.head != "identity":
            raise ValueError(
                f"network: expected identity activation and head for a linear map, "
                f"got activation={self.activation!r}, head={self.head!r}"
            )
        weights, bias = np.eye(self.layer_sizes[0]), np.zeros(self.layer_sizes[0])
        for p in self.params:
            weights, bias = weights @ p.weights, bias @ p.weights + p.bias
        return weights, bias

    # ----- persistence -------------------------------------------------------

    def to_document(self) -> NetworkDocument:
        """A validated copy of the architecture and parameters (rejects non-finite values)."""
        try:
            params = [LayerParams(weights=p.weights.copy(), bias=p.bias.copy()) for p in self.params]
        except ValidationError as error:
            raise ValueError(f"cannot store the network: {first_error(error)}") from None
        return NetworkDocument(layer_sizes=self.layer_sizes, activation=self.activation, head=self.head, params=params)

    @classmethod
    def from_document(cls, document: NetworkDocument) -> Network:
        """The network a validated ``NetworkDocument`` describes."""
        network = cls(document.layer_sizes, activation=document.activation, head=document.head)
        for live, stored in zip(network.params, document.params, strict=True):
            live.weights[...] = stored.weights
            live.bias[...] = stored.bias
        return network

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to ``path`` as one JSON document, atomically."""
        write_atomically(path, self.to_document().model_dump_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Network:
        """Read a network written by ``save``; anything else raises ``ValueError`` naming the file."""
        return cls.from_document(read_model(path, NetworkDocument))


# --------------------------------------------------------------------------- #
# 5. Training runs
# --------------------------------------------------------------------------- #


class TrainingSettings(BaseModel):
    """How a run trains, besides its optimizer (which carries its own settings and state)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    epochs: int = Field(ge=1)
    batch_size: int | None = Field(default=None, ge=1)
    l2: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    record_every: int = Field(default=1, ge=1)
    keep_gradients: int | None = Field(default=None, ge=1)
    patience: int | None = Field(default=None, ge=1)

    def records(self, epoch: int) -> bool:
        """Whether ``epoch`` is recorded: the first, every ``record_every``-th, and the last."""
        return epoch == 1 or epoch % self.record_every == 0 or epoch == self.epochs

    def keeps(self, epoch: int) -> bool:
        """Whether a recorded ``epoch`` keeps its full gradients: the first, the last, every ``keep_gradients``-th."""
        every = self.keep_gradients
        return every is not None and (epoch == 1 or epoch == self.epochs or epoch % every == 0)


class ArrayFingerprint(BaseModel):
    """An array's shape and the SHA-256 of its float64 bytes: enough to tell it from any other."""

    model_config = ConfigDict(frozen=True)

    shape: tuple[int, ...]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @classmethod
    def of(cls, array: FloatArray) -> Self:
        """The fingerprint of a validated float64 array."""
        return cls(shape=array.shape, sha256=hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest())

    def difference(self, other: ArrayFingerprint, name: str) -> str | None:
        """How ``other`` (given now, as ``name``) differs from this one (recorded), or ``None``."""
        if other.shape != self.shape:
            return f"{name} has shape {other.shape}, the checkpoint's had {self.shape}"
        if other.sha256 != self.sha256:
            return f"{name} has the checkpoint's shape {self.shape} but other values"
        return None


class DataFingerprint(BaseModel):
    """Fingerprints of a run's training and validation arrays, as the network sees them."""

    model_config = ConfigDict(frozen=True)

    inputs: ArrayFingerprint
    targets: ArrayFingerprint
    validation_inputs: ArrayFingerprint | None = None
    validation_targets: ArrayFingerprint | None = None

    def differences(self, other: DataFingerprint) -> list[str]:
        """What differs between this (recorded) data and ``other`` (given now), in words."""
        found: list[str] = []
        for name, mine, theirs in (
            ("X", self.inputs, other.inputs),
            ("y", self.targets, other.targets),
            ("validation_data X", self.validation_inputs, other.validation_inputs),
            ("validation_data y", self.validation_targets, other.validation_targets),
        ):
            if (mine is None) != (theirs is None):
                found.append(
                    f"{name} is {'missing' if theirs is None else 'given'}; the checkpoint's run had "
                    f"{'none' if mine is None else 'one'}"
                )
            elif mine is not None and theirs is not None and (difference := mine.difference(theirs, name)):
                found.append(difference)
        return found


class RandomState(BaseModel):
    """The position of a PCG64 generator, as ``Generator.bit_generator.state`` reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bit_generator: Literal["PCG64"]
    state: dict[Literal["state", "inc"], int]
    has_uint32: int = Field(ge=0, le=1)
    uinteger: int = Field(ge=0, lt=2**32)

    @model_validator(mode="after")
    def _a_generator_can_take_it(self) -> Self:
        if set(self.state) != {"state", "inc"} or not all(0 <= value < 2**128 for value in self.state.values()):
            raise ValueError(f"state: expected 'state' and 'inc' as integers in [0, 2**128), got {self.state}")
        return self

    def generator(self) -> np.random.Generator:
        """A generator at this position."""
        generator = np.random.default_rng()
        generator.bit_generator.state = self.model_dump()
        return generator


class TrainingCheckpoint(BaseModel):
    """Everything a `TrainingRun` needs to go on, as one JSON document.

    ``{"format": "glassnet.checkpoint", "version": 1, ...}``: the network, its generator's
    position, the optimizer with its state, the settings, the epochs done, the history, the
    best parameters so far (with patience) and a fingerprint of the data it trained on.
    """

    format: Literal["glassnet.checkpoint"] = "glassnet.checkpoint"
    version: Literal[1] = 1
    network: NetworkDocument
    random_state: RandomState
    optimizer: SavedOptimizer
    settings: TrainingSettings
    epochs_done: int = Field(ge=0)
    history: TrainingHistory
    best_val_loss: float | None = None
    best_parameters: Float64Vector | None = None
    data: DataFingerprint

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        if self.epochs_done > self.settings.epochs:
            raise ValueError(
                f"epochs_done: expected at most settings.epochs ({self.settings.epochs}), got {self.epochs_done}"
            )
        if self.history.records and self.history.records[-1].epoch > self.epochs_done:
            raise ValueError(
                f"history: records go to epoch {self.history.records[-1].epoch}, past epochs_done ({self.epochs_done})"
            )
        sizes = self.network.layer_sizes
        n_parameters = sum(i * o + o for i, o in itertools.pairwise(sizes))
        state = getattr(self.optimizer, "state", None)
        vectors = (
            []
            if state is None
            else [state.velocity]
            if isinstance(state, MomentumState)
            else [state.first_moment, state.second_moment]
        )
        if self.best_parameters is not None:
            vectors.append(self.best_parameters)
        if any(vector.shape != (n_parameters,) for vector in vectors):
            raise ValueError(f"optimizer, best_parameters: expected {n_parameters} entries, one per parameter")
        if (self.best_parameters is None) != (self.settings.patience is None or self.history.best_epoch is None):
            raise ValueError("best_parameters: expected them exactly when patience has seen a best epoch")
        return self


class TrainingRun:
    """A training run that can pause, be inspected, and go on, even after its process died.

    It owns what training needs beyond the network's parameters: the data (validated once,
    here), the settings, the optimizer and its state, the epochs done, the history and, for
    patience, the best parameters so far. Minibatch shuffles draw from the network's own
    generator, whose position a checkpoint stores. ``advance`` trains; ``save``/``load``
    write and read a `TrainingCheckpoint`. However a run is split into ``advance`` calls,
    and across a save and a load, it ends with the same bits as one uninterrupted
    ``advance()``. Its arguments are those of `Network.fit`.

    Step buffers, the minibatch buffers and the snapshots for divergence and update ratios
    live for one ``advance`` call: afterwards memory is back to what the parameters, the
    optimizer's state and the history need.
    """

    def __init__(
        self,
        network: Network,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        epochs: int = 150,
        learning_rate: float | None = None,
        batch_size: int | None = None,
        optimizer: OptimizerName | Optimizer = "sgd",
        l2: float = 0.0,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        patience: int | None = None,
        record_every: int = 1,
        keep_gradients: int | None = None,
    ) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network: expected a Network, got {type(network).__name__}")
        self.network = network
        self._X, self._Y = network._check_data(X, y)
        self.settings = TrainingSettings(
            epochs=positive_int(epochs, "epochs"),
            batch_size=None if batch_size is None else positive_int(batch_size, "batch_size"),
            l2=non_negative_number(l2, "l2"),
            record_every=positive_int(record_every, "record_every"),
            keep_gradients=None if keep_gradients is None else positive_int(keep_gradients, "keep_gradients"),
            patience=None if patience is None else positive_int(patience, "patience"),
        )
        self._validation = None if validation_data is None else network._check_validation(validation_data)
        if patience is not None and self._validation is None:
            raise ValueError("patience: expected validation_data to measure improvement on, got none")
        self.optimizer = _make_optimizer(optimizer, learning_rate)
        self.epochs_done = 0
        with np.errstate(over="ignore", invalid="ignore"):
            baseline = HEADS[network.head].baseline(self._Y)
        self.history = TrainingHistory(baseline_loss=baseline if math.isfinite(baseline) else None)
        self._best_val_loss = math.inf
        self._best_parameters = None if patience is None else np.empty_like(network._flat)
        self._fingerprint: DataFingerprint | None = None

    @property
    def finished(self) -> bool:
        """Whether every epoch has run, or patience has stopped the run."""
        return self.epochs_done >= self.settings.epochs or self.history.stopped_early

    @np.errstate(over="ignore", invalid="ignore")  # a diverging run is reported once, as TrainingDiverged
    def advance(
        self,
        epochs: int | None = None,
        *,
        verbose: bool = False,
        on_record: Callable[[EpochRecord], None] | None = None,
    ) -> TrainingHistory:
        """Train up to ``epochs`` more epochs (``None``: all that remain) and return the history so far.

        When the run finishes (its last epoch, or patience), the best parameters are restored
        if patience was set. ``verbose`` prints each record; ``on_record`` is called with each.

        Raises
        ------
        TrainingDiverged
            When a loss or a gradient's size becomes non-finite; the network keeps its last
            finite parameters, from which another ``advance`` would go on.
        """
        stop = self.settings.epochs
        if epochs is not None:
            stop = min(self.epochs_done + positive_int(epochs, "epochs"), stop)
        if self.finished:
            return self.history
        loop = _EpochLoop(self)
        try:
            for epoch in range(self.epochs_done + 1, stop + 1):
                record = loop.epoch(epoch)
                self.epochs_done = epoch
                if record is None:
                    continue
                if verbose:
                    print(_record_line(record), flush=True)
                if on_record is not None:
                    on_record(record)
                if self._patience_says_stop(record):
                    break
        finally:
            loop.release()
        if self.finished and self._best_parameters is not None and self.history.best_epoch is not None:
            np.copyto(self.network._flat, self._best_parameters)
        return self.history

    def _patience_says_stop(self, record: EpochRecord) -> bool:
        """Track the best validation loss; with patience, say when it has not improved for long enough."""
        history, patience = self.history, self.settings.patience
        if record.val_loss is not None and record.val_loss < self._best_val_loss:
            self._best_val_loss, history.best_epoch = record.val_loss, record.epoch
            if self._best_parameters is not None:
                np.copyto(self._best_parameters, self.network._flat)
            return False
        if patience is None or history.best_epoch is None or record.epoch - history.best_epoch < patience:
            return False
        history.stopped_early = record.epoch < self.settings.epochs  # stopping at the last epoch stops nothing
        return True

    # ----- checkpoints -------------------------------------------------------

    def _data_fingerprint(self) -> DataFingerprint:
        if self._fingerprint is None:
            validation = self._validation
            self._fingerprint = DataFingerprint(
                inputs=ArrayFingerprint.of(self._X),
                targets=ArrayFingerprint.of(self._Y),
                validation_inputs=None if validation is None else ArrayFingerprint.of(validation[0]),
                validation_targets=None if validation is None else ArrayFingerprint.of(validation[1]),
            )
        return self._fingerprint

    def checkpoint(self) -> TrainingCheckpoint:
        """Everything this run needs to go on, as a validated document."""
        optimizer = self.optimizer
        if not isinstance(optimizer, SGD | Momentum | Adam):
            raise TypeError(
                f"optimizer: only sgd, momentum and adam can be saved in a checkpoint, got {type(optimizer).__name__}"
            )
        keep_best = self._best_parameters is not None and self.history.best_epoch is not None
        return TrainingCheckpoint(
            network=self.network.to_document(),
            random_state=RandomState.model_validate(self.network._rng.bit_generator.state),
            optimizer=optimizer.model_copy(deep=True),
            settings=self.settings,
            epochs_done=self.epochs_done,
            history=self.history.model_copy(deep=True),
            best_val_loss=None if math.isinf(self._best_val_loss) else self._best_val_loss,
            best_parameters=self._best_parameters.copy() if keep_best and self._best_parameters is not None else None,
            data=self._data_fingerprint(),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the run's checkpoint to ``path`` as one JSON document, atomically."""
        write_atomically(path, self.checkpoint().model_dump_json())

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: TrainingCheckpoint,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        *,
        source: str = "checkpoint",
    ) -> TrainingRun:
        """The run ``checkpoint`` describes, going on with ``X``, ``y`` and ``validation_data``.

        The data must be what the run trained on (compared by fingerprint); otherwise a
        ``ValueError`` starting with ``source`` says what differs.
        """
        network = Network.from_document(checkpoint.network)
        settings = checkpoint.settings
        try:
            run = cls(
                network,
                X,
                y,
                epochs=settings.epochs,
                batch_size=settings.batch_size,
                optimizer=checkpoint.optimizer.model_copy(deep=True),
                l2=settings.l2,
                validation_data=validation_data,
                patience=settings.patience,
                record_every=settings.record_every,
                keep_gradients=settings.keep_gradients,
            )
        except (ValueError, TypeError) as error:
            raise type(error)(f"{source}: {error}") from None
        differences = checkpoint.data.differences(run._data_fingerprint())
        if differences:
            raise ValueError(f"{source}: the data differs from the data the run trained on: {'; '.join(differences)}")
        network._rng = checkpoint.random_state.generator()
        run.epochs_done = checkpoint.epochs_done
        run.history = checkpoint.history.model_copy(deep=True)
        run._best_val_loss = math.inf if checkpoint.best_val_loss is None else checkpoint.best_val_loss
        if run._best_parameters is not None and checkpoint.best_parameters is not None:
            np.copyto(run._best_parameters, checkpoint.best_parameters)
        return run

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    ) -> TrainingRun:
        """Read a checkpoint written by ``save`` and go on with the same data; errors name the file."""
        return cls.from_checkpoint(read_model(path, TrainingCheckpoint), X, y, validation_data, source=str(path))


def _make_optimizer(optimizer: OptimizerName | Optimizer, learning_rate: float | None) -> Optimizer:
    """An optimizer from a name (and a learning rate, or its default), or the object given, checked."""
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)} or an Optimizer, got {optimizer!r}")
        if learning_rate is None:
            return OPTIMIZERS[optimizer]()
        return OPTIMIZERS[optimizer](learning_rate=positive_number(learning_rate, "learning_rate"))
    if not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"optimizer: expected a name or an object with step(params, grads), got {optimizer!r}")
    if learning_rate is not None:
        raise ValueError("learning_rate: expected None when optimizer is an object (it has its own), got a value")
    return optimizer


def _record_line(record: EpochRecord) -> str:
    val = "" if record.val_loss is None else f"  val_loss {record.val_loss:.6g}"
    return f"epoch {record.epoch:>6}  loss {record.loss:.6g}{val}"


class _EpochLoop:
    """What one ``advance`` call works with: the step buffers per batch size, the minibatch buffers,
    and the parameter-sized snapshots for divergence and update ratios. ``release`` frees them all."""

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        network, n = run.network, run._X.shape[0]
        self.batch = n if run.settings.batch_size is None else min(run.settings.batch_size, n)
        self.buffers: dict[int, StepBuffers] = {}
        # the parameters at the first step of the epoch under way, once its loss proved finite
        self.last_finite = network._flat.copy()
        # a recorded epoch's last step: the parameters before it, then the squares of its gradients,
        # of those parameters and of its change, one row each
        self.measured = np.empty((3, network._flat.size))
        self.layer_of_parameter = network._layer_of_parameter()
        optimizer = run.optimizer
        self.step: Callable[[FloatArray, FloatArray], None]
        if isinstance(optimizer, SGD | Momentum | Adam):
            self.step = partial(optimizer.step, scratch=np.empty((OPTIMIZER_SCRATCH_ROWS, network._flat.size)))
        else:
            self.step = optimizer.step
        self.finite = np.empty(network._flat.shape, dtype=np.bool_)
        if self.batch < n:
            self.rows = np.arange(n)
            self.order = np.empty_like(self.rows)
            self.X_batch = np.empty((self.batch, run._X.shape[1]))
            self.Y_batch = np.empty((self.batch, run._Y.shape[1]))

    def buffers_for(self, rows: int) -> StepBuffers:
        """The step buffers for batches of ``rows`` rows, made the first time they are needed."""
        if rows not in self.buffers:
            self.buffers[rows] = self.run.network._buffers(rows)
        return self.buffers[rows]

    def release(self) -> None:
        """Free the buffers this loop made, and the optimizer's scratch."""
        self.buffers.clear()
        self.step = self.run.optimizer.step  # drops the scratch the built-in optimizers computed in

    def minibatches(self) -> Iterator[tuple[FloatArray, FloatArray]]:
        """One epoch's minibatches of ``X`` (n, n_in) and ``Y`` (n, n_out).

        Full batch yields the data itself. Otherwise the rows are put in a fresh random order
        (the network generator's ``permutation(n)``: a shuffle of ``arange(n)``) and each batch
        is gathered into one reused buffer, which stays small and warm in cache.
        """
        X, Y = self.run._X, self.run._Y
        if self.batch >= X.shape[0]:
            yield X, Y
            return
        np.copyto(self.order, self.rows)
        self.run.network._rng.shuffle(self.order)
        for start in range(0, X.shape[0], self.batch):
            rows = self.order[start : start + self.batch]
            # mode="clip": a permutation's indices are always valid, and the default "raise" buffers out=
            X_batch = np.take(X, rows, axis=0, out=self.X_batch[: rows.size], mode="clip")
            yield X_batch, np.take(Y, rows, axis=0, out=self.Y_batch[: rows.size], mode="clip")

    def epoch(self, epoch: int) -> EpochRecord | None:
        """Train one epoch; on a recorded epoch, return its record (and add it to the history)."""
        run, network = self.run, self.run.network
        recorded, flat, l2 = run.settings.records(epoch), network._flat, run.settings.l2
        n_steps = -(-run._X.shape[0] // self.batch)
        loss_sum, batch_loss, buffers = 0.0, 0.0, None
        for step, (X_batch, Y_batch) in enumerate(self.minibatches()):
            buffers = self.buffers_for(X_batch.shape[0])
            batch_loss = network._loss_and_gradients(X_batch, Y_batch, l2, buffers)
            if not math.isfinite(batch_loss):
                self.diverged(f"loss became {batch_loss} in epoch {epoch}")
            if step == 0:
                np.copyto(self.last_finite, flat)
            if recorded and step == n_steps - 1:
                np.copyto(self.measured[1], flat)
            self.step(flat, network._grads)
            loss_sum += batch_loss * X_batch.shape[0]
        if not np.isfinite(flat, out=self.finite).all():
            self.diverged(f"parameters became non-finite in epoch {epoch}")
        if not recorded or buffers is None:
            return None
        record = self.record(epoch, loss_sum / run._X.shape[0], batch_loss, buffers)
        run.history.records.append(record)
        return record

    def record(self, epoch: int, loss: float, last_loss: float, buffers: StepBuffers) -> EpochRecord:
        """The epoch's record, from what its last step left: gradients, derivatives, and the parameters before it."""
        run, network = self.run, self.run.network
        squares = self.measured  # rows: the gradients, the parameters before the step, the step's change
        np.subtract(network._flat, squares[1], out=squares[2])
        np.multiply(squares[1:], squares[1:], out=squares[1:])
        np.multiply(network._grads, network._grads, out=squares[0])
        grad_norms, before, change = np.sqrt(squares @ self.layer_of_parameter).tolist()
        # a layer that was all zeros before the step: 1 if the step made it, 0 if it left it
        update_ratios = [c / b if b > 0 else float(c > 0) for c, b in zip(change, before, strict=True)]
        dead_fractions = network._dead_fractions(buffers)
        gradients = network._gradient_record(last_loss) if run.settings.keeps(epoch) else None
        val_loss = None
        if run._validation is not None:
            X_val, Y_val = run._validation
            val_loss = network._loss(X_val, Y_val, run.settings.l2, self.buffers_for(X_val.shape[0]))
        if not all(map(math.isfinite, [*grad_norms, *before, *change, 0.0 if val_loss is None else val_loss])):
            self.diverged(f"a gradient, step or validation loss overflowed float64 in epoch {epoch}")
        return EpochRecord(
            epoch=epoch,
            loss=loss,
            val_loss=val_loss,
            grad_norms=grad_norms,
            update_ratios=update_ratios,
            dead_fractions=dead_fractions,
            gradients=gradients,
        )

    def diverged(self, what: str) -> None:
        """Restore the last parameters with a finite loss and raise `TrainingDiverged`."""
        np.copyto(self.run.network._flat, self.last_finite)
        raise TrainingDiverged(
            f"training diverged: {what}; parameters restored to the last ones with a finite loss "
            "(try a smaller learning_rate)",
            self.run.history,
        )


# --------------------------------------------------------------------------- #
# 6. Gradient check
# --------------------------------------------------------------------------- #


def gradient_check(
    net: Network,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    epsilon: float = 1e-6,
    l2: float = 0.0,
    tolerance: float = 1e-6,
) -> GradientCheckReport:
    """Compare ``net.gradients`` with central differences of ``net.loss``.

    Each parameter ``p`` is nudged to ``p +- epsilon``; the numeric gradient is
    ``(loss(p + epsilon) - loss(p - epsilon)) / (2 epsilon)``. The network is
    left exactly as it was.
    """
    epsilon = positive_number(epsilon, "epsilon")
    tolerance = non_negative_number(tolerance, "tolerance")
    analytic = net.gradients(X, y, l2=l2)
    X_checked, Y = net._check_data(X, y)
    buffers = net._buffers(X_checked.shape[0])
    flat = net._flat
    numeric_flat = np.empty_like(flat)
    for i in range(flat.size):
        original = flat[i]
        try:
            flat[i] = original + epsilon
            loss_plus = net._loss(X_checked, Y, l2, buffers)
            flat[i] = original - epsilon
            loss_minus = net._loss(X_checked, Y, l2, buffers)
        finally:
            flat[i] = original
        numeric_flat[i] = (loss_plus - loss_minus) / (2.0 * epsilon)
    numeric = GradientRecord(loss=analytic.loss, layers=net._layer_views(numeric_flat, LayerGradients))
    errors = []
    for a, b in zip(analytic.layers, numeric.layers, strict=True):
        for a_part, b_part in ((a.weights, b.weights), (a.bias, b.bias)):
            scale = np.linalg.norm(a_part) + np.linalg.norm(b_part)
            errors.append(float(np.linalg.norm(a_part - b_part) / scale) if scale > 0 else 0.0)
    return GradientCheckReport(analytic=analytic, numeric=numeric, epsilon=epsilon, tolerance=tolerance, errors=errors)


__all__ = [
    "ACTIVATIONS",
    "HEADS",
    "SGD",
    "Activation",
    "ActivationFunction",
    "Adam",
    "AdamState",
    "ArrayFingerprint",
    "ArrayMaker",
    "DataFingerprint",
    "Diagnosis",
    "EpochRecord",
    "Finding",
    "GradientCheckReport",
    "GradientRecord",
    "Head",
    "HeadFunction",
    "LayerBuffers",
    "LayerGradients",
    "LayerParams",
    "Momentum",
    "MomentumState",
    "Network",
    "NetworkDocument",
    "Optimizer",
    "RandomState",
    "StepBuffers",
    "TrainingCheckpoint",
    "TrainingDiverged",
    "TrainingHistory",
    "TrainingRun",
    "TrainingSettings",
    "gradient_check",
    "register_activation",
]
