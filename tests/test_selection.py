"""Choosing a table's network on its training rows: what is chosen where, what the choice never sees, and a chosen
model predicting, explaining and round-tripping through its bundle exactly, whatever was chosen."""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from glassnet import (
    Candidate,
    DataNote,
    Head,
    Network,
    Selection,
    TabularModel,
    WriteCheckpoints,
    make_housing,
    tabular,
)
from glassnet import selection as selecting
from glassnet.selection import CANDIDATES, FOLDS, LINEAR, MIN_ROWS, RELU_AVERAGE, average_of, choose

FIXTURES = Path(__file__).parent / "fixtures"


def linear_table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A target linear in three columns plus noise, one of them text."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.uniform(0, 10, size=n)
    kind = rng.choice(["x", "y", "z"], size=n)
    y = 3.0 * a - 0.5 * b + np.select([kind == "y", kind == "z"], [1.0, -2.0], 0.0) + rng.normal(0, 0.3, size=n)
    return pd.DataFrame({"a": a, "b": b, "kind": kind, "y": y})


def curved_table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A target no line follows: a sine of one column plus the square of another, little noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-2, 2, size=n), rng.uniform(-2, 2, size=n)
    return pd.DataFrame({"a": a, "b": b, "y": np.sin(2.5 * a) + b**2 + rng.normal(0, 0.05, size=n)})


@pytest.fixture(scope="module")
def chosen_linear() -> TabularModel:
    model = TabularModel()
    model.fit(linear_table(), "y")
    return model


@pytest.fixture(scope="module")
def chosen_relu() -> TabularModel:
    model = TabularModel()
    model.fit(curved_table(), "y")
    return model


@pytest.fixture(scope="module")
def chosen_classifier() -> TabularModel:
    table = curved_table(160, seed=1)
    table["y"] = np.where(table["y"] > table["y"].median(), "high", "low")
    model = TabularModel(task="binary")
    model.fit(table, "y")
    return model


# --------------------------------------------------------------------------- #
# What is chosen
# --------------------------------------------------------------------------- #


def test_a_linear_table_chooses_the_linear_network(chosen_linear: TabularModel) -> None:
    selection = chosen_linear.selection
    assert selection is not None and selection.was_chosen
    assert selection.chosen == LINEAR
    assert [score.candidate for score in selection.scores] == list(CANDIDATES)
    assert selection.rows == 200 and selection.folds == FOLDS
    assert (
        selection.reason
        == "chose 'linear' (hidden [10, 25] identity): the lowest loss out of fold; refit on all 200 rows"
    )
    pinned = TabularModel(hidden=[10, 25], activation="identity")
    pinned.fit(linear_table(), "y")
    np.testing.assert_array_equal(
        chosen_linear.network.parameter_vector, pinned.network.parameter_vector, "refit as the pinned linear network"
    )
    assert chosen_linear.history.records[-1].epoch == 150


def test_a_curved_table_chooses_a_nonlinear_network(chosen_relu: TabularModel) -> None:
    selection = chosen_relu.selection
    assert selection is not None and selection.chosen == RELU_AVERAGE
    linear, relu = selection.scores
    assert linear.loss is None and linear.note is not None and "clearly above" in linear.note, "lost on fold 1"
    assert relu.loss is not None and len(relu.epochs) == FOLDS
    assert chosen_relu.network.layer_sizes == [2, FOLDS * 64, FOLDS * 64, 1]
    assert selection.reason == (
        "chose 'relu average' (hidden [64, 64] relu, l2 0.001): the lowest loss out of fold, every simpler "
        "candidate having clearly lost on fold 1"
    )
    table = selection.table()
    assert "relu average" in table and "chosen" in table and "loss out of fold (200 rows, 3 folds)" in table


def wavy_table(n: int, wave: float, noise: float, seed: int = 0) -> pd.DataFrame:
    """A line in two columns with a sine of the first added (``wave`` its height) and noise: close to linear."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(-2, 2, size=n), rng.uniform(-2, 2, size=n)
    return pd.DataFrame({"a": a, "b": b, "y": a + 0.5 * b + wave * np.sin(2 * a) + rng.normal(0, noise, size=n)})


def spy_on_members(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int, int]]:
    """Each job `choose` runs, as it comes back: ("start" or "go on", candidate, member, epochs done)."""
    jobs: list[tuple[str, str, int, int]] = []
    train, go_on = selecting._train_member, selecting._go_on

    def started(candidate: Candidate, member: int, *rest: Any) -> Any:
        trained = train(candidate, member, *rest)
        jobs.append(("start", candidate.name, member, trained.run.epochs_done))
        return trained

    def gone_on(member: Any, *rest: Any) -> Any:
        trained = go_on(member, *rest)
        name = "relu average" if trained.network.activation == "relu" else "linear"  # a first member: member 0
        jobs.append(("go on", name, 0, trained.run.epochs_done))
        return trained

    monkeypatch.setattr(selecting, "_train_member", started)
    monkeypatch.setattr(selecting, "_go_on", gone_on)
    return jobs


def relu_jobs(jobs: list[tuple[str, str, int, int]]) -> list[tuple[str, int, int]]:
    """The relu candidate's jobs of those `spy_on_members` saw: (what, member, epochs done)."""
    return [(what, member, epochs) for what, name, member, epochs in jobs if name == "relu average"]


def test_a_candidate_clearly_losing_on_the_first_fold_trains_no_more_members(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = spy_on_members(monkeypatch)
    model = TabularModel(seed=0)
    model.fit(linear_table(), "y")
    assert sorted(name for _, name, *_ in jobs) == ["linear", "linear", "linear", "relu average"]
    selection = model.selection
    assert selection is not None and selection.chosen == LINEAR
    relu = selection.scores[1]
    assert relu.loss is None and len(relu.epochs) == 1
    assert relu.note is not None
    assert re.fullmatch(r"dropped after fold 1: loss [0-9.e-]+ there, clearly above [0-9.e-]+ \(linear\)", relu.note)
    assert relu.note in selection.table()


def test_the_first_members_are_judged_after_their_first_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = spy_on_members(monkeypatch)
    model = TabularModel(seed=0)
    model.fit(make_housing(600, seed=0), "price")  # 400 rows learned per member: 4 batches an epoch
    # the relu member clearly loses after its first steps: it goes no further
    assert relu_jobs(jobs) == [("start", 0, math.ceil(selecting.FIRST_STEPS / 4))]
    assert model.selection is not None and model.selection.chosen == LINEAR
    relu = model.selection.scores[1]
    assert relu.loss is None and relu.note is not None and relu.note.startswith("dropped after fold 1")


def test_a_first_member_still_in_after_its_first_steps_is_judged_again_at_its_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = spy_on_members(monkeypatch)
    model = TabularModel(seed=0)
    model.fit(linear_table(600), "y")
    (start, go_on) = relu_jobs(jobs)
    assert start == ("start", 0, math.ceil(selecting.FIRST_STEPS / 4)), "within the noise after its first steps"
    assert go_on[0] == "go on" and go_on[2] > start[2]
    assert model.selection is not None and model.selection.chosen == LINEAR
    relu = model.selection.scores[1]
    assert relu.loss is None and relu.note is not None and relu.note.startswith("dropped after fold 1"), "at its end"


def test_a_candidate_within_the_noise_of_the_first_fold_trains_every_member(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = spy_on_members(monkeypatch)
    close = TabularModel(seed=0)
    close.fit(wavy_table(1_000, wave=0.1, noise=0.5), "y")  # the relu networks lose by 0.1% out of fold
    assert [what for what, *_ in relu_jobs(jobs)] == ["start", "go on", "start", "start"]
    assert close.selection is not None and close.selection.chosen == LINEAR
    assert all(score.loss is not None and len(score.epochs) == FOLDS for score in close.selection.scores)


def test_pausing_the_first_members_changes_no_bit_of_the_chosen_network(monkeypatch: pytest.MonkeyPatch) -> None:
    table = wavy_table(1_000, wave=0.15, noise=0.3)
    paused = TabularModel(seed=0)
    paused.fit(table, "y")
    monkeypatch.setattr(selecting, "FIRST_STEPS", None)
    straight = TabularModel(seed=0)
    straight.fit(table, "y")
    assert paused.selection is not None and paused.selection.chosen == RELU_AVERAGE
    np.testing.assert_array_equal(paused.network.parameter_vector, straight.network.parameter_vector)


def test_the_chosen_network_predicts_new_rows_well(chosen_relu: TabularModel) -> None:
    assert chosen_relu.score(curved_table(200, seed=7)) > 0.9


def test_the_average_of_members_is_the_average_of_their_outputs_before_the_head() -> None:
    X = np.random.default_rng(3).normal(size=(20, 4))
    heads: list[tuple[Head, int]] = [("identity", 2), ("softmax", 3)]
    for head, outputs in heads:
        members = [Network([4, 6, 5, outputs], activation="tanh", head=head, seed=s) for s in range(3)]
        merged = average_of(members)
        assert merged.layer_sizes == [4, 18, 15, outputs]
        logits = np.mean([m.forward(X) if head == "identity" else np.log(m.forward(X)) for m in members], axis=0)
        if head == "softmax":
            logits = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(merged.forward(X), logits, rtol=1e-12)
    flat = [Network([4, 1], seed=s) for s in range(3)]
    np.testing.assert_allclose(average_of(flat).forward(X), np.mean([m.forward(X) for m in flat], axis=0), rtol=1e-12)


# --------------------------------------------------------------------------- #
# What the choice never sees
# --------------------------------------------------------------------------- #


def test_the_test_rows_never_reach_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    table = linear_table(120)
    train, test = table.iloc[:80], table.iloc[80:]
    seen: list[np.ndarray] = []

    def spy(X: np.ndarray, y: np.ndarray, **options: object) -> selecting.Choice:
        seen.append(X.copy())
        return choose(X, y, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(tabular, "choose", spy)
    first = TabularModel()
    first.fit(train, "y", classes_from=test)
    other_test = test.assign(a=test["a"] * 100.0, b=-test["b"])  # the same labels, other values
    second = TabularModel()
    second.fit(train, "y", classes_from=other_test)

    assert [len(X) for X in seen] == [80, 80], "the training rows, and only those"
    np.testing.assert_array_equal(seen[0], first.features.transform(train))
    np.testing.assert_array_equal(first.network.parameter_vector, second.network.parameter_vector)
    assert first.selection == second.selection


def test_the_choice_is_the_same_wherever_joblib_runs_its_members() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.normal(size=(60, 1))
    here = choose(X, y, head="identity", n_outputs=1, seed=0)
    with joblib.parallel_backend("threading", n_jobs=2):
        threads = choose(X, y, head="identity", n_outputs=1, seed=0)
    np.testing.assert_array_equal(here.network.parameter_vector, threads.network.parameter_vector)
    assert here.selection == threads.selection


# --------------------------------------------------------------------------- #
# A chosen model is exact and typed, whatever was chosen
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["chosen_linear", "chosen_relu", "chosen_classifier"])
def test_a_chosen_model_round_trips_through_its_bundle_exactly(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    model: TabularModel = request.getfixturevalue(kind)
    rows = model.training_rows
    assert rows is not None
    path = tmp_path / "model.json"
    model.save(path)
    loaded = TabularModel.load(path)

    assert json.loads(path.read_text())["version"] == 2
    assert isinstance(loaded.selection, Selection) and loaded.selection == model.selection
    pd.testing.assert_series_equal(loaded.predict(rows), model.predict(rows), check_exact=True)
    pd.testing.assert_frame_equal(loaded.local_effects(rows), model.local_effects(rows), check_exact=True)
    assert loaded.effects(rows) == model.effects(rows)
    X = model.features.transform(rows)
    np.testing.assert_array_equal(loaded.network.input_gradients(X), model.network.input_gradients(X))
    if model.labels is not None:
        pd.testing.assert_frame_equal(loaded.predict_proba(rows), model.predict_proba(rows), check_exact=True)


def test_a_chosen_linear_model_has_coefficients_its_effects_equal(chosen_linear: TabularModel) -> None:
    effects = chosen_linear.effects().to_frame()
    numbers = ["a", "b"]
    np.testing.assert_allclose(effects["mean"].to_numpy()[:2], chosen_linear.coefficients()[numbers], rtol=1e-9)
    assert chosen_linear.coefficients()["a"] == pytest.approx(3.0, abs=0.15)


def test_a_chosen_nonlinear_model_refuses_coefficients_as_any_nonlinear_network(chosen_relu: TabularModel) -> None:
    with pytest.raises(ValueError, match="expected identity activation and head for a linear map"):
        chosen_relu.coefficients()


def test_a_version_1_bundle_loads_with_no_selection() -> None:
    model = TabularModel.load(FIXTURES / "v1" / "bundle-table.json")
    assert model.selection is None


# --------------------------------------------------------------------------- #
# Nothing chosen: a network pinned, training settings given, too few rows
# --------------------------------------------------------------------------- #


def test_a_pinned_network_is_trained_as_told_and_says_so() -> None:
    model = TabularModel(hidden=[8], activation="tanh", epochs=3)
    model.fit(linear_table(60), "y")
    selection = model.selection
    assert selection is not None and not selection.was_chosen
    assert model.network.layer_sizes == [5, 8, 1] and model.network.activation == "tanh"
    assert selection.reason == "nothing chosen: the network was given; trained hidden [8] tanh as told"
    assert selection.table() == selection.reason


def test_training_settings_alone_train_the_linear_network_and_say_so() -> None:
    model = TabularModel(epochs=3)
    model.fit(linear_table(60), "y")
    assert model.network.layer_sizes == [5, 10, 25, 1]
    assert model.selection is not None and model.selection.reason == (
        "nothing chosen: training settings were given; trained the linear network, hidden [10, 25] identity, with "
        "them (leave every training setting out to let the model choose its network)"
    )


def test_candidates_with_a_pinned_network_are_refused() -> None:
    with pytest.raises(ValueError) as caught:
        TabularModel(hidden=[8], candidates=[LINEAR])
    assert str(caught.value) == (
        "candidates: only a model that chooses its network uses candidates; got hidden too, which choose nothing; "
        "leave out candidates, or those"
    )
    with pytest.raises(TypeError, match=r"candidates: expected glassnet\.selection\.Candidate items, got"):
        TabularModel(candidates=["linear"])  # type: ignore[list-item]


def test_a_model_that_chooses_refuses_to_watch_or_checkpoint_one_network(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as caught:
        TabularModel().fit(linear_table(60), "y", callbacks=[WriteCheckpoints(tmp_path / "run.json")])
    assert str(caught.value) == (
        "callbacks: a model that chooses its network trains several networks, which this follows one of; "
        "expected it left out, or a network given (hidden=..., activation=...)"
    )
    with pytest.raises(ValueError, match=r"^validation: a model that chooses"):
        TabularModel().fit(linear_table(60), "y", validation=linear_table(20))
    assert not (tmp_path / "run.json").exists()


def test_too_few_rows_train_the_linear_network_and_say_why() -> None:
    with pytest.warns(DataNote) as notes:
        model = TabularModel()
        model.fit(linear_table(MIN_ROWS - 1), "y")
    reason = (
        f"nothing chosen: {MIN_ROWS - 1} training rows, fewer than the {MIN_ROWS} a choice needs; "
        "trained hidden [10, 25] identity"
    )
    assert [str(note.message) for note in notes] == [reason]
    assert model.selection is not None and model.selection.reason == reason and model.selection.chosen == LINEAR
    assert model.network.layer_sizes == [5, 10, 25, 1]


def test_a_diverging_candidate_is_dropped_with_a_note_and_never_chosen() -> None:
    wild = Candidate(name="wild", hidden=[4], activation="relu", init="he", learning_rate=1e300)
    model = TabularModel(candidates=[wild, LINEAR])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(curved_table(80), "y")
    selection = model.selection
    assert selection is not None and selection.chosen == LINEAR
    dropped = selection.scores[0]
    assert dropped.loss is None and dropped.note is not None and dropped.note.startswith("dropped: ")
    assert "dropped" in selection.table()
    assert (
        selection.reason
        == "chose 'linear' (hidden [10, 25] identity): the lowest loss out of fold; refit on all 80 rows"
    )


# --------------------------------------------------------------------------- #
# The scikit-learn estimators choose alike
# --------------------------------------------------------------------------- #


def test_the_estimators_choose_unless_given_a_network_or_training_parameters() -> None:
    from glassnet.sklearn import GlassnetClassifier, GlassnetRegressor

    table = curved_table(150)
    X, y = table[["a", "b"]].to_numpy(), table["y"].to_numpy()
    chosen = GlassnetRegressor(random_state=0).fit(X, y)
    assert chosen.selection_.chosen == RELU_AVERAGE and chosen.network_.layer_sizes == [2, FOLDS * 64, FOLDS * 64, 1]
    assert chosen.score(X, y) > 0.9
    labels = GlassnetClassifier(random_state=0).fit(X, y > np.median(y))
    assert labels.selection_.was_chosen and labels.network_.head == "sigmoid"

    pinned = GlassnetRegressor((8,), "tanh", epochs=5, random_state=0).fit(X, y)
    assert pinned.selection_.reason == "nothing chosen: the network was given; trained hidden [8] tanh as told"
    settings_only = GlassnetRegressor(epochs=5, l2=0.1, random_state=0).fit(X, y)
    assert settings_only.network_.layer_sizes == [2, 32, 1] and settings_only.network_.activation == "relu"
    assert settings_only.selection_.reason == (
        "nothing chosen: training parameters were given (epochs, l2); trained hidden [32] relu with them "
        "(leave them at their defaults to let the estimator choose its network)"
    )
    widths_only = GlassnetRegressor((7,), epochs=5, random_state=0).fit(X, y)
    assert widths_only.network_.activation == "relu", "what the estimators trained before they chose"
    small = GlassnetRegressor(random_state=0).fit(X[:20], y[:20])
    assert small.selection_.chosen == LINEAR and small.network_.layer_sizes == [2, 10, 25, 1]
    assert small.selection_.reason.startswith("nothing chosen: 20 training rows, fewer than the 50")
