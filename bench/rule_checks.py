"""Where glassnet checks its arguments: the places that call a rule, and the fields that declare one.

    python bench/rule_checks.py        # per module: the checks in place, then the bounds declared

A check in place is a call of one of `glassnet.rules`' rules (``positive_int(n, "n")``,
``one_of(...)``, ``optional_seed(...)``, ``RULES[name](value, name)``) or of
`glassnet.fields.float_array`, or a rule's ``.parse`` given to argparse. A declaration of a
setting's bounds is a rule as the ``Annotated`` metadata of a type (which the record it types
checks), a rule in a table of rules, or a pydantic ``Field`` bound in the settings records.
Read from the source, so it counts the code as written.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "glassnet"
SETTINGS = {"settings", "optim"}
"""The modules of the settings records, whose bounds the issue found declared twice."""
RULES = {
    "positive_int",
    "non_negative_int",
    "positive_number",
    "non_negative_number",
    "open_fraction",
    "decay",
    "optional",
    "optional_seed",
    "one_of",
    "float_array",
}


def _rule_named(node: ast.expr) -> bool:
    """Whether ``node`` names a rule: ``positive_int``, ``optional(positive_int)``, ``RULES["epochs"]``,
    ``rule_of(TrainingSettings, "epochs")``."""
    if isinstance(node, ast.Name):
        return node.id in RULES
    if isinstance(node, ast.Subscript):
        return ast.unparse(node.value) == "RULES"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in {"optional", "rule_of"}
    return False


def counts() -> tuple[Counter[str], Counter[str]]:
    """Per module: the checks in place, and the declarations of a number's bounds (a rule as ``Annotated``
    metadata, a table of rules, or pydantic's ``ge``, ``gt``, ``le``, ``lt`` in a settings record)."""
    in_place: Counter[str] = Counter()
    declared: Counter[str] = Counter()
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem == "rules":  # the rules themselves
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            called = isinstance(node, ast.Call) and _rule_named(node.func) and ast.unparse(node.func) != "optional"
            if called or (isinstance(node, ast.Attribute) and node.attr == "parse" and _rule_named(node.value)):
                in_place[path.stem] += 1
            elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("Annotated"):
                metadata = node.slice.elts[1:] if isinstance(node.slice, ast.Tuple) else []
                declared[path.stem] += sum(_rule_named(item) for item in metadata)
            elif isinstance(node, ast.Dict) and path.stem in SETTINGS:
                declared[path.stem] += sum(_rule_named(value) for value in node.values if value is not None)
            elif isinstance(node, ast.Call) and ast.unparse(node.func) == "Field" and path.stem in SETTINGS:
                declared[path.stem] += any(word.arg in {"ge", "gt", "le", "lt"} for word in node.keywords)
    return +in_place, +declared


if __name__ == "__main__":
    in_place, declared = counts()
    for module in sorted(set(in_place) | set(declared)):
        print(f"{module:12} {in_place[module]:3} {declared[module]:3}")
    print(f"{sum(in_place.values())} checks in place in {len(in_place)} modules; ", end="")
    print(f"{sum(declared.values())} bounds declared in {len(declared)} modules")
