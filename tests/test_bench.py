"""The benchmark: `bench/compare.py --quick` prints its tables, alone and interleaved, and exits 0; and
`bench/row_path.py` follows a row of a table to training's first product."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # bench/ is a folder of scripts, not a package

import compare  # noqa: E402
import learning_rate_path  # noqa: E402
import row_path  # noqa: E402
import rule_checks  # noqa: E402

CONFIGS = ("small", "medium", "classifier", "full batch", "train.py default", "full batch 100k", "full batch tanh")
FLOOR_TARGETS = {"small": 1.65, "classifier": 1.5, "train.py default": 1.3, "full batch 100k": 1.4}
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

Table = tuple[list[str], list[list[str]]]


def tables(text: str) -> list[Table]:
    """Every github table in ``text``: its headers and its rows of cells."""
    found: list[Table] = []
    block: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif block:
            found.append((block[0], block[2:]))
            block = []
    return found


def table_with(text: str, *headers: str) -> Table:
    """The one table that has these headers side by side."""
    wanted = "|".join(headers)
    matches = [t for t in tables(text) if f"|{wanted}|" in "|".join(["", *t[0], ""])]
    assert len(matches) == 1, (headers, [t[0] for t in tables(text)])
    return matches[0]


def performance_guide_tables() -> list[list[str]]:
    """The headers of the tables of the full run's output that docs/performance.md shows."""
    guide = (ROOT / "docs" / "performance.md").read_text()
    start = guide.index("```text\n")
    shown = [headers for headers, _ in tables(guide[start : guide.index("\n```\n", start)])]
    assert len(shown) >= 4
    return shown


def number(cell: str) -> float:
    """``1,062`` -> 1062.0; ``2.22x`` -> 2.22."""
    return float(cell.replace(",", "").rstrip("x%"))


def quick_run(script: str, *options: str) -> str:
    """What ``python bench/SCRIPT --quick OPTIONS`` prints, run from the repository; it must exit 0."""
    command = [sys.executable, str(ROOT / "bench" / script), "--quick", *options]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quick_benchmark_prints_its_tables_and_exits_0(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    out = quick_run("compare.py", "--json", str(raw))
    assert "glassnet benchmark, " in out and "OPENBLAS_CORETYPE=" in out
    printed_tables = [headers for headers, _ in tables(out)]
    assert all(headers in printed_tables for headers in performance_guide_tables())  # the guide's are these
    assert "alone: glassnet, each in a fresh process per configuration, one thread: " in out
    assert " ".join(f"{name}={value}" for name, value in ONE_THREAD.items()) in out
    if "torch is not importable: skipping the PyTorch runs" in out:
        assert "skipped" in out

    # alone: glassnet and the floor for every configuration, with their page faults
    headers, rows = table_with(out, "minor page faults per epoch")
    column = {name: headers.index(name) for name in headers}
    for config in CONFIGS:
        mine = {row[column["library"]]: row for row in rows if row[column["config"]] == config}
        assert set(mine) == {"glassnet", "BLAS floor"}, config
        assert number(mine["glassnet"][column["ms per epoch"]]) > 0
        assert number(mine["BLAS floor"][column["minor page faults per epoch"]]) < 1  # its outputs are touched once
        assert number(mine["glassnet"][column["faults in epoch 1"]]) >= 0
        assert number(mine["glassnet"][column["faults per later epoch"]]) >= 0
        assert mine["BLAS floor"][column["faults in epoch 1"]] == "-"

    # alone: glassnet over the floor and the records cost, against their targets
    headers, rows = table_with(out, "glassnet / floor", "target", "met")
    assert "record_every=epochs ms" in headers and "records cost" in headers
    ratio_at, cost_at = headers.index("glassnet / floor"), headers.index("records cost")
    assert [row[0] for row in rows] == list(CONFIGS)
    document = json.loads(raw.read_text(encoding="utf-8"))
    for row in rows:
        limit = FLOOR_TARGETS.get(row[0])
        ratio, verdict = number(row[ratio_at]), row[ratio_at + 1 : ratio_at + 3]
        assert verdict == (["-", "-"] if limit is None else [f"<= {limit:.2f}x", "yes" if ratio <= limit else "no"])
        assert row[cost_at + 1].endswith(" us") and row[cost_at + 2] in ("<= 25 us", "<= 5%")
        assert row[cost_at + 3] in ("yes", "no")
    record_verdicts = {row[0]: (row[cost_at + 2], row[cost_at + 3]) for row in rows}

    # interleaved: the times (with glassnet's faults), the ratios to three peers and the floor table
    headers, rows = table_with(out, "glassnet faults per epoch", "others' CPUs")
    assert all(number(row[headers.index("glassnet faults per epoch")]) >= 0 for row in rows)
    interleaved = [table_with(out, name)[1] for name in ("scikit-learn ms", "glassnet / peer", "record_every=1 ms")]
    assert [[row[0] for row in rows] for rows in interleaved] == [
        list(CONFIGS),
        [config for config in CONFIGS for _ in range(3)],
        list(CONFIGS),
    ]

    headers, rows = table_with(out, "keep_rows ms", "keep_rows cost")  # what keep_rows=True adds, against +10%
    assert [row[0] for row in rows] == list(CONFIGS)
    assert all(row[headers.index("target")] == "<= 10%" and row[-1] in ("yes", "no") for row in rows)

    summary = re.search(r"targets met: (\d+)/(\d+) \(alone (\d+)/(\d+), interleaved (\d+)/(\d+)\)", out)
    assert summary is not None
    met, total, alone_met, alone_total, shared_met, shared_total = map(int, summary.groups())
    assert (met, total) == (alone_met + shared_met, alone_total + shared_total)
    assert (met, total) == (document["targets_met"], document["targets_total"]) == (met, len(document["targets"]))
    alone_targets = [t for t in document["targets"] if t["measured"] == "alone"]
    assert len(alone_targets) == alone_total == len(FLOOR_TARGETS) + len(CONFIGS) + 2  # floor, records, checkpoints
    assert {t["config"] for t in alone_targets if t["what"] == "glassnet/floor"} == set(FLOOR_TARGETS)
    sparse = {c["name"]: c["alone"]["median_seconds_per_epoch"]["glassnet_sparse"] for c in document["configs"]}
    for target in (t for t in alone_targets if t["what"] == "record us"):  # 5% of an epoch, or 25 us where less
        assert target["limit"] == pytest.approx(max(0.05 * sparse[target["config"]] * 1e6, 25.0))
        assert target["met"] == (target["value"] <= target["limit"])
        allowed = "<= 25 us" if target["limit"] == 25.0 else "<= 5%"
        assert record_verdicts[target["config"]] == (allowed, "yes" if target["met"] else "no")

    assert document["environment"]["alone"] == ["glassnet"]
    assert document["environment"]["alone_environment"] == ONE_THREAD
    assert [c["name"] for c in document["configs"]] == list(CONFIGS)
    for config in document["configs"]:
        alone = config["alone"]
        assert set(alone["median_seconds_per_epoch"]) == {"glassnet", "glassnet_sparse", "floor"}
        assert set(alone["minor_faults_per_epoch"]) == set(alone["seconds_per_epoch"])
        assert alone["glassnet_over_floor"] > 0 and isinstance(alone["records_cost_percent"], float)
        assert isinstance(alone["record_us"], float) and isinstance(config["record_us"], float)
        assert set(alone["glassnet_faults_by_epoch"]) == {"first_epoch", "later_epochs"}
        assert set(config["minor_faults_per_epoch"]) == set(config["seconds_per_epoch"])
        assert config["records_seconds_per_epoch"]["glassnet_sparse"]

    headers, rows = table_with(out, "effects ms", "one epoch ms", "effects / epoch")
    assert [row[:2] for row in rows] == [["train.py default", "10,000"], ["relu 64,64", "10,000"]]
    for row, measured in zip(rows, document["effects"], strict=True):
        ratio = measured["ratio"]
        assert len(measured["effects"]) == len(measured["epoch"]) == 1  # --quick: one repeat
        assert ratio == measured["effects"][0] / measured["epoch"][0] > 0
        assert row[headers.index("effects / epoch")] == f"{ratio:.2f}x"
        assert row[headers.index("target") :] == ["<= 1.00x", "yes" if ratio <= 1.0 else "no"]

    headers, rows = table_with(out, "plain s", "--checkpoint s", "checkpoint cost")
    assert [row[0] for row in rows] == ["20", "40"]  # --quick's epochs
    for row, measured in zip(rows, document["checkpoints"], strict=True):
        assert len(measured["plain"]) == len(measured["checkpointed"]) == 1 and measured["plain"][0] > 0
        cost = measured["cost_percent"]
        assert cost == pytest.approx((measured["checkpointed"][0] / measured["plain"][0] - 1) * 100)
        assert row[headers.index("checkpoint cost")] == f"{cost:+.1f}%"
        assert row[headers.index("target") :] == ["<= 15%", "yes" if cost <= 15 else "no"]
    short, long = document["checkpoints"]
    assert long["checkpoint_bytes"] < 1.05 * short["checkpoint_bytes"], "the checkpoint holds no records"
    assert long["log_bytes"] > 1.8 * short["log_bytes"], "its log holds them, one line each"
    assert {t["config"] for t in alone_targets if t["what"] == "checkpoint cost %"} == {
        "train.py --epochs 20",
        "train.py --epochs 40",
    }


def test_a_peer_timed_alone_reports_its_blocks_from_a_fresh_process() -> None:
    run = compare.run_alone("sklearn", "train.py default", quick=True, repeats=2, pause=0.0)
    assert set(run.timings.seconds) == set(run.timings.faults) == {"sklearn"}
    assert len(run.timings.seconds["sklearn"]) == 2 and all(s > 0 for s in run.timings.seconds["sklearn"])
    assert run.profile is None


def test_a_failing_child_names_the_library_and_the_configuration() -> None:
    with pytest.raises(compare.ChildFailed, match=r"glassnet alone on 'no such config': .* status 2") as error:
        compare.run_alone("glassnet", "no such config", quick=True, repeats=1, pause=0.0)
    assert "invalid choice" in str(error.value) and "rerun it with: OPENBLAS_NUM_THREADS=1 " in str(error.value)


def test_a_block_counts_the_pages_it_faults_in() -> None:
    config = next(c for c in compare.CONFIGS if c.name == "small").quick()

    def prepare(config: compare.Config, data: compare.Data, seed: int) -> compare.Trainer:
        def train(epochs: int) -> None:
            for _ in range(epochs):
                np.ones(5_000_000)  # 40 MB: above glibc's largest mmap threshold, so mapped afresh each time

        return train

    data = compare.Data(np.zeros((1, 1)), np.zeros((1, 1)))
    block = compare.time_per_epoch(compare.Runner("pages", "pages", prepare), config, data, seed=0, epochs=2, pause=0)
    assert block.seconds > 0 and block.faults >= 10


def test_a_learning_rate_is_checked_by_one_rule_on_its_way_from_the_command_line_to_a_weight() -> None:
    """The path `bench/learning_rate_path.py` prints: from main() to the optimizer's step, through one rule's
    check (the option's parse and the record's validation), not a second mechanism beside it; the command line
    reads its options as a settings document into the one `TrainingSettings` (no constructor of its own, no
    optimizer factory) and hands it to the model, whose ``__init__`` never sees the value."""
    assert learning_rate_path.path() == [
        "cli.run.main",
        "cli.options.parse_args",
        "rules.NumberRule.parse",
        "rules.NumberRule.check",
        "cli.run.train",
        "tabular.TabularModel.fit",
        "tabular.TabularModel._train",
        "training.TrainingRun.advance",
        "epochs.train_epoch",
        "optim.Adam.step",
    ]


def test_the_settings_records_check_nothing_in_place_and_declare_each_bound_once() -> None:
    in_place, declared = rule_checks.counts()
    assert in_place["settings"] == in_place["optim"] == 0
    assert declared == {"settings": 3, "optim": 3}  # three types of settings, two of optimizers, AdamState's step


def test_row_path_follows_a_row_both_ways_in_and_finds_each_check_run_once(capsys: pytest.CaptureFixture[str]) -> None:
    row_path.main(["--chain"])
    out = capsys.readouterr().out
    found = re.findall(r"^(.+): (\d+) project functions before the first product, (\d+) of them given rows; "
                       r"checks run: (.+)$", out, flags=re.MULTILINE)  # fmt: skip
    assert [way for way, *_ in found] == list(row_path.WAYS_IN)
    for _, functions, given_rows, checks in found:
        assert 0 < int(given_rows) < int(functions)
        assert "reject_missing 1, reject_infinite 1, check_frame 1" in checks
    assert "    tables.usable_rows [rows]" in out and "np.isfinite called by: " in out
    chain = {line.strip().split(" ")[0] for line in out.splitlines() if line.startswith("    ")}
    # work for nothing: hashing the tables with no checkpoint asked for, building the seed's rule at every call
    assert not chain & {"bundles.TableFingerprint.of", "rules.optional"}


def test_quick_tables_benchmark_prints_every_model_on_its_tables_and_the_verdicts() -> None:
    out = quick_run("tables.py")
    assert out.startswith("glassnet tables benchmark, ") and ": python bench/tables.py --quick\n" in out
    headers, rows = table_with(out, "glassnet", "linear", "MLP", "Ridge/LogReg", "HGB", "vs best of linear, MLP")
    assert [row[0] for row in rows] == ["diabetes", "iris", "friedman1"]
    at = {name: headers.index(name) for name in headers}
    for row in rows:
        best = max(number(row[at["linear"]]), number(row[at["MLP"]]))
        assert number(row[at["vs best of linear, MLP"]]) == pytest.approx(number(row[at["glassnet"]]) - best, abs=2e-3)
        assert number(row[at["ratio"]]) > 0 and row[at["chosen"]].endswith(" 1")
    assert [row[0] for row in table_with(out, "glassnet - linear")[1]] == ["iris"]
    _, verdicts = table_with(out, "target", "measured", "bar", "met")
    assert len(verdicts) == 5 and all(row[3] in ("yes", "no") for row in verdicts)
    met = sum(row[3] == "yes" for row in verdicts)
    assert out.rstrip().endswith(f"targets met: {met}/5")


def test_quick_rows_benchmark_prints_its_three_tables_and_exits_0() -> None:
    """`bench/rows.py --quick`: glassnet's row report against cleanlab's three anchors and a 5-fold Ridge."""
    out = quick_run("rows.py")
    ranking = table_with(out, "glassnet p@k", "LogisticRegression p@k", "MLPClassifier p@k")
    flagged = table_with(out, "glassnet F1", "LogisticRegression F1")
    shifted = table_with(out, "glassnet p@k", "Ridge p@k")
    assert [row[0] for row in ranking[1]] == [row[0] for row in flagged[1]] == ["iris", "mean"]
    for headers, rows in (ranking, flagged, shifted):
        scores = [at for at, name in enumerate(headers) if name.endswith((" p@k", " F1")) and " - " not in name]
        assert scores and all(0 <= number(row[at]) <= 1 for row in rows for at in scores)
