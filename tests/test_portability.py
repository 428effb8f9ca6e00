"""What holds on every machine: the housing data to the bit, and a checkpoint that resumes on another CPU.

NumPy's exp, log and tanh and OpenBLAS's products take other code paths on other CPUs (AVX2, AVX-512),
so training gives other last bits there. The generated data does not: it is IEEE elementwise arithmetic
only, so its hashes are stored here, and a checkpoint's data fingerprint matches on any machine.

`AVX2` is the environment that makes an AVX-512 machine compute as an AVX2 one does; on a machine
without AVX-512 it changes nothing. CI runs this module (and every test marked ``stored``) under it too.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from glassnet import get_data, make_housing
from glassnet.encoding import Task

pytestmark = pytest.mark.stored

ROOT = Path(__file__).resolve().parents[1]
AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL,AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"}
"""An AVX2 machine's kernels on an AVX-512 one: NumPy's dispatch without AVX-512, OpenBLAS's Haswell kernels."""


def sha256(*arrays: np.ndarray) -> str:
    return hashlib.sha256(b"".join(array.tobytes() for array in arrays)).hexdigest()


def test_the_housing_data_has_the_same_bits_on_every_cpu() -> None:
    """The default table and arrays, hashed: they were computed by a BLAS product once, whose bits differed
    between CPU kinds; CI runs this under both profiles."""
    assert sha256(make_housing().to_numpy(np.float64)) == (
        "bc7b8d453c837b9f44bc928f4fcd345733f1e22b6510597f29d21fa56a91c7e5"
    )
    expected: dict[Task, str] = {
        "regression": "eb627f7a7c1a2d05b4c1b43b183bea3aa7778ec36fc9bb82e2cc49be271d92ce",
        "binary": "f40a3ecf984c26eaba2263bb68eef7c8b4d7a8fdc8fafe72080be8b0af1fbfcc",
        "multiclass": "61bd339149b80ef50af3545b8f5f6128d69983f8563cf452b669db139e4b3c86",
    }
    assert {task: sha256(*get_data(task=task)) for task in expected} == expected


def run(code: str, cwd: Path, profile: dict[str, str]) -> str:
    """Run ``code`` in a new Python process in ``cwd`` with ``profile`` added to the environment; its output."""
    environment = {**os.environ, **profile, "PYTHONPATH": str(ROOT)}  # this checkout's glassnet
    if not profile:  # this process's own kernels: whatever the caller's environment chose, minus the emulation
        for name in AVX2:
            environment.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


STOPPED_AT_EPOCH_4 = """
    from glassnet import Callback, TabularModel, WriteCheckpoints, make_housing

    class Stop(Exception):
        pass

    class StopAt4(Callback):
        def on_epoch_end(self, record):
            if record.epoch == 4:
                raise Stop

    try:
        TabularModel(hidden=(6,), activation="tanh", epochs=8, batch_size=32).fit(
            make_housing(300, seed=2), "price", callbacks=[WriteCheckpoints("run.json", every=3), StopAt4()]
        )
    except Stop:
        print("stopped")
"""

RESUMED_AND_UNBROKEN = """
    import json
    from glassnet import TabularModel, make_housing

    houses = make_housing(300, seed=2)
    resumed = TabularModel.resume("run.json", houses)
    unbroken = TabularModel(hidden=(6,), activation="tanh", epochs=8, batch_size=32)
    unbroken.fit(houses, "price")
    print(json.dumps([resumed.network.parameter_vector.tolist(), unbroken.network.parameter_vector.tolist()]))
"""


@pytest.mark.parametrize(("written", "resumed"), [(AVX2, {}), ({}, AVX2)], ids=["avx2-then-native", "native-then-avx2"])
def test_a_housing_checkpoint_written_under_one_cpu_profile_resumes_under_the_other(
    tmp_path: Path, written: dict[str, str], resumed: dict[str, str]
) -> None:
    """Two processes, one profile each: the data's fingerprint matches, so the run goes on; it ends where an
    unbroken run ends, to a tolerance (its first epochs took the other CPU's last bits; tanh and BLAS here)."""
    assert run(STOPPED_AT_EPOCH_4, tmp_path, written) == "stopped\n"
    assert json.loads((tmp_path / "run.json").read_text())["run"]["epochs_done"] == 3
    went_on, unbroken = json.loads(run(RESUMED_AND_UNBROKEN, tmp_path, resumed))
    np.testing.assert_allclose(went_on, unbroken, rtol=1e-9, atol=1e-12)
