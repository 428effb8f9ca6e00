"""TabularModel: tables in, predictions in the table's own terms out, and the bundle both ways."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_cli import TARGETS, make_table

from glassnet import (
    Callback,
    DataNote,
    EpochRecord,
    Network,
    TabularModel,
    TrainingDiverged,
    TrainingRun,
    WriteCheckpoints,
    bundles,
    cli,
    make_housing,
    read_table,
    split_rows,
    tables,
)
from glassnet.reading import DataError
from glassnet.tabular import NotFittedError

IRIS_CSV = Path(__file__).resolve().parents[1] / "examples" / "iris.csv"


def customers(target: str, n_rows: int = 1_000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customer table of test_cli with one target, split 80/20: (training rows, held-out rows)."""
    table = make_table(seed, n_rows).drop(columns=[name for name in TARGETS if name != target])
    train_rows, test_rows = split_rows(len(table), 0.2, seed=0)
    return table.iloc[train_rows], table.iloc[test_rows]


def one_hot(training: pd.DataFrame, held_out: pd.DataFrame, target: str) -> tuple[np.ndarray, np.ndarray]:
    """Both parts' features one-hot encoded the same way, for the scikit-learn baselines."""
    encoded = pd.get_dummies(pd.concat([training, held_out]).drop(columns=target), dtype=np.float64)
    return encoded.iloc[: len(training)].to_numpy(), encoded.iloc[len(training) :].to_numpy()


@pytest.fixture(scope="module")
def churn() -> tuple[TabularModel, pd.DataFrame, pd.DataFrame]:
    """A fitted binary model with text labels ("no"/"yes"), its training and held-out rows."""
    training, held_out = customers("churn")
    model = TabularModel(task="binary", hidden=(), epochs=200, learning_rate=0.05)
    model.fit(training, "churn")
    return model, training, held_out


# --------------------------------------------------------------------------- #
# Three kinds of table, each within reach of a linear baseline
# --------------------------------------------------------------------------- #


def test_regression_with_text_columns_matches_least_squares() -> None:
    training, held_out = customers("spend")
    model = TabularModel()
    model.fit(training, "spend")
    X_train, X_test = one_hot(training, held_out, "spend")
    baseline = LinearRegression().fit(X_train, training["spend"]).score(X_test, held_out["spend"])

    assert model.score(held_out) >= baseline - 0.01, (model.score(held_out), baseline)
    predicted = model.predict(held_out)
    assert predicted.dtype == np.float64
    assert predicted.name == "spend"
    assert predicted.index.equals(held_out.index)
    assert len(model.feature_names) == 12 + 5 + 3 + 4 + 6  # numbers, then one column per category
    assert "region=north" in model.feature_names


def test_binary_text_labels_match_logistic_regression(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame],
) -> None:
    model, training, held_out = churn
    X_train, X_test = one_hot(training, held_out, "churn")
    baseline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, training["churn"])
    baseline_accuracy = baseline.score(X_test, held_out["churn"])

    assert model.score(held_out) >= baseline_accuracy - 0.02, (model.score(held_out), baseline_accuracy)
    assert model.labels == ["no", "yes"]
    assert set(model.predict(held_out)) == {"no", "yes"}


def test_multiclass_iris_matches_logistic_regression() -> None:
    table = read_table(IRIS_CSV)
    train_rows, test_rows = split_rows(len(table), 0.3, seed=0)
    training, held_out = table.iloc[train_rows], table.iloc[test_rows]
    model = TabularModel(task="multiclass", hidden=(8,), activation="tanh", epochs=200, seed=0)
    model.fit(training, "species")
    X_train, X_test = one_hot(training, held_out, "species")
    baseline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, training["species"])
    baseline_accuracy = baseline.score(X_test, held_out["species"])

    assert model.score(held_out) >= baseline_accuracy - 0.03, (model.score(held_out), baseline_accuracy)
    assert model.labels == ["setosa", "versicolor", "virginica"]


# --------------------------------------------------------------------------- #
# Predictions in the table's own terms
# --------------------------------------------------------------------------- #


def test_integer_labels_predict_integers_and_probabilities_sum_to_one() -> None:
    training, held_out = customers("segment")
    codes = {"low": 0, "mid": 1, "high": 2}
    training, held_out = (part.assign(segment=part["segment"].map(codes)) for part in (training, held_out))
    model = TabularModel(task="multiclass", hidden=(), epochs=50)
    model.fit(training, "segment")

    assert model.labels == [0, 1, 2]
    predicted = model.predict(held_out)
    assert predicted.dtype == np.int64
    probabilities = model.predict_proba(held_out)
    assert list(probabilities.columns.to_numpy()) == [0, 1, 2]
    assert probabilities.index.equals(held_out.index)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert (probabilities.idxmax(axis=1) == predicted).all()


def test_binary_probabilities_are_the_sigmoid_and_its_complement(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame],
) -> None:
    model, _, held_out = churn
    probabilities = model.predict_proba(held_out)
    assert list(probabilities.columns) == ["no", "yes"]
    np.testing.assert_array_equal(probabilities["yes"], model.network.forward(model.features.transform(held_out))[:, 0])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-15)
    assert ((probabilities["yes"] > 0.5) == (model.predict(held_out) == "yes")).all()


def test_score_is_accuracy_and_evaluate_adds_the_log_loss(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame],
) -> None:
    model, _, held_out = churn
    metrics = model.evaluate(held_out)
    assert set(metrics) == {"accuracy", "log_loss"}
    assert metrics["accuracy"] == model.score(held_out) == np.mean(model.predict(held_out) == held_out["churn"])
    y = model.target_encoding.encode(held_out["churn"])
    assert metrics["log_loss"] == model.network.loss(model.features.transform(held_out), y)


def test_columns_are_matched_by_name_and_extra_ones_ignored(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame],
) -> None:
    model, _, held_out = churn
    shuffled = held_out[list(reversed(held_out.columns))].assign(note="hello", extra=1.5).drop(columns="churn")
    pd.testing.assert_series_equal(model.predict(shuffled), model.predict(held_out))


def test_a_classifier_has_no_coefficients(churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame]) -> None:
    model, _, _ = churn
    with pytest.raises(ValueError, match=r"coefficients: expected a regression model, got a binary one"):
        model.coefficients()


def _housing_like() -> tuple[pd.DataFrame, str]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "kind": rng.choice(["a", "b"], 50)})
    return frame.assign(y=3.0 * frame["x"] + (frame["kind"] == "a")), "y"


def test_a_linear_regression_gives_per_unit_coefficients_and_no_probabilities() -> None:
    frame, target = _housing_like()
    model = TabularModel(hidden=(), epochs=400, learning_rate=0.05)
    model.fit(frame, target)
    assert model.coefficients()["x"] == pytest.approx(3.0, rel=0.01)
    assert model.coefficients()["kind=a"] - model.coefficients()["kind=b"] == pytest.approx(1.0, rel=0.02)
    with pytest.raises(ValueError, match=r"predict_proba: expected a classifier"):
        model.predict_proba(frame)


# --------------------------------------------------------------------------- #
# The bundle: the library and the command line read and write the same file
# --------------------------------------------------------------------------- #


def test_save_and_load_give_the_same_predictions(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    model, _, held_out = churn
    model.save(tmp_path / "model.json")
    loaded = TabularModel.load(tmp_path / "model.json")
    pd.testing.assert_series_equal(loaded.predict(held_out), model.predict(held_out))
    pd.testing.assert_frame_equal(loaded.predict_proba(held_out), model.predict_proba(held_out))
    assert loaded.feature_names == model.feature_names
    assert loaded.history.records == []
    assert (loaded.task, loaded.hidden, loaded.activation) == (model.task, model.hidden, model.activation)


@pytest.mark.parametrize(("task", "target"), [("regression", "spend"), ("binary", "churn")])
def test_the_command_line_and_the_library_predict_identically_from_one_bundle(
    tmp_path: Path, task: str, target: str
) -> None:
    training, held_out = customers(target, n_rows=300)
    csv, rows_csv, bundle, output = (tmp_path / name for name in ("t.csv", "rows.csv", "model.json", "out.csv"))
    training.to_csv(csv, index=False)
    held_out.drop(columns=target).to_csv(rows_csv, index=False)
    argv = ["--csv", str(csv), "--target", target, "--task", task, "--epochs", "20", "--save", str(bundle)]
    assert cli.main(argv, out=io.StringIO()) == 0
    assert cli.main(["--model", str(bundle), "--predict", str(rows_csv), "--output", str(output)]) == 0

    written = pd.read_csv(output)
    rows = read_table(rows_csv)
    model = TabularModel.load(bundle)
    library = model.predict(rows)
    if task == "regression":
        np.testing.assert_array_equal(written["prediction"].to_numpy(), library.to_numpy())  # CSV floats round-trip
    else:
        assert written["prediction"].tolist() == library.tolist()
        probabilities = model.predict_proba(rows)
        for label in model.labels or []:
            np.testing.assert_array_equal(written[f"probability_{label}"].to_numpy(), probabilities[label].to_numpy())


def test_network_load_of_a_bundle_says_to_use_tabular_model_load(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    churn[0].save(tmp_path / "model.json")
    with pytest.raises(ValueError, match=r"it is a glassnet.bundle file.*read it with glassnet.TabularModel.load"):
        Network.load(tmp_path / "model.json")
    Network([2, 1]).save(tmp_path / "network.json")
    with pytest.raises(ValueError, match=r"it is a glassnet.network file.*read it with glassnet.Network.load"):
        TabularModel.load(tmp_path / "network.json")


# --------------------------------------------------------------------------- #
# Training: callbacks, early stopping, the validation rows only watch
# --------------------------------------------------------------------------- #


def test_fit_records_every_epoch_and_calls_back_before_and_during() -> None:
    frame, target = _housing_like()
    events: list[object] = []

    class Watch(Callback):
        def on_train_begin(self, model: TabularModel) -> None:
            events.append(model.predict(frame.iloc[:1]).iloc[0])

        def on_epoch_end(self, record: EpochRecord) -> None:
            events.append(record)

        def between_epochs(self, run: TrainingRun) -> None:
            events.append(run.epochs_done)

        def on_train_end(self, model: TabularModel) -> None:
            events.append("end")

        def close(self) -> None:
            events.append("closed")

    model = TabularModel(epochs=3, init="he")
    history = model.fit(frame, target, callbacks=[Watch()])
    assert isinstance(events[0], float)  # the untrained model already predicts
    assert [type(event).__name__ for event in events[1:]] == [
        *("EpochRecord", "int") * 2,
        *("EpochRecord", "str", "str"),
    ]
    assert [record.epoch for record in events[1:] if isinstance(record, EpochRecord)] == [1, 2, 3]
    assert [event for event in events[1:] if not isinstance(event, EpochRecord)] == [1, 2, "end", "closed"]
    assert [record.epoch for record in history.records] == [1, 2, 3]
    assert all(record.val_loss is None for record in history.records)
    assert (history.best_epoch, history.stopped_early) == (None, False)


def test_callbacks_are_checked_before_anything_is_built() -> None:
    frame, target = _housing_like()
    with pytest.raises(TypeError, match=r"callbacks: expected Callback objects, got function"):
        TabularModel(epochs=1).fit(frame, target, callbacks=[lambda record: None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"callbacks: expected a sequence of Callback objects, got Callback"):
        TabularModel(epochs=1).fit(frame, target, callbacks=Callback())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"every: expected a positive integer, got 0"):
        WriteCheckpoints("run.json", every=0)


def test_a_callback_that_raises_stops_training_and_every_callback_begun_is_closed() -> None:
    frame, target = _housing_like()
    closed: list[str] = []

    class Stop(Callback):
        def on_epoch_end(self, record: EpochRecord) -> None:
            if record.epoch == 2:
                raise KeyboardInterrupt

        def on_train_end(self, model: TabularModel) -> None:
            closed.append("never: training did not finish")

        def close(self) -> None:
            closed.append("closed")

    model = TabularModel(epochs=5)
    with pytest.raises(KeyboardInterrupt):
        model.fit(frame, target, callbacks=[Stop(), Stop()])
    assert closed == ["closed", "closed"]


@pytest.mark.parametrize(("init", "expected"), [("he", (2 / 3) ** 0.5), ("xavier", (2 / 403) ** 0.5)])
def test_init_reaches_the_network(init: str, expected: float) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(20, 3)), columns=["a", "b", "c"]).assign(y=rng.normal(size=20))
    weights: list[np.ndarray] = []
    model = TabularModel(hidden=(400,), init=init, epochs=1)

    class FirstWeights(Callback):
        def on_train_begin(self, model: TabularModel) -> None:
            weights.append(model.network.params[0].weights.copy())

    model.fit(frame, "y", callbacks=[FirstWeights()])
    assert weights[0].std() == pytest.approx(expected, rel=0.05)


def test_patience_stops_on_the_carved_rows_and_keeps_the_best_epoch() -> None:
    training, held_out = customers("spend", n_rows=400)
    settings = {"hidden": (32,), "activation": "relu", "epochs": 300, "learning_rate": 0.05, "patience": 5}
    model = TabularModel(**settings)  # type: ignore[arg-type]
    history = model.fit(training, "spend")
    losses = [record.val_loss for record in history.records]
    assert history.stopped_early
    assert len(history.records) < 300
    assert history.best_epoch == 1 + int(np.argmin(np.array(losses, dtype=np.float64)))
    assert len(history.records) == history.best_epoch + 5

    # the carved rows are the validation rows: other held-out rows would be a second, silent meaning of val_loss
    with pytest.raises(ValueError, match=r"validation: with patience the validation rows are carved from frame"):
        TabularModel(**settings).fit(training, "spend", validation=held_out)  # type: ignore[arg-type]


def test_the_validation_fraction_must_leave_rows_to_learn_from() -> None:
    frame, target = _housing_like()
    with pytest.raises(ValueError, match=r"validation_fraction: expected a fraction leaving both parts non-empty"):
        TabularModel(patience=2, validation_fraction=0.001).fit(frame, target)


def test_a_diverging_fit_reports_the_epochs_it_recorded() -> None:
    frame, target = _housing_like()
    with pytest.raises(TrainingDiverged) as caught:
        TabularModel(optimizer="sgd", learning_rate=1e6, epochs=50).fit(frame, target)
    assert 0 < len(caught.value.history.records) < 50


# --------------------------------------------------------------------------- #
# Bad input: clear errors that name it
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("drop", "target", "error", "message"),
    [
        (["nope"], "y", DataError, r"drop: no column 'nope'; the columns are 'x', 'kind', 'y'$"),
        (["y"], "y", DataError, r"drop: 'y' is the target; it cannot be dropped"),
        ([], "price", DataError, r"target: no column 'price'; the columns are 'x', 'kind', 'y'$"),
        ("kind", "y", TypeError, r"drop: expected a sequence of column names, got 'kind'"),
        ([], 3, TypeError, r"target: expected a column name, got 3"),
    ],
)
def test_bad_columns_are_refused_naming_them(drop: object, target: object, error: type, message: str) -> None:
    frame, _ = _housing_like()
    with pytest.raises(error, match=message):
        TabularModel().fit(frame, target, drop=drop)  # type: ignore[arg-type]


def test_duplicate_column_names_are_refused(churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame]) -> None:
    frame, target = _housing_like()
    twice = pd.concat([frame, frame[["y"]]], axis=1)
    with pytest.raises(DataError, match=r"frame: duplicate column name\(s\) \['y'\]"):
        TabularModel().fit(twice, target)
    model, _, held_out = churn
    with pytest.raises(DataError, match=r"frame: duplicate column name\(s\) \['plan'\]"):
        model.predict(pd.concat([held_out, held_out[["plan"]]], axis=1))


def test_predict_on_a_frame_without_a_feature_column_names_it(
    churn: tuple[TabularModel, pd.DataFrame, pd.DataFrame],
) -> None:
    model, _, held_out = churn
    with pytest.raises(DataError, match=r"missing required column\(s\) \['region'\]"):
        model.predict(held_out.drop(columns="region"))


def test_an_unfitted_model_says_so() -> None:
    with pytest.raises(NotFittedError, match=r"TabularModel: not fitted yet; call fit\(frame, target\)"):
        TabularModel().predict(pd.DataFrame({"a": [1.0]}))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"task": "ranking"}, r"task: expected one of"),
        ({"hidden": (10, 0)}, r"hidden: expected a positive integer, got 0"),
        ({"hidden": "10,25"}, r"hidden: expected a sequence of positive integers"),
        ({"activation": "swish"}, r"activation: expected one of"),
        ({"init": "zeros"}, r"init: expected one of"),
        ({"optimizer": "rmsprop"}, r"optimizer: expected one of"),
        ({"learning_rate": 0.0}, r"learning_rate: expected a positive finite number, got 0.0"),
        ({"epochs": 0}, r"epochs: expected a positive integer, got 0"),
        ({"patience": 0}, r"patience: expected a positive integer, got 0"),
        ({"validation_fraction": 1.0}, r"validation_fraction: expected a number strictly between 0 and 1"),
        ({"l2": -1.0}, r"l2: expected a finite number >= 0"),
        ({"seed": -1}, r"seed: expected an integer >= 0"),
    ],
)
def test_bad_settings_are_refused_naming_them(settings: dict[str, object], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        TabularModel(**settings)  # type: ignore[arg-type]


def test_notes_are_warnings_never_prints(capsys: pytest.CaptureFixture[str]) -> None:
    frame, target = _housing_like()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        TabularModel(epochs=2).fit(frame.assign(row_id=np.arange(1, 51)), target)
    assert [str(w.message) for w in caught if issubclass(w.category, DataNote)] == [
        "column 'row_id' left out: it counts the rows (0..n-1 or 1..n in row order): a saved row index; "
        "drop it to silence this note"
    ]
    assert capsys.readouterr() == ("", "")


def test_a_column_constant_in_the_training_rows_is_left_out_with_a_note() -> None:
    """Kept, it standardized to 0 on every training row, so its weights never moved from their random start:
    next year's rows were predicted through them, and coefficients() reported one as an effect."""
    from glassnet import make_housing

    houses = make_housing(200, seed=4).assign(year=2024, city="Springfield")
    model = TabularModel(hidden=(8,), activation="relu", epochs=30)
    with pytest.warns(DataNote) as notes:
        model.fit(houses, "price")

    said = "\n".join(str(note.message) for note in notes)
    assert "column 'year' left out: it holds one value (2024) in every training row" in said
    assert "column 'city' left out: it holds one value ('Springfield')" in said
    assert "year" not in model.feature_names and not any(name.startswith("city") for name in model.feature_names)
    later = houses.assign(year=2025, city="Shelbyville")
    np.testing.assert_array_equal(model.predict(later), model.predict(houses))
    linear = TabularModel(hidden=(), epochs=30)
    with pytest.warns(DataNote):
        linear.fit(houses, "price")
    assert "year" not in linear.coefficients().index


def test_two_inputs_may_not_share_an_encoded_name(tmp_path: Path) -> None:
    """feature_names and coefficients() named two inputs 'c=b' and could not tell them apart."""
    table = pd.DataFrame({"c=b": np.arange(30.0) % 7, "c": ["b", "d"] * 15, "y": np.arange(30.0)})
    message = r"column 'c=b' and value 'b' of column 'c' both encode as 'c=b': rename a column"
    with pytest.raises(DataError, match=r"^features: " + message):
        TabularModel(epochs=2).fit(table, "y")

    model = TabularModel(epochs=2)
    model.fit(table.rename(columns={"c=b": "count"}), "y")
    path = tmp_path / "model.json"
    model.save(path)
    document = json.loads(path.read_text())
    document["features"]["numeric"] = ["c=b"]  # the file of a model that could not tell its inputs apart
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"model\.json: not a valid Bundle: .*" + message):
        TabularModel.load(path)


# --------------------------------------------------------------------------- #
# Rows read from a file mean what the training file's cells meant
# --------------------------------------------------------------------------- #


def _coded_homes(path: Path) -> pd.DataFrame:
    """A training file whose text columns look like numbers ("007") and booleans ("true") in some rows, and a
    boolean column spelled as a file may spell it: the table as `read_table` reads it."""
    rng = np.random.default_rng(0)
    n = 300
    code, flag = rng.choice(["007", "010", "x12"], n), rng.choice(["true", "false", "unknown"], n)
    size = rng.uniform(500, 4000, n).round(1)
    garden = rng.choice(["TRUE", "false"], n)
    price = (
        150 * size
        + pd.Series(code).map({"007": 0, "010": 50_000, "x12": -50_000}).to_numpy()
        + pd.Series(flag).map({"true": 20_000, "false": 0, "unknown": 5_000}).to_numpy()
        + np.where(garden == "TRUE", 10_000, 0)
    )
    table = pd.DataFrame({"size": size, "code": code, "flag": flag, "garden": garden, "price": price})
    table.to_csv(path, index=False)
    return read_table(path)


NEW_ROWS = "size,code,flag,garden\n1000,007,true,True\n1000,010,false,FALSE\n2000,010,true,false\n"
"""Rows to predict whose every value was seen in training, but whose text columns hold only number-like and
boolean-like cells: read by pandas' own guess, "007" became 7 and "true" True."""


def test_rows_read_for_a_model_mean_what_the_training_cells_meant(tmp_path: Path) -> None:
    training = _coded_homes(tmp_path / "train.csv")
    model = TabularModel(hidden=(), epochs=300, learning_rate=0.05)
    model.fit(training, "price")
    assert model.features.text_columns == ["code", "flag"]  # garden was read as booleans: it is again
    path = tmp_path / "new.csv"
    path.write_text(NEW_ROWS)

    rows = read_table(path, text=model.features.text_columns)

    assert rows["code"].tolist() == ["007", "010", "010"] and rows["flag"].tolist() == ["true", "false", "true"]
    assert rows["garden"].tolist() == [True, False, False]
    same = pd.DataFrame(
        {"size": [1000.0, 1000.0, 2000.0], "code": ["007", "010", "010"], "flag": ["true", "false", "true"]}
    ).assign(garden=[True, False, False])
    np.testing.assert_array_equal(model.predict(rows).to_numpy(), model.predict(same).to_numpy())
    np.testing.assert_allclose(model.predict(rows), [180_000, 200_000, 370_000], rtol=1e-3)


def test_the_command_line_predicts_rows_as_the_training_file_read_them(tmp_path: Path) -> None:
    csv, rows_csv, bundle, output = (tmp_path / name for name in ("t.csv", "rows.csv", "model.json", "out.csv"))
    _coded_homes(csv)
    rows_csv.write_text(NEW_ROWS)
    argv = ["--csv", str(csv), "--target", "price", "--hidden", "", "--epochs", "300", "--learning-rate", "0.05"]
    assert cli.main([*argv, "--save", str(bundle)], out=io.StringIO()) == 0

    for unseen in ("error", "zero"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataNote)  # no value is unseen: no note
            argv = ["--model", str(bundle), "--predict", str(rows_csv), "--output", str(output), "--unseen", unseen]
            assert cli.main(argv) == 0
        written = pd.read_csv(output, dtype=str)
        assert written["code"].tolist() == ["007", "010", "010"], "the rows come back as written"
        assert written["flag"].tolist() == ["true", "false", "true"]
        np.testing.assert_allclose(written["prediction"].astype(float), [180_000, 200_000, 370_000], rtol=1e-3)


def test_classes_from_rows_only_adds_their_labels() -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": ["a", "b"] * 20})
    test = pd.DataFrame({"x": [1.0, 2.0], "y": ["b", "c"]})
    model = TabularModel(task="multiclass", hidden=(), epochs=5, patience=3)
    model.fit(frame, "y", classes_from=test)
    assert model.labels == ["a", "b", "c"] and model.network.layer_sizes == [1, 3]
    with pytest.raises(DataError, match=r"^classes_from: no target column 'y'; got \['x'\]$"):
        model.fit(frame, "y", classes_from=test[["x"]])
    with pytest.raises(DataError, match=r"^classes_from: missing values in column\(s\) 'y' \(1 of 2 rows: row 1\); "):
        model.fit(frame, "y", classes_from=test.assign(y=["b", np.nan]))


@pytest.mark.parametrize("missing", ["error", "drop"])
def test_a_regression_reads_nothing_of_its_classes_from_rows(missing: str) -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": np.arange(40.0) * 2})
    model = TabularModel(hidden=(), epochs=2, missing=missing)  # type: ignore[arg-type]
    model.fit(frame, "y", classes_from=frame.assign(y=np.nan))
    assert model.labels is None and model.network.layer_sizes == [1, 1]


def test_a_target_with_a_class_per_row_is_refused_as_text_features_are() -> None:
    """A price column with --task multiclass trained a softmax of one class per row, without a word."""
    rows = np.arange(30)
    frame = pd.DataFrame({"x": rows * 1.0, "price": rows * 1_000.5})
    with pytest.raises(
        DataError,
        match=r"^target 'price': multiclass found 30 distinct values in 30 rows, more than 20 and than 50% of the "
        r"rows: too many to be classes \(a continuous number or an identifier\?\); for numbers use the regression "
        r"task \(--task regression\)$",
    ):
        TabularModel(task="multiclass", epochs=2).fit(frame, "price")
    model = TabularModel(task="multiclass", hidden=(), epochs=2)
    model.fit(frame.assign(price=rows % 20), "price")  # 20 classes: as many as a text feature may hold
    assert model.labels == list(range(20))
    with pytest.raises(DataError, match=r"multiclass found 21 distinct values in 21 rows"):  # the labels' rows
        TabularModel(task="multiclass", epochs=2).fit(frame[:20], "price", classes_from=frame[20:21])


def test_a_frame_without_rows_is_refused_naming_it() -> None:
    """fit said 'zero-size array to reduction operation maximum', predict and effects 'X: found array with 0
    sample(s)': neither named the argument given."""
    frame, target = _housing_like()
    model = TabularModel(epochs=2)
    no_rows = r"^{}: expected at least one row, got a DataFrame with no rows$"
    with pytest.raises(DataError, match=no_rows.format("frame")):
        model.fit(frame.iloc[:0], target)
    with pytest.raises(DataError, match=no_rows.format("validation")):
        model.fit(frame, target, validation=frame.iloc[:0])
    model.fit(frame, target)
    for call in (model.predict, model.evaluate, model.local_effects, model.effects):
        with pytest.raises(DataError, match=no_rows.format("frame")):
            call(frame.iloc[:0])


# --------------------------------------------------------------------------- #
# The rows of a table are checked once, at the way in
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("missing", ["error", "drop"])
def test_one_fit_runs_each_check_of_its_rows_once(row_checks: dict[str, int], missing: str) -> None:
    frame = make_housing(40, seed=3).assign(street=["oak", "elm"] * 20)
    TabularModel(epochs=1, missing=missing).fit(frame, "price")  # type: ignore[arg-type]
    # dropping rows looks for missing values itself, to leave those rows out, and never refuses them
    assert row_checks == {"reject_duplicates": 1, "reject_missing": int(missing == "error"), "reject_infinite": 1,
                      "check_frame": 1}  # fmt: skip


def test_checked_rows_are_not_checked_again_to_fit_predict_evaluate_or_explain(row_checks: dict[str, int]) -> None:
    frame = make_housing(40, seed=3)
    rows = tables.usable_rows(tables.check_frame(frame, "frame"), list(frame.columns), "error", "frame")
    row_checks.update(dict.fromkeys(row_checks, 0))
    model = TabularModel(hidden=(), epochs=1)
    model.fit(rows, "price", validation=rows.take(slice(30, None)))
    model.predict(rows), model.evaluate(rows), model.effects(rows)
    assert set(row_checks.values()) == {0}
    model.predict(frame)  # a DataFrame is checked, once
    assert row_checks == {"reject_duplicates": 1, "reject_missing": 1, "reject_infinite": 0, "check_frame": 1}


def test_a_fit_hashes_its_tables_only_for_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables' fingerprints are what a checkpoint records: a fit that writes none hashes nothing, and one that
    writes several hashes each table once, as `resume` reads them."""
    frame, target = _housing_like()
    hashed: list[int] = []
    fingerprint = bundles.TableFingerprint.of

    def counted(frame: pd.DataFrame) -> bundles.TableFingerprint:
        hashed.append(len(frame))
        return fingerprint(frame)

    monkeypatch.setattr(bundles.TableFingerprint, "of", counted)
    TabularModel(epochs=2).fit(frame, target, validation=frame.iloc[:20])
    assert hashed == []
    model = TabularModel(epochs=4)
    model.fit(frame, target, validation=frame.iloc[:20], callbacks=[WriteCheckpoints(tmp_path / "run.json", every=1)])
    assert sorted(hashed) == [20, len(frame)]
    monkeypatch.setattr(bundles.TableFingerprint, "of", fingerprint)
    resumed = TabularModel.resume(tmp_path / "run.json", frame, validation=frame.iloc[:20])
    np.testing.assert_array_equal(resumed.network.parameter_vector, model.network.parameter_vector)
