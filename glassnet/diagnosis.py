"""What a training history says about itself: typed findings, each with what to try.

`diagnose` reads the records of a `TrainingHistory` (``TrainingHistory.diagnose()`` calls it)
and returns a `Diagnosis`: a `Finding` for each problem, saying what happened, from which
epoch, in which layer, and what to try. The thresholds are named constants, each with the
reason for its value beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tabulate import tabulate

if TYPE_CHECKING:
    from glassnet.records import TrainingHistory

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


def diagnose(history: TrainingHistory) -> Diagnosis:
    """What the records of ``history`` say about its run: every rule's findings, in the order of the rules."""
    return Diagnosis(findings=[finding for rule in _RULES for finding in rule(history)])
