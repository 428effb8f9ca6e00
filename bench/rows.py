"""Which rows are wrong: glassnet's row report against cleanlab and a cross-validated ridge, on labels we broke.

    python bench/rows.py                 # every table, 5 seeds (several minutes on 2 cores)
    python bench/rows.py --seeds 10
    python bench/rows.py --seeds 10 --first-seed 10   # fresh seeds, to check what was chosen on the first ten
    python bench/rows.py --quick         # a smoke run: two small tables, one seed

Classification (scikit-learn's breast cancer, wine, iris and digits, and a generated table): 10% of the
labels changed at random to another class. glassnet: a `TabularModel` of the task with its defaults, fitted
with ``keep_rows=True``; its `RowReport` ranks the rows and flags its suspects. Anchors: cleanlab's
``find_label_issues`` on 5-fold out-of-sample probabilities of scikit-learn's LogisticRegression,
MLPClassifier and HistGradientBoostingClassifier (inputs standardized for the first two), ranked by
self-confidence (the probability of the given label) and flagged by its default rule.

Regression (scikit-learn's diabetes, and generated tables: Friedman #3, a noisy linear one and a clean one):
5% of the targets shifted by 3 standard deviations. Anchor: the absolute residual of a 5-fold cross-validated
Ridge.

precision@k: the share of truly broken rows among the k ranked first, k the number broken. F1: of the
flagged set against the broken rows (cleanlab's own flagging; glassnet's suspects), told nothing of k.
cleanlab is a benchmark requirement only (requirements-bench.txt), never glassnet's.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glassnet import TabularModel  # noqa: E402  (the repository folder must be on the path first)

Table = tuple[str, np.ndarray, np.ndarray]
CLASSIFIERS = ("LogisticRegression", "MLPClassifier", "HistGradientBoosting")
FLIPPED = 0.10
SHIFTED = 0.05
SHIFT_SDS = 3.0


def classification_tables(quick: bool) -> Iterator[Table]:
    """Name, features (n, k) and labels (n,) of each classification table."""
    from sklearn import datasets

    loaders = {"iris": datasets.load_iris} if quick else {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
        "digits": datasets.load_digits,
    }  # fmt: skip
    for name, loader in loaders.items():
        bunch = loader()
        yield name, bunch.data, bunch.target
    if not quick:
        X, y = datasets.make_classification(
            1_000, 10, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
        )
        yield "generated (3 classes)", X, y


def regression_tables(quick: bool) -> Iterator[Table]:
    """Name, features (n, k) and targets (n,) of each regression table."""
    from sklearn import datasets

    if not quick:
        bunch = datasets.load_diabetes()
        yield "diabetes", bunch.data, bunch.target
        X, y = datasets.make_friedman3(1_000, noise=0.1, random_state=0)
        yield "Friedman #3", X, y  # nonlinear: a relu network wins the choice
        X, y = datasets.make_regression(500, 10, n_informative=6, noise=60.0, random_state=1)
        yield "noisy linear", X, y
    X, y = datasets.make_regression(200 if quick else 1_000, 8, n_informative=5, noise=20.0, random_state=0)
    yield "generated (regression)", X, y


def flip(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``y`` with `FLIPPED` of its labels changed to another class at random; and which were (n,) bool."""
    broken = np.zeros(len(y), dtype=bool)
    broken[rng.choice(len(y), round(FLIPPED * len(y)), replace=False)] = True
    noisy, classes = y.copy(), np.unique(y)
    for i in np.flatnonzero(broken):
        noisy[i] = rng.choice(classes[classes != y[i]])
    return noisy, broken


def shift(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``y`` with `SHIFTED` of its targets moved `SHIFT_SDS` standard deviations up or down; and which were."""
    broken = np.zeros(len(y), dtype=bool)
    broken[rng.choice(len(y), round(SHIFTED * len(y)), replace=False)] = True
    noisy = y.astype(np.float64)
    noisy[broken] += SHIFT_SDS * y.std() * rng.choice([-1.0, 1.0], broken.sum())
    return noisy, broken


def precision_at_k(ranked: np.ndarray, broken: np.ndarray) -> float:
    """The share of broken rows among the first k positions of ``ranked``, k the number broken."""
    return float(broken[ranked[: broken.sum()]].mean())


def f1(flagged: np.ndarray, broken: np.ndarray) -> float:
    """F1 of the flagged rows (n,) bool against the broken ones."""
    found = int((flagged & broken).sum())
    return 0.0 if found == 0 else 2 * found / (int(flagged.sum()) + int(broken.sum()))


def glassnet_rows(X: np.ndarray, y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """glassnet's ranking (positions, most suspect first) and flagged rows (n,) bool, from one fit."""
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])]).assign(target=y)
    model = TabularModel(task=task, seed=seed)  # type: ignore[arg-type]  # its defaults: it chooses its network
    model.fit(frame, "target", keep_rows=True)
    report = model.row_report()
    ranked = report.ranking().to_numpy()
    flagged = np.zeros(len(y), dtype=bool)
    flagged[report.suspects().index.to_numpy()] = True
    return ranked, flagged


def classifier(name: str, seed: int, quick: bool) -> object:
    """A fresh scikit-learn classifier of ``name``."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    makers: dict[str, Callable[[], object]] = {
        "LogisticRegression": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2_000)),
        "MLPClassifier": lambda: make_pipeline(
            StandardScaler(), MLPClassifier(max_iter=50 if quick else 500, random_state=seed)
        ),
        "HistGradientBoosting": lambda: HistGradientBoostingClassifier(
            max_iter=20 if quick else 100, random_state=seed
        ),
    }
    return makers[name]()


def cleanlab_rows(X: np.ndarray, y: np.ndarray, name: str, seed: int, quick: bool) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's ranking (by self-confidence) and flagged rows, on 5-fold probabilities of ``name``."""
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(classifier(name, seed, quick), X, y, cv=folds, method="predict_proba")
    ranked = np.argsort(probabilities[np.arange(len(y)), y], kind="stable")
    return ranked, find_label_issues(y, probabilities)


def ridge_ranking(X: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Rows by the absolute residual of a 5-fold cross-validated Ridge, largest first."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = KFold(5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(make_pipeline(StandardScaler(), Ridge()), X, y, cv=folds)
    return np.argsort(-np.abs(y - predicted), kind="stable")


def github(frame: pd.DataFrame) -> str:
    """``frame`` as a github table, its index as the first column, numbers to 3 decimals."""
    rows = frame.reset_index().to_numpy().tolist()
    return tabulate(rows, headers=["table", *frame.columns], tablefmt="github", floatfmt=".3f")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per table (default 5)")
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first seed (default 0): another run's seeds check choices made on those of the default run",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: two small tables, one seed")
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    warnings.simplefilter("ignore")
    started = time.perf_counter()
    print(f"glassnet rows benchmark, {datetime.date.today().isoformat()}: python bench/rows.py"
          + (" --quick" if args.quick else f" --seeds {seeds}")
          + (f" --first-seed {args.first_seed}" if args.first_seed else ""))  # fmt: skip

    found: list[dict[str, object]] = []
    for name, X, y in classification_tables(args.quick):
        task = "binary" if len(np.unique(y)) == 2 else "multiclass"
        print(f"{name}: {len(y):,} rows, {seeds} seed(s)", file=sys.stderr, flush=True)
        for seed in range(args.first_seed, args.first_seed + seeds):
            noisy, broken = flip(y, np.random.default_rng(seed))
            row: dict[str, object] = {"table": name}
            ranked, flagged = glassnet_rows(X, noisy, task, seed)
            row |= {"glassnet p@k": precision_at_k(ranked, broken), "glassnet F1": f1(flagged, broken)}
            row["glassnet flagged"] = int(flagged.sum())
            for anchor in CLASSIFIERS:
                ranked, flagged = cleanlab_rows(X, noisy, anchor, seed, args.quick)
                row |= {f"{anchor} p@k": precision_at_k(ranked, broken), f"{anchor} F1": f1(flagged, broken)}
                if anchor == "LogisticRegression":
                    row["cleanlab+LR flagged"] = int(flagged.sum())
            row["broken"] = int(broken.sum())
            found.append(row)
    classes = pd.DataFrame(found).groupby("table", sort=False).mean()
    classes.loc["mean"] = classes.mean()
    best = classes[[f"{anchor} p@k" for anchor in CLASSIFIERS]].max(axis=1)
    classes["glassnet - best anchor p@k"] = classes["glassnet p@k"] - best

    shown = ["glassnet p@k", *(f"{a} p@k" for a in CLASSIFIERS), "glassnet - best anchor p@k"]
    print(f"\nLabels flipped ({FLIPPED:.0%}), mean over {seeds} seed(s): precision@k (anchors: cleanlab on 5-fold "
          "probabilities of each)\n")  # fmt: skip
    print(github(classes[shown]))
    shown = ["glassnet F1", *(f"{a} F1" for a in CLASSIFIERS), "glassnet flagged", "cleanlab+LR flagged", "broken"]
    print("\nThe flagged set, told nothing of how many are wrong: F1 against the flipped rows, and how many flagged\n")
    print(github(classes[shown]))

    found = []
    for name, X, y in regression_tables(args.quick):
        print(f"{name}: {len(y):,} rows, {seeds} seed(s)", file=sys.stderr, flush=True)
        for seed in range(args.first_seed, args.first_seed + seeds):
            noisy, broken = shift(y, np.random.default_rng(seed))
            ranked, flagged = glassnet_rows(X, noisy, "regression", seed)
            found.append({
                "table": name,
                "glassnet p@k": precision_at_k(ranked, broken),
                "Ridge p@k": precision_at_k(ridge_ranking(X, noisy, seed), broken),
                "glassnet F1": f1(flagged, broken),
                "glassnet flagged": int(flagged.sum()),
                "broken": int(broken.sum()),
            })  # fmt: skip
    targets = pd.DataFrame(found).groupby("table", sort=False).mean()
    targets["glassnet - Ridge p@k"] = targets["glassnet p@k"] - targets["Ridge p@k"]
    print(f"\nTargets shifted by {SHIFT_SDS:g} sd ({SHIFTED:.0%}), mean over {seeds} seed(s): precision@k against "
          "a 5-fold Ridge's absolute residuals; glassnet's flagged set\n")  # fmt: skip
    print(github(targets))
    print(f"\nwall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
