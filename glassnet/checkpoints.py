"""Checkpoints: `TrainingCheckpoint`, the document from which a `TrainingRun` goes on, and its files.

A checkpoint holds everything a run needs beyond its data: the network, its generator's position
(`RandomState`), the settings, the optimizer's state, the epochs done, the history, the best
parameters so far and a fingerprint of the data (`DataFingerprint`). `CheckpointFile` writes one
again and again, in the background if asked, its history's records in a `HistoryLog` beside it, so
that a checkpoint costs the same however long the run; `read_checkpoint` reads it back, log and all.

This room knows the run only as a `Checkpointed`: what a write reads of it.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from glassnet.epochs import TrainingData
from glassnet.fields import Float64Vector
from glassnet.files import (
    DISK_FULL,
    AtomicFile,
    ModelT,
    Owned,
    read_model,
    register_reader,
)
from glassnet.fingerprints import ArrayFingerprint, fingerprint_differences
from glassnet.network import NetworkDocument
from glassnet.optim import AdamState, BuiltInOptimizer, MomentumState, state_refusal
from glassnet.records import EpochRecord, TrainingHistory
from glassnet.rules import first_error
from glassnet.settings import TrainingSettings


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


CHECKPOINT_FILE = "glassnet.checkpoint_file"
"""The validation context's key for the path of the checkpoint file being read, beside which its log is."""


class HistoryLog(BaseModel):
    """Where a checkpoint file's history records are: ``file``, a JSON-lines file in the checkpoint's folder,
    one `EpochRecord` a line, of which the first ``records`` lines, ``size`` bytes whose SHA-256 is ``sha256``,
    are the checkpoint's. Lines after those (appended by a run killed before its next checkpoint) are not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str = Field(min_length=1)
    records: int = Field(ge=0)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    def read(self, checkpoint: Path) -> list[EpochRecord]:
        """The records of the checkpoint file ``checkpoint``, from the log beside it: ``<checkpoint>.history.jsonl``,
        found by the checkpoint's own name (a pair renamed together still loads), or where none is, ``file``, the
        name the log had when written (a checkpoint copied alone); the digest tells whether it is the log. A
        ``ValueError`` names both files when the log does not hold the records."""
        log = history_log(checkpoint)
        if not log.exists() and (checkpoint.parent / self.file).exists():
            log = checkpoint.parent / self.file
        try:
            held = log.read_bytes()
        except OSError as error:
            raise ValueError(f"{log}: cannot read the history log of {checkpoint}: {error.strerror or error}") from None
        prefix = held[: self.size]
        if len(prefix) < self.size or hashlib.sha256(prefix).hexdigest() != self.sha256:
            raise ValueError(
                f"{log}: expected the history log of {checkpoint}, whose first {self.size:,} bytes ({self.records} "
                f"records) have SHA-256 {self.sha256}; got {len(held):,} bytes that differ: the log was changed, cut "
                "short or written by another run"
            )
        lines = prefix.split(b"\n")[:-1]  # each record ends with a newline
        if len(lines) != self.records:
            raise ValueError(f"{log}: expected {self.records} records, as {checkpoint} counts, got {len(lines)}")
        records = []
        for number, line in enumerate(lines, start=1):
            try:
                records.append(EpochRecord.model_validate_json(line))
            except ValidationError as error:
                raise ValueError(f"{log}: line {number}: not a valid EpochRecord: {first_error(error)}") from None
        return records


class TrainingCheckpoint(BaseModel):
    """Everything a `TrainingRun` needs to go on, as one JSON document.

    ``{"format": "glassnet.checkpoint", "version": 3, ...}``: the network, its generator's
    position, the settings (the optimizer's with them), the optimizer's state, the epochs done,
    the history, the best parameters so far (with patience) and a fingerprint of the data it
    trained on. Its parts must agree with each other; a file whose parts do not is refused,
    with the parts named.

    In memory the history holds every record. A file written by `CheckpointFile` keeps them in
    a log beside it (``history_log``), read with the file by `read_checkpoint`. Older versions are
    read in this one's shape (`glassnet.upgrades`).
    """

    format: Literal["glassnet.checkpoint"] = "glassnet.checkpoint"
    version: Literal[3] = 3
    network: NetworkDocument
    random_state: RandomState
    settings: TrainingSettings
    optimizer_state: MomentumState | AdamState | None = None
    epochs_done: int = Field(ge=0)
    history: TrainingHistory
    history_log: HistoryLog | None = Field(
        default=None, description="in a file, where the history's records are; None in memory, where history has them"
    )
    best_val_loss: float | None = None
    best_parameters: Float64Vector | None = None
    data: DataFingerprint

    @model_validator(mode="before")
    @classmethod
    def _read_the_log(cls, document: Any, info: ValidationInfo) -> Any:
        """A file's records, read from its log."""
        if not isinstance(document, dict) or document.get("history_log") is None:
            return document
        log = HistoryLog.model_validate(document["history_log"])
        history, checkpoint = document.get("history"), (info.context or {}).get(CHECKPOINT_FILE)
        if checkpoint is None:
            raise ValueError(
                f"history_log: the records are in {log.file}, beside the checkpoint file: read the file with "
                "TrainingRun.load or TabularModel.resume"
            )
        if not isinstance(history, dict) or history.get("records"):
            raise ValueError(f"history: expected its records in {log.file} alone, got records in {checkpoint} too")
        return {**document, "history": {**history, "records": log.read(checkpoint)}, "history_log": None}

    @model_validator(mode="after")
    def _parts_agree(self) -> Self:
        """Refuse a document whose parts could not have come from one run, naming the parts that disagree."""
        if (
            self.history_log is not None
        ):  # a file's shape, by `TrainingRun.stored_checkpoint`: read, it is checked whole
            return self
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
        self._stopped_by_patience()
        keeps_best = settings.patience is not None and history.best_epoch is not None
        if (self.best_parameters is not None) != keeps_best:
            raise ValueError("best_parameters: expected them exactly when patience has seen a best epoch")
        if self.best_parameters is not None and self.best_parameters.size != n_parameters:
            raise ValueError(
                f"best_parameters: expected {n_parameters} entries, one per parameter, got {self.best_parameters.size}"
            )
        return self

    def _stopped_by_patience(self) -> None:
        """Refuse a history that says it stopped early unless patience stopped it: at its last record, epoch
        ``epochs_done``, at least ``patience`` epochs after the best, and before the last epoch (a run that would
        go no further would otherwise end where it stands)."""
        history, patience, epochs = self.history, self.settings.patience, self.settings.epochs
        if not history.stopped_early:
            return
        last, best = history.records[-1].epoch, history.best_epoch
        if patience is None or best is None or last != self.epochs_done or last - best < patience or last >= epochs:
            raise ValueError(
                f"history.stopped_early: expected it only where patience stopped the run, at its last record "
                f"(epoch {self.epochs_done} of {epochs}) and at least settings.patience epochs after best_epoch; "
                f"got patience {patience}, best_epoch {best}, the last record at epoch {last}"
            )

    def _optimizer_agrees(self, n_parameters: int) -> None:
        """Refuse an optimizer of one's own, a state of another kind, or a state of another size."""
        optimizer, state = self.settings.optimizer, self.optimizer_state
        if not isinstance(optimizer, BuiltInOptimizer):
            raise ValueError(f"settings.optimizer: expected sgd, momentum or adam to store, got {optimizer!r}")
        refusal = state_refusal(optimizer, state, n_parameters)
        if refusal is not None:
            raise ValueError(f"optimizer_state: {refusal}")


register_reader(TrainingCheckpoint, "glassnet.TrainingRun.load")


def _val_loss_at(history: TrainingHistory, epoch: int) -> float | None:
    return next(record.val_loss for record in history.records if record.epoch == epoch)


def history_log(path: str | os.PathLike[str]) -> Path:
    """The history log beside the checkpoint file ``path``: ``<path>.history.jsonl``."""
    return Path(path).with_name(f"{Path(path).name}.history.jsonl")


def read_checkpoint(path: str | os.PathLike[str], model: type[ModelT]) -> ModelT:
    """Read the checkpoint file ``path`` as ``model`` (a `TrainingCheckpoint`, or a document holding one), its
    history's records from the log beside it; every failure is a ``ValueError`` naming the file."""
    return read_model(path, model, context={CHECKPOINT_FILE: Path(path)})


class CheckpointNotSaved(OSError):
    """A checkpoint write that failed on disk (a full disk): it names the file that could not be written and
    says what the checkpoint file still holds, its last complete save, and how to go on."""

    def __init__(self, error: OSError, file: Path, checkpoint: Path, epochs: int, held: int | None) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(file))
        self.checkpoint, self.epochs, self.held = checkpoint, epochs, held

    def advising(self, how: str = "resume from it", held: int | None = None) -> str:
        """The message, with ``how`` the run goes on from the file and ``held``, the epochs it held before the
        run first saved to it (a run resumed from it), when the caller knows them."""
        held = self.held if self.held is not None else held
        fix = "free some space, then " if self.errno in DISK_FULL else "once it can be written, "
        if held is not None:
            holds = f"still holds its last complete save, epoch {held}: {fix}{how}"
        elif self.checkpoint.exists():
            holds = f"is as it was before this run saved to it: {fix}start the run again"
        else:
            holds = f"was not written: {fix}start the run again"
        failed = f"{self.filename}: cannot save the checkpoint of epoch {self.epochs}: {self.strerror}"
        return f"{failed}; {self.checkpoint} {holds}"

    def __str__(self) -> str:
        return self.advising()


class CheckpointFile:
    """The checkpoint file ``path`` and its history log ``<path>.history.jsonl``, written by one run again and again,
    and owned by it (`Owned`, ``<path>.lock``) from the start until `close` (or until it is collected): another
    process asking for the file meanwhile is refused, naming this one.

    Each `write` appends the records made since the last one to the log (flushed to disk), then
    replaces the checkpoint, which counts them, atomically (an `AtomicFile`): what a write costs
    does not grow with the run. A kill between the two leaves lines the checkpoint does not count,
    which its reader ignores. The first write of a run's history writes the log whole, atomically,
    so a file's earlier log (another run's, or extra lines of a killed one) goes. So does any write
    that finds the log other than this writer left it (another run of this process saved to the path,
    or the log was moved away): appending to it would leave a checkpoint that cannot load.

    A write in the ``background`` makes its bytes at once and leaves the files to a thread of its
    own, so that training goes on while the disk works (the two flushes to disk are most of what a
    write costs). Training never waits for the disk: a write made while the last one is still on its
    way, and another waits behind it, takes the waiting one's place (its checkpoint replaces that
    one's, its lines are added to that one's). `wait` and `close` (which a run calls before it
    returns, or stops) return once all is on disk; they, and the next write, raise the error of a
    write that failed (a `CheckpointNotSaved` for the disk's), after which nothing more of its queue
    is written and the log begins afresh.
    """

    def __init__(self, path: str | os.PathLike[str], *, name: str = "path") -> None:
        self.checkpoint = AtomicFile(path, name=name)
        self.path, self.name = self.checkpoint.path, name
        self.log = history_log(self.path)
        self._whole_log = AtomicFile(self.log, name=f"{name}'s history log")  # its name checked now, too
        self._owned = Owned(self.path, name)
        self._history: TrainingHistory | None = None
        self._records, self._size, self._digest = 0, 0, hashlib.sha256()  # what the log holds
        self._left: os.stat_result | None = None  # the log as the last write left it, in the thread that writes
        self._held: int | None = None  # the epochs of the last checkpoint written whole
        self._disk: ThreadPoolExecutor | None = None
        self._last: Future[None] | None = None  # the last write handed to the thread
        self._waiting: _Write | None = None  # a write handed to the thread, not begun yet, under `_lock`
        self._failure: BaseException | None = None  # a background write's, under `_lock`
        self._lock = threading.Lock()

    def write(
        self,
        run: Checkpointed,
        document: Callable[[TrainingCheckpoint], BaseModel] | None = None,
        *,
        background: bool = False,
    ) -> None:
        """Write ``run``'s checkpoint, or ``document`` of it (a document that holds it, as `TabularCheckpoint`);
        in the ``background``: return once its bytes are made."""
        self._raise_failure()
        records = run.history.records
        begun_here = run.history is self._history and len(records) >= self._records
        written, size, digest = (
            (self._records, self._size, self._digest.copy()) if begun_here else (0, 0, hashlib.sha256())
        )
        lines = b"".join(_line(record) for record in records[written:])
        digest.update(lines)
        log = HistoryLog.model_construct(
            file=self.log.name, records=len(records), size=size + len(lines), sha256=digest.hexdigest()
        )
        stored = run.stored_checkpoint(log)
        checkpoint = (stored if document is None else document(stored)).model_dump_json().encode()
        made = _Write(lines, size == 0, checkpoint, run.epochs_done, records, log)
        # only now that every byte is made (making them may raise) does the log count the new lines as its own
        self._history, self._records, self._size, self._digest = run.history, len(records), log.size, digest
        if not background:
            self.wait()
            try:
                self._put(made)
            except BaseException:
                self._history = None  # the next write begins the log afresh
                raise
            return
        with self._lock:
            if self._waiting is not None:  # the last write still waits for the one before it: this one takes its place
                self._waiting = self._waiting.followed_by(made)
                return
            self._waiting = made
        if self._disk is None:
            self._disk = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glassnet-checkpoint")
        self._last = self._disk.submit(self._put_queued)

    def wait(self) -> None:
        """Return once every write is on disk, or raise the error of one that failed."""
        last, self._last = self._last, None
        if last is not None:
            last.result()
        self._raise_failure()

    def __enter__(self) -> CheckpointFile:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    def close(self) -> None:
        """`wait`, then let the thread that writes in the background go, and the file."""
        try:
            self.wait()
        finally:
            if self._disk is not None:
                self._disk.shutdown()
                self._disk = None
            self._owned.release()

    def _raise_failure(self) -> None:
        """Raise a background write's error, once, dropping the write that waited behind it; the next write
        then begins the log afresh."""
        with self._lock:
            failure, self._failure = self._failure, None
            if failure is not None:
                self._waiting = None
        if failure is not None:
            self._history = None
            raise failure

    def _put_queued(self) -> None:
        """In the thread: the write that waits, unless one before it failed."""
        with self._lock:
            made, self._waiting = self._waiting, None
            if made is None or self._failure is not None:  # what waits behind a failed write is not written
                return
        try:
            self._put(made)
        except BaseException as error:
            with self._lock:
                self._failure = error

    def _put(self, made: _Write) -> None:
        """The files of one write: the log's new lines (or the whole log, replaced, where it is not as the last
        write left it), flushed to disk, then the checkpoint. A failure on disk is a `CheckpointNotSaved`."""
        file = self.log
        try:
            if made.whole or not _same_log(self._left, self.log):
                self._left = None
                self._whole_log.write(made.whole_log())
                self._left = self.log.stat()
            else:
                self._left = None
                with self.log.open("ab") as appended:
                    appended.write(made.lines)
                    appended.flush()
                    os.fsync(appended.fileno())
                    self._left = os.fstat(appended.fileno())
            file = self.path
            self.checkpoint.write(made.checkpoint)
        except OSError as error:
            raise CheckpointNotSaved(error, file, self.path, made.epochs, self._held) from error
        self._held = made.epochs


def _line(record: EpochRecord) -> bytes:
    """A record as its history log's line."""
    return record.model_dump_json().encode("utf-8") + b"\n"


def _same_log(left: os.stat_result | None, log: Path) -> bool:
    """Whether the file at ``log`` is still the one a write ``left`` (the same file, size and time of change)."""
    if left is None:
        return False
    try:
        now = log.stat()
    except OSError:
        return False
    return os.path.samestat(left, now) and (left.st_size, left.st_mtime_ns) == (now.st_size, now.st_mtime_ns)


@dataclass(frozen=True)
class _Write:
    """One write of a `CheckpointFile`: the log's new ``lines`` (or the ``whole`` log), then the ``checkpoint``
    of ``epochs``, whose ``log`` is the first records of ``records`` (the run's own list, which only grows)."""

    lines: bytes
    whole: bool
    checkpoint: bytes
    epochs: int
    records: list[EpochRecord]
    log: HistoryLog

    def followed_by(self, later: _Write) -> _Write:
        """This write and the ``later`` one as one: the later checkpoint, and the lines of both (or the later
        whole log)."""
        if later.whole:
            return later
        return replace(later, lines=self.lines + later.lines, whole=self.whole)

    def whole_log(self) -> bytes:
        """The log the checkpoint counts, whole: its new lines, or every line where they are all there is."""
        if self.whole:
            return self.lines
        lines = b"".join(_line(record) for record in self.records[: self.log.records])
        if len(lines) != self.log.size or hashlib.sha256(lines).hexdigest() != self.log.sha256:
            raise ValueError(f"history: the run's records are not those its log held: {self.log.file} not rewritten")
        return lines


class Checkpointed(Protocol):
    """What `CheckpointFile.write` reads of a run (a `TrainingRun`): its history, the epochs done, and its
    checkpoint as a file stores it, the history's records in ``log``."""

    @property
    def history(self) -> TrainingHistory: ...

    @property
    def epochs_done(self) -> int: ...

    def stored_checkpoint(self, log: HistoryLog) -> TrainingCheckpoint: ...
