"""The network a user holds: a dense feed-forward network's parameters and gradients, its checks and its calls.

A layer computes ``Z = A_prev @ W + b`` and ``A = f(Z)``, the output layer ``A = head(Z)``.
All parameters live in one flat vector, laid out by `glassnet.layout.ParameterLayout` (every
layer's weights, then every layer's biases); the `LayerParams` in ``Network.params`` are views
into it, so an optimizer step is one vector update and a snapshot is one copy.

Read top to bottom: the stored form (`NetworkDocument`), the shape every input must have
(`check_matrix`) and the checks of a network's inputs and labels (`check_inputs`, `check_data`,
`check_validation`), then `Network`: its layout, the public calls (forward, predict, score,
loss, gradients, fit), and persistence; last `gradient_check`, against central differences.
The math of a step, forward and backward, is `glassnet.step.TrainingStep`; a `TrainingRun`
builds its own steps from ``parameter_vector``, a gradient vector of its own and the layout.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, Unpack

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError, model_validator

from glassnet.buffers import LayerBuffers, StepBuffers
from glassnet.fields import FloatArray, float_array
from glassnet.files import read_model, register_reader, write_atomically
from glassnet.functions import ACTIVATIONS, HEADS, Activation, Head, RowScratch
from glassnet.layout import ParameterLayout
from glassnet.optim import state_refusal
from glassnet.records import (
    EpochRecord,
    GradientCheckReport,
    GradientRecord,
    LayerGradients,
    LayerParams,
    TrainingHistory,
)
from glassnet.rules import first_error, non_negative_number, one_of, optional_seed, positive_int, positive_number
from glassnet.step import TrainingStep

if TYPE_CHECKING:
    from glassnet.settings import TrainingOptions, TrainingSettings

Init = Literal["xavier", "he", "normal"]
INPUT_GRADIENT_ROWS = 1024
"""`Network.input_gradients` works through this many rows at a time, in one set of buffers that stays in cache."""


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


register_reader(NetworkDocument, "glassnet.Network.load")


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


def check_matrix(array: FloatArray, name: str, n_features: int | None = None) -> None:
    """Refuse ``array`` unless it is 2-D with at least one row and one column.

    The messages name ``name`` and the shape (n_samples, ``n_features``), or (n_samples,
    n_features) before a width is known; those for empty arrays are worded as
    scikit-learn's, so the estimators in ``glassnet.sklearn`` pass its checks.
    """
    if array.ndim != 2:
        width = "n_features" if n_features is None else n_features
        single = "X.reshape(-1, 1) if it has a single feature, X.reshape(1, -1) if it is a single sample"
        reshape = f"; Reshape your data: {single}" if array.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array (n_samples, {width}), got shape {array.shape}{reshape}")
    for axis, what in ((0, "sample"), (1, "feature")):
        if array.shape[axis] == 0:
            raise ValueError(
                f"{name}: found array with 0 {what}(s) (shape={array.shape}) while a minimum of 1 is required."
            )


def check_inputs(network: Network, X: object, name: str = "X") -> FloatArray:
    """``X`` (n, n_in) as a C-contiguous float64 array for ``network``, or the error that names what is wrong with it.

    The shape is `check_matrix`'s; the message for a wrong width is worded as scikit-learn's,
    so the estimators in ``glassnet.sklearn`` pass its checks on glassnet's own validation.
    """
    array = float_array(X, name)
    n_in = network.layer_sizes[0]
    check_matrix(array, name, n_in)
    if array.shape[1] != n_in:
        raise ValueError(
            f"{name} has {array.shape[1]} features, but Network is expecting {n_in} features as input: "
            f"expected shape (n_samples, {n_in}), got {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: expected finite values, got NaN or infinity")
    return np.ascontiguousarray(array)


def check_data(
    network: Network, X: object, y: object, names: tuple[str, str] = ("X", "y")
) -> tuple[FloatArray, FloatArray]:
    """Inputs (n, n_in) and the head's targets (n, n_out) for ``network``, both C-contiguous float64, from ``X``
    and labels ``y``.

    ``names`` are the arguments the messages name. Arrays checked here are what a `glassnet.step.TrainingStep`
    takes: nothing checks them again.
    """
    X_checked = check_inputs(network, X, names[0])
    labels = float_array(y, names[1])
    if labels.ndim == 0 or labels.shape[0] != X_checked.shape[0]:
        raise ValueError(
            f"{names[1]}: expected {X_checked.shape[0]} rows to match {names[0]}, got shape {labels.shape}"
        )
    if not np.isfinite(labels).all():
        raise ValueError(f"{names[1]}: expected finite values, got NaN or infinity")
    try:
        targets = HEADS[network.head].targets(labels, network.layer_sizes[-1])
    except ValueError as error:
        raise ValueError(str(error).replace("y:", f"{names[1]}:", 1)) from None
    return X_checked, np.ascontiguousarray(targets)


def check_validation(network: Network, validation_data: object) -> tuple[FloatArray, FloatArray]:
    """`check_data` of a pair ``(X_val, y_val)``."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise ValueError(f"validation_data: expected a pair (X_val, y_val), got {type(validation_data).__name__}")
    X_val, y_val = validation_data
    return check_data(network, X_val, y_val, names=("validation_data X", "validation_data y"))


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

    Attributes
    ----------
    optimizer_state : object
        The optimizer's state at the end of the last ``fit`` (``None`` before one, and for SGD,
        which keeps none): what ``fit(..., warm_start=True)`` goes on from. It is not saved with
        the network; a `TrainingRun` checkpoint stores it.
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
        self._generator = np.random.default_rng(seed)
        self.optimizer_state: Any = None
        layout = ParameterLayout(self.shapes)
        try:
            self._set_parameters(np.zeros(layout.size))
        except (MemoryError, ValueError):
            too_many = f"need {layout.n_weights:,} weights, more than memory holds"
            raise ValueError(f"layer_sizes: {sizes} {too_many}") from None
        for p, (n_in, n_out) in zip(self.params, self.shapes, strict=True):
            scale = scales[init](n_in, n_out) if init in scales else 1.0
            p.weights[...] = self._generator.normal(0.0, scale, size=(n_in, n_out))

    def _set_parameters(self, flat: FloatArray) -> None:
        """Make ``flat`` (p,) the parameter vector: typed per-layer views of it, and a gradient vector like it for
        the network's own calls (`gradients`)."""
        self._layout = ParameterLayout(self.shapes)
        self._parameters = flat
        self.params = self._layout.views(flat, LayerParams)
        self._gradients = np.zeros_like(flat)

    # ----- copies ------------------------------------------------------------

    def __getstate__(self) -> dict[str, object]:
        """What ``copy``, ``deepcopy`` and pickle keep: the architecture, the parameters, the generator's position
        and a copy of the optimizer's state.

        The per-layer views are left out on purpose: ``__setstate__`` rebuilds them onto the
        copy's own vector. A copied view would be a separate array that the optimizer, which
        updates the flat vector, never touches, and the copy would not train.
        """
        return {
            "layer_sizes": list(self.layer_sizes),
            "activation": self.activation,
            "head": self.head,
            "parameters": self._parameters.copy(),
            "rng_state": self._generator.bit_generator.state,
            "optimizer_state": copy.deepcopy(self.optimizer_state),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild a network from `__getstate__`'s dict, its views onto its own parameter vector."""
        self.layer_sizes = list(state["layer_sizes"])
        self.activation = state["activation"]
        self.head = state["head"]
        self._generator = np.random.default_rng()
        self._generator.bit_generator.state = state["rng_state"]
        self.optimizer_state = state.get("optimizer_state")
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
        return int(self._parameters.size)

    @property
    def parameter_vector(self) -> FloatArray:
        """(p,) every parameter, live, laid out by `glassnet.layout.ParameterLayout`: each layer's weights, then each
        layer's bias. ``params`` are views of it; update it in place."""
        return self._parameters

    @property
    def generator(self) -> np.random.Generator:
        """The network's one random generator: it drew the initial weights and shuffles minibatches."""
        return self._generator

    def __repr__(self) -> str:
        return (
            f"Network({self.layer_sizes}, activation={self.activation!r}, head={self.head!r}, "
            f"n_parameters={self.n_parameters})"
        )

    def _step(self, rows: int) -> TrainingStep:
        """The forward and backward pass over batches of ``rows`` rows, in new step buffers, reading the parameter
        vector and writing the network's own gradient vector."""
        activation, head = ACTIVATIONS[self.activation], HEADS[self.head]
        return TrainingStep.of(rows, self._layout, self._parameters, self._gradients, activation, head)

    def _checked_forward(self, X: FloatArray) -> TrainingStep:
        """A forward pass over checked inputs ``X`` (n, n_in), in new buffers, refused if it overflowed."""
        step = self._step(X.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            step.forward(X)
        self._refuse_overflow(X, step.buffers)
        return step

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

    def _prediction_from(self, top: LayerBuffers) -> np.ndarray:
        """What ``predict`` returns from the output layer's buffers: the output, or labels from the logits."""
        if self.head == "identity":
            return top.output
        labels: npt.NDArray[np.int64] = (
            (top.z[:, 0] > 0).astype(np.int64) if self.head == "sigmoid" else top.z.argmax(axis=1)
        )
        return labels

    # ----- public API --------------------------------------------------------

    def forward(self, X: npt.ArrayLike) -> FloatArray:
        """Network output (n, n_out) with the head applied: probabilities for classifiers."""
        return self._checked_forward(check_inputs(self, X)).output

    def input_gradients(self, X: npt.ArrayLike) -> FloatArray:
        """``d forward(X)[i, k] / d X[i, j]``, exact: (n, n_out, n_in), head applied (probabilities for classifiers).

        Per block of at most `INPUT_GRADIENT_ROWS` rows, in one set of step buffers: a forward pass, then
        per output ``k`` the backward pass carried down to the inputs: the head's slopes ``d a_k / d z``
        (rows, n_out), then ``delta = (delta @ W.T) * f'(Z)`` layer by layer, and ``delta @ W_1.T``.
        ``X`` is checked as `forward` checks it.
        """
        X_checked = check_inputs(self, X)
        n_rows, n_out = X_checked.shape[0], self.layer_sizes[-1]
        gradients = np.empty((n_rows, n_out, self.layer_sizes[0]))
        step = self._step(min(n_rows, INPUT_GRADIENT_ROWS))
        for start in range(0, n_rows, INPUT_GRADIENT_ROWS):
            rows = X_checked[start : start + INPUT_GRADIENT_ROWS]
            if rows.shape[0] != step.buffers.rows:
                step = self._step(rows.shape[0])  # the last, shorter block
            with np.errstate(over="ignore", invalid="ignore"):
                step.forward(rows)
                self._refuse_overflow(rows, step.buffers)
                for k in range(n_out):
                    step.input_gradients(k, gradients[start : start + rows.shape[0], k, :], slopes_known=k > 0)
        if not np.isfinite(gradients).all():
            raise ValueError(
                "X: the network's input gradients overflow float64 for these inputs; scale the inputs, "
                "e.g. standardize them"
            )
        return gradients

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Identity head: ``forward(X)`` (n, n_out). Classifiers: integer labels (n,), from the logits."""
        return self._prediction_from(self._checked_forward(check_inputs(self, X)).buffers.layers[-1])

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """R^2 (averaged over outputs) for the identity head, accuracy for classifiers."""
        X_checked, Y = check_data(self, X, y)
        prediction = self._prediction_from(self._checked_forward(X_checked).buffers.layers[-1])
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
        X_checked, Y = check_data(self, X, y)
        l2 = non_negative_number(l2, "l2")
        step = self._checked_forward(X_checked)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = step.output_loss(Y, l2)
        if not math.isfinite(loss):
            raise ValueError(f"X, y: the loss overflows float64 ({loss}) for these inputs and labels; scale them")
        return loss

    def row_losses(self, X: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        """Each row's loss of the head (n,) over ``X`` (n, n_in): the losses `loss` averages (without ``l2``)."""
        X_checked, Y = check_data(self, X, y)
        top = self._checked_forward(X_checked).layers[-1]
        losses = np.empty(X_checked.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            diff = np.subtract(top.a, Y, out=top.buffers.delta)  # A_out - Y, as the step's loss leaves it
            HEADS[self.head].row_losses(top.z, top.a, Y, diff, RowScratch.of(*Y.shape), losses)
        return losses

    def gradients(self, X: npt.ArrayLike, y: npt.ArrayLike, *, l2: float = 0.0) -> GradientRecord:
        """One backward pass over all of ``X``: the loss and a copy of every layer's gradients."""
        X_checked, Y = check_data(self, X, y)
        l2 = non_negative_number(l2, "l2")
        step = self._step(X_checked.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            loss = step.loss_and_gradients(X_checked, Y, l2)
        self._refuse_overflow(X_checked, step.buffers)
        if not (math.isfinite(loss) and np.isfinite(self._gradients).all()):
            raise ValueError("X, y: the loss or its gradient overflows float64 for these inputs and labels; scale them")
        return step.gradient_record(loss)

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        settings: TrainingSettings | None = None,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        verbose: bool = False,
        on_record: Callable[[EpochRecord], None] | None = None,
        warm_start: bool = False,
        **options: Unpack[TrainingOptions],
    ) -> TrainingHistory:
        """Train by minibatch gradient descent and return the recorded history.

        One uninterrupted `TrainingRun`: the parameters are the same, bit for bit, as those of a
        run paused and resumed. Each call goes on from the network's parameters and starts a
        fresh optimizer state, whatever the settings; ``warm_start=True`` goes on from
        ``optimizer_state``, the state the last call ended with, so that a second call for the
        remaining epochs gives the bits of one call for all of them.

        Parameters
        ----------
        X, y : arrays
            Inputs (n, n_in) and labels in the head's format.
        settings : TrainingSettings, optional
            How to train, as one record; or give its fields as keywords (``options``).
        validation_data : (X_val, y_val), optional
            Measured after every recorded epoch as ``val_loss``; ``patience`` stops on it.
        verbose : bool
            Print each record as it is made.
        on_record : callable, optional
            Called with each ``EpochRecord`` as it is made.
        warm_start : bool
            Go on from ``optimizer_state`` (a built-in optimizer's must be the kind it keeps,
            e.g. Adam's moments and step count) rather than a fresh state.
        **options
            The fields of `TrainingSettings` (``epochs``, ``optimizer``, ``learning_rate``,
            ``batch_size``, ``l2``, ``patience``, ``record_every``, ``keep_gradients``), each
            with the default and meaning written there.

        Raises
        ------
        TrainingDiverged
            When a loss becomes non-finite; the network keeps its last finite parameters.
        """
        from glassnet.training import TrainingRun  # training drives the network: it stands above it

        run = TrainingRun(self, X, y, settings, validation_data=validation_data, **options)
        if warm_start:
            refusal = state_refusal(run.settings.optimizer, self.optimizer_state, self.n_parameters)
            if refusal is not None:
                raise ValueError(f"warm_start: network.optimizer_state: {refusal}; fit without warm_start to start one")
            run.optimizer_state = self.optimizer_state
        self.optimizer_state = run.optimizer_state  # the state the run updates in place, also if it diverges
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

    def to_document(self, *, copy: bool = True) -> NetworkDocument:
        """The architecture and parameters as a document, refused if a parameter is not finite: a validated copy,
        or (``copy=False``) one that shares the live arrays, for a writer that dumps it before they change."""
        sizes, activation, head = self.layer_sizes, self.activation, self.head
        if not copy and np.isfinite(self.parameter_vector).all():  # else the copy's validation says what is wrong
            shared = [LayerParams.model_construct(weights=p.weights, bias=p.bias) for p in self.params]
            return NetworkDocument.model_construct(layer_sizes=sizes, activation=activation, head=head, params=shared)
        try:
            params = [LayerParams(weights=p.weights.copy(), bias=p.bias.copy()) for p in self.params]
        except ValidationError as error:
            raise ValueError(f"cannot store the network: {first_error(error)}") from None
        return NetworkDocument(layer_sizes=sizes, activation=activation, head=head, params=params)

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
    X_checked, Y = check_data(net, X, y)
    step = net._step(X_checked.shape[0])
    flat = net.parameter_vector
    numeric_flat = np.empty_like(flat)
    for i in range(flat.size):
        original = flat[i]
        try:
            flat[i] = original + epsilon
            loss_plus = step.loss(X_checked, Y, l2)
            flat[i] = original - epsilon
            loss_minus = step.loss(X_checked, Y, l2)
        finally:
            flat[i] = original
        numeric_flat[i] = (loss_plus - loss_minus) / (2.0 * epsilon)
    numeric = GradientRecord(loss=analytic.loss, layers=ParameterLayout(net.shapes).views(numeric_flat, LayerGradients))
    errors = []
    for a, b in zip(analytic.layers, numeric.layers, strict=True):
        for a_part, b_part in ((a.weights, b.weights), (a.bias, b.bias)):
            scale = np.linalg.norm(a_part) + np.linalg.norm(b_part)
            errors.append(float(np.linalg.norm(a_part - b_part) / scale) if scale > 0 else 0.0)
    return GradientCheckReport(analytic=analytic, numeric=numeric, epsilon=epsilon, tolerance=tolerance, errors=errors)
