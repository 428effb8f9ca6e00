"""Optimizers: settings apart from state, each step updating one flat vector in place.

An optimizer object holds only its settings, frozen: ``SGD(learning_rate=0.05)``. Its state
(momentum's velocity, Adam's moments) is made by ``init(parameters)`` for one parameter vector
(p,) and belongs to the run that trains that vector; ``step(parameters, gradients, state,
scratch)`` updates the parameters and the state in place, computing in ``scratch``
(`SCRATCH_ROWS`, p), so that a step allocates nothing. One settings object can therefore
drive any number of networks, each with its own state, as in optax (``init`` and ``update``).

Conventions are PyTorch's, so the same settings give the same steps: momentum is the heavy
ball ``v = momentum v + g; p -= lr v``; Adam is bias-corrected with betas (0.9, 0.999) and
eps 1e-8. Each default learning rate is written once, on its class, with its reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from glassnet.fields import Float64Vector, FloatArray
from glassnet.rules import Settings, decay, positive_number

OptimizerName = Literal["sgd", "momentum", "adam"]

SCRATCH_ROWS = 2
"""The built-in optimizers compute their update in up to this many parameter-sized vectors."""


class Optimizer(Protocol):
    """An update rule: ``init`` makes a fresh state for a parameter vector, ``step`` takes one step.

    ``step`` updates ``parameters`` (p,) and ``state`` in place from ``gradients`` (p,), and may
    compute in ``scratch`` (`SCRATCH_ROWS`, p), which the run owns and reuses.
    """

    def init(self, parameters: FloatArray) -> Any: ...

    def step(self, parameters: FloatArray, gradients: FloatArray, state: Any, scratch: FloatArray) -> None: ...


PositiveFinite = Annotated[float, positive_number]
"""A learning rate or ``eps``: a finite number > 0 (an infinite one would make every step 0 or NaN)."""
Decay = Annotated[float, decay]
"""Momentum, or one of Adam's betas: a number >= 0 and < 1."""


def _work(parameters: FloatArray, scratch: FloatArray | None, row: int) -> FloatArray:
    """Row ``row`` of ``scratch`` (SCRATCH_ROWS, p) to compute in, or a new (p,) array without it."""
    return np.empty_like(parameters) if scratch is None else scratch[row]


class SGD(Settings):
    """Plain gradient descent: ``p -= learning_rate g``. It has no state.

    The default learning rate, 0.05, takes the default housing network (4-10-25-1 on z-scored
    data, full batch) to its loss floor within 150 epochs, at an eighth of the rate at which
    that network diverges (tests/test_optim.py measures both).
    """

    kind: Literal["sgd"] = "sgd"
    learning_rate: PositiveFinite = 0.05

    def init(self, parameters: FloatArray) -> None:
        """SGD keeps no state."""
        return None

    def step(
        self, parameters: FloatArray, gradients: FloatArray, state: None = None, scratch: FloatArray | None = None
    ) -> None:
        """Update ``parameters`` (p,) in place from ``gradients`` (p,), computing in ``scratch`` if given."""
        parameters -= np.multiply(gradients, self.learning_rate, out=_work(parameters, scratch, 0))


class MomentumState(BaseModel):
    """The velocity of `Momentum`, one entry per parameter."""

    model_config = ConfigDict(extra="forbid")

    velocity: Float64Vector


class Momentum(Settings):
    """Heavy-ball momentum, PyTorch's convention: ``v = momentum v + g; p -= learning_rate v``.

    The default learning rate, 0.01, takes the default housing network to its loss floor
    within 150 full-batch epochs at a twentieth of the rate at which it diverges: the velocity
    multiplies a steady gradient by up to ``1 / (1 - momentum)`` (tests/test_optim.py).
    """

    kind: Literal["momentum"] = "momentum"
    learning_rate: PositiveFinite = 0.01
    momentum: Decay = 0.9

    def init(self, parameters: FloatArray) -> MomentumState:
        """A zero velocity for ``parameters`` (p,)."""
        return MomentumState(velocity=np.zeros_like(parameters))

    def step(
        self, parameters: FloatArray, gradients: FloatArray, state: MomentumState, scratch: FloatArray | None = None
    ) -> None:
        """Update ``parameters`` (p,) and ``state`` in place from ``gradients`` (p,), computing in ``scratch``."""
        velocity = state.velocity
        velocity *= self.momentum
        velocity += gradients
        parameters -= np.multiply(velocity, self.learning_rate, out=_work(parameters, scratch, 0))


class AdamState(BaseModel):
    """Adam's step count and its bias-uncorrected moment estimates, one entry per parameter."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=0)
    first_moment: Float64Vector
    second_moment: Float64Vector


class Adam(Settings):
    """Adam with PyTorch's betas, eps and bias correction.

    The default learning rate is 0.01 rather than PyTorch's 0.001: glassnet trains full batch
    by default, one step per epoch, where 0.001 needs ten times the epochs.
    """

    kind: Literal["adam"] = "adam"
    learning_rate: PositiveFinite = 0.01
    beta1: Decay = 0.9
    beta2: Decay = 0.999
    eps: PositiveFinite = 1e-8

    def init(self, parameters: FloatArray) -> AdamState:
        """No steps yet and zero moments for ``parameters`` (p,)."""
        return AdamState(step=0, first_moment=np.zeros_like(parameters), second_moment=np.zeros_like(parameters))

    def step(
        self, parameters: FloatArray, gradients: FloatArray, state: AdamState, scratch: FloatArray | None = None
    ) -> None:
        """Update ``parameters`` (p,) and ``state`` in place from ``gradients`` (p,), computing in ``scratch``:

        ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g g``,
        ``p -= (lr / (1 - b1^t)) m / (sqrt(v / (1 - b2^t)) + eps)``.
        """
        state.step += 1
        m, v = state.first_moment, state.second_moment
        update, denominator = _work(parameters, scratch, 0), _work(parameters, scratch, 1)
        m *= self.beta1
        m += np.multiply(gradients, 1.0 - self.beta1, out=update)
        v *= self.beta2
        v += np.multiply(np.multiply(gradients, 1.0 - self.beta2, out=update), gradients, out=update)
        step_size = self.learning_rate / (1.0 - self.beta1**state.step)
        np.sqrt(np.divide(v, 1.0 - self.beta2**state.step, out=denominator), out=denominator)
        denominator += self.eps
        np.multiply(m, step_size, out=update)
        update /= denominator
        parameters -= update


BuiltInOptimizer = SGD | Momentum | Adam
OPTIMIZERS: dict[str, type[SGD] | type[Momentum] | type[Adam]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
SavedOptimizer = Annotated[BuiltInOptimizer, Field(discriminator="kind")]
"""A built-in optimizer's settings as a record field: JSON tells them apart by ``kind``."""
OptimizerState = MomentumState | AdamState | None
"""A built-in optimizer's state: SGD's is ``None``."""
STATES: dict[str, type[MomentumState] | type[AdamState] | None] = {
    "sgd": None,
    "momentum": MomentumState,
    "adam": AdamState,
}
"""The state each built-in optimizer keeps."""


def state_size(state: OptimizerState) -> int | None:
    """How many parameters a built-in optimizer's ``state`` is for (``None`` for SGD's)."""
    if state is None:
        return None
    return state.velocity.size if isinstance(state, MomentumState) else state.first_moment.size


def _a(name: str) -> str:
    """``name`` after its article: ``an AdamState``, ``a MomentumState``."""
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def state_refusal(optimizer: object, state: object, n_parameters: int) -> str | None:
    """Why ``state`` cannot be the state ``optimizer`` goes on from for ``n_parameters`` parameters, or ``None``.

    A built-in optimizer's state must be the kind it keeps (`STATES`), one entry per parameter;
    an optimizer of one's own is trusted with the state it made.
    """
    if not isinstance(optimizer, BuiltInOptimizer):
        return None
    kind = STATES[optimizer.kind]
    if (state is None) != (kind is None) or (kind is not None and not isinstance(state, kind)):
        keeps = "no state" if kind is None else _a(kind.__name__)
        found = "none" if state is None else _a(type(state).__name__)
        return f"expected {keeps}, as {optimizer.kind} keeps, got {found}"
    size = state_size(state)  # type: ignore[arg-type]  # the kind checked above
    if size is not None and size != n_parameters:
        return (
            f"expected {n_parameters} entries, one per parameter of the network, got {size}: "
            "the state of another network's optimizer"
        )
    return None


def is_optimizer(value: object) -> bool:
    """Whether ``value`` follows the `Optimizer` protocol: it has ``init`` and ``step``."""
    return callable(getattr(value, "init", None)) and callable(getattr(value, "step", None))


def make_optimizer(optimizer: object, learning_rate: object = None) -> Any:
    """An optimizer from a name (with ``learning_rate``, or its default), or the object given, checked.

    Raises ``ValueError`` for an unknown name or a ``learning_rate`` given with an object (it
    has its own), ``TypeError`` for an object without ``init`` and ``step``; the optimizer's
    record checks ``learning_rate`` by its rule.
    """
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)} or an Optimizer, got {optimizer!r}")
        if learning_rate is None:
            return OPTIMIZERS[optimizer]()
        return OPTIMIZERS[optimizer](learning_rate=cast(float, learning_rate))  # the record checks it
    if not is_optimizer(optimizer):
        raise TypeError(
            "optimizer: expected a name or an Optimizer with init(parameters) and "
            f"step(parameters, gradients, state, scratch), got {optimizer!r}"
        )
    if learning_rate is not None:
        raise ValueError("learning_rate: expected None when optimizer is an object (it has its own), got a value")
    return optimizer
