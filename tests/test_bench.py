"""The benchmark's smoke run: `bench/compare.py --quick` prints its tables and exits 0."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ("small", "medium", "classifier", "full batch", "train.py default")


def test_quick_benchmark_prints_its_tables_and_exits_0(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "compare.py"), "--quick", "--json", str(raw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "glassnet benchmark, " in out and "OPENBLAS_CORETYPE=" in out
    for heading in ("| glassnet ms ", "| glassnet / peer ", "| glassnet / floor ", "| records cost ", "| met "):
        assert heading in out, heading
    for config in CONFIGS:
        assert out.count(f"| {config} ") >= 5, config  # a row in the times, ratios (3 peers) and floor tables
    assert "targets met: " in out
    if "torch is not importable: skipping the PyTorch runs" in out:
        assert "skipped" in out
    document = json.loads(raw.read_text(encoding="utf-8"))
    assert [c["name"] for c in document["configs"]] == list(CONFIGS)
    assert document["targets_total"] == len(document["targets"]) > 0
    assert all(c["records_seconds_per_epoch"]["glassnet_sparse"] for c in document["configs"])
