"""What the math produced, as typed records: parameters, gradients, training histories, gradient checks.

Read top to bottom:

1. Layer records: ``LayerParams`` and ``LayerGradients``, each a ``weights`` (n_in, n_out)
   and ``bias`` (n_out,) pair of finite float64 arrays.
2. ``GradientRecord``: one backward pass. ``EpochRecord`` and ``TrainingHistory``: what
   training measured, epoch by epoch. ``GradientCheckReport``: analytic against numeric.

``TrainingHistory.diagnose()`` reads the records with `glassnet.diagnosis`.

Every record checks what must be true of anything a network produced (finite values,
non-negative losses and norms, shapes that chain, epochs that increase), on construction and
when read from JSON, so a record that could not have come from a network is rejected.
``glassnet.network`` and ``glassnet.training`` build these records; this module knows nothing of how.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tabulate import tabulate

from glassnet.diagnosis import Diagnosis, diagnose
from glassnet.guards import Float64Matrix, Float64Vector

# --------------------------------------------------------------------------- #
# 1. Layer records
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


def _layer_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github", floatfmt=".6g")


NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
"""A finite number >= 0: a loss, a norm, a ratio (checked in pydantic's core: records are made every epoch)."""
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
"""A number in [0, 1]."""


class InputScales(BaseModel):
    """The ``means`` and standard deviations ``stds`` of the input columns a run trained on, (n_in,) each."""

    model_config = ConfigDict(frozen=True)

    means: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(min_length=1)
    stds: list[NonNegative] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_per_column(self) -> Self:
        if len(self.stds) != len(self.means):
            raise ValueError(f"stds: expected one per column of means ({len(self.means)}), got {len(self.stds)}")
        return self

    @classmethod
    def of(cls, X: npt.NDArray[np.float64]) -> Self:
        """The scales of the columns of a finite ``X`` (n, n_in), from one pass over it: the means and the mean
        squares, ``var = mean(x**2) - mean(x)**2``. A column that formula cannot give to 8 digits (its variance
        below 1e-8 of its mean square, as a constant's, or sums beyond float64) is computed again on its own,
        divided by its largest magnitude and centered."""
        with np.errstate(over="ignore", invalid="ignore"):
            means = X.mean(axis=0)
            squares = np.einsum("ij,ij->j", X, X) / X.shape[0]
            variances = squares - means * means
            again = np.flatnonzero(~(np.isfinite(variances) & np.isfinite(squares)) | (variances <= 1e-8 * squares))
            stds = np.sqrt(variances)
        if again.size:
            columns = X[:, again]
            units = np.max(np.abs(columns), axis=0)
            units[units == 0] = 1.0
            scaled = columns / units
            means[again] = scaled.mean(axis=0) * units
            stds[again] = scaled.std(axis=0) * units
        return cls(means=means.tolist(), stds=stds.tolist())


# --------------------------------------------------------------------------- #
# 2. Gradients and training records
# --------------------------------------------------------------------------- #


class GradientRecord(BaseModel):
    """One backward pass: the ``loss`` (finite, >= 0) it started from and each layer's gradients.

    The layers chain: ``layers[i].weights.shape[1] == layers[i + 1].weights.shape[0]``.
    """

    loss: NonNegative
    layers: list[LayerGradients] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        for i, (layer, following) in enumerate(zip(self.layers, self.layers[1:], strict=False), start=1):
            if layer.weights.shape[1] != following.weights.shape[0]:
                raise ValueError(
                    f"layers: layer {i} has {layer.weights.shape[1]} outputs but layer {i + 1} takes "
                    f"{following.weights.shape[0]} inputs; a network's layers chain"
                )
        return self

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
    """One row of a training history: what the epoch's last step measured.

    ``loss`` is the mean training loss over the epoch's minibatches, each measured before
    its update; ``val_loss`` is measured after the epoch. Losses include the ``l2`` penalty,
    like ``Network.loss``. The per-layer lists describe the epoch's last step, before its update:

    - ``grad_norms`` (n_layers,): the norm of each layer's gradient (weights and bias together);
    - ``update_ratios`` (n_layers,): ``||change of the layer's parameters|| / ||its parameters
      before the step||``; a layer whose parameters were all zero before the step has ratio 1.0
      if the step changed it (the step made all of it) and 0.0 if not;
    - ``param_norms`` (n_layers,): ``||the layer's parameters before the step||``.

    The unit health of each hidden layer is counted over the epoch's last rows, ``unit_rows`` of them
    (256, or every row of the epoch when it has fewer; relu counts the whole steps those rows are in), a
    unit-row pair passing gradient when the activation's derivative reaches 1% of its largest possible value:

    - ``dead_fractions`` (n_layers - 1,): the share of units that passed gradient on none of those
      rows (a dead relu, or a sigmoid or tanh saturated on every row; always 0 for identity and leaky relu);
    - ``saturated_fractions`` (n_layers - 1,): for sigmoid and tanh, the share of unit-row pairs in the
      flat tails (tanh beyond |z| = 3, sigmoid beyond |z| = 6); 0 for the other activations.

    ``gradients`` is the last step's full ``GradientRecord``, on the epochs ``fit(keep_gradients=...)``
    keeps, else ``None``. Records written before ``param_norms``, ``saturated_fractions`` and
    ``unit_rows`` existed read them as ``None`` (their ``dead_fractions`` came from the last batch alone).
    """

    model_config = ConfigDict(frozen=True)

    epoch: int = Field(ge=1)
    loss: NonNegative
    val_loss: NonNegative | None = None
    grad_norms: list[NonNegative] = Field(min_length=1)
    update_ratios: list[NonNegative]
    param_norms: list[NonNegative] | None = None
    dead_fractions: list[Fraction]
    saturated_fractions: list[Fraction] | None = None
    unit_rows: int | None = Field(default=None, ge=1)
    gradients: GradientRecord | None = None

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        n_layers = len(self.grad_norms)
        for name, values, per, expected in (
            ("update_ratios", self.update_ratios, "layer", n_layers),
            ("param_norms", self.param_norms, "layer", n_layers),
            ("dead_fractions", self.dead_fractions, "hidden layer", n_layers - 1),
            ("saturated_fractions", self.saturated_fractions, "hidden layer", n_layers - 1),
        ):
            if values is not None and len(values) != expected:
                raise ValueError(f"{name}: expected one per {per} ({expected}), got {len(values)}")
        if self.gradients is not None:
            kept = self.gradients.norms
            if len(kept) != n_layers or not all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300) for a, b in zip(kept, self.grad_norms, strict=False)
            ):
                raise ValueError(
                    f"gradients: expected the step whose norms are grad_norms {self.grad_norms}, got norms {kept}"
                )
        return self

    @property
    def n_layers(self) -> int:
        """How many layers the record describes."""
        return len(self.grad_norms)


class TrainingHistory(BaseModel):
    """The recorded epochs of a training run, and how it ended.

    ``records`` have strictly increasing epochs and all describe the same number of layers;
    ``best_epoch`` (the recorded epoch with the lowest ``val_loss``) is one of them;
    ``baseline_loss`` is the loss of the best constant prediction on the training labels
    (their mean, or their class frequencies): where a network that learned nothing stays.
    """

    records: list[EpochRecord] = Field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    baseline_loss: NonNegative | None = None
    input_scales: InputScales | None = None
    """The mean and standard deviation of each input column the run trained on (``None`` in histories written
    before they were kept)."""

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        first_kept = next((r.gradients for r in self.records if r.gradients is not None), None)
        if self.input_scales is not None and first_kept is not None:
            n_in = first_kept.layers[0].weights.shape[0]
            if len(self.input_scales.means) != n_in:
                raise ValueError(
                    f"input_scales: expected one per input of the network ({n_in}), got {len(self.input_scales.means)}"
                )
        for before, after in zip(self.records, self.records[1:], strict=False):
            if after.epoch <= before.epoch:
                raise ValueError(f"records: expected strictly increasing epochs, got {before.epoch} then {after.epoch}")
            if after.n_layers != before.n_layers:
                raise ValueError(
                    f"records: expected every record to describe the same layers, got {before.n_layers} layers "
                    f"at epoch {before.epoch} and {after.n_layers} at epoch {after.epoch}"
                )
        with_validation = {record.val_loss is not None for record in self.records}
        if len(with_validation) > 1:
            raise ValueError("records: expected val_loss on every record or on none, got a mix")
        if self.best_epoch is not None and self.best_epoch not in {record.epoch for record in self.records}:
            raise ValueError(f"best_epoch: expected one of the recorded epochs, got {self.best_epoch}")
        if self.stopped_early and not self.records:
            raise ValueError("stopped_early: expected records of the epochs run before stopping, got none")
        return self

    def to_frame(self) -> pd.DataFrame:
        """One row per recorded epoch, indexed by ``epoch``.

        Columns: ``loss``, ``val_loss`` (NaN without validation data), then per layer
        ``grad_norm_<i>`` and ``update_ratio_<i>``, and per hidden layer ``dead_fraction_<i>``.
        """
        n_layers = self.records[0].n_layers if self.records else 0
        columns = [
            "epoch",
            "loss",
            "val_loss",
            *(f"grad_norm_{i}" for i in range(1, n_layers + 1)),
            *(f"update_ratio_{i}" for i in range(1, n_layers + 1)),
            *(f"dead_fraction_{i}" for i in range(1, n_layers)),
        ]
        rows = [
            [
                r.epoch,
                r.loss,
                math.nan if r.val_loss is None else r.val_loss,
                *r.grad_norms,
                *r.update_ratios,
                *r.dead_fractions,
            ]
            for r in self.records
        ]
        return pd.DataFrame(rows, columns=columns).set_index("epoch")

    def table(self, *, gradients: bool = False) -> str:
        """The epoch/loss table as a tabulate grid (no ``val_loss`` column when there was none).

        ``gradients=False`` shows each layer's gradient norm; ``True`` adds its update ratio
        and each hidden layer's dead fraction.
        """
        frame = self.to_frame()
        if frame["val_loss"].isna().all():
            frame = frame.drop(columns="val_loss")
        if not gradients:
            frame = frame.drop(columns=[c for c in frame.columns if c.startswith(("update_ratio_", "dead_fraction_"))])
        frame = frame.reset_index()
        return tabulate(frame.itertuples(index=False), headers=list(frame.columns), tablefmt="grid", floatfmt=".6g")

    def kept_gradients(self) -> dict[int, GradientRecord]:
        """The full gradient records that ``fit(keep_gradients=...)`` kept, by epoch."""
        return {r.epoch: r.gradients for r in self.records if r.gradients is not None}

    def diagnose(self) -> Diagnosis:
        """What the records say about this training run; see `glassnet.diagnosis`."""
        return diagnose(self)


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
