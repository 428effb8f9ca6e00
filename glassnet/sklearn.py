"""scikit-learn estimators backed by a glassnet ``Network``: pipelines, cross-validation, searches.

``GlassnetRegressor`` and ``GlassnetClassifier`` follow scikit-learn's conventions (parameters
stored as given, learned attributes ending in ``_``) and pass its ``check_estimator`` on
glassnet's own input checks: ``X`` goes to ``check_matrix``, ``Network.fit`` and
``Network.predict`` as given, and their messages are the ones a user sees. What the adapter
adds is what scikit-learn expects of an estimator and glassnet does not do: class labels of
any kind for the classifier, and a standardized target for the regressor. A ``fit`` is all
or nothing: one that raises leaves the estimator exactly as it was.

After ``fit`` the glassnet objects are there to inspect: ``network_`` (the ``Network``, with
``params``, ``gradients`` and ``gradient_check``) and ``history_`` (its ``TrainingHistory``).

Column names are scikit-learn's: a fit on a DataFrame records ``feature_names_in_``, and
predicting on other names, or on the same names in another order, is refused rather than
answered column by position; names on one side only get scikit-learn's warning.

Needs scikit-learn (``pip install scikit-learn``, or the extra ``pip install 'glassnet[sklearn]'``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Self

import numpy as np
import numpy.typing as npt

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import Tags, assert_all_finite
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as error:  # the estimators subclass scikit-learn's: nothing here works without it
    raise ImportError(
        "glassnet.sklearn needs scikit-learn: pip install scikit-learn (or pip install 'glassnet[sklearn]')"
    ) from error

from glassnet.encoding import Standardizer
from glassnet.fields import FloatArray, float_array
from glassnet.functions import Activation, Head
from glassnet.network import Init, Network, check_data, check_matrix
from glassnet.optim import Adam, OptimizerName
from glassnet.records import TrainingHistory
from glassnet.rules import optional_seed, positive_int
from glassnet.selection import CANDIDATES, Candidate, Selection, choose, too_few, unchosen
from glassnet.settings import TrainingOptions, TrainingSettings

ESTIMATOR_OPTIMIZER = Adam()
ESTIMATOR_TRAINING = TrainingSettings(epochs=200, optimizer=ESTIMATOR_OPTIMIZER)
"""How the estimators train a network given (`GIVEN`'s, when only training parameters are): Adam,
full batch, 200 epochs. With one hidden layer of 32 relu units this fits a few thousand rows in a fraction of a
second, and in 5-fold cross-validation on scikit-learn's small tables scores within about a point of accuracy of
its ``MLPClassifier`` defaults (iris, wine, breast cancer, digits) and above ``MLPRegressor``'s (diabetes,
Friedman #1), in several times less time; but it overfits small tables (CPS1985 R^2 0.00 +- 0.27), which is
why the estimators choose their network unless given one."""
_TRAINING_PARAMETERS = ("optimizer", "learning_rate", "epochs", "batch_size", "l2")
GIVEN = Candidate(name="given", hidden=[32], activation="relu", init="he")
"""The network of an estimator told something and not the rest: ``hidden_layer_sizes`` left out is one layer of 32,
``activation`` relu, as the estimators trained before they chose, so that code giving either trains as it did."""


def _hidden_sizes(value: object) -> list[int]:
    """``hidden_layer_sizes`` as a list of widths; empty means no hidden layer (a linear or logistic model)."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"hidden_layer_sizes: expected a sequence of positive integers such as (32,), got {value!r}")
    return [positive_int(size, "hidden_layer_sizes") for size in value]


def _required(y: object, estimator: BaseEstimator) -> object:
    """``y`` unless it is ``None``: supervised estimators need a target (scikit-learn's wording)."""
    if y is None:
        raise ValueError(f"y: {type(estimator).__name__} requires y to be passed, but the target y is None")
    return y


class _GlassnetEstimator(BaseEstimator):  # type: ignore[misc]  # scikit-learn has no type hints
    """The parameters and the training call the regressor and the classifier share.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, optional
        Widths of the hidden layers, input to output; ``()`` for none. With it, ``activation``
        and the training parameters all left at their defaults, ``fit`` chooses the network on
        its rows (`glassnet.selection.choose`, among `glassnet.selection.CANDIDATES`); given any
        of them, nothing is chosen (``None`` is then ``(32,)``, `GIVEN`'s) and ``selection_`` says so.
    activation : {"relu", "leaky_relu", "tanh", "sigmoid", "identity"} or str, optional
        Hidden activation, shared by every hidden layer (or one added with ``register_activation``);
        ``None`` with a network given: ``"relu"``, `GIVEN`'s.
    init : {"he", "xavier", "normal"}, optional
        Weight initialization of a network given; ``None`` takes the one derived for the activation:
        He for relu and leaky_relu, Xavier otherwise.
    optimizer, learning_rate, epochs, batch_size, l2
        The `TrainingSettings` of these names (``learning_rate=None``: the optimizer's
        default) for a network given; unset, those of `ESTIMATOR_TRAINING`.
    random_state : int, optional
        Seeds initialization and shuffling (``Network(seed=...)``); ``None`` draws fresh entropy.

    Scale ``X`` first (a ``StandardScaler`` in the pipeline), as for any network; the
    regressor standardizes its target itself. A column that is 0 in every row of the
    training ``X`` (a constant one, once scaled) gets zero weights: training never moves
    them, so its values at prediction time change nothing.
    """

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] | None = None,
        activation: Activation | str | None = None,
        *,
        init: Init | None = None,
        optimizer: OptimizerName = ESTIMATOR_OPTIMIZER.kind,
        learning_rate: float | None = None,
        epochs: int = ESTIMATOR_TRAINING.epochs,
        batch_size: int | None = ESTIMATOR_TRAINING.batch_size,
        l2: float = ESTIMATOR_TRAINING.l2,
        random_state: int | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.random_state = random_state

    @contextmanager
    def _all_or_nothing(self) -> Iterator[None]:
        """The body of a ``fit``: if it raises, every attribute is put back as it was, then the error goes on.

        So a failed fit (bad data, a diverged training, an interrupt) leaves no new ``network_``
        beside an old ``classes_`` or ``target_scaler_``, and on a first fit nothing that makes
        ``check_is_fitted`` pass.
        """
        before = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_inputs(self, X: npt.ArrayLike) -> FloatArray:
        """``X`` for ``fit`` as a float64 (n, n_features) array, its column names recorded (scikit-learn's rule).

        Both are checked before any training: the shape by `check_matrix`, the names by
        ``validate_data``, which sets ``feature_names_in_`` (or removes it).
        """
        array = float_array(X, "X")
        check_matrix(array, "X")
        validate_data(self, X, reset=True, skip_check_array=True, ensure_2d=False)
        return array

    def _unchosen(self, n_rows: int) -> Selection | None:
        """Why ``fit`` on ``n_rows`` rows chooses nothing, as the record it keeps; ``None`` when it chooses."""
        defaults = _GlassnetEstimator().get_params()
        given = [name for name in ("hidden_layer_sizes", "activation") if getattr(self, name) is not None]
        trained = [name for name in _TRAINING_PARAMETERS if getattr(self, name) != defaults[name]]
        if not given and not trained:
            return too_few(n_rows)
        hidden = _hidden_sizes(GIVEN.hidden if self.hidden_layer_sizes is None else self.hidden_layer_sizes)
        activation = self.activation or GIVEN.activation
        network = f"hidden {hidden} {activation}"
        why = f"nothing chosen: the network was given; trained {network} as told"
        if not given:
            why = (
                f"nothing chosen: training parameters were given ({', '.join(trained)}); trained {network} with "
                "them (leave them at their defaults to let the estimator choose its network)"
            )
        return unchosen(Candidate(name="given", hidden=hidden, activation=activation), n_rows, why)

    def _train(self, X: FloatArray, targets: npt.ArrayLike, head: Head, n_outputs: int) -> None:
        """Build a network for ``X`` (n, n_features) from `_fit_inputs` and ``n_outputs``, train it on ``targets``,
        or choose it (`_unchosen`).

        ``Network.fit`` checks ``targets``; the network, its history, ``selection_`` and
        ``n_features_in_`` are set once it has succeeded.
        """
        n_features, seed = X.shape[1], optional_seed(self.random_state, "random_state")
        selection = self._unchosen(len(X))
        if selection is None:
            Y = check_data(Network([n_features, n_outputs], head=head), X, targets)[1]
            choice = choose(X, Y, head=head, n_outputs=n_outputs, seed=seed, candidates=CANDIDATES)
            self.network_, self.history_, self.selection_ = choice.network, choice.history, choice.selection
            self.n_features_in_ = n_features
            return
        activation = selection.chosen.activation
        init = self.init if self.init is not None else "he" if activation in ("relu", "leaky_relu") else "xavier"
        network = Network(
            [n_features, *selection.chosen.hidden, n_outputs],
            activation=activation,
            head=head,
            init=init,
            seed=seed,
        )
        # a column that is 0 on every row (a constant one after a StandardScaler) sends no gradient to its
        # weights: they start at 0 rather than at random, so that no prediction depends on them
        network.params[0].weights[~X.any(axis=0)] = 0.0
        training = {name: value for name, value in self.get_params().items() if name in TrainingOptions.__annotations__}
        settings = TrainingSettings.of(ESTIMATOR_TRAINING, **training)
        history = network.fit(X, targets, settings=settings)
        self.network_, self.history_, self.n_features_in_ = network, history, n_features
        self.selection_ = selection

    def _named_inputs(self, X: npt.ArrayLike) -> npt.ArrayLike:
        """``X`` for a fitted estimator, its column names checked against those ``fit`` saw (scikit-learn's rule)."""
        check_is_fitted(self)
        validate_data(self, X, reset=False, skip_check_array=True, ensure_2d=False)
        return X


class GlassnetRegressor(RegressorMixin, _GlassnetEstimator):  # type: ignore[misc]
    """A glassnet network with the identity head and mean squared error, as a scikit-learn regressor.

    The target is standardized inside ``fit`` (``target_scaler_`` holds its mean and scale)
    and predictions are turned back into its units, so raw prices or temperatures train as
    well as z-scores. ``y`` of shape (n,) predicts (n,); (n, k) predicts (n, k).

    Attributes
    ----------
    network_ : Network
        The trained network; it maps ``X`` to the standardized target.
    history_ : TrainingHistory
        One record per epoch: loss and per-layer gradient norms (a chosen network's: its first member's).
    selection_ : Selection
        How the network came to be: the candidates' scores and the winner, or why nothing was chosen.
    target_scaler_ : Standardizer
        The target's per-column ``mean`` and ``scale`` (k,).
    n_features_in_ : int
        Columns of ``X`` seen in ``fit``.
    feature_names_in_ : ndarray (n_features,)
        ``X``'s column names, when ``fit`` was given a DataFrame with string names.
    """

    network_: Network
    history_: TrainingHistory
    selection_: Selection
    n_features_in_: int
    target_scaler_: Standardizer

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train on ``X`` (n, n_features) and ``y`` (n,) or (n, k) in its own units; returns ``self``."""
        with self._all_or_nothing():
            X_array = self._fit_inputs(X)
            target = float_array(_required(y, self), "y")
            one_column = target.ndim == 1
            columns = target[:, None] if one_column else target
            try:
                scaler = Standardizer.fit(columns)
            except ValueError as error:  # its messages name its argument, which here is y
                raise ValueError(str(error).replace("values:", "y:", 1)) from None
            standardized = scaler.transform(columns)
            # in y's own shape, so that glassnet's messages about it show what the user gave
            self._train(X_array, standardized[:, 0] if one_column else standardized, "identity", columns.shape[1])
            self.target_scaler_, self._one_column_target = scaler, one_column
        return self

    def predict(self, X: npt.ArrayLike) -> FloatArray:
        """Predictions for ``X`` (n, n_features) in the target's units: (n,), or (n, k) for a 2-D target."""
        X = self._named_inputs(X)
        standardized = self.network_.predict(X)
        prediction = self.target_scaler_.inverse_transform(standardized)
        return prediction[:, 0] if self._one_column_target else prediction

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class GlassnetClassifier(ClassifierMixin, _GlassnetEstimator):  # type: ignore[misc]
    """A glassnet network as a scikit-learn classifier, for labels of any kind.

    Two classes train a sigmoid head with binary cross-entropy; more train a softmax head
    with cross-entropy. Labels are whatever ``y`` holds (strings, integers, booleans...):
    ``classes_`` lists them sorted, and the network sees each one's index in it.

    Attributes
    ----------
    network_ : Network
        The trained network; its outputs are the probabilities of ``classes_[1]`` (binary)
        or of each class in ``classes_`` order.
    history_ : TrainingHistory
        One record per epoch: loss and per-layer gradient norms (a chosen network's: its first member's).
    selection_ : Selection
        How the network came to be: the candidates' scores and the winner, or why nothing was chosen.
    classes_ : ndarray (n_classes,)
        The distinct labels of ``y``, sorted.
    n_features_in_ : int
        Columns of ``X`` seen in ``fit``.
    feature_names_in_ : ndarray (n_features,)
        ``X``'s column names, when ``fit`` was given a DataFrame with string names.
    """

    network_: Network
    history_: TrainingHistory
    selection_: Selection
    n_features_in_: int
    classes_: np.ndarray

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train on ``X`` (n, n_features) and labels ``y`` (n,) of at least two classes; returns ``self``."""
        with self._all_or_nothing():
            X_array = self._fit_inputs(X)
            labels = column_or_1d(_required(y, self), warn=True)
            assert_all_finite(labels, input_name="y")
            check_classification_targets(labels)
            classes, codes = np.unique(labels, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f"y: expected at least 2 classes, got {len(classes)} class(es): {classes.tolist()}")
            binary = len(classes) == 2
            self._train(X_array, codes, "sigmoid" if binary else "softmax", 1 if binary else len(classes))
            self.classes_ = classes
        return self

    def predict_proba(self, X: npt.ArrayLike) -> FloatArray:
        """Class probabilities for ``X`` (n, n_features): (n, n_classes), columns in ``classes_`` order."""
        X = self._named_inputs(X)
        probabilities = self.network_.forward(X)
        if len(self.classes_) == 2:
            return np.hstack([1.0 - probabilities, probabilities])
        return probabilities

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """The most probable label of each row of ``X`` (n, n_features): (n,), from ``classes_``."""
        X = self._named_inputs(X)
        codes: npt.NDArray[np.int64] = self.network_.predict(X)
        return self.classes_[codes]


__all__ = ["GlassnetClassifier", "GlassnetRegressor"]
