"""The README is a front page: short, set up in two commands, Python run one way.

Its blocks run, and its outputs are compared with fresh runs, in tests/test_docs.py, with the guides'.
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_is_a_page_read_in_five_minutes() -> None:
    assert len(README.read_text().splitlines()) <= 200


def test_readme_names_the_ci_test_command() -> None:
    ci_script = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in README.read_text()
    assert "python -m pytest" in ci_script


def test_readme_sets_up_in_two_commands_and_runs_python_one_way() -> None:
    """One command runs the main job, one passes the tests (CI's command); Python always runs in the
    activated venv, never as .venv/bin/python beside a bare python."""
    text = README.read_text()
    setup = text[text.index("## Set up and run") : text.index("## What `python train.py` shows")]
    commands = re.findall(r"```bash\n(.*?)\n```", setup, flags=re.DOTALL)
    assert len(commands) == 2
    assert all("source .venv/bin/activate" in command and "\n" not in command for command in commands)
    assert commands[0].endswith("&& python train.py")
    assert commands[1].endswith("&& python -m pytest")
    assert set(re.findall(r"\.venv/bin/\w+", text)) == {".venv/bin/activate"}
