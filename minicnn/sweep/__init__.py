"""Hyper-parameter sweeps on Dask distributed (``minicnn sweep``; docs/sweep.md).

Modules, one job each: ``space`` (dimensions, grid/random points, dotted config
paths), ``spec`` (SWEEP.json -> trials), ``store`` (per-trial result files),
``runner`` (the Dask cluster and the trial futures), ``report`` (ranking table,
plot, best config), ``trial`` (the real training trial), ``engine`` (all of it
in one call), ``cli`` (the command).
"""
from .engine import run_sweep
from .spec import Trial, SweepSpec, load_spec, make_trials, parse_spec

__all__ = ["run_sweep", "Trial", "SweepSpec", "load_spec", "make_trials", "parse_spec"]
