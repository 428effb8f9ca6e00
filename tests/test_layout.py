"""glassnet.layout: where each layer's weights and bias sit in the one flat vector."""

from __future__ import annotations

import numpy as np

from glassnet import LayerGradients, LayerParams, Network
from glassnet.layout import ParameterLayout


def test_the_layout_views_a_flat_vector_weights_first_then_biases() -> None:
    layout = ParameterLayout([(3, 2), (2, 4), (4, 1)])
    flat = np.arange(layout.size, dtype=np.float64)
    views = layout.views(flat, LayerGradients)

    assert (layout.n_weights, layout.size) == (6 + 8 + 4, 6 + 8 + 4 + 2 + 4 + 1)
    assert views[1].weights.tolist() == [[6.0, 7.0, 8.0, 9.0], [10.0, 11.0, 12.0, 13.0]]
    assert [v.bias.tolist() for v in views] == [[18.0, 19.0], [20.0, 21.0, 22.0, 23.0], [24.0]]
    assert layout.weights(flat).tolist() == list(range(18))
    assert layout.hidden_biases(flat).tolist() == list(range(18, 24)), "the output layer's bias is not hidden"
    views[2].bias[0] = -1.0
    layout.hidden_biases(flat)[0] = -2.0
    assert flat[24] == -1.0 and flat[18] == -2.0, "views, not copies"


def test_the_layer_of_each_parameter_sums_squares_per_layer() -> None:
    layout = ParameterLayout([(3, 2), (2, 1)])
    flat = np.arange(layout.size, dtype=np.float64)
    per_layer = (flat**2) @ layout.layer_of_parameter()
    params = layout.views(flat, LayerParams)
    assert per_layer.tolist() == [float((p.weights**2).sum() + (p.bias**2).sum()) for p in params]


def test_a_network_s_params_are_views_of_its_parameter_vector_in_that_layout() -> None:
    net = Network([4, 3, 2], seed=1)
    laid_out_params = ParameterLayout(net.shapes).views(net.parameter_vector, LayerParams)
    for mine, laid_out in zip(net.params, laid_out_params, strict=True):
        assert np.shares_memory(mine.weights, laid_out.weights) and np.shares_memory(mine.bias, laid_out.bias)
        assert mine.weights.tobytes() == laid_out.weights.tobytes()
