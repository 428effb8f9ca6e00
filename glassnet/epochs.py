"""One epoch of training: the workspace it computes in, its steps, and what it measures.

`TrainingRun.advance` is the loop. For each epoch it calls `train_epoch`, which takes the
epoch's minibatch steps in a `Workspace` and, on a recorded epoch, returns the `EpochRecord`
that `measure` makes of what the epoch's last step left behind, with the unit health that
`glassnet.health.UnitCounts` counted over its last rows. Nothing here holds on to the run: each
function is given what it reads and writes.

The workspace holds every array an ``advance`` call computes in (the gradient vector, a
`TrainingStep`, with its step buffers, per batch size, the minibatch gather, the snapshots for
divergence and update ratios, the unit counts, the optimizer's scratch), made when the call
starts and dropped when it returns, so that a step allocates nothing and a paused run keeps only
its parameters, its optimizer state and its history. The steps read the network's
``parameter_vector`` and write the workspace's gradients, both laid out by its `ParameterLayout`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from glassnet.fields import FloatArray
from glassnet.functions import ACTIVATIONS, HEADS, RowScratch
from glassnet.health import UnitCounts
from glassnet.layout import ParameterLayout
from glassnet.network import Network, check_data, check_validation
from glassnet.optim import SCRATCH_ROWS
from glassnet.records import EpochRecord, RowMeasures
from glassnet.settings import TrainingSettings
from glassnet.step import TrainingStep

EPOCH_GATHER_BYTES = 16 * 2**20
"""Minibatch training gathers an epoch's shuffled rows at once, into one copy of the data, when the data takes at
most this many bytes; its batches are then views of the copy. For such data a step's own two gathers cost more in
calls than in copying. Larger data is gathered a batch at a time, into a buffer that stays in cache, which is
faster than one large copy (timings in ``bench/compare.py``)."""


@dataclass(frozen=True)
class TrainingData:
    """A run's data as the network sees it, checked once: ``X`` (n, n_in), targets ``Y`` (n, n_out),
    and the validation pair, or ``None``."""

    X: FloatArray
    Y: FloatArray
    validation: tuple[FloatArray, FloatArray] | None

    @classmethod
    def check(cls, network: Network, X: object, y: object, validation_data: object) -> TrainingData:
        """``X``, labels ``y`` and ``validation_data`` (a pair, or ``None``) checked by ``network``."""
        X_checked, Y = check_data(network, X, y)
        validation = None if validation_data is None else check_validation(network, validation_data)
        return cls(X_checked, Y, validation)


class Divergence(ArithmeticError):
    """An epoch's loss, parameters or measurements became non-finite; the parameters are back at
    their last finite values. `TrainingRun` turns it into `TrainingDiverged`, with its history."""


class RowLosses:
    """A recorded epoch's loss and margin of every row of ``n``, from the steps that trained on them, for
    `RowMeasures` (`TrainingSettings.keep_rows`): batches of up to ``batch`` rows, ``n_out`` outputs.

    Each step's rows are read from the logits its own forward pass left in its buffers and the ``A_out - Y`` its
    loss left in the top delta, before its backward pass and update, and written where the epoch took them
    (`take`); `counted` puts them back in the data's order and counts them.
    """

    def __init__(self, network: Network, n: int, batch: int) -> None:
        self.head = HEADS[network.head]
        self.taken = np.empty(n)
        """(n,) the losses, in the order the epoch took the rows."""
        self.margins_taken = None if self.head.margins is None else np.empty(n)
        self.scratch = RowScratch.of(batch, network.layer_sizes[-1])
        self.in_order = (np.empty(n), None if self.head.margins is None else np.empty(n))
        """(n,) each, the losses and margins in the data's order, for a shuffled epoch."""
        self.counting = np.empty((2, n))
        """Where `RowMeasures.add` computes."""

    def take(self, step: TrainingStep, Y: FloatArray, start: int) -> None:
        """The rows of the last `TrainingStep.loss` of ``step``, against targets ``Y`` (rows, n_out), the epoch's
        rows ``start`` to ``start + rows``; before the step's `TrainingStep.backward`, which scales its delta."""
        top, rows = step.layers[-1], Y.shape[0]
        scratch = self.scratch if rows == self.scratch.row.shape[0] else self.scratch.first(rows)
        self.head.row_losses(top.z, top.a, Y, top.buffers.delta, scratch, self.taken[start : start + rows])
        if self.head.margins is not None and self.margins_taken is not None:
            self.head.margins(top.z, Y, scratch, self.margins_taken[start : start + rows])

    def counted(self, measures: RowMeasures | None, order: npt.NDArray[np.intp] | None) -> RowMeasures:
        """``measures`` with the epoch taken counted in (new ones at the first), the rows taken in ``order``
        (positions in the data; ``None``: in the data's order)."""
        losses, margins = self.taken, self.margins_taken
        if order is not None:
            losses = self.in_order[0]
            losses[order] = self.taken
            if self.margins_taken is not None and self.in_order[1] is not None:
                margins = self.in_order[1]
                margins[order] = self.margins_taken
        if measures is None:
            return RowMeasures.first(losses, margins)
        measures.add(losses, margins, self.counting)
        return measures


class Workspace:
    """Every array one ``advance`` call computes in, for ``network`` training on ``data`` in batches of
    ``batch_size`` rows (``None``: all of them)."""

    def __init__(
        self, network: Network, data: TrainingData, batch_size: int | None, *, keep_rows: bool = False
    ) -> None:
        self.network = network
        n, p = data.X.shape[0], network.n_parameters
        self.n = n
        self.batch = n if batch_size is None else min(batch_size, n)
        self.steps = -(-n // self.batch)
        self.layout = ParameterLayout(network.shapes)
        self.gradients = np.zeros(p)
        """(p,) the gradients of the last step, in the layout of ``network.parameter_vector``."""
        self.training_steps: dict[int, TrainingStep] = {}
        self.last_finite = network.parameter_vector.copy()
        """(p,) the parameters at the first step of the epoch under way, once its loss proved finite."""
        self.measured = np.empty((3, p))
        """(3, p) on a recorded epoch's last step: the parameters before it, then the squares of its
        gradients, of those parameters and of its change."""
        self.layer_of_parameter = self.layout.layer_of_parameter()
        activation = ACTIVATIONS[network.activation]
        hidden_biases = self.layout.hidden_biases(self.gradients)
        self.units = UnitCounts(activation, network.layer_sizes[1:-1], hidden_biases, n, self.batch)
        self.optimizer_scratch = np.empty((SCRATCH_ROWS, p))
        self.finite = np.empty(p, dtype=np.bool_)
        self.gathers_epochs = self.batch < n and data.X.nbytes + data.Y.nbytes <= EPOCH_GATHER_BYTES
        """Whether an epoch's rows are gathered at once, its batches views of the gathered copy."""
        if self.batch < n:
            self.rows = np.arange(n)
            self.order = np.empty_like(self.rows)
            gathered = n if self.gathers_epochs else self.batch
            self.X_gathered = np.empty((gathered, data.X.shape[1]))
            self.Y_gathered = np.empty((gathered, data.Y.shape[1]))
        self.row_losses = RowLosses(network, n, self.batch) if keep_rows else None
        """With ``keep_rows``, where a recorded epoch leaves each training row's loss and margin."""
        validation = None if data.validation is None else data.validation[0].shape[0]
        self.val_row_losses = (
            None if validation is None or not keep_rows else RowLosses(network, validation, validation)
        )
        """The same for the rows watched."""

    @property
    def shuffled_order(self) -> npt.NDArray[np.intp] | None:
        """The positions in the data of the last epoch's rows, in the order it took them; ``None`` in full batch."""
        return self.order if self.batch < self.n else None

    def training_step(self, rows: int) -> TrainingStep:
        """The network's step over batches of ``rows`` rows, with its step buffers, made the first time it is needed:
        it reads ``network.parameter_vector`` and writes ``gradients``."""
        if rows not in self.training_steps:
            network = self.network
            activation, head = ACTIVATIONS[network.activation], HEADS[network.head]
            step = TrainingStep.of(rows, self.layout, network.parameter_vector, self.gradients, activation, head)
            self.training_steps[rows] = step
        return self.training_steps[rows]

    def minibatches(self, data: TrainingData) -> Iterator[tuple[FloatArray, FloatArray]]:
        """One epoch's minibatches of ``data.X`` (n, n_in) and ``data.Y`` (n, n_out).

        Full batch yields the data itself. Otherwise the rows are put in a fresh random order
        (the network generator's shuffle of ``arange(n)``, which is its ``permutation(n)``) and
        gathered in that order: all at once, the batches views of the copy, when `EPOCH_GATHER_BYTES`
        allow; else each batch into one reused buffer, which stays small and warm in cache.
        """
        X, Y = data.X, data.Y
        if self.batch >= X.shape[0]:
            yield X, Y
            return
        np.copyto(self.order, self.rows)
        self.network.generator.shuffle(self.order)
        # mode="clip": a permutation's indices are always valid, and the default "raise" buffers out=
        if self.gathers_epochs:
            X_shuffled = np.take(X, self.order, axis=0, out=self.X_gathered, mode="clip")
            Y_shuffled = np.take(Y, self.order, axis=0, out=self.Y_gathered, mode="clip")
            for start in range(0, X.shape[0], self.batch):
                yield X_shuffled[start : start + self.batch], Y_shuffled[start : start + self.batch]
            return
        for start in range(0, X.shape[0], self.batch):
            rows = self.order[start : start + self.batch]
            X_batch = np.take(X, rows, axis=0, out=self.X_gathered[: rows.size], mode="clip")
            yield X_batch, np.take(Y, rows, axis=0, out=self.Y_gathered[: rows.size], mode="clip")

    def diverged(self, what: str) -> Divergence:
        """Put the last parameters with a finite loss back, and say what diverged."""
        np.copyto(self.network.parameter_vector, self.last_finite)
        return Divergence(
            f"training diverged: {what}; parameters restored to the last ones with a finite loss "
            "(try a smaller learning_rate)"
        )


def fresh_loss(data: TrainingData, settings: TrainingSettings, workspace: Workspace) -> float:
    """The loss of the network as it stands on ``data``'s rows (n, n_in), before any step: a forward pass over
    the rows in their order, in slices of the batch size (passes the epochs use anyway), each slice's loss
    with the ``l2`` penalty weighted by its rows, as an epoch's loss is. No shuffle, so the generator is not
    drawn, and no parameter changes; ``inf`` or ``nan`` when it overflows."""
    n, total = data.X.shape[0], 0.0
    for start in range(0, n, workspace.batch):
        X, Y = data.X[start : start + workspace.batch], data.Y[start : start + workspace.batch]
        total += workspace.training_step(X.shape[0]).loss(X, Y, settings.l2) * X.shape[0]
    return float(total / n)


def train_epoch(
    network: Network, data: TrainingData, settings: TrainingSettings, state: Any, workspace: Workspace, epoch: int
) -> EpochRecord | None:
    """Train ``network`` one epoch on ``data`` as ``settings`` say, its optimizer going on from ``state``;
    return the epoch's record if ``settings`` record it.

    Raises `Divergence` when a loss or the parameters become non-finite.
    """
    parameters, gradients = network.parameter_vector, workspace.gradients
    optimizer, l2, recorded = settings.optimizer, settings.l2, settings.records(epoch)
    loss_sum, batch_loss = 0.0, 0.0
    for step, (X_batch, Y_batch) in enumerate(workspace.minibatches(data)):
        training_step = workspace.training_step(X_batch.shape[0])
        batch_loss = training_step.loss(X_batch, Y_batch, l2)
        if not math.isfinite(batch_loss):
            raise workspace.diverged(f"loss became {batch_loss} in epoch {epoch}")
        if step == 0:
            np.copyto(workspace.last_finite, parameters)
        if recorded and workspace.row_losses is not None:  # before the backward pass scales the delta it reads
            workspace.row_losses.take(training_step, Y_batch, step * workspace.batch)
        training_step.backward(X_batch, l2)
        if recorded and step >= workspace.units.counted_from:
            first = step == workspace.units.counted_from
            rows = workspace.units.first_counted_rows if first else X_batch.shape[0]
            workspace.units.count(training_step.buffers, first=first, rows=rows)
            if step == workspace.steps - 1:
                np.copyto(workspace.measured[1], parameters)
        optimizer.step(parameters, gradients, state, workspace.optimizer_scratch)
        loss_sum += batch_loss * X_batch.shape[0]
    if not np.isfinite(parameters, out=workspace.finite).all():
        raise workspace.diverged(f"parameters became non-finite in epoch {epoch}")
    if not recorded:
        return None
    return measure(network, data, settings, workspace, epoch, loss_sum / data.X.shape[0], training_step, batch_loss)


def measure(
    network: Network,
    data: TrainingData,
    settings: TrainingSettings,
    workspace: Workspace,
    epoch: int,
    loss: float,
    last_step: TrainingStep,
    last_loss: float,
) -> EpochRecord:
    """The record of ``epoch``, from what its last step left: its gradients in ``workspace.gradients``,
    the parameters before it and the unit counts of the epoch's last steps in ``workspace``. ``loss`` is
    the epoch's mean loss, ``last_step`` its last step and ``last_loss`` that step's loss; the validation
    loss is measured here."""
    squares = workspace.measured  # rows: the gradients, the parameters before the step, the step's change
    parameters, gradients = network.parameter_vector, workspace.gradients
    np.subtract(parameters, squares[1], out=squares[2])
    np.multiply(squares[1:], squares[1:], out=squares[1:])
    np.multiply(gradients, gradients, out=squares[0])
    grad_norms, before, change = np.sqrt(squares @ workspace.layer_of_parameter).tolist()
    # a layer that was all zeros before the step: 1 if the step made it, 0 if it left it
    update_ratios = [c / b if b > 0 else float(c > 0) for c, b in zip(change, before, strict=True)]
    dead_fractions, saturated_fractions = workspace.units.fractions()
    kept = last_step.gradient_record(last_loss) if settings.keeps(epoch) else None
    val_loss = None
    if data.validation is not None:
        X_val, Y_val = data.validation
        validation_step = workspace.training_step(X_val.shape[0])
        val_loss = validation_step.loss(X_val, Y_val, settings.l2)
        if workspace.val_row_losses is not None:
            workspace.val_row_losses.take(validation_step, Y_val, 0)
    if not all(map(math.isfinite, [*grad_norms, *before, *change, 0.0 if val_loss is None else val_loss])):
        raise workspace.diverged(f"a gradient, step or validation loss overflowed float64 in epoch {epoch}")
    return EpochRecord(
        epoch=epoch,
        loss=loss,
        val_loss=val_loss,
        grad_norms=grad_norms,
        update_ratios=update_ratios,
        param_norms=before,
        dead_fractions=dead_fractions,
        saturated_fractions=saturated_fractions,
        unit_rows=workspace.units.rows,
        gradients=kept,
    )
