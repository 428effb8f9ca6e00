"""What every test process shares: BLAS, OpenMP and MKL compute in one thread.

Set here, before any test module imports NumPy, so that it holds in each pytest-xdist worker
and in every process a test starts (the notebook's kernel, the command line, the benchmark's
children), all of which inherit the environment. The suite runs a worker per core beside those
processes, and an OpenBLAS thread that waits for work spins on a core: with two BLAS threads
per process the cores were oversubscribed, and on a 2-core machine the suite took 108 s
instead of 64 (the notebook 51 s instead of 11, the quick benchmark 36 s instead of 17). A
variable the caller has set is left as it is.
"""

import os

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
