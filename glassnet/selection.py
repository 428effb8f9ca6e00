"""Choosing a table's network on its own training rows: the candidates, how they are scored, the winner.

`choose` cuts the rows it is given (and only those: the caller's test rows never reach it) into
`FOLDS` folds. Every candidate trains one member per fold, on the other folds, stopped early on
its own; the candidate's score is its out-of-fold loss, each row's loss under the member that did
not learn it. The simplest candidate that no later one beats by more than `MARGIN` wins. The
first members train first: a candidate that clearly loses on the first fold (`CLEARLY`), after
`FIRST_STEPS` or at its member's end, is dropped there, and its other members never train
(successive halving). A winner with ``refit_epochs`` (the linear network) is refit on all the
rows; otherwise the model is the average of its members (`average_of`), which between them
learned every row given: one `Network` whose hidden layers are the members' side by side.
Either way predictions, input gradients, effects and the bundle file are those of any network,
exactly.

Every member is trained by a job of its own (a first member paused after its first steps goes on
in another) through joblib, when it is installed: inside ``joblib.parallel_backend("dask")`` (or
any backend) the jobs run on its workers; otherwise one after another, here. Every job is
seeded, so the choice is the same wherever they ran.

Read top to bottom: the choices (each with the reason for its value), the records a choice
makes (`Selection`), averaging, then the jobs and `choose`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tabulate import tabulate
from threadpoolctl import ThreadpoolController

from glassnet.fields import FloatArray
from glassnet.functions import Head
from glassnet.network import Init, Network
from glassnet.optim import Adam
from glassnet.records import RowMeasures, TrainingHistory
from glassnet.settings import TrainingSettings
from glassnet.training import TrainingDiverged, TrainingRun


class Candidate(BaseModel):
    """One network `choose` may pick: its architecture, its ``l2`` and Adam's rate; it is the average of
    `FOLDS` seeded members."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    hidden: list[int] = Field(default_factory=list)
    activation: str = "identity"
    init: Init = "xavier"
    l2: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)
    learning_rate: float | None = Field(default=None, gt=0.0, allow_inf_nan=False)
    """Adam's rate (``None``: its default)."""
    refit_epochs: int | None = Field(default=None, ge=1)
    """When it wins: refit on all the rows, full batch, for this many epochs; ``None``: the average of its members
    is the model."""

    def describe(self) -> str:
        """``"hidden [64, 64] relu, l2 0.001"``: what the candidate's members are, in one phrase."""
        return f"hidden {self.hidden} {self.activation}" + (f", l2 {self.l2:g}" if self.l2 else "")


LINEAR = Candidate(name="linear", hidden=[10, 25], activation="identity", init="xavier", refit_epochs=150)
"""The linear network (the housing default, 4-10-25-1 there): least squares or logistic regression once trained.
First, so that it wins every tie: where the data is linear nothing beats it, and on 17 real tables it equalled
Ridge and logistic regression on every linear one. When it wins it is refit on all the rows as a network given
trains (`glassnet.tabular.TABULAR_TRAINING`: Adam, full batch, 150 epochs, by which it reaches least squares),
the same bits: averaging members that each learned two thirds of the rows, stopped early, scored 0.008 lower
R^2 on diabetes."""
RELU_AVERAGE = Candidate(
    name="relu average", hidden=[64, 64], activation="relu", init="he", l2=1e-3, learning_rate=0.02
)
"""Relu networks of two layers of 64 with ``l2``, averaged: of about 35 fixed networks measured on 17 real
tables, an average of seeds gave the largest gain after choosing at all, and ``l2`` keeps each member from
fitting the noise of a small table (scikit-learn's MLP of 100 units overfits CPS1985 to R^2 0.08). Adam's rate
is twice its default: on bench/tables.py's Friedman tables and digits the members stopped after 0.6 to 0.8 of
the epochs, the choice took 0.8 to 0.9 of its time, and R^2 stayed within 0.001 (Friedman #1 0.004 higher);
on its eleven tables, five splits each, no choice changed. At three times the default some did (wine, digits)."""
CANDIDATES: tuple[Candidate, ...] = (LINEAR, RELU_AVERAGE)
"""What `choose` picks from unless told otherwise, simplest first."""

MIN_ROWS = 50
"""Fewer training rows than this train the linear network without choosing: a fold of 50 rows holds 10, about
the fewest on which a member can be stopped; below it the simplest network is the safe answer."""
FOLDS = 3
"""Folds, and so members per candidate: each member learns from two thirds of the rows and every row scores
once. Five folds scored within 0.01 of three (R^2 and accuracy on scikit-learn's iris, wine, diabetes and digits
and on Friedman #1 and #2) and took 1.6 to 2 times as long; three keeps the choice within the time of
scikit-learn's MLP. Members trained on folds matched members trained on one split and then refit on all rows,
in half the time."""
MARGIN = 0.01
"""A later (larger) candidate wins only if its out-of-fold loss is below the best so far by more than this share
of it: a difference within a percent is within the noise of the folds, and the simpler network is then kept."""
CLEARLY = 2.0
"""Standard errors by which a candidate's loss on the first fold must lose to the leader's there, the choice's
`MARGIN` counted, for the candidate to be dropped before its other members train. The error is that of the
mean of the rows' paired differences, so a small fold, whose losses scatter, drops nothing unless the gap is
wide. On housing (a linear truth) the relu members ran 180 to 240 epochs each to lose by 5-11%, four times
the linear members' time; on ten tables of bench/tables.py, five splits each, no candidate this drops would
have been chosen."""
PATIENCE = 10
"""Epochs without a better loss on its fold after which a member stops: scikit-learn's ``n_iter_no_change``."""
CHECK_EVERY = 5
"""Epochs between two measures of a member's loss on its fold: a measured epoch also records norms and unit
health, which cost more than the epoch's steps on a small network; every fifth keeps that cost a fifth."""
MAX_EPOCHS = 1_000
"""The most epochs a member trains; with minibatches of `BATCH_SIZE` early stopping ends them long before
(65 to 151 epochs on tables of up to 54,000 rows)."""
BATCH_SIZE = 128
"""Rows per step for tables larger than this (full batch for smaller ones): on large tables full batch ran to
the epoch cap, where minibatches of 128 stopped within 65-151 epochs."""
FIRST_STEPS = 400
"""Adam steps after which the first members are judged (`CLEARLY`), each paused after the epoch that reaches
them; those still in then train to their own end, are judged again, and only then train their other members.
On housing (a linear truth) the relu member had clearly lost by 400 steps (50 epochs of 1,000 rows), where
its own stop came after 1,200 to 1,900: the choice took 0.3 of its time. On the eleven tables of
bench/tables.py, five splits each, it changed no choice (nor did 200 or 800 on ten of them, the relu members
at Adam's default rate). A member judged early has had fewer steps than its own stop gives it, which the
second judgment makes up for. Where a member trains full batch (`BATCH_SIZE`), one step an epoch, these are
400 epochs, past the stop of most."""
CHOICE_TRAINING = TrainingSettings(optimizer=Adam(), epochs=MAX_EPOCHS, patience=PATIENCE, record_every=CHECK_EVERY)
"""How every member trains: Adam at its default rate (or its candidate's), stopped by `PATIENCE`; batch size and
``l2`` are set per table and per candidate."""
REFIT_TRAINING = TrainingSettings(optimizer=Adam())
"""How a winner with ``refit_epochs`` is refit on all the rows: Adam, full batch, as a network given trains."""
MEASURE_EPOCHS = 150
"""Epochs of the run that measures every row for ``keep_rows`` (`choose`), for a candidate without ``refit_epochs``:
the linear refit's, so that every candidate's measures average the same epochs, at Adam's default rate as the
refit's (not the candidate's own, chosen to make its members stop sooner). On bench/rows.py's tables (5 seeds,
at the candidate's own ``l2``) the relu candidate's loss averaged over 150 epochs ranked flipped labels 0.01
better than over 300, and 0.24 better than its last loss, by which it has memorized them; 75 or 100 epochs
ranked within 0.006 of 150 on every table (10 seeds)."""
MEASURE_L2 = 1e-2
"""``l2`` of a measuring run of a candidate without ``refit_epochs`` (in place of its own): that run only measures
rows, the model being the average of the candidate's members, and a relu network held back from memorizing keeps
a wrong label costly for longer. On bench/rows.py's tables (10 seeds, beside the linear run) it ranked flipped
labels 0.011 to 0.020 better on iris and the generated table, whose classes a relu network fits, and within
0.006 of its own ``l2`` (1e-3) on the others; 3e-3 gained 0.006 and 0.010, and 3e-2 lost the generated table
0.015 and digits 0.006."""
MEASURE_RUNS = 2
"""Measuring runs, seeded one after another, of a candidate without ``refit_epochs``, each one network of the
average (`glassnet.rows.RowPart.averaged`): a relu network's mean losses move with its seed, where the linear one
converges to the same fit from any. Two ranked flipped labels on iris and the generated table 0.020 and 0.024
better than one (with `MEASURE_L2`, bench/rows.py, 10 seeds), and 0.004 to 0.006 better on the others; a third
gained 0.006 on the generated table, lost 0.006 on breast cancer and cost another run."""


def _measuring(candidates: Sequence[Candidate], winner: Candidate, head: Head) -> Sequence[Candidate]:
    """The candidates whose runs measure every row for ``keep_rows``: every one for a classifier, the winner alone
    for a regression (the identity head).

    A wrong label is costly to every candidate, each in its own way, and their average ranked flipped labels best
    (bench/rows.py: above each network alone on every table). A shifted target is a residual under the model
    that fits the table: on linear tables a relu network's own misfit blurs it (targets shifted as bench/rows.py
    shifts them, 40 seeds, precision@k of the winner's measures, of the candidates' average and of a 5-fold
    Ridge's residuals: diabetes 0.927, 0.919, 0.923; its noisy linear table 0.987, 0.978, 0.984), and where relu
    wins its measures alone rank as well (its Friedman #3 0.974, 0.959, 0.863; Friedman #1 of 600 rows 0.988,
    0.991, 0.975)."""
    return candidates if head != "identity" else [winner]


def batch_size_for(n_rows: int) -> int | None:
    """The batch size for training on ``n_rows`` rows: `BATCH_SIZE`, or full batch (``None``) up to it."""
    return BATCH_SIZE if n_rows > BATCH_SIZE else None


class CandidateScore(BaseModel):
    """How one candidate did: its out-of-fold loss and each member's best epoch, or why it was dropped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidate: Candidate
    loss: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    """The head's loss over every row, each under the member that did not learn it; ``None`` when dropped."""
    epochs: list[int] = Field(default_factory=list)
    """Each member's best epoch, the one it keeps."""
    note: str | None = None
    """Why the candidate was dropped (a member diverged), or ``None``."""


class Selection(BaseModel):
    """How a model's network came to be: chosen, with each candidate's score, or not chosen, with the reason.

    ``chosen`` is the candidate trained (for a network pinned, the one it describes); ``reason``
    says in one line why it, or why nothing was chosen (a network pinned, too few rows);
    ``scores`` holds every candidate's out-of-fold loss over the ``rows`` (empty when nothing was
    chosen) and ``folds`` how many parts they were cut into.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chosen: Candidate
    reason: str
    scores: list[CandidateScore] = Field(default_factory=list)
    rows: int = Field(ge=0)
    folds: int = Field(default=0, ge=0)

    @property
    def was_chosen(self) -> bool:
        """Whether candidates were scored (else the network was pinned or the table too small)."""
        return bool(self.scores)

    def table(self) -> str:
        """The candidates, their out-of-fold losses and the winner as a tabulate table, then the reason; only
        the reason when nothing was chosen."""
        if not self.scores:
            return self.reason
        rows = [
            [
                score.candidate.name,
                score.candidate.describe(),
                "-" if score.loss is None else f"{score.loss:.4g}",
                "chosen" if score.candidate == self.chosen else (score.note or ""),
            ]
            for score in self.scores
        ]
        header = ["candidate", "network", f"loss out of fold ({self.rows:,} rows, {self.folds} folds)", ""]
        return f"{tabulate(rows, headers=header)}\n{self.reason}"


def unchosen(candidate: Candidate, rows: int, why: str) -> Selection:
    """The record of a network trained without a choice: ``candidate`` describes it, ``why`` says why."""
    return Selection(chosen=candidate, reason=why, rows=rows)


def too_few(n_rows: int) -> Selection | None:
    """The record of the linear network trained on ``n_rows`` rows, too few to choose on; ``None`` when enough."""
    if n_rows >= MIN_ROWS:
        return None
    network = f"hidden {LINEAR.hidden} {LINEAR.activation}"
    why = f"nothing chosen: {n_rows} training rows, fewer than the {MIN_ROWS} a choice needs; trained {network}"
    return unchosen(LINEAR, n_rows, why)


# ----- averaging ---------------------------------------------------------------


def average_of(members: Sequence[Network]) -> Network:
    """One network computing the average of ``members``' outputs before the head (their logits for a classifier).

    The members must share layer sizes, activation and head. Hidden layer ``i`` of the result is the
    members' ``i``-th layers side by side (k * width units): the first layer's weights side by side,
    later hidden layers' block-diagonal, the output layer's stacked and divided by k, its bias averaged.
    An average of one is that network.
    """
    first = members[0]
    if len(members) == 1:
        return first
    k = len(members)
    sizes = [first.layer_sizes[0], *(k * width for width in first.layer_sizes[1:-1]), first.layer_sizes[-1]]
    merged = Network(sizes, activation=first.activation, head=first.head)
    last = len(first.params) - 1
    for layer, target in enumerate(merged.params):
        parts = [member.params[layer] for member in members]
        if layer == last:  # the output: the average (of the members' hidden units side by side, or of the inputs)
            stacked = np.stack([p.weights for p in parts])
            target.weights[...] = stacked.mean(axis=0) if last == 0 else stacked.reshape(-1, stacked.shape[2]) / k
            target.bias[...] = np.mean([p.bias for p in parts], axis=0)
            continue
        target.weights[...] = 0.0
        n_in, n_out = parts[0].weights.shape
        for j, p in enumerate(parts):
            rows = slice(None) if layer == 0 else slice(j * n_in, (j + 1) * n_in)
            target.weights[rows, j * n_out : (j + 1) * n_out] = p.weights
        target.bias[...] = np.concatenate([p.bias for p in parts])
    return merged


# ----- the jobs ------------------------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """What one job gives back: the member's training run (finished, or paused after its first steps) and its
    summed loss on its fold as it stands, or the divergence that ended it."""

    run: TrainingRun
    fold_loss: float = math.nan
    row_losses: FloatArray | None = None
    """(len(fold),) each fold row's loss."""
    diverged: str | None = None

    @property
    def network(self) -> Network:
        """The member's network: its best epoch's parameters once its run is finished."""
        return self.run.network

    @property
    def history(self) -> TrainingHistory:
        """The member's history so far."""
        return self.run.history


def _new_member(candidate: Candidate, n_inputs: int, head: Head, n_outputs: int, seed: int, X: FloatArray) -> Network:
    """A fresh network of ``candidate``'s for rows ``X`` (n, n_inputs); a column that is 0 on every row of ``X``
    (a constant one, standardized) sends no gradient to its weights: they start at 0 rather than at random, so
    that no prediction depends on it."""
    network = Network(
        [n_inputs, *candidate.hidden, n_outputs],
        activation=candidate.activation,
        head=head,
        init=candidate.init,
        seed=seed,
    )
    network.params[0].weights[~X.any(axis=0)] = 0.0
    return network


@cache
def _blas() -> ThreadpoolController:
    """The process's BLAS libraries, found once: finding them reads every library loaded, which beside
    scikit-learn's cost more than training a small table's linear member."""
    return ThreadpoolController()


def _advanced(run: TrainingRun, epochs: int | None, X: FloatArray, y: np.ndarray, fold: np.ndarray) -> _Member:
    """``run`` after ``epochs`` more epochs (``None``: to its end), with its loss on the rows of ``X`` (n, k),
    ``y`` inside ``fold`` (indices)."""
    try:
        with _blas().limit(limits=1, user_api="blas"):  # small products: one BLAS thread is the fastest
            run.advance(epochs)
    except TrainingDiverged as error:
        return _Member(run, diverged=str(error))
    network = run.network
    fold_loss = network.loss(X[fold], y[fold]) * len(fold)
    return _Member(run, fold_loss=fold_loss, row_losses=network.row_losses(X[fold], y[fold]))


def _train_member(
    candidate: Candidate,
    member: int,
    X: FloatArray,
    y: np.ndarray,
    fold: np.ndarray,
    head: Head,
    n_outputs: int,
    seed: int,
    steps: int | None,
) -> _Member:
    """Member ``member`` of ``candidate``: trained on the rows of ``X`` (n, k), ``y`` outside ``fold`` (indices),
    stopped on those inside it; paused after the epoch in which its step count reaches ``steps`` (``None``: not
    paused)."""
    learn = np.ones(len(X), dtype=bool)
    learn[fold] = False
    network = _new_member(candidate, X.shape[1], head, n_outputs, seed + member, X)
    n_learn = int(learn.sum())
    batch_size = batch_size_for(n_learn)
    settings = TrainingSettings.of(
        CHOICE_TRAINING, learning_rate=candidate.learning_rate, batch_size=batch_size, l2=candidate.l2
    )
    run = TrainingRun(network, X[learn], y[learn], settings, validation_data=(X[fold], y[fold]))
    per_epoch = 1 if batch_size is None else math.ceil(n_learn / batch_size)
    epochs = None if steps is None else math.ceil(steps / per_epoch)
    return _advanced(run, epochs, X, y, fold)


def _go_on(member: _Member, X: FloatArray, y: np.ndarray, fold: np.ndarray) -> _Member:
    """``member``, paused, trained to its end (it learns the rows of ``X`` (n, k), ``y`` outside ``fold``)."""
    return _advanced(member.run, None, X, y, fold)


def _run(job: Callable[..., _Member], arguments: list[tuple[Any, ...]]) -> list[_Member]:
    """``job`` on each of ``arguments``, through joblib when installed (its active backend decides where), else
    here."""
    try:
        from joblib import Parallel, delayed
    except ImportError:
        return [job(*given) for given in arguments]
    runner: Callable[..., _Member] = delayed(job)
    return list(Parallel()(runner(*given) for given in arguments))


@dataclass(frozen=True)
class Choice:
    """What `choose` gives: the winner's network (refit, or the average of its members), the history of its
    refit (or of its first member), the record of the choice and, with ``keep_rows``, the measures of every row
    (`_measuring`'s candidates')."""

    network: Network
    history: TrainingHistory
    selection: Selection
    rows: dict[str, RowMeasures]
    """Run name to `RowMeasures` of every row (in ``X``'s order): a candidate's name, and for the runs after a
    candidate's first ``"<name>, run 2"`` and on; empty without ``keep_rows``."""


def _refit(
    candidate: Candidate, X: FloatArray, y: np.ndarray, head: Head, n_outputs: int, seed: int, *, keep_rows: bool
) -> tuple[Network, TrainingHistory]:
    """``candidate``'s network trained on all the rows ``X`` (n, k), ``y`` as `REFIT_TRAINING` trains, for its
    ``refit_epochs`` at its own rate and ``l2`` (else a measuring run: `MEASURE_EPOCHS` at Adam's default rate,
    `MEASURE_L2`); with ``keep_rows``, measuring every row (the same bits)."""
    network = _new_member(candidate, X.shape[1], head, n_outputs, seed, X)
    epochs, learning_rate, l2 = (
        (MEASURE_EPOCHS, None, MEASURE_L2)
        if candidate.refit_epochs is None
        else (candidate.refit_epochs, candidate.learning_rate, candidate.l2)
    )
    settings = TrainingSettings.of(
        REFIT_TRAINING, epochs=epochs, l2=l2, learning_rate=learning_rate, keep_rows=keep_rows
    )
    return network, network.fit(X, y, settings=settings)


def _lowest(losses: Sequence[float | None]) -> int | None:
    """Which of ``losses`` (simplest candidate first; ``None``: dropped) the choice picks: the simplest that no
    later one is below by more than `MARGIN`; ``None`` when all are dropped."""
    best: int | None = None
    for i, loss in enumerate(losses):
        so_far = None if best is None else losses[best]
        if loss is not None and (so_far is None or loss < so_far * (1 - MARGIN)):
            best = i
    return best


def _losing_first(candidates: Sequence[Candidate], first: Sequence[_Member | None]) -> list[str | None]:
    """Per candidate, from its first member (each on the first fold; ``None``: dropped already), why it is dropped
    there, or ``None``.

    The leader is the one the choice would pick on the fold; a candidate is dropped when its rows' losses
    lose to the leader's by more than `CLEARLY` standard errors of their paired differences, `MARGIN`
    counted as the choice counts it (a simpler candidate loses unless the leader is `MARGIN` below it,
    a larger one unless it is `MARGIN` below the leader).
    """
    rows = [None if member is None or member.diverged is not None else member.row_losses for member in first]
    rows = [r if r is not None and np.isfinite(r).all() else None for r in rows]
    leader = _lowest([None if r is None else float(r.mean()) for r in rows])
    notes: list[str | None] = [None] * len(first)
    if leader is None:
        return notes
    best = rows[leader]
    for i, losses in enumerate(rows):
        if losses is None or best is None or i == leader:
            continue
        gap = losses * (1 - MARGIN) - best if i < leader else losses - best * (1 - MARGIN)
        if gap.mean() > CLEARLY * gap.std(ddof=1) / math.sqrt(len(gap)):
            notes[i] = (
                f"dropped after fold 1: loss {losses.mean():.4g} there, clearly above {best.mean():.4g} "
                f"({candidates[leader].name})"
            )
    return notes


def _first_members(
    candidates: Sequence[Candidate], X: FloatArray, y: np.ndarray, fold: np.ndarray, job: tuple[Any, ...]
) -> tuple[list[_Member], list[str | None]]:
    """Each candidate's first member, on ``fold``, and why the candidate is dropped there (or ``None``): judged
    after `FIRST_STEPS`, then again once those still in have trained to their end. ``job`` holds
    `_train_member`'s arguments after the fold."""
    first = _run(_train_member, [(candidate, 0, X, y, fold, *job, FIRST_STEPS) for candidate in candidates])
    dropped = _losing_first(candidates, first)
    paused = [i for i, member in enumerate(first) if not member.run.finished and dropped[i] is None]
    paused = [i for i in paused if first[i].diverged is None]
    if not paused:
        return first, dropped
    for i, member in zip(paused, _run(_go_on, [(first[i], X, y, fold) for i in paused]), strict=True):
        first[i] = member
    still_in = [None if note is not None else member for member, note in zip(first, dropped, strict=True)]
    at_end = _losing_first(candidates, still_in)
    return first, [before or after for before, after in zip(dropped, at_end, strict=True)]


def _score(candidate: Candidate, members: list[_Member], n_rows: int, dropped: str | None) -> CandidateScore:
    """``candidate``'s score from its members: their out-of-fold loss, or dropped with the reason (``dropped``,
    when its first member lost)."""
    diverged = next((member.diverged for member in members if member.diverged is not None), None)
    if diverged is not None:
        return CandidateScore(candidate=candidate, note=f"dropped: {diverged}")
    epochs = [member.history.best_epoch or member.history.records[-1].epoch for member in members]
    if dropped is not None:
        return CandidateScore(candidate=candidate, epochs=epochs, note=dropped)
    loss = sum(member.fold_loss for member in members) / n_rows
    if not math.isfinite(loss):
        return CandidateScore(candidate=candidate, epochs=epochs, note="dropped: its loss out of fold is not finite")
    return CandidateScore(candidate=candidate, loss=loss, epochs=epochs)


def choose(
    X: FloatArray,
    y: np.ndarray,
    *,
    head: Head,
    n_outputs: int,
    seed: int | None,
    candidates: Sequence[Candidate] = CANDIDATES,
    keep_rows: bool = False,
) -> Choice:
    """Choose among ``candidates`` on encoded rows ``X`` (n, k) and labels ``y`` (the head's format): each one's
    `FOLDS` members trained fold by fold, the first ones first (`_losing_first` drops a candidate there); the
    winner refit on all the rows, or its members averaged.

    With ``keep_rows``, every candidate of a classifier, the winner of a regression (`_measuring`), also measures
    every row (`Choice.rows`): trained on all the rows as a refit is (`_refit`, keeping rows), the winner's refit
    being its run, and a candidate without ``refit_epochs`` in `MEASURE_RUNS` runs seeded one after another. The
    choice and the network are the same as without.

    ``seed`` (``None``: fresh entropy) seeds the folds and each member. At least `MIN_ROWS` rows are
    expected (`too_few` says why below that, and the caller trains the linear network). A
    candidate with a member that diverged is dropped, with a note; when all are, the first
    divergence is raised (`TrainingDiverged`).
    """
    n_rows = len(X)
    if seed is None:  # fresh entropy, drawn once: every member's seed follows from it
        seed = int(np.random.default_rng().integers(2**31))
    folds = np.array_split(np.random.default_rng(seed).permutation(n_rows), FOLDS)
    job = (head, n_outputs, seed)
    first, dropped = _first_members(candidates, X, y, folds[0], job)
    going_on = [i for i, member in enumerate(first) if member.diverged is None and dropped[i] is None]
    rest = iter(
        _run(_train_member, [(candidates[i], m, X, y, folds[m], *job, None) for i in going_on for m in range(1, FOLDS)])
    )
    by_candidate = [[member] for member in first]
    for i in going_on:
        by_candidate[i] += [next(rest) for _ in range(1, FOLDS)]
    scores = [
        _score(candidate, members, n_rows, note)
        for candidate, members, note in zip(candidates, by_candidate, dropped, strict=True)
    ]
    best = _lowest([score.loss for score in scores])
    if best is None:
        raise TrainingDiverged(f"every candidate diverged; {scores[0].note}", by_candidate[0][0].history)
    winner = candidates[best]
    reason = f"chose {winner.name!r} ({winner.describe()}): the lowest loss out of fold"
    if any(score.loss is not None for score in scores[:best]):
        reason += f", more than {MARGIN:.0%} below that of every simpler candidate"
    elif any(note is not None for note in dropped[:best]):
        reason += ", every simpler candidate having clearly lost on fold 1"
    reason += "" if winner.refit_epochs is None else f"; refit on all {n_rows:,} rows"
    selection = Selection(chosen=winner, reason=reason, scores=scores, rows=n_rows, folds=FOLDS)
    members = by_candidate[best]
    refit = None if winner.refit_epochs is None else _refit(winner, X, y, head, n_outputs, seed, keep_rows=keep_rows)
    rows = {}
    for candidate in _measuring(candidates, winner, head) if keep_rows else ():
        for run in range(1 if candidate.refit_epochs is not None else MEASURE_RUNS):
            try:
                if refit is not None and candidate == winner:
                    history = refit[1]
                else:
                    with _blas().limit(limits=1, user_api="blas"):  # as for the members: small products
                        history = _refit(candidate, X, y, head, n_outputs, seed + run, keep_rows=True)[1]
            except TrainingDiverged:  # a run that diverges measures nothing; the others still do
                continue
            assert history.rows is not None  # a run that kept rows measured them at its first epoch
            rows[candidate.name if run == 0 else f"{candidate.name}, run {run + 1}"] = history.rows
    if refit is None:
        return Choice(average_of([member.network for member in members]), members[0].history, selection, rows)
    return Choice(*refit, selection, rows)
