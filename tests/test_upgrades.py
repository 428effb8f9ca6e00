"""The one table of upgrades: older files read in today's shape, once, when a file is read; records know only
their current version."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from glassnet import Network, cli, upgrades
from glassnet.bundles import Bundle, TabularCheckpoint
from glassnet.checkpoints import TrainingCheckpoint, read_checkpoint
from glassnet.files import LOADERS, read_model
from glassnet.network import NetworkDocument
from glassnet.optim import Adam, AdamState

FIXTURES = Path(__file__).parent / "fixtures"
RECORDS: dict[str, type[BaseModel]] = {
    "glassnet.network": NetworkDocument,
    "glassnet.bundle": Bundle,
    "glassnet.checkpoint": TrainingCheckpoint,
    "glassnet.tabular-checkpoint": TabularCheckpoint,
}


def _current(model: type[BaseModel]) -> int:
    version = model.model_fields["version"].default
    assert isinstance(version, int)
    return version


def _versions(document: dict[str, Any], model: type[BaseModel]) -> dict[str, int]:
    """The version of ``document`` and of each part of it that is a document of its own, by where they are."""
    found = {"": document["version"]}
    for name, part in upgrades.documents_within(model).items():
        found |= {f"{name}{k and '.'}{k}": v for k, v in _versions(document[name], part).items()}
    return found


def _current_versions(model: type[BaseModel]) -> dict[str, int]:
    found = {"": _current(model)}
    for name, part in upgrades.documents_within(model).items():
        found |= {f"{name}{k and '.'}{k}": v for k, v in _current_versions(part).items()}
    return found


FILES = [path for path in sorted(FIXTURES.glob("v*/*.json")) if "format" in json.loads(path.read_text())]
"""The fixtures that are glassnet files (a trace is a `TrainingHistory`, which has no versions)."""


@pytest.mark.parametrize("path", FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_older_file_is_upgraded_to_the_current_version_of_its_format_and_of_its_parts(path: Path) -> None:
    document = json.loads(path.read_text())
    model = RECORDS[document["format"]]
    assert _versions(upgrades.upgraded(document, model), model) == _current_versions(model)  # type: ignore[arg-type]
    assert json.loads(path.read_text()) == document  # the document read is left as it was


def test_each_format_with_upgrades_is_a_format_of_a_file_and_each_upgrade_says_why() -> None:
    for (format, version), upgrade in upgrades.UPGRADES.items():
        assert format in LOADERS and (upgrade.format, upgrade.version) == (format, version)
        assert 1 <= version < _current(RECORDS[format]) and len(upgrade.reason) > 40


@pytest.mark.parametrize(
    ("fixture", "model", "message"),
    [
        ("v1/run-checkpoint-adam.json", TrainingCheckpoint, "version\n  Input should be 3"),
        ("v2/run-checkpoint-adam.json", TrainingCheckpoint, "version\n  Input should be 3"),
        ("v1/cli-checkpoint.json", TabularCheckpoint, "version\n  Input should be 2"),
    ],
)
def test_a_record_knows_only_its_current_version(fixture: str, model: type[BaseModel], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        model.model_validate_json((FIXTURES / fixture).read_text())


def test_a_version_1_checkpoint_reads_its_optimizer_as_settings_and_state_with_the_values_it_held() -> None:
    path = FIXTURES / "v1" / "run-checkpoint-adam.json"
    old = json.loads(path.read_text())["optimizer"]
    read = read_checkpoint(path, TrainingCheckpoint)
    assert read.settings.optimizer == Adam(**{k: v for k, v in old.items() if k not in ("kind", "state")})
    assert isinstance(read.optimizer_state, AdamState) and read.optimizer_state.step == old["state"]["step"]
    assert read.optimizer_state.second_moment.tolist() == old["state"]["second_moment"]["data"]


def test_a_version_1_checkpoint_whose_optimizer_is_no_object_is_refused_as_the_current_version(
    tmp_path: Path,
) -> None:
    document = json.loads((FIXTURES / "v1" / "run-checkpoint-momentum.json").read_text())
    document["optimizer"] = "momentum"
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"edited\.json: not a valid TrainingCheckpoint: version: Input should be 3"):
        read_checkpoint(path, TrainingCheckpoint)


def test_a_version_that_is_true_is_not_version_1(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "v1" / "run-checkpoint-momentum.json").read_text())
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({**document, "version": True}))
    with pytest.raises(ValueError, match=r"not a valid TrainingCheckpoint: version: Input should be 3"):
        read_checkpoint(path, TrainingCheckpoint)


def test_a_file_of_another_format_is_not_upgraded_but_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"it is a glassnet\.checkpoint file, not a glassnet\.network file"):
        read_model(FIXTURES / "v1" / "run-checkpoint-momentum.json", NetworkDocument)
    assert Network.load(FIXTURES / "v1" / "network.json").layer_sizes == [4, 6, 3]


def test_the_command_lines_options_in_a_version_1_checkpoint_are_upgraded_by_the_table_to_its_own_alone() -> None:
    """A version 1 command-line checkpoint stored every option in ``extra["train.py"]``; read, it holds the command
    line's own options as today's store them (those its parts record dropped once found to agree), so the command
    line reads one shape."""
    older = json.loads((FIXTURES / "v1" / "cli-checkpoint.json").read_text())["extra"]["train.py"]
    stored = read_checkpoint(FIXTURES / "v1" / "cli-checkpoint.json", TabularCheckpoint).extra["train.py"]
    own = {*cli.COMMAND_LINE_OPTIONS, *cli.OUTPUT_OPTIONS}
    assert stored == {name: value for name, value in older.items() if name in own}
    assert set(stored) == own - {"effects", "rows", "rows_plot"}  # output options added after version 1: not asked
    assert ("glassnet.tabular-checkpoint", 1, "train.py") in upgrades.ENTRY_UPGRADES  # registered by the command line
