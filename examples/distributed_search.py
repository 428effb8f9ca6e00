"""A hyperparameter grid search over glassnet's classifier, on a Dask cluster.

    python -m examples.distributed_search                         # starts a local cluster
    python -m examples.distributed_search --scheduler ADDRESS     # uses a running one

scikit-learn's ``GridSearchCV`` fits a scaler-and-``GlassnetClassifier`` pipeline for each
candidate on each fold of Iris (``examples/iris.csv``). Inside
``joblib.parallel_backend("dask")`` each of those fits is a task on the cluster's workers.
Without ``--scheduler`` the cluster is a ``LocalCluster`` of single-threaded worker
processes (one per core, or ``--workers N``). Every fit is seeded, so the grid's scores do
not depend on where or in which order the fits ran: they are the serial search's, bit for
bit.

Workers import glassnet as any library: a ``LocalCluster`` starts its worker processes
from this interpreter, with its ``sys.path``; the workers of a cluster of your own must run
where glassnet imports (started from this folder, with it on ``PYTHONPATH``, or after
``pip install .``). With a single worker thread in all, joblib runs the fits here instead:
there is nothing to run in parallel. Needs ``pip install "dask[distributed]"``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from tabulate import tabulate

from examples.iris import IRIS_CSV, SPECIES
from glassnet import read_table
from glassnet.rules import positive_int
from glassnet.sklearn import GlassnetClassifier

try:
    from dask.distributed import Client, LocalCluster
except ImportError as error:
    raise ImportError(
        "examples.distributed_search needs Dask: pip install 'dask[distributed]' (or pip install 'glassnet[dask]')"
    ) from error

GRID = {
    "network__hidden_layer_sizes": [(8,), (32,)],
    "network__activation": ["relu", "tanh"],
}
FOLDS = 5


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """The 150 flowers' four measurements (150, 4) and species names (150,)."""
    table = read_table(IRIS_CSV)
    return table.drop(columns=SPECIES).to_numpy(dtype=np.float64), table[SPECIES].to_numpy()


def make_search() -> GridSearchCV:
    """The grid search: scaler and seeded classifier, every candidate on the same stratified folds."""
    pipeline = Pipeline([("scale", StandardScaler()), ("network", GlassnetClassifier(random_state=0))])
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    return GridSearchCV(pipeline, GRID, cv=folds)


def candidate_name(params: dict[str, object]) -> str:
    """E.g. ``"(32,) tanh"``."""
    return f"{params['network__hidden_layer_sizes']} {params['network__activation']}"


def search_on(client: Client) -> GridSearchCV:
    """Fit the search with every fit a task on ``client``'s cluster."""
    cluster = client.scheduler_info()
    print(f"Dask cluster at {cluster['address']}: {len(cluster['workers'])} workers")
    search = make_search()
    X, species = load_iris()
    with joblib.parallel_backend("dask"):
        search.fit(X, species)
    return search


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """``--scheduler ADDRESS`` or ``--workers N`` (or neither), from ``argv`` or the command line."""
    parser = argparse.ArgumentParser(prog="python -m examples.distributed_search", description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    where.add_argument(
        "--workers",
        type=positive_int.parse,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Run the search and return each candidate's mean accuracy over the folds, in grid order."""
    args = parse_args(argv)
    if args.scheduler is not None:
        with Client(args.scheduler) as client:  # type: ignore[no-untyped-call]  # distributed's are untyped
            search = search_on(client)
    else:
        cluster = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            search = search_on(client)
    results = search.cv_results_
    scores = {candidate_name(p): float(s) for p, s in zip(results["params"], results["mean_test_score"], strict=True)}
    print(f"Iris, {FOLDS}-fold cross-validation of {len(scores)} candidates ({FOLDS * len(scores)} fits)")
    rows = zip(scores, results["mean_test_score"], results["std_test_score"], results["rank_test_score"], strict=True)
    print(tabulate(rows, headers=["candidate", "mean accuracy", "std", "rank"], tablefmt="github", floatfmt=".4f"))
    print(f"best: {candidate_name(search.best_params_)}")
    print(f"accuracy: {search.best_score_:.3f}")
    return scores


if __name__ == "__main__":
    main()
