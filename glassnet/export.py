"""A glassnet ``Network`` in PyTorch and ONNX, and a PyTorch network back in glassnet.

- ``to_torch(net)``: a float64 ``torch.nn.Sequential`` computing ``net.forward`` (head
  applied), to keep training with PyTorch (on a GPU, with its optimizers and schedulers).
- ``from_torch(module)``: the ``Network`` a ``Sequential`` of ``nn.Linear`` layers and one
  hidden activation kind computes, so its gradients can be seen.
- ``to_onnx(net, path)``: an ONNX file that ONNX Runtime (or any ONNX runtime, from any
  language) evaluates to ``net.forward``'s numbers, in float64.

Each needs its package only when called (``pip install torch`` or ``pip install onnx``; the
extras ``glassnet[torch]`` and ``glassnet[onnx]``); importing this module needs neither.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, get_args

import numpy as np
from pydantic import ValidationError

from glassnet.files import write_atomically
from glassnet.functions import LEAKY_RELU_SLOPE, Activation, Head
from glassnet.network import Network, NetworkDocument
from glassnet.records import LayerParams
from glassnet.rules import first_error

if TYPE_CHECKING:
    import onnx
    import torch
    from torch import nn

ONNX_OPSET = 17
"""The ONNX operator set of ``to_onnx`` files (ONNX 1.12, 2022): every runtime since reads them."""

ONNX_IR_VERSION = 8
"""The ONNX file format version that goes with ``ONNX_OPSET``."""


@contextmanager
def _requires(package: str, user: str) -> Iterator[None]:
    """Turn a failed import inside the block into an ``ImportError`` that says what to install."""
    try:
        yield
    except ImportError as error:
        message = f"{user} needs {package}: pip install {package} (or pip install 'glassnet[{package}]')"
        raise ImportError(message) from error


def _check_network(net: object, user: str) -> Network:
    """``net`` if it is a ``Network`` whose activation the bridges can translate."""
    if not isinstance(net, Network):
        raise TypeError(f"net: expected a glassnet Network, got {type(net).__name__}")
    built_in = get_args(Activation)  # one added with register_activation has no counterpart elsewhere
    if net.activation not in built_in:
        raise ValueError(
            f"net: {user} translates the activations {list(built_in)}, "
            f"got {net.activation!r} (registered with register_activation)"
        )
    return net


# --------------------------------------------------------------------------- #
# PyTorch
# --------------------------------------------------------------------------- #


def _torch_activations() -> dict[str, type[nn.Module]]:
    """glassnet's hidden activations and their ``torch.nn`` modules (LeakyReLU with ``negative_slope=0.01``)."""
    from torch import nn

    return {
        "identity": nn.Identity,
        "relu": nn.ReLU,
        "leaky_relu": nn.LeakyReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
    }


def to_torch(net: Network) -> torch.nn.Sequential:
    """``net`` as a float64 ``torch.nn.Sequential`` whose output is ``net.forward``.

    Layout: ``Linear, activation, Linear, activation, ..., Linear[, head]``. Each hidden
    activation is ``nn.ReLU``, ``nn.LeakyReLU(0.01)``, ``nn.Sigmoid``, ``nn.Tanh`` or
    ``nn.Identity``; the head is ``nn.Sigmoid()``, ``nn.Softmax(dim=1)`` or nothing (identity).
    ``Linear.weight`` (n_out, n_in) is the transpose of glassnet's ``weights`` (n_in, n_out).
    The parameters are copies and require gradients. To train with a loss on logits
    (``BCEWithLogitsLoss``, ``CrossEntropyLoss``), use ``module[:-1]`` for a classifier.

    Parameters
    ----------
    net : Network
        With a built-in activation.

    Returns
    -------
    torch.nn.Sequential
        Maps a float64 tensor (n, n_in) to (n, n_out).
    """
    with _requires("torch", "to_torch"):
        import torch
    net = _check_network(net, "to_torch")
    activation = _torch_activations()[net.activation]
    layers: list[torch.nn.Module] = []
    last = len(net.params) - 1
    for i, (p, (n_in, n_out)) in enumerate(zip(net.params, net.shapes, strict=True)):
        # made on the meta device: no random initialization to overwrite, PyTorch's global generator left alone
        linear = torch.nn.Linear(n_in, n_out, device="meta", dtype=torch.float64).to_empty(device="cpu")
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(p.weights.T))
            linear.bias.copy_(torch.from_numpy(p.bias))
        layers.append(linear)
        if i < last:
            layers.append(activation(LEAKY_RELU_SLOPE) if net.activation == "leaky_relu" else activation())
    if net.head == "sigmoid":
        layers.append(torch.nn.Sigmoid())
    elif net.head == "softmax":
        layers.append(torch.nn.Softmax(dim=1))
    return torch.nn.Sequential(*layers)


_TORCH_HINTS = {
    "Dropout": "in evaluation it is the identity: build the Sequential without it",
    "BatchNorm1d": "fold it into the Linear layer before it (scale its weights and bias)",
}


def _describe(index: int, layer: nn.Module) -> str:
    return f"module[{index}] ({type(layer).__name__})"


def _unsupported(index: int, layer: nn.Module) -> ValueError:
    hint = _TORCH_HINTS.get(type(layer).__name__)
    return ValueError(
        f"{_describe(index, layer)}: not supported; from_torch reads nn.Linear layers with one kind of hidden "
        "activation (ReLU, LeakyReLU(0.01), Sigmoid, Tanh, Identity) between them and an optional final Sigmoid "
        f"or Softmax(dim=1){f'; {type(layer).__name__}: {hint}' if hint else ''}"
    )


def _hidden_activation(index: int, after: list[nn.Module], next_index: int) -> tuple[str, str]:
    """The activation between the Linear layers at ``index`` and ``next_index``, and where it is.

    ``after`` holds the layers between them: none (identity) or one activation.
    Returns glassnet's name for it and a description of its place, for messages.
    """
    from torch import nn

    if not after:
        return "identity", f"module[{next_index}] (Linear, right after the Linear at module[{index}])"
    kinds = {kind: name for name, kind in _torch_activations().items()}
    layer = after[0]
    if type(layer) not in kinds:
        raise _unsupported(index + 1, layer)
    if isinstance(layer, nn.LeakyReLU) and layer.negative_slope != LEAKY_RELU_SLOPE:
        raise ValueError(
            f"{_describe(index + 1, layer)}: expected negative_slope={LEAKY_RELU_SLOPE} (glassnet's leaky_relu), "
            f"got {layer.negative_slope}"
        )
    if len(after) > 1:
        if type(after[1]) not in kinds:
            raise _unsupported(index + 2, after[1])
        raise ValueError(f"{_describe(index + 2, after[1])}: expected one activation between two Linear layers")
    return kinds[type(layer)], _describe(index + 1, layer)


def _head(index: int, after: list[nn.Module]) -> Head:
    """The head the layers ``after`` the last Linear (at ``index``) make."""
    from torch import nn

    if not after:
        return "identity"
    layer = after[0]
    head: Head
    if type(layer) is nn.Identity:
        head = "identity"
    elif type(layer) is nn.Sigmoid:
        head = "sigmoid"
    elif isinstance(layer, nn.Softmax) and type(layer) is nn.Softmax:
        if layer.dim not in (1, -1):
            raise ValueError(
                f"{_describe(index + 1, layer)}: expected dim=1 or -1 (over each row's classes), got {layer.dim}"
            )
        head = "softmax"
    else:
        raise _unsupported(index + 1, layer)
    if len(after) > 1:
        raise ValueError(f"{_describe(index + 2, after[1])}: expected nothing after the final {type(layer).__name__}")
    return head


def _computes_its_layers(module: nn.Sequential) -> None:
    """Refuse ``module`` unless its output is exactly its layers applied in turn, on numbers it holds.

    A subclass's own ``forward`` or call path (``__call__``, ``_call_impl``), a ``forward`` or
    call path set on an instance, a compiled module or layer (``.compile()``: torch.compile's code
    runs instead), or a forward hook or pre-hook (on the module, a layer, or every module at
    once) computes something the listed layers do not say; a module on the meta device has
    shapes and no numbers.
    """
    from torch import nn
    from torch.nn.modules import module as torch_module

    call_path = ("forward", "__call__", "_wrapped_call_impl", "_call_impl")  # the last two: not in every torch 2
    for name in call_path:
        if getattr(type(module), name, None) is not getattr(nn.Sequential, name, None):
            raise ValueError(
                f"module: {type(module).__name__} overrides Sequential.{name}, so its output is not its layers "
                "applied in turn; give from_torch a plain nn.Sequential of the same layers"
            )
    every_module = {
        "forward hooks on every module": torch_module._global_forward_hooks,
        "forward pre-hooks on every module": torch_module._global_forward_pre_hooks,
    }
    for what, hooks in every_module.items():
        if hooks:
            raise ValueError(f"module: {len(hooks)} {what} change what it computes; remove them first")
    for where, part in [("module", module), *((_describe(i, layer), layer) for i, layer in enumerate(module))]:
        for name in call_path:
            if name in vars(part):
                raise ValueError(f"{where}: has its own {name} set on the instance; from_torch reads plain layers")
        if getattr(part, "_compiled_call_impl", None) is not None:  # .compile() (torch 2.2 on) sets it
            raise ValueError(
                f"{where}: is compiled (.compile()), so torch.compile's code runs instead of its layers; "
                "give from_torch the module before compiling it"
            )
        n_hooks = len(part._forward_hooks) + len(part._forward_pre_hooks)
        if n_hooks:
            raise ValueError(
                f"{where}: {n_hooks} forward hook(s) or pre-hook(s) change what it computes; remove them first"
            )
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_meta:
            raise ValueError(
                f"module: {name} is on the meta device (a shape without numbers); "
                "load its weights first, e.g. module.to_empty(device='cpu') then load_state_dict"
            )


def _linear_params(index: int, layer: nn.Linear) -> LayerParams:
    """The weights (n_in, n_out) and bias (n_out,) of ``layer``, widened to float64 exactly; no bias is 0.

    Its weight must have the shape its ``in_features`` and ``out_features`` say, which
    ``from_torch`` reads as the layer's sizes: a weight replaced by one of another shape leaves them stale.
    """
    import torch

    if not torch.is_floating_point(layer.weight):
        raise TypeError(f"{_describe(index, layer)}: expected real floating-point weights, got {layer.weight.dtype}")
    expected = (layer.out_features, layer.in_features)
    if tuple(layer.weight.shape) != expected:
        raise ValueError(
            f"{_describe(index, layer)}: expected a weight of shape (out_features, in_features) = {expected}, "
            f"got {tuple(layer.weight.shape)}; in_features and out_features must describe the weight (replacing "
            "the weight leaves them as they were): make a new nn.Linear of the weight's shape"
        )
    weights = layer.weight.detach().to(device="cpu", dtype=torch.float64).numpy().T
    bias = layer.bias
    try:
        return LayerParams(
            weights=weights,
            bias=np.zeros(layer.out_features) if bias is None else bias.detach().to("cpu", torch.float64).numpy(),
        )
    except ValidationError as error:  # NaN or infinity
        raise ValueError(f"{_describe(index, layer)}: {first_error(error)}") from None


def from_torch(module: torch.nn.Sequential) -> Network:
    """The glassnet ``Network`` that computes what ``module`` computes.

    ``module`` must be ``Linear (activation Linear)* [head]``, with exactly these layer types:

    - ``nn.Linear``: weights of any floating dtype are widened to float64 exactly (float32,
      float16, bfloat16 lose nothing); a Linear without bias gets a zero bias, which computes
      the same and which glassnet then trains like any other.
    - between two Linear layers, one hidden activation, the same kind everywhere (glassnet
      has one per network): ``nn.ReLU``, ``nn.LeakyReLU(0.01)``, ``nn.Sigmoid``, ``nn.Tanh``,
      or ``nn.Identity`` or nothing (identity);
    - after the last Linear, optionally: ``nn.Sigmoid`` (one output: the sigmoid head),
      ``nn.Softmax(dim=1)`` or ``dim=-1`` (the softmax head), ``nn.Identity``.

    Anything else (Dropout, BatchNorm, LogSoftmax, another slope, mixed activations, nested
    modules, subclasses of these types) is refused with a ``ValueError`` naming the layer's
    index and type and the reason, and so is a module that computes something other than its
    layers in turn (its own ``forward`` or call path, a compiled module, forward hooks or
    pre-hooks), a Linear whose weight disagrees with its ``in_features`` and ``out_features``,
    or one that holds no numbers (the meta device). The network is built through
    ``NetworkDocument``, so it is one that ``Network.save`` can store.

    Parameters
    ----------
    module : torch.nn.Sequential
        Maps (n, n_in) to (n, n_out).

    Returns
    -------
    Network
        Its ``forward`` equals ``module`` on float64 input; seed 0 for later training.
    """
    with _requires("torch", "from_torch"):
        from torch import nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module: expected a torch.nn.Sequential, got {type(module).__name__}")
    _computes_its_layers(module)
    segments: list[tuple[int, nn.Linear, list[nn.Module]]] = []  # each Linear: its index and the layers after it
    for index, layer in enumerate(module):
        if isinstance(layer, nn.Linear) and type(layer) is nn.Linear:
            segments.append((index, layer, []))
        elif segments:
            segments[-1][2].append(layer)
        else:
            raise ValueError(f"{_describe(index, layer)}: expected an nn.Linear layer first")
    if not segments:
        raise ValueError("module: expected nn.Linear layers, got an empty Sequential")
    sizes, params, hidden = [segments[0][1].in_features], [], []
    for k, (index, linear, after) in enumerate(segments):
        params.append(_linear_params(index, linear))  # first: its in_features and out_features are its weight's
        if linear.in_features != sizes[-1]:
            raise ValueError(
                f"{_describe(index, linear)}: takes {linear.in_features} inputs, the layer before gives {sizes[-1]}"
            )
        sizes.append(linear.out_features)
        if k + 1 < len(segments):
            hidden.append(_hidden_activation(index, after, segments[k + 1][0]))
    for name, where in hidden[1:]:
        if name != hidden[0][0]:
            raise ValueError(
                f"{where}: glassnet uses one hidden activation for every layer, "
                f"got {name} here and {hidden[0][0]} at {hidden[0][1]}"
            )
    index, last, after = segments[-1]
    activation, head = hidden[0][0] if hidden else "identity", _head(index, after)
    try:
        document = NetworkDocument(layer_sizes=sizes, activation=activation, head=head, params=params)
    except ValidationError as error:  # all else is checked: the head (or, if none, the last Linear) does not fit
        where = _describe(index + 1, after[0]) if after else _describe(index, last)
        raise ValueError(f"{where}: {first_error(error)}") from None
    return Network.from_document(document)


# --------------------------------------------------------------------------- #
# ONNX
# --------------------------------------------------------------------------- #


def _sigmoid_nodes(z: str, a: str) -> list[onnx.NodeProto]:
    """``a = max(sign(z), e) / (1 + e)`` with ``e = exp(-|z|)``: ``functions``' ``max(z >= 0, e) / (1 + e)``.

    Both numerators are 1 where ``z > 0`` and ``e`` where ``z < 0`` (``e < 1``, the sign -1),
    and 1 at ``z = 0`` (``e = 1``), so the output equals ``forward``'s to rounding, tails included.
    """
    from onnx import helper

    return [
        helper.make_node("Abs", [z], [f"{z}_abs"]),
        helper.make_node("Neg", [f"{z}_abs"], [f"{z}_negative_abs"]),
        helper.make_node("Exp", [f"{z}_negative_abs"], [f"{z}_e"]),
        helper.make_node("Sign", [z], [f"{z}_sign"]),
        helper.make_node("Max", [f"{z}_sign", f"{z}_e"], [f"{z}_numerator"]),
        helper.make_node("Add", [f"{z}_e", "one"], [f"{z}_denominator"]),
        helper.make_node("Div", [f"{z}_numerator", f"{z}_denominator"], [a]),
    ]


def _onnx_model(net: Network) -> onnx.ModelProto:
    """The ONNX graph of ``net.forward``: input ``X`` (n_samples, n_in), output ``output`` (n_samples, n_out)."""
    with _requires("onnx", "to_onnx"):
        from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    functions = [*[net.activation] * (len(net.params) - 1), net.head]  # each layer's; no hidden layer, no activation
    # a constant only when a node uses it: ONNX Runtime warns about, and removes, an unused initializer
    if "leaky_relu" in functions:
        initializers.append(numpy_helper.from_array(np.array(LEAKY_RELU_SLOPE), "leaky_relu_slope"))
    if "sigmoid" in functions:
        initializers.append(numpy_helper.from_array(np.array(1.0), "one"))
    operators = {"relu": "Relu", "tanh": "Tanh"}
    current = "X"
    for i, (p, function) in enumerate(zip(net.params, functions, strict=True), start=1):
        initializers += [
            numpy_helper.from_array(p.weights, f"weights_{i}"),
            numpy_helper.from_array(p.bias, f"bias_{i}"),
        ]
        nodes.append(helper.make_node("MatMul", [current, f"weights_{i}"], [f"product_{i}"]))
        nodes.append(helper.make_node("Add", [f"product_{i}", f"bias_{i}"], [f"z_{i}"]))
        if function == "leaky_relu":  # ONNX Runtime's LeakyRelu is float32 only; max(z, 0.01 z) is the same function
            nodes.append(helper.make_node("Mul", [f"z_{i}", "leaky_relu_slope"], [f"slope_z_{i}"]))
            nodes.append(helper.make_node("Max", [f"z_{i}", f"slope_z_{i}"], [f"a_{i}"]))
        elif function == "sigmoid":  # glassnet's form: ONNX Runtime's Sigmoid gives 0 below z = -37, 1e-3 off at -30
            nodes += _sigmoid_nodes(f"z_{i}", f"a_{i}")
        elif function == "softmax":
            nodes.append(helper.make_node("Softmax", [f"z_{i}"], [f"a_{i}"], axis=1))
        elif function != "identity":
            nodes.append(helper.make_node(operators[function], [f"z_{i}"], [f"a_{i}"]))
        current = nodes[-1].output[0]
    nodes[-1].output[0] = "output"
    n_in, n_out = net.layer_sizes[0], net.layer_sizes[-1]
    graph = helper.make_graph(
        nodes,
        "glassnet",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["n_samples", n_in])],
        [helper.make_tensor_value_info("output", TensorProto.DOUBLE, ["n_samples", n_out])],
        initializers,
        doc_string=f"{net!r}: output = forward(X), with the {net.head} head applied",
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="glassnet", ir_version=ONNX_IR_VERSION
    )
    helper.set_model_props(
        model, {"layer_sizes": ",".join(map(str, net.layer_sizes)), "activation": net.activation, "head": net.head}
    )
    return model


def to_onnx(net: Network, path: str | os.PathLike[str]) -> None:
    """Write ``net`` to ``path`` as an ONNX model whose output is ``net.forward``, in float64 throughout.

    The graph takes ``X``, float64 (n_samples, n_in), any number of rows, and gives
    ``output``, float64 (n_samples, n_out): ``forward(X)`` with the head applied (for the
    sigmoid head the probability of class 1, for softmax that of each class). Each layer is
    ``MatMul`` then ``Add``; the activations are ``Relu``, ``Tanh`` and ``Softmax(axis=1)``,
    leaky_relu is ``Max(z, Mul(z, 0.01))`` because ONNX Runtime has no float64 ``LeakyRelu``,
    and sigmoid is glassnet's own stable form, ``Max(Sign(z), e) / (1 + e)`` with
    ``e = Exp(-|z|)``, because ONNX Runtime's ``Sigmoid`` loses the tails (0 below z = -37).
    ONNX Runtime's CPU provider runs every one of them in float64,
    so its output equals ``forward``'s to rounding. Operator set 17; the model's metadata
    holds ``layer_sizes``, ``activation`` and ``head``.

    Parameters
    ----------
    net : Network
        With a built-in activation.
    path : str or PathLike
        The ``.onnx`` file, written atomically (``write_atomically``): a new path or a
        regular file to replace.
    """
    model = _onnx_model(_check_network(net, "to_onnx"))
    write_atomically(path, model.SerializeToString(), name="path")


__all__ = ["from_torch", "to_onnx", "to_torch"]
