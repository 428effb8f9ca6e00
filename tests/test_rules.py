"""The argument rules (`glassnet.rules`): each declared once, on the field it rules, and worded once, whichever way
a value comes in: Python, a JSON file or the command line."""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from glassnet import SGD, Adam, Momentum, Network, TabularModel, TrainingRun, TrainingSettings, cli, get_data
from glassnet.optim import OPTIMIZERS
from glassnet.rules import FlagRule, NumberRule, OptionalRule, Settings, first_error, flag, positive_int, rule_of

X, Y = get_data(40, seed=3)

# a setting, its option on the command line, the bad value typed there and in Python, and what every way in says
BAD_VALUES = [
    ("epochs", "0", 0, "expected a positive integer, got 0"),
    ("epochs", "-3", -3, "expected a positive integer, got -3"),
    ("learning_rate", "-1", -1, "expected a positive finite number, got -1"),
    ("learning_rate", "0.0", 0.0, "expected a positive finite number, got 0.0"),
    ("batch_size", "0", 0, "expected a positive integer, got 0"),
    ("patience", "0", 0, "expected a positive integer, got 0"),
    ("l2", "-0.5", -0.5, "expected a finite number >= 0, got -0.5"),
]
IDS = [f"{name} {text}" for name, text, _, _ in BAD_VALUES]


def python_messages(name: str, value: object) -> list[str]:
    """What each Python way in says of ``name=value``: the record made directly, `of`, a network's ``fit``, a
    `TabularModel` and a `TrainingRun`."""
    options: dict[str, Any] = {name: value}
    makes = [
        (lambda: SGD(**options)) if name == "learning_rate" else (lambda: TrainingSettings(**options)),
        lambda: TrainingSettings.of(**options),
        lambda: Network([4, 1]).fit(X, Y, **options),
        lambda: TabularModel(**options),
        lambda: TrainingRun(Network([4, 1]), X, Y, **options),
    ]
    messages = []
    for make in makes:
        with pytest.raises(ValueError) as error:
            make()
        messages.append(str(error.value))
    return messages


def json_message(name: str, value: object, tmp_path: Path) -> str:
    """What reading a run's checkpoint file says when its ``name`` setting holds ``value``."""
    path = tmp_path / "run.json"
    run = TrainingRun(Network([4, 1]), X, Y, epochs=2, optimizer="adam", patience=3, validation_data=(X, Y))
    run.advance(1)
    run.save(path)
    document = json.loads(path.read_text())
    settings = document["settings"]
    (settings["optimizer"] if name == "learning_rate" else settings)[name] = value
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError) as error:
        TrainingRun.load(path, X, Y, validation_data=(X, Y))
    return str(error.value)


def command_line_message(option: str, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The last line the command line prints for ``--option text``, after which it exits with status 2."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main([f"--{option.replace('_', '-')}", text, "--samples", "40"])
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(("name", "text", "value", "words"), BAD_VALUES, ids=IDS)
def test_python_json_and_the_command_line_word_a_bad_value_alike(
    name: str, text: str, value: object, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for message in python_messages(name, value):
        assert message == f"{name}: {words}"
    read = json_message(name, value, tmp_path)
    where = f"settings.optimizer.adam.{name}" if name == "learning_rate" else f"settings.{name}"
    assert read == f"{tmp_path / 'run.json'}: not a valid TrainingCheckpoint: {where}: {words}"
    typed = command_line_message(name, text, capsys)
    assert typed.endswith(f"error: argument --{name.replace('_', '-')}: {words}")


def test_a_value_of_the_wrong_kind_is_a_type_error_every_way_in(capsys: pytest.CaptureFixture[str]) -> None:
    text: Any = "ten"
    makes: list[Callable[[], object]] = [
        lambda: TrainingSettings(epochs=text),
        lambda: TrainingSettings.of(epochs=text),
    ]
    for make in makes:
        with pytest.raises(TypeError, match=r"^epochs: expected a positive integer, got 'ten'$"):
            make()
    with pytest.raises(ValidationError) as read:
        TrainingSettings.model_validate_json('{"epochs": "ten"}')
    assert first_error(read.value) == "epochs: expected a positive integer, got 'ten'"
    typed = command_line_message("epochs", "ten", capsys)
    assert typed.endswith("error: argument --epochs: expected a positive integer, got 'ten'")


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: SGD(learning_rate=float("inf")),
            ValueError,
            "learning_rate: expected a positive finite number, got inf",
        ),
        (lambda: Adam(eps=math.inf), ValueError, "eps: expected a positive finite number, got inf"),  # made steps 0
        (lambda: Momentum(learning_rate=math.nan), ValueError, "learning_rate: expected a positive finite number"),
        (lambda: SGD(learning_rate=True), TypeError, "learning_rate: expected a positive finite number, got True"),
        (
            lambda: SGD(learning_rate="0.1"),  # type: ignore[arg-type]
            TypeError,
            "learning_rate: expected a positive finite number, got '0.1'",
        ),
        (lambda: TrainingSettings(batch_size=True), TypeError, "batch_size: expected a positive integer, got True"),
        (
            lambda: TrainingSettings(epochs="2"),  # type: ignore[arg-type]
            TypeError,
            "epochs: expected a positive integer, got '2'",
        ),
        (
            lambda: TrainingSettings.model_validate_json('{"optimizer": {"kind": "sgd", "learning_rate": 1e999}}'),
            ValidationError,
            "optimizer.sgd.learning_rate: expected a positive finite number, got inf",
        ),
        (
            lambda: TrainingSettings.model_validate_json('{"record_every": true}'),
            ValidationError,
            "record_every: expected a positive integer, got True",
        ),
        (lambda: Momentum(momentum=1.0), ValueError, "momentum: expected a number >= 0 and < 1, got 1.0"),
        (lambda: Adam(beta2=1.0), ValueError, "beta2: expected a number >= 0 and < 1, got 1.0"),
        (lambda: Adam(beta1=-0.1), ValueError, "beta1: expected a number >= 0 and < 1, got -0.1"),
    ],
    ids=[
        "inf rate",
        "inf eps",
        "nan rate",
        "bool rate",
        "text rate",
        "bool batch",
        "text epochs",
        "json 1e999",
        "json bool",
        "momentum 1",
        "beta2 1",
        "negative beta1",
    ],
)
def test_settings_made_directly_or_read_convert_no_value_and_take_no_infinity(
    make: Any, error: type[Exception], message: str
) -> None:
    """What the rules refuse, the records refuse, whichever way they are made: made in Python as the rule's own
    error, read as pydantic's, whose first error words it alike."""
    with pytest.raises(error) as raised:
        make()
    said = first_error(raised.value) if isinstance(raised.value, ValidationError) else str(raised.value)
    assert said.startswith(message)


def test_settings_take_numpy_numbers_as_the_python_numbers_they_hold() -> None:
    """A grid's values are NumPy numbers: np.int64(5) is 5 (a NumPy boolean is no number)."""
    grid: dict[str, Any] = {"epochs": np.int64(5), "l2": np.float64(0.5), "beta1": np.float32(0.5), "no": np.True_}
    adam = Adam(beta1=grid["beta1"])
    settings = TrainingSettings(epochs=grid["epochs"], l2=grid["l2"], optimizer=adam)
    assert (settings.epochs, settings.l2, adam.beta1) == (5, 0.5, 0.5)
    assert type(settings.epochs) is int and type(settings.l2) is float and type(adam.beta1) is float
    with pytest.raises(TypeError, match=r"^batch_size: expected a positive integer, got np\.True_$"):
        TrainingSettings(batch_size=grid["no"])


def _number_fields(model: type[BaseModel]) -> list[str]:
    """The fields of ``model`` that hold a number (or ``None``)."""
    numbers = {int, float}

    def holds_numbers(annotation: object) -> bool:
        members = set(typing.get_args(annotation)) - {type(None)}
        return annotation in numbers or (bool(members) and members <= numbers)

    return [name for name, field in model.model_fields.items() if holds_numbers(field.annotation)]


@pytest.mark.parametrize("model", [TrainingSettings, *OPTIMIZERS.values()], ids=lambda model: model.__name__)
def test_every_number_setting_is_declared_with_one_rule_and_nothing_else(model: type[Settings]) -> None:
    fields = _number_fields(model)
    assert fields, model
    for name in fields:
        rule = rule_of(model, name)
        assert isinstance(rule, NumberRule | OptionalRule)
        assert model.model_fields[name].metadata == [rule], f"{model.__name__}.{name}: a second declaration"


def test_a_flag_setting_is_declared_with_the_flag_rule_and_nothing_else() -> None:
    assert TrainingSettings.model_fields["keep_rows"].metadata == [flag]
    assert isinstance(flag, FlagRule)
    with pytest.raises(TypeError, match=r"^keep_rows: expected True or False, got 1$"):
        TrainingSettings(keep_rows=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^keep_rows: expected True or False, got 1$"):
        TrainingSettings.of(keep_rows=1)  # type: ignore[arg-type]


def test_the_command_line_parses_each_setting_with_its_declared_rule() -> None:
    options = {action.dest: action.type for action in cli.build_parser()._actions}
    for name in ("epochs", "batch_size", "l2", "patience"):
        assert options[name] == rule_of(TrainingSettings, name).parse
    for optimizer in OPTIMIZERS.values():
        assert options["learning_rate"] == rule_of(optimizer, "learning_rate").parse


def test_a_field_without_one_rule_is_named() -> None:
    with pytest.raises(ValueError, match=r"field: expected a field of SGD declared with one rule, got 'kind'"):
        rule_of(SGD, "kind")


def test_a_rule_words_python_values_and_typed_text_alike() -> None:
    with pytest.raises(ValueError, match=r"^hidden: expected a positive integer, got 0$"):
        positive_int(0, "hidden")
    with pytest.raises(TypeError, match=r"^hidden: expected a positive integer, got 2\.0$"):
        positive_int(2.0, "hidden")
    assert positive_int(np.int64(3), "hidden") == 3
    for text, given in (("0", "0"), ("-2", "-2"), ("2.5", "'2.5'"), ("", "''")):
        with pytest.raises(Exception, match=rf"^expected a positive integer, got {given}$"):
            positive_int.parse(text)
    assert positive_int.parse("7") == 7
