"""glassnet is one package: a folder of the user's own modules never shadows it, the doors at the top of
the checkout give the names they always gave, and no module reaches into another's private members."""

import ast
import functools
import importlib
import io
import json
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

import create_data
import glassnet
import network
import train
from glassnet import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "glassnet"
MODULES = sorted(info.name for info in pkgutil.walk_packages([str(PACKAGE)], "glassnet."))
"""Every module of the package, those of its packages (``glassnet.cli.options``, ...) and the packages too."""


def source(module: str) -> Path:
    """The file of ``module`` (``glassnet.cli.run``, or a package's ``__init__.py``)."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_the_package_holds_the_rooms_of_the_design() -> None:
    rooms = {"rules", "fields", "fingerprints", "files", "buffers", "cli", "data", "diagnosis", "epochs", "export"}
    rooms |= {"checkpoints", "functions", "health", "layout", "network", "optim"}
    rooms |= {"records", "settings", "sklearn", "step", "reading", "tables", "encoding", "tabular", "training"}
    rooms |= {"callbacks"}
    rooms |= {"cli.options", "cli.resume", "cli.report", "cli.run"}
    rooms |= {"upgrades"}
    rooms |= {"selection"}
    rooms |= {"rows"}
    rooms |= {"bundles"}
    assert {name.removeprefix("glassnet.") for name in MODULES} == rooms


def test_a_folder_with_its_own_network_train_and_create_data_uses_glassnet_all_the_same(tmp_path: Path) -> None:
    for name in ("network", "train", "create_data", "tables", "data", "records"):
        (tmp_path / f"{name}.py").write_text(f"raise RuntimeError('the user\\'s own {name}.py ran')\n")
    child = textwrap.dedent(
        f"""
        import importlib, io, sys
        sys.path.append({str(ROOT)!r})  # glassnet is found after the user's folder, as an installed package is
        import glassnet
        for module in {MODULES!r}:
            importlib.import_module(module)
        from glassnet import GlassnetClassifier, TabularModel, cli
        assert cli.main(["--samples", "60", "--epochs", "2"], out=io.StringIO()) == 0
        assert not {{"network", "train", "create_data", "tables", "data", "records"}} & set(sys.modules)
        try:
            import network
        except RuntimeError as error:
            print(error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the user's own network.py ran", "the user's network.py is theirs to import"


def test_importing_the_package_gives_every_public_name() -> None:
    assert len(set(glassnet.__all__)) == len(glassnet.__all__)
    missing = [name for name in glassnet.__all__ if not hasattr(glassnet, name)]
    assert missing == []
    assert glassnet.GlassnetRegressor.__module__ == "glassnet.sklearn"  # on first use, not in __all__
    with pytest.raises(AttributeError, match="module 'glassnet' has no attribute 'Netwrok'"):
        _ = glassnet.Netwrok


@pytest.mark.parametrize("door", [network, create_data])
def test_the_doors_give_their_names_and_those_are_glassnet_s_own(door: object) -> None:
    names = door.__all__  # type: ignore[attr-defined]
    owners = {name: importlib.import_module(glassnet._MOVED.get(name, "glassnet")) for name in names}
    assert names and all(getattr(door, name) is getattr(owners[name], name) for name in names)


def user_material() -> str:
    """What a user reads and runs: the README, the guides and the contract (not the API reference, which lists
    ``__all__``), the examples and the notebook's cells."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").rglob("*.py"))]
    texts = [page.read_text() for page in pages if page.name != "reference.md"]
    texts = ["\n".join(line for line in text.splitlines() if "DeprecationWarning" not in line) for text in texts]
    notebook = json.loads((ROOT / "train.ipynb").read_text())
    return "\n".join([*texts, *("".join(cell["source"]) for cell in notebook["cells"])])


def test_the_package_exports_what_a_user_is_shown_and_no_more() -> None:
    text = user_material()
    unshown = [name for name in glassnet.__all__ if not re.search(rf"\b{name}\b", text)]
    assert unshown == [], "each exported name is one a user meets in the README, the guides or the notebook"
    imported = re.findall(r"from glassnet import \(?([\w, \n]+)\)?", text)
    reached = set(re.findall(r"\bglassnet\.(\w+)", text)) | {n.strip() for names in imported for n in names.split(",")}
    assert reached & set(glassnet._MOVED) == set(), "what a user is shown comes from the package"
    assert set(glassnet.__all__).isdisjoint(glassnet._MOVED)


def test_a_name_the_package_no_longer_exports_comes_from_its_module_with_a_warning_naming_it() -> None:
    from glassnet.buffers import StepBuffers

    with pytest.warns(DeprecationWarning) as caught:
        assert glassnet.StepBuffers is StepBuffers
    assert str(caught[0].message) == (
        "glassnet.StepBuffers: import it from glassnet.buffers (from glassnet.buffers import StepBuffers); "
        "the package exports only the names in glassnet.__all__"
    )
    for name, module in glassnet._MOVED.items():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
        moved = getattr(importlib.import_module(module), name)
        assert not isinstance(moved, type) or moved.__module__ == module, f"{name} is defined in {moved.__module__}"
    star: dict[str, object] = {}
    exec("from glassnet import *", star)
    assert set(star) - {"__builtins__"} == set(glassnet.__all__)


BEFORE_THE_PACKAGE = {
    network: (
        *("ACTIVATIONS", "HEADS", "SGD", "Activation", "ActivationFunction", "Adam", "AdamState", "ArrayFingerprint"),
        *("ArrayMaker", "DataFingerprint", "Diagnosis", "EpochRecord", "Finding", "GradientCheckReport"),
        *("GradientRecord", "Head", "HeadFunction", "LayerBuffers", "LayerGradients", "LayerParams", "Momentum"),
        *("MomentumState", "Network", "NetworkDocument", "Optimizer", "RandomState", "StepBuffers"),
        *("TrainingCheckpoint", "TrainingDiverged", "TrainingHistory", "TrainingRun", "TrainingSettings"),
        *("gradient_check", "register_activation"),
    ),
    create_data: (
        *("FEATURES", "TARGET", "TRUE_COEFFICIENTS", "DataError", "DataNote", "Standardizer", "TableEncoding"),
        *("TargetEncoding", "Task", "get_data", "make_housing", "price_bands", "read_table", "split_rows"),
    ),
}
"""The public names of network.py and create_data.py at 08a6116, the last commit before the package."""


@pytest.mark.parametrize("door", [network, create_data])
def test_the_doors_give_every_name_they_gave_before_the_package(door: object) -> None:
    assert set(BEFORE_THE_PACKAGE[door]) <= set(door.__all__)  # type: ignore[index, attr-defined]
    assert train.main is cli.main


def test_python_create_data_writes_the_housing_table(tmp_path: Path) -> None:
    out = tmp_path / "homes.csv"
    result = subprocess.run(
        [sys.executable, "create_data.py", "--rows", "30", "--seed", "4", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote 30 houses to {out}\n"
    pd.testing.assert_frame_equal(pd.read_csv(out), glassnet.make_housing(30, seed=4), check_exact=False, rtol=1e-15)


def test_python_create_data_refuses_what_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.write_housing(["--rows", "5", "--out", str(tmp_path / "nowhere" / "homes.csv")]) == 1
    assert (
        capsys.readouterr().err
        == f"error: --out {tmp_path}/nowhere/homes.csv: the folder {tmp_path}/nowhere does not exist\n"
    )
    with pytest.raises(SystemExit) as exit_:
        cli.write_housing(["--rows", "0", "--out", str(tmp_path / "homes.csv")])
    assert exit_.value.code == 2
    assert list(tmp_path.iterdir()) == []


def test_python_train_py_is_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "train.py", "--samples", "80", "--epochs", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = io.StringIO()
    assert cli.main(["--samples", "80", "--epochs", "3"], out=out) == 0
    strip = [line for line in out.getvalue().splitlines() if not line.startswith("trained in")]
    assert [line for line in result.stdout.splitlines() if not line.startswith("trained in")] == strip


def _private_members(tree: ast.Module) -> set[str]:
    """The private names a module defines: its functions, classes, methods and attributes set on ``self``."""
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            defined.add(node.attr)
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            defined |= {target.id for target in targets if isinstance(target, ast.Name)}
    return {name for name in defined if name.startswith("_") and not name.startswith("__")}


@functools.cache
def _parsed() -> dict[str, tuple[ast.Module, frozenset[str]]]:
    """Each module's syntax tree and the private names it defines, parsed once for all the modules' tests."""
    trees = {name: ast.parse(source(name).read_text()) for name in MODULES}
    return {name: (tree, frozenset(_private_members(tree))) for name, tree in trees.items()}


@pytest.mark.parametrize("module", MODULES)
def test_no_module_reaches_into_the_private_members_of_another(module: str) -> None:
    parsed = _parsed()
    tree, own = parsed[module]
    # the private names the package's other modules define (another package's, such as torch's hook
    # registries that have no public accessor, are that package's affair)
    others = set().union(*(defined for name, (_, defined) in parsed.items() if name != module)) - own
    reached = {
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in others
    }
    assert reached == set(), f"{module} uses private members of other modules"


def test_the_modules_import_downwards_only() -> None:
    """Each module imports only those below it in the package docstring's order (network's fit the one exception,
    inside the function: training drives the network)."""
    order = [
        "rules",
        "fields",
        "fingerprints",
        "upgrades",
        "files",
        "buffers",
        "health",
        "functions",
        "optim",
        "diagnosis",
        "records",
        "layout",
        "step",
    ]
    order += ["network", "settings", "epochs", "checkpoints"]
    order += ["training", "callbacks", "reading", "tables", "encoding", "data", "selection", "rows", "bundles"]
    order += ["tabular"]
    order += ["cli.options", "cli.resume", "cli.report", "cli.run", "cli", "export", "sklearn"]
    assert sorted(order) == sorted(name.removeprefix("glassnet.") for name in MODULES)
    for position, name in enumerate(order):
        tree = ast.parse(source(f"glassnet.{name}").read_text())
        imported = {
            node.module.removeprefix("glassnet.")
            for node in tree.body  # module level only
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glassnet.")
        }
        assert imported <= set(order[:position]), f"glassnet.{name} imports {imported - set(order[:position])}"
        importlib.import_module(f"glassnet.{name}")


def test_each_file_format_registers_its_own_reader() -> None:
    """The files room knows no room above it: each module that defines a file format registers the call that
    reads it, at import, and a format has one reader."""
    from glassnet import files
    from glassnet.bundles import Bundle, TabularCheckpoint
    from glassnet.checkpoints import TrainingCheckpoint
    from glassnet.network import NetworkDocument

    assert re.findall(r"glassnet\.[A-Z]\w*", (PACKAGE / "files.py").read_text()) == []  # no upper room's names
    owners: dict[str, list[type[BaseModel]]] = {
        "network": [NetworkDocument],
        "checkpoints": [TrainingCheckpoint],
        "bundles": [Bundle, TabularCheckpoint],
    }
    for module, models in owners.items():
        source = (PACKAGE / f"{module}.py").read_text()
        for model in models:
            assert f"register_reader({model.__name__}, " in source, f"glassnet.{module} registers {model.__name__}"
    assert files.LOADERS == {
        "glassnet.network": "glassnet.Network.load",
        "glassnet.bundle": "glassnet.TabularModel.load",
        "glassnet.checkpoint": "glassnet.TrainingRun.load",
        "glassnet.tabular-checkpoint": "glassnet.TabularModel.resume, or glassnet --resume (python train.py --resume)",
    }
    files.register_reader(Bundle, "glassnet.TabularModel.load")  # again, the same: nothing changes
    with pytest.raises(ValueError, match=r"^reader: glassnet.bundle files are read with glassnet.TabularModel.load"):
        files.register_reader(Bundle, "glassnet.Network.load")
    assert files.LOADERS["glassnet.bundle"] == "glassnet.TabularModel.load"
