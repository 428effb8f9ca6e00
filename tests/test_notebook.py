"""train.ipynb runs top to bottom in a fresh kernel and shows what its text claims.

Run as a script to refresh the outputs stored in the notebook after editing it::

    python tests/test_notebook.py
"""

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO_ROOT / "train.ipynb"
MIN_PLOTS = 12


def read_notebook() -> Any:
    """train.ipynb as an nbformat v4 notebook.

    nbformat, nbclient and jupyter_client are imported where they are used: nbformat's schema
    validation imports jsonschema, which builds its URI grammars on import, and every
    pytest-xdist worker imports each test module, whether or not it runs this one's tests.
    """
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]  # nbformat is unannotated


def execute(notebook: Any) -> Any:
    """Run every cell of ``notebook`` in a fresh kernel, from the repository root; return it with its new outputs.

    The kernel is ipykernel in this interpreter (``sys.executable``): with no kernelspec
    folders to search, jupyter_client resolves "python3" to the ipykernel it can import,
    so no kernel needs to be installed for the user and a CI venv runs its own Python.
    ``MPLBACKEND=Agg`` keeps matplotlib headless; the notebook's ``%matplotlib inline``
    still embeds every figure as a PNG.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    kernel = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=120,
        record_timing=False,
        resources={"metadata": {"path": str(REPO_ROOT)}},
    )
    client.execute(env={**os.environ, "MPLBACKEND": "Agg"})
    return notebook


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def stream_text(notebook: Any) -> str:
    """Everything the code cells printed, in order."""
    return "".join(
        output.text for cell in code_cells(notebook) for output in cell.outputs if output.output_type == "stream"
    )


def image_count(notebook: Any) -> int:
    return sum("image/png" in output.get("data", {}) for cell in code_cells(notebook) for output in cell.outputs)


@pytest.fixture(scope="module")
def executed() -> Any:
    """The notebook run once, with one extra cell at the end that prints the kernel's interpreter."""
    import nbformat

    notebook = read_notebook()
    probe = nbformat.v4.new_code_cell("import sys\n\nprint(sys.executable)")  # type: ignore[no-untyped-call]
    notebook.cells.append(probe)
    return execute(notebook)


def test_runs_without_errors(executed: Any) -> None:
    errors = [output for cell in code_cells(executed) for output in cell.outputs if output.output_type == "error"]
    assert errors == []


def test_the_kernel_is_this_interpreter(executed: Any) -> None:
    probe = executed.cells[-1]
    assert probe.outputs[0].text.strip() == sys.executable


def test_hand_computed_backward_pass_matches_the_record(executed: Any) -> None:
    printed = stream_text(executed)
    assert "hand-computed gradient matches GradientRecord: True" in printed
    assert "JSON round trip exact: True" in printed


def test_gradient_check_passes_and_catches_the_wrong_derivative(executed: Any) -> None:
    printed = stream_text(executed)
    assert "gradient check passed: True" in printed
    assert "MISMATCH" in printed
    assert "wrong derivative caught: True" in printed


def test_invalid_parameters_are_rejected_with_pydantics_message(executed: Any) -> None:
    assert "1 validation error for LayerParams" in stream_text(executed)


def test_linear_network_recovers_the_housing_formula(executed: Any) -> None:
    printed = stream_text(executed)
    assert "get_data matches Standardizer: True" in printed
    assert "forward(X) equals X @ W + b: True" in printed
    assert "recovered every coefficient within 2%: True" in printed
    assert "TabularModel recovered every coefficient within 2%: True" in printed


def test_classification_heads_and_hidden_activations(executed: Any) -> None:
    printed = stream_text(executed)
    accuracies = {
        name: float(value)
        for name, value in re.findall(r"(\w+) (?:head|hidden activation): \S+ accuracy (\S+)", printed)
    }
    assert set(accuracies) == {"binary", "softmax", "identity", "relu", "tanh"}
    assert min(accuracies[name] for name in ("binary", "softmax", "relu", "tanh")) >= 0.9
    assert accuracies["identity"] < 0.8  # a straight boundary cannot separate the rings


def test_saturation_and_unscaled_inputs_are_diagnosed_and_then_cured(executed: Any) -> None:
    printed = stream_text(executed)
    found = {
        name: (float(r2), healthy == "True")
        for name, r2, healthy in re.findall(r"^(init='\w+'|raw features|standardized): validation R\^2 (\S+), "
                                            r"healthy: (\w+)$", printed, flags=re.M)
    }  # fmt: skip
    assert set(found) == {"init='normal'", "init='xavier'", "raw features", "standardized"}
    assert found["init='normal'"][0] < 0.5 and not found["init='normal'"][1], "ten saturated tanh layers learn little"
    assert found["init='xavier'"][0] >= 0.95 and found["init='xavier'"][1], "xavier cures them"
    assert found["raw features"][0] < 0.9 and not found["raw features"][1]
    assert found["standardized"][0] >= 0.99 and found["standardized"][1], "standardizing cures them"
    assert re.search(r"^saturated_units \(from epoch \d+, layer \d+\)", printed, flags=re.M)
    assert re.search(r"^unscaled_inputs \(from epoch 1\): 3 of the 4 input columns", printed, flags=re.M)


def test_gradients_are_watched_through_training(executed: Any) -> None:
    printed = stream_text(executed)
    assert "ten sigmoid layers healthy: False" in printed
    assert "vanishing_gradients" in printed and "plateau" in printed
    assert "relu with He initialization healthy: True" in printed
    assert "epochs with full gradients kept: [1, 30, 60]" in printed
    assert "paused and resumed run ends with the same parameters, bit for bit: True" in printed


def test_what_a_nonlinear_network_learned(executed: Any) -> None:
    printed = stream_text(executed)
    claims = [
        *("relu network recovers about $150 per square foot", "every average effect within 5% of the formula"),
        *("average effect of the linear term within 5% of 2", "local effects follow 2 square (r > 0.95)"),
        *("local effects follow 3 cos(wave) (r > 0.9)", "category shifts within 0.15 of the truth"),
    ]
    assert [claim for claim in claims if f"{claim}: True" not in printed] == []
    assert re.search(r"^GradientRecord\(loss=[\d.]+, 3 layers .*: 4x256 .*, 256x256 .*, 256x3 .*\)$", printed, re.M)


def test_the_flipped_labels_are_found_and_dropping_them_helps(executed: Any) -> None:
    printed = stream_text(executed)
    found = re.search(
        r"^suspects: (\d+); truly flipped among them: (\d+) \(\d+%\); flips found: \d+ of (\d+)$", printed, re.M
    )
    assert found is not None
    suspects, caught, flipped = map(int, found.groups())
    assert caught / suspects >= 0.8 and caught / flipped >= 0.8, "the suspects are mostly the flipped rows, and most"
    assert "test accuracy up after dropping the suspects: True" in printed
    assert re.search(
        r"^row \d+: given '\w+', but over 200 recorded epochs the network put another label", printed, re.M
    )


def test_every_plot_is_drawn(executed: Any) -> None:
    assert image_count(executed) >= MIN_PLOTS


def test_stored_notebook_shows_a_complete_top_to_bottom_run() -> None:
    """What a code host renders: every code cell run once, in order, with its plots embedded."""
    stored = read_notebook()
    counts = [cell.execution_count for cell in code_cells(stored)]
    assert counts == list(range(1, len(counts) + 1))
    assert image_count(stored) >= MIN_PLOTS
    assert "hand-computed gradient matches GradientRecord: True" in stream_text(stored)


if __name__ == "__main__":
    import nbformat

    nbformat.write(execute(read_notebook()), NOTEBOOK)  # type: ignore[no-untyped-call]
    print(f"wrote {NOTEBOOK} with fresh outputs")
