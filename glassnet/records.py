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

import html
import itertools
import math
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer, model_validator
from tabulate import tabulate

from glassnet.diagnosis import Diagnosis, diagnose
from glassnet.fields import Float64Matrix, Float64Vector

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# --------------------------------------------------------------------------- #
# 1. Layer records
# --------------------------------------------------------------------------- #


TableRows = tuple[list[str], Sequence[Sequence[object]]]
"""A table's headers and its rows."""


def _layer_table(headers: Sequence[str], rows: Sequence[Sequence[object]], tablefmt: str = "github") -> str:
    return tabulate(rows, headers=headers, tablefmt=tablefmt, floatfmt=".6g")


def _shape(array: np.ndarray) -> str:
    return "x".join(map(str, array.shape))


def pyplot(who: str) -> ModuleType:
    """matplotlib's pyplot, for ``who`` (``"TrainingHistory.plot"``) to draw with: a requirement of glassnet,
    imported only when a picture is asked for, and named with the command that installs it when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(f"{who} needs matplotlib, which is not installed: pip install matplotlib") from error
    return plt


class _Record(BaseModel):
    """A record that shows itself in a line (``repr``: shapes, L2 norms, the loss) and as an HTML table
    in Jupyter (``_repr_html_``), instead of every number it holds."""

    def _summary(self) -> str:
        """The inside of the one-line ``repr``."""
        raise NotImplementedError

    def _rows(self) -> TableRows:
        """The headers and rows of the record's table."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._summary()})"

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        headers, rows = self._rows()
        return f"<p><code>{html.escape(repr(self))}</code></p>\n{_layer_table(headers, rows, 'html')}"


class _WeightsAndBias(_Record):
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

    def _summary(self) -> str:
        return f"weights {_shape(self.weights)}, bias {_shape(self.bias)}, L2 norm {self.norm:.4g}"

    def _rows(self) -> TableRows:
        rows = [
            (name, _shape(part), np.linalg.norm(part))
            for name, part in (("weights", self.weights), ("bias", self.bias))
        ]
        return ["array", "shape", "L2 norm"], rows


class LayerParams(_WeightsAndBias):
    """One layer's parameters: ``weights`` (n_in, n_out), ``bias`` (n_out,).

    In ``Network.params`` the arrays are live views of the network's
    parameters: change them in place (``p.weights[...] = ...``).
    """


class LayerGradients(_WeightsAndBias):
    """``d loss / d weights`` (n_in, n_out) and ``d loss / d bias`` (n_out,) of one layer."""


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


class GradientRecord(_Record):
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

    def to_frame(self) -> pd.DataFrame:
        """One row per layer, indexed by ``layer`` (1-based): ``n_in``, ``n_out``, and the L2 norms
        ``weights_norm``, ``bias_norm`` and ``norm`` (both together, as `norms`)."""
        rows = [
            (i, *layer.weights.shape, np.linalg.norm(layer.weights), np.linalg.norm(layer.bias), layer.norm)
            for i, layer in enumerate(self.layers, start=1)
        ]
        columns = ["layer", "n_in", "n_out", "weights_norm", "bias_norm", "norm"]
        return pd.DataFrame(rows, columns=columns).set_index("layer")

    def _summary(self) -> str:
        layers = ", ".join(f"{_shape(layer.weights)} {layer.norm:.3g}" for layer in self.layers)
        return f"loss={self.loss:.6g}, {len(self.layers)} layers (weights shape, gradient L2 norm): {layers}"

    def _rows(self) -> TableRows:
        rows = [
            (i, layer.weights.shape, np.linalg.norm(layer.weights), np.linalg.norm(layer.bias))
            for i, layer in enumerate(self.layers, start=1)
        ]
        return ["layer", "weights shape", "|dW| (L2)", "|db| (L2)"], rows

    def table(self) -> str:
        """Shapes and L2 norms per layer, as a tabulate string."""
        return _layer_table(*self._rows())


class EpochRecord(_Record):
    """One row of a training history: what the epoch's last step measured.

    ``loss`` is the mean training loss over the epoch's minibatches, each measured before
    its update and weighted by its rows (a short last batch counts for its share of the rows);
    ``val_loss`` is measured after the epoch. Losses include the ``l2`` penalty, like ``Network.loss``.
    The per-layer lists describe the epoch's last step, before its update:

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
    keeps, else ``None``. An older record without ``param_norms``, ``saturated_fractions`` and ``unit_rows``
    reads them as ``None``; its ``dead_fractions`` are of the epoch's last batch alone.
    """

    model_config = ConfigDict(frozen=True, strict=True)  # no value converted: an epoch of true is no epoch

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

    def _summary(self) -> str:
        val_loss = "None" if self.val_loss is None else f"{self.val_loss:.6g}"
        norms = ", ".join(f"{norm:.3g}" for norm in self.grad_norms)
        kept = "kept" if self.gradients is not None else "not kept"
        return (
            f"epoch={self.epoch}, loss={self.loss:.6g}, val_loss={val_loss}, "
            f"gradient L2 norms [{norms}], full gradients {kept}"
        )

    def _rows(self) -> TableRows:
        rows = [
            (i, norm, ratio, self.dead_fractions[i - 1] if i <= len(self.dead_fractions) else "")
            for i, (norm, ratio) in enumerate(zip(self.grad_norms, self.update_ratios, strict=True), start=1)
        ]
        return ["layer", "gradient L2 norm", "update ratio (L2)", "dead fraction"], rows


class RowMeasures(_Record):
    """What training said about each row, over the recorded epochs of a run with ``keep_rows``: float64 (n,) arrays.

    Each recorded epoch adds every row's loss, taken from the pass that trained on it (the step's own forward
    pass, before its update: a minibatch row counts in the epoch whose pass saw it), and, for a classifier,
    its margin: the logit of the row's label minus the largest other logit, negative when the network
    prefers another class (the two logits of a binary head are ``0`` and its one output). The loss is the
    head's, per row, without the ``l2`` penalty, in the network's units (standardized targets, nats); the
    rows a run watches (``TrainingHistory.val_rows``) are measured by the validation pass after the epoch.

    Stored as running means, updated in place by Welford's rule, so that a run resumed from a checkpoint goes
    on from exactly these numbers: ``mean_loss``; ``loss_m2``, the sum over the epochs of each row's squared
    deviation from its mean loss (`loss_std` reads it); ``mean_margin`` (``None`` for regression);
    ``last_loss``, of the last recorded epoch; ``epochs``, how many recorded epochs each row counted in.
    """

    mean_loss: Float64Vector
    loss_m2: Float64Vector
    mean_margin: Float64Vector | None = None
    last_loss: Float64Vector
    epochs: int = Field(ge=1, strict=True)

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        n = self.mean_loss.shape[0]
        if n == 0:
            raise ValueError("mean_loss: expected a measure of at least one row, got none")
        named = {"loss_m2": self.loss_m2, "mean_margin": self.mean_margin, "last_loss": self.last_loss}
        for name, values in {"mean_loss": self.mean_loss, **named}.items():
            if values is None:
                continue
            if values.shape[0] != n:
                raise ValueError(f"{name}: expected one value per row of mean_loss ({n}), got {values.shape[0]}")
            if not np.isfinite(values).all():
                raise ValueError(f"{name}: expected finite values, got NaN or infinity")
            if name != "mean_margin" and (values < 0).any():
                raise ValueError(f"{name}: expected values >= 0, as losses are, got {float(values.min())!r}")
        return self

    @classmethod
    def first(cls, losses: npt.NDArray[np.float64], margins: npt.NDArray[np.float64] | None) -> Self:
        """The measures of one recorded epoch: each row's ``losses`` (n,) and ``margins`` (n,) or ``None``."""
        margin = None if margins is None else margins.copy()
        return cls(mean_loss=losses.copy(), loss_m2=np.zeros_like(losses), mean_margin=margin,
                   last_loss=losses.copy(), epochs=1)  # fmt: skip

    def add(
        self,
        losses: npt.NDArray[np.float64],
        margins: npt.NDArray[np.float64] | None,
        scratch: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """Count one more recorded epoch, its ``losses`` (n,) and ``margins`` (n,) or ``None``, in place, computing
        in ``scratch`` (2, n) (default: arrays made for the call; a run gives its own, made once)."""
        work = np.empty((2, len(self))) if scratch is None else scratch
        self.epochs += 1
        # Each operation writes in place (``out=``) through a local name, since an augmented assignment to a field
        # would pass through pydantic; the count divides as a float, which NumPy takes without the slower
        # promotion of a Python int, to the same bits.
        epochs, mean, step, after = float(self.epochs), self.mean_loss, work[0], work[1]
        delta = np.subtract(losses, mean, out=step)
        np.add(mean, np.divide(delta, epochs, out=after), out=mean)
        delta *= np.subtract(losses, mean, out=after)  # (x - old mean)(x - new mean)
        np.add(self.loss_m2, delta, out=self.loss_m2)
        self.last_loss[:] = losses
        if self.mean_margin is not None and margins is not None:
            step = np.subtract(margins, self.mean_margin, out=step)
            step /= epochs
            np.add(self.mean_margin, step, out=self.mean_margin)

    @property
    def loss_std(self) -> npt.NDArray[np.float64]:
        """(n,) each row's standard deviation of its loss over the recorded epochs: ``sqrt(loss_m2 / epochs)``."""
        return np.sqrt(self.loss_m2 / self.epochs)

    def __len__(self) -> int:
        return int(self.mean_loss.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per row measured, in the data's order: ``mean_loss``, ``loss_std``, ``mean_margin`` (a
        classifier's), ``last_loss``."""
        columns = {"mean_loss": self.mean_loss, "loss_std": self.loss_std}
        if self.mean_margin is not None:
            columns["mean_margin"] = self.mean_margin
        return pd.DataFrame({**columns, "last_loss": self.last_loss})

    def _summary(self) -> str:
        worst = int(np.argmax(self.mean_loss))
        against = "" if self.mean_margin is None else f", {int((self.mean_margin < 0).sum())} with a mean margin < 0"
        return (
            f"{len(self)} rows over {self.epochs} recorded epochs, mean loss {float(self.mean_loss.mean()):.4g} "
            f"(highest {float(self.mean_loss[worst]):.4g}, row {worst}){against}"
        )

    def _rows(self) -> TableRows:
        frame = self.to_frame()
        quantiles = frame.quantile([0.0, 0.5, 0.9, 1.0])
        return ["measure", "min", "median", "q90", "max"], [(name, *quantiles[name]) for name in frame.columns]


class TrainingHistory(_Record):
    """The recorded epochs of a training run, and how it ended.

    ``records`` have strictly increasing epochs and all describe the same layers (kept
    gradients included); ``best_epoch``, if given, is the first recorded epoch with the lowest
    ``val_loss``, as a run tracks it; ``stopped_early`` needs epochs recorded after it;
    ``baseline_loss`` is the loss of the best constant prediction on the training labels
    (their mean, or their class frequencies): where a network that learned nothing stays.
    ``initial_loss`` is the loss of the network as the run found it, on the training rows before the first
    step, with the ``l2`` penalty as the records' losses have it (``None`` in an older history, which lacks
    it, or when it overflowed float64): it tells a network that started far off from one that its
    first steps threw off.
    """

    records: list[EpochRecord] = Field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    baseline_loss: NonNegative | None = None
    initial_loss: NonNegative | None = None
    input_scales: InputScales | None = None
    """The mean and standard deviation of each input column the run trained on (``None`` in an older
    history, which lacks them)."""
    rows: RowMeasures | None = None
    """What the recorded epochs said about each training row, in the data's order, when the run was asked to
    ``keep_rows``; ``None`` otherwise (and before the first recorded epoch). Left out of the JSON when ``None``."""
    val_rows: RowMeasures | None = None
    """The same of the rows the run watched (its validation data), measured by the network that never trained
    on them; ``None`` without ``keep_rows`` or validation data."""

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
        kept = [
            (record.epoch, [layer.weights.shape for layer in record.gradients.layers])
            for record in self.records
            if record.gradients is not None
        ]
        for (epoch, shapes), (later, other) in itertools.pairwise(kept):
            if other != shapes:
                raise ValueError(
                    f"records: expected kept gradients of one network, got layer shapes {shapes} at epoch {epoch} "
                    f"and {other} at epoch {later}"
                )
        if self.rows is not None and self.val_rows is not None:
            if self.val_rows.epochs != self.rows.epochs:
                raise ValueError(
                    f"val_rows: expected the {self.rows.epochs} recorded epochs of rows, got {self.val_rows.epochs}"
                )
            if (self.val_rows.mean_margin is None) != (self.rows.mean_margin is None):
                raise ValueError("val_rows: expected margins where rows has them (a classifier's), and only there")
        with_validation = {record.val_loss is not None for record in self.records}
        if len(with_validation) > 1:
            raise ValueError("records: expected val_loss on every record or on none, got a mix")
        best = self._lowest_val_loss_epoch()
        if self.best_epoch is not None and self.best_epoch != best:  # None: not told (a selection of records)
            expected = "none, as no record has a val_loss" if best is None else f"{best}, the first lowest val_loss"
            raise ValueError(f"best_epoch: expected {expected}, got {self.best_epoch}")
        if self.stopped_early and (best is None or self.records[-1].epoch == best):
            raise ValueError(
                "stopped_early: expected epochs recorded after the best val_loss, as early stopping waits for "
                f"them, got {'no val_loss' if best is None else f'the last record at the best epoch {best}'}"
            )
        return self

    @model_serializer(mode="wrap")
    def _without_absent_rows(self, write: SerializerFunctionWrapHandler) -> dict[str, object]:
        """The history as a dict, without ``rows`` and ``val_rows`` when they are ``None``: a run that keeps no
        rows writes what it wrote before they existed."""
        document: dict[str, object] = write(self)
        for name in ("rows", "val_rows"):
            if name in document and document[name] is None:
                del document[name]
        return document

    def _lowest_val_loss_epoch(self) -> int | None:
        """The first recorded epoch with the lowest ``val_loss``, as a run tracks it; ``None`` without one."""
        watched = [(record.val_loss, record.epoch) for record in self.records if record.val_loss is not None]
        return min(watched, key=lambda pair: pair[0])[1] if watched else None

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
        headers, rows = self._rows(gradients=gradients)
        return tabulate(rows, headers=headers, tablefmt="grid", floatfmt=".6g")

    def _rows(self, *, gradients: bool = False) -> TableRows:
        frame = self.to_frame()
        if frame["val_loss"].isna().all():
            frame = frame.drop(columns="val_loss")
        if not gradients:
            frame = frame.drop(columns=[c for c in frame.columns if c.startswith(("update_ratio_", "dead_fraction_"))])
        frame = frame.reset_index()
        headers = [
            f"{name} (L2)" if name.startswith(("grad_norm_", "update_ratio_")) else name for name in frame.columns
        ]
        return headers, list(frame.itertuples(index=False))

    def _summary(self) -> str:
        if not self.records:
            return "no records"
        first, last = self.records[0], self.records[-1]
        return (
            f"{len(self.records)} records, epochs {first.epoch} to {last.epoch}, loss {first.loss:.6g} -> "
            f"{last.loss:.6g}, best_epoch={self.best_epoch}, stopped_early={self.stopped_early}"
        )

    def plot(self, ax: Axes | None = None, *, gradients: bool = False, validation: str = "validation") -> Axes:
        """The loss per recorded epoch (train, and ``validation`` when there was some) on a log scale; with
        ``gradients``, each layer's gradient L2 norm instead. Draws on ``ax`` or a new figure's axes; returns them.

        Needs matplotlib (`pyplot`).
        """
        plt = pyplot("TrainingHistory.plot")

        axes = plt.subplots(figsize=(7, 4))[1] if ax is None else ax
        frame = self.to_frame()
        if gradients:
            for name in (c for c in frame.columns if c.startswith("grad_norm_")):
                axes.plot(frame.index, frame[name], label=f"layer {name.removeprefix('grad_norm_')}")
            axes.set(xlabel="epoch", ylabel="gradient L2 norm", yscale="log", title="gradient norm per epoch")
        else:
            axes.plot(frame.index, frame["loss"], label="train")
            if not frame["val_loss"].isna().all():
                axes.plot(frame.index, frame["val_loss"], label=validation)
            axes.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss per epoch")
        axes.legend()
        return axes

    def kept_gradients(self) -> dict[int, GradientRecord]:
        """The full gradient records that ``fit(keep_gradients=...)`` kept, by epoch."""
        return {r.epoch: r.gradients for r in self.records if r.gradients is not None}

    def diagnose(self, held_out: str = "validation") -> Diagnosis:
        """What the records say about this training run; see `glassnet.diagnosis`. ``held_out`` names the rows
        whose loss is ``val_loss`` in the messages ("test" where they are a test split)."""
        return diagnose(self, held_out)


class GradientCheckReport(_Record):
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

    def _summary(self) -> str:
        return (
            f"passed={self.passed}, max_relative_error={self.max_relative_error:.3g}, tolerance={self.tolerance:.3g}, "
            f"epsilon={self.epsilon:.3g}, {len(self.analytic.layers)} layers, loss={self.analytic.loss:.6g}"
        )

    def _rows(self) -> TableRows:
        rows: list[Sequence[object]] = []
        for i, (a, n) in enumerate(zip(self.analytic.layers, self.numeric.layers, strict=True), start=1):
            for name, a_part, n_part in (("weights", a.weights, n.weights), ("bias", a.bias, n.bias)):
                error = self.errors[len(rows)]
                verdict = "ok" if error <= self.tolerance else "MISMATCH"
                rows.append((i, name, np.linalg.norm(a_part), np.linalg.norm(n_part), error, verdict))
        return ["layer", "array", "|analytic| (L2)", "|numeric| (L2)", "relative error", ""], rows

    def table(self) -> str:
        """L2 norms and relative error per layer and parameter array."""
        return _layer_table(*self._rows())


# --------------------------------------------------------------------------- #
# 3. What the network learned
# --------------------------------------------------------------------------- #

Finite = Annotated[float, Field(allow_inf_nan=False)]
"""A finite number: an effect, in its output's units per raw unit of its feature."""


class FeatureEffect(_Record):
    """One raw feature's effect on one output, over rows: in the output's units per raw unit of the feature.

    A number column (``kind="number"``): the derivative of the output with respect to the raw value,
    row by row. A category column (``kind="category"``): the output minus the output with the row's
    category replaced by ``reference`` (the most frequent in training), so rows of the reference
    category have effect 0; ``per_category`` is that change averaged over the rows of each other
    category present. ``mean``, ``std`` (population) and the quantiles ``q10 <= q50 <= q90`` are
    over the rows.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str
    kind: Literal["number", "category"]
    output: str
    mean: Finite
    std: NonNegative
    q10: Finite
    q50: Finite
    q90: Finite
    reference: str | None = None
    per_category: dict[str, Finite] | None = None

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        if not self.q10 <= self.q50 <= self.q90:
            raise ValueError(f"q10, q50, q90: expected ordered quantiles, got {self.q10}, {self.q50}, {self.q90}")
        if (self.kind == "category") != (self.reference is not None and self.per_category is not None):
            raise ValueError(
                f"{self.feature}: expected a reference and per_category exactly for a category column, got kind "
                f"{self.kind!r} with reference {self.reference!r} and per_category {self.per_category!r}"
            )
        if self.per_category is not None and self.reference in self.per_category:
            raise ValueError(f"per_category: expected the categories other than the reference {self.reference!r}")
        return self

    def _summary(self) -> str:
        against = "" if self.reference is None else f" against {self.reference!r}"
        return f"{self.feature!r} on {self.output!r}: mean {self.mean:.4g}, std {self.std:.4g}{against}"

    def _rows(self) -> TableRows:
        return list(_EFFECT_COLUMNS), [_effect_row(self)]


_EFFECT_COLUMNS = ("output", "feature", "kind", "mean", "std", "q10", "q50", "q90")


def _effect_row(effect: FeatureEffect) -> list[object]:
    return [getattr(effect, name) for name in _EFFECT_COLUMNS]


class FeatureEffects(_Record):
    """What a network learned, per raw feature: its average marginal effect and spread on each output.

    ``target`` is the target column; ``output`` the outputs described: the target itself for a
    regression (in its units), or one per class label (effects on that class's probability).
    ``features`` holds one `FeatureEffect` per output and feature, grouped by output in ``output``'s
    order, every output describing the same features in the same order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str
    output: list[str] = Field(min_length=1)
    features: list[FeatureEffect] = Field(min_length=1)

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        if len(set(self.output)) != len(self.output):
            raise ValueError(f"output: expected distinct outputs, got {self.output}")
        if len(self.features) % len(self.output):
            raise ValueError(
                f"features: expected the same features for each of the {len(self.output)} outputs, "
                f"got {len(self.features)} effects"
            )
        per_output = len(self.features) // len(self.output)
        names = [effect.feature for effect in self.features[:per_output]]
        if len(set(names)) != len(names):
            raise ValueError(f"features: expected each feature once per output, got {names}")
        for i, output in enumerate(self.output):
            group = self.features[i * per_output : (i + 1) * per_output]
            found = [(effect.output, effect.feature) for effect in group]
            if found != [(output, name) for name in names]:
                raise ValueError(f"features: expected the effects on {output!r} of {names}, in that order, got {found}")
        return self

    @property
    def feature_names(self) -> list[str]:
        """The raw features described, in order."""
        return [effect.feature for effect in self.features[: len(self.features) // len(self.output)]]

    def of(self, feature: str, output: str | None = None) -> FeatureEffect:
        """The effect of ``feature`` on ``output`` (the only output, if there is one)."""
        if output is None and len(self.output) > 1:
            raise ValueError(f"output: expected one of {self.output} for a model with several outputs, got None")
        wanted = self.output[0] if output is None else output
        for effect in self.features:
            if effect.feature == feature and effect.output == wanted:
                return effect
        raise KeyError(f"no effect of {feature!r} on {wanted!r}; the features are {self.feature_names}")

    def to_frame(self) -> pd.DataFrame:
        """One row per output and feature, indexed by (``output``, ``feature``): ``kind``, ``mean``, ``std``,
        ``q10``, ``q50``, ``q90`` and, for category columns, ``reference``."""
        rows = [[*_effect_row(effect), effect.reference] for effect in self.features]
        return pd.DataFrame(rows, columns=[*_EFFECT_COLUMNS, "reference"]).set_index(["output", "feature"])

    def _rows(self) -> TableRows:
        rows: list[Sequence[object]] = []
        for effect in self.features:
            rows.append(_effect_row(effect))
            for category, change in (effect.per_category or {}).items():
                rows.append([effect.output, f"  {category} vs {effect.reference}", "", change, "", "", "", ""])
        return list(_EFFECT_COLUMNS), rows

    def table(self) -> str:
        """Each feature's effect on each output, with each category's change against the reference, as tabulate."""
        return _layer_table(*self._rows())

    def _summary(self) -> str:
        return f"target={self.target!r}, output={self.output}, features={self.feature_names}"
