"""Optimizers hold settings and no state; the state belongs to the run; one settings object drives any network."""

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from glassnet import SGD, Adam, Momentum, Network, TrainingDiverged, TrainingRun, get_data
from glassnet.optim import OPTIMIZERS, OptimizerName

FloatArray = npt.NDArray[np.float64]
X, Y = get_data(120, seed=5)


def trained(net: Network, optimizer: Any, epochs: int = 6, *, warm_start: bool = False) -> bytes:
    net.fit(X, Y, epochs=epochs, batch_size=32, optimizer=optimizer, warm_start=warm_start)
    return net.parameter_vector.tobytes()


@pytest.mark.parametrize("kind", [SGD, Momentum, Adam])
def test_an_optimizer_holds_its_settings_frozen_and_no_state(kind: type[SGD | Momentum | Adam]) -> None:
    optimizer: Any = kind()
    assert "state" not in type(optimizer).model_fields
    with pytest.raises(ValidationError, match="frozen"):
        optimizer.learning_rate = 1.0
    parameters = np.ones(3)
    state = optimizer.init(parameters)
    optimizer.step(parameters, np.full(3, 0.5), state)
    assert optimizer == kind(), "a step changes the state, never the settings"


def test_one_adam_object_trains_two_networks_each_from_its_own_state() -> None:
    adam = Adam()
    trained(Network([4, 6, 1], seed=1), adam)
    second = trained(Network([4, 6, 1], seed=2), adam)  # the same size: its moments would have fit
    assert second == trained(Network([4, 6, 1], seed=2), Adam()), "the second network starts at Adam's step 1"
    other_size = trained(Network([4, 9, 3, 1], seed=2), adam)  # another size: no broadcast error either
    assert other_size == trained(Network([4, 9, 3, 1], seed=2), Adam())


def test_fit_again_goes_on_only_when_it_warm_starts_and_a_copy_of_the_network_carries_the_state() -> None:
    net, momentum = Network([4, 6, 1], seed=3), Momentum()
    trained(net, momentum, epochs=4)
    twin, fresh = copy.deepcopy(net), copy.deepcopy(net)
    on = trained(net, momentum, epochs=3, warm_start=True)
    assert on == trained(Network([4, 6, 1], seed=3), Momentum(), epochs=7), "the same bits as one longer fit"
    assert trained(twin, Momentum(), epochs=3, warm_start=True) == on, "a copy goes on from its copy of the velocity"
    assert trained(fresh, momentum, epochs=3) != on, "the same object without warm_start: the velocity starts at zero"


def test_the_run_owns_the_state_and_says_where_it_is() -> None:
    run = TrainingRun(Network([4, 6, 1], seed=0), X, Y, epochs=5, batch_size=40, optimizer="adam")
    run.advance()
    assert run.optimizer_state.step == 5 * 3
    assert run.optimizer_state.first_moment.shape == (run.network.n_parameters,)


class CountingSGD:
    """An optimizer of one's own: SGD, computing in the run's scratch and counting its steps in its state."""

    def __init__(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    def init(self, parameters: FloatArray) -> list[int]:
        return [0]

    def step(self, parameters: FloatArray, gradients: FloatArray, state: list[int], scratch: FloatArray) -> None:
        state[0] += 1
        parameters -= np.multiply(gradients, self.learning_rate, out=scratch[0])


def test_an_optimizer_of_one_s_own_keeps_the_small_protocol() -> None:
    run = TrainingRun(Network([4, 6, 1], seed=0), X, Y, epochs=4, batch_size=60, optimizer=CountingSGD(0.05))
    run.advance()
    assert run.optimizer_state == [8], "4 epochs of 2 steps"
    sgd = Network([4, 6, 1], seed=0)
    sgd.fit(X, Y, epochs=4, batch_size=60, optimizer=SGD(learning_rate=0.05))
    assert run.network.parameter_vector.tobytes() == sgd.parameter_vector.tobytes()


def test_an_object_without_init_is_refused_saying_what_the_protocol_is() -> None:
    class StepOnly:
        def step(self, params: FloatArray, grads: FloatArray) -> None: ...

    with pytest.raises(TypeError, match=r"optimizer: expected a name or an Optimizer with init\(parameters\)"):
        Network([4, 1]).fit(X, Y, optimizer=StepOnly())  # type: ignore[arg-type]


def test_a_checkpoint_with_another_network_s_optimizer_state_is_refused_naming_both_sizes(tmp_path: Path) -> None:
    small = TrainingRun(Network([4, 3, 1], seed=0), X, Y, epochs=4, optimizer="adam")
    small.advance(2)
    large = TrainingRun(Network([4, 8, 1], seed=0), X, Y, epochs=4, optimizer="adam")
    large.advance(2)
    document = json.loads(large.checkpoint().model_dump_json())
    document["optimizer_state"] = json.loads(small.checkpoint().model_dump_json())["optimizer_state"]
    path = tmp_path / "spliced.json"
    path.write_text(json.dumps(document))
    expected = rf"optimizer_state: expected {large.network.n_parameters} entries, one per parameter of the network"
    with pytest.raises(ValueError, match=rf"{expected}, got {small.network.n_parameters}: the state of another"):
        TrainingRun.load(path, X, Y)


@pytest.mark.parametrize(("optimizer", "diverges_at"), [("sgd", 8), ("momentum", 20)])
def test_the_default_learning_rates_reach_the_floor_well_inside_the_stable_range(
    optimizer: OptimizerName, diverges_at: int
) -> None:
    """What the defaults' docstrings claim: the default housing network (4-10-25-1, full batch) reaches
    the least-squares loss within 150 epochs at the default rate, and diverges at 8 (SGD) or 20
    (momentum) times it."""
    X_housing, y_housing = get_data(2_000, seed=0)
    design = np.column_stack([X_housing, np.ones(len(X_housing))])
    coefficients, *_ = np.linalg.lstsq(design, y_housing, rcond=None)
    floor = float(np.mean((design @ coefficients - y_housing) ** 2))
    net = Network([4, 10, 25, 1], seed=0)
    net.fit(X_housing, y_housing, epochs=150, optimizer=optimizer)
    assert net.loss(X_housing, y_housing) == pytest.approx(floor, rel=1e-4)
    default = OPTIMIZERS[optimizer]().learning_rate
    with pytest.raises(TrainingDiverged):
        Network([4, 10, 25, 1], seed=0).fit(
            X_housing, y_housing, epochs=150, optimizer=optimizer, learning_rate=diverges_at * default
        )
