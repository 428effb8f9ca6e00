"""Unit health: which hidden units pass gradient, counted over a recorded epoch's last rows.

A unit-row pair passes gradient when the activation's derivative there reaches
`DEAD_DERIVATIVE_SHARE` of the largest it can be; a unit that passes on none of the rows counted is
dead, and for an activation that saturates (sigmoid, tanh) the pairs that pass none are in its flat
tails. A record counts the epoch's last `UNIT_ROWS` rows: `UnitCounts` says which steps those are,
adds each step's pairs as the step leaves them in its buffers, and gives the shares an
`EpochRecord` keeps (``dead_fractions``, ``saturated_fractions``, ``unit_rows``). Each activation
says how its pairs are told (`ActivationFunction`'s ``blocks``, ``alive`` and ``saturates``): `below_threshold`
compares the derivative with the threshold, and `relu_alive` reads relu's units off the bias
gradients instead. `glassnet.diagnosis` reads the shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from glassnet.buffers import StepBuffers
from glassnet.fields import BoolArray, FloatArray

if TYPE_CHECKING:
    from glassnet.functions import ActivationFunction

DEAD_DERIVATIVE_SHARE = 0.01
"""A unit-row pair passes no gradient when its derivative is below this share of the largest it can be: a relu
that is off, a tanh beyond |z| = 3.0, a sigmoid beyond |z| = 6.0 (the gradient through it shrinks 100-fold)."""

UNIT_ROWS = 256
"""A record's unit health is counted over the epoch's last this many rows (every row when the epoch has fewer):
enough to call a unit dead (one that passes gradient on 2% of the rows shows on none of 256 with probability
0.6%), while a long epoch of small batches counts only its last few steps and a large batch only part of its
rows. (Relu's count reads the bias gradients of whole steps, so it covers every row of the steps it counts.)"""


def below_threshold(derivative: FloatArray, threshold: float, out: BoolArray) -> BoolArray:
    """True where ``f'`` (rows, k) is below ``threshold``, into ``out`` (rows, k)."""
    return np.less(derivative, threshold, out=out)


def relu_alive(counts: UnitCounts, buffers: StepBuffers, first: bool) -> None:
    """Mark in ``counts.alive`` the relu units active (``z > 0``) on some row of the last pass over ``buffers``
    (``first``: unmark every other unit first).

    ``counts.bias_gradients`` and ``counts.alive`` hold every hidden unit, layer after layer. A unit active on a
    row has a nonzero delta there, so nearly always a nonzero bias gradient: one comparison over the biases marks
    those, and a healthy network costs two calls. A hidden layer with units left unmarked takes one product
    more, ``1^T f'(z)``: on how many rows each of its units was active (exact, a sum of 0s and 1s).
    """
    alive, bias_gradients = counts.alive, counts.bias_gradients
    if first:
        np.not_equal(bias_gradients, 0.0, out=alive)
    else:
        np.logical_or(alive, bias_gradients, out=alive)
    if alive.all():
        return
    start = 0
    for layer, active_rows in zip(buffers.layers[:-1], counts.active_rows, strict=True):
        marked = alive[start : start + layer.width]
        if not marked.all():
            np.logical_or(marked, np.matmul(buffers.ones, layer.derivative, out=active_rows), out=marked)
        start += layer.width


class UnitCounts:
    """What a recorded epoch's last steps say of each hidden layer's units, for a network with ``activation``.

    Parameters
    ----------
    activation : ActivationFunction
        The hidden layers' function: its ``alive`` or ``blocks`` test says how to count.
    widths : sequence of int
        The hidden layers' widths k_i.
    bias_gradients : array (sum of k_i,)
        The view of the gradient vector that holds the hidden layers' biases, which each step writes.
    rows, batch : int
        The epoch's rows and the rows of its steps (the last may have fewer).

    Attributes
    ----------
    alive : bool array (sum of k_i,)
        Every hidden unit, layer after layer, marked once it has passed gradient on some row.
    blocked : list of int
        Per hidden layer, how many unit-row pairs passed none (for an activation with a ``blocks`` test).
    steps, rows : int
        How many steps and rows have been counted since the first.

    Made once per run of epochs, so counting allocates nothing.
    """

    def __init__(
        self, activation: ActivationFunction, widths: Sequence[int], bias_gradients: FloatArray, rows: int, batch: int
    ) -> None:
        self.activation = activation
        self.widths = list(widths)
        self.alive = np.zeros(sum(widths), dtype=np.bool_)
        self.blocked = [0] * len(widths)
        self.bias_gradients = bias_gradients
        self.steps = 0
        self.rows = 0
        steps = -(-rows // batch)
        last = rows - (steps - 1) * batch  # the rows of the epoch's last step
        counted = 1 + -(-max(0, UNIT_ROWS - last) // batch)
        self.counted_from = max(0, steps - counted)
        """The first step of a recorded epoch whose rows are counted."""
        from_there = rows - self.counted_from * batch  # rows in the steps counted
        self.first_counted_rows = min(batch, from_there) - (from_there - min(rows, UNIT_ROWS))
        """How many of that step's rows (its last) are counted, so that ``UNIT_ROWS`` rows are in all."""
        counts_pairs = activation.derivative is not None and activation.alive is None and activation.blocks is not None
        self.blocked_pairs = [np.empty((batch, width), dtype=np.bool_) for width in widths] if counts_pairs else []
        """Per hidden layer (batch, k_i) bool: the unit-row pairs of a step that passed no gradient."""
        self.active_rows = [np.empty(width) for width in widths] if activation.alive is not None else []
        """Per hidden layer (k_i,): on how many rows of a step each unit was active, for `relu_alive`."""

    def count(self, buffers: StepBuffers, *, first: bool, rows: int) -> None:
        """Add the last ``rows`` rows of the training step whose `TrainingStep.backward` last ran in ``buffers``
        (``first``: start afresh).

        Marks the hidden units whose derivative reached ``DEAD_DERIVATIVE_SHARE`` of its largest value on
        some row, by the activation's ``alive`` test (which reads the bias gradients of the whole step, so
        counts all its rows), or by its ``blocks`` test, which also counts the pairs that did not: one
        comparison and one count per layer, and a look at each unit's rows only when a layer has at least a
        row's worth of blocked pairs (else every unit passed on some row). An activation with neither test
        has nothing to count.
        """
        if first:
            self.steps = self.rows = 0
        spec = self.activation
        if spec.derivative is not None and spec.alive is not None:
            spec.alive(self, buffers, first)
            rows = buffers.rows
        elif spec.derivative is not None and spec.blocks is not None:
            threshold, start = DEAD_DERIVATIVE_SHARE * spec.max_derivative, 0
            for i, (layer, pairs_out) in enumerate(zip(buffers.layers[:-1], self.blocked_pairs, strict=True)):
                blocked = spec.blocks(layer.derivative[-rows:], threshold, pairs_out[-rows:])
                pairs = int(np.count_nonzero(blocked))
                alive = self.alive[start : start + layer.width]
                if pairs < rows:  # no unit was blocked on every row
                    alive.fill(True)
                else:  # those that pass on the first row are alive; only the others have all their rows read
                    np.logical_or(alive if not first else False, ~blocked[0], out=alive)
                    (candidates,) = np.nonzero(~alive)
                    if candidates.size:
                        alive[candidates] = ~blocked[:, candidates].all(axis=0)
                self.blocked[i] = pairs if first else self.blocked[i] + pairs
                start += layer.width
        self.steps += 1
        self.rows += rows

    def fractions(self) -> tuple[list[float], list[float]]:
        """Per hidden layer, over the rows counted: the share of its units that passed gradient on none of them
        (dead), and, for an activation that ``saturates``, the share of its unit-row pairs that passed none (in
        the flat tails); 0 for activations without them."""
        spec, widths = self.activation, self.widths
        dead, saturated = [0.0] * len(widths), [0.0] * len(widths)
        if spec.derivative is None or (spec.alive is None and spec.blocks is None) or self.steps == 0:
            return dead, saturated
        start = 0
        for i, width in enumerate(widths):
            dead[i] = (width - int(np.count_nonzero(self.alive[start : start + width]))) / width
            if spec.saturates:
                saturated[i] = self.blocked[i] / (self.rows * width)
            start += width
        return dead, saturated
