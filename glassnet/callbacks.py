"""Callbacks: what happens around a `TabularModel`'s training, as objects given to ``fit(callbacks=[...])``.

    class Losses(Callback):
        def on_epoch_end(self, record: EpochRecord) -> None:
            print(record.epoch, record.loss)

    model.fit(frame, "price", callbacks=[WriteCheckpoints("run.json", every=10), Losses()])

A callback overrides the hooks it needs; the others do nothing. Each hook is called on every callback
in the order given. Printing, writing checkpoints (`glassnet.tabular.WriteCheckpoints`) and stopping are
callbacks: an exception raised by a hook stops training there, and ``fit`` raises it once every callback
has been closed (a checkpoint then holds the epochs of its last write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glassnet.records import EpochRecord
    from glassnet.tabular import TabularModel
    from glassnet.training import TrainingRun


class Callback:
    """The hooks of a training, in the order they are called; each does nothing unless overridden."""

    def on_train_begin(self, model: TabularModel) -> None:
        """Once ``model`` is built (or read from its checkpoint), before the first epoch: it can already predict."""

    def on_epoch_end(self, record: EpochRecord) -> None:
        """With each recorded epoch's record, as it is made."""

    def between_epochs(self, run: TrainingRun) -> None:
        """After every epoch that another follows, with ``run`` paused there (``run.epochs_done`` epochs done)."""

    def on_train_end(self, model: TabularModel) -> None:
        """Once training has finished (with patience, the best epoch's parameters restored); not after an error."""

    def close(self) -> None:
        """Let go of what `on_train_begin` took (a file): called once training has ended, error or not."""
