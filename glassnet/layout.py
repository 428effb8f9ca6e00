"""Where each layer's weights and bias sit in a network's one flat vector.

A network keeps every parameter in one vector (p,): every layer's weights, row-major, then every
layer's bias. Its gradients, a run's snapshots and an optimizer's state have the same layout, so
an optimizer step is one vector update and a snapshot is one copy. `ParameterLayout` is that
layout, written once: the per-layer views of any such vector, the slice that holds the weights
(for ``l2``) and the one that holds the hidden layers' biases (for unit health).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from glassnet.fields import FloatArray
from glassnet.records import LayerGradients, LayerParams

LayerT = TypeVar("LayerT", LayerParams, LayerGradients)


class ParameterLayout:
    """The layout of a flat vector (p,) for layers whose weights have ``shapes``, ``(n_in, n_out)`` each."""

    def __init__(self, shapes: Sequence[tuple[int, int]]) -> None:
        self.shapes = list(shapes)
        self.n_weights = sum(n_in * n_out for n_in, n_out in self.shapes)
        """How many entries the weights take, at the start of the vector."""
        self.size = self.n_weights + sum(n_out for _, n_out in self.shapes)
        """p: every weight and every bias."""

    def views(self, flat: FloatArray, kind: type[LayerT]) -> list[LayerT]:
        """Per-layer ``kind`` records viewing ``flat`` (p,): writing into them writes into ``flat``."""
        views: list[LayerT] = []
        w_at, b_at = 0, self.n_weights
        for n_in, n_out in self.shapes:
            weights = flat[w_at : w_at + n_in * n_out].reshape(n_in, n_out)
            views.append(kind(weights=weights, bias=flat[b_at : b_at + n_out]))
            w_at, b_at = w_at + n_in * n_out, b_at + n_out
        return views

    def weights(self, flat: FloatArray) -> FloatArray:
        """(n_weights,) the view of ``flat`` (p,) that holds every weight and no bias."""
        return flat[: self.n_weights]

    def hidden_biases(self, flat: FloatArray) -> FloatArray:
        """(sum of the hidden widths,) the view of ``flat`` (p,) that holds the hidden layers' biases, layer after
        layer."""
        return flat[self.n_weights : self.n_weights + sum(n_out for _, n_out in self.shapes[:-1])]

    def layer_of_parameter(self) -> FloatArray:
        """(p, n_layers): 1 where parameter i belongs to layer j, else 0. ``squares @ it`` sums per layer."""
        sizes = [i * o for i, o in self.shapes] + [o for _, o in self.shapes]  # the weights, then the biases
        layers = np.tile(np.arange(len(self.shapes)), 2)
        return np.repeat(np.eye(len(self.shapes))[layers], sizes, axis=0)
