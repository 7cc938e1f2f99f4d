"""Specification of minicnn.training.schedules: exact rate sequences and resumable state."""
import math

import numpy as np
import pytest

from minicnn.errors import ConfigError
from minicnn.optim import SGD
from minicnn.training.schedules import (ConstantLR, CosineLR, ExponentialLR, ReduceLROnPlateau, 
                               StepLR, make_schedule)


def rates(schedule, epochs, lr=1.0, val_losses=None, val_accs=None):
    """The rate set after each of ``epochs`` epochs (1-based), starting from ``lr``."""
    opt = SGD(lr=lr)
    out = []
    for e in range(1, epochs + 1):
        loss = val_losses[e - 1] if val_losses else None
        acc = val_accs[e - 1] if val_accs else None
        out.append(schedule.step(opt, e, val_loss=loss, val_acc=acc))
        assert opt.lr == out[-1]
    return out


def test_constant_keeps_the_initial_rate():
    assert rates(ConstantLR(), 4, lr=0.01) == [0.01] * 4


def test_step_multiplies_by_gamma_every_step_epochs():
    # lr after epoch e = 0.1 * 0.5 ** (e // 3): epochs 1-3 train at 0.1, 4-6 at 0.05, ...
    np.testing.assert_allclose(rates(StepLR(3, gamma=0.5), 7, lr=0.1),
                               [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_exponential_multiplies_by_gamma_every_epoch():
    np.testing.assert_allclose(rates(ExponentialLR(0.9), 3, lr=2.0), [1.8, 1.62, 1.458])


def test_cosine_reaches_min_lr_at_total_epochs_and_stays():
    # lr = 0.1 + (1 - 0.1) * (1 + cos(pi * e / 4)) / 2:
    # e=1: 0.1 + 0.9 * 0.85355339 = 0.86819805; e=2: 0.55; e=3: 0.1 + 0.9 * 0.14644661 = 0.23180195
    np.testing.assert_allclose(rates(CosineLR(4, min_lr=0.1), 6),
                               [0.86819805, 0.55, 0.23180195, 0.1, 0.1, 0.1], rtol=1e-7)


def test_base_rate_is_captured_at_first_step_not_at_construction():
    schedule = StepLR(1, gamma=0.5)
    opt = SGD(lr=0.3)
    opt.lr = 0.2
    assert schedule.step(opt, 1) == 0.1
    assert schedule.state_dict()["base_lr"] == 0.2


def test_plateau_waits_patience_epochs_then_reduces():
    # patience 2: epoch 1 sets best = 1.0; epochs 2, 3 tolerated; epoch 4 is the
    # third without improvement -> 0.5; the count restarts: 5, 6 tolerated, 7 -> 0.25;
    # epoch 8 improves (0.5 < 1.0), so 9, 10 are tolerated again.
    losses = [1.0, 1.0, 1.2, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6]
    assert rates(ReduceLROnPlateau(patience=2), 10, val_losses=losses) == \
        [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]


def test_plateau_ignores_improvements_below_the_relative_threshold():
    # threshold 0.01: 0.995 is not below 1.0 - 0.01 * 1.0 = 0.99
    assert rates(ReduceLROnPlateau(patience=0, threshold=0.01), 3, val_losses=[1.0, 0.995, 0.98]) == \
        [1, 0.5, 0.5]


def test_plateau_respects_min_lr():
    out = rates(ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.003), 5, lr=1.0, val_losses=[1.0] * 5)
    np.testing.assert_allclose(out, [1.0, 0.1, 0.01, 0.003, 0.003])


def test_plateau_in_max_mode_watches_validation_accuracy():
    accs = [0.3, 0.4, 0.4, 0.39, 0.5]
    assert rates(ReduceLROnPlateau(mode="max", patience=1), 5, val_accs=accs) == [1, 1, 1, 0.5, 0.5]


def test_plateau_without_its_metric_is_a_config_error():
    with pytest.raises(ConfigError, match="needs val_acc"):
        ReduceLROnPlateau(mode="max").step(SGD(lr=1.0), 1, val_loss=0.5)


@pytest.mark.parametrize("config", [
    None,
    {"name": "step", "step_epochs": 2, "gamma": 0.5},
    {"name": "exponential", "gamma": 0.8},
    {"name": "cosine", "total_epochs": 6, "min_lr": 0.01},
    {"name": "plateau", "patience": 1, "factor": 0.5},
])
def test_state_round_trip_through_npz_resumes_exactly(config, tmp_path, rng):
    losses = list(rng.uniform(0.9, 1.1, size=8))
    full = rates(make_schedule(config), 8, lr=0.1, val_losses=losses)

    first = make_schedule(config)
    opt = SGD(lr=0.1)
    for e in range(1, 5):
        first.step(opt, e, val_loss=losses[e - 1])
    np.savez(tmp_path / "schedule.npz", **first.state_dict())
    with np.load(tmp_path / "schedule.npz") as f:
        state = dict(f)
    resumed = make_schedule(config)
    resumed.load_state_dict(state)
    fresh_opt = SGD(lr=0.1)  # a rebuilt optimizer at the initial rate: the schedule alone decides
    rest = [resumed.step(fresh_opt, e, val_loss=losses[e - 1]) for e in range(5, 9)]
    assert rest == full[4:]


def test_state_dict_is_plain_scalars():
    schedule = ReduceLROnPlateau()
    schedule.step(SGD(lr=0.1), 1, val_loss=1.0)
    state = schedule.state_dict()
    assert state["name"] == "plateau" and state["best"] == 1.0 and state["bad_epochs"] == 0
    assert all(isinstance(v, (int, float, str)) for v in state.values())


def test_make_schedule_none_is_constant():
    assert isinstance(make_schedule(None), ConstantLR)


@pytest.mark.parametrize("config,match", [
    ({"name": "warmup"}, "choose one of constant, step, exponential, plateau, cosine"),
    ({"gamma": 0.5}, "with a 'name'"),
    ({"name": "step", "gamma": 0.5}, "needs step_epochs"),
    ({"name": "step", "step_epochs": 2, "decay": 0.5}, "does not take decay"),
    ({"name": "step", "step_epochs": 2.5}, "step_epochs must be a whole number"),
    ({"name": "exponential", "gamma": 1.5}, r"gamma must be in \(0, 1\]"),
    ({"name": "plateau", "mode": "best"}, "mode must be 'min'"),
    ({"name": "plateau", "factor": 1.0}, r"factor must be in \(0, 1\)"),
    ({"name": "cosine", "total_epochs": 0}, r"total_epochs must be in \[1, inf\)"),
])
def test_bad_configs_raise_config_error(config, match):
    with pytest.raises(ConfigError, match=match):
        make_schedule(config)


def test_loading_state_made_with_other_arguments_is_a_config_error():
    state = StepLR(2, gamma=0.5).state_dict()
    with pytest.raises(ConfigError, match="gamma=0.5"):
        StepLR(2, gamma=0.1).load_state_dict(state)
    with pytest.raises(ConfigError, match="for schedule 'step'"):
        CosineLR(5).load_state_dict(state)


def test_cosine_is_monotone_from_base_to_min(rng):
    total = int(rng.integers(3, 30))
    out = rates(CosineLR(total, min_lr=1e-4), total, lr=0.01)
    assert all(a >= b for a, b in zip(out, out[1:])) and math.isclose(out[-1], 1e-4)
