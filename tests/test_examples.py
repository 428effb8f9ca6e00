"""The examples reach the accuracy their docstrings promise, and run as scripts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from examples import iris, two_moons, xor

REPO_ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_xor_is_solved_by_every_head_and_batch_size(capsys: pytest.CaptureFixture[str]) -> None:
    accuracies = xor.main()

    assert set(accuracies) == {
        "softmax head, full batch",
        "sigmoid head, full batch",
        "softmax head, online",
        "sigmoid head, online",
    }
    assert all(accuracy == 1.0 for accuracy in accuracies.values()), accuracies
    assert last_line(capsys.readouterr().out) == "accuracy: 1.000"


def test_iris_held_out_accuracy_with_xavier_and_he(capsys: pytest.CaptureFixture[str]) -> None:
    accuracies = iris.main()

    assert set(accuracies) == {"xavier init, tanh", "he init, relu"}
    assert all(accuracy >= 0.90 for accuracy in accuracies.values()), accuracies
    assert last_line(capsys.readouterr().out) == f"accuracy: {min(accuracies.values()):.3f}"


def test_iris_csv_is_the_complete_data_set() -> None:
    training, held_out = iris.load_split()

    assert sorted(set(training[iris.SPECIES])) == ["setosa", "versicolor", "virginica"]
    assert len(training) + len(held_out) == 150
    assert list(training.columns)[-1] == "species"
    assert len(training.columns) == 5
    assert set(training.index).isdisjoint(held_out.index)


def test_iris_models_predict_species_names_with_their_probabilities() -> None:
    training, held_out = iris.load_split()
    model = iris.train(training, "he", "relu")

    assert model.network.layer_sizes == [4, 16, 3]
    assert model.labels == ["setosa", "versicolor", "virginica"]
    assert set(model.predict(held_out)) <= set(model.labels)
    probabilities = model.predict_proba(held_out)
    assert list(probabilities.columns) == model.labels
    assert (probabilities.idxmax(axis=1) == model.predict(held_out)).all()


def test_two_moons_held_out_accuracy_without_writing_a_plot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    accuracy = two_moons.main([])

    assert accuracy >= 0.90
    assert last_line(capsys.readouterr().out) == f"accuracy: {accuracy:.3f}"
    assert list(tmp_path.iterdir()) == []


def test_make_moons_is_seeded_and_balanced() -> None:
    points, moon = two_moons.make_moons(400, noise=0.1, seed=3)
    again, _ = two_moons.make_moons(400, noise=0.1, seed=3)

    assert points.shape == (400, 2)
    assert set(moon.tolist()) == {0, 1}
    assert 150 < moon.sum() < 250
    assert (points == again).all()


def test_two_moons_script_writes_the_decision_boundary_png(tmp_path: Path) -> None:
    plot = tmp_path / "moons.png"

    result = subprocess.run(
        [sys.executable, "-m", "examples.two_moons", "--plot", str(plot)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )

    assert result.returncode == 0, result.stderr
    accuracy = float(last_line(result.stdout).removeprefix("accuracy: "))
    assert accuracy >= 0.90
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
