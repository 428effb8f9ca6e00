"""PyTorch and ONNX bridges: the same numbers both ways, refusals that name the layer, optional packages."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime
import pytest
import torch
from torch import nn

from glassnet import ACTIVATIONS, Activation, Head, Network, from_torch, to_onnx, to_torch
from glassnet.functions import ActivationFunction

REPO_ROOT = Path(__file__).resolve().parent.parent
ACTIVATION_NAMES: tuple[Activation, ...] = get_args(Activation)
HEAD_NAMES: tuple[Head, ...] = get_args(Head)
OUTPUTS = {"identity": 2, "sigmoid": 1, "softmax": 3}
L2 = 0.01


def network(activation: Activation, head: Head) -> Network:
    return Network([4, 6, 5, OUTPUTS[head]], activation=activation, head=head, seed=7)


def data(head: Head, n: int = 64) -> tuple[npt.NDArray[np.float64], np.ndarray]:
    """Inputs wide enough to reach every activation's negative side and saturation, and labels for ``head``."""
    rng = np.random.default_rng(1)
    X = rng.normal(scale=3.0, size=(n, 4))
    if head == "identity":
        return X, rng.normal(size=(n, OUTPUTS[head]))
    return X, rng.integers(0, max(2, OUTPUTS[head]), size=n)


def torch_loss(module: nn.Sequential, head: Head, X: torch.Tensor, y: np.ndarray) -> torch.Tensor:
    """PyTorch's loss for ``head`` (on logits for classifiers), plus the same L2 penalty as glassnet's."""
    loss: torch.Tensor
    if head == "identity":
        loss = nn.MSELoss()(module(X), torch.from_numpy(y))
    elif head == "sigmoid":
        loss = nn.BCEWithLogitsLoss()(module[:-1](X)[:, 0], torch.from_numpy(y.astype(np.float64)))
    else:
        loss = nn.CrossEntropyLoss()(module[:-1](X), torch.from_numpy(y))
    penalty = torch.stack([(layer.weight**2).sum() for layer in module if isinstance(layer, nn.Linear)]).sum()
    return loss + L2 / 2 * penalty


# --------------------------------------------------------------------------- #
# PyTorch
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_to_torch_matches_forward_and_gradients(activation: Activation, head: Head) -> None:
    net = network(activation, head)
    X, y = data(head)
    module = to_torch(net)
    X_torch = torch.from_numpy(X)

    output = module(X_torch)
    loss = torch_loss(module, head, X_torch, y)
    torch.autograd.backward(loss)
    record = net.gradients(X, y, l2=L2)

    assert output.dtype == torch.float64
    np.testing.assert_allclose(output.detach().numpy(), net.forward(X), rtol=0, atol=1e-12)
    assert loss.item() == pytest.approx(record.loss, rel=1e-12)
    linears = [layer for layer in module if isinstance(layer, nn.Linear)]
    for linear, gradients in zip(linears, record.layers, strict=True):
        assert linear.weight.grad is not None and linear.bias.grad is not None
        np.testing.assert_allclose(linear.weight.grad.numpy().T, gradients.weights, rtol=0, atol=1e-9)
        np.testing.assert_allclose(linear.bias.grad.numpy(), gradients.bias, rtol=0, atol=1e-9)


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_round_trip_through_torch_is_exact(activation: Activation, head: Head) -> None:
    net = network(activation, head)

    back = from_torch(to_torch(net))

    assert (back.layer_sizes, back.activation, back.head) == (net.layer_sizes, activation, head)
    for original, copy in zip(net.params, back.params, strict=True):
        assert np.array_equal(original.weights, copy.weights)
        assert np.array_equal(original.bias, copy.bias)


def test_to_torch_layout() -> None:
    module = to_torch(Network([3, 5, 4, 2], activation="leaky_relu", head="softmax"))

    assert [type(layer) for layer in module] == [
        nn.Linear,
        nn.LeakyReLU,
        nn.Linear,
        nn.LeakyReLU,
        nn.Linear,
        nn.Softmax,
    ]
    assert module[1].negative_slope == 0.01
    assert module[-1].dim == 1
    assert all(p.dtype == torch.float64 and p.requires_grad for p in module.parameters())
    assert [type(layer) for layer in to_torch(Network([3, 4, 1], activation="identity"))] == [
        nn.Linear,
        nn.Identity,
        nn.Linear,
    ]


def test_to_torch_copies_and_leaves_torch_global_generator_alone() -> None:
    net = Network([3, 4, 1], activation="relu", seed=0)
    before = torch.get_rng_state()

    first = to_torch(net)[0]
    assert isinstance(first, nn.Linear)
    with torch.no_grad():
        first.weight.zero_()

    assert torch.equal(torch.get_rng_state(), before)
    assert np.abs(net.params[0].weights).min() > 0


def test_training_in_torch_or_in_glassnet_gives_the_same_network() -> None:
    net = Network([4, 8, 3], activation="tanh", head="softmax", seed=0)
    X, y = data("softmax")
    module = to_torch(net)
    parameters = list(module.parameters())
    for _ in range(20):  # plain full-batch gradient descent on the logits' cross-entropy
        loss = nn.CrossEntropyLoss()(module[:-1](torch.from_numpy(X)), torch.from_numpy(y))
        with torch.no_grad():
            for parameter, gradient in zip(parameters, torch.autograd.grad(loss, parameters), strict=True):
                parameter.sub_(0.5 * gradient)

    trained_in_torch = from_torch(module)
    net.fit(X, y, epochs=20, learning_rate=0.5, optimizer="sgd")

    np.testing.assert_allclose(trained_in_torch.forward(X), module(torch.from_numpy(X)).detach().numpy(), atol=1e-12)
    for in_torch, in_glassnet in zip(trained_in_torch.params, net.params, strict=True):
        np.testing.assert_allclose(in_torch.weights, in_glassnet.weights, rtol=0, atol=1e-12)
        np.testing.assert_allclose(in_torch.bias, in_glassnet.bias, rtol=0, atol=1e-12)


def test_from_torch_widens_float32_exactly_and_reads_a_missing_bias_as_zero() -> None:
    torch.manual_seed(0)
    first = nn.Linear(3, 4, bias=False)
    module = nn.Sequential(first, nn.ReLU(), nn.Linear(4, 2), nn.Softmax(dim=-1))
    X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)

    net = from_torch(module)

    assert (net.layer_sizes, net.activation, net.head) == ([3, 4, 2], "relu", "softmax")
    assert np.array_equal(net.params[0].weights, first.weight.detach().numpy().T.astype(np.float64))
    assert np.array_equal(net.params[0].bias, np.zeros(4))
    np.testing.assert_allclose(net.forward(X), module(torch.from_numpy(X)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([nn.Linear(3, 2)], ([3, 2], "identity", "identity")),
        ([nn.Linear(3, 4), nn.Linear(4, 1), nn.Identity()], ([3, 4, 1], "identity", "identity")),
        ([nn.Linear(3, 4), nn.Identity(), nn.Linear(4, 1), nn.Sigmoid()], ([3, 4, 1], "identity", "sigmoid")),
        ([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)], ([3, 4, 4, 2], "tanh", "identity")),
        ([nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)], ([3, 4, 1], "sigmoid", "identity")),
    ],
)
def test_from_torch_reads(layers: list[nn.Module], expected: tuple[list[int], str, str]) -> None:
    net = from_torch(nn.Sequential(*layers).double())

    assert (net.layer_sizes, net.activation, net.head) == expected


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1)],
            r"^module\[1\] \(Dropout\): not supported; .*Dropout: in evaluation it is the identity",
        ),
        (
            [nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1)],
            r"^module\[1\] \(BatchNorm1d\): not supported; .*fold it into the Linear layer before it",
        ),
        (
            [nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)],
            r"^module\[1\] \(LeakyReLU\): expected negative_slope=0.01 \(glassnet's leaky_relu\), got 0.2$",
        ),
        (
            [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 1)],
            r"^module\[3\] \(Tanh\): glassnet uses one hidden activation for every layer, "
            r"got tanh here and relu at module\[1\] \(ReLU\)$",
        ),
        (
            [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Linear(4, 1)],
            r"^module\[3\] \(Linear, right after the Linear at module\[2\]\): glassnet uses one hidden activation",
        ),
        (
            [nn.Linear(3, 4), nn.ReLU(), nn.ReLU(), nn.Linear(4, 1)],
            r"^module\[2\] \(ReLU\): expected one activation between two Linear layers$",
        ),
        ([nn.Linear(3, 4), nn.ReLU(), nn.GELU(), nn.Linear(4, 1)], r"^module\[2\] \(GELU\): not supported"),
        ([nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 1)], r"^module\[1\] \(GELU\): not supported"),
        ([nn.Linear(3, 2), nn.LogSoftmax(dim=1)], r"^module\[1\] \(LogSoftmax\): not supported"),
        (
            [nn.Linear(3, 2), nn.Softmax(dim=0)],
            r"^module\[1\] \(Softmax\): expected dim=1 or -1 \(over each row's classes\), got 0$",
        ),
        ([nn.Linear(3, 2), nn.Sigmoid()], r"^module\[1\] \(Sigmoid\): .*sigmoid head expects exactly 1 output, got 2$"),
        ([nn.Linear(3, 1), nn.Softmax(dim=1)], r"^module\[1\] \(Softmax\): .*softmax head expects at least 2 outputs"),
        ([nn.Linear(3, 2), nn.Softmax(dim=1), nn.Identity()], r"^module\[2\] \(Identity\): expected nothing after"),
        ([nn.ReLU(), nn.Linear(3, 1)], r"^module\[0\] \(ReLU\): expected an nn.Linear layer first$"),
        ([nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 1)], r"^module\[2\] \(Linear\): takes 5 inputs, the layer before"),
        ([nn.Linear(3, 4), nn.Sequential(nn.ReLU())], r"^module\[1\] \(Sequential\): not supported"),
        ([], r"^module: expected nn.Linear layers, got an empty Sequential$"),
    ],
)
def test_from_torch_refuses_what_glassnet_cannot_compute(layers: list[nn.Module], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_torch(nn.Sequential(*layers))


def test_from_torch_refuses_other_kinds() -> None:
    with pytest.raises(TypeError, match=r"^module: expected a torch.nn.Sequential, got Linear$"):
        from_torch(nn.Linear(3, 1))  # type: ignore[arg-type]
    linear = nn.Linear(3, 1)
    with torch.no_grad():
        linear.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^module\[0\] \(Linear\): .*LayerParams: expected finite values, got NaN"):
        from_torch(nn.Sequential(linear))


class Doubled(nn.Sequential):
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = 2 * super().forward(input)  # type: ignore[no-untyped-call]
        return output


class DoubledCall(nn.Sequential):
    def __call__(self, input: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = 2 * super().__call__(input)
        return output


def zeros(input: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(input), 1)


def own_call_impl() -> nn.Sequential:
    module = nn.Sequential(nn.Linear(3, 1))
    module[0]._call_impl = zeros  # type: ignore[method-assign]  # what the module's call runs
    return module


def compiled(part: int | None) -> nn.Sequential:
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    # what Module.compile() sets (torch.compile of its _call_impl), without loading torch's compiler
    (module if part is None else module[part])._compiled_call_impl = zeros
    return module


def hooked(where: str) -> nn.Sequential:
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    if where == "module":
        module.register_forward_hook(lambda _, inputs, output: output + 1)
    elif where == "layer":
        module[1].register_forward_pre_hook(lambda _, inputs: (inputs[0] * 2,))
    else:
        module[2].forward = lambda input: input.sum(dim=1, keepdim=True)
    return module


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Doubled(nn.Linear(3, 1)), r"^module: Doubled overrides Sequential.forward"),
        (lambda: hooked("module"), r"^module: 1 forward hook\(s\) or pre-hook\(s\) change what it computes"),
        (lambda: hooked("layer"), r"^module\[1\] \(ReLU\): 1 forward hook\(s\) or pre-hook\(s\)"),
        (lambda: hooked("instance"), r"^module\[2\] \(Linear\): has its own forward set on the instance"),
        (lambda: nn.Sequential(nn.Linear(3, 1, device="meta")), r"^module: 0.weight is on the meta device"),
        (lambda: DoubledCall(nn.Linear(3, 1)), r"^module: DoubledCall overrides Sequential.__call__, so its output"),
        (own_call_impl, r"^module\[0\] \(Linear\): has its own _call_impl set on the instance"),
        (lambda: compiled(None), r"^module: is compiled \(.compile\(\)\), so torch.compile's code runs instead"),
        (lambda: compiled(2), r"^module\[2\] \(Linear\): is compiled"),
    ],
    ids=[
        "subclass forward",
        "module hook",
        "layer pre-hook",
        "instance forward",
        "meta device",
        "subclass __call__",
        "instance _call_impl",
        "compiled module",
        "compiled layer",
    ],
)
def test_from_torch_refuses_a_module_that_computes_more_than_its_layers(
    make: Callable[[], nn.Sequential], message: str
) -> None:
    module = make()
    with pytest.raises(ValueError, match=message):
        from_torch(module)


@pytest.mark.parametrize("after", [[], [nn.ReLU(), nn.Linear(3, 1)]], ids=["last layer", "inner layer"])
def test_from_torch_refuses_a_weight_its_linear_does_not_describe(after: list[nn.Module]) -> None:
    linear = nn.Linear(4, 3)
    linear.weight = nn.Parameter(torch.randn(3, 5))  # torch now takes 5 inputs; in_features still says 4

    with pytest.raises(
        ValueError,
        match=r"^module\[0\] \(Linear\): expected a weight of shape \(out_features, in_features\) = \(3, 4\), "
        r"got \(3, 5\); in_features and out_features must describe the weight",
    ):
        from_torch(nn.Sequential(linear, *after))


def test_from_torch_refuses_hooks_on_every_module() -> None:
    handle = nn.modules.module.register_module_forward_pre_hook(lambda _, inputs: inputs)
    try:
        with pytest.raises(ValueError, match=r"^module: 1 forward pre-hooks on every module change what it computes"):
            from_torch(nn.Sequential(nn.Linear(3, 1)))
    finally:
        handle.remove()
    assert from_torch(nn.Sequential(nn.Linear(3, 1))).layer_sizes == [3, 1]


def test_bridges_refuse_an_activation_they_cannot_translate(monkeypatch: pytest.MonkeyPatch) -> None:
    tanh = ACTIVATIONS["tanh"]  # under another name: registered activations have no counterpart elsewhere
    monkeypatch.setitem(ACTIVATIONS, "softsign", ActivationFunction(tanh.forward, tanh.derivative))
    net = Network([2, 3, 1], activation="softsign")

    for bridge in (to_torch, lambda net: to_onnx(net, "unused.onnx")):
        with pytest.raises(ValueError, match=r"^net: to_\w+ translates the activations \[.*\], got 'softsign'"):
            bridge(net)
    with pytest.raises(TypeError, match=r"^net: expected a glassnet Network, got Sequential$"):
        to_torch(nn.Sequential())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# ONNX
# --------------------------------------------------------------------------- #


def run_onnx(path: Path, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    output: npt.NDArray[np.float64] = session.run(["output"], {"X": X})[0]
    return output


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_onnx_runtime_matches_forward_in_float64(activation: Activation, head: Head, tmp_path: Path) -> None:
    net = network(activation, head)
    X, _ = data(head)
    path = tmp_path / "model.onnx"

    to_onnx(net, path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph

    output = run_onnx(path, X)
    assert output.dtype == np.float64
    np.testing.assert_allclose(output, net.forward(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(run_onnx(path, X[:1]), net.forward(X[:1]), rtol=0, atol=1e-12)  # any batch size
    tensors = [*inferred.input, *inferred.value_info, *inferred.output]
    assert {t.type.tensor_type.elem_type for t in tensors} == {onnx.TensorProto.DOUBLE}
    assert "LeakyRelu" not in {node.op_type for node in model.graph.node}


def test_onnx_model_interface(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"an older file, replaced whole")

    to_onnx(Network([4, 8, 3], activation="relu", head="softmax"), path)
    model = onnx.load(path)

    (model_input,), (model_output,) = model.graph.input, model.graph.output
    assert model_input.name == "X" and model_output.name == "output"
    assert [d.dim_param or d.dim_value for d in model_input.type.tensor_type.shape.dim] == ["n_samples", 4]
    assert [d.dim_param or d.dim_value for d in model_output.type.tensor_type.shape.dim] == ["n_samples", 3]
    assert {p.key: p.value for p in model.metadata_props} == {
        "layer_sizes": "4,8,3",
        "activation": "relu",
        "head": "softmax",
    }
    assert model.opset_import[0].version == 17
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left behind


def test_to_onnx_refuses_a_folder_as_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^path .*: is a folder, expected a regular file to write$"):
        to_onnx(Network([2, 1]), tmp_path)


@pytest.mark.parametrize("path", [5, None, b"model.onnx"], ids=repr)
def test_to_onnx_names_path_when_it_is_not_one(path: object) -> None:
    with pytest.raises(
        TypeError, match=rf"^path: expected a file path \(str or os.PathLike\), got {type(path).__name__}$"
    ):
        to_onnx(Network([2, 1]), path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("layer_sizes", "activation", "head", "constants"),
    [
        ([3, 2], "leaky_relu", "identity", []),  # no hidden layer: the activation is never applied
        ([3, 1], "sigmoid", "identity", []),
        ([3, 1], "leaky_relu", "sigmoid", ["one"]),
        ([3, 4, 2], "leaky_relu", "identity", ["leaky_relu_slope"]),
        ([3, 4, 1], "sigmoid", "sigmoid", ["one"]),
    ],
)
def test_onnx_holds_only_the_constants_its_nodes_use(
    layer_sizes: list[int], activation: Activation, head: Head, constants: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "model.onnx"

    to_onnx(Network(layer_sizes, activation=activation, head=head), path)
    graph = onnx.load(path).graph

    used = {name for node in graph.node for name in node.input}
    assert [i.name for i in graph.initializer if not i.name.startswith(("weights_", "bias_"))] == constants
    assert {i.name for i in graph.initializer} <= used


# --------------------------------------------------------------------------- #
# Optional packages
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("missing", "call", "message"),
    [
        ("torch", lambda tmp: to_torch(Network([2, 1])), "to_torch needs torch: pip install torch"),
        ("torch", lambda tmp: from_torch(nn.Sequential()), "from_torch needs torch: pip install torch"),
        ("onnx", lambda tmp: to_onnx(Network([2, 1]), tmp / "m.onnx"), "to_onnx needs onnx: pip install onnx"),
    ],
)
def test_a_bridge_without_its_package_says_what_to_install(
    missing: str, call: Callable[[Path], object], message: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)

    with pytest.raises(ImportError, match=rf"^{message} \(or pip install 'glassnet\[{missing}\]'\)$"):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_glassnet_imports_without_any_optional_package() -> None:
    optional = ["sklearn", "torch", "onnx", "onnxruntime", "dask", "distributed", "joblib"]
    code = (
        f"import sys\nfor name in {optional!r}:\n    sys.modules[name] = None\n"
        "import glassnet, glassnet.export, network, create_data, train\n"
        "glassnet.Network([2, 1]).fit([[0.0, 1.0]], [1.0], epochs=1)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in "
        f"{optional!r} and sys.modules[name] is not None))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("activation", "head"), [("identity", "sigmoid"), ("sigmoid", "identity")])
def test_onnx_sigmoid_keeps_forward_s_tails(activation: Activation, head: Head, tmp_path: Path) -> None:
    # one unit per layer, weights 1 and biases 0: the sigmoid sees z itself, from exp's underflow to 1
    net = Network([1, 1] if activation == "identity" else [1, 1, 1], activation=activation, head=head)
    for layer in net.params:
        layer.weights[:], layer.bias[:] = 1.0, 0.0
    z = np.concatenate([np.linspace(-745.0, 40.0, 4001), [0.0, -0.0, 1e-300, -1e-300]])[:, None]
    path = tmp_path / "model.onnx"

    to_onnx(net, path)
    output, expected = run_onnx(path, z), net.forward(z)

    assert expected[np.searchsorted(z[:4001, 0], -40.0), 0] > 0  # forward keeps probabilities ONNX's Sigmoid lost
    np.testing.assert_allclose(output, expected, rtol=1e-15, atol=0)
