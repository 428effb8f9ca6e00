"""The diagnosis on labeled runs: no finding on a healthy run, the finding of its problem on a problem run.

Every label is proved by a measure of its own, taken on the trained network and its data, not read from
the records the diagnosis reads: for a healthy run its R^2 or accuracy and its loss against the constant
prediction's; for a problem run the problem itself (dead or saturated shares over every training row by a
forward pass written here, gradient ratios of a fresh network, the inputs' columns, validation rising while
the training loss falls, each measured by ``Network.loss``), or a cure that works where the run failed.
A failing case prints its measure beside the diagnosis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
import numpy.typing as npt
import pytest
from test_health import forward_health

from examples.two_moons import make_moons
from glassnet import (
    EpochRecord,
    Finding,
    Head,
    Network,
    TrainingHistory,
    get_data,
    make_housing,
)
from glassnet.diagnosis import FindingKind

FloatArray = npt.NDArray[np.float64]
Proof = tuple[bool, str]

REGRESSION = get_data(300, seed=0)
BINARY = get_data(300, seed=0, task="binary")
MULTICLASS = get_data(300, seed=0, task="multiclass")
RAW_HOUSING = make_housing(300, seed=0)[["size_sqft", "bedrooms", "age_years", "distance_km"]].to_numpy(float)
XOR = (np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1, 0]))


def separable(n: int = 200) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Points (n, 2) and the side of a line through 0 they fall on: a margin a classifier can grow forever."""
    X = np.random.default_rng(0).normal(size=(n, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def rings(n: int = 400) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    """Two concentric rings (n, 2) and which ring: no straight line separates them."""
    rng = np.random.default_rng(0)
    ring = rng.integers(0, 2, n)
    radius = np.where(ring == 1, 0.5, 1.0) + rng.normal(0.0, 0.1, n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), ring


# --------------------------------------------------------------------------- #
# Runs, and the measures that prove their labels
# --------------------------------------------------------------------------- #


@dataclass
class Run:
    """A trained ``network``, its training data, its ``history``, and what ``watched`` measured after each
    recorded epoch: (epoch, training loss, validation loss) by ``Network.loss``."""

    network: Network
    X: FloatArray
    y: np.ndarray
    history: TrainingHistory
    fresh: Network
    settings: dict[str, Any]
    watched: list[tuple[int, float, float]] = field(default_factory=list)


def train(
    sizes: list[int],
    data: tuple[FloatArray, np.ndarray],
    *,
    activation: str = "relu",
    head: Head = "identity",
    init: Any = None,
    before: Callable[[Network], None] | None = None,
    watch: tuple[FloatArray, np.ndarray] | None = None,
    **settings: Any,
) -> Run:
    """Train a seeded network on ``data``; ``before`` edits it first; ``watch`` is validation data measured
    after every recorded epoch with ``Network.loss`` (and given to ``fit`` as ``validation_data``)."""
    X, y = data
    init = init or ("he" if activation in ("relu", "leaky_relu") else "xavier")

    def build() -> Network:
        net = Network(sizes, activation=activation, head=head, init=init, seed=0)
        if before is not None:
            before(net)
        return net

    net, watched = build(), []

    def measure(record: EpochRecord) -> None:
        if watch is not None:
            watched.append((record.epoch, net.loss(X, y), net.loss(*watch)))

    history = net.fit(X, y, validation_data=watch, on_record=measure, **settings)
    return Run(net, X, y, history, build(), settings, watched)


def constant_loss(head: Head, y: np.ndarray) -> float:
    """The loss of the best constant prediction, computed here: the variance, or the labels' entropy."""
    if head == "identity":
        return float(np.mean(np.var(y.reshape(len(y), -1), axis=0)))
    frequencies = np.bincount(y.astype(np.int64)) / len(y)
    frequencies = frequencies[frequencies > 0]
    return float(-np.sum(frequencies * np.log(frequencies)))


def learned(run: Run, at_least: float = 0.9) -> Proof:
    """Healthy: R^2 (regression) or accuracy (classifiers) of at least ``at_least``."""
    score = run.network.score(run.X, run.y)
    share = run.network.loss(run.X, run.y) / constant_loss(run.network.head, run.y)
    what = "R^2" if run.network.head == "identity" else "accuracy"
    return score >= at_least, f"{what} {score:.4f}, loss {share:.2%} of the constant prediction's"


def dead_over_all_rows(run: Run) -> Proof:
    """Dead units: some hidden layer with half its units off on every training row."""
    dead = [d for d, _ in forward_health(run.network, run.X)]
    return max(dead) >= 0.5, f"dead share per hidden layer over all {len(run.X)} rows: {np.round(dead, 3).tolist()}"


def saturated_while_unlearned(run: Run) -> Proof:
    """Saturation: at the start, with the loss above half the constant prediction's, and at the end, some
    hidden layer with half its unit-row pairs in the flat tails, over every training row."""
    start = [s for _, s in forward_health(run.fresh, run.X)]
    end = [s for _, s in forward_health(run.network, run.X)]
    first = run.fresh.loss(run.X, run.y) / constant_loss(run.network.head, run.y)
    holds = max(end) >= 0.5 and max(start) >= 0.5 and first >= 0.5
    return (
        holds,
        f"saturated pairs at the start {np.round(start, 2).tolist()} (loss {first:.3g} x constant), "
        f"at the end {np.round(end, 2).tolist()}",
    )


def saturated_by_steps(run: Run) -> Proof:
    """Steps too large, and saturation they cause: a learning rate 100 times smaller ends lower, and at the end
    some hidden layer has half its unit-row pairs in the flat tails over every training row."""
    _, cured = cured_with(run, learning_rate=run.settings["learning_rate"] / 100)
    end = [s for _, s in forward_health(run.network, run.X)]
    final = run.network.loss(run.X, run.y)
    return (
        cured < final and max(end) >= 0.5,
        f"final loss {final:.4g}, with lr / 100: {cured:.4g}; saturated pairs at the end {np.round(end, 2).tolist()}",
    )


def cured_with(
    run: Run, X: FloatArray | None = None, y: np.ndarray | None = None, **changes: Any
) -> tuple[Network, float]:
    """The run's fresh network trained again with ``changes`` to its settings (or on ``X``, or ``y``), and its
    final loss."""
    net = Network(run.fresh.layer_sizes, activation=run.fresh.activation, head=run.fresh.head, seed=0)
    net.parameter_vector[...] = run.fresh.parameter_vector
    X = run.X if X is None else X
    y = run.y if y is None else y
    net.fit(X, y, **{**run.settings, **changes})
    return net, net.loss(X, y)


def vanishing_at_the_start(run: Run) -> Proof:
    """Vanishing: the fresh network's first-layer gradient (``Network.gradients``) under 1e-3 of the output layer's."""
    norms = run.fresh.gradients(run.X, run.y).norms
    return norms[0] / norms[-1] < 1e-3, f"fresh gradient norms per layer {np.array(norms).round(8).tolist()}"


def exploding_at_the_start(run: Run) -> Proof:
    """Exploding: the fresh network's loss above 1,000 times the constant prediction's."""
    share = run.fresh.loss(run.X, run.y) / constant_loss(run.network.head, run.y)
    return share > 1e3, f"fresh loss {share:.3g} times the constant prediction's"


def exploding_backwards(run: Run) -> Proof:
    """Exploding: the fresh network's first-layer gradient above 1,000 times the output layer's."""
    norms = run.fresh.gradients(run.X, run.y).norms
    return norms[0] / norms[-1] > 1e3, f"fresh gradient norms per layer {np.array(norms).round(3).tolist()}"


def cured_by_standardizing(run: Run) -> Proof:
    """Unscaled inputs: columns far from unit scale, and the same network on the standardized columns learns
    (R^2 at least 0.9) where the run did not (R^2 below 0.5)."""
    standardized = (run.X - run.X.mean(axis=0)) / run.X.std(axis=0)
    net, _ = cured_with(run, X=standardized)
    before, after = run.network.score(run.X, run.y), net.score(standardized, run.y)
    columns = f"column means {run.X.mean(axis=0).round(4).tolist()}, stds {run.X.std(axis=0).round(4).tolist()}"
    return before < 0.5 <= 0.9 <= after, f"{columns}; R^2 {before:.3f} as given, {after:.3f} standardized"


def too_small(run: Run) -> Proof:
    """Steps too small: the loss moved less than 1% while a learning rate 10,000 times larger halves it."""
    first, final = run.fresh.loss(run.X, run.y), run.network.loss(run.X, run.y)
    _, cured = cured_with(run, learning_rate=run.settings["learning_rate"] * 1e4)
    return abs(
        first - final
    ) < 0.01 * first and cured < 0.5 * final, f"loss {first:.5g} -> {final:.5g}; with lr x 1e4: {cured:.5g}"


def above_the_constant(run: Run) -> tuple[bool, float]:
    """Whether the final loss, by ``Network.loss``, is above the constant prediction's, and their ratio."""
    share = run.network.loss(run.X, run.y) / constant_loss(run.network.head, run.y)
    return share > 1.0, share


def cured_by_a_larger_step(run: Run) -> Proof:
    """Not learned, steps too small: the final loss above the constant prediction's (R^2 below 0), and the same
    network with a learning rate 500 times larger learns (R^2 at least 0.9)."""
    above, share = above_the_constant(run)
    net, _ = cured_with(run, learning_rate=run.settings["learning_rate"] * 500)
    score = net.score(run.X, run.y)
    return above and score >= 0.9, f"final loss {share:.3g} x constant; with lr x 500: R^2 {score:.4f}"


def cured_by_scaling_the_target(run: Run) -> Proof:
    """Not learned, the target unscaled: the final loss above the constant prediction's, and the same network on
    the standardized target learns (R^2 at least 0.9)."""
    above, share = above_the_constant(run)
    scaled = (run.y - run.y.mean()) / run.y.std()
    net, _ = cured_with(run, y=scaled)
    score = net.score(run.X, scaled)
    return above and score >= 0.9, f"final loss {share:.3g} x constant; target standardized: R^2 {score:.4f}"


def thrown_off_by_the_steps(run: Run) -> Proof:
    """Steps too large from the first epoch: the fresh network's loss below twice the constant prediction's, the
    final loss above it, and a tenth of the learning rate learns (R^2 at least 0.9)."""
    constant = constant_loss(run.network.head, run.y)
    fresh, (above, share) = run.fresh.loss(run.X, run.y) / constant, above_the_constant(run)
    net, _ = cured_with(run, learning_rate=run.settings["learning_rate"] / 10)
    score = net.score(run.X, run.y)
    return (
        fresh < 2 and above and score >= 0.9,
        f"fresh loss {fresh:.3g} x constant, final {share:.3g} x; with lr / 10: R^2 {score:.4f}",
    )


def at_the_constant(run: Run) -> Proof:
    """Plateau: the final loss at least 90% of the constant prediction's."""
    share = run.network.loss(run.X, run.y) / constant_loss(run.network.head, run.y)
    return share >= 0.9, f"final loss {share:.2%} of the constant prediction's"


def validation_rises(run: Run) -> Proof:
    """Overfitting: the validation loss, by ``Network.loss``, ends 10% above its best while the training loss
    is lower than at that best."""
    epoch, train_at_best, best = min(run.watched, key=lambda row: row[2])
    _, train_end, val_end = run.watched[-1]
    holds = val_end > 1.1 * best and train_end < train_at_best
    return (
        holds,
        f"validation loss {best:.4g} at epoch {epoch} -> {val_end:.4g}; "
        f"training loss {train_at_best:.4g} -> {train_end:.4g}",
    )


# --------------------------------------------------------------------------- #
# The labeled runs
# --------------------------------------------------------------------------- #


def converged_then_trained_again() -> Run:
    """The default linear network trained to convergence with Adam, then again with SGD: it has arrived."""
    run = train([4, 10, 25, 1], REGRESSION, activation="identity", epochs=150, optimizer="adam")
    run.history = run.network.fit(run.X, run.y, epochs=100)
    return run


def dead_bias(net: Network) -> None:
    net.params[0].bias[...] = -100.0  # no row reaches a positive pre-activation


X_REG, Y_REG = REGRESSION
TWO_TARGETS = (X_REG, np.column_stack([Y_REG[:, 0], -0.5 * Y_REG[:, 0]]))
MOONS = make_moons(420, noise=0.2, seed=0)
NO_SIGNAL = (MULTICLASS[0], np.random.default_rng(1).integers(0, 3, 300))  # labels drawn apart from the features


def few_noisy_rows() -> tuple[FloatArray, FloatArray]:
    """60 rows of 10 features whose target is the first feature plus as much noise: easy to memorize 30 of."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10))
    return X, X[:, 0] + rng.normal(size=60)


OVERFIT, OVERFIT_Y = few_noisy_rows()
PRICES = make_housing(300, seed=0)["price"].to_numpy(float)  # the dollars of REGRESSION's houses, unscaled

HEALTHY: dict[str, Callable[[], Run]] = {
    "linear, adam, full batch": lambda: train(
        [4, 10, 25, 1], REGRESSION, activation="identity", epochs=150, optimizer="adam"
    ),
    "relu, adam, batch_size=1": lambda: train(
        [4, 16, 16, 1], REGRESSION, epochs=8, optimizer="adam", learning_rate=0.001, batch_size=1
    ),
    "converged, trained again": converged_then_trained_again,
    "tanh, sgd, full batch": lambda: train([4, 16, 1], REGRESSION, activation="tanh", epochs=300, learning_rate=0.1),
    "labels 100 from zero, linear": lambda: train(  # starts 1e4 times the baseline: the outputs are not what is large
        [4, 1], (X_REG, Y_REG + 100.0), activation="identity", epochs=200, learning_rate=0.1
    ),
    "six relu layers, adam": lambda: train([4, 16, 16, 16, 16, 16, 1], REGRESSION, epochs=60, optimizer="adam"),
    "ten tanh layers, xavier, sgd": lambda: train([4, *[16] * 9, 1], REGRESSION, activation="tanh", epochs=200),
    "leaky relu, sgd, batch 8": lambda: train(
        [4, 16, 1], REGRESSION, activation="leaky_relu", epochs=30, learning_rate=0.01, batch_size=8
    ),
    "sigmoid hidden, adam": lambda: train(
        [4, 8, 1], REGRESSION, activation="sigmoid", epochs=200, optimizer="adam", learning_rate=0.02
    ),
    "two outputs, tanh, adam, batch 50": lambda: train(
        [4, 12, 2], TWO_TARGETS, activation="tanh", epochs=60, optimizer="adam", batch_size=50
    ),
    "patience, relu, adam": lambda: train(
        [4, 32, 1],
        (X_REG[:240], Y_REG[:240]),
        epochs=300,
        optimizer="adam",
        watch=(X_REG[240:], Y_REG[240:]),
        patience=10,
    ),
    "binary, relu, adam, batch 32": lambda: train(
        [4, 8, 1], BINARY, head="sigmoid", epochs=40, optimizer="adam", batch_size=32
    ),
    "separable to 100%, full batch": lambda: train(
        [2, 8, 1], separable(), head="sigmoid", epochs=300, optimizer="adam", learning_rate=0.05
    ),
    "separable to 100%, batch 16": lambda: train(
        [2, 8, 1], separable(), head="sigmoid", epochs=300, optimizer="adam", learning_rate=0.1, batch_size=16
    ),
    "xor, tanh, online": lambda: train(
        [2, 8, 1], XOR, activation="tanh", head="sigmoid", epochs=500, learning_rate=0.5, batch_size=1
    ),
    "softmax, tanh, momentum, batch 64": lambda: train(
        [4, 16, 3],
        MULTICLASS,
        activation="tanh",
        head="softmax",
        epochs=100,
        optimizer="momentum",
        learning_rate=0.05,
        batch_size=64,
    ),
    "softmax, relu, sgd, full batch": lambda: train(
        [4, 16, 3], MULTICLASS, head="softmax", epochs=300, learning_rate=0.5
    ),
    "two moons example, l2": lambda: train(
        [2, 16, 16, 1],
        MOONS,
        activation="tanh",
        head="sigmoid",
        epochs=300,
        learning_rate=0.01,
        optimizer="adam",
        batch_size=32,
        l2=1e-3,
    ),
}

PROBLEMS: dict[str, tuple[FindingKind, Callable[[], Run], Callable[[Run], Proof]]] = {
    "ten sigmoid layers": (
        "vanishing_gradients",
        lambda: train([4, *[16] * 9, 1], REGRESSION, activation="sigmoid", epochs=60),
        vanishing_at_the_start,
    ),
    "relu layer pushed off": (
        "dead_units",
        lambda: train([4, 16, 1], REGRESSION, before=dead_bias, epochs=20),
        dead_over_all_rows,
    ),
    "relu killed by adam at 0.1": (
        "dead_units",
        lambda: train([4, 32, 32, 1], REGRESSION, epochs=40, optimizer="adam", learning_rate=0.1),
        dead_over_all_rows,
    ),
    "ten tanh layers, init='normal'": (
        "saturated_units",
        lambda: train([4, *[32] * 9, 1], REGRESSION, activation="tanh", init="normal", epochs=200, learning_rate=0.01),
        saturated_while_unlearned,
    ),
    "tanh classifier, learning rate 100": (
        "step_too_large",
        lambda: train([4, 8, 1], BINARY, activation="tanh", head="sigmoid", epochs=100, learning_rate=100.0),
        saturated_by_steps,
    ),
    "learning rate 1e-6": (
        "step_too_small",
        lambda: train([4, 10, 25, 1], REGRESSION, activation="identity", epochs=50, learning_rate=1e-6),
        too_small,
    ),
    "sigmoid, sgd, thrown off in its first epoch": (
        "step_too_large",
        lambda: train([4, 16, 16, 1], REGRESSION, activation="sigmoid", epochs=20, learning_rate=1.5, batch_size=64),
        thrown_off_by_the_steps,
    ),
    "sgd at 1e-4, still falling above the constant": (
        "not_learned",
        lambda: train([4, 10, 25, 1], REGRESSION, activation="identity", epochs=200, learning_rate=1e-4),
        cured_by_a_larger_step,
    ),
    "adam on a target in dollars": (
        "not_learned",
        lambda: train([4, 10, 25, 1], (X_REG, PRICES), activation="identity", epochs=150, optimizer="adam"),
        cured_by_scaling_the_target,
    ),
    "relu, init='normal', outputs enormous": (
        "exploding_gradients",
        lambda: train([4, 64, 64, 64, 64, 1], REGRESSION, init="normal", epochs=10, learning_rate=1e-9),
        exploding_at_the_start,
    ),
    "twenty tanh layers, init='normal'": (
        "exploding_gradients",
        lambda: train([4, *[16] * 20, 1], REGRESSION, activation="tanh", init="normal", epochs=10, learning_rate=1e-4),
        exploding_backwards,
    ),
    "inputs on a 1e-4 scale": (
        "unscaled_inputs",
        lambda: train([4, 16, 1], (X_REG * 1e-4, Y_REG), epochs=150, optimizer="adam"),
        cured_by_standardizing,
    ),
    "inputs on a 1e4 scale": (
        "unscaled_inputs",
        lambda: train([4, 16, 1], (X_REG * 1e4, Y_REG), epochs=150, optimizer="adam"),
        cured_by_standardizing,
    ),
    "housing in raw units": (
        "unscaled_inputs",
        lambda: train([4, 16, 1], (RAW_HOUSING, Y_REG), epochs=150, optimizer="adam"),
        cured_by_standardizing,
    ),
    "linear boundary on rings": (
        "plateau",
        lambda: train(
            [2, 8, 1],
            rings(),
            activation="identity",
            head="sigmoid",
            epochs=100,
            optimizer="adam",
            learning_rate=0.02,
            batch_size=32,
        ),
        at_the_constant,
    ),
    "labels apart from the features": (
        "plateau",
        lambda: train([4, 3], NO_SIGNAL, head="softmax", epochs=100, optimizer="momentum"),
        at_the_constant,
    ),
    "wide network on 30 rows": (
        "overfitting",
        lambda: train(
            [10, 100, 100, 1],
            (OVERFIT[:30], OVERFIT_Y[:30]),
            epochs=200,
            optimizer="adam",
            watch=(OVERFIT[30:], OVERFIT_Y[30:]),
        ),
        validation_rises,
    ),
}


def described(findings: list[Finding]) -> str:
    return "\n".join(f"  {f.kind} (epoch {f.epoch}, layer {f.layer}): {f.message}" for f in findings) or "  none"


@pytest.mark.parametrize("name", HEALTHY)
def test_a_healthy_run_gets_no_finding(name: str) -> None:
    run = HEALTHY[name]()
    proved, measure = learned(run)
    assert proved, f"{name} is not healthy by its own measure: {measure}"
    findings = run.history.diagnose().findings
    assert findings == [], f"{name}: {measure}; yet the diagnosis says:\n{described(findings)}"


@pytest.mark.parametrize("name", PROBLEMS)
def test_a_problem_run_gets_the_finding_of_its_problem(name: str) -> None:
    kind, make, prove = PROBLEMS[name]
    run = make()
    proved, measure = prove(run)
    assert proved, f"{name} does not show {kind} by its own measure: {measure}"
    findings = run.history.diagnose().findings
    assert kind in {f.kind for f in findings}, f"{name}: {measure}; yet the diagnosis says:\n{described(findings)}"
    for finding in findings:  # each says by which numbers, its thresholds among them
        assert any("threshold" in name or "limit" in name for name in finding.evidence), finding


def test_the_suite_holds_enough_runs_of_each_kind_and_the_guide_counts_them() -> None:
    assert len(HEALTHY) >= 12 and len(PROBLEMS) >= 12
    assert {kind for kind, _, _ in PROBLEMS.values()} == set(get_args(FindingKind))
    guide = " ".join((Path(__file__).parents[1] / "docs" / "gradients.md").read_text().split())
    assert f"{len(HEALTHY)} healthy runs" in guide and f"{len(PROBLEMS)} problem runs" in guide


# --------------------------------------------------------------------------- #
# Findings: their evidence, and the order they take
# --------------------------------------------------------------------------- #


def test_unscaled_inputs_come_first_and_leave_out_the_gradient_findings_they_explain() -> None:
    run = PROBLEMS["inputs on a 1e4 scale"][1]()
    findings = run.history.diagnose().findings
    assert findings[0].kind == "unscaled_inputs" and findings[0].evidence["columns"] == [0.0, 1.0, 2.0, 3.0]
    assert "X[:, 0] has mean" in findings[0].message and "standardize" in findings[0].message
    unscaled = run.history.model_copy(update={"input_scales": None})  # the same records, the scale unknown
    assert "exploding_gradients" in {f.kind for f in unscaled.diagnose().findings}
    assert not {f.kind for f in findings} & {
        "exploding_gradients",
        "vanishing_gradients",
        "step_too_large",
        "step_too_small",
    }


def test_a_network_thrown_off_in_its_first_epoch_is_blamed_on_the_step_not_the_init() -> None:
    """Its fresh loss was fine: the first epoch's steps blew it up, and another init would not help (issue 29)."""
    run = PROBLEMS["sigmoid, sgd, thrown off in its first epoch"][1]()
    history = run.history
    fresh = history.initial_loss
    assert fresh is not None and fresh == pytest.approx(run.fresh.loss(run.X, run.y), rel=1e-12)
    assert history.records[0].loss > 1e3 * fresh
    findings = history.diagnose().findings
    assert not {"exploding_gradients", "vanishing_gradients"} & {f.kind for f in findings}, described(findings)
    step = next(f for f in findings if f.kind == "step_too_large")
    assert step.epoch == 1 and "smaller learning_rate" in step.message and "init=" not in step.message
    assert step.evidence["initial_loss"] == history.initial_loss
    assert step.evidence["first_loss"] == history.records[0].loss
    started_far_off = history.model_copy(update={"initial_loss": history.records[0].loss})
    assert "exploding_gradients" in {f.kind for f in started_far_off.diagnose().findings}


LONG_NUMBER = re.compile(r"\d{7,}")
PERCENT = re.compile(r"([\d.]+)%")


@pytest.mark.parametrize("fresh_loss_known", [True, False])
def test_findings_print_numbers_people_can_read_and_keep_them_exact_in_the_evidence(fresh_loss_known: bool) -> None:
    """A diverging run's findings: no number of 7 digits or more in a message, no percentage above 1000%; the
    evidence holds the numbers as computed (issue 29)."""
    housing = get_data(1000, seed=0)
    run = train([4, 16, 16, 1], housing, activation="sigmoid", epochs=20, learning_rate=1.5, batch_size=64)
    history = run.history if fresh_loss_known else run.history.model_copy(update={"initial_loss": None})
    findings = history.diagnose().findings
    assert "step_too_large" in {f.kind for f in findings}
    for finding in findings:
        assert not LONG_NUMBER.search(finding.message), finding.message
        assert all(float(share) <= 1000 for share in PERCENT.findall(finding.message)), finding.message
    step = next(f for f in findings if f.kind == "step_too_large")
    losses, baseline = [r.loss for r in history.records], history.baseline_loss
    assert baseline is not None
    if fresh_loss_known:
        assert step.evidence["first_loss"] == losses[0] and step.evidence["baseline"] == baseline
    else:
        climbed = step.evidence["climbed_to"]
        assert climbed == max(losses) and step.evidence["climb_of_baseline"] == (climbed - min(losses)) / baseline
        assert f"{step.evidence['climb_of_baseline']:.3g} times" in step.message


def test_a_run_that_ends_above_the_constant_says_why_it_has_not_learned() -> None:
    """Ending worse than predicting the mean is never healthy; the finding names the cause the records show."""
    slow = PROBLEMS["sgd at 1e-4, still falling above the constant"][1]().history
    found = slow.diagnose().findings
    assert [f.kind for f in found] == ["not_learned"], described(found)
    assert "still falling" in found[0].message and "larger learning_rate" in found[0].message
    assert found[0].evidence["loss"] == slow.records[-1].loss and found[0].evidence["baseline"] == slow.baseline_loss
    assert slow.baseline_loss is not None and slow.records[-1].loss > slow.baseline_loss
    dollars = PROBLEMS["adam on a target in dollars"][1]().history
    found = dollars.diagnose().findings
    assert [f.kind for f in found] == ["not_learned"], described(found)
    assert "standardize the target" in found[0].message and found[0].evidence["target_variance_limit"] == 100.0


@pytest.mark.parametrize("epochs", [20, 200])
def test_a_target_in_dollars_that_leaves_the_loss_flat_is_blamed_on_its_scale_not_the_optimizer(epochs: int) -> None:
    """A relu network on dollars with adam stalls far above the mean's loss: plateau's advice (try adam) was
    given to an adam run; the target's scale explains the plateau, and the finding says to standardize it."""
    run = train([4, 16, 1], (X_REG, PRICES), epochs=epochs, optimizer="adam")
    history = run.history
    assert history.baseline_loss is not None and history.records[-1].loss > history.baseline_loss
    found = history.diagnose().findings
    assert [f.kind for f in found] == ["not_learned"], described(found)
    assert "standardize the target" in found[0].message and "more than 10)" in found[0].message


def test_units_a_blow_up_left_saturated_are_blamed_on_the_step_not_the_init() -> None:
    """tanh units that the first epoch's steps drove into saturation: init='xavier' was advised to a xavier run."""
    run = train([4, 16, 16, 1], REGRESSION, activation="tanh", epochs=10, learning_rate=1.0, batch_size=32)
    history = run.history
    assert history.initial_loss is not None and history.records[0].loss > 1e3 * history.initial_loss
    found = history.diagnose().findings
    assert "step_too_large" in {f.kind for f in found}, described(found)
    assert not any("init=" in f.message for f in found), described(found)
