"""The hidden activations and the output heads, one table each.

An activation is a pair of functions on arrays: ``forward(z, layer)`` writes ``f(z)`` into
the layer's buffers (``layer.a``, computing in ``layer.scratch`` if it needs to), and
``derivative(z, a, out)`` writes ``f'(z)`` into ``out``, from the pre-activation ``z`` or the
output ``a``, whichever is cheaper. Every array is (n, k) and made beforehand, so a training
step allocates nothing. Each reproduces, operation for operation, the expression in its
docstring, in the fastest form NumPy has for it: relu compares with an array of zeros, not the
scalar 0 (whose loop is slower), and every derivative is float64, so that multiplying the
delta by it needs no cast.

A head is the output layer's function and its loss (the canonical link): for every head
``d loss / d z = (a - y) * delta_factor(n_out) / n``. Sigmoid, softmax and both
cross-entropies are computed from the logits, so ``exp`` never overflows and ``log`` never
sees 0. ``register_activation`` adds an activation; the heads are fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from glassnet.buffers import LayerBuffers, StepBuffers
from glassnet.fields import BoolArray, FloatArray
from glassnet.health import UnitCounts, below_threshold, relu_alive
from glassnet.rules import flag, positive_number

Activation = Literal["identity", "relu", "leaky_relu", "sigmoid", "tanh"]
Head = Literal["identity", "sigmoid", "softmax"]

LEAKY_RELU_SLOPE = 0.01


# --------------------------------------------------------------------------- #
# Hidden activations
# --------------------------------------------------------------------------- #


def _relu(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``max(z, 0)``."""
    return np.maximum(z, layer.zeros, out=layer.a)


def _relu_derivative(z: FloatArray, a: FloatArray, out: FloatArray) -> FloatArray:
    """``z > 0`` as 1.0 or 0.0 (0 at 0)."""
    return np.greater(z, 0.0, out=out)


def _leaky_relu(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``max(z, 0.01 z)``: ``z`` where it is positive, ``0.01 z`` elsewhere."""
    slope_z = np.multiply(z, LEAKY_RELU_SLOPE, out=layer.a)
    return np.maximum(z, slope_z, out=layer.a)


def _leaky_relu_derivative(z: FloatArray, a: FloatArray, out: FloatArray) -> FloatArray:
    """``max(z > 0, 0.01)``: 1 where ``z`` is positive, 0.01 elsewhere."""
    positive = np.greater(z, 0.0, out=out)
    return np.maximum(positive, LEAKY_RELU_SLOPE, out=out)


def _sigmoid(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``max(z >= 0, e) / (1 + e)`` with ``e = exp(-|z|)``: 1 or ``e`` over ``1 + e``, and ``exp``
    never sees a positive number (``e <= 1``, so the maximum picks 1 exactly where ``z >= 0``).
    The hidden activation and the sigmoid head."""
    scratch = layer.scratch
    e = np.exp(np.negative(np.abs(z, out=scratch), out=scratch), out=scratch)
    numerator = np.maximum(np.greater_equal(z, 0.0, out=layer.a), e, out=layer.a)
    e += 1.0
    numerator /= e
    return numerator


def _sigmoid_derivative(z: FloatArray, a: FloatArray, out: FloatArray) -> FloatArray:
    """``a (1 - a)``."""
    slopes = np.subtract(1.0, a, out=out)
    slopes *= a
    return slopes


def _tanh(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """``tanh(z)``."""
    return np.tanh(z, out=layer.a)


def _tanh_derivative(z: FloatArray, a: FloatArray, out: FloatArray) -> FloatArray:
    """``1 - a a``."""
    squares = np.multiply(a, a, out=out)
    return np.subtract(1.0, squares, out=squares)


@dataclass(frozen=True)
class ActivationFunction:
    """A hidden activation: ``forward(z, layer) -> f(z)``, into ``layer.a``, and ``derivative(z, a, out) -> f'(z)``.

    All arrays are (n, k). ``forward=None`` means ``f(z) = z``: the output is the pre-activation
    itself. ``derivative=None`` means ``f'(z) = 1``: the delta passes through.
    ``max_derivative`` is the largest value f' can take (relu 1, sigmoid 0.25): a unit-row pair passes
    gradient when its derivative reaches ``DEAD_DERIVATIVE_SHARE`` of it, and a unit that passes on none
    of the rows counted is dead (`glassnet.health`). Each activation says how to tell, and what its blocked
    pairs are:

    - ``blocks(f', threshold, out) -> (n, k)``: True for the pairs that pass no gradient;
    - ``alive(counts, buffers, first)``: a faster test for an activation whose blocked pairs have ``f'``
      exactly 0 (relu): it marks in the `UnitCounts` the units that passed on some row (see
      `glassnet.health.relu_alive`) and is used instead of ``blocks``. With neither, every pair passes
      (leaky relu's 0.01, identity's 1);
    - ``saturates``: the blocked pairs are the flat tails of an S-curve (sigmoid, tanh), counted as saturated.
    """

    forward: Callable[[FloatArray, LayerBuffers], FloatArray] | None
    derivative: Callable[[FloatArray, FloatArray, FloatArray], FloatArray] | None
    max_derivative: float = 1.0
    blocks: Callable[[FloatArray, float, BoolArray], BoolArray] | None = below_threshold
    alive: Callable[[UnitCounts, StepBuffers, bool], None] | None = None
    saturates: bool = False


ACTIVATIONS: dict[str, ActivationFunction] = {
    "identity": ActivationFunction(None, None, blocks=None),
    "relu": ActivationFunction(_relu, _relu_derivative, blocks=None, alive=relu_alive),
    "leaky_relu": ActivationFunction(_leaky_relu, _leaky_relu_derivative, blocks=None),  # f' >= 0.01: never blocked
    "sigmoid": ActivationFunction(_sigmoid, _sigmoid_derivative, max_derivative=0.25, saturates=True),
    "tanh": ActivationFunction(_tanh, _tanh_derivative, saturates=True),
}


def register_activation(
    name: str,
    function: Callable[[FloatArray], FloatArray],
    derivative: Callable[[FloatArray, FloatArray], FloatArray],
    *,
    max_derivative: float = 1.0,
    saturates: bool = False,
) -> None:
    """Add a hidden activation usable as ``Network(..., activation=name)``.

    Parameters
    ----------
    name : str
        New name; the built-in names cannot be replaced.
    function : callable
        ``z (n, k) -> a (n, k)``, as a new array.
    derivative : callable
        ``(z, a) -> f'(z)``, all (n, k).
    max_derivative : float
        The largest value ``f'`` takes, for the unit-health measures of the training records.
    saturates : bool
        Whether ``f`` flattens out on both sides, like tanh: its blocked unit-row pairs count as saturated.
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name: expected a non-empty string, got {name!r}")
    if name in ACTIVATIONS:
        raise ValueError(f"name: expected a new activation name, got {name!r}, which is already registered")
    if not callable(function) or not callable(derivative):
        raise TypeError("function, derivative: expected two callables")
    max_derivative = positive_number(max_derivative, "max_derivative")
    saturates = flag(saturates, "saturates")

    def forward(z: FloatArray, layer: LayerBuffers) -> FloatArray:
        np.copyto(layer.a, function(z))  # a user's function allocates; its result is kept in the buffers
        return layer.a

    def slopes(z: FloatArray, a: FloatArray, out: FloatArray) -> FloatArray:
        np.copyto(out, derivative(z, a))
        return out

    ACTIVATIONS[name] = ActivationFunction(forward, slopes, max_derivative, saturates=saturates)


# --------------------------------------------------------------------------- #
# Output heads and their losses
# --------------------------------------------------------------------------- #


def _softmax(z: FloatArray, layer: LayerBuffers) -> FloatArray:
    """Row-wise softmax of ``z`` (n, k); shifting by the row maximum keeps ``exp <= 1``."""
    top = np.max(z, axis=1, out=layer.row_max)
    e = np.exp(np.subtract(z, top[:, None], out=layer.a), out=layer.a)
    e /= np.sum(e, axis=1, keepdims=True, out=layer.row_sum[:, None])
    return e


def _identity_slopes(a: FloatArray, k: int, out: FloatArray) -> FloatArray:
    """``d a_k / d z`` (n, n_out) of the identity head: 1 at ``k``, 0 elsewhere."""
    out.fill(0.0)
    out[:, k] = 1.0
    return out


def _sigmoid_slopes(a: FloatArray, k: int, out: FloatArray) -> FloatArray:
    """``d a / d z = a (1 - a)`` (n, 1) of the sigmoid head (its one output, ``k = 0``)."""
    return _sigmoid_derivative(a, a, out)


def _softmax_slopes(a: FloatArray, k: int, out: FloatArray) -> FloatArray:
    """``d a_k / d z_j = a_k ([j == k] - a_j)`` (n, n_out) of the softmax head."""
    np.multiply(a, a[:, k : k + 1], out=out)
    np.negative(out, out=out)
    out[:, k] += a[:, k]
    return out


def _mse(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean over samples and outputs of ``(a - y)**2``, from ``diff = a - y``."""
    return float(np.vdot(diff, diff)) / diff.size


def _binary_cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean BCE from the logits: ``log(1 + e^z) - y z`` never takes ``log(0)``."""
    terms = np.logaddexp(0.0, z, out=layer.scratch)
    terms -= np.multiply(y, z, out=layer.spare)
    return float(np.mean(terms))


def _cross_entropy(z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, layer: LayerBuffers) -> float:
    """Mean categorical cross-entropy from the logits: ``logsumexp(z) - sum(y z)``, row by row.

    ``logsumexp(z) = max(z) + log(sum(exp(z - max(z))))`` is exact for large logits.
    """
    top = np.max(z, axis=1, out=layer.row_max)
    shifted = np.subtract(z, top[:, None], out=layer.scratch)
    per_row = np.log(np.sum(np.exp(shifted, out=shifted), axis=1, out=layer.row_sum), out=layer.row_sum)
    per_row += top
    per_row -= np.einsum("ij,ij->i", y, z, out=layer.row_max)
    return float(np.mean(per_row))


class RowScratch(NamedTuple):
    """Where the per-row measures of `HeadFunction` compute, for batches of ``n`` rows and ``k`` outputs."""

    wide: FloatArray
    """(n, k)"""
    row: FloatArray
    """(n,)"""
    mask: BoolArray
    """(n, k)"""
    ones: FloatArray
    """(k,) ones: a sum over a row is a product with them, far faster than a reduction along rows of a few."""

    @classmethod
    def of(cls, n: int, k: int) -> RowScratch:
        """Empty buffers for ``n`` rows of ``k`` outputs."""
        return cls(np.empty((n, k)), np.empty(n), np.empty((n, k), dtype=np.bool_), np.ones(k))

    def first(self, n: int) -> RowScratch:
        """The buffers' first ``n`` rows: a batch shorter than the others."""
        return RowScratch(self.wide[:n], self.row[:n], self.mask[:n], self.ones)


def _row_max(z: FloatArray, out: FloatArray) -> FloatArray:
    """Each row's largest value of ``z`` (n, k), into ``out`` (n,): a maximum per column, far faster than a
    reduction along rows of a few values."""
    np.copyto(out, z[:, 0])
    for j in range(1, z.shape[1]):
        np.maximum(out, z[:, j], out=out)
    return out


def _squared_error_rows(
    z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, scratch: RowScratch, out: FloatArray
) -> FloatArray:
    """Each row's mean over the outputs of ``(a - y)**2``, from ``diff = a - y``, into ``out`` (n,)."""
    if diff.shape[1] == 1:
        return np.multiply(diff[:, 0], diff[:, 0], out=out)
    np.matmul(np.multiply(diff, diff, out=scratch.wide), scratch.ones, out=out)
    out /= float(diff.shape[1])  # a float divisor: NumPy promotes a Python int more slowly, to the same bits
    return out


def _binary_cross_entropy_rows(
    z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, scratch: RowScratch, out: FloatArray
) -> FloatArray:
    """Each row's ``log(1 + e^z) - y z``, from its one logit, into ``out`` (n,)."""
    terms = np.logaddexp(0.0, z[:, 0], out=out)
    terms -= np.multiply(y[:, 0], z[:, 0], out=scratch.row)
    return terms


def _cross_entropy_rows(
    z: FloatArray, a: FloatArray, y: FloatArray, diff: FloatArray, scratch: RowScratch, out: FloatArray
) -> FloatArray:
    """Each row's ``logsumexp(z) - sum(y z)``, into ``out`` (n,), shifted by the row's largest logit."""
    top = _row_max(z, out)
    shifted = np.subtract(z, top[:, None], out=scratch.wide)
    total = np.matmul(np.exp(shifted, out=shifted), scratch.ones, out=scratch.row)
    out += np.log(total, out=total)
    out -= np.matmul(np.multiply(y, z, out=scratch.wide), scratch.ones, out=scratch.row)
    return out


def _binary_margins(z: FloatArray, y: FloatArray, scratch: RowScratch, out: FloatArray) -> FloatArray:
    """Each row's logit for its label minus the other's: the head's two logits are in effect ``(0, z)``, so
    ``z`` for a 1 and ``-z`` for a 0, into ``out`` (n,)."""
    sign = np.multiply(y[:, 0], 2.0, out=out)
    sign -= 1.0
    sign *= z[:, 0]
    return sign


def _softmax_margins(z: FloatArray, y: FloatArray, scratch: RowScratch, out: FloatArray) -> FloatArray:
    """Each row's logit for its label minus its largest other logit, into ``out`` (n,); ``y`` one-hot (n, k)."""
    given = np.matmul(np.multiply(y, z, out=scratch.wide), scratch.ones, out=out)
    others = scratch.wide
    np.copyto(others, z)
    np.copyto(others, -np.inf, where=np.equal(y, 1.0, out=scratch.mask))
    given -= _row_max(others, scratch.row)
    return given


def _entropy(frequencies: FloatArray) -> float:
    """``-sum(f log f)`` over the non-zero frequencies (k,)."""
    present = frequencies[frequencies > 0]
    return float(-np.sum(present * np.log(present)))


def _some_values(y: np.ndarray) -> str:
    """Up to five distinct values of ``y``, each written exactly (1.0000001, not 1)."""
    values = np.unique(y)
    shown = ", ".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values[:5])
    return f"{{{shown}{', ...' if values.size > 5 else ''}}}"


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


@dataclass(frozen=True, kw_only=True)
class HeadFunction:
    """An output head with its matching loss (the canonical link).

    ``output(z, layer) -> a`` computes into the output layer's `LayerBuffers` (``None``: the output is
    the pre-activation itself, a regression's prediction);
    ``loss(z, a, y, a - y, layer) -> float`` is a mean over samples; ``targets(y, n_out) ->
    (n, n_out)`` checks a float64 label array and returns the target matrix; ``baseline(Y)``
    is the loss of the best constant prediction for targets ``Y`` (n, n_out). With the
    canonical link, ``d loss / d z`` is ``(a - y) * delta_factor(n_out) / n`` for every head.
    ``min_outputs`` and ``max_outputs`` bound the output layer's width. ``output_slopes(a, k, out)``
    writes ``d a_k / d z`` (n, n_out), the head's Jacobian row for output ``k``, from the outputs ``a``:
    where backpropagating to the inputs starts.

    Per row, for `TrainingSettings.keep_rows`, each computing in a `RowScratch`: ``row_losses(z, a, y, a - y,
    scratch, out) -> out`` (n,), the terms whose mean is ``loss``; ``margins(z, y, scratch, out) -> out``
    (n,), a classifier's logit for the row's label minus its largest other logit (``None`` for regression).
    """

    loss_name: str
    output: Callable[[FloatArray, LayerBuffers], FloatArray] | None
    loss: Callable[[FloatArray, FloatArray, FloatArray, FloatArray, LayerBuffers], float]
    targets: Callable[[FloatArray, int], FloatArray]
    delta_factor: Callable[[int], float]
    baseline: Callable[[FloatArray], float]
    output_slopes: Callable[[FloatArray, int, FloatArray], FloatArray]
    row_losses: Callable[[FloatArray, FloatArray, FloatArray, FloatArray, RowScratch, FloatArray], FloatArray]
    margins: Callable[[FloatArray, FloatArray, RowScratch, FloatArray], FloatArray] | None
    min_outputs: int
    max_outputs: int | None


HEADS: dict[str, HeadFunction] = {
    "identity": HeadFunction(
        loss_name="mean squared error",
        output=None,
        loss=_mse,
        targets=_real_targets,
        delta_factor=lambda k: 2.0 / k,
        baseline=lambda Y: float(np.mean(np.var(Y, axis=0))),  # predicting each column's mean
        output_slopes=_identity_slopes,
        row_losses=_squared_error_rows,
        margins=None,
        min_outputs=1,
        max_outputs=None,
    ),
    "sigmoid": HeadFunction(
        loss_name="binary cross-entropy",
        output=_sigmoid,
        loss=_binary_cross_entropy,
        targets=_binary_targets,
        delta_factor=lambda k: 1.0,
        baseline=lambda Y: _entropy(np.array([Y.mean(), 1.0 - Y.mean()])),  # predicting the share of ones
        output_slopes=_sigmoid_slopes,
        row_losses=_binary_cross_entropy_rows,
        margins=_binary_margins,
        min_outputs=1,
        max_outputs=1,
    ),
    "softmax": HeadFunction(
        loss_name="cross-entropy",
        output=_softmax,
        loss=_cross_entropy,
        targets=_categorical_targets,
        delta_factor=lambda k: 1.0,
        baseline=lambda Y: _entropy(Y.mean(axis=0)),  # predicting the class frequencies
        output_slopes=_softmax_slopes,
        row_losses=_cross_entropy_rows,
        margins=_softmax_margins,
        min_outputs=2,
        max_outputs=None,
    ),
}
