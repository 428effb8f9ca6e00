"""glassnet: a typed, NumPy-only dense network whose every gradient can be seen.

Read top to bottom:

1. Tables: hidden activations and output heads, one registry each.
2. Typed records: ``LayerParams``, ``LayerGradients``, ``GradientRecord``,
   ``TrainingHistory``, ``GradientCheckReport``, the file document.
3. Optimizers: SGD, momentum and Adam, each updating one flat vector in place.
4. ``Network``: validation at the boundary, forward, backward, fit, persistence.
5. ``gradient_check``: analytic gradients against central differences.

Conventions: float64 throughout; ``X`` is ``(n_samples, n_features)``; a layer
computes ``Z = A_prev @ W + b`` and ``A = f(Z)``. All parameters live in one
flat vector (every layer's weights, then every layer's biases); the arrays in
``Network.params`` are views into it, so an optimizer step is one vector update
and a snapshot is one copy.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, model_validator
from tabulate import tabulate

from glassnet_guards import (
    Float64Matrix,
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

FloatArray = npt.NDArray[np.float64]

Activation = Literal["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
Head = Literal["identity", "sigmoid", "softmax"]
Init = Literal["xavier", "he", "normal"]
OptimizerName = Literal["sgd", "momentum", "adam"]

LEAKY_RELU_SLOPE = 0.01


# --------------------------------------------------------------------------- #
# 1. Tables
# --------------------------------------------------------------------------- #


def _sigmoid(z: FloatArray) -> FloatArray:
    """Logistic function without overflow: ``exp`` only ever sees ``-|z|``."""
    e = np.exp(-np.abs(z))
    result: FloatArray = np.where(z >= 0, 1.0, e) / (1.0 + e)
    return result


def _softmax(z: FloatArray) -> FloatArray:
    """Row-wise softmax of ``z`` (n, k); shifting by the row maximum keeps ``exp <= 1``."""
    e: FloatArray = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def _logsumexp(z: FloatArray) -> FloatArray:
    """Row-wise ``log(sum(exp(z)))`` of ``z`` (n, k) -> (n,), exact for large logits."""
    top = z.max(axis=1)
    result: FloatArray = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return result


Derivative = npt.NDArray[np.float64] | npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ActivationFunction:
    """A hidden activation: ``function(z) -> a`` and ``derivative(z, a) -> f'(z)``.

    The derivative receives both the pre-activation and the cached output, so
    it can use whichever is cheaper; it may return a boolean mask where f' is 0
    or 1 (relu), which multiplies the delta without a float copy. ``None`` means
    ``f'(z) = 1`` (the delta passes through unchanged).
    """

    function: Callable[[FloatArray], FloatArray]
    derivative: Callable[[FloatArray, FloatArray], Derivative] | None


ACTIVATIONS: dict[str, ActivationFunction] = {
    "identity": ActivationFunction(lambda z: z, None),
    "relu": ActivationFunction(lambda z: np.maximum(z, 0.0), lambda z, a: z > 0),
    "leaky_relu": ActivationFunction(
        lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
        lambda z, a: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
    ),
    "sigmoid": ActivationFunction(_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": ActivationFunction(np.tanh, lambda z, a: 1.0 - a * a),
}


def register_activation(
    name: str,
    function: Callable[[FloatArray], FloatArray],
    derivative: Callable[[FloatArray, FloatArray], Derivative],
) -> None:
    """Add a hidden activation usable as ``Network(..., activation=name)``.

    Parameters
    ----------
    name : str
        New name; the built-in names cannot be replaced.
    function : callable
        ``z (n, k) -> a (n, k)``.
    derivative : callable
        ``(z, a) -> f'(z)``, both ``(n, k)``.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    if name in ACTIVATIONS:
        raise ValueError(f"name: expected a new activation name, got {name!r}, which is already registered")
    if not callable(function) or not callable(derivative):
        raise TypeError("function, derivative: expected two callables")
    ACTIVATIONS[name] = ActivationFunction(function, derivative)


def _mse(z: FloatArray, a: FloatArray, y: FloatArray) -> float:
    """Mean over samples and outputs of ``(a - y)**2``."""
    diff = a - y
    return float(np.vdot(diff, diff)) / diff.size


def _binary_cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray) -> float:
    """Mean BCE from the logits: ``log(1 + e^z) - y z`` never takes ``log(0)``."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def _cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray) -> float:
    """Mean categorical cross-entropy from the logits: ``logsumexp(z) - sum(y z)``."""
    return float(np.mean(_logsumexp(z) - np.einsum("ij,ij->i", y, z)))


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
    values = np.unique(y)
    shown = ", ".join(f"{v:g}" for v in values[:5])
    return f"{{{shown}{', ...' if values.size > 5 else ''}}}"


@dataclass(frozen=True)
class HeadFunction:
    """An output head with its matching loss (the canonical link).

    ``output(z) -> a``; ``loss(z, a, y) -> float`` is a mean over samples;
    ``targets(y, n_out) -> (n, n_out)`` checks a float64 label array and returns
    the target matrix. With the canonical link, ``d loss / d z`` is
    ``(a - y) * delta_factor(n_out) / n`` for every head.
    """

    loss_name: str
    output: Callable[[FloatArray], FloatArray]
    loss: Callable[[FloatArray, FloatArray, FloatArray], float]
    targets: Callable[[FloatArray, int], FloatArray]
    delta_factor: Callable[[int], float]
    min_outputs: int
    max_outputs: int | None


HEADS: dict[str, HeadFunction] = {
    "identity": HeadFunction("mean squared error", lambda z: z, _mse, _real_targets, lambda k: 2.0 / k, 1, None),
    "sigmoid": HeadFunction(
        "binary cross-entropy", _sigmoid, _binary_cross_entropy, _binary_targets, lambda k: 1.0, 1, 1
    ),
    "softmax": HeadFunction("cross-entropy", _softmax, _cross_entropy, _categorical_targets, lambda k: 1.0, 2, None),
}


# --------------------------------------------------------------------------- #
# 2. Typed records
# --------------------------------------------------------------------------- #


class _WeightsAndBias(BaseModel):
    """A layer's ``weights`` (n_in, n_out) and ``bias`` (n_out,), float64 and finite."""

    model_config = ConfigDict(frozen=True)

    weights: Float64Matrix
    bias: Float64Vector

    @model_validator(mode="after")
    def _shapes_and_values(self) -> Self:
        name = type(self).__name__
        if self.weights.shape[1] != self.bias.shape[0]:
            raise ValueError(
                f"{name}: expected bias length equal to the weights' columns ({self.weights.shape[1]}), "
                f"got {self.bias.shape[0]}"
            )
        if self.weights.size == 0:
            raise ValueError(f"{name}: expected non-empty weights, got shape {self.weights.shape}")
        if not (np.isfinite(self.weights).all() and np.isfinite(self.bias).all()):
            raise ValueError(f"{name}: expected finite values, got NaN or infinity")
        return self

    @property
    def norm(self) -> float:
        """Euclidean norm of weights and bias together."""
        return math.hypot(float(np.linalg.norm(self.weights)), float(np.linalg.norm(self.bias)))


class LayerParams(_WeightsAndBias):
    """One layer's parameters: ``weights`` (n_in, n_out), ``bias`` (n_out,).

    In ``Network.params`` the arrays are live views of the network's
    parameters: change them in place (``p.weights[...] = ...``).
    """


class LayerGradients(_WeightsAndBias):
    """``d loss / d weights`` (n_in, n_out) and ``d loss / d bias`` (n_out,) of one layer."""


LayerT = TypeVar("LayerT", bound=_WeightsAndBias)


def _layer_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", floatfmt=".6g")


class GradientRecord(BaseModel):
    """One backward pass: the ``loss`` it started from and each layer's gradients."""

    loss: float
    layers: list[LayerGradients]

    @property
    def norms(self) -> list[float]:
        """Per-layer gradient norm (weights and bias together)."""
        return [layer.norm for layer in self.layers]

    def table(self) -> str:
        """Shapes and norms per layer, as a tabulate string."""
        rows = [
            (i, layer.weights.shape, np.linalg.norm(layer.weights), np.linalg.norm(layer.bias))
            for i, layer in enumerate(self.layers, start=1)
        ]
        return _layer_table(["layer", "weights shape", "|dW|", "|db|"], rows)


class EpochRecord(BaseModel):
    """One row of a training history.

    ``loss`` is the mean training loss over the epoch's minibatches, each
    measured before its update; ``val_loss`` is measured after the epoch;
    ``grad_norms`` are the per-layer gradient norms at the epoch's last step.
    Losses include the ``l2`` penalty, like ``Network.loss``.
    """

    epoch: int
    loss: float
    val_loss: float | None
    grad_norms: list[float]


class TrainingHistory(BaseModel):
    """Recorded epochs of one ``fit`` call, plus how it ended."""

    records: list[EpochRecord] = Field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded epoch, indexed by ``epoch``; ``val_loss`` is NaN without validation data;
        a ``grad_norm_<layer>`` column per layer."""
        n_layers = len(self.records[0].grad_norms) if self.records else 0
        columns = ["epoch", "loss", "val_loss", *(f"grad_norm_{i}" for i in range(1, n_layers + 1))]
        rows = [[r.epoch, r.loss, math.nan if r.val_loss is None else r.val_loss, *r.grad_norms] for r in self.records]
        return pd.DataFrame(rows, columns=columns).set_index("epoch")

    def table(self) -> str:
        """The epoch/loss table as a tabulate grid (no ``val_loss`` column when there was none)."""
        frame = self.to_frame()
        if frame["val_loss"].isna().all():
            frame = frame.drop(columns="val_loss")
        frame = frame.reset_index()
        return tabulate(frame.itertuples(index=False), headers=list(frame.columns), tablefmt="grid", floatfmt=".6g")


class GradientCheckReport(BaseModel):
    """Analytic gradients against central differences, per parameter array.

    ``errors[i] = ||analytic - numeric|| / (||analytic|| + ||numeric||)``
    (0 when both are 0) for every layer's weights and bias, in that order.
    """

    analytic: GradientRecord
    numeric: GradientRecord
    epsilon: float
    tolerance: float
    errors: list[float]

    @property
    def max_relative_error(self) -> float:
        """The largest relative error over all parameter arrays."""
        return max(self.errors)

    @property
    def passed(self) -> bool:
        """Whether every relative error is at most ``tolerance``."""
        return self.max_relative_error <= self.tolerance

    def table(self) -> str:
        """Norms and relative error per layer and parameter array."""
        rows: list[tuple[object, ...]] = []
        for i, (a, n) in enumerate(zip(self.analytic.layers, self.numeric.layers, strict=True), start=1):
            for name, a_part, n_part in (("weights", a.weights, n.weights), ("bias", a.bias, n.bias)):
                error = self.errors[len(rows)]
                verdict = "ok" if error <= self.tolerance else "MISMATCH"
                rows.append((i, name, np.linalg.norm(a_part), np.linalg.norm(n_part), error, verdict))
        return _layer_table(["layer", "array", "|analytic|", "|numeric|", "relative error", ""], rows)


class TrainingDiverged(ArithmeticError):
    """The training loss became non-finite.

    ``history`` holds the epochs recorded so far; the network is restored to
    the last parameters that gave a finite loss (those at the first step of
    the diverging epoch, or of the epoch before when that step diverged).
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


# --------------------------------------------------------------------------- #
# 3. Optimizers: each updates the flat parameter vector in place
# --------------------------------------------------------------------------- #


class Optimizer(Protocol):
    """Anything with ``step(params, grads)`` that updates ``params`` (p,) in place."""

    def step(self, params: FloatArray, grads: FloatArray) -> None: ...


class SGD(BaseModel):
    """Plain gradient descent: ``p -= learning_rate * g``."""

    learning_rate: PositiveFloat = 0.05

    def step(self, params: FloatArray, grads: FloatArray) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,)."""
        params -= self.learning_rate * grads


class MomentumState(BaseModel):
    """The velocity of ``Momentum``, one entry per parameter."""

    velocity: Float64Vector


class Momentum(BaseModel):
    """Heavy-ball momentum, PyTorch's convention: ``v = momentum v + g; p -= learning_rate v``."""

    learning_rate: PositiveFloat = 0.01
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    state: MomentumState | None = None

    def step(self, params: FloatArray, grads: FloatArray) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,)."""
        if self.state is None:
            self.state = MomentumState(velocity=np.zeros_like(params))
        velocity = self.state.velocity
        velocity *= self.momentum
        velocity += grads
        params -= self.learning_rate * velocity


class AdamState(BaseModel):
    """Adam's step count and bias-uncorrected moment estimates."""

    step: int
    first_moment: Float64Vector
    second_moment: Float64Vector


class Adam(BaseModel):
    """Adam with PyTorch's betas, eps and bias correction.

    The default learning rate is 0.01 rather than PyTorch's 0.001: glassnet trains
    full batch by default, one step per epoch, where 0.001 needs ten times the epochs.
    """

    learning_rate: PositiveFloat = 0.01
    beta1: float = Field(default=0.9, ge=0.0, lt=1.0)
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0)
    eps: PositiveFloat = 1e-8
    state: AdamState | None = None

    def step(self, params: FloatArray, grads: FloatArray) -> None:
        """Update ``params`` (p,) in place from ``grads`` (p,)."""
        if self.state is None:
            self.state = AdamState(step=0, first_moment=np.zeros_like(params), second_moment=np.zeros_like(params))
        state = self.state
        state.step += 1
        m, v = state.first_moment, state.second_moment
        m *= self.beta1
        m += (1.0 - self.beta1) * grads
        v *= self.beta2
        v += (1.0 - self.beta2) * grads * grads
        step_size = self.learning_rate / (1.0 - self.beta1**state.step)
        denominator = np.sqrt(v / (1.0 - self.beta2**state.step))
        denominator += self.eps
        params -= step_size * m / denominator


OPTIMIZERS: dict[str, type[SGD] | type[Momentum] | type[Adam]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


# --------------------------------------------------------------------------- #
# 4. The network
# --------------------------------------------------------------------------- #


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
        segment_sizes = [i * o for i, o in self.shapes] + self.layer_sizes[1:]
        self._segment_starts = np.cumsum([0, *segment_sizes[:-1]])
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

    def _layer_norms(self, flat: FloatArray) -> list[float]:
        """Per-layer norm (weights and bias together) of a flat vector (p,), in one pass.

        The same numbers as ``[layer.norm for layer in ...]``, without a Python loop
        over arrays: this runs on every recorded epoch.
        """
        segment_sums = np.add.reduceat(flat * flat, self._segment_starts)
        n_layers = len(self.layer_sizes) - 1
        norms: list[float] = np.sqrt(segment_sums[:n_layers] + segment_sums[n_layers:]).tolist()
        return norms

    def _layer_views(self, flat: FloatArray, kind: type[LayerT]) -> list[LayerT]:
        """Per-layer ``kind`` records viewing ``flat`` (p,): every layer's weights first, then every bias."""
        views: list[LayerT] = []
        w_at, b_at = 0, self._n_weights
        for n_in, n_out in self.shapes:
            weights = flat[w_at : w_at + n_in * n_out].reshape(n_in, n_out)
            views.append(kind(weights=weights, bias=flat[b_at : b_at + n_out]))
            w_at, b_at = w_at + n_in * n_out, b_at + n_out
        return views

    def __repr__(self) -> str:
        return (
            f"Network({self.layer_sizes}, activation={self.activation!r}, head={self.head!r}, "
            f"n_parameters={self.n_parameters})"
        )

    # ----- validation at the boundary ----------------------------------------

    def _check_inputs(self, X: object, name: str = "X") -> FloatArray:
        """``X`` (n, n_in) as a C-contiguous float64 array, or the error that names what is wrong with it.

        The messages for empty arrays and a wrong width are worded as scikit-learn's, so the
        estimators in ``glassnet_sklearn`` pass its checks on glassnet's own validation.
        """
        array = float_array(X, name)
        n_in = self.layer_sizes[0]
        if array.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D array (n_samples, {n_in}), got shape {array.shape}")
        for axis, what in ((0, "sample"), (1, "feature")):
            if array.shape[axis] == 0:
                raise ValueError(
                    f"{name}: found array with 0 {what}(s) (shape={array.shape}) while a minimum of 1 is required"
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

    # ----- the math ----------------------------------------------------------

    def _forward(self, X: FloatArray) -> tuple[list[FloatArray], list[FloatArray]]:
        """Pre-activations ``Z`` and outputs ``A`` of every layer; ``A[0]`` is ``X``."""
        hidden = ACTIVATIONS[self.activation].function
        pre_activations: list[FloatArray] = []
        outputs = [X]
        last = len(self.params) - 1
        for i, p in enumerate(self.params):
            z = outputs[-1] @ p.weights
            z += p.bias
            pre_activations.append(z)
            outputs.append(HEADS[self.head].output(z) if i == last else hidden(z))
        return pre_activations, outputs

    def _penalty(self, l2: float) -> float:
        weights = self._flat[: self._n_weights]
        return 0.5 * l2 * float(np.vdot(weights, weights)) if l2 else 0.0

    def _loss_and_gradients(self, X: FloatArray, Y: FloatArray, l2: float) -> float:
        """Forward and backward on one batch; gradients land in ``self._grads``. Returns the loss."""
        spec = HEADS[self.head]
        pre_activations, outputs = self._forward(X)
        loss = spec.loss(pre_activations[-1], outputs[-1], Y) + self._penalty(l2)
        delta = outputs[-1] - Y
        delta *= spec.delta_factor(Y.shape[1]) / Y.shape[0]
        derivative = ACTIVATIONS[self.activation].derivative
        ones = np.ones(X.shape[0])  # db = 1^T delta: a matrix product is much faster than sum(axis=0) here
        for i in range(len(self.params) - 1, -1, -1):
            grad = self._grad_views[i]
            np.matmul(outputs[i].T, delta, out=grad.weights)
            np.matmul(ones, delta, out=grad.bias)
            if i > 0:
                delta = delta @ self.params[i].weights.T
                if derivative is not None:
                    delta *= derivative(pre_activations[i - 1], outputs[i])
        if l2:
            n_weights = self._n_weights
            self._grads[:n_weights] += l2 * self._flat[:n_weights]
        return loss

    def _loss(self, X: FloatArray, Y: FloatArray, l2: float) -> float:
        pre_activations, outputs = self._forward(X)
        return HEADS[self.head].loss(pre_activations[-1], outputs[-1], Y) + self._penalty(l2)

    # ----- public API --------------------------------------------------------

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Network output (n, n_out) with the head applied: probabilities for classifiers."""
        return self._forward(self._check_inputs(X))[1][-1]

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Identity head: ``forward(X)`` (n, n_out). Classifiers: integer labels (n,)."""
        X_checked = self._check_inputs(X)
        pre_activations, outputs = self._forward(X_checked)
        if self.head == "identity":
            return outputs[-1]
        logits = pre_activations[-1]
        labels: npt.NDArray[np.int64] = (
            (logits[:, 0] > 0).astype(np.int64) if self.head == "sigmoid" else logits.argmax(axis=1)
        )
        return labels

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """R^2 (averaged over outputs) for the identity head, accuracy for classifiers."""
        X_checked, Y = self._check_data(X, y)
        if self.head == "identity":
            prediction = self._forward(X_checked)[1][-1]
            residual = ((Y - prediction) ** 2).sum(axis=0)
            total = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
            # a constant target has no variance to explain: 1 for an exact fit, else 0 (as scikit-learn)
            constant = np.where(residual == 0, 1.0, 0.0)
            r2 = np.divide(residual, total, out=np.ones_like(total), where=total > 0)
            return float(np.mean(np.where(total > 0, 1.0 - r2, constant)))
        labels = Y[:, 0] if self.head == "sigmoid" else np.argmax(Y, axis=1)
        return float(np.mean(self.predict(X_checked) == labels))

    def loss(self, X: npt.ArrayLike, y: npt.ArrayLike, *, l2: float = 0.0) -> float:
        """Mean loss of the head over ``X`` (n, n_in), plus ``(l2 / 2) * sum(W**2)``."""
        X_checked, Y = self._check_data(X, y)
        return self._loss(X_checked, Y, non_negative_number(l2, "l2"))

    def gradients(self, X: npt.ArrayLike, y: npt.ArrayLike, *, l2: float = 0.0) -> GradientRecord:
        """One backward pass over all of ``X``: the loss and a copy of every layer's gradients."""
        X_checked, Y = self._check_data(X, y)
        loss = self._loss_and_gradients(X_checked, Y, non_negative_number(l2, "l2"))
        layers = [LayerGradients(weights=g.weights.copy(), bias=g.bias.copy()) for g in self._grad_views]
        return GradientRecord(loss=loss, layers=layers)

    @np.errstate(over="ignore", invalid="ignore")  # a diverging run is reported once, as TrainingDiverged
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
        verbose: bool = False,
        on_record: Callable[[EpochRecord], None] | None = None,
    ) -> TrainingHistory:
        """Train by minibatch gradient descent and return the recorded history.

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
        verbose : bool
            Print each record as it is made.
        on_record : callable, optional
            Called with each ``EpochRecord`` as it is made.

        Raises
        ------
        TrainingDiverged
            When a loss becomes non-finite; the network keeps its last finite parameters.
        """
        X_train, Y_train = self._check_data(X, y)
        epochs = positive_int(epochs, "epochs")
        record_every = positive_int(record_every, "record_every")
        l2 = non_negative_number(l2, "l2")
        n = X_train.shape[0]
        batch = n if batch_size is None else min(positive_int(batch_size, "batch_size"), n)
        validation = None if validation_data is None else self._check_validation(validation_data)
        if patience is not None:
            patience = positive_int(patience, "patience")
            if validation is None:
                raise ValueError("patience: expected validation_data to measure improvement on, got none")
        stepper = self._optimizer(optimizer, learning_rate)

        history = TrainingHistory()
        last_finite = self._flat.copy()  # refreshed at each epoch's first step, once its loss proved finite
        best_params, best_loss = None, math.inf
        for epoch in range(1, epochs + 1):
            loss_sum = 0.0
            for step, (X_batch, Y_batch) in enumerate(self._minibatches(X_train, Y_train, batch)):
                batch_loss = self._loss_and_gradients(X_batch, Y_batch, l2)
                if not math.isfinite(batch_loss):
                    self._diverged(last_finite, history, f"loss became {batch_loss} in epoch {epoch}")
                if step == 0:
                    np.copyto(last_finite, self._flat)
                stepper.step(self._flat, self._grads)
                loss_sum += batch_loss * X_batch.shape[0]
            if not np.isfinite(self._flat).all():
                self._diverged(last_finite, history, f"parameters became non-finite in epoch {epoch}")
            if epoch % record_every and epoch not in (1, epochs):
                continue
            val_loss = None if validation is None else self._loss(*validation, l2)
            record = EpochRecord(
                epoch=epoch, loss=loss_sum / n, val_loss=val_loss, grad_norms=self._layer_norms(self._grads)
            )
            history.records.append(record)
            if verbose:
                print(self._record_line(record), flush=True)
            if on_record is not None:
                on_record(record)
            if val_loss is not None and val_loss < best_loss:
                best_params, best_loss, history.best_epoch = self._flat.copy(), val_loss, epoch
            elif patience is not None and history.best_epoch is not None and epoch - history.best_epoch >= patience:
                history.stopped_early = True
                break
        if patience is not None and best_params is not None:
            np.copyto(self._flat, best_params)
        return history

    def _minibatches(self, X: FloatArray, Y: FloatArray, batch: int) -> Iterator[tuple[FloatArray, FloatArray]]:
        """One epoch's minibatches of ``X`` (n, n_in) and ``Y`` (n, n_out), ``batch`` rows each.

        Full batch yields the data itself. Otherwise the rows are put in a fresh
        random order and each batch is gathered into one reused buffer, which stays
        small and warm in cache however large the data is.
        """
        n = X.shape[0]
        if batch >= n:
            yield X, Y
            return
        order = self._rng.permutation(n)
        X_buffer, Y_buffer = np.empty((batch, X.shape[1])), np.empty((batch, Y.shape[1]))
        for start in range(0, n, batch):
            rows = order[start : start + batch]
            # mode="clip": a permutation's indices are always valid, and the default "raise" buffers out=
            X_batch = np.take(X, rows, axis=0, out=X_buffer[: rows.size], mode="clip")
            yield X_batch, np.take(Y, rows, axis=0, out=Y_buffer[: rows.size], mode="clip")

    def _check_validation(self, validation_data: object) -> tuple[FloatArray, FloatArray]:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise ValueError(f"validation_data: expected a pair (X_val, y_val), got {type(validation_data).__name__}")
        X_val, y_val = validation_data
        return self._check_data(X_val, y_val, names=("validation_data X", "validation_data y"))

    @staticmethod
    def _optimizer(optimizer: OptimizerName | Optimizer, learning_rate: float | None) -> Optimizer:
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

    def _diverged(self, last_finite: FloatArray, history: TrainingHistory, what: str) -> None:
        np.copyto(self._flat, last_finite)
        raise TrainingDiverged(
            f"training diverged: {what}; parameters restored to the last ones with a finite loss "
            "(try a smaller learning_rate)",
            history,
        )

    @staticmethod
    def _record_line(record: EpochRecord) -> str:
        val = "" if record.val_loss is None else f"  val_loss {record.val_loss:.6g}"
        return f"epoch {record.epoch:>6}  loss {record.loss:.6g}{val}"

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
# 5. Gradient check
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
    flat = net._flat
    numeric_flat = np.empty_like(flat)
    for i in range(flat.size):
        original = flat[i]
        try:
            flat[i] = original + epsilon
            loss_plus = net._loss(X_checked, Y, l2)
            flat[i] = original - epsilon
            loss_minus = net._loss(X_checked, Y, l2)
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
    "EpochRecord",
    "GradientCheckReport",
    "GradientRecord",
    "Head",
    "HeadFunction",
    "LayerGradients",
    "LayerParams",
    "Momentum",
    "MomentumState",
    "Network",
    "NetworkDocument",
    "Optimizer",
    "TrainingDiverged",
    "TrainingHistory",
    "gradient_check",
    "read_model",
    "register_activation",
    "write_atomically",
]
