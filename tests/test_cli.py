"""End-to-end tests of train.py (glassnet/cli/run.py): the default run, what each option does, user CSV tables,
bundles and bad input. The options, resuming and the report have test files of their own, as rooms of their own."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import threadpoolctl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from glassnet import TRUE_COEFFICIENTS, Network, TrainingHistory, TrainingRun, cli, make_housing, split_rows
from glassnet.bundles import Bundle
from glassnet.files import read_model

ROOT = Path(__file__).resolve().parents[1]
LEARNED = "what the network learned"
NOISE = 10_000.0  # dollars: the housing data's noise level, the best test RMSE any model can reach
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMERIC_COLUMNS = [
    *("income", "tenure_months", "credit_score", "utilization", "visits", "temperature", "tiny_signal"),
    *("big_balance", "noise_a", "noise_b", "store_count", "share"),
]
TEXT_COLUMNS = ("region", "plan", "channel", "color")
TARGETS = ("spend", "segment", "churn")


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #


def run(argv: list[str]) -> tuple[int, str]:
    """train.main in-process: (exit status, what it printed to standard output)."""
    out = io.StringIO()
    code = cli.main(argv, out=out)
    return code, out.getvalue()


def run_ok(argv: list[str]) -> str:
    code, stdout = run(argv)
    assert code == 0, stdout
    return stdout


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    """A real ``python train.py ...`` from the repository root."""
    return subprocess.run(
        [sys.executable, "train.py", *argv], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def read_report(path: Path) -> dict[str, dict[str, Any]]:
    report: dict[str, dict[str, Any]] = json.loads(path.read_text())
    return report


def github_table(stdout: str, title: str) -> list[list[str]]:
    """The body rows of the github-style table printed under ``title``, as stripped cells."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 3 :]:  # title, header, |---| rule
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    assert rows, f"no rows under {title!r}"
    return rows


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def loss_table_epochs(stdout: str) -> list[int]:
    """Epochs of the tabulate grid rows (``|   10 | 1.2e-02 | 1.3e-02 |``, maybe with gradient columns after)."""
    row = r"^\|\s+(\d+) \|\s+[\d.e+-]+ \|\s+[\d.e+-]+ \|(?:\s+[\d.e+-]+ \|)*$"
    return [int(m) for m in re.findall(row, stdout, flags=re.MULTILINE)]


def bundle_per_unit_coefficients(path: Path) -> dict[str, float]:
    """A linear regression bundle's collapsed weights in target units per raw feature unit."""
    bundle = read_model(path, Bundle)
    weights, _ = Network.from_document(bundle.network).linear_map()
    assert bundle.target.scaler is not None
    per_unit = bundle.target.scaler.scale[0] * weights[:, 0] / bundle.features.scaler.scale
    return dict(zip(bundle.features.feature_names, per_unit.tolist(), strict=True))


def make_table(seed: int, n_rows: int = 2_000) -> pd.DataFrame:
    """A customer table unlike the housing one, in raw units.

    12 numeric columns on very different scales (1e-3 to 1e6; ``noise_a``, ``noise_b``,
    ``store_count``, ``share`` and ``tiny_signal`` carry nothing), 4 text columns with 3 to 6
    categories (``color`` carries nothing), a sine and a square term the linear models cannot
    capture, and three targets: ``spend`` (dollars), ``segment`` (low/mid/high) and ``churn`` (yes/no).
    """
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "income": rng.lognormal(11.0, 0.5, n_rows),
            "tenure_months": rng.integers(0, 240, n_rows),
            "credit_score": rng.normal(650.0, 80.0, n_rows),
            "utilization": rng.uniform(0.0, 1.0, n_rows),
            "visits": rng.poisson(3.0, n_rows),
            "temperature": rng.normal(15.0, 10.0, n_rows),
            "tiny_signal": rng.normal(0.0, 1e-3, n_rows),
            "big_balance": rng.normal(1e6, 2e5, n_rows),
            "noise_a": rng.normal(0.0, 1.0, n_rows),
            "noise_b": rng.uniform(-50.0, 50.0, n_rows),
            "store_count": rng.integers(0, 10, n_rows),
            "share": rng.beta(2.0, 5.0, n_rows),
            "region": rng.choice(["north", "south", "east", "west", "central"], n_rows),
            "plan": rng.choice(["basic", "plus", "premium"], n_rows),
            "channel": rng.choice(["web", "store", "phone", "partner"], n_rows),
            "color": rng.choice(["red", "green", "blue", "black", "white", "grey"], n_rows),
        }
    )
    shift = (
        table["region"].map({"north": 3.0, "south": -2.0, "east": 1.0, "west": 0.0, "central": -1.5})
        + table["plan"].map({"basic": -2.0, "plus": 0.5, "premium": 3.0})
        + table["channel"].map({"web": 1.0, "store": 0.0, "phone": -1.0, "partner": 2.0})
    ).to_numpy(dtype=np.float64)
    signal = (
        2.0 * (table["income"] - 60_000.0) / 30_000.0
        + 0.02 * table["tenure_months"]
        + 0.01 * (table["credit_score"] - 650.0)
        - 4.0 * table["utilization"]
        + 0.5 * table["visits"]
        + 0.1 * table["temperature"]
        + (table["big_balance"] - 1e6) / 2e5
        + 1.5 * np.sin(3.0 * table["utilization"])
        + 0.3 * (table["visits"] - 3.0) ** 2
    ).to_numpy(dtype=np.float64) + shift
    table["spend"] = 500.0 + 40.0 * (signal + rng.normal(0.0, 1.5, n_rows))
    latent = signal - np.median(signal) + rng.logistic(0.0, 1.0, n_rows)
    table["segment"] = np.where(latent > 1.5, "high", np.where(latent < -1.5, "low", "mid"))
    table["churn"] = np.where(latent > 1.0, "yes", "no")
    return table


def write_csv(table: pd.DataFrame, target: str, path: Path) -> Path:
    """The table with one target column (the others dropped, so nothing leaks)."""
    table.drop(columns=[name for name in TARGETS if name != target]).to_csv(path, index=False)
    return path


def reference_features(table: pd.DataFrame, train_rows: np.ndarray) -> np.ndarray:
    """The features one-hot encoded (first category dropped) and z-scored on the training rows."""
    encoded = pd.get_dummies(table.drop(columns=list(TARGETS)), drop_first=True, dtype=np.float64)
    X = encoded.to_numpy(dtype=np.float64)
    z_scores: np.ndarray = (X - X[train_rows].mean(axis=0)) / X[train_rows].std(axis=0)
    return z_scores


def manual_forward(bundle: Bundle, rows: pd.DataFrame) -> np.ndarray:
    """A linear bundle's output (n, n_out) computed from its stored pieces with plain numpy."""
    columns = [rows[name].to_numpy(dtype=np.float64)[:, None] for name in bundle.features.numeric]
    for name, categories in bundle.features.categorical.items():
        columns.append((rows[name].astype(str).to_numpy()[:, None] == np.array(categories)[None, :]).astype(float))
    activations: np.ndarray = (np.hstack(columns) - bundle.features.scaler.mean) / bundle.features.scaler.scale
    assert bundle.network.activation == "identity"
    for layer in bundle.network.params:
        activations = activations @ layer.weights + layer.bias
    return activations


# --------------------------------------------------------------------------- #
# The default run
# --------------------------------------------------------------------------- #


def test_default_run_prints_everything_in_order_and_recovers_the_coefficients() -> None:
    result = run_cli()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    stdout = result.stdout
    assert stdout.startswith("10,000 rows (8,000 train, 2,000 test), 4 input features, target 'price'")
    assert "Network([4, 10, 25, 1], activation='identity', head='identity'" in stdout

    markers = [
        "before training (first test rows)",
        "training: ",
        "|   epoch |   train loss |    test loss |",
        "trained in ",
        "after training (first test rows)",
        "metrics (in the target's units)",
        LEARNED,
    ]
    positions = [stdout.find(marker) for marker in markers]
    assert -1 not in positions, [m for m, p in zip(markers, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    training = re.search(r"^training: (sgd|momentum|adam), (\d+) epochs, loss = mean squared error$", stdout, re.M)
    assert training, "no 'training: <optimizer>, <n> epochs, loss = mean squared error' line"
    epochs = int(training[2])
    assert loss_table_epochs(stdout) == sorted({1, *range(10, epochs + 1, 10), epochs})  # --print-every 10
    assert "+=========+" in stdout  # tabulate's grid format
    assert re.search(r"^trained in \d+\.\d\d s$", stdout, flags=re.MULTILINE)

    before = np.array([[number(c) for c in row] for row in github_table(stdout, "before training")])
    after = np.array([[number(c) for c in row] for row in github_table(stdout, "after training")])
    assert len(before) == len(after) == 5
    np.testing.assert_array_equal(before[:, 0], after[:, 0])  # the same rows, prices in dollars
    assert after[:, 0].min() > 50_000
    assert np.abs(after[:, 1] - after[:, 0]).max() < 4 * NOISE
    assert np.abs(before[:, 1] - before[:, 0]).mean() > 5 * np.abs(after[:, 1] - after[:, 0]).mean()

    metrics = {row[0]: [number(c) for c in row[1:]] for row in github_table(stdout, "metrics")}
    assert set(metrics) == {"train", "test"}
    for mse, rmse, r2 in metrics.values():
        assert rmse == pytest.approx(math.sqrt(mse), rel=1e-3)  # 4 significant digits
        assert abs(rmse / NOISE - 1) < 0.05
        assert r2 > 0.99

    assert "coefficients" not in stdout  # the effects table says what the collapsed map said, and more
    learned = github_table(stdout, LEARNED)
    lines = stdout.splitlines()
    title = next(i for i, line in enumerate(lines) if line.startswith(LEARNED))
    assert lines[title] == f"{LEARNED} (per unit of each feature, in the target's units; over the training rows)"
    headers = [cell.strip() for cell in lines[title + 1].strip("|").split("|")]
    assert headers == ["feature", "average $/unit", "std $/unit", "true $/unit", "error %"]
    assert [row[0] for row in learned] == list(TRUE_COEFFICIENTS)
    for name, found, spread, true, error in learned:
        assert number(true) == TRUE_COEFFICIENTS[name]
        assert number(found) == pytest.approx(TRUE_COEFFICIENTS[name], rel=0.02), name
        assert number(spread) == 0  # a linear network: the same effect on every row
        assert number(error) == pytest.approx(100 * (number(found) - number(true)) / abs(number(true)), abs=0.02)


def test_default_run_reaches_the_noise_floor(tmp_path: Path) -> None:
    report, bundle = tmp_path / "report.json", tmp_path / "model.json"
    stdout = run_ok(["--report", str(report), "--save", str(bundle)])
    assert "10,000 rows" in stdout
    metrics = read_report(report)
    assert abs(metrics["test"]["rmse"] / NOISE - 1) < 0.05, metrics
    assert abs(metrics["train"]["rmse"] / NOISE - 1) < 0.05, metrics
    assert metrics["test"]["r2"] > 0.99
    recovered = bundle_per_unit_coefficients(bundle)
    assert recovered == pytest.approx(TRUE_COEFFICIENTS, rel=0.02)


def test_the_loss_table_is_printed_while_training(monkeypatch: pytest.MonkeyPatch) -> None:
    fitting = [False]
    original_advance = TrainingRun.advance

    def watched_advance(self: TrainingRun, *args: Any, **kwargs: Any) -> TrainingHistory:
        fitting[0] = True
        try:
            return original_advance(self, *args, **kwargs)
        finally:
            fitting[0] = False

    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[tuple[bool, str]] = []

        def write(self, text: str) -> int:
            self.writes.append((fitting[0], text))
            return super().write(text)

    monkeypatch.setattr(TrainingRun, "advance", watched_advance)
    out = Recorder()
    assert cli.main(["--samples", "500", "--epochs", "30", "--print-every", "10"], out=out) == 0
    during = [text for in_fit, text in out.writes if in_fit and loss_table_epochs(text)]
    assert [epoch for text in during for epoch in loss_table_epochs(text)] == [1, 10, 20, 30]
    assert len(during) == 4  # one write per row, not the whole table at the end
    assert loss_table_epochs(out.getvalue()) == [1, 10, 20, 30]


# --------------------------------------------------------------------------- #
# What each option does to a run
# --------------------------------------------------------------------------- #


def test_epochs_and_print_every_shape_the_loss_table() -> None:
    stdout = run_ok(["--samples", "500", "--epochs", "7", "--print-every", "3", "--optimizer", "sgd"])
    assert "training: sgd, 7 epochs" in stdout
    assert loss_table_epochs(stdout) == [1, 3, 6, 7]


def test_samples_and_test_fraction_set_the_split() -> None:
    stdout = run_ok(["--samples", "500", "--test-fraction", "0.3", "--epochs", "5"])
    assert stdout.startswith("500 rows (350 train, 150 test)")


def test_hidden_and_activation_set_the_architecture() -> None:
    stdout = run_ok(["--samples", "500", "--epochs", "5", "--hidden", "7,3", "--activation", "tanh"])
    assert "Network([4, 7, 3, 1], activation='tanh', head='identity'" in stdout
    spreads = [number(row[2]) for row in github_table(stdout, LEARNED)]
    assert min(spreads) > 0  # a nonlinear network's effect differs from row to row
    stdout = run_ok(["--samples", "500", "--epochs", "5", "--hidden", "6"])
    assert "Network([4, 6, 1], activation='identity'" in stdout
    assert [number(row[2]) for row in github_table(stdout, LEARNED)] == [0, 0, 0, 0]


def test_optimizer_and_learning_rate_are_used(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.json", tmp_path / "fast.json"
    common = ["--samples", "1000", "--epochs", "20", "--optimizer", "adam"]
    stdout = run_ok([*common, "--learning-rate", "0.0001", "--report", str(slow)])
    assert "training: adam, 20 epochs" in stdout
    run_ok([*common, "--learning-rate", "0.01", "--report", str(fast)])
    assert read_report(fast)["train"]["mse"] < 0.5 * read_report(slow)["train"]["mse"]


def test_batch_size_takes_more_steps_per_epoch(tmp_path: Path) -> None:
    full, mini = tmp_path / "full.json", tmp_path / "mini.json"
    common = ["--samples", "1000", "--epochs", "3", "--optimizer", "sgd", "--learning-rate", "0.05"]
    run_ok([*common, "--report", str(full)])
    run_ok([*common, "--batch-size", "32", "--report", str(mini)])
    assert read_report(mini)["train"]["r2"] > 0.95 > read_report(full)["train"]["r2"]


def test_l2_shrinks_the_weights(tmp_path: Path) -> None:
    plain, decayed = tmp_path / "plain.json", tmp_path / "decayed.json"
    common = ["--samples", "1000", "--epochs", "60", "--optimizer", "sgd", "--learning-rate", "0.05"]
    run_ok([*common, "--save", str(plain)])
    run_ok([*common, "--l2", "0.5", "--save", str(decayed)])

    def weight_norm(path: Path) -> float:
        document = read_model(path, Bundle).network
        return math.sqrt(sum(float((layer.weights**2).sum()) for layer in document.params))

    assert weight_norm(decayed) < 0.8 * weight_norm(plain)


def test_seed_makes_runs_reproducible() -> None:
    def without_timing(stdout: str) -> str:
        return re.sub(r"trained in .*", "", stdout)

    first = run_ok(["--samples", "500", "--epochs", "5", "--seed", "3"])
    again = run_ok(["--samples", "500", "--epochs", "5", "--seed", "3"])
    other = run_ok(["--samples", "500", "--epochs", "5", "--seed", "4"])
    assert without_timing(first) == without_timing(again)
    assert github_table(first, "before training") != github_table(other, "before training")


@pytest.mark.parametrize(("task", "labels"), [("binary", ["0", "1"]), ("multiclass", ["0", "1", "2"])])
def test_classification_reports_accuracy_log_loss_and_a_confusion_matrix(
    tmp_path: Path, task: str, labels: list[str]
) -> None:
    report = tmp_path / "report.json"
    stdout = run_ok(["--task", task, "--samples", "2000", "--report", str(report)])
    head = "sigmoid" if task == "binary" else "softmax"
    assert f"head='{head}'" in stdout
    assert "cross-entropy" in stdout
    metrics = read_report(report)
    for part in ("train", "test"):
        assert set(metrics[part]) == {"accuracy", "log_loss"}
        assert metrics[part]["accuracy"] > 0.9  # chance is 0.5 (binary) or 0.33 (tertiles)
        assert 0 < metrics[part]["log_loss"] < 0.35
    printed = {row[0]: [float(c) for c in row[1:]] for row in github_table(stdout, "metrics")}
    assert printed["test"] == pytest.approx([metrics["test"]["accuracy"], metrics["test"]["log_loss"]], abs=1e-4)

    confusion = github_table(stdout, "confusion matrix on the test rows")
    assert [row[0] for row in confusion] == labels
    counts = np.array([[int(c) for c in row[1:]] for row in confusion])
    assert counts.shape == (len(labels), len(labels))
    assert counts.sum() == 400
    assert np.trace(counts) / counts.sum() == pytest.approx(metrics["test"]["accuracy"])
    assert "coefficients" not in stdout


def test_report_and_plot_files(tmp_path: Path) -> None:
    report, plot = tmp_path / "report.json", tmp_path / "loss.png"
    stdout = run_ok(["--samples", "1000", "--epochs", "30", "--report", str(report), "--plot", str(plot)])
    metrics = read_report(report)
    assert metrics.pop("training") == {"epochs": 30, "stopped_early": False, "best_epoch": None}
    assert metrics.pop("selection")["reason"].startswith("nothing chosen: the network was given")  # housing's own
    assert set(metrics) == {"train", "test"}
    for values in metrics.values():
        assert set(values) == {"mse", "rmse", "r2"}
        assert values["rmse"] == pytest.approx(math.sqrt(values["mse"]))
        assert values["rmse"] > 1_000  # dollars, not z-scores
    data = plot.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert str(report) in stdout
    assert str(plot) in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "report.json"]  # no temporary files


# --------------------------------------------------------------------------- #
# A user's own CSV with the default options
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_csv_regression_defaults_match_least_squares(tmp_path: Path, seed: int) -> None:
    table = make_table(seed)
    csv, report = write_csv(table, "spend", tmp_path / "customers.csv"), tmp_path / "report.json"
    pinned = ["--activation", "identity"]  # the linear network, which the run would choose on a linear table
    stdout = run_ok(["--csv", str(csv), "--target", "spend", "--report", str(report), *pinned])
    assert stdout.startswith("2,000 rows (1,600 train, 400 test), 30 input features, target 'spend'")

    train_rows, test_rows = split_rows(len(table), 0.2, seed=0)
    X = np.hstack([reference_features(table, train_rows), np.ones((len(table), 1))])
    y = table["spend"].to_numpy(dtype=np.float64)
    weights, *_ = np.linalg.lstsq(X[train_rows], y[train_rows], rcond=None)
    residual = y[test_rows] - X[test_rows] @ weights
    ols_r2 = 1 - np.mean(residual**2) / np.var(y[test_rows])

    ours = read_report(report)["test"]
    assert ours["r2"] >= ols_r2 - 0.01, f"default network test R2 {ours['r2']:.4f}, least squares {ols_r2:.4f}"

    # the printed per-unit effects of the numeric columns match least squares (in z-score terms)
    printed = {row[0]: number(row[1]) for row in github_table(stdout, LEARNED)}
    for column in TEXT_COLUMNS:  # a row per category against the most frequent one
        reference = table[column].iloc[train_rows].value_counts().sort_index(kind="stable").idxmax()
        others = sorted(set(table[column].iloc[train_rows]) - {reference})
        assert [name for name in printed if name.startswith(f"{column}=")] == [
            f"{column}={other} vs {reference}" for other in others
        ]
    scale = table[NUMERIC_COLUMNS].iloc[train_rows].std(ddof=0).to_numpy()
    ols_per_unit = weights[: len(NUMERIC_COLUMNS)] / scale
    ours_per_unit = np.array([printed[name] for name in NUMERIC_COLUMNS])
    np.testing.assert_allclose(ours_per_unit * scale, ols_per_unit * scale, atol=0.02 * y.std())


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("task", "target"), [("binary", "churn"), ("multiclass", "segment")])
def test_csv_classification_defaults_match_logistic_regression(
    tmp_path: Path, task: str, target: str, seed: int
) -> None:
    table = make_table(seed)
    csv, report = write_csv(table, target, tmp_path / "customers.csv"), tmp_path / "report.json"
    stdout = run_ok(["--csv", str(csv), "--target", target, "--task", task, "--report", str(report)])
    labels = sorted(set(table[target]))
    confusion = github_table(stdout, "confusion matrix on the test rows")
    assert [row[0] for row in confusion] == labels

    train_rows, test_rows = split_rows(len(table), 0.2, seed=0)
    X, y = reference_features(table, train_rows), table[target].to_numpy()
    reference = LogisticRegression(C=np.inf, max_iter=10_000).fit(X[train_rows], y[train_rows])
    ref_accuracy = float(reference.score(X[test_rows], y[test_rows]))
    ref_train_loss = float(log_loss(y[train_rows], reference.predict_proba(X[train_rows]), labels=reference.classes_))

    ours = read_report(report)
    summary = (
        f"default network: test accuracy {ours['test']['accuracy']:.4f}, train log loss "
        f"{ours['train']['log_loss']:.4f}; logistic regression: {ref_accuracy:.4f}, {ref_train_loss:.4f}"
    )
    assert ours["test"]["accuracy"] >= ref_accuracy - 0.02, summary
    assert ours["train"]["log_loss"] <= ref_train_loss + 0.01, summary  # the same linear model: it must converge


# --------------------------------------------------------------------------- #
# Save and predict
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def new_rows() -> pd.DataFrame:
    """Rows to predict: no target, columns in another order, and two columns the bundle never saw."""
    rows = make_table(seed=99, n_rows=60).drop(columns=list(TARGETS))
    rows = rows[list(reversed(rows.columns))]
    return rows.assign(note="hello", extra_number=np.arange(len(rows)))


@pytest.mark.parametrize(("task", "target"), [("regression", "spend"), ("multiclass", "segment"), ("binary", "churn")])
def test_save_then_predict_gives_the_trained_models_predictions(
    tmp_path: Path, new_rows: pd.DataFrame, task: str, target: str
) -> None:
    table = make_table(seed=5)
    csv = write_csv(table, target, tmp_path / "customers.csv")
    bundle_path, report = tmp_path / "model.json", tmp_path / "report.json"
    argv = ["--csv", str(csv), "--target", target, "--task", task, "--save", str(bundle_path), "--report", str(report)]
    assert str(bundle_path) in run_ok([*argv, "--activation", "identity"])  # a linear bundle, read by hand below

    document = json.loads(bundle_path.read_text())
    assert document["format"] == "glassnet.bundle"
    assert document["network"]["format"] == "glassnet.network"
    assert document["features"]["numeric"] == NUMERIC_COLUMNS
    assert document["features"]["categorical"] == {name: sorted(set(table[name])) for name in TEXT_COLUMNS}
    assert document["features"]["scaler"]["mean"]["shape"] == [30]
    assert document["target"]["column"] == target
    assert document["target"]["task"] == task
    if task == "regression":
        assert document["target"]["labels"] is None
        assert document["target"]["scaler"]["mean"]["data"] == [pytest.approx(table["spend"].mean(), rel=0.05)]
    else:
        assert document["target"]["labels"] == sorted(set(table[target]))
    bundle = read_model(bundle_path, Bundle)

    rows_csv, predicted_csv = tmp_path / "rows.csv", tmp_path / "predicted.csv"
    new_rows.to_csv(rows_csv, index=False)
    code, stdout = run(["--model", str(bundle_path), "--predict", str(rows_csv), "--output", str(predicted_csv)])
    assert code == 0
    assert stdout == ""
    code, to_stdout = run(["--model", str(bundle_path), "--predict", str(rows_csv)])
    assert code == 0
    assert to_stdout == predicted_csv.read_text()

    predicted = pd.read_csv(predicted_csv)
    labels = list(bundle.target.labels or [])
    probability_columns = [f"probability_{label}" for label in labels]
    assert list(predicted.columns) == [*new_rows.columns, "prediction", *probability_columns]
    pd.testing.assert_frame_equal(predicted[new_rows.columns], new_rows)
    outputs = manual_forward(bundle, new_rows)
    if task == "regression":
        assert bundle.target.scaler is not None
        expected = outputs[:, 0] * bundle.target.scaler.scale[0] + bundle.target.scaler.mean[0]
        np.testing.assert_allclose(predicted["prediction"].to_numpy(), expected, rtol=1e-9)
    else:
        codes = (outputs[:, 0] > 0).astype(int) if task == "binary" else outputs.argmax(axis=1)
        assert predicted["prediction"].tolist() == [labels[code] for code in codes]
        assert set(predicted["prediction"]) <= set(table[target])
        probabilities = predicted[probability_columns].to_numpy()
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
        if task == "binary":  # the sigmoid of the logit
            np.testing.assert_allclose(probabilities[:, 1], 1 / (1 + np.exp(-outputs[:, 0])), rtol=1e-9)
        else:  # the softmax of the logits
            exp = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            np.testing.assert_allclose(probabilities, exp / exp.sum(axis=1, keepdims=True), rtol=1e-9)
        assert (probabilities.argmax(axis=1) == codes).all()

    # predicting the seeded test split from the saved bundle reproduces the reported test metrics
    _, test_rows = split_rows(len(table), 0.2, seed=0)
    test_part = table.iloc[test_rows].drop(columns=list(TARGETS))
    test_part.to_csv(rows_csv, index=False)
    assert run(["--model", str(bundle_path), "--predict", str(rows_csv), "--output", str(predicted_csv)])[0] == 0
    prediction = pd.read_csv(predicted_csv, dtype={"prediction": str if task != "regression" else float})
    actual = table[target].to_numpy()[test_rows]
    metrics = read_report(report)["test"]
    if task == "regression":
        rmse = math.sqrt(float(np.mean((prediction["prediction"].to_numpy() - actual) ** 2)))
        assert rmse == pytest.approx(metrics["rmse"], rel=1e-9)
    else:
        assert float(np.mean(prediction["prediction"].to_numpy() == actual)) == pytest.approx(metrics["accuracy"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "customers.csv",
        "model.json",
        "predicted.csv",
        "report.json",
        "rows.csv",
    ]


def test_drop_patience_and_the_training_report(tmp_path: Path) -> None:
    table = make_table(seed=4, n_rows=600)
    csv, report = write_csv(table.assign(ticket=np.arange(600) % 7), "spend", tmp_path / "t.csv"), tmp_path / "r.json"
    argv = ["--csv", str(csv), "--target", "spend", "--drop", "color, ticket", "--report", str(report)]
    stdout = run_ok([*argv, "--hidden", "32", "--activation", "relu", "--patience", "3", "--learning-rate", "0.05"])
    assert stdout.startswith("600 rows (480 train, 120 test), 24 input features")  # 30 less color's 6, no ticket
    assert "early stopping after 3 epochs without improvement on 10% of the training rows" in stdout
    training = read_report(report)["training"]
    assert training["stopped_early"] is True
    assert training["epochs"] == training["best_epoch"] + 3 < 150
    assert re.search(
        rf"^stopped early after epoch {training['epochs']}; kept epoch {training['best_epoch']}", stdout, re.M
    )
    assert loss_table_epochs(stdout)[-1] == training["epochs"]  # the last epoch run closes the table


def test_output_dash_is_standard_output_and_added_columns_are_not_overwritten(tmp_path: Path) -> None:
    bundle, rows_csv = tmp_path / "model.json", tmp_path / "rows.csv"
    run_ok(["--task", "binary", "--samples", "300", "--epochs", "5", "--save", str(bundle)])
    make_housing(10, seed=7).drop(columns="price").to_csv(rows_csv, index=False)
    assert run(["--model", str(bundle), "--predict", str(rows_csv), "--output", "-"]) == run(
        ["--model", str(bundle), "--predict", str(rows_csv)]
    )
    predicted = pd.read_csv(io.StringIO(run_ok(["--model", str(bundle), "--predict", str(rows_csv)])))
    assert list(predicted.columns)[-3:] == ["prediction", "probability_0", "probability_1"]
    predicted.to_csv(rows_csv, index=False)  # predicting on a file that already holds predictions
    code, _ = run(["--model", str(bundle), "--predict", str(rows_csv)])
    assert code == 1


def test_housing_classifier_bundle_predicts_its_labels(tmp_path: Path) -> None:
    bundle, rows_csv = tmp_path / "model.json", tmp_path / "rows.csv"
    run_ok(["--task", "binary", "--samples", "1000", "--save", str(bundle)])
    houses = make_housing(40, seed=7)
    houses.drop(columns="price").to_csv(rows_csv, index=False)
    code, stdout = run(["--model", str(bundle), "--predict", str(rows_csv)])
    assert code == 0
    predicted = pd.read_csv(io.StringIO(stdout))
    assert set(predicted["prediction"]) == {0, 1}
    expensive = houses["price"] > make_housing(1000, seed=0)["price"].median()
    assert float(np.mean(predicted["prediction"].to_numpy() == expensive.to_numpy())) > 0.85


# --------------------------------------------------------------------------- #
# Bad input: one line naming the file, exit status 1, nothing written
# --------------------------------------------------------------------------- #

TRAIN_OUTPUTS = ["--save", "{out}/keep.json", "--report", "{out}/report.json", "--plot", "{out}/plot.png"]
PREDICT_OUTPUTS = ["--output", "{out}/keep.csv"]
KEPT = {"keep.json": '{"an": "older bundle"}', "keep.csv": "an,older\n1,2\n"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of good and bad files for the bad-input cases."""
    folder = tmp_path_factory.mktemp("inputs")
    table = make_table(seed=8, n_rows=300)
    write_csv(table, "spend", folder / "good.csv")
    write_csv(table, "segment", folder / "labels.csv")
    table.drop(columns=["spend", "churn"]).assign(kind=table["region"]).to_csv(folder / "text_target.csv", index=False)
    (folder / "empty.csv").write_text("")
    (folder / "header.csv").write_text("size,rooms,price\n")
    (folder / "latin1.csv").write_bytes(b"size,price\n\xe9t\xe9,1\n")
    write_csv(
        table.assign(credit_score=table["credit_score"].where(table.index % 7 > 0)), "spend", folder / "holes.csv"
    )
    (folder / "folder").mkdir()
    (folder / "garbage.json").write_text("{this is not json")
    (folder / "not_bundle.json").write_text('{"format": "glassnet.bundle", "version": 1, "weights": [1, 2]}')
    Network([3, 1]).save(folder / "network_only.json")
    run_ok(["--csv", str(folder / "good.csv"), "--target", "spend", "--save", str(folder / "model.json")])
    rows = table.drop(columns=list(TARGETS))
    rows.to_csv(folder / "rows.csv", index=False)
    rows.drop(columns=["plan"]).to_csv(folder / "rows_missing_plan.csv", index=False)
    rows.assign(region="atlantis").to_csv(folder / "rows_unseen.csv", index=False)
    rows.assign(visits="many").to_csv(folder / "rows_text_visits.csv", index=False)
    rows.assign(prediction=1.0).to_csv(folder / "rows_predicted.csv", index=False)
    return folder


TRAIN_CSV = ["--csv", "{d}/good.csv", "--target", "spend", "--epochs", "5"]
PREDICT = ["--model", "{d}/model.json", "--predict", "{d}/rows.csv"]
# id: (argv, text the one-line message must contain: the file, then the problem)
BAD_INPUTS: dict[str, tuple[list[str], str, str]] = {
    "csv-missing": (["--csv", "{d}/nope.csv", "--target", "spend", *TRAIN_OUTPUTS], "nope.csv", "no such file"),
    "csv-is-a-directory": (["--csv", "{d}/folder", "--target", "spend", *TRAIN_OUTPUTS], "folder", "directory"),
    "csv-not-utf8": (["--csv", "{d}/latin1.csv", "--target", "price", *TRAIN_OUTPUTS], "latin1.csv", "UTF-8"),
    "csv-empty": (["--csv", "{d}/empty.csv", "--target", "price", *TRAIN_OUTPUTS], "empty.csv", "empty"),
    "csv-header-only": (["--csv", "{d}/header.csv", "--target", "price", *TRAIN_OUTPUTS], "header.csv", "no data"),
    "target-column-missing": (
        ["--csv", "{d}/good.csv", "--target", "price", *TRAIN_OUTPUTS],
        "good.csv",
        "no column 'price'",
    ),
    "regression-target-is-text": (
        ["--csv", "{d}/text_target.csv", "--target", "kind", *TRAIN_OUTPUTS],
        "text_target.csv",
        "needs numbers",
    ),
    "binary-target-with-3-labels": (
        ["--csv", "{d}/labels.csv", "--target", "segment", "--task", "binary", *TRAIN_OUTPUTS],
        "labels.csv",
        "exactly 2",
    ),
    "multiclass-target-is-continuous": (
        ["--csv", "{d}/good.csv", "--target", "spend", "--task", "multiclass", *TRAIN_OUTPUTS],
        "good.csv",
        "target 'spend': multiclass found 300 distinct values in 300 rows, more than 20 and than 50% of the rows",
    ),
    "feature-with-missing-values": (
        ["--csv", "{d}/holes.csv", "--target", "spend", *TRAIN_OUTPUTS],
        "holes.csv",
        "missing values",
    ),
    "save-folder-missing": ([*TRAIN_CSV, "--save", "{d}/nowhere/model.json"], "nowhere", "does not exist"),
    "report-folder-missing": ([*TRAIN_CSV, "--report", "{d}/nowhere/report.json"], "nowhere", "does not exist"),
    "plot-is-a-directory": ([*TRAIN_CSV, "--plot", "{d}/folder"], "folder", "folder"),
    "model-missing": (["--model", "{d}/nope.json", "--predict", "{d}/rows.csv", *PREDICT_OUTPUTS], "nope.json", "read"),
    "model-is-a-directory": (
        ["--model", "{d}/folder", "--predict", "{d}/rows.csv", *PREDICT_OUTPUTS],
        "folder",
        "read",
    ),
    "model-garbage": (
        ["--model", "{d}/garbage.json", "--predict", "{d}/rows.csv", *PREDICT_OUTPUTS],
        "garbage.json",
        "not a valid Bundle",
    ),
    "model-json-not-a-bundle": (
        ["--model", "{d}/not_bundle.json", "--predict", "{d}/rows.csv", *PREDICT_OUTPUTS],
        "not_bundle.json",
        "not a valid Bundle",
    ),
    "model-is-a-bare-network": (
        ["--model", "{d}/network_only.json", "--predict", "{d}/rows.csv", *PREDICT_OUTPUTS],
        "network_only.json",
        "not a valid Bundle",
    ),
    "predict-csv-missing": (
        ["--model", "{d}/model.json", "--predict", "{d}/nope.csv", *PREDICT_OUTPUTS],
        "nope.csv",
        "no such file",
    ),
    "predict-csv-lacks-a-column": (
        ["--model", "{d}/model.json", "--predict", "{d}/rows_missing_plan.csv", *PREDICT_OUTPUTS],
        "rows_missing_plan.csv",
        "missing required column(s) ['plan']",
    ),
    "predict-unseen-category": (
        ["--model", "{d}/model.json", "--predict", "{d}/rows_unseen.csv", *PREDICT_OUTPUTS],
        "rows_unseen.csv",
        "unseen value(s) ['atlantis']",
    ),
    "predict-text-in-a-number-column": (
        ["--model", "{d}/model.json", "--predict", "{d}/rows_text_visits.csv", *PREDICT_OUTPUTS],
        "rows_text_visits.csv",
        "expected numbers",
    ),
    "output-folder-missing": ([*PREDICT, "--output", "{d}/nowhere/predicted.csv"], "nowhere", "does not exist"),
    "drop-an-absent-column": (
        [*TRAIN_CSV, "--drop", "nope", *TRAIN_OUTPUTS],
        "good.csv",
        "drop: no column 'nope'",
    ),
    "drop-the-target": ([*TRAIN_CSV, "--drop", "spend", *TRAIN_OUTPUTS], "good.csv", "'spend' is the target"),
    "predict-rows-already-predicted": (
        [*PREDICT[:3], "{d}/rows_predicted.csv", *PREDICT_OUTPUTS],
        "rows_predicted.csv",
        "already has column(s) ['prediction']",
    ),
}


def fill(argv: list[str], folder: Path, out: Path) -> list[str]:
    return [arg.format(d=folder, out=out) for arg in argv]


def prepared_output_folder(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in KEPT.items():
        (out / name).write_text(text)
    return out


def assert_untouched(out: Path) -> None:
    assert {p.name: p.read_text() for p in out.iterdir()} == KEPT


@pytest.mark.parametrize(("argv", "names", "problem"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_exit_1_and_writes_nothing(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], names: str, problem: str
) -> None:
    out = prepared_output_folder(tmp_path)
    code, _ = run(fill(argv, inputs, out))
    stderr = capsys.readouterr().err
    assert code == 1, stderr
    assert "Traceback" not in stderr
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: ")
    assert names in stderr
    assert problem in stderr
    assert_untouched(out)
    assert not (inputs / "nowhere").exists()
    assert sorted(p.name for p in inputs.iterdir() if p.name.startswith(".")) == []  # no temporary files


def test_bad_input_from_the_shell(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = run_cli("--csv", str(missing), "--target", "price")
    assert result.returncode == 1
    assert result.stderr == f"error: {missing}: no such file\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--learning-rate", "1e6", "--optimizer", "sgd"],
        ["--learning-rate", "1e6", "--optimizer", "sgd", "--task", "multiclass"],
        ["--learning-rate", "1e3", "--task", "binary", "--optimizer", "momentum"],
    ],
    ids=["regression-sgd", "multiclass-sgd", "binary-momentum"],
)
def test_divergence_is_one_line_exit_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out = prepared_output_folder(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, stdout = run(["--samples", "1000", *argv, *fill(TRAIN_OUTPUTS, tmp_path, out)])
    stderr = capsys.readouterr().err
    assert code == 1
    assert "|       1 |" in stdout  # the table got as far as it could
    assert [str(w.message) for w in caught] == []  # no numpy overflow warnings on stderr
    assert stderr.count("\n") == 1, stderr
    assert re.fullmatch(r"error: training diverged: .*\n", stderr), stderr
    assert_untouched(out)


# --------------------------------------------------------------------------- #
# Threads
# --------------------------------------------------------------------------- #


def test_the_command_line_computes_in_one_blas_thread_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[set[int]] = []

    def note_threads(args: object, out: object) -> None:
        seen.append({pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"})

    monkeypatch.setattr("glassnet.cli.run.train", note_threads)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert cli.main([]) == 0
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the user's own choice wins
        assert cli.main([]) == 0
    assert seen == [{1}, {2}]


def test_a_run_checks_the_rows_of_its_table_once(tmp_path: Path, row_checks: dict[str, int]) -> None:
    path = tmp_path / "homes.csv"
    make_housing(60, seed=3).assign(street=["oak", "elm", "ash"] * 20).to_csv(path, index=False)
    assert cli.main(["--csv", str(path), "--target", "price", "--epochs", "2"], out=io.StringIO()) == 0
    # the file's header, which pandas would rename a repeated name in, then the table read from it
    assert row_checks == {"reject_duplicates": 2, "reject_missing": 1, "reject_infinite": 1, "check_frame": 1}
