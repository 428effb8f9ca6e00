"""Every example in the README and in docs/ runs as a user would copy it, in order, in a fresh folder.

A page's blocks run in document order in a temporary folder laid out as a checkout (a symlink
to each of the checkout's top-level files and folders), where the files the blocks write land:

- a ```bash block runs with ``bash -e``, its working folder the temporary one and this test's
  ``python`` first on ``PATH``;
- a ```python block holds ``>>>`` examples and runs as a doctest (NORMALIZE_WHITESPACE and
  ELLIPSIS), in one namespace per page, with the temporary folder as working folder;
- a ```text block is output, never run, and says whose: marked ``<!-- output of the block
  above -->`` it must be, line by line and in order, what the last bash block printed;
  marked ``<!-- output of: COMMAND -->``, what COMMAND prints when run there (numbers to 4
  significant digits, ``...`` standing for text left out).

A block that cannot run in a test is marked ``<!-- not run: the reason -->`` right before it,
and `check_not_run` says what is checked of it instead; a marked block it does not know fails.
The pages' tables of defaults and thresholds are held to the code at the end.
"""

from __future__ import annotations

import doctest
import importlib.metadata
import io
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pytest

import glassnet
import train
from glassnet import cli, diagnosis
from glassnet.settings import default_learning_rates

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LEFT_OUT = {".git", ".venv", ".venv-ci", "site", "build", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", flags=re.MULTILINE | re.DOTALL)
MARK = re.compile(r"<!--\s*(not run|output of the block above|output of):?\s*([^>]*?)\s*-->\s*\Z")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?")
OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
CI = (ROOT / ".ci" / "run").read_text()


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: its language, text, first line, and the mark right before it ('' if none)."""

    page: Path
    language: str
    text: str
    line: int
    mark: str
    detail: str  # the reason of 'not run', the command of 'output of:'

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        mark = MARK.search(text[: match.start()].rstrip())
        found.append(
            Block(
                page=page,
                language=match[1],
                text=match[2].rstrip("\n"),
                line=text.count("\n", 0, match.start()) + 2,
                mark=mark[1] if mark else "",
                detail=mark[2] if mark else "",
            )
        )
    return found


def same_line(shown: str, printed: str) -> bool:
    """Equal text, and numbers equal to 4 significant digits (BLAS kernels differ in the last bits);
    ``...`` in ``shown`` stands for any text, so ``245287.48...`` may stand for a longer number."""
    pattern = "".join(
        ".*?" if token == "..." else f"({NUMBER.pattern})" if NUMBER.fullmatch(token) else re.escape(token)
        for token in re.split(rf"(\.\.\.|{NUMBER.pattern})", shown)
    )
    match = re.fullmatch(pattern, printed)
    return match is not None and all(
        math.isclose(float(a.replace(",", "")), float(b.replace(",", "")), rel_tol=1e-4)
        for a, b in zip(NUMBER.findall(shown), match.groups(), strict=True)
    )


def lines_not_printed(shown: str, printed: str) -> list[str]:
    """The lines of ``shown`` (blank lines and lines of ``...`` aside) not found, in order, in ``printed``."""
    lines = iter(printed.splitlines())
    wanted = [line for line in shown.splitlines() if line.strip() not in ("", "...")]
    return [line for line in wanted if not any(same_line(line, candidate) for candidate in lines)]


def checkout(folder: Path) -> Path:
    """``folder`` laid out as a user's checkout: a symlink to each top-level file and folder of this one."""
    for entry in ROOT.iterdir():
        if entry.name not in LEFT_OUT:
            (folder / entry.name).symlink_to(entry)
    return folder


def run_shell(block: Block, script: str, folder: Path) -> str:
    """Run ``script`` with ``bash -e`` in ``folder``, this test's Python first on PATH; what it printed."""
    environment = {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(ROOT),  # this checkout's glassnet, whatever the venv has installed
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{block.where} failed ({result.returncode}):\n{script}\n{result.stderr}"
    return result.stdout + result.stderr


def output_of(block: Block, folder: Path) -> str:
    """What the command of an ``<!-- output of: COMMAND -->`` mark prints in ``folder``: ``python train.py``
    runs in this process (``train.main``, the same code without a Python start), anything else in bash."""
    command = shlex.split(block.detail)
    if command[:2] != ["python", "train.py"]:
        return run_shell(block, block.detail, folder)
    out = io.StringIO()
    assert train.main(command[2:], out=out) == 0, f"{block.where}: {block.detail} failed"
    return out.getvalue()


# --------------------------------------------------------------------------- #
# What is checked of the blocks that are not run
# --------------------------------------------------------------------------- #


def ci_makes_the_venv_and_installs_glassnet(block: Block) -> None:
    assert "python3 -m venv" in CI and "pip install --quiet -e ." in CI
    assert block.text.endswith("&& python train.py")  # whose output the README shows, compared below


def ci_runs_the_test_command(block: Block) -> None:
    command = block.text.split(" && ")[-1]
    assert command == "python -m pytest"
    assert "pip install --quiet -r requirements-dev.txt" in CI
    assert f"\n{command} " in CI


def jupyter_lab_is_installed(block: Block) -> None:
    """requirements-dev.txt installs the notebook's requirements, and with them JupyterLab 4 and the program
    ``jupyter lab`` runs (``jupyter-lab``), beside this Python. (``jupyter lab --version`` says the same in 2 s.)"""
    assert "-r requirements-notebook.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "jupyterlab>=4" in (ROOT / "requirements-notebook.txt").read_text()
    assert importlib.metadata.version("jupyterlab").startswith("4."), "pip install -r requirements-notebook.txt"
    for program in ("jupyter", "jupyter-lab"):
        assert shutil.which(program, path=str(Path(sys.executable).parent)), f"{program} is not beside {sys.executable}"


def ci_builds_the_reference(block: Block) -> None:
    assert "pip install --quiet -r requirements-docs.txt" in CI
    assert "mkdocs build --strict --site-dir" in CI


def distributed_test_runs_it(block: Block) -> None:
    source = (ROOT / "tests" / "test_distributed.py").read_text()
    assert f'"{block.page.relative_to(ROOT)}"' in source.replace('" / "', "/")
    assert f"```bash\\n{block.text.split(' --')[0]}" in source


def bench_test_holds_its_tables(block: Block) -> None:
    assert block.detail.startswith(("python bench/compare.py", "python bench/tables.py"))
    assert "docs/performance.md" in (ROOT / "tests" / "test_bench.py").read_text().replace('" / "', "/")


def contract_names_are_glassnet_s(block: Block) -> None:
    """Every class and function the signatures name, and every method of those classes, is glassnet's."""
    missing, owner = [], None
    for line in block.text.splitlines():
        code = line.split("#")[0]
        if match := re.match(r"class (\w+)", code):
            owner = getattr(glassnet, match[1], None)
            missing += [] if owner is not None else [match[1]]
        elif (match := re.match(r"\s+def (\w+)", code)) and owner is not None:
            missing += [] if hasattr(owner, match[1]) else [f"{owner.__name__}.{match[1]}"]
        elif match := re.match(r"def (\w+)", code):
            missing += [] if hasattr(glassnet, match[1]) else [match[1]]
        elif match := re.match(r"(\w+)\.(\w+)\(", code):
            missing += [] if hasattr(getattr(glassnet, match[1], None), match[2]) else [match[0]]
    assert missing == [], f"{block.where}: the contract names what glassnet does not have: {missing}"


def contract_names_are_not_built_yet(block: Block) -> None:
    """The section marked not yet built: its classes are not glassnet's yet (when they are, drop the mark)."""
    declared = re.findall(r"^class (\w+)", block.text, flags=re.MULTILINE)
    assert declared and not [name for name in declared if hasattr(glassnet, name)]


NOT_RUN: dict[str, Callable[[Block], None]] = {
    "python3 -m venv .venv && source .venv/bin/activate && pip install -e . && python train.py": (
        ci_makes_the_venv_and_installs_glassnet
    ),
    "source .venv/bin/activate && pip install -r requirements-dev.txt && python -m pytest": ci_runs_the_test_command,
    "pip install -r requirements-notebook.txt && jupyter lab train.ipynb": jupyter_lab_is_installed,
    "pip install -r requirements-docs.txt && mkdocs build --strict && python -m webbrowser site/index.html": (
        ci_builds_the_reference
    ),
    "python -m examples.distributed_search --workers 2": distributed_test_runs_it,
}


def check_not_run(block: Block) -> None:
    if block.page.name == "contract.md" and block.language == "python":
        if "not yet built" in block.detail:
            contract_names_are_not_built_yet(block)
        else:
            contract_names_are_glassnet_s(block)
    elif block.language == "text":
        bench_test_holds_its_tables(block)
    else:
        assert block.text in NOT_RUN, f"{block.where}: marked 'not run', and tests/test_docs.py checks nothing of it"
        NOT_RUN[block.text](block)


# --------------------------------------------------------------------------- #
# The pages
# --------------------------------------------------------------------------- #


def run_page(page: Path, folder: Path) -> int:
    """Run every block of ``page`` in ``folder``, in order; return how many ran."""
    names: dict[str, object] = {"__name__": page.stem}
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    parser = doctest.DocTestParser()
    printed = None  # what the last bash block printed
    ran = 0
    for block in blocks(page):
        if block.mark == "not run":
            check_not_run(block)
        elif block.language == "bash":
            printed = run_shell(block, block.text, folder)
            ran += 1
        elif block.language == "python":
            assert ">>> " in block.text, f"{block.where}: a python block without >>> examples is never run"
            test = parser.get_doctest(block.text, names, block.where, str(page), block.line - 1)
            report = io.StringIO()
            results = runner.run(test, out=report.write, clear_globs=False)
            assert results.failed == 0, report.getvalue()
            names = test.globs  # a DocTest computes in a copy of the names it is given
            ran += 1
        elif block.language == "text" and block.mark:
            if block.mark == "output of":
                printed = output_of(block, folder)
            assert printed is not None, f"{block.where}: the output of no bash block"
            missing = lines_not_printed(block.text, printed)
            assert missing == [], f"{block.where}: lines not printed (in order) by its command: {missing}"
        else:
            pytest.fail(f"{block.where}: a ```{block.language} block without a mark: tests/test_docs.py cannot run it")
    return ran


ELSEWHERE = [ROOT / "docs" / name for name in ("checkpoints.md", "effects.md", "export.md", "tables.md")]
"""The pages tests/test_docs_guides.py runs, so that pytest-xdist runs the two halves on two workers."""
HERE = [page for page in PAGES if page not in ELSEWHERE]


def page_ids(pages: list[Path]) -> list[str]:
    return [str(page.relative_to(ROOT)) for page in pages]


def check_page(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block of ``page`` runs, in a fresh checkout in ``tmp_path``, as its working folder."""
    folder = checkout(tmp_path)
    monkeypatch.chdir(folder)
    runnable = [block for block in blocks(page) if block.language in ("bash", "python") and block.mark != "not run"]
    assert run_page(page, folder) == len(runnable)


@pytest.mark.stored  # the pages' printed numbers
@pytest.mark.parametrize("page", HERE, ids=page_ids(HERE))
def test_every_block_runs_as_written(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_page(page, tmp_path, monkeypatch)


def test_every_page_is_run_here_or_in_test_docs_guides() -> None:
    assert set(ELSEWHERE) <= set(PAGES)
    assert "ELSEWHERE" in (ROOT / "tests" / "test_docs_guides.py").read_text()


def test_the_readme_links_every_guide_and_the_site_lists_every_page() -> None:
    readme = (ROOT / "README.md").read_text()
    guides = {page.name for page in PAGES[1:]} - {"index.md", "reference.md"}
    assert set(re.findall(r"\]\(docs/([\w-]+\.md)(?:#[\w-]+)?\)", readme)) == guides
    site = (ROOT / "mkdocs.yml").read_text()
    assert set(re.findall(r": ([\w-]+\.md)$", site, flags=re.MULTILINE)) == {page.name for page in PAGES[1:]}


def test_the_reference_documents_every_public_name() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text()
    listed = re.findall(r"^        - (\w+)$", reference, flags=re.MULTILINE)
    assert sorted(listed) == sorted([*glassnet.__all__, "GlassnetClassifier", "GlassnetRegressor"])


def test_same_line_tells_numbers_apart_and_skips_what_was_left_out() -> None:
    assert same_line("| 10 | 1.085326e-01 | 328,819.61 |", "| 10 | 1.085330e-01 | 328,819.70 |")
    assert not same_line("| 10 | 1.085326e-01 |", "| 10 | 1.095326e-01 |")
    assert not same_line("| 10 | 1.085326e-01 |", "| 20 | 1.085326e-01 |")
    assert not same_line("train loss", "test loss")
    assert same_line("1840.08,2,28,245287.48...", "1840.08,2,28,245287.4812345")
    assert not same_line("1840.08,2,28,245287.48...", "1840.08,3,28,245287.4812345")
    assert same_line("resumed after epoch ... (first rows)", "resumed after epoch 280 (first rows)")


def test_an_output_its_command_does_not_print_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```bash\necho 'loss 0.5'\n```\n\n<!-- output of the block above -->\n```text\nloss 0.6\n```\n")
    with pytest.raises(AssertionError, match="lines not printed"):
        run_page(page, tmp_path)
    page.write_text("<!-- output of: echo 'loss 0.5' -->\n```text\nloss 0.5\n```\n")
    run_page(page, tmp_path)


def test_a_block_that_is_not_run_and_not_checked_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("<!-- not run: it would take too long -->\n```bash\npython train.py --epochs 100000\n```\n")
    with pytest.raises(AssertionError, match="checks nothing of it"):
        run_page(page, tmp_path)


# --------------------------------------------------------------------------- #
# What the pages state, held to the code
# --------------------------------------------------------------------------- #


def test_the_default_learning_rates_stated_are_the_optimizers_own() -> None:
    text = " ".join((ROOT / "docs" / "gradients.md").read_text().split())
    assert f"Default learning rates: {default_learning_rates()} (" in text


def test_the_command_line_defaults_stated_are_the_command_line_s() -> None:
    """Every `--option value` in the options table's first column is that option's default (`N`, `PATH` and
    the like say what to give instead)."""
    text = (ROOT / "docs" / "command-line.md").read_text()
    table = text[text.index("| option | meaning |") : text.index("\n\n", text.index("| option | meaning |"))]
    first_column = "\n".join(row.split(" | ")[0] for row in table.splitlines())
    found = re.findall(r"`--([a-z-]+) ([^`]+?)`", first_column)
    stated = [(option, value) for option, value in found if not value.split()[0].isupper()]  # N, PATH: to give
    assert len(stated) >= 10
    for option, value in stated:
        default = cli.DEFAULTS[option.replace("-", "_")]
        shown = value.split("\\|")[0]  # `--task regression\|binary\|multiclass`: the first is the default
        if isinstance(default, float):
            assert float(shown) == default, option
        else:
            assert shown == cli.shown_default(default), option


def test_the_diagnosis_thresholds_stated_are_the_code_s() -> None:
    """The table of the diagnosis's thresholds lists every one of them, at its value in the code."""
    text = (ROOT / "docs" / "gradients.md").read_text()
    table = text[text.index("| threshold | value | why this value |") :]
    stated = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", table[: table.index("\n\n")], flags=re.M))
    thresholds = {
        name: [float(v) for v in (value if isinstance(value, tuple) else [value])]
        for name, value in vars(diagnosis).items()
        if name.isupper() and not name.startswith("_") and type(value) in (int, float, tuple)
    }
    assert {name: [float(number) for number in value.split(",")] for name, value in stated.items()} == thresholds


def test_the_finding_kinds_stated_are_the_code_s() -> None:
    """The guide's table of findings has a row for every kind, and the contract lists them all, in order."""
    kinds = list(get_args(diagnosis.FindingKind))
    guide = (ROOT / "docs" / "gradients.md").read_text()
    table = guide[guide.index("| finding | what it measures | found when |") :]
    assert sorted(re.findall(r"^\| `(\w+)` \|", table[: table.index("\n\n")], flags=re.M)) == sorted(kinds)
    contract = (ROOT / "docs" / "contract.md").read_text()
    listed = contract[contract.index("kind: Literal[") : contract.index("]", contract.index("kind: Literal["))]
    assert re.findall(r'"(\w+)"', listed) == kinds
