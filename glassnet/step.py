"""One training step of a dense network, read top to bottom: forward, the canonical-link delta, backward.

A `TrainingStep` works on batches of one size. It is handed every array it reads and writes: each
layer's weight and bias views into the parameter vector, the matching views into the gradient
vector, the weights' and their gradients' slices of those two vectors (for ``l2``), the activation
and the head; `TrainingStep.of` cuts those views from the two flat vectors by their
`ParameterLayout`. Every other array is one of its `StepBuffers`, made once, so a step allocates
nothing.

Each line of the math is one NumPy operation into a named buffer (``out=``). What a layer needs
is gathered once into a record (`ForwardLayer`, `BackwardLayer`) that the loops unpack into the
names of the math, so that no table, layer or shape is looked up per step: for a small network
those lookups cost as much as the arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import NamedTuple

import numpy as np

from glassnet.buffers import LayerBuffers, StepBuffers
from glassnet.fields import FloatArray
from glassnet.functions import ActivationFunction, HeadFunction
from glassnet.layout import ParameterLayout
from glassnet.records import GradientRecord, LayerGradients, LayerParams

Derivative = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]


class ForwardLayer(NamedTuple):
    """What one layer's forward pass reads and writes, for ``Z = A_prev @ W + b`` and ``A = f(Z)``."""

    weights: FloatArray
    """(n_in, n_out) ``W``, a view of the parameters."""
    bias: FloatArray
    """(n_out,) ``b``, a view of the parameters."""
    z: FloatArray
    """(rows, n_out) ``Z``."""
    function: Callable[[FloatArray, LayerBuffers], FloatArray] | None
    """``f``: the activation, or the head's output function for the last layer; ``None`` when ``A`` is ``Z``."""
    a: FloatArray
    """(rows, n_out) ``A = f(Z)``: the layer's ``a`` buffer, or ``z`` itself when ``f`` is the identity."""
    buffers: LayerBuffers
    """The layer's buffers, where ``f`` writes and computes."""
    bias_rows: FloatArray | None
    """(tile_rows, n_out) the layer's bias tile (`tile_rows`), or ``None`` for a tile of one row: ``b`` is added
    as it is."""
    bias_tile: FloatArray
    """(tile_rows * n_out,) the same tile, flat."""
    z_tiles: FloatArray
    """(rows / tile_rows, tile_rows * n_out) ``Z`` seen as rows of the tile's size."""


class BackwardLayer(NamedTuple):
    """What one layer's backward pass reads and writes, for ``dW = A_prev.T @ delta``, ``db = 1.T @ delta`` and
    ``delta_prev = (delta @ W.T) * f'(Z_prev)``; for every layer but the first."""

    a_prev_t: FloatArray
    """(n_in, rows) ``A_prev.T``, a view of the layer below's output."""
    delta: FloatArray
    """(rows, n_out) ``delta = d loss / d Z``."""
    weights_t: FloatArray
    """(n_out, n_in) ``W.T``, a view of the parameters."""
    weight_gradients: FloatArray
    """(n_in, n_out) ``dW``, a view of the gradients."""
    bias_gradients: FloatArray
    """(n_out,) ``db``, a view of the gradients."""
    one_output: bool
    """Whether ``delta`` has one column: ``delta @ W.T`` is then a broadcast multiply, the same bits, faster."""
    z_prev: FloatArray
    """(rows, n_in) the layer below's ``Z``."""
    a_prev: FloatArray
    """(rows, n_in) the layer below's ``A``."""
    delta_prev: FloatArray
    """(rows, n_in) the layer below's delta."""
    slopes_prev: FloatArray
    """(rows, n_in) ``f'(Z_prev)``."""


class TrainingStep:
    """A network's forward and backward pass over batches of ``rows`` rows, in step buffers of its own.

    Parameters
    ----------
    rows : int
        The batch size: every ``X`` given is (rows, n_in), every ``Y`` (rows, n_out).
    params, gradients : lists of LayerParams, LayerGradients
        Per layer, views of the parameter and gradient vectors: read and written in place.
    weights, weight_gradients : arrays (n_weights,)
        The slices of those vectors that hold every weight (no bias): the ``l2`` penalty and its gradient.
    activation, head : ActivationFunction, HeadFunction
        The hidden layers' function and the output layer's, with its loss.

    Notes
    -----
    The backward pass's buffers are made the first time it runs, so a forward-only pass (``predict``)
    never makes them.
    """

    def __init__(
        self,
        rows: int,
        params: Sequence[LayerParams],
        gradients: Sequence[LayerGradients],
        weights: FloatArray,
        weight_gradients: FloatArray,
        activation: ActivationFunction,
        head: HeadFunction,
    ) -> None:
        self.params, self.gradients = list(params), list(gradients)
        self.weights, self.weight_gradients = weights, weight_gradients
        self.head, self.derivative = head, activation.derivative
        self.buffers = StepBuffers(rows, [p.bias.size for p in self.params], weights.size)
        self.delta_scale = head.delta_factor(self.params[-1].bias.size) / rows
        """``c / n``: the head's delta factor over the batch's rows."""
        self.layers: list[ForwardLayer] = []
        """Per layer, first to last, what its forward pass reads and writes."""
        for i, (p, layer) in enumerate(zip(self.params, self.buffers.layers, strict=True)):
            function = head.output if i == len(self.params) - 1 else activation.forward
            layer.output = layer.z if function is None else layer.a
            tile = layer.bias_tile
            bias_rows = None if tile.shape[0] == 1 else tile
            z_tiles = layer.z.reshape(-1, tile.size)
            self.layers.append(
                ForwardLayer(
                    p.weights, p.bias, layer.z, function, layer.output, layer, bias_rows, tile.reshape(-1), z_tiles
                )
            )
        self.output = self.layers[-1].a
        """(rows, n_out) the head's output, where the forward pass leaves it."""

    @classmethod
    def of(
        cls,
        rows: int,
        layout: ParameterLayout,
        parameters: FloatArray,
        gradients: FloatArray,
        activation: ActivationFunction,
        head: HeadFunction,
    ) -> TrainingStep:
        """The step over batches of ``rows`` rows that reads the flat ``parameters`` (p,) and writes its gradients
        into ``gradients`` (p,), both laid out by ``layout``."""
        params, gradient_views = layout.views(parameters, LayerParams), layout.views(gradients, LayerGradients)
        weights, weight_gradients = layout.weights(parameters), layout.weights(gradients)
        return cls(rows, params, gradient_views, weights, weight_gradients, activation, head)

    # ----- forward -----------------------------------------------------------

    def forward(self, X: FloatArray) -> FloatArray:
        """The output (rows, n_out) for inputs ``X`` (rows, n_in), every layer's ``Z`` and ``A`` into the buffers."""
        A_prev = X
        for W, b, Z, f, A, buffers, b_rows, b_tile, Z_tiles in self.layers:
            np.matmul(A_prev, W, out=Z)  # Z = A_prev @ W
            if b_rows is None:
                np.add(Z, b, out=Z)  # Z += b
            else:  # Z += b, in a few long loops over the tile rather than one short loop per row
                np.copyto(b_rows, b)
                np.add(Z_tiles, b_tile, out=Z_tiles)
            if f is not None:
                f(Z, buffers)  # A = f(Z), the head's function for the last layer
            A_prev = A
        return A_prev

    def output_loss(self, Y: FloatArray, l2: float) -> float:
        """The head's loss of the last forward pass's output against ``Y`` (rows, n_out), plus ``(l2 / 2) sum(W**2)``;
        leaves ``A_out - Y`` in the top delta."""
        top = self.layers[-1]
        diff = np.subtract(top.a, Y, out=top.buffers.delta)  # A_out - Y
        penalty = 0.5 * l2 * float(np.vdot(self.weights, self.weights)) if l2 else 0.0  # (l2 / 2) sum(W**2)
        return self.head.loss(top.z, top.a, Y, diff, top.buffers) + penalty

    def loss(self, X: FloatArray, Y: FloatArray, l2: float) -> float:
        """The loss on a checked batch ``X`` (rows, n_in), ``Y`` (rows, n_out), with the ``l2`` penalty; no gradient."""
        self.forward(X)
        return self.output_loss(Y, l2)

    # ----- backward ----------------------------------------------------------

    def loss_and_gradients(self, X: FloatArray, Y: FloatArray, l2: float) -> float:
        """Forward and backward on a checked batch ``X`` (rows, n_in), ``Y`` (rows, n_out); return the loss.

        The gradients land in the gradient views the step was given.
        """
        loss = self.loss(X, Y, l2)
        self.backward(X, l2)
        return loss

    def backward(self, X: FloatArray, l2: float) -> None:
        """The gradients of the loss the last `loss` measured on inputs ``X`` (rows, n_in), from the ``A_out - Y``
        it left in the top delta, into the gradient views the step was given.

        Apart from `loss_and_gradients` so that a training epoch can read the row losses of `loss`'s pass in
        between (`TrainingSettings.keep_rows`), while its outputs are fresh in cache.
        """
        # The canonical link: each head is paired with the loss whose canonical link it inverts (the identity
        # with squared error, the sigmoid with binary cross-entropy, the softmax with cross-entropy), so the
        # loss's derivative times the head's Jacobian cancels to d loss / d Z_out = (A_out - Y) * c / n, with
        # c = 2 / n_out for the mean squared error (a mean over the outputs too), 1 for both cross-entropies,
        # and n the batch's rows. The backward pass starts from Z_out and never forms the head's Jacobian.
        top_delta = self.layers[-1].buffers.delta  # A_out - Y, from output_loss
        top_delta *= self.delta_scale  # delta = (A_out - Y) * c / n
        delta = self._backward(gradients=True)
        first, ones = self.gradients[0], self.buffers.ones
        np.matmul(X.T, delta, out=first.weights)  # dW_1 = X.T @ delta_1
        np.matmul(ones, delta, out=first.bias)  # db_1 = 1.T @ delta_1
        if l2:  # dW += l2 W, every layer's weights at once
            self.weight_gradients += np.multiply(self.weights, l2, out=self.buffers.weights_sized)

    def gradient_record(self, loss: float) -> GradientRecord:
        """A copy of the gradients the last `loss_and_gradients` wrote, as a typed record, with the ``loss`` they
        came from."""
        layers = [LayerGradients(weights=g.weights.copy(), bias=g.bias.copy()) for g in self.gradients]
        return GradientRecord(loss=loss, layers=layers)

    def input_gradients(self, k: int, out: FloatArray, *, slopes_known: bool = False) -> FloatArray:
        """``d A_out[:, k] / d X`` into ``out`` (rows, n_in), for the inputs of the last forward pass.

        The same backward pass, from the head's slopes ``d A_out[:, k] / d Z_out`` and without the parameters'
        gradients, carried one layer further: ``delta_1 @ W_1.T``. ``slopes_known``: the buffers already hold
        ``f'(Z)`` of this forward pass, from an earlier call.
        """
        self.head.output_slopes(self.output, k, self.layers[-1].buffers.delta)
        delta = self._backward(gradients=False, slopes_known=slopes_known)
        return np.matmul(delta, self.params[0].weights.T, out=out)  # d A_out[:, k] / d X = delta_1 @ W_1.T

    def _backward(self, *, gradients: bool, slopes_known: bool = False) -> FloatArray:
        """From the top delta down, last layer to second: ``dW`` and ``db`` (if ``gradients``) and the delta of the
        layer below; return the first layer's delta (rows, width of the first layer)."""
        f_prime, ones = self.derivative, self.buffers.ones if gradients else None
        for A_prev_T, delta, W_T, dW, db, one_output, Z_prev, A_prev, delta_prev, slopes in self._backward_layers:
            if ones is not None:
                np.matmul(A_prev_T, delta, out=dW)  # dW = A_prev.T @ delta
                np.matmul(ones, delta, out=db)  # db = 1.T @ delta
            if one_output:
                np.multiply(delta, W_T, out=delta_prev)  # delta_prev = delta @ W.T, as (rows, 1) * (1, n_in)
            else:
                np.matmul(delta, W_T, out=delta_prev)  # delta_prev = delta @ W.T
            if f_prime is not None:  # else f' = 1
                if not slopes_known:
                    f_prime(Z_prev, A_prev, slopes)  # f'(Z_prev)
                np.multiply(delta_prev, slopes, out=delta_prev)  # delta_prev *= f'(Z_prev)
        return self.layers[0].buffers.delta

    @cached_property
    def _backward_layers(self) -> list[BackwardLayer]:
        """Per layer, last to second, what its backward pass reads and writes."""
        records = []
        for i in range(len(self.layers) - 1, 0, -1):
            layer, below, g = self.layers[i], self.layers[i - 1], self.gradients[i]
            delta, below_buffers = layer.buffers.delta, below.buffers
            # f' = 1 (identity) reads no slopes: the derivative buffer is not made, the delta stands in for it
            slopes = below_buffers.derivative if self.derivative is not None else below_buffers.delta
            records.append(
                BackwardLayer(
                    below.a.T, delta, layer.weights.T, g.weights, g.bias, delta.shape[1] == 1,
                    below.z, below.a, below_buffers.delta, slopes,
                )
            )  # fmt: skip
        return records
