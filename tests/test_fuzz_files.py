"""Fuzzing the model and bundle loaders with hundreds of mutated files.

``Network.load`` and ``glassnet.files.read_model(path, bundles.Bundle)`` (and, for a handful,
``train.py --model X --predict Y``) must answer every file with either

* a ``ValueError`` (or subclass) whose message names the file, or
* a successful load of a document that is still valid: every parameter finite, the
  network buildable, and the same network again after a save and a load;

never another exception (``AttributeError``, ``KeyError``, ``OverflowError``,
``RecursionError``, ``MemoryError``, ...), never a non-finite number, and never any code
run from the file. Mutations are seeded (``random.Random(0)`` per kind), so a failure
names its kind and reproduces.
"""

from __future__ import annotations

import copy
import io
import json
import pickle
import random
import re
import subprocess
import sys
import textwrap
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from glassnet import Network, cli, make_housing
from glassnet.bundles import Bundle
from glassnet.files import read_model

Json = Any  # a decoded JSON value
Mutation = Callable[[random.Random, str, Json, Path], bytes]


# --------------------------------------------------------------------------- #
# The originals and the loaders
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A saved network and a saved bundle (multiclass: labels and a scaler to attack too)."""
    folder = tmp_path_factory.mktemp("originals")
    Network([3, 4, 2], activation="tanh", head="softmax", seed=1).save(folder / "network.json")
    argv = ["--samples", "60", "--epochs", "2", "--task", "multiclass", "--save", str(folder / "bundle.json")]
    assert cli.main(argv, out=io.StringIO()) == 0
    return {kind: (folder / f"{kind}.json").read_text(encoding="utf-8") for kind in ("network", "bundle")}


def _assert_finite_and_stable(net: Network, path: Path) -> None:
    assert all(np.isfinite(p.weights).all() and np.isfinite(p.bias).all() for p in net.params), "non-finite loaded"
    again = path.with_name(path.name + ".again.json")
    net.save(again)
    reloaded = Network.load(again)
    assert reloaded.layer_sizes == net.layer_sizes
    assert all(
        a.weights.tobytes() == b.weights.tobytes() and a.bias.tobytes() == b.bias.tobytes()
        for a, b in zip(reloaded.params, net.params, strict=True)
    ), "the loaded network does not survive a save and a load"
    again.unlink()


def load_network(path: Path) -> None:
    _assert_finite_and_stable(Network.load(path), path)


def load_bundle(path: Path) -> None:
    bundle = read_model(path, Bundle)
    _assert_finite_and_stable(Network.from_document(bundle.network), path)
    scalers = [bundle.features.scaler, *([bundle.target.scaler] if bundle.target.scaler is not None else [])]
    assert all(np.isfinite(s.mean).all() and np.isfinite(s.scale).all() for s in scalers), "non-finite scaler"


LOADERS: dict[str, Callable[[Path], None]] = {"network": load_network, "bundle": load_bundle}


def problem(load: Callable[[Path], None], path: Path, *, must_reject: bool = False) -> str | None:
    """None for an acceptable outcome, else what went wrong."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(path)
    except ValueError as error:
        return None if str(path) in str(error) else f"ValueError without the path: {str(error)[:200]}"
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the point of the test: anything else is a defect
        return f"{type(error).__name__}: {str(error)[:200]}"
    return "loaded, but it must be rejected" if must_reject else None


# --------------------------------------------------------------------------- #
# Mutations
# --------------------------------------------------------------------------- #

BAD_NUMBERS = [
    "1e999",
    "-1e999",
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "nan",
    "inf",
    '"NaN"',
    '"inf"',
    '"-Infinity"',
    '"1e999"',
    '"abc"',
    '""',
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "[1e999]",
    "1e308",
    "-1e308",
    "5e-324",
    "-0.0",
    "1e-400",
    "123456789012345678901234567890",
    "1" + "0" * 5000,
    "0x10",
    "1_000",
    "+1",
    ".5",
    "1.",
    "01",
]
ODD_VALUES: list[Json] = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    2**70,
    "",
    "x",
    "float64",
    [],
    {},
    [1, 2],
    [[1.0]],
    {"a": 1},
    {"data_type": "float64", "data": [1.0]},
    {"data_type": "float64"},
    {"data": [[1.0]]},
]
DTYPES = [
    "object",
    "O",
    "float32",
    "float16",
    "longdouble",
    "float128",
    "int64",
    "int8",
    "uint8",
    "bool",
    "complex128",
    "<U3",
    "S3",
    "V8",
    "M8[s]",
    "m8[s]",
    "f8,f8",
    "(2,)f8",
    "(1000000000000,)f8",
    "garbage",
    "",
    "float64 ",
    ">f8",
    "<f8",
    "d",
    "=f8",
    5,
    None,
    True,
    [],
    {},
]
INTEGER_OVERFLOWS = [("int8", 300), ("uint8", -1), ("int16", 70000), ("int64", 2**70), ("uint64", -1), ("int64", 1e30)]
SHAPES: list[Json] = [
    [],
    [0],
    [-1],
    [-1, -1],
    [10**12, 10**12],
    [2**63],
    [2**64],
    [1.5, 2],
    [True, 3],
    "ab",
    None,
    {},
    [[2, 3]],
    [10**6, 0],
    [0, 10**6],
]
LAYER_SIZES: list[Json] = [
    [],
    [3],
    [0, 4, 2],
    [-3, 4, 2],
    [3, 4, 0],
    [10**30, 4, 2],
    [True, 4, 2],
    ["3", 4, 2],
    [3.0, 4, 2],
    [3.5, 4, 2],
    [3, 4, 2, 1],
    [4, 3, 2],
    None,
    "3,4,2",
    3,
]


def _encode(doc: Json) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def _nodes(doc: Json, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (keys and indexes) in ``doc``, the root excluded."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*path, key)
            yield from _nodes(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*path, index)
            yield from _nodes(value, (*path, index))


def _set(doc: Json, path: tuple[Any, ...], value: Json) -> Json:
    mutated = copy.deepcopy(doc)
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return mutated


def _arrays(doc: Json) -> list[tuple[Any, ...]]:
    """Paths of the stored arrays (dicts with a ``data_type``)."""
    found = []
    for path in _nodes(doc):
        node = doc
        for part in path:
            node = node[part]
        if isinstance(node, dict) and "data_type" in node:
            found.append(path)
    return found


def _network_part(doc: Json) -> tuple[Any, ...]:
    return ("network",) if doc.get("format") == "glassnet.bundle" else ()


def truncate(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    return text.encode("utf-8")[: rng.randrange(len(text))]


def flip_bytes(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.randint(1, 3)):
        data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    return bytes(data)


def delete_span(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    start = rng.randrange(len(text))
    return (text[:start] + text[start + rng.randint(1, 40) :]).encode("utf-8")


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def replace_number(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    match = rng.choice(list(NUMBER.finditer(text)))
    return (text[: match.start()] + rng.choice(BAD_NUMBERS) + text[match.end() :]).encode("utf-8")


def drop_key(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    path = rng.choice([p for p in _nodes(doc) if isinstance(p[-1], str)])
    mutated = copy.deepcopy(doc)
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return _encode(mutated)


def retype_node(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    return _encode(_set(doc, rng.choice(list(_nodes(doc))), copy.deepcopy(rng.choice(ODD_VALUES))))


def change_data_type(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    return _encode(_set(doc, (*rng.choice(_arrays(doc)), "data_type"), rng.choice(DTYPES)))


def overflow_integer(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    array = rng.choice(_arrays(doc))
    dtype, value = rng.choice(INTEGER_OVERFLOWS)
    mutated = _set(doc, (*array, "data_type"), dtype)
    data = mutated
    for part in (*array, "data"):
        data = data[part]
    while isinstance(data[0], list):
        data = data[0]
    data[0] = value
    return _encode(mutated)


def change_shape(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    return _encode(_set(doc, (*rng.choice(_arrays(doc)), "shape"), copy.deepcopy(rng.choice(SHAPES))))


def change_layer_sizes(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    return _encode(_set(doc, (*_network_part(doc), "layer_sizes"), copy.deepcopy(rng.choice(LAYER_SIZES))))


def change_header(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    where = rng.choice([(), _network_part(doc)])
    headers: list[tuple[str, list[Json]]] = [
        ("format", ["glassnet.network", "glassnet.bundle", "", None, 1, "GLASSNET.NETWORK"]),
        ("version", [0, 2, "1", 1.5, None, True, -1, 10**100]),
        ("head", ["identity", "sigmoid", "softmax", "tanh", "", None, 0]),
        ("activation", ["relu", "garbage", "", None, 0, "__class__", "register_activation", "ACTIVATIONS"]),
    ]
    field, values = rng.choice(headers)
    return _encode(_set(doc, (*where, field), rng.choice(values)))


def nest_deeply(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    depth = rng.choice([100, 1_000, 10_000, 100_000])
    if rng.random() < 0.3:
        return ("[" * depth + "]" * depth).encode()
    marker = '"__DEEP__"'
    return _encode(_set(doc, rng.choice(list(_nodes(doc))), "__DEEP__")).replace(
        marker.encode(), b"[" * depth + b"]" * depth
    )


def re_encode(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    choices: list[Callable[[], bytes]] = [
        lambda: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda: text.encode("utf-16"),
        lambda: text.encode("utf-32"),
        lambda: text.replace('"tanh"', '"tänh"').encode("latin-1"),
        lambda: text.encode("utf-8").replace(b",", b",\x00", 1),
        lambda: b"",
        lambda: b" \n\t ",
        lambda: b"null",
        lambda: b"[]",
        lambda: b"0",
        lambda: b'"glassnet.network"',
        lambda: text.encode("utf-8") + b"garbage",
        lambda: text.encode("utf-8") * 2,
        lambda: zlib.compress(text.encode("utf-8")),
        lambda: text.encode("utf-8").replace(b"{", b'{"params":[],', 1),  # a duplicate key
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
    ]
    return rng.choice(choices)()


def make_unbuildable(rng: random.Random, text: str, doc: Json, folder: Path) -> bytes:
    """Well-formed documents describing a network that cannot exist."""
    part = _network_part(doc)
    net = copy.deepcopy(doc)
    for key in part:
        net = net[key]
    choice = rng.randrange(4)
    if choice == 0:
        net.update(layer_sizes=net["layer_sizes"][:1], params=[])
    elif choice == 1:
        net.update(head="sigmoid")  # with several outputs
    elif choice == 2:
        net.update(activation="swish")  # never registered
    else:
        last = net["params"][-1]
        last["weights"].update(
            data=[row[:1] for row in last["weights"]["data"]], shape=[len(last["weights"]["data"]), 1]
        )
        last["bias"].update(data=last["bias"]["data"][:1], shape=[1])
        net.update(layer_sizes=[*net["layer_sizes"][:-1], 1], head="softmax")
    return _encode(doc if not part else _set(doc, part, net))


MUTATIONS: dict[str, tuple[Mutation, int]] = {
    "truncated": (truncate, 40),
    "bytes flipped": (flip_bytes, 40),
    "span deleted": (delete_span, 25),
    "number replaced": (replace_number, 60),
    "key dropped": (drop_key, 30),
    "node retyped": (retype_node, 40),
    "data_type changed": (change_data_type, 30),
    "integer data_type overflowed": (overflow_integer, 12),
    "shape changed": (change_shape, 20),
    "layer_sizes changed": (change_layer_sizes, 15),
    "header changed": (change_header, 25),
    "deep nesting": (nest_deeply, 8),
    "encoding": (re_encode, 25),
    "unbuildable network": (make_unbuildable, 8),
}


@pytest.mark.parametrize("kind", list(MUTATIONS))
@pytest.mark.parametrize("target", list(LOADERS))
def test_mutated_files_are_loaded_validly_or_rejected_naming_the_file(
    target: str, kind: str, originals: dict[str, str], tmp_path: Path
) -> None:
    mutate, count = MUTATIONS[kind]
    text = originals[target]
    doc = json.loads(text)
    rng = random.Random(0)
    failures: list[str] = []
    for i in range(count):
        path = tmp_path / f"{target}-{i}.json"
        content = mutate(rng, text, doc, tmp_path)
        path.write_bytes(content)
        found = problem(LOADERS[target], path)
        if found is not None:
            failures.append(f"#{i} ({content[:100]!r}...): {found}")
    assert not failures, f"{len(failures)} of {count} {kind} files:\n" + "\n".join(failures[:6])


def test_the_originals_load(originals: dict[str, str], tmp_path: Path) -> None:
    """The fuzzing starts from files the loaders accept, so a rejection means the mutation."""
    for target, load in LOADERS.items():
        path = tmp_path / f"{target}.json"
        path.write_text(originals[target], encoding="utf-8")
        assert problem(load, path) is None


# --------------------------------------------------------------------------- #
# Files that are not JSON at all, and files that point elsewhere
# --------------------------------------------------------------------------- #


class Payload:
    """Unpickling this creates ``marker``: proof that a loader executed the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """The payload below really does run when unpickled, so its absence later means something."""
    control = tmp_path / "control"
    handle = pickle.loads(pickle.dumps(Payload(control)))
    handle.close()
    assert control.exists()


def _pickled(protocol: int) -> Callable[[Path, dict[str, Any]], bytes]:
    return lambda marker, doc: pickle.dumps({"doc": doc, "x": Payload(marker)}, protocol=protocol)


FOREIGN: dict[str, Callable[[Path, dict[str, Any]], bytes]] = {
    **{f"pickle protocol {protocol}": _pickled(protocol) for protocol in range(pickle.HIGHEST_PROTOCOL + 1)},
    "pickled payload alone": lambda marker, doc: pickle.dumps(Payload(marker), protocol=0),
    "npy renamed": lambda marker, doc: _npy(np.arange(12.0).reshape(3, 4)),
    "npy of pickled objects": lambda marker, doc: _npy(np.array([Payload(marker)], dtype=object)),
    "npz renamed": lambda marker, doc: _npz(weights=np.arange(12.0).reshape(3, 4), bias=np.zeros(4)),
}


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.parametrize("foreign", list(FOREIGN))
@pytest.mark.parametrize("target", list(LOADERS))
def test_foreign_files_are_rejected_and_never_executed(
    target: str, foreign: str, originals: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "EXECUTED"
    path = tmp_path / f"{target}.json"
    path.write_bytes(FOREIGN[foreign](marker, json.loads(originals[target])))
    assert problem(LOADERS[target], path, must_reject=True) is None
    assert not marker.exists(), "the loader executed code from the file"


def test_an_array_given_as_a_file_path_is_not_read_from_that_file(originals: dict[str, str], tmp_path: Path) -> None:
    """pydantic-numpy can fill an array from a .npy path; a model file must not make the loader
    open other files. Each stored array is replaced by the path of a .npy holding a valid one."""
    doc = json.loads(originals["network"])
    failures = []
    for i, array in enumerate(_arrays(doc)):
        node = doc
        for part in array:
            node = node[part]
        values = np.array(node["data"], dtype=np.float64)
        npy = tmp_path / f"array-{i}.npy"
        npy.write_bytes(_npy(values))
        path = tmp_path / f"points-elsewhere-{i}.json"
        path.write_bytes(_encode(_set(doc, array, str(npy))))
        found = problem(load_network, path, must_reject=True)
        if found is not None:
            failures.append(f"{array}: {found}")
    assert not failures, "\n".join(failures)


def test_unreadable_paths_are_rejected_naming_them(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    for path in (tmp_path / "missing.json", tmp_path, loop):
        for target, load in LOADERS.items():
            assert problem(load, path, must_reject=True) is None, (target, path)


def test_a_tiny_file_cannot_make_the_loader_allocate_gigabytes(originals: dict[str, str], tmp_path: Path) -> None:
    """``data_type`` goes straight to ``np.array(data, dtype=...)``: a 300-byte file asking for
    "S2000000000" makes the loader allocate 2 GB per number before any check. Run in a child
    whose address space is capped at 2 GiB above its start, so the outcome does not depend on
    this machine's memory: a clean rejection, not a MemoryError (or an exhausted host)."""
    doc = json.loads(originals["network"])
    paths = []
    for i, dtype in enumerate(["S2000000000", "U500000000", "V2000000000", "(100000000,)f8"]):
        path = tmp_path / f"bomb-{i}.json"
        path.write_bytes(_encode(_set(doc, (*_arrays(doc)[0], "data_type"), dtype)))
        paths.append(str(path))
    child = textwrap.dedent(
        """
        import json, resource, sys
        import glassnet
        with open("/proc/self/status") as status:
            kib = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = kib * 1024 + 2 * 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        for path in sys.argv[1:]:
            try:
                glassnet.Network.load(path)
                print(json.dumps([path, "loaded", ""]))
            except BaseException as error:
                print(json.dumps([path, type(error).__name__, str(error)]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", child, *paths], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1]
    )
    assert result.returncode == 0, result.stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outcomes) == len(paths), result.stdout + result.stderr
    bad = [
        (path, kind, message[:120]) for path, kind, message in outcomes if kind != "ValueError" or path not in message
    ]
    assert not bad, bad


# --------------------------------------------------------------------------- #
# Bundles that are valid piece by piece but not as a whole
# --------------------------------------------------------------------------- #


def _inconsistent(doc: Json, how: str) -> Json:
    mutated = copy.deepcopy(doc)
    net = mutated["network"]
    if how == "network input narrower than the features":
        first = net["params"][0]["weights"]
        first.update(data=first["data"][:-1], shape=[len(first["data"]) - 1, first["shape"][1]])
        net["layer_sizes"][0] -= 1
    elif how == "more outputs than class labels":
        mutated["target"]["labels"] = mutated["target"]["labels"][:2]
    elif how == "a regression head for a classification target":
        mutated["target"] = {
            "column": "price",
            "task": "regression",
            "labels": None,
            "scaler": {
                "mean": {"data_type": "float64", "data": [0.0]},
                "scale": {"data_type": "float64", "data": [1.0]},
            },
        }
    return mutated


@pytest.mark.parametrize(
    "how",
    [
        "network input narrower than the features",
        "more outputs than class labels",
        "a regression head for a classification target",
    ],
)
def test_an_inconsistent_bundle_is_rejected_when_read(how: str, originals: dict[str, str], tmp_path: Path) -> None:
    """Each part validates alone; together they cannot predict. Reading should say so, naming the
    file, rather than loading and failing later at --predict with a message about X or values."""
    path = tmp_path / "bundle.json"
    path.write_bytes(_encode(_inconsistent(json.loads(originals["bundle"]), how)))
    assert problem(load_bundle, path, must_reject=True) is None


# --------------------------------------------------------------------------- #
# The command line on a handful of mutated bundles
# --------------------------------------------------------------------------- #

CLI_CASES: dict[str, Callable[[str, Json, Path], bytes]] = {
    "unchanged": lambda text, doc, folder: text.encode("utf-8"),
    "truncated": lambda text, doc, folder: text.encode("utf-8")[: len(text) // 2],
    "weights as a list": lambda text, doc, folder: _encode(
        _set(doc, ("network", "params", 0, "weights"), [[1.0] * 4] * 4)
    ),
    "array without data": lambda text, doc, folder: _encode(
        _set(doc, ("network", "params", 0, "bias"), {"data_type": "float64"})
    ),
    "int8 overflow": lambda text, doc, folder: overflow_integer(random.Random(1), text, doc, folder),
    "deeply nested": lambda text, doc, folder: b"[" * 100_000 + b"]" * 100_000,
    "NaN bias": lambda text, doc, folder: _encode(doc).replace(b'"data":[0.0', b'"data":[NaN', 1),
    "1e999 in a scaler": lambda text, doc, folder: _encode(doc).replace(
        b'"mean":{"data_type":"float64","data":[', b'"mean":{"data_type":"float64","data":[1e999,', 1
    ),
    "pickle": lambda text, doc, folder: pickle.dumps(Payload(folder / "EXECUTED")),
    "unbuildable network": lambda text, doc, folder: _encode(_set(doc, ("network", "head"), "sigmoid")),
    "input narrower than the features": lambda text, doc, folder: _encode(
        _inconsistent(doc, "network input narrower than the features")
    ),
    "labels of two kinds": lambda text, doc, folder: _encode(_set(doc, ("target", "labels"), [0, "1", 2])),
    "a NaN label": lambda text, doc, folder: _encode(_set(doc, ("target", "labels"), [0.0, 1.0, 2.0])).replace(
        b"[0.0,1.0,2.0]", b"[0.0,NaN,2.0]"
    ),
    "an older bundle: text labels": lambda text, doc, folder: _encode(_set(doc, ("target", "labels"), ["0", "1", "2"])),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_predict_with_a_mutated_bundle_exits_cleanly(
    case: str, originals: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "model.json"
    model.write_bytes(CLI_CASES[case](originals["bundle"], json.loads(originals["bundle"]), tmp_path))
    rows = tmp_path / "rows.csv"
    rows.write_text(make_housing(5, seed=3).drop(columns="price").to_csv(index=False), encoding="utf-8")
    out = io.StringIO()
    try:
        with np.errstate(all="ignore"):
            status = cli.main(["--model", str(model), "--predict", str(rows)], out=out)
    except BaseException as error:  # the point: nothing may escape as a traceback
        pytest.fail(f"raised {type(error).__name__}: {str(error)[:200]}")
    err = capsys.readouterr().err
    assert not (tmp_path / "EXECUTED").exists()
    if case in ("unchanged", "an older bundle: text labels"):
        assert status == 0, err
        predicted = pd.read_csv(io.StringIO(out.getvalue()))
        assert list(predicted.columns)[-4:] == ["prediction", "probability_0", "probability_1", "probability_2"]
        assert set(predicted["prediction"]) <= {0, 1, 2}
        return
    lines = err.strip().splitlines()
    assert status == 1 and len(lines) == 1 and lines[0].startswith("error: "), (status, err)
    assert str(model) in lines[0], f"the message should name the model file: {lines[0]}"
