"""What a training history says about itself: typed findings, each with its evidence and what to try.

`diagnose` reads the records of a `TrainingHistory` (``TrainingHistory.diagnose()`` calls it)
and returns a `Diagnosis`: a `Finding` for each problem, saying what happened, from which
epoch, in which layer, the numbers it judged by (``evidence``), and what to try.

Read top to bottom: the findings, the thresholds (each with the reason for its value), then one
rule per problem, in the order a diagnosis lists them: the inputs' scale first, since it explains
gradients of the wrong size, then the gradients, the units, the steps, the loss and validation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tabulate import tabulate

if TYPE_CHECKING:
    from glassnet.records import EpochRecord, TrainingHistory

FindingKind = Literal[
    "vanishing_gradients",
    "exploding_gradients",
    "dead_units",
    "saturated_units",
    "unscaled_inputs",
    "step_too_large",
    "step_too_small",
    "plateau",
    "not_learned",
    "overfitting",
]

Evidence = dict[str, float | list[float]]


class Finding(BaseModel):
    """One problem the records show: its ``kind``, the ``epoch`` it shows from, the ``layer`` (1-based)
    it is in (``None`` for the whole network), a ``message`` saying what happened, by which numbers,
    and what to try, and those numbers by name in ``evidence`` (each threshold among them)."""

    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    epoch: int = Field(ge=1)
    layer: int | None = Field(default=None, ge=1)
    message: str
    evidence: Evidence = Field(default_factory=dict)


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


# --------------------------------------------------------------------------- #
# Thresholds. Each is far from what healthy runs show and near where the problem begins to
# hurt; tests/test_diagnosis.py holds labeled runs on both sides, each proved by a measure
# of its own, and docs/gradients.md lists them (tests/test_docs.py holds that table to these).
# --------------------------------------------------------------------------- #

INPUT_MEAN_LIMIT = 10.0
"""An input column whose mean is farther than this from 0: the initializations size the first layer for
columns of mean 0 and spread 1, and an offset of 10 already moves its pre-activations 10-fold."""
INPUT_STD_LIMITS = (0.01, 10.0)
"""An input column whose standard deviation (when not 0, a constant column) lies outside these: 10 times
the unit spread multiplies the curvature along its weights by 100, where plain SGD at its default rate
already diverges; 1/100 of it shrinks its weights' gradient 100-fold, where even Adam learns them slowly."""
VANISHING_RATIO = 1e-3
"""A layer's gradient norm below this fraction of the output layer's: the gradient vanishes on its way back,
and a step that suits the output layer moves that layer a thousand times less."""
EXPLODING_RATIO = 1e3
"""A layer's gradient norm above this multiple of the output layer's, or a first loss above this multiple
of the baseline (outputs so large that signals and gradients grow layer by layer)."""
DEAD_SHARE = 0.5
"""A hidden layer with at least this share of units dead at the end of training: half its width is lost,
and a layer cut that much no longer carries the gradient below it (the gradient-size rules skip it)."""
SATURATED_SHARE = 0.5
"""A sigmoid or tanh layer with at least this share of its unit-row pairs in the flat tails, at the end of
training and while the loss was still high: on most rows its units pass a hundredth of the gradient."""
UNLEARNED_SHARE = 0.5
"""A loss at or above this share of the baseline has learned at most half of what there is: saturation
seen then is where the network started or fell, not a classifier's growing confidence."""
LARGE_UPDATE_RATIO = 0.1
"""A typical step that changes a layer's parameters by more than this fraction of their size."""
GIVEN_BACK = 0.5
"""A training loss that climbs back above its best, near the end of training, by this share of the baseline:
the steps overshoot, undoing half of what there is to learn. Judged against the baseline, not the best loss,
so that a loss bouncing near 0 (a separable classifier's) is not called worse for moving from 0.001 to 0.01,
and a run that overshot early and recovered is not reported."""
SMALL_UPDATE_RATIO = 1e-5
"""A typical step that changes a layer's parameters by less than this fraction of their size."""
STALLED = 0.01
"""A relative loss change below this over a stretch of records: the loss is not moving."""
ARRIVED_GRADIENT = 1e-2
"""A run has arrived when moving every layer by its own size along its gradient would change the loss, to
first order, by less than this share of it (``sum(grad_norm * param_norm) / loss``): larger steps would
not lower it. Moving runs show 1 to 1,000; converged ones 1e-9 and less."""
AT_FLOOR = 0.01
"""A loss below this share of the baseline is at its floor (R^2 above 0.99, or a classifier's cross-entropy
near 0): a loss that no longer moves there has arrived, whatever the step size."""
PLATEAU_OF_BASELINE = 0.9
"""A stalled loss at or above this share of the baseline (the best constant prediction's loss)."""
OVERFIT_RISE = 0.1
"""A validation loss this far (relative) above its best while the training loss still falls."""
MIN_RECORDS = 5
"""Trends (plateaus, rising or stalled losses) need at least this many records to be judged."""
NOT_LEARNED_OF_BASELINE = 1.0
"""A final training loss above this share of the baseline: the network predicts worse than the constant
prediction (the labels' mean, or the class frequencies), whatever else the records show (R^2 below 0)."""
TARGET_VARIANCE_LIMIT = 100.0
"""Labels whose variance (a regression's baseline) is above this, a standard deviation above 10: the mirror of
``INPUT_STD_LIMITS`` on the output side. A fresh network's outputs are of order 1, so labels 10 times that and
more are reached only by growing the weights many-fold, which steps of a usual learning rate do slowly."""

EXPLAINED_BY_SCALE = frozenset({"vanishing_gradients", "exploding_gradients", "step_too_large", "step_too_small"})
"""The findings an `unscaled_inputs` finding explains, left out beside it: gradients and steps of the wrong
size follow from inputs of the wrong size, and their advice (another init, another learning rate) would not
cure them."""

EXPLAINED_BY_THROWING_OFF = frozenset({"vanishing_gradients", "exploding_gradients", "dead_units", "saturated_units"})
"""The findings a fresh network thrown off by its first steps (`_thrown_off`) explains, left out beside it: the
gradients measured after the blow-up, and the units it left dead or saturated, are of its making, and another
init would not cure them."""

EXPLAINED_BY_TARGET_SCALE = frozenset({"plateau", "step_too_small"})
"""The findings a target left unscaled (`_not_learned` with labels of a variance above ``TARGET_VARIANCE_LIMIT``)
explains, left out beside it: a loss stuck above the mean's, or steps too small to reach labels that large, follow
from the labels' scale, and the advice of those findings (another optimizer or learning rate) would not cure it."""


def _times(value: float, what: str) -> str:
    """``value`` times ``what`` as people read it: ``35.2% of the baseline`` from 0.001 to 10, ``1.39e+192
    times the baseline`` from 10 up, ``1.2e-27 of the baseline`` below 0.001. The evidence keeps the number."""
    if value >= 10:
        return f"{value:.3g} times {what}"
    if value >= 1e-3 or value == 0:
        return f"{value:.1%} of {what}"
    return f"{value:.2g} of {what}"


def _epochs(records: Sequence[EpochRecord]) -> str:
    """``epoch 3`` or ``epochs 3-40``: the span of ``records``."""
    first, last = records[0].epoch, records[-1].epoch
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def _tail(records: Sequence[EpochRecord]) -> Sequence[EpochRecord]:
    """The last records, where a run's end is judged: a fifth of them, and at least ``MIN_RECORDS``."""
    return records[-max(MIN_RECORDS, len(records) // 5) :]


def _since(records: Sequence[EpochRecord], holds: list[bool]) -> EpochRecord:
    """The first record of the unbroken run of records, up to the last, for which ``holds`` is true."""
    start = len(records) - 1
    while start > 0 and holds[start - 1]:
        start -= 1
    return records[start]


# --------------------------------------------------------------------------- #
# The rules
# --------------------------------------------------------------------------- #


def _unscaled_inputs(history: TrainingHistory) -> list[Finding]:
    """Input columns whose mean or standard deviation is beyond ``INPUT_MEAN_LIMIT`` or ``INPUT_STD_LIMITS``."""
    scales = history.input_scales
    if scales is None or not history.records:
        return []
    small, large = INPUT_STD_LIMITS
    off = [
        j
        for j, (mean, std) in enumerate(zip(scales.means, scales.stds, strict=True))
        if abs(mean) > INPUT_MEAN_LIMIT or std > large or 0 < std < small
    ]
    if not off:
        return []
    shown = "; ".join(f"X[:, {j}] has mean {scales.means[j]:.3g} and std {scales.stds[j]:.3g}" for j in off[:5])
    more = f" (and {len(off) - 5} more columns)" if len(off) > 5 else ""
    return [
        Finding(
            kind="unscaled_inputs",
            epoch=history.records[0].epoch,
            message=(
                f"{len(off)} of the {len(scales.means)} input columns are far from unit scale: {shown}{more} "
                f"(the initializations expect means within +-{INPUT_MEAN_LIMIT:g} and stds from {small:g} to "
                f"{large:g}); the first layer's pre-activations and gradients grow and shrink with them, so no "
                "learning rate suits every column; standardize each column (subtract its mean, divide by its "
                "std, as TabularModel and the command line do)"
            ),
            evidence={
                "columns": [float(j) for j in off],
                "means": [scales.means[j] for j in off],
                "stds": [scales.stds[j] for j in off],
                "mean_limit": INPUT_MEAN_LIMIT,
                "std_limits": list(INPUT_STD_LIMITS),
            },
        )
    ]


def _cut(record: EpochRecord) -> bool:
    """Whether a hidden layer of ``record`` is mostly dead or saturated: it cuts the gradient below it."""
    saturated = record.saturated_fractions or []
    return any(share >= DEAD_SHARE for share in record.dead_fractions) or any(s >= SATURATED_SHARE for s in saturated)


def _vanishing_or_exploding(history: TrainingHistory) -> list[Finding]:
    """Per record, each layer's gradient norm against the output layer's; the fresh network's loss against the
    baseline (``history.initial_loss``, or the first record's loss in histories without it).

    A ratio below ``VANISHING_RATIO`` is a vanishing gradient, reported at the first record that shows it,
    for the layer where it is smallest there; above ``EXPLODING_RATIO``, an exploding one. A record whose
    output-layer gradient is exactly 0 says nothing about the ratio. A gradient that dead or saturated units
    cut is not vanishing (`_dead_units` and `_saturated_units` say so): such records are not judged for it.
    """
    findings: list[Finding] = []
    rules: tuple[tuple[FindingKind, float, Callable[[float], bool], Callable[[EpochRecord], bool]], ...] = (
        ("vanishing_gradients", VANISHING_RATIO, lambda ratio: ratio < VANISHING_RATIO, lambda r: not _cut(r)),
        ("exploding_gradients", EXPLODING_RATIO, lambda ratio: ratio > EXPLODING_RATIO, lambda r: True),
    )
    for kind, threshold, beyond, judges in rules:
        judged = [r for r in history.records if r.n_layers > 1 and r.grad_norms[-1] > 0 and judges(r)]
        ratios = [[norm / r.grad_norms[-1] for norm in r.grad_norms[:-1]] for r in judged]
        vanishing = kind == "vanishing_gradients"
        pick = min if vanishing else max
        showing = [i for i, layer_ratios in enumerate(ratios) if beyond(pick(layer_ratios))]
        if not showing:
            continue
        first, layer_ratios = judged[showing[0]], ratios[showing[0]]
        layer = layer_ratios.index(pick(layer_ratios))
        ratio = layer_ratios[layer]
        span = _epochs([judged[showing[0]], judged[showing[-1]]])
        findings.append(
            Finding(
                kind=kind,
                epoch=first.epoch,
                layer=layer + 1,
                message=(
                    f"layer {layer + 1}'s gradient is {ratio:.1e} {'of' if vanishing else 'times'} the output "
                    f"layer's at epoch {first.epoch}, and {'below' if vanishing else 'above'} {threshold:.0e} "
                    f"{'of it' if vanishing else 'times it'} on {len(showing)} of the {len(judged)} records judged "
                    f"({span}): "
                    + (
                        "it shrinks on its way back through the layers, so the early layers barely learn; "
                        "try relu or leaky_relu with init='he', or fewer layers"
                        if vanishing
                        else "it grows on its way back through the layers, and steps of that size throw the early "
                        "layers off; try init='xavier' (or 'he' for relu), a smaller learning_rate, or l2"
                    )
                ),
                evidence={
                    "ratio": ratio,
                    "threshold": threshold,
                    "records_showing": float(len(showing)),
                    "records_judged": float(len(judged)),
                    "last_epoch": float(judged[showing[-1]].epoch),
                },
            )
        )
    baseline = history.baseline_loss
    if findings and findings[-1].kind == "exploding_gradients":
        return findings
    records = history.records
    # labels far from zero start a network at a loss as large, and it learns them: only a loss that stays above
    # the labels' mean's says the outputs were too large to learn from. A fresh network whose loss was fine and
    # that the first epoch threw off is the step's fault (`_thrown_off`), not the initialization's.
    lowest = min((record.loss for record in records), default=math.inf)
    fresh = history.initial_loss
    start = fresh if fresh is not None or not records else records[0].loss
    if baseline and records and start is not None and start > EXPLODING_RATIO * baseline and lowest > baseline:
        when = "the loss starts at" if fresh is None else "the fresh network's loss, before any step, is"
        findings.append(
            Finding(
                kind="exploding_gradients",
                epoch=records[0].epoch,
                message=(
                    f"{when} {start:.3g}, {start / baseline:.1e} times what predicting the labels' mean gives "
                    f"({baseline:.3g}; more than {EXPLODING_RATIO:.0e} times), and never comes down to it (at best "
                    f"{lowest:.3g}): the outputs are enormous, so signals and gradients grow layer by layer; try "
                    "init='xavier' (or 'he' for relu) and inputs scaled to unit variance"
                ),
                evidence={"loss": start, "baseline": baseline, "threshold": EXPLODING_RATIO, "lowest": lowest},
            )
        )
    return findings


def _shares_of(shares: dict[int, float], what: str) -> str:
    """``81% of layer 2's units``, ``81% of layer 2's units and 60% of layer 3's``: 0-based layers, for a message."""
    parts = [f"{share:.0%} of layer {i + 1}'s" for i, share in shares.items()]
    parts[0] += f" {what}"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _unit_finding(
    kind: FindingKind,
    history: TrainingHistory,
    shares: dict[int, float],
    holds: list[list[bool]],
    message: str,
    evidence: Evidence,
) -> Finding:
    """The finding for hidden layers (0-based) with these ``shares`` on the last record. ``holds[i]`` says on
    which records layer ``i`` was beyond the threshold; ``message`` has ``{rows}`` and ``{since}`` to fill;
    ``evidence`` adds to the shares, the rows and the threshold."""
    records = history.records
    last, worst = records[-1], max(shares, key=shares.__getitem__)
    since = min(_since(records, holds[i]).epoch for i in shares)
    rows = "the rows" if last.unit_rows is None else f"the last {last.unit_rows:,} rows"
    return Finding(
        kind=kind,
        epoch=since,
        layer=worst + 1,
        message=message.format(rows=f"{rows} of epoch {last.epoch}", since=since),
        evidence={
            "layers": [float(i + 1) for i in shares],
            "shares": list(shares.values()),
            "rows": float(last.unit_rows or 0),
            **evidence,
        },
    )


def _dead_units(history: TrainingHistory) -> list[Finding]:
    """Hidden layers that end training with at least ``DEAD_SHARE`` of their units passing no gradient.

    Layers that saturate (sigmoid, tanh: their record counts saturated pairs) are left to `_saturated_units`:
    a unit saturated on every row is dead, but the cure is that of saturation.
    """
    records = history.records
    if not records:
        return []
    last = records[-1]
    saturating = last.saturated_fractions or [0.0] * len(last.dead_fractions)
    shares = {
        i: d for i, (d, s) in enumerate(zip(last.dead_fractions, saturating, strict=True)) if d >= DEAD_SHARE and s == 0
    }
    if not shares:
        return []
    holds = [[r.dead_fractions[i] >= DEAD_SHARE for r in records] for i in range(len(last.dead_fractions))]
    message = (
        f"{_shares_of(shares, 'units')} passed gradient on none of {{rows}} (at least {DEAD_SHARE:.0%} since epoch "
        "{since}): they have stopped learning, as relu units do once no row turns them on; try leaky_relu, a "
        "smaller learning_rate, init='he', or inputs scaled to unit variance"
    )
    return [_unit_finding("dead_units", history, shares, holds, message, {"threshold": DEAD_SHARE})]


def _saturated_units(history: TrainingHistory) -> list[Finding]:
    """Sigmoid or tanh layers with at least ``SATURATED_SHARE`` of their unit-row pairs in the flat tails at
    the end of training, that were so already while the loss was at least ``UNLEARNED_SHARE`` of the baseline.

    A classifier whose units saturate as its confidence grows, on rows it already gets right, is not
    reported: its saturation comes after the learning, with the loss far below the baseline.
    """
    records, baseline = history.records, history.baseline_loss
    if not records or records[-1].saturated_fractions is None or not baseline:
        return []
    n_hidden = len(records[-1].dead_fractions)
    holds = [
        [(r.saturated_fractions or [0.0] * n_hidden)[i] >= SATURATED_SHARE for r in records] for i in range(n_hidden)
    ]
    unlearned = [r.loss >= UNLEARNED_SHARE * baseline for r in records]
    shares = {
        i: share
        for i, share in enumerate(records[-1].saturated_fractions)
        if share >= SATURATED_SHARE and any(h and u for h, u in zip(holds[i], unlearned, strict=True))
    }
    if not shares:
        return []
    when = next(
        r for r, h, u in zip(records, holds[max(shares, key=shares.__getitem__)], unlearned, strict=True) if h and u
    )
    message = (
        f"{_shares_of(shares, 'unit-row pairs')} sit in the flat tails of the activation, its derivative below 1% "
        f"of its largest, on {{rows}} (at least {SATURATED_SHARE:.0%} since epoch {{since}}), and did so at epoch "
        f"{when.epoch} with the loss at {when.loss / baseline:.2g} times the baseline (at least {UNLEARNED_SHARE:g}): "
        "those units pass a hundredth of the gradient, so they barely learn; try init='xavier', inputs scaled to "
        "unit variance, a smaller learning_rate, or relu with init='he'"
    )
    evidence: Evidence = {"threshold": SATURATED_SHARE, "loss_of_baseline": when.loss / baseline}
    return [_unit_finding("saturated_units", history, shares, holds, message, evidence)]


def _arrived(record: EpochRecord, baseline: float | None) -> tuple[bool, float]:
    """Whether ``record`` shows a run that has arrived (``ARRIVED_GRADIENT``, ``AT_FLOOR``), and the first-order
    share of its loss that moving every layer by its own size along its gradient would change (inf: unknown)."""
    reach = math.inf
    if record.param_norms is not None and record.loss > 0:
        reach = sum(g * p for g, p in zip(record.grad_norms, record.param_norms, strict=True)) / record.loss
    return reach < ARRIVED_GRADIENT or (baseline is not None and record.loss < AT_FLOOR * baseline), reach


def _thrown_off(history: TrainingHistory) -> Finding | None:
    """A fresh network whose loss the first recorded epoch multiplied: the epoch's loss above ``EXPLODING_RATIO``
    times the larger of the fresh loss (``history.initial_loss``) and the baseline, never to come back down to
    the baseline. ``None`` without the fresh loss (older histories), which alone tells this from a bad start."""
    records, baseline, fresh = history.records, history.baseline_loss, history.initial_loss
    if not records or not baseline or fresh is None:
        return None
    first, lowest = records[0], min(record.loss for record in records)
    if first.loss <= EXPLODING_RATIO * max(fresh, baseline) or lowest <= baseline:
        return None
    within = "its first epoch" if first.epoch == 1 else f"its first {first.epoch} epochs"
    return Finding(
        kind="step_too_large",
        epoch=first.epoch,
        message=(
            f"the fresh network's loss was {fresh:.3g}, against a baseline (predicting the labels' mean or class "
            f"frequencies) of {baseline:.3g}, and the loss of epoch {first.epoch} is {first.loss:.3g}, "
            f"{_times(first.loss / max(fresh, baseline), 'the larger of the two')} (more than {EXPLODING_RATIO:.0e} "
            f"times), never to come back down to the baseline (at best {lowest:.3g}): the network was fine at its "
            f"start and the steps of {within} threw it off; try a smaller learning_rate (a tenth of it, to begin with)"
        ),
        evidence={
            "initial_loss": fresh,
            "first_loss": first.loss,
            "baseline": baseline,
            "lowest": lowest,
            "threshold": EXPLODING_RATIO,
        },
    )


def _step_size(history: TrainingHistory) -> list[Finding]:
    """A fresh network the first steps threw off (`_thrown_off`), else the median update ratio per layer, and
    how far the loss climbs back above its best near the end.

    The climb is the largest rise above the best loss so far over the last records (`_tail`), the end
    included, measured against the baseline (the first loss when there is none). Too large: a climb above
    ``GIVEN_BACK`` of it, or a layer's median update ratio above ``LARGE_UPDATE_RATIO`` with a climb above
    ``STALLED`` of it. Too small: every layer's median below ``SMALL_UPDATE_RATIO`` while the loss has moved
    less than ``STALLED`` over the run, unless the run has arrived (`_arrived`): nothing is left to do.
    """
    thrown_off = _thrown_off(history)
    if thrown_off is not None:
        return [thrown_off]
    records = history.records
    if len(records) < MIN_RECORDS:
        return []
    medians = [float(np.median([r.update_ratios[i] for r in records])) for i in range(records[0].n_layers)]
    largest = max(range(len(medians)), key=medians.__getitem__)
    losses = [r.loss for r in records]
    best_so_far = list(itertools.accumulate(losses, min))
    scale = history.baseline_loss or losses[0]
    start = len(records) - len(_tail(records))
    peak = max(range(start, len(records)), key=lambda i: losses[i] - best_so_far[i])
    climb = (losses[peak] - best_so_far[peak]) / scale if scale > 0 else 0.0
    worse = climb > GIVEN_BACK
    if worse or (medians[largest] > LARGE_UPDATE_RATIO and climb > STALLED):
        best = losses.index(best_so_far[peak])
        baseline_is = f"the baseline's {scale:.3g}"
        return [
            Finding(
                kind="step_too_large",
                epoch=records[best].epoch,
                layer=None if worse else largest + 1,
                message=(
                    f"the loss reached {losses[best]:.3g} at epoch {records[best].epoch} but climbed back to "
                    f"{losses[peak]:.3g} at epoch {records[peak].epoch} ({_times(climb, baseline_is)} "
                    f"above its best) and ends at {losses[-1]:.3g}, while a typical step changes layer "
                    f"{largest + 1}'s parameters by {_times(medians[largest], 'their size')} (overshooting: a climb of "
                    f"more than {GIVEN_BACK:.0%}, or of more than {STALLED:.0%} with steps above "
                    f"{LARGE_UPDATE_RATIO:.0%}): the steps overshoot the minimum; try a smaller learning_rate"
                ),
                evidence={
                    "best_loss": losses[best],
                    "climbed_to": losses[peak],
                    "climb_of_baseline": climb,
                    "median_update_ratio": medians[largest],
                    "climb_threshold": GIVEN_BACK,
                    "update_ratio_threshold": LARGE_UPDATE_RATIO,
                },
            )
        ]
    arrived, reach = _arrived(records[-1], history.baseline_loss)
    if max(medians) < SMALL_UPDATE_RATIO and abs(losses[0] - losses[-1]) < STALLED * losses[0] and not arrived:
        return [
            Finding(
                kind="step_too_small",
                epoch=records[0].epoch,
                message=(
                    f"a typical step changes the parameters by at most {max(medians):.1e} of their size (less than "
                    f"{SMALL_UPDATE_RATIO:.0e}) and the loss moved from {losses[0]:.4g} to {losses[-1]:.4g} (less "
                    f"than {STALLED:.0%}), though its gradient could still lower it: moving every layer by its own "
                    f"size along it would change the loss by {reach:.2g} times itself, to first order (at least "
                    f"{ARRIVED_GRADIENT:g}); training is barely moving; try a larger learning_rate or optimizer='adam'"
                ),
                evidence={
                    "median_update_ratio": max(medians),
                    "threshold": SMALL_UPDATE_RATIO,
                    "first_loss": losses[0],
                    "final_loss": losses[-1],
                    "gradient_reach": reach,
                },
            )
        ]
    return []


def _plateau(history: TrainingHistory) -> list[Finding]:
    """A loss that ends flat (a relative change below ``STALLED`` over the last records) near the baseline."""
    records, baseline = history.records, history.baseline_loss
    if baseline is None or baseline == 0 or len(records) < MIN_RECORDS:
        return []
    tail = _tail(records)
    final = tail[-1].loss
    flat = all(abs(r.loss - final) <= STALLED * final for r in tail)
    if not (flat and final >= PLATEAU_OF_BASELINE * baseline):
        return []
    since = _since(records, [r.loss >= PLATEAU_OF_BASELINE * baseline for r in records])
    constant = "what predicting the labels' mean (or class frequencies) gives"
    return [
        Finding(
            kind="plateau",
            epoch=since.epoch,
            message=(
                f"the loss has stayed at {final:.4g} (within {STALLED:.0%} over {_epochs(tail)}), "
                f"{_times(final / baseline, constant)} "
                f"({baseline:.4g}; at least {PLATEAU_OF_BASELINE:.0%} of it since epoch {since.epoch}): the network "
                "has learned next to "
                "nothing; check the gradients above, try optimizer='adam', another activation, or features that "
                "carry the signal"
            ),
            evidence={"loss": final, "baseline": baseline, "threshold": PLATEAU_OF_BASELINE},
        )
    ]


def _not_learned(history: TrainingHistory) -> list[Finding]:
    """A final training loss above ``NOT_LEARNED_OF_BASELINE`` of the baseline, with the cause the records
    support: labels of a variance above ``TARGET_VARIANCE_LIMIT`` (a target left unscaled), else a loss still
    falling by more than ``STALLED`` over the last records (steps too small for the run's length), else none
    known. `diagnose` keeps it when no other rule found anything (their findings say why already), and in place
    of the findings an unscaled target explains (``EXPLAINED_BY_TARGET_SCALE``)."""
    records, baseline = history.records, history.baseline_loss
    if not records or not baseline or records[-1].loss <= NOT_LEARNED_OF_BASELINE * baseline:
        return []
    final, tail = records[-1].loss, _tail(records)
    start = "" if history.initial_loss is None else f" from {history.initial_loss:.4g} when training began"
    what = (
        f"the training loss ends at {final:.4g}{start}, {final / baseline:.3g} times the baseline {baseline:.4g} "
        "(the loss of predicting the labels' mean, or the class frequencies): the network predicts worse than that "
        "constant; "
    )
    evidence: Evidence = {"loss": final, "baseline": baseline, "threshold": NOT_LEARNED_OF_BASELINE}
    fall = tail[0].loss - final
    if baseline > TARGET_VARIANCE_LIMIT:
        why = (
            f"the baseline is the labels' variance, {baseline:.3g}, more than {TARGET_VARIANCE_LIMIT:g} (a standard "
            f"deviation of {math.sqrt(baseline):.3g}, more than {math.sqrt(TARGET_VARIANCE_LIMIT):g}): a fresh "
            "network's outputs are of order "
            "1, and steps of a usual learning rate take many epochs to grow them that far; standardize the target "
            "(subtract its mean, divide by its std, as TabularModel, GlassnetRegressor and the command line do) and "
            "scale the predictions back"
        )
        evidence["target_variance_limit"] = TARGET_VARIANCE_LIMIT
    elif len(tail) > 1 and fall > STALLED * tail[0].loss:
        pace = fall / (tail[-1].epoch - tail[0].epoch)
        medians = [float(np.median([r.update_ratios[i] for r in records])) for i in range(records[0].n_layers)]
        why = (
            f"the loss is still falling, by {fall / tail[0].loss:.1%} over {_epochs(tail)} (more than {STALLED:.0%}), "
            f"and at that pace it would take about {(final - baseline) / pace:,.0f} more epochs just to reach the "
            f"baseline; a typical step changes the parameters by at most {max(medians):.2g} of their size: "
            "the steps are too small for the run's length; try a larger learning_rate, optimizer='adam', or more epochs"
        )
        evidence |= {
            "fall_over_tail": fall,
            "fall_threshold": STALLED,
            "epochs_to_baseline": (final - baseline) / pace,
            "median_update_ratio": max(medians),
        }
    else:
        why = (
            "the records show no cause this diagnosis knows; check the learning_rate (smaller if the loss jumps, "
            "larger if it creeps), the inputs' scale and that the labels are the ones meant"
        )
    return [Finding(kind="not_learned", epoch=records[-1].epoch, message=what + why, evidence=evidence)]


def _overfitting(history: TrainingHistory, held_out: str) -> list[Finding]:
    """Validation loss rising ``OVERFIT_RISE`` above its best while the training loss kept falling; the
    message calls the held-out rows ``held_out`` ("validation", or "test" where they are the test rows).

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
                    f"{held_out} loss rose from {best_val:.4g} at epoch {best.epoch} to {last_val:.4g} at epoch "
                    f"{last.epoch} (above its best by {_times(last_val / best_val - 1, 'it')}; more than "
                    f"{OVERFIT_RISE:.0%}) while the training loss fell from {best.loss:.4g} to {last.loss:.4g}: the "
                    "network is memorizing the training rows; try patience (early stopping), l2, fewer epochs or a "
                    "smaller network"
                ),
                evidence={
                    "best_val_loss": best_val,
                    "final_val_loss": last_val,
                    "train_loss_at_best": best.loss,
                    "final_train_loss": last.loss,
                    "threshold": OVERFIT_RISE,
                },
            )
        ]
    return []


_RULES = (_unscaled_inputs, _vanishing_or_exploding, _dead_units, _saturated_units, _step_size, _plateau)


def diagnose(history: TrainingHistory, held_out: str = "validation") -> Diagnosis:
    """What the records of ``history`` say about its run: every rule's findings, in the order of the rules
    and overfitting last, without those that an `unscaled_inputs` finding explains (``EXPLAINED_BY_SCALE``) or
    a fresh network thrown off by its first steps does (``EXPLAINED_BY_THROWING_OFF``);
    when none of the rules finds anything, or a target left unscaled explains what they find
    (``EXPLAINED_BY_TARGET_SCALE``), whether the run has learned at all (`_not_learned`). ``held_out`` is
    what the messages call the rows of ``val_loss``."""
    findings = [finding for rule in _RULES for finding in rule(history)]
    not_learned = _not_learned(history)
    if not_learned and "target_variance_limit" in not_learned[0].evidence:
        findings = [finding for finding in findings if finding.kind not in EXPLAINED_BY_TARGET_SCALE]
    findings = (findings or not_learned) + _overfitting(history, held_out)
    if any(finding.kind == "unscaled_inputs" for finding in findings):
        findings = [finding for finding in findings if finding.kind not in EXPLAINED_BY_SCALE]
    if _thrown_off(history) is not None:
        findings = [finding for finding in findings if finding.kind not in EXPLAINED_BY_THROWING_OFF]
    return Diagnosis(findings=findings)
