"""What the network learned: exact input gradients, feature effects in the target's units, and their records."""

from __future__ import annotations

import io
import json
import math
import sys
import warnings
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from glassnet import (
    Activation,
    DataNote,
    FeatureEffect,
    FeatureEffects,
    GradientCheckReport,
    GradientRecord,
    Head,
    Network,
    TabularModel,
    TrainingHistory,
    cli,
    get_data,
    gradient_check,
    make_housing,
    split_rows,
    to_torch,
)
from glassnet.reading import DataError
from glassnet.tabular import NotFittedError

ACTIVATION_NAMES: tuple[Activation, ...] = get_args(Activation)
HEAD_NAMES: tuple[Head, ...] = get_args(Head)
OUTPUTS = {"identity": 2, "sigmoid": 1, "softmax": 3}
FloatArray = npt.NDArray[np.float64]


def network(activation: Activation, head: Head) -> Network:
    return Network([4, 6, 5, OUTPUTS[head]], activation=activation, head=head, seed=7)


def inputs(n: int = 32) -> FloatArray:
    """Inputs wide enough to reach every activation's negative side and its saturation."""
    return np.random.default_rng(1).normal(scale=2.0, size=(n, 4))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b|| / (||a|| + ||b||)``, as `gradient_check` measures it."""
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


# --------------------------------------------------------------------------- #
# Network.input_gradients
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_input_gradients_equal_central_differences_of_forward(activation: Activation, head: Head) -> None:
    net, X = network(activation, head), inputs()
    epsilon = 1e-6
    numeric = np.empty((X.shape[0], OUTPUTS[head], X.shape[1]))
    for j in range(X.shape[1]):
        step = np.zeros_like(X)
        step[:, j] = epsilon
        numeric[:, :, j] = (net.forward(X + step) - net.forward(X - step)) / (2 * epsilon)
    analytic = net.input_gradients(X)
    assert analytic.shape == (32, OUTPUTS[head], 4)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize("head", HEAD_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_input_gradients_equal_pytorch_autograd(activation: Activation, head: Head) -> None:
    net, X = network(activation, head), inputs()
    module = to_torch(net)
    rows = torch.from_numpy(X)
    jacobian = torch.autograd.functional.jacobian(module, rows).numpy()  # type: ignore[no-untyped-call]
    per_row = np.einsum("ikij->ikj", jacobian)  # (n, n_out, n, n_in): each row depends on its own inputs only
    np.testing.assert_allclose(net.input_gradients(X), per_row, rtol=0, atol=1e-12)


def test_softmax_input_gradients_sum_to_zero_over_the_classes() -> None:
    gradients = network("tanh", "softmax").input_gradients(inputs())
    assert np.abs(gradients).max() > 1e-3  # something to sum
    np.testing.assert_allclose(gradients.sum(axis=1), 0.0, atol=1e-15)


def test_a_linear_network_has_its_linear_map_on_every_row() -> None:
    net = Network([4, 10, 25, 2], seed=3)
    weights, _ = net.linear_map()
    gradients = net.input_gradients(inputs())
    np.testing.assert_allclose(gradients, np.broadcast_to(weights.T, gradients.shape), rtol=1e-12, atol=1e-15)


def test_input_gradients_leave_the_parameters_and_a_later_step_alone() -> None:
    net, X = network("relu", "softmax"), inputs()
    before = net.parameter_vector.copy()
    y = np.arange(len(X)) % 3
    record = net.gradients(X, y)
    net.input_gradients(X)
    assert net.parameter_vector.tobytes() == before.tobytes()
    again = net.gradients(X, y)
    assert [g.weights.tobytes() for g in again.layers] == [g.weights.tobytes() for g in record.layers]


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (np.zeros((2, 3)), ValueError, r"X has 3 features, but Network is expecting 4 features as input"),
        (np.zeros(4), ValueError, r"X: expected a 2-D array \(n_samples, 4\), got shape \(4,\)"),
        (np.full((2, 4), np.nan), ValueError, r"X: expected finite values, got NaN or infinity"),
        (np.zeros((0, 4)), ValueError, r"X: found array with 0 sample\(s\)"),
        ([["a", "b", "c", "d"]], TypeError, r"X"),
    ],
)
def test_input_gradients_refuse_what_forward_refuses(X: object, error: type[Exception], message: str) -> None:
    net = network("tanh", "identity")
    with pytest.raises(error, match=message):
        net.forward(X)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):
        net.input_gradients(X)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# TabularModel.local_effects and effects
# --------------------------------------------------------------------------- #

SHIFTS = {"a": 0.0, "b": 1.5, "c": -1.0}


def nonlinear_table(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """``y = 2 linear + square**2 + 3 sin(wave) + a shift by group`` (reference ``a``, the most frequent) + noise."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "linear": rng.uniform(-2, 2, n),
            "square": rng.uniform(-2, 2, n),
            "wave": rng.uniform(-3, 3, n),
            "group": rng.choice(list(SHIFTS), n, p=[0.5, 0.3, 0.2]),
        }
    )
    truth = 2 * table["linear"] + table["square"] ** 2 + 3 * np.sin(table["wave"]) + table["group"].map(SHIFTS)
    table["y"] = truth + rng.normal(0.0, 0.1, n)
    return table


@pytest.fixture(scope="module")
def nonlinear() -> tuple[TabularModel, pd.DataFrame]:
    table = nonlinear_table()
    model = TabularModel(activation="tanh", hidden=[32], epochs=150, batch_size=256)
    model.fit(table, "y")
    return model, table


def test_the_true_derivatives_of_a_nonlinear_table_are_recovered(nonlinear: tuple[TabularModel, pd.DataFrame]) -> None:
    model, table = nonlinear
    local = model.local_effects()
    assert list(local.columns) == ["linear", "square", "wave", "group"]
    assert local.index.equals(table.index)
    effects = model.effects()
    assert effects.of("linear").mean == pytest.approx(2.0, rel=0.05)
    assert np.corrcoef(local["square"], 2 * table["square"])[0, 1] > 0.95
    assert np.corrcoef(local["wave"], 3 * np.cos(table["wave"]))[0, 1] > 0.9
    group = effects.of("group")
    assert (group.kind, group.reference) == ("category", "a")
    assert group.per_category == pytest.approx({"b": 1.5, "c": -1.0}, abs=0.1)
    assert (local["group"][table["group"] == "a"] == 0).all()  # the reference against itself


def test_effects_are_those_of_the_rows_given(nonlinear: tuple[TabularModel, pd.DataFrame]) -> None:
    model, _ = nonlinear
    rows = nonlinear_table(50, seed=1)
    local = model.local_effects(rows)
    step = 1e-5  # a number column's effect is the derivative of predict in raw units
    up, down = rows.assign(wave=rows["wave"] + step), rows.assign(wave=rows["wave"] - step)
    numeric = (model.predict(up) - model.predict(down)) / (2 * step)
    np.testing.assert_allclose(local["wave"], numeric, rtol=1e-5, atol=1e-6)
    at_reference = model.predict(rows.assign(group="a"))  # a text column's is a change against the reference
    np.testing.assert_allclose(local["group"], model.predict(rows) - at_reference, rtol=1e-12, atol=1e-12)
    assert model.effects(rows).of("wave").mean == pytest.approx(local["wave"].mean(), rel=1e-12)


def test_a_linear_network_s_effects_are_its_coefficients_with_no_spread() -> None:
    table = nonlinear_table(1_000)
    table["y"] = 3.0 * table["linear"] - 0.5 * table["square"] + table["group"].map(SHIFTS)
    model = TabularModel(epochs=60)
    model.fit(table, "y")
    effects, coefficients = model.effects(), model.coefficients()
    for name in ("linear", "square", "wave"):
        effect = effects.of(name)
        assert effect.mean == pytest.approx(coefficients[name], rel=1e-9)
        assert effect.std <= 1e-9 * abs(effect.mean) + 1e-12
        assert effect.q10 == pytest.approx(effect.q90, rel=1e-9)
    group = effects.of("group")
    assert group.per_category is not None
    for category in ("b", "c"):
        change = coefficients[f"group={category}"] - coefficients["group=a"]
        assert group.per_category[category] == pytest.approx(change, rel=1e-9)


def test_housing_effects_of_the_default_network_are_its_coefficients() -> None:
    housing = make_housing(2_000)
    model = TabularModel()
    model.fit(housing, "price")
    effects = model.effects().to_frame()
    assert list(effects.index) == [("price", name) for name in ("size_sqft", "bedrooms", "age_years", "distance_km")]
    np.testing.assert_allclose(effects["mean"], model.coefficients(), rtol=1e-9)
    assert (effects["std"] <= 1e-9 * effects["mean"].abs()).all()


def test_a_multiclass_model_s_effects_are_on_each_class_probability_and_sum_to_zero() -> None:
    table = nonlinear_table(600)
    table["band"] = pd.cut(table.pop("y"), 3, labels=["low", "mid", "high"]).astype(str)
    model = TabularModel(task="multiclass", activation="relu", hidden=[16], epochs=50)
    model.fit(table, "band")
    local = model.local_effects()
    assert list(local.columns.names) == ["label", "feature"]
    assert list(local.columns.get_level_values("label").unique()) == ["high", "low", "mid"]
    totals = local.T.groupby(level="feature").sum().T  # over the classes, per row and feature
    assert np.abs(local.to_numpy()).max() > 1e-2
    np.testing.assert_allclose(totals.to_numpy(), 0.0, atol=1e-12)
    effects = model.effects()
    assert effects.output == ["high", "low", "mid"]
    for feature in effects.feature_names:
        assert sum(effects.of(feature, label).mean for label in effects.output) == pytest.approx(0.0, abs=1e-12)
    step = 1e-6  # the derivative of predict_proba
    up, down = table.assign(linear=table["linear"] + step), table.assign(linear=table["linear"] - step)
    numeric = (model.predict_proba(up)["mid"] - model.predict_proba(down)["mid"]) / (2 * step)
    np.testing.assert_allclose(local[("mid", "linear")], numeric, rtol=1e-4, atol=1e-7)


def test_a_binary_model_s_two_classes_move_against_each_other() -> None:
    table = nonlinear_table(400)
    table["high"] = table.pop("y") > 1.0
    model = TabularModel(task="binary", activation="tanh", hidden=[8], epochs=30)
    model.fit(table, "high")
    local = model.local_effects()
    assert list(local.columns.get_level_values("label").unique()) == [False, True]
    np.testing.assert_allclose(local[False].to_numpy(), -local[True].to_numpy(), rtol=0, atol=1e-15)
    assert model.effects().output == ["False", "True"]


def test_effects_refuse_what_they_cannot_describe(nonlinear: tuple[TabularModel, pd.DataFrame], tmp_path: Path) -> None:
    model, table = nonlinear
    with pytest.raises(DataError, match=r"frame: missing required column\(s\) \['wave'\]"):
        model.effects(table.drop(columns="wave"))
    unseen = table.head(4).assign(group=["a", "b", "zz", "zz"])
    with pytest.raises(DataError, match=r"column 'group': unseen value\(s\) \['zz'\]"):
        model.local_effects(unseen)
    with pytest.warns(DataNote, match=r"2 row\(s\) with value\(s\) unseen in training \['zz'\]"):
        local = model.local_effects(unseen, unseen="zero")
    assert np.isfinite(local.to_numpy()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataNote)
        zero = model.predict(unseen, unseen="zero")
    np.testing.assert_allclose(local["group"], zero - model.predict(unseen.assign(group="a")), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataNote)
        per_category = model.effects(unseen, unseen="zero").of("group").per_category
    assert per_category is not None and set(per_category) == {"b", "zz"}
    with pytest.raises(NotFittedError, match=r"TabularModel: not fitted yet; call fit"):
        TabularModel().effects()
    with pytest.raises(NotFittedError, match=r"not fitted yet"):
        TabularModel().local_effects(table)
    path = tmp_path / "model.json"
    model.save(path)
    loaded = TabularModel.load(path)
    with pytest.raises(ValueError, match=r"frame: a loaded model keeps no training rows"):
        loaded.effects()
    assert loaded.effects(table) == model.effects()  # the same numbers from the bundle
    with pytest.raises(TypeError, match=r"frame: expected a pandas DataFrame, got ndarray"):
        model.effects(table.to_numpy())  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# The effect records
# --------------------------------------------------------------------------- #


def test_effect_records_round_trip_and_tabulate(nonlinear: tuple[TabularModel, pd.DataFrame]) -> None:
    effects = nonlinear[0].effects()
    again = FeatureEffects.model_validate_json(effects.model_dump_json())
    assert again == effects
    frame = effects.to_frame()
    assert list(frame.columns) == ["kind", "mean", "std", "q10", "q50", "q90", "reference"]
    assert frame.loc[("y", "linear"), "mean"] == effects.of("linear").mean
    table = effects.table()
    assert "b vs a" in table and "c vs a" in table
    headers = ["output", "feature", "kind", "mean", "std", "q10", "q50", "q90"]
    assert table.splitlines()[0].replace("|", " ").split() == headers
    assert "<table>" in effects._repr_html_()
    assert repr(effects) == "FeatureEffects(target='y', output=['y'], features=['linear', 'square', 'wave', 'group'])"


def effect(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {"feature": "x", "kind": "number", "output": "y"}
    fields |= {"mean": 1.0, "std": 0.5, "q10": 0.0, "q50": 1.0, "q90": 2.0}
    return fields | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"q50": 3.0}, "expected ordered quantiles, got 0.0, 3.0, 2.0"),
        ({"mean": math.nan}, "Input should be a finite number"),
        ({"std": -1.0}, "Input should be greater than or equal to 0"),
        ({"kind": "category"}, "expected a reference and per_category exactly for a category column"),
        ({"reference": "a", "per_category": {"b": 1.0}}, "exactly for a category column"),
        ({"kind": "category", "reference": "a", "per_category": {"a": 0.0}}, "other than the reference 'a'"),
        ({"kind": "date"}, "Input should be 'number' or 'category'"),
    ],
)
def test_an_effect_no_network_could_have_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FeatureEffect.model_validate(effect(**changes))
    with pytest.raises(ValidationError, match=message):
        FeatureEffect.model_validate_json(json.dumps(effect(**changes)))


@pytest.mark.parametrize(
    ("outputs", "features", "message"),
    [
        (["y", "y"], [effect(), effect()], "expected distinct outputs"),
        (["a", "b"], [effect(output="a")], "expected the same features for each of the 2 outputs"),
        (["y"], [effect(), effect()], "expected each feature once per output"),
        (["a", "b"], [effect(output="a"), effect(output="a")], "expected the effects on 'b' of \\['x'\\]"),
        (["y"], [], "at least 1 item"),
    ],
)
def test_a_summary_that_does_not_fit_together_is_refused(
    outputs: list[str], features: list[dict[str, object]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FeatureEffects.model_validate({"target": "y", "output": outputs, "features": features})


# --------------------------------------------------------------------------- #
# Inspecting records, as a learner does
# --------------------------------------------------------------------------- #


def test_a_big_gradient_record_shows_itself_in_one_short_line() -> None:
    X, y = get_data(100, task="multiclass")
    net = Network([4, 256, 256, 3], activation="relu", head="softmax")
    record = net.gradients(X, y)
    text = repr(record)
    assert "\n" not in text and len(text) < 200, text
    assert text.startswith(f"GradientRecord(loss={record.loss:.6g}, 3 layers")
    assert "4x256 " in text and "256x256 " in text and f"256x3 {record.norms[2]:.3g}" in text
    assert str(record) == text
    assert repr(record.layers[0]) == f"LayerGradients(weights 4x256, bias 256, L2 norm {record.norms[0]:.4g})"
    assert repr(net.params[1]).startswith("LayerParams(weights 256x256, bias 256, L2 norm ")
    page = record._repr_html_()
    assert page.count("<tr>") == 4 and "|dW| (L2)" in page  # header and one row per layer


def test_gradient_record_to_frame() -> None:
    X, y = get_data(50, task="multiclass")
    record = Network([4, 6, 3], activation="tanh", head="softmax").gradients(X, y)
    frame = record.to_frame()
    assert frame.index.name == "layer" and list(frame.index) == [1, 2]
    assert list(frame.columns) == ["n_in", "n_out", "weights_norm", "bias_norm", "norm"]
    assert frame["norm"].tolist() == record.norms
    assert frame.loc[2, "weights_norm"] == np.linalg.norm(record.layers[1].weights)
    assert frame[["n_in", "n_out"]].to_numpy().tolist() == [[4, 6], [6, 3]]


def test_every_record_has_a_compact_repr_and_an_html_table() -> None:
    X, y = get_data(60)
    net = Network([4, 5, 1], activation="tanh")
    history = net.fit(X, y, epochs=4, keep_gradients=2, validation_data=(X, y))
    report = gradient_check(net, X[:10], y[:10])
    records: list[object] = [history, history.records[-1], report]
    for record in records:
        assert "\n" not in repr(record) and len(repr(record)) < 250, repr(record)
        assert "<table>" in record._repr_html_()  # type: ignore[attr-defined]
    assert repr(history).startswith("TrainingHistory(4 records, epochs 1 to 4, loss ")
    assert repr(history.records[0]).startswith("EpochRecord(epoch=1, loss=")
    assert repr(history.records[-1]).endswith("full gradients kept)")
    assert repr(report).startswith("GradientCheckReport(passed=True, max_relative_error=")
    assert repr(TrainingHistory()) == "TrainingHistory(no records)"


def test_table_headers_say_which_norm() -> None:
    X, y = get_data(30)
    net = Network([4, 3, 1])
    history = net.fit(X, y, epochs=2)
    assert "grad_norm_1 (L2)" in history.table()
    assert "update_ratio_1 (L2)" in history.table(gradients=True)
    assert "|dW| (L2)" in net.gradients(X, y).table()
    assert "|analytic| (L2)" in gradient_check(net, X[:5], y[:5]).table()
    check = GradientCheckReport.model_validate_json(gradient_check(net, X[:5], y[:5]).model_dump_json())
    assert isinstance(check.analytic, GradientRecord)


def test_training_history_plots_its_loss_and_gradients() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = get_data(60)
    history = Network([4, 5, 1], activation="tanh").fit(X, y, epochs=5, validation_data=(X, y))
    axes = history.plot()
    assert [line.get_label() for line in axes.get_lines()] == ["train", "validation"]
    assert np.asarray(axes.get_lines()[0].get_ydata()).tolist() == history.to_frame()["loss"].tolist()
    _, given = plt.subplots()
    assert history.plot(given, gradients=True) is given
    assert [line.get_label() for line in given.get_lines()] == ["layer 1", "layer 2"]
    plt.close("all")


def test_training_history_plot_names_matplotlib_when_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    history = Network([4, 1]).fit(*get_data(20), epochs=1)
    with pytest.raises(ImportError, match=r"TrainingHistory.plot needs matplotlib.*pip install matplotlib"):
        history.plot()


# --------------------------------------------------------------------------- #
# The command line
# --------------------------------------------------------------------------- #

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(argv, out=out), out.getvalue()


def learned_rows(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("what the network learned"))
    return [
        [cell.strip() for cell in line.strip("|").split("|")] for line in lines[start + 3 :] if line.startswith("|")
    ]


def test_a_relu_run_prints_what_it_learned_and_draws_the_local_effects(tmp_path: Path) -> None:
    picture = tmp_path / "effects.png"
    code, stdout = run(["--samples", "400", "--epochs", "5", "--activation", "relu", "--effects", str(picture)])
    assert code == 0
    rows = learned_rows(stdout)
    assert [row[0] for row in rows] == ["size_sqft", "bedrooms", "age_years", "distance_km"]
    assert [float(row[3].replace(",", "")) for row in rows] == [150.0, 50_000.0, -1_000.0, -2_000.0]  # the truth
    assert f"wrote the local effects to {picture}" in stdout
    assert picture.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in tmp_path.iterdir()] == ["effects.png"]


def test_a_classifier_run_prints_effects_on_each_class_probability(tmp_path: Path) -> None:
    code, stdout = run(["--samples", "400", "--epochs", "5", "--task", "multiclass", "--activation", "tanh"])
    assert code == 0
    assert "what the network learned (per unit of each feature, on each class's probability" in stdout
    lines = stdout.splitlines()
    header = lines[next(i for i, line in enumerate(lines) if line.startswith("what the network learned")) + 1]
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "feature",
        *(f"{part} P({label})/unit" for label in (0, 1, 2) for part in ("average", "std")),
    ]
    averages = np.array([[float(row[i]) for i in (1, 3, 5)] for row in learned_rows(stdout)])
    np.testing.assert_allclose(averages.sum(axis=1), 0.0, atol=1e-3)  # printed to 4 significant digits


def test_the_effects_output_is_checked_like_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "table.csv"
    make_housing(50).to_csv(table, index=False)
    code, _ = run(["--csv", str(table), "--target", "price", "--effects", str(table)])
    assert code == 1
    assert f"error: --effects {table}: is the input --csv; it would be overwritten" in capsys.readouterr().err
    code, _ = run(["--samples", "50", "--plot", str(tmp_path / "a.png"), "--effects", str(tmp_path / "a.png")])
    assert code == 1
    assert "is also --plot; give each output its own file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--model", "m.json", "--predict", str(table), "--effects", "e.png"])
    assert stopped.value.code == 2
    assert "--effects goes with training, not --predict" in capsys.readouterr().err


def test_effects_of_a_table_without_numbers_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    words = pd.DataFrame({"plan": rng.choice(["a", "b"], 60), "region": rng.choice(["x", "y", "z"], 60)})
    words["spend"] = words["plan"].map({"a": 1.0, "b": 3.0}) + rng.normal(0, 0.1, 60)
    table = tmp_path / "words.csv"
    words.to_csv(table, index=False)
    code, stdout = run(
        ["--csv", str(table), "--target", "spend", "--epochs", "5", "--effects", str(tmp_path / "e.png")]
    )
    assert code == 1
    assert "error: --effects: the table has no numeric feature" in capsys.readouterr().err
    train_rows, _ = split_rows(len(words), 0.2, seed=0)  # the command line's split
    references = {c: words[c].iloc[train_rows].value_counts().sort_index().idxmax() for c in ("plan", "region")}
    expected = [
        f"{column}={category} vs {reference}"
        for column, reference in references.items()
        for category in sorted({"plan": "ab", "region": "xyz"}[column])
        if category != reference
    ]
    assert [row[0] for row in learned_rows(stdout)] == expected  # the table is printed before the plot fails


def test_a_checkpoint_written_before_effects_existed_still_resumes(tmp_path: Path) -> None:
    checkpoint = tmp_path / "run.json"
    code, _ = run(["--samples", "100", "--epochs", "4", "--checkpoint", str(checkpoint), "--checkpoint-every", "2"])
    assert code == 0
    document = json.loads(checkpoint.read_text())
    document["extra"]["train.py"].pop("effects")  # as a checkpoint from before --effects was written
    checkpoint.write_text(json.dumps(document))
    code, stdout = run(["--resume", str(checkpoint)])
    assert code == 0, stdout
    assert "what the network learned" in stdout


def test_effects_beyond_float64_name_the_column_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    houses = make_housing(200).assign(tiny=lambda frame: frame["size_sqft"] * 1e-312)  # subnormal: a unit is huge
    model = TabularModel(epochs=3)
    model.fit(houses, "price")
    with pytest.raises(ValueError, match=r"frame: the effects of column\(s\) \['tiny'\] overflow float64 per raw unit"):
        model.effects()
    table, report = tmp_path / "tiny.csv", tmp_path / "report.json"
    houses.to_csv(table, index=False)
    code, stdout = run(["--csv", str(table), "--target", "price", "--epochs", "3", "--report", str(report)])
    assert code == 0
    assert "what the network learned: not shown: frame: the effects of column(s) ['tiny'] overflow" in stdout
    assert report.exists()
