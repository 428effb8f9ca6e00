"""The Dask grid search: every fit runs on the cluster's worker processes, and the scores are the serial ones."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from sklearn.model_selection import GridSearchCV

from examples import distributed_search

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
FIT_BATCH = re.compile(r"_fit_and_score_(\d+)_calls-")


@pytest.fixture(scope="module")
def serial() -> GridSearchCV:
    """The same search, fitted in this process without any parallel backend."""
    return distributed_search.make_search().fit(*distributed_search.load_iris())


def guide_command() -> list[str]:
    """The arguments of the ``python -m examples.distributed_search`` command of docs/tables.md."""
    text = GUIDE.read_text()
    start = text.index("```bash\npython -m examples.distributed_search") + len("```bash\n")
    (command,) = text[start : text.index("```", start)].strip().splitlines()
    return command.split()[3:]


def fits_per_worker(tasks: list[dict[str, Any]]) -> dict[str, int]:
    """How many cross-validation fits each worker ran, from a task stream (joblib sends them in batches)."""
    counts: dict[str, int] = {}
    for task in tasks:
        if match := FIT_BATCH.search(task["key"]):
            counts[task["worker"]] = counts.get(task["worker"], 0) + int(match[1])
    return counts


def assert_serial_scores(scores: dict[str, float], serial: GridSearchCV, printed: str) -> None:
    expected = serial.cv_results_
    assert list(scores) == [distributed_search.candidate_name(p) for p in expected["params"]]
    assert list(scores.values()) == expected["mean_test_score"].tolist()  # bit for bit
    assert printed.splitlines()[-2:] == [
        f"best: {distributed_search.candidate_name(serial.best_params_)}",
        f"accuracy: {serial.best_score_:.3f}",
    ]


def test_the_guide_s_command_runs_every_fit_on_two_worker_processes(
    serial: GridSearchCV, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The guide's command starts its own local cluster; the scores are the serial search's."""
    seen: dict[str, Any] = {}
    search_on = distributed_search.search_on

    def observed(client: Client) -> GridSearchCV:
        with get_task_stream(client) as stream:
            search = search_on(client)
        seen.update(tasks=stream.data, pids=client.run(os.getpid))
        return search

    monkeypatch.setattr(distributed_search, "search_on", observed)

    scores = distributed_search.main(guide_command())

    assert_serial_scores(scores, serial, capsys.readouterr().out)
    fits = fits_per_worker(seen["tasks"])
    assert sum(fits.values()) == distributed_search.FOLDS * len(scores)  # every fit ran on the cluster
    assert set(fits) == set(seen["pids"])  # on both workers
    assert len({*seen["pids"].values(), os.getpid()}) == 3  # each a process of its own


def test_scheduler_option_uses_a_running_cluster(serial: GridSearchCV, capsys: pytest.CaptureFixture[str]) -> None:
    with (
        LocalCluster(  # type: ignore[no-untyped-call]  # distributed's are untyped
            n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as observer,  # type: ignore[no-untyped-call]
        get_task_stream(observer) as stream,
    ):
        scores = distributed_search.main(["--scheduler", cluster.scheduler_address])

    assert_serial_scores(scores, serial, capsys.readouterr().out)
    assert sum(fits_per_worker(stream.data).values()) == distributed_search.FOLDS * len(scores)


def test_scheduler_and_workers_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        distributed_search.main(["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"])

    assert exit_info.value.code == 2
    assert "argument --workers: not allowed with argument --scheduler" in capsys.readouterr().err
