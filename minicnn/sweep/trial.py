"""The real trial: one normal ``experiments.run`` training run of a trial's config.

A trial's config is an experiment config (``minicnn/pipeline/configs/*.json``:
``model``, ``hog``, ``train``, ``seed``), so the best one is saved as a file
that ``python -m experiments.run`` trains again. The runner lives in the
repository's ``experiments/`` package (beside ``minicnn/``): workers run from
the repository root or with it on PYTHONPATH.

Each trial runs ``run_experiment`` with the sweep's reductions (epochs,
training subset, flips, quick) in a private scratch folder on the worker
(results and checkpoints), reads back its metrics.json and returns it: the
client writes it into ``trial-<k>/``, so workers need no shared filesystem —
only the data at the same path (FER-2013's parsed arrays are cached per
machine by ``minicnn.data``). The array backend is the worker's
``MINICNN_BACKEND`` (numpy or cupy).
"""
import json
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError

RUN_OPTIONS = ("epochs", "subset", "flips", "quick")
"""Sweep-wide reductions passed to every run, as ``experiments.run``'s options of those names."""


def _experiments():
    try:
        from ..pipeline import config
        from experiments import run
    except ModuleNotFoundError as exc:
        if exc.name != "experiments":
            raise
        raise ConfigError("the sweep's training trial needs the repository's experiments/ package: run "
                          "from the minicnn repository root (or put it on PYTHONPATH), workers too") from None
    return config, run


def resolve_base(base):
    """The full experiment config a sweep's ``base`` names: a paper model name, a .json path or a dict."""
    config, _ = _experiments()
    if isinstance(base, dict):
        config.check_config(base, "sweep base config")
        return base
    if isinstance(base, str):
        return config.load_config(base)
    raise ConfigError(f"sweep \"base\" must be a paper model name ({', '.join(config.MODEL_NAMES)}), "
                      f"the path of an experiment .json, or a config object; got {base!r}")


def check_options(options):
    """The sweep's run options (see RUN_OPTIONS), checked; returns a dict."""
    unknown = set(options) - set(RUN_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown run option(s) {sorted(unknown)} in the sweep: use {', '.join(RUN_OPTIONS)}")
    return dict(options)


def train_trial(config, seed, data, **options):
    """Train ``config`` (with ``config["seed"] == seed``) on ``data``; return its metrics.json dict.

    ``data``: "synthetic" or a FER-2013 path as ``experiments.run --data``
    takes it. ``options``: epochs, subset, flips, quick. The returned dict is
    experiments.run's metrics plus ``val_acc`` and ``val_loss``: accuracy and
    mean loss on the validation split of the epoch with the best validation
    accuracy (the model the run keeps).
    """
    _, run = _experiments()
    config = dict(config, seed=seed)
    backend = os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy"
    with tempfile.TemporaryDirectory(prefix="minicnn-trial-") as scratch:
        path = Path(scratch) / f"{config.get('name', 'trial')}.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        folder = run.run_experiment(str(path), data=data, backend_name=backend, out=str(Path(scratch) / "results"),
                                    checkpoints=str(Path(scratch) / "checkpoints"), run_id="trial", quiet=True,
                                    **check_options(options))
        metrics = json.loads((Path(folder) / "metrics.json").read_text(encoding="utf-8"))
    metrics["val_acc"] = metrics["val"]["accuracy"]
    metrics["val_loss"] = metrics["val"]["loss"]
    return metrics
