"""Time per epoch: glassnet against scikit-learn and PyTorch CPU doing the same work, alone and interleaved.

Run from the repository folder::

    python bench/compare.py                 # the full report (several minutes on 2 idle cores)
    python bench/compare.py --quick         # a smoke run: fewer rows, tiny epoch counts, 1 repeat, glassnet alone
    python bench/compare.py --json out.json --repeats 7 --only small,classifier --threads 1
    python bench/compare.py --only "train.py default,full batch 100k" --alone glassnet

Every configuration trains the same architecture on the same data with the same
batch size and plain SGD in every library:

- glassnet: ``Network(...).fit(X, y, optimizer="sgd", record_every=1)`` (the default,
  a typed record every epoch); a second glassnet run with ``record_every=epochs``
  (records only at the ends) measures what the records cost, and a third with
  ``keep_rows=True`` what the per-row measures cost (interleaved only).
- scikit-learn: ``MLPRegressor``/``MLPClassifier`` with ``solver="sgd"``,
  ``momentum=0``, ``alpha=0``, ``shuffle=True``, one ``partial_fit`` call per epoch.
- PyTorch CPU, float64 and float32 (for reference): an ``nn.Sequential`` of
  ``nn.Linear`` and activations, ``torch.optim.SGD``, a loop that permutes the rows
  once per epoch and slices contiguous batches (not for full batch, like glassnet),
  summing ``loss.item()`` as the others sum their losses.
- the BLAS floor: only the matrix products of each training step (forward
  ``A @ W``, backward ``A.T @ delta`` and ``delta @ W.T``) at the same shapes, in
  numpy with preallocated (and already written) outputs, for every step of an epoch.

Learning rates: the mean squared error of glassnet and PyTorch is ``mean((p - y)**2)``;
scikit-learn's squared loss is half of it, so its gradients are half as large and it
gets twice the learning rate (``sklearn lr = 2 * glassnet lr``), which makes the three
take the same steps. Cross-entropy is the same mean in all three: the same rate.
Trajectories still differ (initialization, shuffling); only time per epoch is compared.

Two measurements, each timed block reporting seconds and minor page faults
(``getrusage``'s ``ru_minflt``: pages the kernel had to map in) per epoch:

Alone, what ``python train.py`` users get: each library in a fresh Python process per
configuration, started as ``python bench/compare.py --child LIB --config NAME`` with
``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set to 1 in its
environment, so before NumPy loads (the command line holds BLAS to one thread too; and
``torch.set_num_threads(1)`` in torch's children; each child checks with threadpoolctl
that every pool has one thread, whatever ``--threads`` says). A child makes the data,
warms up, times its blocks and prints one JSON line; this process tabulates. glassnet's
child alternates three runners in the same process: glassnet, glassnet with
``record_every=epochs`` and the BLAS floor, so that glassnet/floor and the records cost
are per-repeat ratios within one process (glassnet's faults per epoch come out the
same, within a few percent, with or without the floor beside it). It then runs one
more, untimed, ``fit`` that reads the fault count as each epoch's record is made: the
faults of the first epoch (``fit``'s setup included) apart from those of the later
ones, which a training step that allocates nothing after its first would bring to 0.
The targets against the floor (``Config.floor_target``) and on the records cost are
judged on these runs. A record may cost 5% of an epoch (``RECORDS_TARGET_PERCENT``), or
25 microseconds where that is less (``RECORD_ALLOWANCE_US``): what it costs is the records
cost of the epoch with records at the ends only.

Interleaved, the libraries side by side under the same conditions: one process, the
libraries in turn within each repeat (glassnet, sklearn, torch64, torch32, BLAS floor;
reversed in odd repeats so that no library always follows the same one), each warmed
up once per configuration, a garbage collection and a short pause before every timed
block (BLAS worker threads spin on after a call and slow whatever runs next on 2
cores); default thread counts unless ``--threads`` caps them all. Then glassnet with
``record_every=1`` and with ``record_every=epochs`` back to back, apart from the peers.
The peer targets (``Config.targets``) are judged here. A ratio is glassnet's time over a
peer's time in the same repeat, and the report gives the median of those paired
ratios, which shrugs off the bursts of a shared machine better than a ratio of medians.

Why the two differ: glibc's malloc serves a request above its mmap threshold with fresh
pages from ``mmap`` and unmaps them on ``free``; smaller ones come from the heap, whose
free top is handed back to the kernel once it exceeds the trim threshold. Both
thresholds start low (128 KiB) and rise whenever an mmapped chunk is freed, to its
size (up to 32 MiB; the trim threshold to twice that). In the shared process, PyTorch's
and scikit-learn's allocations raise them early, after which glassnet's per-step
temporaries stay in the heap and are reused warm. Alone, only glassnet's own
temporaries raise them, not far enough: a step's temporaries are handed back to the
kernel and faulted back in, page by page, at every step. (Pinning both,
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456``, takes glassnet's
faults alone to 0; either one alone does not, as setting one turns off the adjustment
of the other.) A fresh process is what ``python train.py`` runs in, so the standalone
table is the one users see; the interleaved one flatters a library that allocates as
it goes.

What the network learned: ``TabularModel.effects`` of 10,000 raw housing rows (encoding, input
gradients through the scalers, the summary) against one training epoch on the same rows (the
command line's: Adam, full batch, the step's buffers already made), both in one BLAS thread as
``train.py`` computes, timed in turn in one process; the ratio is the median of the paired ratios,
for the default linear network and a relu one. The target: effects cost less than an epoch.

Building a model and converting the data to tensors are outside the timed block; each
library's own input validation inside ``fit``/``partial_fit`` is inside it. The
"others' CPUs" column says how many CPUs other processes kept busy during a
configuration (from /proc/stat, the children's own time excluded): multi-threaded BLAS
and OpenMP slow down many times over when a core is taken, so trust rows near 0.
Missing a target still exits 0: this is a report (a child that fails exits 1).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import math
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import glassnet  # noqa: E402  (the repository folder must be on the path first)
import glassnet.checkpoints  # noqa: E402
from glassnet import get_data  # noqa: E402
from glassnet.tabular import CHECKPOINT_EVERY, TABULAR_TRAINING  # noqa: E402

FloatArray = npt.NDArray[np.float64]
Trainer = Callable[[int], None]
"""Trains an already built model for the given number of epochs."""

KEEP_ROWS_TARGET_PERCENT = 10.0
"""``keep_rows=True`` may add this much to a fit that records every epoch (issue 32): the row losses of every
recorded epoch, from the logits the step computed anyway."""
RECORDS_TARGET_PERCENT = 5.0
CHECKPOINT_EPOCHS = (3_000, 6_000)
CHECKPOINT_QUICK_EPOCHS = (20, 40)
CHECKPOINT_REPEATS = 5
CHECKPOINT_TARGET_PERCENT = 15.0
"""``python train.py --epochs N --checkpoint run.json`` (every 10 epochs) against the same run without."""
EFFECTS_ROWS = 10_000
EFFECTS_TARGET = 1.0
"""``effects`` of `EFFECTS_ROWS` rows over one training epoch on them."""
EFFECTS_NETWORKS: tuple[tuple[str, list[int], str], ...] = (
    ("train.py default", [10, 25], "identity"),
    ("relu 64,64", [64, 64], "relu"),
)


# --------------------------------------------------------------------------- #
# Configurations and their data
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Data:
    """Training rows ``X`` (n, n_in) float64 and labels: (n, 1) float64 or (n,) int64 classes."""

    X: FloatArray
    y: np.ndarray


@dataclass(frozen=True)
class Config:
    """One benchmark case: architecture, data, batch, learning rate, epochs and targets."""

    name: str
    sizes: tuple[int, ...]
    activation: Literal["relu", "tanh", "identity"]
    classifier: bool
    n_rows: int
    batch_size: int | None  # None: full batch
    learning_rate: float
    epochs: int
    quick_rows: int
    quick_epochs: int
    make_data: Callable[[int], Data]  # n_rows -> data
    targets: dict[str, float] = field(default_factory=dict)  # peer -> largest glassnet/peer ratio, interleaved
    floor_target: float | None = None  # largest glassnet/floor ratio, both alone (one BLAS thread)

    def quick(self) -> Config:
        """The smoke-run version: fewer rows and epochs."""
        return replace(self, n_rows=self.quick_rows, epochs=self.quick_epochs)

    @property
    def batch(self) -> int:
        """Rows per step."""
        return self.n_rows if self.batch_size is None else min(self.batch_size, self.n_rows)

    @property
    def batch_counts(self) -> dict[int, int]:
        """How many steps of each batch size one epoch takes (a short last batch counts apart)."""
        full, rest = divmod(self.n_rows, self.batch)
        return {self.batch: full} | ({rest: 1} if rest else {})

    @property
    def architecture(self) -> str:
        """``8-32-32-1 relu``, ``784-128-10 relu, softmax``."""
        head = ", softmax" if self.classifier else ""
        return "-".join(map(str, self.sizes)) + f" {self.activation}{head}"


def regression_data(n_rows: int, n_in: int, seed: int = 0) -> Data:
    """Gaussian inputs; a z-scored smooth nonlinear target with a little noise, (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_in))
    hidden = np.tanh(X @ rng.standard_normal((n_in, 8)) / math.sqrt(n_in))
    y = hidden @ rng.standard_normal(8) + 0.1 * rng.standard_normal(n_rows)
    return Data(X, ((y - y.mean()) / y.std())[:, None])


def classification_data(n_rows: int, n_in: int, n_classes: int, seed: int = 0) -> Data:
    """Gaussian inputs; integer labels from the argmax of a random linear map."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_in))
    return Data(X, (X @ rng.standard_normal((n_in, n_classes))).argmax(axis=1).astype(np.int64))


def housing_data(n_train: int, seed: int = 0) -> Data:
    """The ``train.py`` default data: housing rows, z-scored, a seeded 80 % training split."""
    n_rows = n_train * 5 // 4
    X, y = get_data(n_rows, seed=seed)
    train = np.random.default_rng(seed).permutation(n_rows)[:n_train]
    return Data(np.ascontiguousarray(X[train]), y[train])


# What these configurations measured of the library's fast forms (glassnet alone, one thread):
# - the bias added from a tile of rows (glassnet.buffers.BIAS_TILE): for 8,000 rows of 10 units, 53 us
#   became 24; of 25 units, 78 became 45; at 256 rows of 32 units it is a wash;
# - the one-output layer's backward product ``delta @ W.T`` as a broadcast multiply: the same bits, three
#   times faster than the matrix product;
# - the epoch's rows gathered at once (glassnet.epochs.EPOCH_GATHER_BYTES): "small" spent 6.5% of its epoch
#   gathering step by step, 4.0% at once; "classifier" (10,000 rows, 63 MB) ran 4% slower gathered at once;
# - keep_rows on "full batch" (1,000 rows), per recorded epoch, medians inside a fit: the row losses 3.9 us ->
#   2.6 us read from the A_out - Y the step's loss left (one pass instead of two), the count 9.7 us -> 9.0 us
#   through local names (no pydantic setattr) and a float divisor (NumPy divides 1,000 values by a Python int
#   in 2.7 us, by a float in 1.0 us); on "train.py default" (8,000 rows) the row losses 14 us -> 7 us, while
#   the count's seven passes over arrays the step pushed out of cache stay near 30 us.
CONFIGS: tuple[Config, ...] = (
    Config(
        name="small",
        sizes=(8, 32, 32, 1),
        activation="relu",
        classifier=False,
        n_rows=20_000,
        batch_size=256,
        learning_rate=0.01,
        epochs=30,
        quick_rows=2_000,
        quick_epochs=2,
        make_data=lambda n: regression_data(n, 8),
        targets={"sklearn": 0.5, "torch64": 0.5},
        floor_target=1.65,
    ),
    Config(
        name="medium",
        sizes=(64, 256, 256, 1),
        activation="relu",
        classifier=False,
        n_rows=50_000,
        batch_size=256,
        learning_rate=0.01,
        epochs=2,
        quick_rows=2_000,
        quick_epochs=1,
        make_data=lambda n: regression_data(n, 64),
        targets={"sklearn": 0.8, "torch64": 0.85},
    ),
    Config(
        name="classifier",
        sizes=(784, 128, 10),
        activation="relu",
        classifier=True,
        n_rows=10_000,
        batch_size=128,
        learning_rate=0.01,
        epochs=5,
        quick_rows=1_000,
        quick_epochs=1,
        make_data=lambda n: classification_data(n, 784, 10),
        targets={"sklearn": 0.9, "torch64": 0.9},
        floor_target=1.5,
    ),
    Config(
        name="full batch",
        sizes=(8, 16, 16, 1),
        activation="relu",
        classifier=False,
        n_rows=1_000,
        batch_size=None,
        learning_rate=0.05,
        epochs=1_000,
        quick_rows=1_000,
        quick_epochs=20,
        make_data=lambda n: regression_data(n, 8),
        targets={"sklearn": 0.5, "torch64": 0.6},
    ),
    # One BLAS thread (glassnet.cli.one_blas_thread): this run trained in 0.4 s single-threaded, 2.5 s with two
    # threads beside another process.
    Config(
        name="train.py default",
        sizes=(4, 10, 25, 1),
        activation="identity",
        classifier=False,
        n_rows=8_000,
        batch_size=None,
        learning_rate=0.05,
        epochs=150,
        quick_rows=800,
        quick_epochs=10,
        make_data=housing_data,
        floor_target=1.3,
    ),
    Config(
        name="full batch 100k",
        sizes=(4, 10, 25, 1),
        activation="identity",
        classifier=False,
        n_rows=100_000,
        batch_size=None,
        learning_rate=0.05,
        epochs=10,
        quick_rows=5_000,
        quick_epochs=3,
        make_data=housing_data,
        floor_target=1.4,
    ),
)
CONFIGS = (
    *CONFIGS,  # the "full batch" network with tanh: what a record's saturation count costs (the records target only)
    replace(next(c for c in CONFIGS if c.name == "full batch"), name="full batch tanh", activation="tanh", targets={}),
)


# --------------------------------------------------------------------------- #
# Runners: each builds a fresh model (untimed) and returns its trainer
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Runner:
    """A library under test: ``prepare(config, data, seed)`` builds a model and returns its trainer."""

    name: str
    label: str
    prepare: Callable[[Config, Data, int], Trainer]


def glassnet_network(config: Config, seed: int) -> glassnet.Network:
    """A fresh glassnet network for ``config``."""
    head: glassnet.Head = "softmax" if config.classifier else "identity"
    return glassnet.Network(config.sizes, activation=config.activation, head=head, seed=seed)


def glassnet_fit(
    net: glassnet.Network,
    config: Config,
    data: Data,
    *,
    epochs: int,
    record_every: int,
    on_record: Callable[[glassnet.EpochRecord], None] | None = None,
    keep_rows: bool = False,
) -> None:
    """``net.fit`` with plain SGD at ``config``'s batch size and learning rate."""
    net.fit(
        data.X,
        data.y,
        epochs=epochs,
        batch_size=config.batch_size,
        optimizer="sgd",
        learning_rate=config.learning_rate,
        record_every=record_every,
        on_record=on_record,
        keep_rows=keep_rows,
    )


def glassnet_runner(*, sparse_records: bool) -> Runner:
    """glassnet ``fit``: a record every epoch (the default), or ``record_every=epochs``."""

    def prepare(config: Config, data: Data, seed: int) -> Trainer:
        net = glassnet_network(config, seed)

        def train(epochs: int) -> None:
            glassnet_fit(net, config, data, epochs=epochs, record_every=epochs if sparse_records else 1)

        return train

    if sparse_records:
        return Runner("glassnet_sparse", "glassnet, record_every=epochs", prepare)
    return Runner("glassnet", "glassnet", prepare)


def glassnet_rows_runner() -> Runner:
    """glassnet ``fit`` with a record and the per-row measures every epoch (``keep_rows=True``)."""

    def prepare(config: Config, data: Data, seed: int) -> Trainer:
        net = glassnet_network(config, seed)

        def train(epochs: int) -> None:
            glassnet_fit(net, config, data, epochs=epochs, record_every=1, keep_rows=True)

        return train

    return Runner("glassnet_rows", "glassnet, keep_rows=True", prepare)


def sklearn_runner() -> Runner:
    """scikit-learn's MLP with plain SGD, one ``partial_fit`` call per epoch."""

    def prepare(config: Config, data: Data, seed: int) -> Trainer:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        kind = MLPClassifier if config.classifier else MLPRegressor
        model = kind(
            hidden_layer_sizes=config.sizes[1:-1],
            activation=config.activation,
            solver="sgd",
            learning_rate="constant",
            learning_rate_init=config.learning_rate * (1.0 if config.classifier else 2.0),
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            batch_size=config.batch,
            shuffle=True,
            random_state=seed,
        )
        y = data.y if config.classifier else data.y.ravel()
        extra = {"classes": np.arange(config.sizes[-1])} if config.classifier else {}

        def train(epochs: int) -> None:
            for _ in range(epochs):
                model.partial_fit(data.X, y, **extra)

        return train

    return Runner("sklearn", "scikit-learn", prepare)


def torch_runner(dtype_name: Literal["float64", "float32"]) -> Runner:
    """PyTorch CPU: ``nn.Sequential``, ``optim.SGD``, rows permuted once per epoch, contiguous batches."""

    def prepare(config: Config, data: Data, seed: int) -> Trainer:
        import torch
        from torch import nn

        dtype = getattr(torch, dtype_name)
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        X = torch.from_numpy(data.X).to(dtype)
        y = torch.from_numpy(data.y) if config.classifier else torch.from_numpy(data.y).to(dtype)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(config.sizes[:-1], config.sizes[1:], strict=True)):
            layers.append(nn.Linear(n_in, n_out, dtype=dtype))
            if i < len(config.sizes) - 2 and config.activation != "identity":
                layers.append(nn.ReLU() if config.activation == "relu" else nn.Tanh())
        model = nn.Sequential(*layers)
        loss_function: nn.Module = nn.CrossEntropyLoss() if config.classifier else nn.MSELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate)
        n, batch = config.n_rows, config.batch

        def train(epochs: int) -> None:
            for _ in range(epochs):
                if batch < n:
                    order = torch.randperm(n, generator=generator)
                    X_epoch, y_epoch = X[order], y[order]
                else:
                    X_epoch, y_epoch = X, y
                loss_sum = 0.0
                for start in range(0, n, batch):
                    X_batch, y_batch = X_epoch[start : start + batch], y_epoch[start : start + batch]
                    optimizer.zero_grad()
                    loss = loss_function(model(X_batch), y_batch)
                    loss.backward()
                    optimizer.step()
                    loss_sum += float(loss.item()) * X_batch.shape[0]

        return train

    return Runner(f"torch{dtype_name[-2:]}", f"torch {dtype_name}", prepare)


def blas_floor_runner() -> Runner:
    """Only the matrix products of every step of an epoch, into preallocated outputs."""

    def prepare(config: Config, data: Data, seed: int) -> Trainer:
        rng = np.random.default_rng(seed)
        shapes = list(zip(config.sizes[:-1], config.sizes[1:], strict=True))
        weights = [rng.standard_normal(shape) for shape in shapes]
        plans = []
        for m, count in config.batch_counts.items():
            inputs = [rng.standard_normal((m, n_in)) for n_in, _ in shapes]
            deltas = [rng.standard_normal((m, n_out)) for _, n_out in shapes]
            # written once here (np.full, not np.empty), so that no page is first touched while timed
            outputs = [np.full((m, n_out), 0.0) for _, n_out in shapes]
            input_grads = [np.full((m, n_in), 0.0) for n_in, _ in shapes]
            weight_grads = [np.full(shape, 0.0) for shape in shapes]
            plans.append((count, inputs, deltas, outputs, input_grads, weight_grads))
        layers = range(len(shapes))
        backward = range(len(shapes) - 1, -1, -1)

        def train(epochs: int) -> None:
            for _ in range(epochs):
                for count, A, delta, Z, dA, dW in plans:
                    for _ in range(count):
                        for i in layers:
                            np.matmul(A[i], weights[i], out=Z[i])
                        for i in backward:
                            np.matmul(A[i].T, delta[i], out=dW[i])
                            if i:
                                np.matmul(delta[i], weights[i].T, out=dA[i])

        return train

    return Runner("floor", "BLAS floor", prepare)


# --------------------------------------------------------------------------- #
# Timing: one helper for every runner, interleaved here or alone in a child
# --------------------------------------------------------------------------- #


def minor_faults() -> int:
    """This process's minor page faults so far: pages the kernel mapped in on first touch, no disk read."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@dataclass(frozen=True)
class Block:
    """One timed block: seconds and minor page faults, both per epoch."""

    seconds: float
    faults: float


def time_per_epoch(runner: Runner, config: Config, data: Data, *, seed: int, epochs: int, pause: float) -> Block:
    """One timed block: a fresh model, a collection, a pause, then ``epochs``."""
    train = runner.prepare(config, data, seed)
    gc.collect()
    time.sleep(pause)
    faults, start = minor_faults(), time.perf_counter()
    train(epochs)
    seconds = time.perf_counter() - start
    return Block(seconds / epochs, (minor_faults() - faults) / epochs)


def cpu_seconds() -> tuple[float, float] | None:
    """Busy CPU seconds of the whole machine (steal included) and of this process with its finished children.

    ``None`` off Linux.
    """
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = ticks[3] + ticks[4]  # idle and iowait; the rest, up to steal, is busy
    own = os.times()  # children_*: the children that have been waited for, as subprocess.run does
    machine = (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK")
    return machine, own.user + own.system + own.children_user + own.children_system


def others_cpus(before: tuple[float, float] | None, wall: float) -> float | None:
    """How many CPUs other processes (and the hypervisor) kept busy on average since ``before``."""
    after = cpu_seconds()
    if before is None or after is None or wall <= 0:
        return None
    return max(0.0, (after[0] - before[0]) - (after[1] - before[1])) / wall


def paired_ratio(times: Sequence[float], peer_times: Sequence[float]) -> float:
    """Median over repeats of one time over the other in the same repeat."""
    return statistics.median(a / b for a, b in zip(times, peer_times, strict=True))


RECORD_ALLOWANCE_US = 25.0
"""A record may cost ``RECORDS_TARGET_PERCENT`` of an epoch, or this many microseconds where that is less: about
ten NumPy calls and one validated record, what the norms, update ratios and unit health of a step need."""


@dataclass
class Timings:
    """Seconds and minor page faults per epoch of every timed block, by runner, in repeat order."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    faults: dict[str, list[float]] = field(default_factory=dict)

    def add(self, runner: str, block: Block) -> None:
        """Append one block of ``runner``."""
        self.seconds.setdefault(runner, []).append(block.seconds)
        self.faults.setdefault(runner, []).append(block.faults)

    def update(self, other: Timings) -> None:
        """Take in the runners of another process."""
        self.seconds.update(other.seconds)
        self.faults.update(other.faults)

    def has(self, runner: str) -> bool:
        """Whether ``runner`` was timed."""
        return runner in self.seconds

    def median(self, runner: str) -> float:
        """Median seconds per epoch."""
        return statistics.median(self.seconds[runner])

    def median_faults(self, runner: str) -> float:
        """Median minor page faults per epoch."""
        return statistics.median(self.faults[runner])

    def ratio(self, runner: str, peer: str) -> float:
        """Median over repeats of ``runner``'s time over ``peer``'s time in the same repeat (and process)."""
        return paired_ratio(self.seconds[runner], self.seconds[peer])

    @property
    def records_cost(self) -> float:
        """Extra time of a record every epoch over records at the ends only, in percent."""
        return (self.ratio("glassnet", "glassnet_sparse") - 1.0) * 100.0

    @property
    def keep_rows_cost(self) -> float:
        """Extra time of ``keep_rows=True`` over the same fit without it (a record every epoch both), in percent."""
        return (self.ratio("glassnet_rows", "glassnet") - 1.0) * 100.0

    @property
    def record_us(self) -> float:
        """What one record costs, in microseconds: ``records_cost`` of the median epoch with records at the ends."""
        return self.records_cost / 100.0 * self.median("glassnet_sparse") * 1e6

    @property
    def record_limit_us(self) -> float:
        """The most a record may cost, in microseconds: ``RECORDS_TARGET_PERCENT`` of an epoch, or
        ``RECORD_ALLOWANCE_US`` where that is less."""
        return max(RECORDS_TARGET_PERCENT / 100.0 * self.median("glassnet_sparse") * 1e6, RECORD_ALLOWANCE_US)

    def record_cells(self) -> list[str]:
        """The records columns of a table: cost in percent and microseconds, the limit, and whether it is met."""
        limit = self.record_limit_us
        allowed = (
            f"<= {RECORD_ALLOWANCE_US:.0f} us" if limit == RECORD_ALLOWANCE_US else f"<= {RECORDS_TARGET_PERCENT:.0f}%"
        )
        return [f"{self.records_cost:+.1f}%", f"{self.record_us:.3g} us", allowed, verdict(self.record_us, limit)]


def interleave(runners: Sequence[Runner], config: Config, data: Data, *, repeats: int, pause: float) -> Timings:
    """Warm every runner up once, then time them in turn, ``repeats`` times.

    Odd repeats run them in reverse order, so that no runner always follows the same one
    (what ran before leaves threads spinning, caches and the heap in its own state). The
    objects alive at the start (modules, the data) are first frozen out of the cyclic
    collector (``gc.freeze``; reference counting still frees them), so that the collection
    before each block takes milliseconds, not a tenth of a second, with torch loaded.
    """
    gc.collect()
    gc.freeze()
    for runner in runners:
        time_per_epoch(runner, config, data, seed=0, epochs=max(1, config.epochs // 10), pause=pause)
    timings = Timings()
    for repeat in range(repeats):
        for runner in runners if repeat % 2 == 0 else runners[::-1]:
            block = time_per_epoch(runner, config, data, seed=repeat, epochs=config.epochs, pause=pause)
            timings.add(runner.name, block)
    return timings


# --------------------------------------------------------------------------- #
# Alone: each library in a fresh process, one BLAS thread
# --------------------------------------------------------------------------- #

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Added to a child's environment, so that they hold before its NumPy loads: one thread, as the command line runs."""

LIBRARIES: dict[str, Callable[[], list[Runner]]] = {
    "glassnet": lambda: [
        glassnet_runner(sparse_records=False),
        glassnet_runner(sparse_records=True),
        blas_floor_runner(),
    ],
    "sklearn": lambda: [sklearn_runner()],
    "torch64": lambda: [torch_runner("float64")],
    "torch32": lambda: [torch_runner("float32")],
}
"""What a child times for each library; glassnet's child alternates it with its records variant and the floor."""

LABELS = {runner.name: runner.label for runners in LIBRARIES.values() for runner in runners()}


class ChildFailed(RuntimeError):
    """A standalone child process failed; the message names the library and the configuration."""


@dataclass(frozen=True)
class FaultProfile:
    """glassnet's minor page faults in the first epoch of a ``fit`` (its setup included) and per later epoch."""

    first_epoch: float
    later_epochs: float


def fault_profile(config: Config, data: Data) -> FaultProfile:
    """One untimed ``fit`` of a fresh network, reading the fault count as each epoch's record is made."""
    epochs = max(2, config.epochs)
    counts: list[int] = []
    net = glassnet_network(config, seed=0)
    gc.collect()
    start = minor_faults()
    glassnet_fit(net, config, data, epochs=epochs, record_every=1, on_record=lambda _: counts.append(minor_faults()))
    return FaultProfile(counts[0] - start, (counts[-1] - counts[0]) / (epochs - 1))


@dataclass(frozen=True)
class AloneRun:
    """A child's report, one JSON line on its standard output: its timings, and glassnet's fault profile."""

    timings: Timings
    profile: FaultProfile | None

    @classmethod
    def from_json(cls, line: str) -> AloneRun:
        """The report back from its JSON line."""
        document = json.loads(line)
        profile = document["profile"]
        return cls(Timings(**document["timings"]), None if profile is None else FaultProfile(**profile))


def child(library: str, config: Config, *, repeats: int, pause: float) -> str:
    """Time ``library`` on ``config`` in this process, which :func:`run_alone` started fresh: the JSON report."""
    if library.startswith("torch"):
        import torch

        torch.set_num_threads(1)
    data = config.make_data(config.n_rows)
    timings = interleave(LIBRARIES[library](), config, data, repeats=repeats, pause=pause)
    profile = fault_profile(config, data) if library == "glassnet" else None
    threaded = [f"{p.get('internal_api')} x{p.get('num_threads')}" for p in thread_pools() if p.get("num_threads") != 1]
    if threaded:
        raise SystemExit(f"expected one thread in every BLAS and OpenMP pool, got {', '.join(threaded)}")
    return json.dumps(asdict(AloneRun(timings, profile)))


def run_alone(library: str, config_name: str, *, quick: bool, repeats: int, pause: float) -> AloneRun:
    """Time ``library`` on a configuration in a fresh Python process with one BLAS thread.

    Raises
    ------
    ChildFailed
        When the child exits with an error or prints no report; the message names both
        and says how to rerun the child by hand.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--child", library, "--config", config_name]
    command += ["--repeats", str(repeats), "--pause", str(pause), *(["--quick"] if quick else [])]
    done = subprocess.run(command, env=os.environ | ONE_THREAD, cwd=ROOT, capture_output=True, text=True, check=False)
    where = f"{LABELS[library]} alone on {config_name!r}"
    rerun = "rerun it with: " + shlex.join([*(f"{name}={value}" for name, value in ONE_THREAD.items()), *command])
    if done.returncode != 0:
        stderr = "\n".join(done.stderr.strip().splitlines()[-20:]) or "(nothing on standard error)"
        raise ChildFailed(f"{where}: the child process exited with status {done.returncode}:\n{stderr}\n{rerun}")
    try:
        return AloneRun.from_json(done.stdout.strip().splitlines()[-1])
    except (IndexError, KeyError, TypeError, ValueError) as error:
        raise ChildFailed(
            f"{where}: expected a JSON report on the child's last line, got {done.stdout[-300:]!r} ({error!r})\n{rerun}"
        ) from None


# --------------------------------------------------------------------------- #
# One configuration: alone, then interleaved
# --------------------------------------------------------------------------- #


@dataclass
class ConfigResult:
    """Seconds and faults per epoch of one configuration, by runner and repeat.

    ``alone``: each library in its own fresh process (glassnet's child also times
    ``glassnet_sparse`` and the ``floor``), with glassnet's fault ``profile`` from there.
    ``times``: the libraries interleaved in this process. ``records``: glassnet with
    ``record_every=1`` (``glassnet``), ``record_every=epochs`` (``glassnet_sparse``) and
    ``keep_rows=True`` (``glassnet_rows``), back to back in this process.
    """

    config: Config
    alone: Timings
    profile: FaultProfile | None
    times: Timings
    records: Timings
    others_cpus: float | None


def run_config(
    config: Config, runners: Sequence[Runner], libraries: Sequence[str], *, quick: bool, repeats: int, pause: float
) -> ConfigResult:
    """Each of ``libraries`` alone, then the runners interleaved, then glassnet's two record settings."""
    started, cpu_before = time.perf_counter(), cpu_seconds()
    alone, profile = Timings(), None
    for library in libraries:
        run = run_alone(library, config.name, quick=quick, repeats=repeats, pause=pause)
        alone.update(run.timings)
        profile = run.profile or profile
    data = config.make_data(config.n_rows)
    times = interleave(runners, config, data, repeats=repeats, pause=pause)
    pair = [glassnet_runner(sparse_records=False), glassnet_runner(sparse_records=True), glassnet_rows_runner()]
    records = interleave(pair, config, data, repeats=repeats, pause=pause)
    wall = time.perf_counter() - started
    others = others_cpus(cpu_before, wall)
    print(
        f"{config.name} ({config.architecture}): {config.epochs} epochs x {repeats} repeats per library, "
        f"{len(libraries)} alone, {wall:.1f} s"
        + ("" if others is None else f", other processes busy on {others:.2f} CPUs"),
        file=sys.stderr,
        flush=True,
    )
    return ConfigResult(config, alone, profile, times, records, others)


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Target:
    """One target: a value measured alone or interleaved, against the largest value allowed."""

    config: str
    what: str
    value: float
    limit: float
    measured: Literal["alone", "interleaved"]

    @property
    def met(self) -> bool:
        """Whether the value is within the limit."""
        return self.value <= self.limit


def torch_status() -> str | None:
    """torch's version, or ``None`` when it cannot be imported."""
    try:
        import torch
    except ImportError:
        return None
    return str(torch.__version__)


def thread_pools() -> list[dict[str, Any]]:
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries (empty without threadpoolctl)."""
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return []
    pools: list[dict[str, Any]] = threadpoolctl.threadpool_info()
    return pools


def limit_threads(threads: int, with_torch: bool) -> None:
    """Cap every BLAS and OpenMP pool that threadpoolctl sees, and torch's intra-op threads, at ``threads``."""
    importlib.import_module("sklearn.neural_network")  # load its libraries first, so the cap reaches them
    if with_torch:
        import torch

        torch.set_num_threads(threads)
    importlib.import_module("threadpoolctl").threadpool_limits(threads)


def environment(torch_version: str | None, args: argparse.Namespace, libraries: Sequence[str]) -> dict[str, Any]:
    """Versions, BLAS libraries, the OpenBLAS variables, the machine and the settings, for the header and JSON."""
    import sklearn

    torch_threads, torch_blas = None, None
    if torch_version is not None:
        import torch

        torch_threads = torch.get_num_threads()
        build = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
        torch_blas = build.group(1) if build else None
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "torch": torch_version,
        "torch_threads": torch_threads,
        "torch_blas": torch_blas,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "threadpools": thread_pools(),
        "repeats": args.repeats,
        "pause_seconds": args.pause,
        "threads": args.threads,
        "alone": list(libraries),
        "alone_environment": ONE_THREAD,
    }


def owner(library_path: str) -> str:
    """The installed package a shared library came with: its first folder under site-packages."""
    parts = Path(library_path).parts
    return parts[parts.index("site-packages") + 1] if "site-packages" in parts[:-2] else Path(library_path).name


def header(env: dict[str, Any]) -> str:
    """Four lines: date and versions; the thread pools; OpenBLAS variables, machine and settings; alone."""
    torch_text = (
        "not importable"
        if env["torch"] is None
        else f"{env['torch']} ({env['torch_blas']}, {env['torch_threads']} threads)"
    )
    pools = "; ".join(
        " ".join(str(p[key]) for key in ("internal_api", "version", "architecture") if p.get(key))
        + f" x{p.get('num_threads')} (from {owner(p.get('filepath', '?'))})"
        for p in env["threadpools"]
    )
    load = ", ".join(f"{x:.2f}" for x in env["load_average"])
    return (
        f"glassnet benchmark, {env['date']}: python {env['python']}, numpy {env['numpy']}, "
        f"scikit-learn {env['sklearn']}, torch {torch_text}\n"
        f"thread pools (threadpoolctl): {pools or 'threadpoolctl not available'}\n"
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE'] or 'unset'}, "
        f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE'] or 'unset'}; {env['cpus']} CPUs, load average {load} "
        f"at the start; {env['repeats']} repeats, {env['pause_seconds']} s pause before each timed block; "
        + ("default thread counts" if env["threads"] is None else f"--threads {env['threads']}")
        + " when interleaved\n"
        + "alone: "
        + (", ".join(LABELS[name] for name in env["alone"]) or "none")
        + ", each in a fresh process per configuration, one thread: "
        + " ".join(f"{name}={value}" for name, value in env["alone_environment"].items())
        + " before NumPy loads, torch.set_num_threads(1), every pool checked with threadpoolctl"
    )


def ms(seconds: float) -> str:
    """Milliseconds: three significant digits, whole numbers from 100 on."""
    value = seconds * 1e3
    return f"{value:,.0f}" if value >= 100 else f"{value:#.3g}"


def table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A github-format table, ready for the README."""
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


BUSY_WARNING_CPUS = 0.2


def verdict(value: float, limit: float) -> str:
    """``yes`` or ``no``."""
    return "yes" if value <= limit else "no"


def faults(count: float) -> str:
    """Page faults: whole numbers from 10 on, one decimal below."""
    return f"{count:,.0f}" if count >= 10 else f"{count:.1f}"


ALONE_ROWS = ("glassnet", "floor", "sklearn", "torch64", "torch32")
"""The standalone table's rows for a configuration, those that were timed, in this order."""


def alone_report(results: Sequence[ConfigResult]) -> tuple[str, list[Target]]:
    """The standalone tables (times and faults; glassnet against the floor, and the records) and their targets."""
    rows: list[list[object]] = []
    for res in results:
        for name in (name for name in ALONE_ROWS if res.alone.has(name)):
            profile = res.profile if name == "glassnet" else None
            rows.append(
                [
                    res.config.name,
                    LABELS[name],
                    ms(res.alone.median(name)),
                    faults(res.alone.median_faults(name)),
                    "-" if profile is None else faults(profile.first_epoch),
                    "-" if profile is None else faults(profile.later_epochs),
                ]
            )
    headers = ["config", "library", "ms per epoch", "minor page faults per epoch", "faults in epoch 1"]
    times_table = table(rows, [*headers, "faults per later epoch"])

    targets: list[Target] = []
    rows = []
    for res in results:
        if not res.alone.has("glassnet"):
            continue
        config, alone = res.config, res.alone
        ratio = alone.ratio("glassnet", "floor")
        floor_cells = ["-", "-"]
        if config.floor_target is not None:
            targets.append(Target(config.name, "glassnet/floor", ratio, config.floor_target, "alone"))
            floor_cells = [f"<= {config.floor_target:.2f}x", verdict(ratio, config.floor_target)]
        targets.append(Target(config.name, "record us", alone.record_us, alone.record_limit_us, "alone"))
        rows.append(
            [
                config.name,
                ms(alone.median("floor")),
                ms(alone.median("glassnet")),
                f"{ratio:.2f}x",
                *floor_cells,
                ms(alone.median("glassnet_sparse")),
                *alone.record_cells(),
            ]
        )
    headers = ["config", "BLAS floor ms", "glassnet ms", "glassnet / floor", "target", "met"]
    floor_table = table(rows, [*headers, "record_every=epochs ms", "records cost", "per record", "target", "met"])
    text = (
        "Alone: each library in a fresh process per configuration with one BLAS thread, the way\n"
        "`python train.py` runs (medians over repeats, per epoch; glassnet records every epoch; its faults in\n"
        "epoch 1, fit's setup included, and per later epoch come from one more, untimed, fit):\n\n"
        f"{times_table}\n\n"
        "Alone, glassnet against the BLAS floor (the step's matrix products alone) and a record every epoch\n"
        "(record_every=1) against records at the ends only (record_every=epochs), the three alternated in\n"
        "glassnet's process (median per-repeat ratios; a record may cost 5% of an epoch, or 25 µs where that\n"
        "is more):\n\n"
        f"{floor_table}"
    )
    return text, targets


def interleaved_report(results: Sequence[ConfigResult], runners: Sequence[Runner]) -> tuple[str, list[Target]]:
    """The interleaved tables (times, ratios to peers, floor and records) and their targets."""
    targets: list[Target] = []
    rows: list[list[object]] = []
    for res in results:
        config = res.config
        others = "?" if res.others_cpus is None else f"{res.others_cpus:.2f}"
        batch = "full" if config.batch_size is None else config.batch
        times = (ms(res.times.median(r.name)) for r in runners)
        glassnet_faults = faults(res.times.median_faults("glassnet"))
        shape = [config.name, config.architecture, f"{config.n_rows:,}", batch, config.epochs]
        rows.append([*shape, *times, glassnet_faults, others])
    headers = ["config", "network", "rows", "batch", "epochs", *(f"{r.label} ms" for r in runners)]
    times_table = table(rows, [*headers, "glassnet faults per epoch", "others' CPUs"])

    rows = []
    for res in results:
        for peer in ("sklearn", "torch64", "torch32"):
            limit = res.config.targets.get(peer)
            if not res.times.has(peer):
                rows.append([res.config.name, peer, "skipped", "", ""])
            elif limit is None:
                rows.append([res.config.name, peer, f"{res.times.ratio('glassnet', peer):.2f}x", "-", "-"])
            else:
                ratio = res.times.ratio("glassnet", peer)
                targets.append(Target(res.config.name, f"glassnet/{peer}", ratio, limit, "interleaved"))
                rows.append([res.config.name, peer, f"{ratio:.2f}x", f"<= {limit:.2f}x", verdict(ratio, limit)])
    ratios_table = table(rows, ["config", "peer", "glassnet / peer", "target", "met"])

    rows = []
    for res in results:
        records = res.records
        targets.append(Target(res.config.name, "record us", records.record_us, records.record_limit_us, "interleaved"))
        rows.append(
            [
                res.config.name,
                ms(res.times.median("floor")),
                ms(res.times.median("glassnet")),
                f"{res.times.ratio('glassnet', 'floor'):.1f}x",
                ms(res.records.median("glassnet")),
                ms(res.records.median("glassnet_sparse")),
                *records.record_cells(),
            ]
        )
    headers = ["config", "BLAS floor ms", "glassnet ms", "glassnet / floor", "record_every=1 ms"]
    headers.append("record_every=epochs ms")
    floor_table = table(rows, [*headers, "records cost", "per record", "target", "met"])

    rows = []
    for res in results:
        cost = res.records.keep_rows_cost
        targets.append(Target(res.config.name, "keep_rows %", cost, KEEP_ROWS_TARGET_PERCENT, "interleaved"))
        rows.append(
            [
                res.config.name,
                ms(res.records.median("glassnet")),
                ms(res.records.median("glassnet_rows")),
                f"{cost:+.1f}%",
                f"<= {KEEP_ROWS_TARGET_PERCENT:.0f}%",
                verdict(cost, KEEP_ROWS_TARGET_PERCENT),
            ]
        )
    rows_table = table(rows, ["config", "without keep_rows ms", "keep_rows ms", "keep_rows cost", "target", "met"])

    busiest = max((r.others_cpus for r in results if r.others_cpus is not None), default=0.0)
    warning = (
        f"\n\nnote: other processes kept up to {busiest:.2f} CPUs busy during these runs; multi-threaded BLAS and\n"
        "OpenMP slow down badly when cores are shared, so rerun on an idle machine (or compare with --threads 1)."
        if busiest > BUSY_WARNING_CPUS
        else ""
    )
    text = (
        "Interleaved: the libraries in turn in this one process, time per epoch (milliseconds, median over\n"
        "repeats; glassnet records every epoch; its minor page faults per epoch, to set beside those alone;\n"
        "others' CPUs: how many CPUs other processes kept busy meanwhile, alone and interleaved):\n\n"
        f"{times_table}\n\n"
        "glassnet time over peer time (median of the per-repeat ratios; torch float32 for reference):\n\n"
        f"{ratios_table}\n\n"
        "Against the BLAS floor (the step's matrix products alone), and the cost of a typed record every epoch\n"
        "(record_every=1) over records at the ends only (record_every=epochs), timed back to back apart from the\n"
        "peers (medians and median per-repeat ratios):\n\n"
        f"{floor_table}\n\n"
        "What keep_rows=True (every training row's loss and margin on each recorded epoch) adds to the same fit,\n"
        "a record every epoch both, timed back to back with the two above:\n\n"
        f"{rows_table}{warning}"
    )
    return text, targets


@dataclass(frozen=True)
class EffectsTiming:
    """One network's seconds of ``effects`` and of one training epoch, on the same rows, in repeat order."""

    name: str
    effects: list[float]
    epoch: list[float]

    @property
    def ratio(self) -> float:
        return paired_ratio(self.effects, self.epoch)


def effects_timings(*, repeats: int, pause: float) -> list[EffectsTiming]:
    """For each of `EFFECTS_NETWORKS`: ``TabularModel.effects`` of `EFFECTS_ROWS` housing rows and one epoch
    of its training on them, timed in turn (after one untimed of each), in one BLAS thread."""
    from threadpoolctl import threadpool_limits

    houses = glassnet.make_housing(EFFECTS_ROWS, seed=0)
    found = []
    with threadpool_limits(1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", glassnet.DataNote)
        for name, hidden, activation in EFFECTS_NETWORKS:
            model = glassnet.TabularModel(hidden=hidden, activation=activation, epochs=1)
            model.fit(houses, glassnet.TARGET)
            X, y = model.features.transform(houses), model.target_encoding.encode(houses[glassnet.TARGET])
            settings = glassnet.TrainingSettings.of(TABULAR_TRAINING, epochs=repeats + 1)
            run = glassnet.TrainingRun(model.network, X, y, settings)
            run.advance(1)
            model.effects(houses)
            works: dict[str, Callable[[], object]] = {
                "effects": partial(model.effects, houses),
                "epoch": partial(run.advance, 1),
            }
            times: dict[str, list[float]] = {"effects": [], "epoch": []}
            for _ in range(repeats):
                for what, work in works.items():
                    gc.collect()
                    time.sleep(pause)
                    started = time.perf_counter()
                    work()
                    times[what].append(time.perf_counter() - started)
            found.append(EffectsTiming(name, **times))
    return found


def effects_report(timings: Sequence[EffectsTiming]) -> str:
    """The effects table: milliseconds of each, their ratio and the target."""
    rows = [
        [
            t.name,
            f"{EFFECTS_ROWS:,}",
            ms(statistics.median(t.effects)),
            ms(statistics.median(t.epoch)),
            f"{t.ratio:.2f}x",
            f"<= {EFFECTS_TARGET:.2f}x",
            verdict(t.ratio, EFFECTS_TARGET),
        ]
        for t in timings
    ]
    headers = ["network", "rows", "effects ms", "one epoch ms", "effects / epoch", "target", "met"]
    return "what the network learned: TabularModel.effects against one training epoch on the same rows\n" + table(
        rows, headers
    )


@dataclass
class CheckpointTiming:
    """``python train.py --epochs N`` with ``--checkpoint`` and without: its "trained in" seconds, in repeat order,
    and the sizes of the last checkpoint and of its history log."""

    epochs: int
    plain: list[float]
    checkpointed: list[float]
    checkpoint_bytes: int
    log_bytes: int

    @property
    def cost(self) -> float:
        """Extra time of the checkpointed run, in percent (the median of the paired ratios)."""
        return (paired_ratio(self.checkpointed, self.plain) - 1.0) * 100.0

    @property
    def per_checkpoint(self) -> float:
        """Median extra seconds per checkpoint (one every `CHECKPOINT_EVERY` epochs, and one at the end)."""
        extra = statistics.median(a - b for a, b in zip(self.checkpointed, self.plain, strict=True))
        return extra / -(-self.epochs // CHECKPOINT_EVERY)


def trained_seconds(argv: Sequence[str]) -> float:
    """The seconds ``python train.py ARGV`` says it trained for, run in a fresh process with one BLAS thread."""
    command = [sys.executable, "train.py", *argv]
    done = subprocess.run(command, env=os.environ | ONE_THREAD, cwd=ROOT, capture_output=True, text=True, check=False)
    found = re.search(r"^trained in ([\d.]+) s$", done.stdout, re.M)
    if done.returncode != 0 or found is None:
        raise ChildFailed(f"{shlex.join(command)} exited with status {done.returncode}: {done.stderr[-500:]}")
    return float(found[1])


def checkpoint_timings(*, quick: bool, pause: float) -> list[CheckpointTiming]:
    """The default run at each of `CHECKPOINT_EPOCHS` with ``--checkpoint`` and without, alternating which goes
    first, `CHECKPOINT_REPEATS` pairs each (one with ``quick``, at `CHECKPOINT_QUICK_EPOCHS`)."""
    found = []
    for epochs in CHECKPOINT_QUICK_EPOCHS if quick else CHECKPOINT_EPOCHS:
        times: dict[str, list[float]] = {"plain": [], "checkpointed": []}
        with tempfile.TemporaryDirectory() as folder:
            checkpoint = Path(folder) / "run.json"
            runs = {"plain": ["--epochs", str(epochs)], "checkpointed": ["--epochs", str(epochs), "--checkpoint"]}
            for repeat in range(1 if quick else CHECKPOINT_REPEATS):
                for what in sorted(runs, reverse=repeat % 2 == 1):
                    time.sleep(pause)
                    argv = [*runs[what], str(checkpoint)] if what == "checkpointed" else runs[what]
                    times[what].append(trained_seconds(argv))
            log = glassnet.checkpoints.history_log(checkpoint)
            found.append(CheckpointTiming(epochs, **times, checkpoint_bytes=checkpoint.stat().st_size,
                                          log_bytes=log.stat().st_size))  # fmt: skip
    return found


def checkpoint_report(timings: Sequence[CheckpointTiming]) -> tuple[str, list[Target]]:
    """The checkpoints table: seconds with and without, the cost per run and per checkpoint, the files' sizes."""
    rows = [
        [
            f"{t.epochs:,}",
            f"{statistics.median(t.plain):.2f}",
            f"{statistics.median(t.checkpointed):.2f}",
            f"{t.cost:+.1f}%",
            f"{t.per_checkpoint * 1e3:.2f}",
            f"{t.checkpoint_bytes / 1e3:,.1f}",
            f"{t.log_bytes / 1e3:,.1f}",
            f"<= {CHECKPOINT_TARGET_PERCENT:.0f}%",
            verdict(t.cost, CHECKPOINT_TARGET_PERCENT),
        ]
        for t in timings
    ]
    headers = ["epochs", "plain s", "--checkpoint s", "checkpoint cost", "ms per checkpoint", "checkpoint kB"]
    text = (
        "Checkpoints: `python train.py --epochs N` with `--checkpoint run.json` (every 10 epochs) and without,\n"
        'each in a fresh process with one BLAS thread, alternating (the "trained in" seconds it prints;\n'
        "median per-pair ratios; the sizes are the last checkpoint's and its history log's):\n\n"
        + table(rows, [*headers, "history log kB", "target", "met"])
    )
    what = "checkpoint cost %"
    targets = [
        Target(f"train.py --epochs {t.epochs}", what, t.cost, CHECKPOINT_TARGET_PERCENT, "alone") for t in timings
    ]
    return text, targets


def report(results: Sequence[ConfigResult], runners: Sequence[Runner]) -> tuple[str, list[Target]]:
    """The standalone tables, then the interleaved ones, and every target evaluated."""
    alone_text, alone_targets = alone_report(results)
    interleaved_text, interleaved_targets = interleaved_report(results, runners)
    return f"{alone_text}\n\n{interleaved_text}", alone_targets + interleaved_targets


def summary(targets: Sequence[Target], torch_version: str | None) -> str:
    """``targets met: k/n``, then the missed ones."""
    groups = {where: [t for t in targets if t.measured == where] for where in ("alone", "interleaved")}
    counts = ", ".join(f"{where} {sum(t.met for t in group)}/{len(group)}" for where, group in groups.items())
    line = f"targets met: {sum(t.met for t in targets)}/{len(targets)} ({counts})"
    if torch_version is None:
        line += " (the torch targets were not evaluated: torch is not importable)"
    missed = [f"{t.config} {t.what} {t.measured} {t.value:.2f} > {t.limit:.2f}" for t in targets if not t.met]
    return line + ("\nmissed: " + "; ".join(missed) if missed else "")


def alone_numbers(result: ConfigResult) -> dict[str, Any]:
    """A configuration's standalone measurements for ``--json``; the glassnet ones are ``None`` without its child."""
    alone, glassnet = result.alone, result.alone.has("glassnet")
    return {
        "seconds_per_epoch": alone.seconds,
        "minor_faults_per_epoch": alone.faults,
        "median_seconds_per_epoch": {name: alone.median(name) for name in alone.seconds},
        "median_minor_faults_per_epoch": {name: alone.median_faults(name) for name in alone.faults},
        "glassnet_over_floor": alone.ratio("glassnet", "floor") if glassnet else None,
        "records_cost_percent": alone.records_cost if glassnet else None,
        "record_us": alone.record_us if glassnet else None,
        "glassnet_faults_by_epoch": None if result.profile is None else asdict(result.profile),
    }


def raw_numbers(
    results: Sequence[ConfigResult], targets: Sequence[Target], env: dict[str, Any], wall: float
) -> dict[str, Any]:
    """Everything measured, for ``--json``: every block's seconds and faults per epoch, medians, ratios, targets."""
    configs = [
        {
            "name": r.config.name,
            "sizes": r.config.sizes,
            "activation": r.config.activation,
            "classifier": r.config.classifier,
            "rows": r.config.n_rows,
            "batch_size": r.config.batch_size,
            "learning_rate": r.config.learning_rate,
            "epochs": r.config.epochs,
            "others_cpus": r.others_cpus,
            "alone": alone_numbers(r),
            "seconds_per_epoch": r.times.seconds,
            "minor_faults_per_epoch": r.times.faults,
            "median_seconds_per_epoch": {name: r.times.median(name) for name in r.times.seconds},
            "glassnet_over": {name: r.times.ratio("glassnet", name) for name in r.times.seconds if name != "glassnet"},
            "records_seconds_per_epoch": r.records.seconds,
            "records_cost_percent": r.records.records_cost,
            "keep_rows_cost_percent": r.records.keep_rows_cost,
            "record_us": r.records.record_us,
        }
        for r in results
    ]
    return {
        "environment": env,
        "wall_seconds": wall,
        "configs": configs,
        "targets": [{**vars(t), "met": t.met} for t in targets],
        "targets_met": sum(t.met for t in targets),
        "targets_total": len(targets),
    }


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options; ``--help`` lists them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per library (default 5; 1 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: fewer rows, tiny epoch counts, 1 repeat, no pauses"
    )
    parser.add_argument("--pause", type=float, default=None, help="seconds of sleep before each timed block (0.2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="cap BLAS, OpenMP and torch threads when interleaved (default: leave them alone; alone: always 1)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the raw numbers as JSON")
    parser.add_argument(
        "--only", default=None, help=f"comma-separated configurations to run, of: {', '.join(c.name for c in CONFIGS)}"
    )
    parser.add_argument(
        "--alone",
        default=None,
        help=f"comma-separated libraries to time alone, each in a fresh process, of: {', '.join(LIBRARIES)} "
        "(default all; glassnet with --quick)",
    )
    parser.add_argument(
        "--child",
        choices=LIBRARIES,
        default=None,
        help="what --alone starts: time this library alone on --config in this process, print one JSON line",
    )
    parser.add_argument("--config", choices=[c.name for c in CONFIGS], default=None, help="--child's configuration")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.pause is None:
        args.pause = 0.0 if args.quick else 0.2
    if args.repeats < 1 or args.pause < 0 or (args.threads is not None and args.threads < 1):
        parser.error("--repeats and --threads must be at least 1, --pause at least 0")
    names = {c.name for c in CONFIGS}
    args.only = None if args.only is None else [name.strip() for name in args.only.split(",")]
    if args.only is not None and not set(args.only) <= names:
        parser.error(f"--only: expected names among {sorted(names)}, got {args.only}")
    alone = args.alone or ("glassnet" if args.quick else ",".join(LIBRARIES))
    args.alone = [name.strip() for name in alone.split(",")]
    if not set(args.alone) <= set(LIBRARIES):
        parser.error(f"--alone: expected names among {list(LIBRARIES)}, got {args.alone}")
    if (args.child is None) != (args.config is None):
        parser.error("--child and --config go together")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report, optionally write JSON.

    Returns 0 whether or not the targets are met; 1 when a standalone child fails, 2 for wrong arguments.
    """
    args = parse_args(argv)
    warnings.filterwarnings("ignore", module="sklearn")  # partial_fit's convergence chatter
    if args.child is not None:
        config = next(c for c in CONFIGS if c.name == args.config)
        print(child(args.child, config.quick() if args.quick else config, repeats=args.repeats, pause=args.pause))
        return 0
    torch_version = torch_status()
    runners = [glassnet_runner(sparse_records=False), sklearn_runner()]
    if torch_version is None:
        print("torch is not importable: skipping the PyTorch runs", flush=True)
    else:
        runners += [torch_runner("float64"), torch_runner("float32")]
    runners.append(blas_floor_runner())
    libraries = [name for name in args.alone if torch_version is not None or not name.startswith("torch")]
    if args.threads is not None:
        limit_threads(args.threads, torch_version is not None)
    env = environment(torch_version, args, libraries)
    configs = [c.quick() if args.quick else c for c in CONFIGS if args.only is None or c.name in args.only]

    started = time.perf_counter()
    try:
        results = [
            run_config(c, runners, libraries, quick=args.quick, repeats=args.repeats, pause=args.pause) for c in configs
        ]
    except ChildFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started

    effects = effects_timings(repeats=args.repeats, pause=args.pause)
    try:
        checkpoints = checkpoint_timings(quick=args.quick, pause=args.pause)
    except ChildFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text, targets = report(results, runners)
    checkpoints_text, checkpoint_targets = checkpoint_report(checkpoints)
    targets += checkpoint_targets
    print(header(env), end="\n\n")
    print(text, end="\n\n")
    print(effects_report(effects), end="\n\n")
    print(checkpoints_text, end="\n\n")
    print(f"{summary(targets, torch_version)}\nwall time {wall:.1f} s", flush=True)
    if args.json is not None:
        document = raw_numbers(results, targets, env, wall)
        document["effects"] = [{**asdict(t), "ratio": t.ratio, "target": EFFECTS_TARGET} for t in effects]
        document["checkpoints"] = [{**asdict(t), "cost_percent": t.cost} for t in checkpoints]
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
