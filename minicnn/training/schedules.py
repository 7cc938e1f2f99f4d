"""Learning-rate schedules, stepped once at the end of every epoch.

The trainer calls ``schedule.step(optimizer, epoch, val_loss=None, val_acc=None)``
after finishing epoch number ``epoch`` (1 for the first epoch); the schedule
sets ``optimizer.lr`` to the rate for the next epoch. Epoch 1 always trains at
the optimizer's initial rate.

The base rate ``lr0`` is captured from ``optimizer.lr`` at the first ``step``
call (so build the optimizer with the rate you want to start from). It is part
of ``state_dict()``, a plain dict of scalars: after ``load_state_dict`` a
resumed run gets exactly the rates the uninterrupted run would have got, even
with a freshly built optimizer.

==============  ===============================================================
schedule        rate after epoch ``e``
==============  ===============================================================
constant        ``lr0``
step            ``lr0 * gamma ** (e // step_epochs)``
exponential     ``lr0 * gamma ** e``
cosine          ``min_lr + (lr0 - min_lr) * (1 + cos(pi * min(e, T) / T)) / 2``
plateau         ``lr * factor`` once the monitored metric has not improved for
                more than ``patience`` epochs, never below ``min_lr``
==============  ===============================================================
"""
import math

from ..errors import ConfigError
from ..validate import check_number, scalar


class Schedule:
    """Base class: captures ``lr0``, validates arguments, stores its state.

    Subclasses set ``name``, ``args`` (their constructor arguments, stored
    in the state for checking), ``variables`` (attributes besides ``base_lr``
    that change while training) and implement ``_rate(epoch, val_loss, val_acc)``.
    """

    name = None
    args = ()
    variables = ()

    def __init__(self):
        self.base_lr = None

    def step(self, optimizer, epoch, val_loss=None, val_acc=None):
        """Set ``optimizer.lr`` for the epoch after ``epoch`` (>= 1); return the new rate."""
        if self.base_lr is None:
            self.base_lr = float(optimizer.lr)
        optimizer.lr = float(self._rate(int(epoch), val_loss, val_acc))
        return optimizer.lr

    def _rate(self, epoch, val_loss, val_acc):
        raise NotImplementedError

    def state_dict(self):
        """Plain dict of scalars: name, constructor arguments, base_lr once captured, counters."""
        state = {"name": self.name, **{a: getattr(self, a) for a in self.args}}
        if self.base_lr is not None:
            state["base_lr"] = self.base_lr
        state.update({v: getattr(self, v) for v in self.variables})
        return state

    def load_state_dict(self, state):
        """Restore from ``state_dict()`` output (values may be 0-d arrays read from a .npz)."""
        state = {k: scalar(v) for k, v in state.items()}
        if state.get("name") != self.name:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the state is for schedule "
                              f"{state.get('name')!r}, not {self.name!r}")
        differing = [a for a in self.args if a in state and state[a] != getattr(self, a)]
        if differing:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the checkpoint was made with "
                              + ", ".join(f"{a}={state[a]!r}" for a in differing)
                              + "; build the schedule with the same arguments to resume")
        self.base_lr = float(state["base_lr"]) if "base_lr" in state else None
        for v in self.variables:
            setattr(self, v, type(getattr(self, v))(state[v]))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{a}={getattr(self, a)!r}' for a in self.args)})"


class ConstantLR(Schedule):
    """Keep the initial rate: ``lr = lr0``."""

    name = "constant"

    def _rate(self, epoch, val_loss, val_acc):
        return self.base_lr


class StepLR(Schedule):
    """Multiply the rate by ``gamma`` every ``step_epochs`` epochs.

    ``lr = lr0 * gamma ** (epoch // step_epochs)``: with ``step_epochs=10``
    epochs 1-10 train at ``lr0``, epochs 11-20 at ``lr0 * gamma``, ...
    """

    name = "step"
    args = ("step_epochs", "gamma")

    def __init__(self, step_epochs, gamma=0.1):
        super().__init__()
        self.step_epochs = check_number("StepLR", "step_epochs", step_epochs, low=1, integer=True)
        self.gamma = check_number("StepLR", "gamma", gamma, low=0, high=1, low_open=True)

    def _rate(self, epoch, val_loss, val_acc):
        return self.base_lr * self.gamma ** (epoch // self.step_epochs)


class ExponentialLR(Schedule):
    """Multiply the rate by ``gamma`` after every epoch: ``lr = lr0 * gamma ** epoch``."""

    name = "exponential"
    args = ("gamma",)

    def __init__(self, gamma):
        super().__init__()
        self.gamma = check_number("ExponentialLR", "gamma", gamma, low=0, high=1, low_open=True)

    def _rate(self, epoch, val_loss, val_acc):
        return self.base_lr * self.gamma ** epoch


class CosineLR(Schedule):
    """Half a cosine from ``lr0`` down to ``min_lr`` over ``total_epochs``.

    ``lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * min(epoch, T) / T)) / 2``
    with ``T = total_epochs``; it stays at ``min_lr`` after epoch ``T``.
    """

    name = "cosine"
    args = ("total_epochs", "min_lr")

    def __init__(self, total_epochs, min_lr=0.0):
        super().__init__()
        self.total_epochs = check_number("CosineLR", "total_epochs", total_epochs, low=1, integer=True)
        self.min_lr = check_number("CosineLR", "min_lr", min_lr, low=0)

    def _rate(self, epoch, val_loss, val_acc):
        progress = min(epoch, self.total_epochs) / self.total_epochs
        return self.min_lr + (self.base_lr - self.min_lr) * (1.0 + math.cos(math.pi * progress)) / 2.0


class ReduceLROnPlateau(Schedule):
    """Cut the rate by ``factor`` when the validation metric stops improving.

    ``mode="min"`` watches ``val_loss`` (the default), ``mode="max"`` watches
    ``val_acc``. An epoch improves when the metric beats the best so far by a
    relative ``threshold``: ``m < best - threshold * |best|`` (min) or
    ``m > best + threshold * |best|`` (max); the first epoch always improves. After ``patience`` epochs in a row
    without improvement the rate is kept; at the next one without improvement
    it becomes ``max(lr * factor, min_lr)`` and the count restarts. With
    ``patience=3`` and a loss that never improves after epoch 1, epochs 2-4
    are tolerated and the rate drops after epoch 5.
    """

    name = "plateau"
    args = ("factor", "patience", "min_lr", "mode", "threshold")
    variables = ("best", "bad_epochs", "lr")

    def __init__(self, factor=0.5, patience=3, min_lr=1e-6, mode="min", threshold=1e-4):
        super().__init__()
        self.factor = check_number("ReduceLROnPlateau", "factor", factor, low=0, high=1, low_open=True, high_open=True)
        self.patience = check_number("ReduceLROnPlateau", "patience", patience, low=0, integer=True)
        self.min_lr = check_number("ReduceLROnPlateau", "min_lr", min_lr, low=0)
        if mode not in ("min", "max"):
            raise ConfigError(f"ReduceLROnPlateau: mode must be 'min' (val_loss) or 'max' "
                              f"(val_acc), got {mode!r}")
        self.mode = mode
        self.threshold = check_number("ReduceLROnPlateau", "threshold", threshold, low=0, high=1, high_open=True)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.lr = math.nan

    def _rate(self, epoch, val_loss, val_acc):
        metric, metric_name = (val_loss, "val_loss") if self.mode == "min" else (val_acc, "val_acc")
        if metric is None:
            raise ConfigError(f"ReduceLROnPlateau(mode={self.mode!r}) needs {metric_name} at every "
                              "epoch: train with a validation set")
        metric = float(metric)
        if math.isnan(self.lr):
            self.lr = self.base_lr
        if self._improves(metric):
            self.best = metric
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs > self.patience:
                self.lr = max(self.lr * self.factor, self.min_lr)
                self.bad_epochs = 0
        return self.lr

    def _improves(self, metric):
        margin = self.threshold * abs(self.best) if math.isfinite(self.best) else 0.0
        if self.mode == "min":
            return metric < self.best - margin
        return metric > self.best + margin


SCHEDULES = {cls.name: cls for cls in (ConstantLR, StepLR, ExponentialLR, ReduceLROnPlateau, CosineLR)}


def make_schedule(config=None):
    """Build a schedule from a config dict such as ``{"name": "step", "step_epochs": 10, "gamma": 0.5}``.

    ``None`` (or ``{"name": "constant"}``) keeps the rate constant. The other
    keys are the class's arguments; names: constant, step, exponential,
    plateau, cosine.
    """
    if config is None:
        return ConstantLR()
    if not isinstance(config, dict) or "name" not in config:
        raise ConfigError(f"a schedule config is a dict with a 'name' (one of {', '.join(SCHEDULES)}), "
                          f"got {config!r}")
    kwargs = dict(config)
    name = str(kwargs.pop("name")).strip().lower()
    if name not in SCHEDULES:
        raise ConfigError(f"unknown schedule {config['name']!r}: choose one of {', '.join(SCHEDULES)}")
    cls = SCHEDULES[name]
    unknown = sorted(set(kwargs) - set(cls.args))
    if unknown:
        raise ConfigError(f"schedule {name!r} does not take {', '.join(unknown)}: "
                          f"its arguments are {', '.join(cls.args) or 'none'}")
    try:
        return cls(**kwargs)
    except TypeError:
        raise ConfigError(f"schedule {name!r} needs {', '.join(cls.args)}; got {', '.join(kwargs) or 'none'}") from None


__all__ = ["Schedule", "ConstantLR", "StepLR", "ExponentialLR", "ReduceLROnPlateau", "CosineLR",
           "SCHEDULES", "make_schedule"]
