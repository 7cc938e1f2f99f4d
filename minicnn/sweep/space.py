"""The search space: which config fields a sweep varies, and how.

A space maps a *dotted path* into the nested config dict to a *dimension*::

    {"train.lr":           {"loguniform": [1e-4, 1e-1]},
     "train.reg":          {"loguniform": [1e-7, 1e-3], "num": 3},
     "model.fc.0.dropout": {"choice": [0.0, 0.25, 0.5]},
     "train.momentum":     {"uniform": [0.8, 0.99]},
     "train.batch_size":   [64, 128]}

A path walks dicts by key and lists by integer index ("model.fc.0.dropout" is
``config["model"]["fc"][0]["dropout"]``). A plain list is a choice list.

Dimensions, for a value v drawn from the half-open or listed range:

- ``choice: [a, b, ...]``   v is one of the listed values (any JSON value)
- ``uniform: [lo, hi]``     v ~ U(lo, hi)
- ``loguniform: [lo, hi]``  log v ~ U(log lo, log hi), 0 < lo < hi: every
                            decade between lo and hi is equally likely, which
                            is what learning rates and L2 strengths need

Methods:

- **grid** enumerates the Cartesian product of every dimension, in the order
  the space lists them (the last dimension varies fastest). A choice list
  contributes its values; a range needs ``"num": n`` and contributes n points,
  evenly spaced (uniform) or geometrically spaced (loguniform), ends included.
- **random** draws each trial's values independently from a generator seeded
  by ``(seed, trial index)``: trial k gets the same values whatever the trial
  count, so a sweep extended from 10 to 20 trials re-uses its first 10.
"""
import copy
import itertools
import math

import numpy as np

from ..errors import ConfigError

KINDS = ("choice", "uniform", "loguniform")
METHODS = ("grid", "random")


class Dimension:
    """One searched config field: its dotted ``path``, ``kind`` and range."""

    def __init__(self, path, kind, values=None, low=None, high=None, num=None):
        self.path, self.kind = path, kind
        self.values, self.low, self.high, self.num = values, low, high, num

    @property
    def log_scale(self):
        """True for loguniform dimensions (their plots use a log x-axis)."""
        return self.kind == "loguniform"

    def grid(self):
        """The values this dimension contributes to a grid (a list)."""
        if self.kind == "choice":
            return list(self.values)
        if self.num is None:
            raise ConfigError(f"space field {self.path!r}: a {self.kind} range needs \"num\": N "
                              "for a grid search (or use a choice list, or --method random)")
        if self.num == 1:
            points = [self.low]
        elif self.kind == "uniform":
            points = np.linspace(self.low, self.high, self.num)
        else:
            points = np.geomspace(self.low, self.high, self.num)
        return [float(p) for p in points]

    def sample(self, rng):
        """One value drawn with the numpy Generator ``rng``."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        if self.kind == "uniform":
            return float(rng.uniform(self.low, self.high))
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def describe(self):
        """A short human description, e.g. ``loguniform[0.0001, 0.1]``."""
        if self.kind == "choice":
            return "choice[" + ", ".join(str(v) for v in self.values) + "]"
        return f"{self.kind}[{self.low:g}, {self.high:g}]"


def parse_space(space):
    """Check a space dict (path -> dimension spec) and return its Dimensions, in order."""
    if not isinstance(space, dict) or not space:
        raise ConfigError("sweep \"space\" must be a non-empty object mapping config paths "
                          "(e.g. \"train.lr\") to dimensions (e.g. {\"loguniform\": [1e-4, 1e-1]})")
    return [parse_dimension(path, spec) for path, spec in space.items()]


def parse_dimension(path, spec):
    """One Dimension from its JSON spec (see the module docstring)."""
    where = f"space field {path!r}"
    if isinstance(spec, list):
        spec = {"choice": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a list of values or an object like "
                          "{\"loguniform\": [lo, hi]}, got " + repr(spec))
    kinds = [k for k in KINDS if k in spec]
    unknown = set(spec) - set(KINDS) - {"num"}
    if len(kinds) != 1 or unknown:
        raise ConfigError(f"{where}: give exactly one of {', '.join(KINDS)} (plus optional "
                          f"\"num\" for grids); got keys {sorted(spec)}")
    kind = kinds[0]
    arg = spec[kind]
    if kind == "choice":
        if not isinstance(arg, list) or not arg:
            raise ConfigError(f"{where}: choice needs a non-empty list of values")
        return Dimension(path, kind, values=list(arg))
    if (not isinstance(arg, list) or len(arg) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in arg)):
        raise ConfigError(f"{where}: {kind} needs [low, high] (two numbers), got {arg!r}")
    low, high = float(arg[0]), float(arg[1])
    if not low < high:
        raise ConfigError(f"{where}: {kind} needs low < high, got [{low:g}, {high:g}]")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: loguniform needs 0 < low, got {low:g} (use uniform for ranges "
                          "that include 0)")
    num = spec.get("num")
    if num is not None and (not isinstance(num, int) or isinstance(num, bool) or num < 1):
        raise ConfigError(f"{where}: \"num\" must be a positive integer, got {num!r}")
    return Dimension(path, kind, low=low, high=high, num=num)


MAX_TRIALS = 1000
"""Most trials one sweep may plan: each is a training run, and all are planned (and checked) before the first."""


def grid_points(dims):
    """Every combination of the dimensions' grid values: a list of {path: value}."""
    axes = [d.grid() for d in dims]
    count = math.prod(len(axis) for axis in axes)
    if count > MAX_TRIALS:
        raise ConfigError(f"the grid has {count} combinations, more than the {MAX_TRIALS} trials a sweep may "
                          "run: use fewer values, or a random search")
    return [dict(zip((d.path for d in dims), combo)) for combo in itertools.product(*axes)]


def random_points(dims, n, seed):
    """``n`` random points; point k is drawn from ``default_rng([seed, k])``."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_TRIALS:
        raise ConfigError(f"a random search needs a trial count from 1 to {MAX_TRIALS} (\"trials\" or --trials), "
                          f"got {n!r}")
    points = []
    for k in range(n):
        rng = np.random.default_rng([seed, k])
        points.append({d.path: d.sample(rng) for d in dims})
    return points


def points(dims, method, trials=None, seed=0):
    """The sweep's points for ``method`` "grid" or "random" (see module docstring)."""
    if method == "grid":
        if trials is not None:
            raise ConfigError("a grid search runs every combination: drop \"trials\"/--trials, "
                              "or use --method random")
        return grid_points(dims)
    if method == "random":
        return random_points(dims, trials, seed)
    raise ConfigError(f"unknown sweep method {method!r}: choose one of {', '.join(METHODS)}")


def _split(path):
    parts = path.split(".")
    if not path or any(p == "" for p in parts):
        raise ConfigError(f"bad config path {path!r}: use dot-separated keys like \"model.fc.0.dropout\"")
    return parts


def _step(node, part, walked):
    """The child of ``node`` named by one path segment, or a ConfigError."""
    where = ".".join(walked) or "the config root"
    if isinstance(node, dict):
        if part not in node:
            raise ConfigError(f"config has no field {part!r} at {where} (it has: "
                              f"{', '.join(map(str, node)) or 'nothing'}); add it to the base config "
                              "or fix the path")
        return node[part]
    if isinstance(node, list):
        if not part.lstrip("-").isdigit() or not 0 <= int(part) < len(node):
            raise ConfigError(f"config path segment {part!r} at {where} must be a list index "
                              f"0..{len(node) - 1}")
        return node[int(part)]
    raise ConfigError(f"config path goes past a plain value at {where} (value {node!r})")


def get_path(config, path):
    """The value at dotted ``path`` in nested dict/list ``config``."""
    node, walked = config, []
    for part in _split(path):
        node = _step(node, part, walked)
        walked.append(part)
    return node


def set_path(config, path, value):
    """A deep copy of ``config`` with the field at dotted ``path`` set to ``value``.

    The field must already exist (a typo must not silently add a new field);
    put defaults you want to search into the base config.
    """
    out = copy.deepcopy(config)
    parts = _split(path)
    parent = get_path(out, ".".join(parts[:-1])) if len(parts) > 1 else out
    _step(parent, parts[-1], parts[:-1])  # checks the leaf exists
    key = int(parts[-1]) if isinstance(parent, list) else parts[-1]
    parent[key] = value
    return out


def apply_point(config, point):
    """``config`` with every {path: value} of ``point`` set (a new dict)."""
    for path, value in point.items():
        config = set_path(config, path, value)
    return config
