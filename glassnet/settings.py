"""How a run trains: `TrainingSettings`, one frozen record, the one owner of every training setting.

Every way in builds it and nothing else lists its fields or checks them: ``Network.fit``,
`TrainingRun`, `TabularModel`, the scikit-learn estimators and the command line (whose
options read their defaults and help from here). A checkpoint stores it once.

Each field's default is written once, below, with its reason, and its rule (a positive
integer, a finite number >= 0, ...) once, in its type (`glassnet.rules`): the record checks it
when it is made, from Python values or from JSON, and the command line parses its option with
it, so each way in words a bad value alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Self, TypedDict, Unpack

from pydantic import Field, PlainValidator

from glassnet.optim import (
    OPTIMIZERS,
    SGD,
    BuiltInOptimizer,
    Optimizer,
    OptimizerName,
    SavedOptimizer,
    is_optimizer,
    make_optimizer,
)
from glassnet.rules import Settings, flag, non_negative_number, optional, positive_int


def _custom_optimizer(value: object) -> object:
    """An object of the `Optimizer` protocol, which trains but cannot be stored in a checkpoint."""
    if not is_optimizer(value):
        raise ValueError(f"expected sgd, momentum, adam or an Optimizer with init and step, got {value!r}")
    return value


class TrainingOptions(TypedDict, total=False):
    """`TrainingSettings`' fields as keywords (``optimizer`` as a name or an object, and ``learning_rate``
    for a name's), for the calls that take them: ``fit(X, y, epochs=..., optimizer="adam")``."""

    epochs: int
    optimizer: OptimizerName | Optimizer
    learning_rate: float | None
    batch_size: int | None
    l2: float
    patience: int | None
    record_every: int
    keep_gradients: int | None
    keep_rows: bool


PositiveInt = Annotated[int, positive_int]
OptionalPositiveInt = Annotated[int | None, optional(positive_int)]
"""A positive integer, or ``None`` for "not at all" or "all of them"."""
NonNegativeNumber = Annotated[float, non_negative_number]
Flag = Annotated[bool, flag]
"""True or False, and nothing else (not 1, not "yes")."""


class TrainingSettings(Settings):
    """How a run trains: epochs, the optimizer with its settings, batch size, ``l2``, patience, records.

    Make one directly, from Python values with `of` (which takes a name and a learning rate
    for the optimizer), or read one from JSON: each value is checked by its field's rule, with
    one message that names it. ``optimizer`` holds the learning rate: `learning_rate` reads it
    from there.
    """

    epochs: PositiveInt = Field(
        default=150,  # the default housing network's test loss is within 3% of the noise by then (README)
        description="passes over the training rows",
    )
    optimizer: SavedOptimizer | Annotated[Optimizer, PlainValidator(_custom_optimizer)] = Field(
        default=SGD(),  # the textbook rule, with the fewest settings: what a reader follows by hand
        description="the update rule and its settings, learning rate included",
        union_mode="left_to_right",  # a built-in optimizer (or its document) first, and only then one of your own
    )
    batch_size: OptionalPositiveInt = Field(
        default=None,  # full batch: every epoch one exact gradient, the same whatever the row order
        description="rows per step, reshuffled every epoch (default: all of them)",
    )
    l2: NonNegativeNumber = Field(
        default=0.0,  # no penalty unless asked: the loss is the head's own, as the contract defines it
        description="weight decay: adds (l2 / 2) sum(W**2) over the weights to the loss",
    )
    patience: OptionalPositiveInt = Field(
        default=None,  # train every epoch asked for; stopping early needs validation data to watch
        description="stop after this many epochs without a better validation loss, keeping the best epoch",
    )
    record_every: PositiveInt = Field(
        default=1,  # every epoch: the tables and plots show them all (bench/compare.py measures what a record costs)
        description="record the first epoch, every this many epochs, and the last",
    )
    keep_gradients: OptionalPositiveInt = Field(
        default=None,  # full gradients are as large as the network: kept only when asked for
        description="keep the full gradients of the first, every this many, and the last recorded epoch",
    )
    keep_rows: Flag = Field(
        default=False,  # a loss per row is as large as the data: measured only when asked for
        description="add every training row's loss (and a classifier's margin) on each recorded epoch to the "
        "history's per-row measures (TrainingHistory.rows)",
    )

    @classmethod
    def of(cls, base: TrainingSettings | None = None, **options: Unpack[TrainingOptions]) -> Self:
        """``base`` (default: every field's default) with ``options`` in its place, checked as the record checks them.

        ``optimizer`` is a name (``"sgd"``, ``"momentum"``, ``"adam"``) or an `Optimizer`;
        ``learning_rate`` sets a name's (``None``: its default). A ``learning_rate`` alone
        changes the base optimizer's.
        """
        given: dict[str, Any] = dict(options)
        known = sorted(TrainingOptions.__annotations__)
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise TypeError(f"{', '.join(unknown)}: not a training setting; expected some of {known}")
        start = dict(base if base is not None else cls())
        optimizer, learning_rate = given.pop("optimizer", None), given.pop("learning_rate", None)
        if optimizer is None and learning_rate is not None and isinstance(start["optimizer"], BuiltInOptimizer):
            optimizer = start["optimizer"].kind  # a learning rate for the base's kind of optimizer
        if optimizer is not None or learning_rate is not None:
            start["optimizer"] = make_optimizer(start["optimizer"] if optimizer is None else optimizer, learning_rate)
        return cls(**{**start, **given})

    @property
    def learning_rate(self) -> float | None:
        """The optimizer's learning rate (``None`` for an optimizer of your own without one)."""
        return getattr(self.optimizer, "learning_rate", None)

    @property
    def optimizer_name(self) -> str:
        """The optimizer's name: ``"sgd"``, ``"momentum"``, ``"adam"``, or the class name of one of your own."""
        return str(getattr(self.optimizer, "kind", type(self.optimizer).__name__))

    def records(self, epoch: int) -> bool:
        """Whether ``epoch`` is recorded: the first, every ``record_every``-th, and the last."""
        return epoch == 1 or epoch % self.record_every == 0 or epoch == self.epochs

    def keeps(self, epoch: int) -> bool:
        """Whether a recorded ``epoch`` keeps its full gradients: the first, the last, every ``keep_gradients``-th."""
        every = self.keep_gradients
        return every is not None and (epoch == 1 or epoch == self.epochs or epoch % every == 0)


def default_learning_rates() -> str:
    """Each built-in optimizer's default learning rate, for help texts: ``"sgd 0.05, momentum 0.01, adam 0.01"``."""
    return ", ".join(f"{name} {kind.model_fields['learning_rate'].default:g}" for name, kind in OPTIMIZERS.items())
