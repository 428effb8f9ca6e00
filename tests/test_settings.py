"""One owner per training setting: `TrainingSettings` holds each default and each rule, every way in builds it,
and a checkpoint stores it once."""

import argparse
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

import glassnet
from glassnet import (
    SGD,
    Adam,
    Momentum,
    Network,
    TabularModel,
    TrainingRun,
    TrainingSettings,
    cli,
    get_data,
    make_housing,
)
from glassnet.settings import default_learning_rates
from glassnet.sklearn import ESTIMATOR_TRAINING, GlassnetClassifier, GlassnetRegressor
from glassnet.tabular import TABULAR_TRAINING

pytestmark = pytest.mark.stored  # a stored checkpoint resumed, and checkpoints' data fingerprints

V1 = Path(__file__).parent / "fixtures" / "v1"
X, Y = get_data(60, seed=2)


def test_the_defaults_are_the_contract_s() -> None:
    plain = TrainingSettings()
    assert (plain.epochs, plain.optimizer, plain.batch_size, plain.l2) == (150, SGD(), None, 0.0)
    assert (plain.patience, plain.record_every, plain.keep_gradients) == (None, 1, None)
    assert TrainingSettings(optimizer=Adam()) == TABULAR_TRAINING
    assert TrainingSettings(epochs=200, optimizer=Adam()) == ESTIMATOR_TRAINING
    assert default_learning_rates() == "sgd 0.05, momentum 0.01, adam 0.01"


def test_every_way_in_builds_the_same_record() -> None:
    assert TabularModel().training == TABULAR_TRAINING
    assert TabularModel(learning_rate=0.1).training.optimizer == Adam(learning_rate=0.1), "a rate for its optimizer"
    assert TabularModel(optimizer="sgd").training.optimizer == SGD(), "a name takes its own default rate"
    run = TrainingRun(Network([4, 1]), X, Y, epochs=3, optimizer="momentum", l2=0.5)
    assert run.settings == TrainingSettings(epochs=3, optimizer=Momentum(), l2=0.5)
    assert TrainingRun(Network([4, 1]), X, Y).settings == TrainingSettings()
    estimator = GlassnetRegressor((32,)).fit(X, Y[:, 0])  # a network given: trained as the settings say
    assert estimator.get_params()["epochs"] == ESTIMATOR_TRAINING.epochs == len(estimator.history_.records)
    assert GlassnetClassifier().get_params()["optimizer"] == "adam"


def test_the_command_line_takes_its_defaults_and_rules_from_the_settings() -> None:
    args = cli.parse_args([])
    assert (args.epochs, args.optimizer, args.batch_size, args.l2, args.patience) == (
        TABULAR_TRAINING.epochs,
        "adam",
        TABULAR_TRAINING.batch_size,
        TABULAR_TRAINING.l2,
        TABULAR_TRAINING.patience,
    )
    assert args.learning_rate is None and args.given == set()
    help_text = cli.build_parser().format_help()
    assert default_learning_rates() in " ".join(help_text.split())
    description = TrainingSettings.model_fields["epochs"].description
    assert description and description in help_text


def test_the_command_line_parses_its_arguments_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = argparse.ArgumentParser.parse_args

    def counted(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", counted)
    assert cli.main(["--samples", "50", "--epochs", "2", "--l2", "0.01"], out=io.StringIO()) == 0
    assert len(calls) == 1


def test_settings_and_their_keywords_do_not_mix_and_unknown_ones_are_named() -> None:
    with pytest.raises(TypeError, match=r"epochs: expected these in settings, or settings left out"):
        TrainingRun(Network([4, 1]), X, Y, TrainingSettings(), epochs=3)
    with pytest.raises(TypeError, match=r"epoch: not a training setting; expected some of \['batch_size', 'epochs'"):
        TrainingSettings.of(epoch=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"settings: expected TrainingSettings, got dict"):
        TrainingRun(Network([4, 1]), X, Y, {"epochs": 3})  # type: ignore[arg-type]


def test_a_run_checkpoint_stores_each_setting_once(tmp_path: Path) -> None:
    run = TrainingRun(Network([4, 3, 1]), X, Y, epochs=6, optimizer="adam", learning_rate=0.02, batch_size=20)
    run.advance(2)
    text = run.checkpoint().model_dump_json()
    assert text.count('"learning_rate"') == 1 and text.count('"epochs"') == 1 and text.count('"batch_size"') == 1


def test_a_command_line_checkpoint_stores_each_setting_once(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.json"
    assert cli.main(["--samples", "60", "--epochs", "4", "--checkpoint", str(checkpoint)], out=io.StringIO()) == 0
    text = checkpoint.read_text()
    for name in ("learning_rate", "epochs", "optimizer", "hidden", "seed", "patience"):
        assert text.count(f'"{name}"') == 1, name
    document = json.loads(text)
    assert set(document["extra"]["train.py"]) == {*cli.COMMAND_LINE_OPTIONS, *cli.OUTPUT_OPTIONS, cli.FOLDER}


def _edited_v1(tmp_path: Path, edit: Any) -> Path:
    document = json.loads((V1 / "cli-checkpoint.json").read_text())
    edit(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda doc: doc["settings"].update(learning_rate=0.5),
            r"settings\.learning_rate \(0\.5\) and run\.optimizer\.learning_rate \(0\.01\)",
        ),
        (lambda doc: doc["settings"].update(epochs=99), r"settings\.epochs \(99\) and run\.settings\.epochs \(40\)"),
        (lambda doc: doc["settings"].update(optimizer="sgd"), r"settings\.optimizer \('sgd'\) and run\.optimizer"),
        (
            lambda doc: doc["extra"]["train.py"].update(learning_rate=0.5),
            r"the checkpoint's options disagree with its run: --learning-rate 0\.5 in extra, 0\.01 in the run",
        ),
        (
            lambda doc: doc["extra"]["train.py"].update(hidden=[3]),
            r"--hidden \[3\] in extra, \[10, 25\] in the run",
        ),
    ],
)
def test_a_version_1_checkpoint_whose_copies_of_a_setting_disagree_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, message: str
) -> None:
    path = _edited_v1(tmp_path, edit)
    assert cli.main(["--resume", str(path), "--checkpoint", str(tmp_path / "again.json")], out=io.StringIO()) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(path) in error
    assert re.search(message, error), error
    assert not (tmp_path / "again.json").exists()


def test_a_version_1_checkpoint_whose_copies_agree_resumes_and_is_written_as_today(
    housing_csv: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "run.json"
    shutil.copy(V1 / "cli-checkpoint.json", checkpoint)
    resume = ["--resume", str(checkpoint), "--csv", str(housing_csv), "--checkpoint", str(checkpoint)]
    assert cli.main(resume, out=io.StringIO()) == 0
    document = json.loads(checkpoint.read_text())
    assert (document["version"], document["run"]["version"], document["run"]["epochs_done"]) == (2, 3, 40)
    assert document["run"]["history"]["records"] == [] and document["run"]["history_log"]["records"] == 40
    assert document["run"]["settings"]["optimizer"] == {"kind": "adam", **Adam().model_dump(exclude={"kind"})}


class Stop(Exception):
    """Raised to stop a run part-way, as a killed process would."""


def test_a_tabular_model_resumed_from_a_checkpoint_trains_with_its_one_copy_of_the_settings(tmp_path: Path) -> None:
    houses, checkpoint = make_housing(80, seed=1), tmp_path / "run.json"

    class StopInEpoch4(glassnet.Callback):
        def on_epoch_end(self, record: glassnet.EpochRecord) -> None:
            if record.epoch == 4:
                raise Stop

    with pytest.raises(Stop):
        TabularModel(epochs=6, learning_rate=0.05, batch_size=16).fit(
            houses, "price", callbacks=[glassnet.WriteCheckpoints(checkpoint, every=3), StopInEpoch4()]
        )
    whole = TabularModel(epochs=6, learning_rate=0.05, batch_size=16)
    whole.fit(houses, "price")
    resumed = TabularModel.resume(checkpoint, houses)
    assert resumed.training == whole.training and resumed.training.learning_rate == 0.05
    assert resumed.network.parameter_vector.tobytes() == whole.network.parameter_vector.tobytes()
