"""Step buffers: every array that one forward and backward pass needs, made once per batch size.

A training step writes into these arrays and allocates nothing after its first: the arrays of
a layer are made the first time a pass asks for them, then reused by every batch of the same
size. A set frees the moment the last reference to it goes (nothing in it refers back to its
owner), so `TrainingRun.advance` gives its memory back when it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from glassnet.fields import FloatArray

BIAS_TILE = 1024
"""A layer's bias is added from a tile of it repeated on rows, of at most this many entries: NumPy adds a row
of ``width`` to each of ``rows`` rows one short loop at a time, and a few long loops over the tile are faster
for many narrow rows (timings in ``bench/compare.py``)."""


def tile_rows(rows: int, width: int) -> int:
    """How many rows a bias tile of a ``rows``-row, ``width``-wide layer repeats the bias on: the most that divide
    ``rows`` and keep the tile within `BIAS_TILE` entries; 1 for a one-unit layer, whose bias NumPy already adds
    in one loop."""
    if width == 1:
        return 1
    return next(r for r in range(max(1, min(rows, BIAS_TILE // width)), 0, -1) if rows % r == 0)


class ArrayMaker:
    """Makes the arrays of one buffer set, all ``rows`` rows long."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def floats(self, width: int | None) -> FloatArray:
        """A new uninitialized float64 array (rows, width), or (rows,) for ``width=None``."""
        return np.empty((self.rows,) if width is None else (self.rows, width))


def _buffer(what: str, *, per_row: bool = False) -> cached_property[FloatArray]:
    """A float64 array of a `LayerBuffers`, (rows, width) or (rows,) ``per_row``, made on first use."""

    def make(layer: LayerBuffers) -> FloatArray:
        return layer.maker.floats(None if per_row else layer.width)

    make.__doc__ = what
    return cached_property(make)


class LayerBuffers:
    """One layer's arrays for a batch of ``maker.rows`` rows and ``width`` units, each made on first use.

    ``output`` names the array a forward pass leaves ``f(z)`` in: ``a``, or ``z`` itself for the
    identity, whose ``a`` is never made.
    """

    def __init__(self, maker: ArrayMaker, width: int) -> None:
        self.maker = maker
        self.width = width
        self.output: FloatArray

    z = _buffer("(rows, width): the pre-activation ``A_prev @ W + b``.")
    a = _buffer("(rows, width): the activation's output ``f(z)``.")
    delta = _buffer("(rows, width): ``d loss / d z``.")
    derivative = _buffer("(rows, width): ``f'(z)``, after a backward pass.")
    scratch = _buffer("(rows, width): what the activation, the head or its loss computes in.")
    spare = _buffer("(rows, width): a second array for the heads' losses.")
    row_max = _buffer("(rows,): the row maximum of the logits.", per_row=True)
    row_sum = _buffer("(rows,): the sum of the shifted exponentials.", per_row=True)

    @cached_property
    def bias_tile(self) -> FloatArray:
        """(tile_rows, width): the bias repeated on `tile_rows` rows, refreshed by each forward pass."""
        return np.empty((tile_rows(self.maker.rows, self.width), self.width))

    @cached_property
    def zeros(self) -> FloatArray:
        """(rows, width) zeros, read-only: what relu compares with (faster than the scalar 0)."""
        zeros = np.zeros((self.maker.rows, self.width))
        zeros.flags.writeable = False
        return zeros


class StepBuffers:
    """Every array a forward and backward pass over ``rows`` rows needs: one `LayerBuffers` per layer.

    ``widths`` are the layers' output widths; ``n_weights`` the network's weight count, for
    the ``l2 W`` term of the gradient. A forward-only pass never makes the backward's arrays.
    """

    def __init__(self, rows: int, widths: Sequence[int], n_weights: int) -> None:
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
        return np.empty(self.n_weights)
