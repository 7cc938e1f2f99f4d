"""The real trial: one run of the run pipeline (``minicnn.pipeline.run``) on a trial's config.

A trial's config is a run config (``minicnn/pipeline/configs/*.json``:
``model``, ``hog``, ``train``, ``seed``), so the best one is saved as a file
that ``minicnn experiment`` (or ``minicnn train --model``) trains again.

Each trial plans its run with the sweep's run options (epochs, training
subset, flips, quick), runs it with its outputs and checkpoints in a private
scratch folder on the worker, reads back its metrics.json and returns it: the
client writes it into ``trial-<k>/``, so workers need no shared filesystem —
only the installed minicnn and the data at the same path (FER-2013's parsed
arrays are cached per machine by ``minicnn.data``). The array backend is the
worker's ``MINICNN_BACKEND`` (numpy or cupy).
"""
import json
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError
from ..pipeline.config import MODEL_NAMES, check_config, load_config, plan_run

RUN_OPTIONS = ("epochs", "subset", "flips", "quick")
"""Sweep-wide run options passed to every trial, as ``minicnn experiment``'s options of those names."""


def resolve_base(base):
    """The full run config a sweep's ``base`` names: a paper model name, a .json path or a dict."""
    if isinstance(base, dict):
        return check_config(base, "sweep base config")
    if isinstance(base, str):
        return load_config(base)
    raise ConfigError(f"sweep \"base\" must be a paper model name ({', '.join(MODEL_NAMES)}), "
                      f"the path of a run config .json, or a config object; got {base!r}")


def check_options(options):
    """The sweep's run options (see RUN_OPTIONS), checked; returns a dict."""
    unknown = set(options) - set(RUN_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown run option(s) {sorted(unknown)} in the sweep: use {', '.join(RUN_OPTIONS)}")
    return dict(options)


def train_trial(config, seed, data, **options):
    """Train ``config`` (with ``config["seed"] == seed``) on ``data``; return its metrics.json dict.

    ``data``: "synthetic" or a FER-2013 path as ``minicnn experiment --data``
    takes it. ``options``: epochs, subset, flips, quick. The returned dict is
    the run's metrics plus ``val_acc`` and ``val_loss``: accuracy and mean
    loss on the validation split of the epoch with the best validation
    accuracy (the model the run keeps).
    """
    from ..pipeline.run import run

    plan = plan_run(dict(config, seed=seed), **check_options(options))
    backend = os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy"
    with tempfile.TemporaryDirectory(prefix="minicnn-trial-") as scratch:
        result = run(plan, data, out_dir=scratch, run_id="trial", backend_name=backend, quiet=True)
        metrics = json.loads((Path(result.folder) / "metrics.json").read_text(encoding="utf-8"))
    metrics["val_acc"] = metrics["val"]["accuracy"]
    metrics["val_loss"] = metrics["val"]["loss"]
    return metrics
