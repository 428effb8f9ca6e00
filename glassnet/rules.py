"""The argument rules, each in one place: numbers, optional numbers, names from a table, and the
`Settings` base of every settings record.

Every module checks the arguments it is given with these, so one rule decides every message
and every error type:

- ``TypeError`` when a value is not the kind of thing expected: text where a number
  belongs, a bool given as a count.
- ``ValueError`` when it is the right kind with a value that is not allowed: 0 epochs,
  a negative rate, NaN.

Each message names the argument, what was expected and what was given. A rule is also an
argparse ``type`` (`NumberRule.parse`), so the command line words things alike.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

NumberT = TypeVar("NumberT", int, float)


@dataclass(frozen=True)
class NumberRule(Generic[NumberT]):
    """One rule for a number argument: its kind, the values it accepts, and the words for both.

    ``rule(value, name)`` checks a Python value; ``rule.parse(text)`` is the same rule as an
    argparse ``type``, so the library and the command line accept and word things alike.
    """

    expected: str
    kind: type[NumberT]
    accept: Callable[[NumberT], bool]

    def __call__(self, value: object, name: str) -> NumberT:
        """``value`` as ``kind``; ``TypeError`` for another kind, ``ValueError`` for a value outside the rule."""
        kinds: tuple[type, ...] = (int, np.integer) if self.kind is int else (int, float, np.integer, np.floating)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise TypeError(f"{name}: expected {self.expected}, got {value!r}")
        try:
            number: NumberT = self.kind(cast(Any, value))  # an int, float or NumPy number, checked above
        except OverflowError:  # an integer beyond float64
            raise ValueError(f"{name}: expected {self.expected}, got {value!r}") from None
        if not self.accept(number):
            raise ValueError(f"{name}: expected {self.expected}, got {value!r}")
        return number

    def parse(self, text: str) -> NumberT:
        """The rule as an argparse ``type``: text in, number out, or the usage error saying what was expected."""
        try:
            number = self.kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}") from None
        if not self.accept(number):
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}")
        return number


positive_int = NumberRule("a positive integer", int, lambda v: v >= 1)
non_negative_int = NumberRule("an integer >= 0", int, lambda v: v >= 0)
positive_number = NumberRule("a positive finite number", float, lambda v: 0 < v < math.inf)
non_negative_number = NumberRule("a finite number >= 0", float, lambda v: 0 <= v < math.inf)
open_fraction = NumberRule("a number strictly between 0 and 1", float, lambda v: 0 < v < 1)


@dataclass(frozen=True)
class OptionalRule(Generic[NumberT]):
    """``rule``, or ``None`` let through: for the settings where ``None`` means "not at all" or "all of them".

    ``parse`` is the rule's own: on a command line, leaving the option out gives ``None``.
    """

    rule: NumberRule[NumberT]

    def __call__(self, value: object, name: str) -> NumberT | None:
        """``None``, or ``value`` checked by the rule."""
        return None if value is None else self.rule(value, name)

    def parse(self, text: str) -> NumberT:
        """The rule as an argparse ``type``."""
        return self.rule.parse(text)


def flag(value: object, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (a NumPy bool as the Python one); ``TypeError`` for anything else,
    1 and ``"yes"`` included."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def optional(rule: NumberRule[NumberT]) -> OptionalRule[NumberT]:
    """``rule``, or ``None``."""
    return OptionalRule(rule)


def optional_seed(value: object, name: str = "seed") -> int | None:
    """A seed: an integer >= 0, or ``None`` for fresh entropy."""
    return optional(non_negative_int)(value, name)


def one_of(value: object, name: str, choices: Mapping[str, object] | tuple[str, ...]) -> str:
    """``value`` if it is one of the names ``choices`` (a tuple, or a registry's keys)."""
    names = sorted(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {names}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name}: expected one of {names}, got {value!r}")
    return value


class Settings(BaseModel):
    """A record of settings (an optimizer's, a run's): fixed once made, no unknown names, and no value converted
    (``True`` is not 1, ``"2"`` is not 2), but a NumPy number is the Python number it holds (``np.int64(5)`` from
    a grid is 5)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _numpy_numbers_as_python(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {name: v.item() if isinstance(v, np.number) else v for name, v in values.items()}
        return values
