"""The path of a ``--learning-rate``: every glassnet function its value passes, from ``main()`` to a weight.

    python bench/learning_rate_path.py        # the functions in call order, then how many

A command-line run on a few housing rows is traced with `sys.setprofile`. Whenever a glassnet
function is handed the value itself (the text typed, or the number, as an argument, among the
argument list or in a keyword dictionary), every glassnet function on the call stack is on the
path; so is every one on the stack of the first optimizer step, which moves the weights by it.
Objects that merely hold it (the parsed options, the settings, the run) do not count: a function
given the whole run is not handed the value.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glassnet import cli  # noqa: E402  (the repository folder must be on the path first)

TEXT = "0.0123"
"""The learning rate typed: a value no default or computed number takes."""
VALUE = float(TEXT)
PACKAGE = str(ROOT / "glassnet")
ARGV = ["--learning-rate", TEXT, "--epochs", "1", "--samples", "40"]


def handed(value: object) -> bool:
    """Whether ``value`` is the learning rate, as text or number, or a list or dictionary with it among its items."""
    if isinstance(value, list | tuple):
        return any(handed(item) for item in value if not isinstance(item, list | tuple | dict))
    if isinstance(value, dict):
        return handed(list(value.values()))
    return value == TEXT if isinstance(value, str) else isinstance(value, float) and value == VALUE


def _name(frame: FrameType) -> str:
    """``cli.run.main``: the function's module within glassnet, then its qualified name."""
    module = Path(frame.f_code.co_filename).relative_to(PACKAGE).with_suffix("")
    return ".".join([*module.parts, frame.f_code.co_qualname])


def path(argv: list[str] = ARGV) -> list[str]:
    """The glassnet functions the learning rate passes, in the order first met, to the first optimizer step."""
    found: list[str] = []
    done = False

    def watch(frame: FrameType, event: str, arg: object) -> None:
        nonlocal done
        code = frame.f_code
        if done or event != "call" or not code.co_filename.startswith(PACKAGE):
            return
        count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 4) + bool(code.co_flags & 8)
        arguments = [frame.f_locals[name] for name in code.co_varnames[:count] if name in frame.f_locals]
        done = code.co_name == "step" and Path(code.co_filename).stem == "optim"
        if done or any(handed(argument) for argument in arguments):
            stack: list[str] = []
            caller: FrameType | None = frame
            while caller is not None:
                if caller.f_code.co_filename.startswith(PACKAGE):
                    stack.insert(0, _name(caller))
                caller = caller.f_back
            found.extend(name for name in stack if name not in found)

    sys.setprofile(watch)
    try:
        cli.main(argv, out=io.StringIO())
    finally:
        sys.setprofile(None)
    return found


if __name__ == "__main__":
    functions = path()
    print("\n".join(functions))
    print(f"{len(functions)} functions")
