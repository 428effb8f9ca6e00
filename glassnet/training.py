"""Training runs: `TrainingRun` and its checkpoint, a run that can pause, be inspected and go on.

A run owns what training needs beyond the network's parameters: its data (checked once), its
`TrainingSettings`, its optimizer's state, the epochs done, the history and, for patience, the
best parameters so far. ``advance`` is the loop; each epoch is `glassnet.epochs.train_epoch`.
``save`` writes everything as one `TrainingCheckpoint` and ``load`` goes on from it, so a run
split into any number of ``advance`` calls, across any number of processes, ends with the
same bits as one uninterrupted ``advance()``. ``Network.fit`` is a run taken to its end.

The optimizer's state belongs to the run. A network remembers the optimizer object it last
trained with and that object's state, so that ``fit`` given the same object again goes on
exactly; any other object, a name, or another network starts a state of its own.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, Self, Unpack
from weakref import WeakKeyDictionary

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from glassnet.epochs import Divergence, TrainingData, Workspace, train_epoch
from glassnet.functions import HEADS
from glassnet.guards import (
    ArrayFingerprint,
    Float64Vector,
    fingerprint_differences,
    older_document,
    positive_int,
    read_model,
    write_atomically,
)
from glassnet.network import Network, NetworkDocument
from glassnet.optim import STATES, AdamState, BuiltInOptimizer, MomentumState, state_size
from glassnet.records import EpochRecord, InputScales, TrainingHistory
from glassnet.settings import TrainingOptions, TrainingSettings

FloatArray = npt.NDArray[np.float64]


class TrainingDiverged(ArithmeticError):
    """The training loss (or a gradient's size) became non-finite.

    ``history`` holds the epochs recorded so far; the network is restored to the last
    parameters that gave a finite loss (those at the first step of the diverging epoch,
    or of the epoch before when that step diverged).
    """

    def __init__(self, message: str, history: TrainingHistory) -> None:
        super().__init__(message)
        self.history = history


# --------------------------------------------------------------------------- #
# Checkpoints
# --------------------------------------------------------------------------- #


class DataFingerprint(BaseModel):
    """Fingerprints of a run's training and validation arrays, as the network sees them."""

    model_config = ConfigDict(frozen=True)

    inputs: ArrayFingerprint
    targets: ArrayFingerprint
    validation_inputs: ArrayFingerprint | None = None
    validation_targets: ArrayFingerprint | None = None

    @classmethod
    def of(cls, data: TrainingData) -> Self:
        """The fingerprints of ``data``."""
        validation = data.validation
        return cls(
            inputs=ArrayFingerprint.of(data.X),
            targets=ArrayFingerprint.of(data.Y),
            validation_inputs=None if validation is None else ArrayFingerprint.of(validation[0]),
            validation_targets=None if validation is None else ArrayFingerprint.of(validation[1]),
        )

    def differences(self, other: DataFingerprint) -> list[str]:
        """What differs between this (recorded) data and ``other`` (given now), in words."""
        return fingerprint_differences(
            [
                ("X", self.inputs, other.inputs),
                ("y", self.targets, other.targets),
                ("validation_data X", self.validation_inputs, other.validation_inputs),
                ("validation_data y", self.validation_targets, other.validation_targets),
            ]
        )


class RandomState(BaseModel):
    """The position of a PCG64 generator, as ``Generator.bit_generator.state`` reports it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bit_generator: Literal["PCG64"]
    state: dict[Literal["state", "inc"], int]
    has_uint32: int = Field(ge=0, le=1)
    uinteger: int = Field(ge=0, lt=2**32)

    @model_validator(mode="after")
    def _a_generator_can_take_it(self) -> Self:
        if set(self.state) != {"state", "inc"} or not all(0 <= value < 2**128 for value in self.state.values()):
            raise ValueError(f"state: expected 'state' and 'inc' as integers in [0, 2**128), got {self.state}")
        return self

    def generator(self) -> np.random.Generator:
        """A generator at this position."""
        generator = np.random.default_rng()
        generator.bit_generator.state = self.model_dump()
        return generator


def _epochs(epochs: Sequence[int]) -> str:
    """A list of epochs for a message: all of them, or the first and last three of a long one."""
    shown = [str(e) for e in epochs] if len(epochs) <= 8 else [*map(str, epochs[:3]), "...", *map(str, epochs[-3:])]
    return f"[{', '.join(shown)}]"


class TrainingCheckpoint(BaseModel):
    """Everything a `TrainingRun` needs to go on, as one JSON document.

    ``{"format": "glassnet.checkpoint", "version": 2, ...}``: the network, its generator's
    position, the settings (the optimizer's with them), the optimizer's state, the epochs done,
    the history, the best parameters so far (with patience) and a fingerprint of the data it
    trained on. Its parts must agree with each other; a file whose parts do not is refused,
    with the parts named. Version 1 files, which kept the optimizer's settings and state
    together beside the other settings, are read as well.
    """

    format: Literal["glassnet.checkpoint"] = "glassnet.checkpoint"
    version: Literal[2] = 2
    network: NetworkDocument
    random_state: RandomState
    settings: TrainingSettings
    optimizer_state: MomentumState | AdamState | None = None
    epochs_done: int = Field(ge=0)
    history: TrainingHistory
    best_val_loss: float | None = None
    best_parameters: Float64Vector | None = None
    data: DataFingerprint

    @model_validator(mode="before")
    @classmethod
    def _read_version_1(cls, document: Any) -> Any:
        """A version 1 document in version 2's shape: its ``optimizer`` split into settings and state."""
        old = older_document(document, 1, "optimizer", "settings")
        if old is None:
            return document
        optimizer = old["optimizer"]
        upgraded = {name: value for name, value in old.items() if name != "optimizer"}
        upgraded["version"] = 2
        upgraded["settings"] = {**old["settings"], "optimizer": {k: v for k, v in optimizer.items() if k != "state"}}
        upgraded["optimizer_state"] = optimizer.get("state")
        return upgraded

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        """Refuse a document whose parts could not have come from one run, naming the parts that disagree."""
        settings, history, sizes = self.settings, self.history, self.network.layer_sizes
        shapes = list(itertools.pairwise(sizes))
        n_parameters = sum(i * o + o for i, o in shapes)
        if self.epochs_done > settings.epochs:
            raise ValueError(
                f"epochs_done: expected at most settings.epochs ({settings.epochs}), got {self.epochs_done}"
            )
        recorded = [record.epoch for record in history.records]
        expected = [epoch for epoch in range(1, self.epochs_done + 1) if settings.records(epoch)]
        if recorded != expected:
            raise ValueError(
                f"history: expected the records of epochs {_epochs(expected)} ({self.epochs_done} epochs_done, "
                f"settings.record_every {settings.record_every}), got records of epochs {_epochs(recorded)}"
            )
        for record in history.records:
            kept = None if record.gradients is None else [layer.weights.shape for layer in record.gradients.layers]
            if record.n_layers != len(shapes) or (kept is not None and kept != shapes):
                raise ValueError(
                    f"history: expected records of the network's layers {shapes}, got "
                    f"{kept or f'{record.n_layers} layers'} at epoch {record.epoch}"
                )
        watched = self.data.validation_inputs is not None
        if history.records and (history.records[0].val_loss is not None) != watched:
            raise ValueError(
                f"history: expected records {'with' if watched else 'without'} a val_loss, as data has "
                f"{'a' if watched else 'no'} validation part; got records {'without' if watched else 'with'}"
            )
        if self.data.inputs.shape[1:] != (sizes[0],) or self.data.targets.shape[1:] != (sizes[-1],):
            raise ValueError(
                f"data: expected inputs (n, {sizes[0]}) and targets (n, {sizes[-1]}) as the network takes and gives, "
                f"got {self.data.inputs.shape} and {self.data.targets.shape}"
            )
        self._optimizer_agrees(n_parameters)
        rows = self.data.inputs.shape[0]
        steps = self.epochs_done * -(-rows // (settings.batch_size or rows))  # minibatches per epoch, rounded up
        if isinstance(self.optimizer_state, AdamState) and self.optimizer_state.step < steps:
            # a run may go on from an optimizer's earlier steps (the same object), never from fewer than its own
            raise ValueError(
                f"optimizer_state: expected at least {steps} Adam steps, as {self.epochs_done} epochs_done "
                f"of {rows} rows in batches of {settings.batch_size or rows} take, got {self.optimizer_state.step}"
            )
        best = None if history.best_epoch is None else _val_loss_at(history, history.best_epoch)
        if self.best_val_loss != best:
            raise ValueError(
                f"best_val_loss: expected the val_loss of history.best_epoch ({history.best_epoch}), {best}, "
                f"got {self.best_val_loss}"
            )
        keeps_best = settings.patience is not None and history.best_epoch is not None
        if (self.best_parameters is not None) != keeps_best:
            raise ValueError("best_parameters: expected them exactly when patience has seen a best epoch")
        if self.best_parameters is not None and self.best_parameters.size != n_parameters:
            raise ValueError(
                f"best_parameters: expected {n_parameters} entries, one per parameter, got {self.best_parameters.size}"
            )
        return self

    def _optimizer_agrees(self, n_parameters: int) -> None:
        """Refuse an optimizer of one's own, a state of another kind, or a state of another size."""
        optimizer, state = self.settings.optimizer, self.optimizer_state
        if not isinstance(optimizer, BuiltInOptimizer):
            raise ValueError(f"settings.optimizer: expected sgd, momentum or adam to store, got {optimizer!r}")
        kind = STATES[optimizer.kind]
        if (state is None) != (kind is None) or (kind is not None and not isinstance(state, kind)):
            keeps = "no state" if kind is None else f"a {kind.__name__}"
            found = "none" if state is None else f"a {type(state).__name__}"
            raise ValueError(f"optimizer_state: expected {keeps}, as {optimizer.kind} keeps, got {found}")
        size = state_size(state)
        if size is not None and size != n_parameters:
            raise ValueError(
                f"optimizer_state: expected {n_parameters} entries, one per parameter of the network, got {size}: "
                "the state of another network's optimizer"
            )


def _val_loss_at(history: TrainingHistory, epoch: int) -> float | None:
    return next(record.val_loss for record in history.records if record.epoch == epoch)


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #

_LAST_OPTIMIZER: WeakKeyDictionary[Network, tuple[object, object]] = WeakKeyDictionary()
"""Per network, the optimizer object it last trained with and that object's state, for the next run."""


def _optimizer_state(network: Network, optimizer: Any) -> Any:
    """The state ``optimizer`` goes on from for ``network``: its state of the network's last run if that
    run had this very object, else a fresh one, which the network then remembers."""
    last = _LAST_OPTIMIZER.get(network)
    if last is not None and last[0] is optimizer:
        return last[1]
    state = optimizer.init(network.parameter_vector)
    _LAST_OPTIMIZER[network] = (optimizer, state)
    return state


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
        self.optimizer_state: Any = _optimizer_state(network, settings.optimizer)
        self.epochs_done = 0
        with np.errstate(over="ignore", invalid="ignore"):
            baseline = HEADS[network.head].baseline(data.Y)
        self.history = TrainingHistory(
            baseline_loss=baseline if math.isfinite(baseline) else None, input_scales=InputScales.of(data.X)
        )
        self._best_val_loss = math.inf
        self._best_parameters = None if settings.patience is None else np.empty_like(network.parameter_vector)
        self._fingerprint: DataFingerprint | None = None

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
    ) -> TrainingHistory:
        """Train up to ``epochs`` more epochs (``None``: all that remain) and return the history so far.

        When the run finishes (its last epoch, or patience), the best parameters are restored
        if patience was set. ``verbose`` prints each record; ``on_record`` is called with each.

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
        workspace = Workspace(self.network, self.data, self.settings.batch_size)
        for epoch in range(self.epochs_done + 1, stop + 1):
            try:
                record = train_epoch(self.network, self.data, self.settings, self.optimizer_state, workspace, epoch)
            except Divergence as divergence:
                raise TrainingDiverged(str(divergence), self.history) from None
            self.epochs_done = epoch
            if record is None:
                continue
            self.history.records.append(record)
            if verbose:
                print(_record_line(record), flush=True)
            if on_record is not None:
                on_record(record)
            if self._patience_says_stop(record):
                break
        if self.finished and self._best_parameters is not None and self.history.best_epoch is not None:
            np.copyto(self.network.parameter_vector, self._best_parameters)
        return self.history

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
        """Everything this run needs to go on, as a validated document."""
        optimizer = self.settings.optimizer
        if not isinstance(optimizer, BuiltInOptimizer):
            raise TypeError(
                f"optimizer: only sgd, momentum and adam can be saved in a checkpoint, got {type(optimizer).__name__}"
            )
        keep_best = self._best_parameters is not None and self.history.best_epoch is not None
        state = self.optimizer_state
        return TrainingCheckpoint(
            network=self.network.to_document(),
            random_state=RandomState.model_validate(self.network.generator.bit_generator.state),
            settings=self.settings,
            optimizer_state=None if state is None else state.model_copy(deep=True),
            epochs_done=self.epochs_done,
            history=self.history.model_copy(deep=True),
            best_val_loss=None if math.isinf(self._best_val_loss) else self._best_val_loss,
            best_parameters=self._best_parameters.copy() if keep_best and self._best_parameters is not None else None,
            data=self.data_fingerprint(),
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the run's checkpoint to ``path`` as one JSON document, atomically."""
        write_atomically(path, self.checkpoint().model_dump_json())

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
        _LAST_OPTIMIZER[network] = (run.settings.optimizer, run.optimizer_state)
        run.epochs_done = checkpoint.epochs_done
        scales = run.history.input_scales  # of the data, which the fingerprint says the run trained on
        run.history = checkpoint.history.model_copy(deep=True)
        if run.history.input_scales is None:  # a checkpoint written before histories kept them
            run.history.input_scales = scales
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
        return cls.from_checkpoint(read_model(path, TrainingCheckpoint), X, y, validation_data, source=str(path))


def _record_line(record: EpochRecord) -> str:
    val = "" if record.val_loss is None else f"  val_loss {record.val_loss:.6g}"
    return f"epoch {record.epoch:>6}  loss {record.loss:.6g}{val}"
