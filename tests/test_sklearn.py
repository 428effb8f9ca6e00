"""The scikit-learn estimators: scikit-learn's own checks, pipelines, labels of any kind, and the glassnet inside."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet import Network, TrainingHistory, gradient_check, make_housing
from glassnet.sklearn import GlassnetClassifier, GlassnetRegressor

REPO_ROOT = Path(__file__).resolve().parent.parent

# The defaults, and a deeper, minibatch, momentum and L2 configuration of each.
CHECKED = [
    GlassnetRegressor(),
    GlassnetClassifier(),
    GlassnetRegressor((16, 16), "tanh", optimizer="momentum", batch_size=16, epochs=100, l2=1e-4),
    GlassnetClassifier((16, 16), "leaky_relu", batch_size=16, epochs=50, l2=1e-4),
]


@parametrize_with_checks(CHECKED)  # type: ignore[untyped-decorator]  # scikit-learn has no type hints
def test_scikit_learn_estimator_checks(
    estimator: BaseEstimator, check: Callable[[BaseEstimator], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # scikit-learn's array-API check (with the NumPy namespace) skips itself unless this is set
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


def test_pipeline_cross_validation(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    model = make_pipeline(StandardScaler(), GlassnetClassifier((32,), "relu", random_state=0))

    scores = cross_val_score(model, X, species, cv=StratifiedKFold(5, shuffle=True, random_state=0))

    assert scores.shape == (5,)
    assert scores.min() >= 0.85, scores


def test_string_labels_round_trip_with_probabilities_in_classes_order(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    model = GlassnetClassifier(random_state=0).fit(X, species)

    predicted = model.predict(X)
    probabilities = model.predict_proba(X)

    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert set(predicted) <= set(species)
    assert model.score(X, species) >= 0.95
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (model.classes_[probabilities.argmax(axis=1)] == predicted).all()
    assert model.network_.head == "softmax"
    assert model.selection_.was_chosen, "the default estimator chooses its network"
    assert model.network_.layer_sizes[0] == 4 and model.network_.layer_sizes[-1] == 3


@pytest.mark.parametrize(
    ("labels", "expected_classes"),
    [
        (np.array([False, True]), [False, True]),
        (np.array(["no", "yes"], dtype=object), ["no", "yes"]),
        (np.array([-1, 7]), [-1, 7]),
    ],
)
def test_two_classes_of_any_kind_use_the_sigmoid_head(labels: np.ndarray, expected_classes: list[Any]) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = labels[(X[:, 0] + X[:, 1] > 0).astype(int)]

    model = GlassnetClassifier(random_state=0).fit(X, y)
    probabilities = model.predict_proba(X)

    assert model.classes_.tolist() == expected_classes
    assert model.network_.head == "sigmoid"
    assert model.network_.layer_sizes[-1] == 1
    assert probabilities.shape == (80, 2)
    np.testing.assert_array_equal(probabilities[:, 1], model.network_.forward(X)[:, 0])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert model.score(X, y) >= 0.95
    assert model.predict(X).dtype == y.dtype


def test_the_network_and_its_history_are_there_to_inspect(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    X = StandardScaler().fit_transform(X)
    model = GlassnetClassifier((8,), "tanh", epochs=30, random_state=0).fit(X, species)

    assert isinstance(model.network_, Network)
    assert isinstance(model.history_, TrainingHistory)
    assert [record.epoch for record in model.history_.records] == list(range(1, 31))
    assert model.history_.records[-1].loss < model.history_.records[0].loss
    codes = np.searchsorted(model.classes_, species)
    record = model.network_.gradients(X, codes)
    assert [layer.weights.shape for layer in record.layers] == [(4, 8), (8, 3)]
    assert record.loss == pytest.approx(model.network_.loss(X, codes))
    assert gradient_check(model.network_, X[:20], codes[:20]).passed


def test_the_regressor_trains_on_raw_units() -> None:
    houses = make_housing(2_000, seed=0)
    X = StandardScaler().fit_transform(houses.drop(columns="price"))
    price = houses["price"].to_numpy()

    model = GlassnetRegressor(random_state=0).fit(X, price)
    predicted = model.predict(X)

    assert predicted.shape == (2_000,)
    assert model.score(X, price) >= 0.98
    assert np.sqrt(np.mean((predicted - price) ** 2)) < 20_000  # dollars; the noise alone is 10,000
    assert model.target_scaler_.mean[0] == pytest.approx(price.mean())
    assert model.target_scaler_.scale[0] == pytest.approx(price.std())
    standardized = (price - price.mean()) / price.std()
    assert model.network_.loss(X, standardized) < 0.05  # the network itself works in z-scores


def test_the_regressor_keeps_the_target_shape() -> None:
    X, Y = make_regression(n_samples=60, n_features=4, n_targets=2, random_state=0)
    model = GlassnetRegressor(random_state=0)

    assert model.fit(X, Y).predict(X).shape == (60, 2)
    assert model.network_.layer_sizes[-1] == 2
    assert model.fit(X, Y[:, :1]).predict(X).shape == (60, 1)
    assert model.fit(X, Y[:, 0]).predict(X).shape == (60,)


def test_pickle_round_trip_predicts_identically(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    classifier = GlassnetClassifier(random_state=0).fit(X, species)
    regressor = GlassnetRegressor(random_state=0).fit(X[:, :3], X[:, 3])

    classifier_copy, regressor_copy = pickle.loads(pickle.dumps((classifier, regressor)))

    np.testing.assert_array_equal(classifier_copy.predict(X), classifier.predict(X))
    np.testing.assert_array_equal(classifier_copy.predict_proba(X), classifier.predict_proba(X))
    np.testing.assert_array_equal(regressor_copy.predict(X[:, :3]), regressor.predict(X[:, :3]))


def test_random_state_makes_fits_repeatable(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    model = GlassnetClassifier(batch_size=16, epochs=20, random_state=3)

    first = clone(model).fit(X, species).predict_proba(X)
    second = clone(model).fit(X, species).predict_proba(X)
    other_seed = clone(model).set_params(random_state=4).fit(X, species).predict_proba(X)

    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other_seed)


def test_no_hidden_layer_is_logistic_regression(iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, species = iris
    model = GlassnetClassifier(hidden_layer_sizes=(), random_state=0).fit(StandardScaler().fit_transform(X), species)

    assert model.network_.layer_sizes == [4, 3]


def test_init_follows_the_activation_unless_given() -> None:
    X, y = np.eye(4), np.arange(4.0)
    he = GlassnetRegressor((200,), "relu", epochs=1, learning_rate=1e-12, random_state=0).fit(X, y)
    xavier = GlassnetRegressor((200,), "tanh", epochs=1, learning_rate=1e-12, random_state=0).fit(X, y)
    given = GlassnetRegressor((200,), "relu", init="xavier", epochs=1, learning_rate=1e-12, random_state=0).fit(X, y)

    # first-layer weights: standard deviation sqrt(2 / n_in) = 0.71 (He), sqrt(2 / (n_in + n_out)) = 0.10 (Xavier)
    assert np.std(he.network_.params[0].weights) == pytest.approx(0.71, abs=0.05)
    assert np.std(xavier.network_.params[0].weights) == pytest.approx(0.10, abs=0.01)
    assert np.std(given.network_.params[0].weights) == pytest.approx(0.10, abs=0.01)


@pytest.mark.parametrize("Estimator", [GlassnetRegressor, GlassnetClassifier])
def test_glassnet_messages_reach_the_user(Estimator: type[BaseEstimator]) -> None:
    X, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1])

    with pytest.raises(ValueError, match=r"^epochs: expected a positive integer, got 0$"):
        Estimator(epochs=0).fit(X, y)
    with pytest.raises(ValueError, match=r"^learning_rate: expected a positive finite number, got -1"):
        Estimator(learning_rate=-1.0).fit(X, y)
    with pytest.raises(ValueError, match=r"^activation: expected one of \["):
        Estimator(activation="swish").fit(X, y)
    with pytest.raises(TypeError, match=r"^X: expected an array of numbers, got text in an object array"):
        Estimator().fit(np.array([[1, "a"]] * 4, dtype=object), y)
    with pytest.raises(ValueError, match=r"^y: expected 4 rows to match X, got shape \(3,\)$"):
        Estimator().fit(X, y[:3])
    model = Estimator(epochs=5).fit(X, y)
    with pytest.raises(ValueError, match=r"^X has 2 features, but Network is expecting 3 features as input"):
        model.predict(X[:, :2])


@pytest.mark.parametrize("Estimator", [GlassnetRegressor, GlassnetClassifier])
def test_the_adapters_own_checks_name_the_argument(Estimator: type[BaseEstimator]) -> None:
    X, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 0, 1])

    with pytest.raises(ValueError, match=r"^y: Glassnet\w+ requires y to be passed, but the target y is None$"):
        Estimator().fit(X, None)
    with pytest.raises(TypeError, match=r"^hidden_layer_sizes: expected a sequence of positive integers"):
        Estimator(hidden_layer_sizes=32).fit(X, y)
    with pytest.raises(ValueError, match=r"^hidden_layer_sizes: expected a positive integer, got 0$"):
        Estimator(hidden_layer_sizes=(8, 0)).fit(X, y)
    with pytest.raises(TypeError, match=r"^random_state: expected an integer >= 0, got"):
        Estimator(random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(NotFittedError):
        Estimator().predict(X)


def test_a_failed_fit_leaves_the_estimator_unfitted() -> None:
    model = GlassnetRegressor()

    with pytest.raises(ValueError, match="expected finite values"):
        model.fit(np.array([[1.0], [np.nan]]), [1.0, 2.0])

    assert not hasattr(model, "n_features_in_")
    assert not hasattr(model, "network_")


def fit_data(estimator: BaseEstimator, n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (40, 2) and a target for ``estimator``: labels of ``n_classes`` classes, or numbers on that scale."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 2))
    if isinstance(estimator, GlassnetRegressor):
        return X, rng.normal(scale=float(n_classes), size=40)
    return X, np.array(["a", "b", "c"])[np.arange(40) % n_classes]


def mixed_names(X: np.ndarray) -> pd.DataFrame:
    """``X`` under column names that are not all strings, which scikit-learn refuses."""
    return pd.DataFrame(X, columns=["x", 1])


@pytest.mark.parametrize("estimator", [GlassnetRegressor(epochs=5), GlassnetClassifier(epochs=5)], ids=type)
def test_a_failed_refit_leaves_the_estimator_as_it_was(estimator: BaseEstimator) -> None:
    model = clone(estimator).fit(*fit_data(estimator, 3, seed=0))
    before = dict(vars(model))
    X_test = np.random.default_rng(1).normal(size=(5, 2))
    predicted = model.predict(X_test)
    X, y = fit_data(estimator, 2, seed=2)  # another target: two classes, or another scale

    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string names"):
        model.fit(mixed_names(X), y)
    with pytest.raises(ValueError, match=r"^y: expected 40 rows to match X, got shape \(39,\)$"):
        model.fit(pd.DataFrame(X, columns=["u", "v"]), y[:-1])  # refused in Network.fit, once the names are set

    assert vars(model).keys() == before.keys()
    assert all(vars(model)[name] is value for name, value in before.items())
    np.testing.assert_array_equal(model.predict(X_test), predicted)


@pytest.mark.parametrize("estimator", [GlassnetRegressor(epochs=5), GlassnetClassifier(epochs=5)], ids=type)
def test_a_failed_first_fit_leaves_the_estimator_unfitted(estimator: BaseEstimator) -> None:
    model = clone(estimator)
    X, y = fit_data(estimator, 2, seed=0)

    with pytest.raises(TypeError, match="Feature names are only supported if all input features have string names"):
        model.fit(mixed_names(X), y)

    assert vars(model) == estimator.get_params()
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_column_names_are_checked_before_training(monkeypatch: pytest.MonkeyPatch) -> None:
    trained: list[Network] = []
    monkeypatch.setattr(Network, "fit", lambda network, *args, **kwargs: trained.append(network))
    X, y = fit_data(GlassnetClassifier(), 2, seed=0)

    with pytest.raises(TypeError, match="Feature names are only supported"):
        GlassnetClassifier().fit(mixed_names(X), y)

    assert trained == []


@pytest.mark.parametrize("Estimator", [GlassnetRegressor, GlassnetClassifier])
def test_fit_refuses_inputs_that_are_not_2_d_with_the_shape_they_need(Estimator: type[BaseEstimator]) -> None:
    column, y = np.arange(4.0), np.array([0, 1, 0, 1])

    with pytest.raises(
        ValueError,
        match=r"^X: expected a 2-D array \(n_samples, n_features\), got shape \(4,\); Reshape your data: "
        r"X.reshape\(-1, 1\) if it has a single feature, X.reshape\(1, -1\) if it is a single sample$",
    ):
        Estimator().fit(column, y)
    with pytest.raises(ValueError, match=r"^X: expected a 2-D array \(n_samples, n_features\), got shape \(4, 1, 1\)$"):
        Estimator().fit(column.reshape(4, 1, 1), y)
    with pytest.raises(ValueError, match=r"^X: found array with 0 feature\(s\) \(shape=\(4, 0\)\)"):
        Estimator().fit(np.empty((4, 0)), y)
    model = Estimator(epochs=2).fit(column.reshape(-1, 1), y)  # the first advice, followed
    with pytest.raises(ValueError, match=r"^X: expected a 2-D array \(n_samples, 1\), got shape \(4,\); Reshape"):
        model.predict(column)


def test_regressor_target_errors_name_y() -> None:
    X = np.ones((3, 2))

    with pytest.raises(ValueError, match=r"^y: expected finite numbers, got NaN or infinity$"):
        GlassnetRegressor().fit(X, [1.0, np.inf, 2.0])
    with pytest.raises(TypeError, match=r"^y: expected a numeric array, got dtype <U1$"):
        GlassnetRegressor().fit(X, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"^y: expected at least one column, got 0$"):
        GlassnetRegressor().fit(X, np.empty((3, 0)))


def test_classifier_target_errors() -> None:
    X = np.ones((4, 2))

    with pytest.raises(ValueError, match=r"^Unknown label type: continuous"):
        GlassnetClassifier().fit(X, [0.5, 1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match=r"^y: expected at least 2 classes, got 1 class\(es\): \['a'\]$"):
        GlassnetClassifier().fit(X, ["a"] * 4)
    with pytest.raises(ValueError, match=r"y should be a 1d array, got an array of shape \(4, 2\)"):
        GlassnetClassifier().fit(X, np.eye(4)[:, :2])


def test_importing_without_scikit_learn_says_what_to_install() -> None:
    code = "import sys; sys.modules['sklearn'] = None; import glassnet; glassnet.GlassnetClassifier"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        "ImportError: glassnet.sklearn needs scikit-learn: pip install scikit-learn "
        "(or pip install 'glassnet[sklearn]')"
    )


@pytest.mark.parametrize("estimator", [GlassnetRegressor(epochs=5), GlassnetClassifier(epochs=5)], ids=type)
def test_column_names_are_checked_as_scikit_learn_does(estimator: BaseEstimator) -> None:
    houses = make_housing(60, seed=1)
    X = houses.drop(columns="price")
    y = houses["price"] if isinstance(estimator, GlassnetRegressor) else houses["price"] > houses["price"].median()
    model = clone(estimator).fit(X, y)

    assert model.feature_names_in_.tolist() == X.columns.tolist()
    np.testing.assert_array_equal(model.predict(X), model.predict(X[list(X.columns)]))
    with pytest.raises(ValueError, match="same order"):  # answered by position, every row would change
        model.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="unseen at fit time"):
        model.predict(X.rename(columns={"bedrooms": "rooms"}))
    with pytest.warns(UserWarning, match="fitted with feature names"):
        model.predict(X.to_numpy())
    unnamed = clone(estimator).fit(X.to_numpy(), y)
    assert not hasattr(unnamed, "feature_names_in_")
    with pytest.warns(UserWarning, match="fitted without feature names"):
        unnamed.predict(X)


@pytest.mark.parametrize("estimator", [GlassnetRegressor(epochs=20), GlassnetClassifier(epochs=20)], ids=type)
def test_a_column_constant_in_training_changes_no_prediction(estimator: BaseEstimator) -> None:
    """Scaled, a constant column is 0 on every training row: its weights got no gradient and kept random values."""
    X, y = make_regression(80, 3, random_state=0)
    X[:, 1] = 2024.0  # a year, the same in every training row
    labels = y if isinstance(estimator, GlassnetRegressor) else y > 0
    model = make_pipeline(StandardScaler(), clone(estimator).set_params(random_state=3)).fit(X, labels)
    next_year = X.copy()
    next_year[:, 1] = 2025.0

    fitted = model[-1]
    assert (fitted.network_.params[0].weights[1] == 0).all()
    if isinstance(fitted, GlassnetRegressor):
        np.testing.assert_array_equal(model.predict(next_year), model.predict(X))
    else:
        np.testing.assert_array_equal(model.predict_proba(next_year), model.predict_proba(X))
