"""What the math produced, as typed records, and what a training history says about itself.

Read top to bottom:

1. Layer records: ``LayerParams`` and ``LayerGradients``, each a ``weights`` (n_in, n_out)
   and ``bias`` (n_out,) pair of finite float64 arrays.
2. ``GradientRecord``: one backward pass. ``EpochRecord`` and ``TrainingHistory``: what
   training measured, epoch by epoch. ``GradientCheckReport``: analytic against numeric.
3. The diagnosis: ``TrainingHistory.diagnose()`` reads the records and returns typed
   ``Finding``s, each saying what happened, from which epoch, in which layer, and what to try.

Every record checks what must be true of anything a network produced (finite values,
non-negative losses and norms, shapes that chain, epochs that increase), on construction and
when read from JSON, so a record that could not have come from a network is rejected.
``network.py`` builds these records; this module knows nothing of how.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Literal, Self

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from tabulate import tabulate

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
    - ``dead_fractions`` (n_layers - 1,): per hidden layer, the share of units whose activation
      derivative stayed below 1% of its largest possible value on every row of the step's batch
      (a dead relu, a saturated sigmoid or tanh; always 0 for identity);
    - ``gradients``: that step's full ``GradientRecord``, on the epochs ``fit(keep_gradients=...)``
      keeps, else ``None``.
    """

    model_config = ConfigDict(frozen=True)

    epoch: int = Field(ge=1)
    loss: NonNegative
    val_loss: NonNegative | None = None
    grad_norms: list[NonNegative] = Field(min_length=1)
    update_ratios: list[NonNegative]
    dead_fractions: list[Fraction]
    gradients: GradientRecord | None = None

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
        n_layers = len(self.grad_norms)
        if len(self.update_ratios) != n_layers:
            raise ValueError(f"update_ratios: expected one per layer ({n_layers}), got {len(self.update_ratios)}")
        if len(self.dead_fractions) != n_layers - 1:
            raise ValueError(
                f"dead_fractions: expected one per hidden layer ({n_layers - 1}), got {len(self.dead_fractions)}"
            )
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

    @model_validator(mode="after")
    def _a_network_could_have_made_it(self) -> Self:
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
        """What the records say about this training run; see `Diagnosis`."""
        return Diagnosis(findings=[finding for rule in _RULES for finding in rule(self)])


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


# --------------------------------------------------------------------------- #
# 3. Diagnosis
# --------------------------------------------------------------------------- #

FindingKind = Literal[
    "vanishing_gradients",
    "exploding_gradients",
    "dead_units",
    "step_too_large",
    "step_too_small",
    "plateau",
    "overfitting",
]


class Finding(BaseModel):
    """One problem the records show: its ``kind``, the ``epoch`` it shows from, the ``layer`` (1-based)
    it is in (``None`` for the whole network), and a ``message`` saying what happened and what to try."""

    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    epoch: int = Field(ge=1)
    layer: int | None = Field(default=None, ge=1)
    message: str


class Diagnosis(BaseModel):
    """The findings of `TrainingHistory.diagnose`; ``healthy`` when there are none."""

    findings: list[Finding] = Field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No findings."""
        return not self.findings

    def table(self) -> str:
        """One row per finding (kind, epoch, layer, message), or a line saying the run looks healthy."""
        if self.healthy:
            return "no problems found in the training records"
        rows = [(f.kind, f.epoch, "-" if f.layer is None else f.layer, f.message) for f in self.findings]
        return tabulate(rows, headers=["finding", "from epoch", "layer", "what it means"], tablefmt="github")


# The thresholds each rule uses. They are deliberately far from what healthy runs show
# (calibrated on the command line's default run, the examples and the notebook), so that a
# finding is worth reading; tests/test_records.py holds the cases on both sides.
VANISHING_RATIO = 1e-3
"""A layer's gradient norm below this fraction of the output layer's: the gradient vanishes on its way back."""
EXPLODING_RATIO = 1e3
"""A layer's gradient norm above this multiple of the output layer's, or a first loss above this multiple
of the baseline (outputs so large that signals and gradients grow layer by layer)."""
DEAD_SHARE = 0.5
"""A hidden layer with at least this share of dead or saturated units at the end of training."""
LARGE_UPDATE_RATIO = 0.1
"""A typical step that changes a layer's parameters by more than this fraction of their size."""
WORSE_THAN_BEST = 0.5
"""A training loss that ends this far (relative) above the best it reached: the steps overshoot."""
SMALL_UPDATE_RATIO = 1e-5
"""A typical step that changes a layer's parameters by less than this fraction of their size."""
STALLED = 0.01
"""A relative loss change below this over a stretch of records: the loss is not moving."""
PLATEAU_OF_BASELINE = 0.9
"""A stalled loss at or above this share of the baseline (the best constant prediction's loss)."""
OVERFIT_RISE = 0.1
"""A validation loss this far (relative) above its best while the training loss still falls."""
MIN_RECORDS = 5
"""Trends (plateaus, rising or stalled losses) need at least this many records to be judged."""


def _vanishing_or_exploding(history: TrainingHistory) -> list[Finding]:
    """Per epoch, each layer's gradient norm against the output layer's; the first loss against the baseline.

    A ratio below ``VANISHING_RATIO`` anywhere is a vanishing gradient (reported once, at the
    first epoch, for the layer where it is smallest); above ``EXPLODING_RATIO``, an exploding one.
    An epoch whose output-layer gradient is exactly 0 says nothing about the ratio, and one where
    a hidden layer is mostly dead has its gradient cut there, not vanishing: both are skipped.
    """
    findings: list[Finding] = []
    vanishing = exploding = False
    for record in history.records:
        output_norm = record.grad_norms[-1]
        cut = any(share >= DEAD_SHARE for share in record.dead_fractions)  # dead units stop it; _dead_units says so
        if output_norm > 0 and record.n_layers > 1 and not cut:
            ratios = [norm / output_norm for norm in record.grad_norms[:-1]]
            smallest = min(range(len(ratios)), key=ratios.__getitem__)
            if not vanishing and ratios[smallest] < VANISHING_RATIO:
                vanishing = True
                findings.append(
                    Finding(
                        kind="vanishing_gradients",
                        epoch=record.epoch,
                        layer=smallest + 1,
                        message=(
                            f"layer {smallest + 1}'s gradient is {ratios[smallest]:.1e} of the output layer's: "
                            "it shrinks on its way back through the layers, so the early layers barely learn; "
                            "try relu or leaky_relu with init='he', or fewer layers"
                        ),
                    )
                )
        against_output = [(i, n / output_norm) for i, n in enumerate(record.grad_norms[:-1])] if output_norm else []
        largest = max(against_output, key=lambda pair: pair[1], default=(0, 0.0))
        if not exploding and largest[1] > EXPLODING_RATIO:
            exploding = True
            findings.append(
                Finding(
                    kind="exploding_gradients",
                    epoch=record.epoch,
                    layer=largest[0] + 1,
                    message=(
                        f"layer {largest[0] + 1}'s gradient is {largest[1]:.1e} times the output layer's: it grows "
                        "on its way back through the layers, and steps of that size throw the early layers off; "
                        "try init='xavier' (or 'he' for relu), a smaller learning_rate, or l2"
                    ),
                )
            )
    baseline = history.baseline_loss
    if not exploding and baseline and history.records and history.records[0].loss > EXPLODING_RATIO * baseline:
        first = history.records[0]
        findings.append(
            Finding(
                kind="exploding_gradients",
                epoch=first.epoch,
                message=(
                    f"the loss starts at {first.loss / baseline:.1e} times what predicting the labels' mean gives: "
                    "the outputs are enormous, so signals and gradients grow layer by layer; try init='xavier' "
                    "(or 'he' for relu) and inputs scaled to unit variance"
                ),
            )
        )
    return findings


def _dead_units(history: TrainingHistory) -> list[Finding]:
    """Hidden layers that end training with at least ``DEAD_SHARE`` of their units passing no gradient."""
    if not history.records:
        return []
    findings: list[Finding] = []
    last = history.records[-1]
    for i, share in enumerate(last.dead_fractions):
        if share < DEAD_SHARE:
            continue
        since = last.epoch
        for record in reversed(history.records):
            if record.dead_fractions[i] < DEAD_SHARE:
                break
            since = record.epoch
        findings.append(
            Finding(
                kind="dead_units",
                epoch=since,
                layer=i + 1,
                message=(
                    f"{share:.0%} of layer {i + 1}'s units pass no gradient on any row (dead relu units, or "
                    "sigmoid/tanh units saturated): they have stopped learning; try leaky_relu, init='he', "
                    "a smaller learning_rate, or inputs scaled to unit variance"
                ),
            )
        )
    return findings


def _step_size(history: TrainingHistory) -> list[Finding]:
    """The median update ratio per layer, and the loss's trend.

    Too large: the loss ends more than ``WORSE_THAN_BEST`` above the best it reached, or a
    layer's median update ratio is above ``LARGE_UPDATE_RATIO`` while the loss ends above its
    best. Too small: every layer's median below ``SMALL_UPDATE_RATIO`` while the loss has moved
    less than ``STALLED`` over the run.
    """
    records = history.records
    if len(records) < MIN_RECORDS:
        return []
    medians = [float(np.median([r.update_ratios[i] for r in records])) for i in range(records[0].n_layers)]
    losses = [r.loss for r in records]
    best = min(range(len(losses)), key=losses.__getitem__)
    largest = max(range(len(medians)), key=medians.__getitem__)
    worse = losses[-1] > losses[best] * (1 + WORSE_THAN_BEST)
    if worse or (medians[largest] > LARGE_UPDATE_RATIO and losses[-1] > losses[best] * (1 + STALLED)):
        return [
            Finding(
                kind="step_too_large",
                epoch=records[best].epoch,
                layer=None if worse else largest + 1,
                message=(
                    f"the loss reached {losses[best]:.3g} at epoch {records[best].epoch} but ends at {losses[-1]:.3g}, "
                    f"while a typical step changes layer {largest + 1}'s parameters by {medians[largest]:.1%} of their "
                    "size: the steps overshoot the minimum; try a smaller learning_rate"
                ),
            )
        ]
    if max(medians) < SMALL_UPDATE_RATIO and abs(losses[0] - losses[-1]) < STALLED * losses[0]:
        return [
            Finding(
                kind="step_too_small",
                epoch=records[0].epoch,
                message=(
                    f"a typical step changes the parameters by at most {max(medians):.1e} of their size and the "
                    f"loss moved from {losses[0]:.4g} to {losses[-1]:.4g}: training is barely moving; try a larger "
                    "learning_rate or optimizer='adam'"
                ),
            )
        ]
    return []


def _plateau(history: TrainingHistory) -> list[Finding]:
    """A loss that ends flat (a relative change below ``STALLED`` over the last records) near the baseline."""
    records, baseline = history.records, history.baseline_loss
    if baseline is None or baseline == 0 or len(records) < MIN_RECORDS:
        return []
    tail = records[-max(MIN_RECORDS, len(records) // 5) :]
    final = tail[-1].loss
    flat = all(abs(r.loss - final) <= STALLED * final for r in tail)
    if not (flat and final >= PLATEAU_OF_BASELINE * baseline):
        return []
    since = tail[0].epoch
    for record in reversed(records):
        if record.loss < PLATEAU_OF_BASELINE * baseline:
            break
        since = record.epoch
    return [
        Finding(
            kind="plateau",
            epoch=since,
            message=(
                f"the loss has stayed at {final:.4g}, {final / baseline:.0%} of what predicting the labels' mean "
                f"(or class frequencies) gives ({baseline:.4g}): the network has learned next to nothing; check the "
                "gradients above, try optimizer='adam', another activation, or features that carry the signal"
            ),
        )
    ]


def _overfitting(history: TrainingHistory) -> list[Finding]:
    """Validation loss rising ``OVERFIT_RISE`` above its best while the training loss kept falling.

    A run that stopped early has had its best parameters restored: nothing to report.
    """
    validated = [(r, r.val_loss) for r in history.records if r.val_loss is not None]
    if history.stopped_early or len(validated) < MIN_RECORDS:
        return []
    best, best_val = min(validated, key=lambda pair: pair[1])
    last, last_val = validated[-1]
    if last_val > best_val * (1 + OVERFIT_RISE) and last.loss < best.loss:
        return [
            Finding(
                kind="overfitting",
                epoch=best.epoch,
                message=(
                    f"validation loss rose from {best_val:.4g} at epoch {best.epoch} to {last_val:.4g} "
                    f"while the training loss fell to {last.loss:.4g}: the network is memorizing the training rows; "
                    f"try patience (early stopping), l2, fewer epochs or a smaller network"
                ),
            )
        ]
    return []


_RULES = (_vanishing_or_exploding, _dead_units, _step_size, _plateau, _overfitting)
