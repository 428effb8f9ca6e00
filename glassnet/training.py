"""Training runs: `TrainingRun`, a run that can pause, be inspected and go on.

A run owns what training needs beyond the network's parameters: its data (checked once), its
`TrainingSettings`, its optimizer's state, the epochs done, the history and, for patience, the
best parameters so far. ``advance`` is the loop; each epoch is `glassnet.epochs.train_epoch`.
``save`` writes everything as one `TrainingCheckpoint` (its history's records in a `HistoryLog`
beside it, so that a checkpoint costs the same however long the run; both are `glassnet.checkpoints`')
and ``load`` goes on from it, so a run split into any number of ``advance`` calls, across any
number of processes, ends with the same bits as one uninterrupted ``advance()``.
``Network.fit`` is a run taken to its end.

The optimizer's state belongs to the run: each run starts a fresh one, ``advance`` goes on from it,
and a checkpoint stores it. ``Network.fit(..., warm_start=True)`` hands a run the state the
network's last ``fit`` ended with, ``Network.optimizer_state``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Unpack

import numpy as np
import numpy.typing as npt

from glassnet.checkpoints import (
    CheckpointFile,
    DataFingerprint,
    HistoryLog,
    RandomState,
    TrainingCheckpoint,
    read_checkpoint,
)
from glassnet.epochs import Divergence, TrainingData, Workspace, fresh_loss, train_epoch
from glassnet.functions import HEADS
from glassnet.network import Network
from glassnet.optim import BuiltInOptimizer
from glassnet.records import EpochRecord, InputScales, TrainingHistory
from glassnet.rules import positive_int
from glassnet.settings import TrainingOptions, TrainingSettings


class TrainingDiverged(ArithmeticError):
    """The training loss (or a gradient's size) became non-finite.

    ``history`` holds the epochs recorded so far; the network is restored to the last
    parameters that gave a finite loss (those at the first step of the diverging epoch,
    or of the epoch before when that step diverged).
    """

    def __init__(self, message: str, history: TrainingHistory) -> None:
        super().__init__(message)
        self.history = history


class TrainingRun:
    """A training run of ``network`` on ``X`` and labels ``y``: pause, inspect, go on, even after its process died.

    Give the settings as one `TrainingSettings`, or as its fields' keywords (``epochs=...,
    optimizer="adam"``); ``validation_data`` is ``(X_val, y_val)``, measured on every
    recorded epoch (and what ``patience`` stops on). Minibatch shuffles draw from the
    network's generator, whose position a checkpoint stores.

    The step buffers, the minibatch gather and the snapshots for divergence and update ratios
    live for one ``advance`` call: afterwards memory is back to what the parameters, the
    optimizer's state and the history need.
    """

    def __init__(
        self,
        network: Network,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        settings: TrainingSettings | None = None,
        *,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        **options: Unpack[TrainingOptions],
    ) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"network: expected a Network, got {type(network).__name__}")
        data = TrainingData.check(network, X, y, validation_data)
        if settings is None:
            settings = TrainingSettings.of(**options)
        elif not isinstance(settings, TrainingSettings):
            raise TypeError(f"settings: expected TrainingSettings, got {type(settings).__name__}")
        elif options:
            raise TypeError(f"{', '.join(options)}: expected these in settings, or settings left out")
        if settings.patience is not None and data.validation is None:
            raise ValueError("patience: expected validation_data to measure improvement on, got none")
        self.network, self.data, self.settings = network, data, settings
        self.optimizer_state: Any = settings.optimizer.init(network.parameter_vector)
        self.epochs_done = 0
        with np.errstate(over="ignore", invalid="ignore"):
            baseline = HEADS[network.head].baseline(data.Y)
        self.history = TrainingHistory(
            baseline_loss=baseline if math.isfinite(baseline) else None, input_scales=InputScales.of(data.X)
        )
        self._best_val_loss = math.inf
        self._best_parameters = None if settings.patience is None else np.empty_like(network.parameter_vector)
        self._fingerprint: DataFingerprint | None = None
        self._checkpoint_file: CheckpointFile | None = None

    @property
    def finished(self) -> bool:
        """Whether every epoch has run, or patience has stopped the run."""
        return self.epochs_done >= self.settings.epochs or self.history.stopped_early

    @np.errstate(over="ignore", invalid="ignore")  # a diverging run is reported once, as TrainingDiverged
    def advance(
        self,
        epochs: int | None = None,
        *,
        verbose: bool = False,
        on_record: Callable[[EpochRecord], None] | None = None,
        between_epochs: Callable[[int], None] | None = None,
    ) -> TrainingHistory:
        """Train up to ``epochs`` more epochs (``None``: all that remain) and return the history so far.

        Before the run's first step, the fresh network's loss is measured into ``history.initial_loss``.

        When the run finishes (its last epoch, or patience), the best parameters are restored
        if patience was set. ``verbose`` prints each record; ``on_record`` is called with each.
        ``between_epochs`` is called with the epochs done after every epoch but the call's last,
        with the run as it would be paused there: a checkpoint written then costs no remaking of
        the step buffers, as a call of ``advance`` per checkpoint would.

        Raises
        ------
        TrainingDiverged
            When a loss or a gradient's size becomes non-finite; the network keeps its last
            finite parameters, from which another ``advance`` would go on.
        """
        stop = self.settings.epochs
        if epochs is not None:
            stop = min(self.epochs_done + positive_int(epochs, "epochs"), stop)
        if self.finished:
            return self.history
        workspace = Workspace(self.network, self.data, self.settings.batch_size, keep_rows=self.settings.keep_rows)
        if self.epochs_done == 0 and self.history.initial_loss is None:  # a resumed run has it from its checkpoint
            start = fresh_loss(self.data, self.settings, workspace)
            self.history.initial_loss = start if math.isfinite(start) else None
        for epoch in range(self.epochs_done + 1, stop + 1):
            try:
                record = train_epoch(self.network, self.data, self.settings, self.optimizer_state, workspace, epoch)
            except Divergence as divergence:
                raise TrainingDiverged(str(divergence), self.history) from None
            self.epochs_done = epoch
            if record is not None:
                self.history.records.append(record)
                self._count_rows(workspace)
                if verbose:
                    print(_record_line(record), flush=True)
                if on_record is not None:
                    on_record(record)
                if self._patience_says_stop(record):
                    break
            if between_epochs is not None and epoch < stop:
                between_epochs(epoch)
        if self.finished and self._best_parameters is not None and self.history.best_epoch is not None:
            np.copyto(self.network.parameter_vector, self._best_parameters)
        return self.history

    def _count_rows(self, workspace: Workspace) -> None:
        """With ``keep_rows``, count the recorded epoch's per-row losses and margins in the history's measures."""
        history = self.history
        if workspace.row_losses is not None:
            history.rows = workspace.row_losses.counted(history.rows, workspace.shuffled_order)
        if workspace.val_row_losses is not None:
            history.val_rows = workspace.val_row_losses.counted(history.val_rows, None)

    def _patience_says_stop(self, record: EpochRecord) -> bool:
        """Track the best validation loss; with patience, say when it has not improved for long enough."""
        history, patience = self.history, self.settings.patience
        if record.val_loss is not None and record.val_loss < self._best_val_loss:
            self._best_val_loss, history.best_epoch = record.val_loss, record.epoch
            if self._best_parameters is not None:
                np.copyto(self._best_parameters, self.network.parameter_vector)
            return False
        if patience is None or history.best_epoch is None or record.epoch - history.best_epoch < patience:
            return False
        history.stopped_early = record.epoch < self.settings.epochs  # stopping at the last epoch stops nothing
        return True

    # ----- checkpoints -------------------------------------------------------

    def data_fingerprint(self) -> DataFingerprint:
        """The fingerprints of the run's data (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = DataFingerprint.of(self.data)
        return self._fingerprint

    def checkpoint(self) -> TrainingCheckpoint:
        """Everything this run needs to go on, as a validated document of its own."""
        return TrainingCheckpoint(**self._checkpoint_parts(copy=True), history=self.history.model_copy(deep=True))

    def stored_checkpoint(self, log: HistoryLog) -> TrainingCheckpoint:
        """The checkpoint as its file stores it, the history's records in ``log``, made at a cost that does not
        grow with the history: unvalidated, and sharing the run's arrays, so dump it before the run goes on
        (its writer, `CheckpointFile`, does; its reader, `read_checkpoint`, checks it whole)."""
        history = self.history.model_copy(update={"records": []})
        parts = self._checkpoint_parts(copy=False)
        return TrainingCheckpoint.model_construct(**parts, history=history, history_log=log)

    def _checkpoint_parts(self, *, copy: bool) -> dict[str, Any]:
        """The checkpoint's parts besides the history: copies of the run's arrays, or the arrays themselves."""
        optimizer = self.settings.optimizer
        if not isinstance(optimizer, BuiltInOptimizer):
            raise TypeError(
                f"optimizer: only sgd, momentum and adam can be saved in a checkpoint, got {type(optimizer).__name__}"
            )
        state, best = self.optimizer_state, self._best_parameters
        keep_best = best is not None and self.history.best_epoch is not None
        return {
            "network": self.network.to_document(copy=copy),
            "random_state": RandomState.model_validate(self.network.generator.bit_generator.state),
            "settings": self.settings,
            "optimizer_state": state.model_copy(deep=True) if copy and state is not None else state,
            "epochs_done": self.epochs_done,
            "best_val_loss": None if math.isinf(self._best_val_loss) else self._best_val_loss,
            "best_parameters": (best.copy() if copy else best) if keep_best and best is not None else None,
            "data": self.data_fingerprint(),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the run's checkpoint to ``path`` with its `CheckpointFile`: the JSON document, replaced atomically,
        and its history's records appended to the log beside it, ``<path>.history.jsonl``. From its first save
        the run owns the file (``<path>.lock``) until it saves elsewhere or is collected: another process that
        asks for it meanwhile is refused, naming this one."""
        if self._checkpoint_file is None or self._checkpoint_file.path != Path(path):
            if self._checkpoint_file is not None:
                self._checkpoint_file.close()
            self._checkpoint_file = None  # a file refused below is not kept
            self._checkpoint_file = CheckpointFile(path)
        self._checkpoint_file.write(self)

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: TrainingCheckpoint,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        *,
        source: str = "checkpoint",
    ) -> TrainingRun:
        """The run ``checkpoint`` describes, going on with ``X``, ``y`` and ``validation_data``.

        The data must be what the run trained on (compared by fingerprint); otherwise a
        ``ValueError`` starting with ``source`` says what differs.
        """
        network = Network.from_document(checkpoint.network)
        try:
            run = cls(network, X, y, checkpoint.settings, validation_data=validation_data)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{source}: {error}") from None
        differences = checkpoint.data.differences(run.data_fingerprint())
        if differences:
            raise ValueError(f"{source}: the data differs from the data the run trained on: {'; '.join(differences)}")
        network.generator.bit_generator.state = checkpoint.random_state.model_dump()
        state = checkpoint.optimizer_state
        run.optimizer_state = None if state is None else state.model_copy(deep=True)
        run.epochs_done = checkpoint.epochs_done
        # the baseline loss and the input scales are the data's, which the fingerprint says the run trained on:
        # taken from it, not from the file (older files have no scales; an edited one would mislead the diagnosis)
        of_data = {"baseline_loss": run.history.baseline_loss, "input_scales": run.history.input_scales}
        run.history = checkpoint.history.model_copy(deep=True, update=of_data)
        watched = 0 if run.data.validation is None else run.data.validation[0].shape[0]
        for name, measures, rows in (
            ("rows", run.history.rows, len(run.data.X)),
            ("val_rows", run.history.val_rows, watched),
        ):
            if measures is not None and len(measures) != rows:
                raise ValueError(
                    f"{source}: history.{name}: expected a measure per row of the data ({rows}), got {len(measures)}"
                )
        run._best_val_loss = math.inf if checkpoint.best_val_loss is None else checkpoint.best_val_loss
        if run._best_parameters is not None and checkpoint.best_parameters is not None:
            np.copyto(run._best_parameters, checkpoint.best_parameters)
        return run

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        validation_data: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    ) -> TrainingRun:
        """Read a checkpoint written by ``save`` and go on with the same data; errors name the file."""
        return cls.from_checkpoint(read_checkpoint(path, TrainingCheckpoint), X, y, validation_data, source=str(path))


def _record_line(record: EpochRecord) -> str:
    val = "" if record.val_loss is None else f"  val_loss {record.val_loss:.6g}"
    return f"epoch {record.epoch:>6}  loss {record.loss:.6g}{val}"
