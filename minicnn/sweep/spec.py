"""SWEEP.json: the base config, the search space and how to search it.

::

    {"name":   "shallow-lr-reg",          optional; default: the file's name
     "base":   {... a full config ...},   or a name the trial resolves (e.g. "shallow")
     "run":    {"epochs": 5, "subset": 2000},   options passed to every trial run
     "space":  {"train.lr": {"loguniform": [1e-4, 1e-1]}, ...},   see space.py
     "method": "random",                  "grid" (default) or "random"
     "trials": 12,                        random search only
     "seed":   0}                         seeds the sampling and every trial

Each point of the space becomes a :class:`Trial`: the base config with the
point's values set, and its own seed derived from (sweep seed, trial index);
a config with a top-level "seed" field gets the trial's seed there too, so a
saved trial config trains again exactly.
A trial's ``key`` hashes its config and seed: the same trial always has the
same key, which is how a re-run recognizes finished trials.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import space as space_mod

KNOWN_FIELDS = {"name", "base", "run", "space", "method", "trials", "seed"}


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep."""
    index: int       # k in trial-<k>/
    params: dict     # {dotted path: value} for the searched fields
    config: dict     # the full config the run trains with
    seed: int        # the run's own seed
    key: str         # hash of config + seed (the trial's identity)


@dataclass
class SweepSpec:
    """A parsed SWEEP.json (see module docstring)."""
    name: str
    base: object
    dims: list
    method: str = "grid"
    trials: int = None
    seed: int = 0
    run: dict = None

    def describe_space(self):
        """{path: "loguniform[1e-4, 0.1]" ...} for reports."""
        return {d.path: d.describe() for d in self.dims}


def fingerprint(obj, length=16):
    """A short stable hash of a JSON-able object (sorted keys, exact floats)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def trial_seed(sweep_seed, index):
    """The seed of trial ``index``: a 32-bit integer from SeedSequence([sweep_seed, index])."""
    return int(np.random.SeedSequence([sweep_seed, index]).generate_state(1)[0])


def parse_spec(raw, name="sweep"):
    """A SweepSpec from a SWEEP.json dict; ``name`` is the default sweep name."""
    if not isinstance(raw, dict):
        raise ConfigError("a sweep file must hold a JSON object with \"base\" and \"space\"")
    unknown = set(raw) - KNOWN_FIELDS
    if unknown:
        raise ConfigError(f"unknown sweep field(s) {sorted(unknown)}: the known ones are "
                          f"{sorted(KNOWN_FIELDS)}")
    if "base" not in raw:
        raise ConfigError("the sweep file needs \"base\": a model name such as \"shallow\" or a full config")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"sweep \"seed\" must be a non-negative integer, got {seed!r}")
    run = raw.get("run", {})
    if not isinstance(run, dict):
        raise ConfigError(f"sweep \"run\" must be an object of run options such as {{\"epochs\": 5}}, got {run!r}")
    return SweepSpec(name=str(raw.get("name", name)), base=raw["base"],
                     dims=space_mod.parse_space(raw.get("space")),
                     method=raw.get("method", "grid"), trials=raw.get("trials"), seed=seed, run=run)


def load_spec(path):
    """Read and parse a SWEEP.json file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read sweep file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"sweep file {path} is not valid JSON: {exc}") from exc
    return parse_spec(raw, name=path.stem)


def make_trials(spec, base_config):
    """The sweep's trials: ``base_config`` (a full config dict) with each point applied."""
    points = space_mod.points(spec.dims, spec.method, spec.trials, spec.seed)
    trials = []
    for index, point in enumerate(points):
        config = space_mod.apply_point(base_config, point)
        seed = trial_seed(spec.seed, index)
        if "seed" in config:
            config["seed"] = seed
        trials.append(Trial(index=index, params=point, config=config, seed=seed,
                            key=fingerprint({"config": config, "seed": seed})))
    return trials
