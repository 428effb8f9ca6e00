"""The argument rules, each declared once and worded once: numbers, optional numbers, names from a
table, and the `Settings` base of every settings record.

A rule is data, as scikit-learn's ``_parameter_constraints`` are: ``positive_int`` says "a
positive integer", its kind and its bounds. It is declared once, where the value lives: as the
metadata of a record's field (``epochs: Annotated[int, positive_int]``), which pydantic then
checks whether the record is made in Python or read from JSON; and the command line takes
the same declaration as its option's argparse ``type`` (`rule_of`). Every way in gives one
message, naming the value, what was expected and what was given:

- ``TypeError`` when a value is not the kind of thing expected: text where a number
  belongs, a bool given as a count.
- ``ValueError`` when it is the right kind with a value that is not allowed: 0 epochs,
  a negative rate, NaN.

``epochs: expected a positive integer, got 0`` from ``TrainingSettings(epochs=0)`` and from
``TrainingSettings.of(epochs=0)``; ``settings.epochs: expected a positive integer, got 0`` from a
checkpoint file; ``argument --epochs: expected a positive integer, got 0`` from the command line.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationError
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

NumberT = TypeVar("NumberT", int, float)

WRONG_KIND = "glassnet_wrong_kind"
"""The pydantic error type of a value that is not the kind a rule expects (a ``TypeError`` in Python)."""
NOT_ALLOWED = "glassnet_not_allowed"
"""The pydantic error type of a value of the right kind that a rule does not allow (a ``ValueError`` in Python)."""


_UNION_MEMBER = re.compile(r"(tagged-union|union|function-(plain|before|after|wrap))\[")
"""How pydantic names a member of a union in an error's location."""


def first_error(error: ValidationError) -> str:
    """The first problem of a Pydantic ``ValidationError``, as ``location: message``: ``optimizer.sgd.learning_rate:
    expected a positive finite number, got -1`` (the location without pydantic's names for the members of a union,
    such as ``tagged-union[SGD,Momentum,Adam]``)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"] if not _UNION_MEMBER.match(str(part)))
    return f"{where}: {first['msg']}" if where else first["msg"]


def raised(error: ValidationError) -> TypeError | ValueError:
    """``error``'s first problem as the error a rule raises in Python: a ``TypeError`` for a value of the wrong
    kind, else a ``ValueError``, with the message ``location: expected ..., got ...``."""
    return (TypeError if error.errors()[0]["type"] == WRONG_KIND else ValueError)(first_error(error))


@dataclass(frozen=True)
class NumberRule(Generic[NumberT]):
    """One rule for a number: its words, its kind, and the interval it must lie in (``low`` to ``high``,
    ``high`` excluded, ``low`` included unless ``low_included`` is false).

    The kind takes NumPy numbers too (``np.int64(5)`` from a grid is 5) and never a bool
    (``True`` is not 1). ``rule(value, name)`` checks a Python value; as the metadata of an
    ``Annotated`` field it is the field's whole validation; ``rule.parse(text)`` is the same
    rule as an argparse ``type``.
    """

    expected: str
    kind: type[NumberT]
    low: float
    high: float = math.inf
    low_included: bool = True

    def check(self, value: object) -> NumberT:
        """``value`` as ``kind``; a `PydanticCustomError` of type `WRONG_KIND` or `NOT_ALLOWED` otherwise, whose
        message says what was expected and what was given (the caller names the value)."""
        kinds: tuple[type, ...] = (int, np.integer) if self.kind is int else (int, float, np.integer, np.floating)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise PydanticCustomError(WRONG_KIND, f"expected {self.expected}, got {value!r}")
        try:
            number: NumberT = self.kind(cast(Any, value))  # an int, float or NumPy number, checked above
        except OverflowError:  # an integer beyond float64
            raise PydanticCustomError(NOT_ALLOWED, f"expected {self.expected}, got {value!r}") from None
        if not ((self.low <= number if self.low_included else self.low < number) and number < self.high):
            raise PydanticCustomError(NOT_ALLOWED, f"expected {self.expected}, got {value!r}")
        return number

    def __call__(self, value: object, name: str) -> NumberT:
        """``value`` as ``kind``; ``TypeError`` for another kind, ``ValueError`` for a value outside the rule."""
        try:
            return self.check(value)
        except PydanticCustomError as error:
            raise (TypeError if error.type == WRONG_KIND else ValueError)(f"{name}: {error}") from None

    def parse(self, text: str) -> NumberT:
        """The rule as an argparse ``type``: text in, number out, or the usage error saying what was expected
        and what was given, a number as typed (``got -1``), other text quoted (``got 'ten'``)."""
        try:
            number = self.kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}") from None
        try:
            return self.check(number)
        except PydanticCustomError:
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text}") from None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """As an ``Annotated`` field's metadata, the rule is the field's validation."""
        return core_schema.no_info_plain_validator_function(self.check)


positive_int = NumberRule("a positive integer", int, 1)
non_negative_int = NumberRule("an integer >= 0", int, 0)
positive_number = NumberRule("a positive finite number", float, 0.0, low_included=False)
non_negative_number = NumberRule("a finite number >= 0", float, 0.0)
open_fraction = NumberRule("a number strictly between 0 and 1", float, 0.0, 1.0, low_included=False)
decay = NumberRule("a number >= 0 and < 1", float, 0.0, 1.0)
"""A decay rate (momentum, Adam's betas): 1 would never forget, and above it would grow without end."""


@dataclass(frozen=True)
class OptionalRule(Generic[NumberT]):
    """``rule``, or ``None`` let through: for the settings where ``None`` means "not at all" or "all of them".

    ``parse`` is the rule's own: on a command line, leaving the option out gives ``None``.
    """

    rule: NumberRule[NumberT]

    def check(self, value: object) -> NumberT | None:
        """``None``, or ``value`` checked by the rule (`NumberRule.check`)."""
        return None if value is None else self.rule.check(value)

    def __call__(self, value: object, name: str) -> NumberT | None:
        """``None``, or ``value`` checked by the rule."""
        return None if value is None else self.rule(value, name)

    def parse(self, text: str) -> NumberT:
        """The rule as an argparse ``type``."""
        return self.rule.parse(text)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """As an ``Annotated`` field's metadata, the rule is the field's validation."""
        return core_schema.no_info_plain_validator_function(self.check)


@dataclass(frozen=True)
class FlagRule:
    """The rule of a flag: ``True`` or ``False`` (a NumPy bool as the Python one), never 1 or ``"yes"``.

    ``flag(value, name)`` checks a Python value; as the metadata of an ``Annotated`` field it is
    the field's whole validation, with the same words.
    """

    def check(self, value: object) -> bool:
        """``value`` as a bool; a `PydanticCustomError` of type `WRONG_KIND` otherwise."""
        if not isinstance(value, bool | np.bool_):
            raise PydanticCustomError(WRONG_KIND, f"expected True or False, got {value!r}")
        return bool(value)

    def __call__(self, value: object, name: str) -> bool:
        """``value`` as a bool; ``TypeError`` naming ``name`` for anything else."""
        try:
            return self.check(value)
        except PydanticCustomError as error:
            raise TypeError(f"{name}: {error}") from None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """As an ``Annotated`` field's metadata, the rule is the field's validation."""
        return core_schema.no_info_plain_validator_function(self.check)


flag = FlagRule()


def optional(rule: NumberRule[NumberT]) -> OptionalRule[NumberT]:
    """``rule``, or ``None``."""
    return OptionalRule(rule)


_SEED = optional(non_negative_int)
"""A seed's rule: an integer >= 0, or ``None`` for fresh entropy."""


def optional_seed(value: object, name: str = "seed") -> int | None:
    """A seed: an integer >= 0, or ``None`` for fresh entropy."""
    return _SEED(value, name)


def one_of(value: object, name: str, choices: Mapping[str, object] | tuple[str, ...]) -> str:
    """``value`` if it is one of the names ``choices`` (a tuple, or a registry's keys)."""
    names = sorted(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {names}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name}: expected one of {names}, got {value!r}")
    return value


def rule_of(model: type[BaseModel], field: str) -> NumberRule[Any] | OptionalRule[Any]:
    """The number rule declared on ``model``'s ``field`` (its ``Annotated`` metadata): for the command line's
    options."""
    found = [rule for rule in model.model_fields[field].metadata if isinstance(rule, NumberRule | OptionalRule)]
    if len(found) != 1:
        raise ValueError(f"field: expected a field of {model.__name__} declared with one rule, got {field!r}")
    return found[0]


class Settings(BaseModel):
    """A record of settings (an optimizer's, a run's): fixed once made, no unknown names, and no value converted
    (``True`` is not 1, ``"2"`` is not 2).

    Each number field is declared with its rule (``Annotated[int, positive_int]``), which takes
    NumPy numbers as the Python numbers they hold (``np.int64(5)`` from a grid is 5). Made in
    Python, a record refuses a value as the rule does, with its message (a ``TypeError`` for
    the wrong kind, a ``ValueError`` otherwise, naming the field); read from JSON
    (``model_validate_json``), it raises pydantic's ``ValidationError``, whose first error
    carries the same message.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise raised(error) from None

    # pydantic calls an __init__ of one's own when it reads a record (from JSON, or as another record's field),
    # unless it is marked as BaseModel's is: this one only rewords the errors of a record made directly, so reading
    # keeps pydantic's ValidationError, with where in the document the bad value is
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]
