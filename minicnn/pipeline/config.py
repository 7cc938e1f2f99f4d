"""Experiment configs: load one per paper model, apply a run's reductions, record them.

A config (``minicnn/pipeline/configs/<name>.json``) holds

- ``model``: the network in the grammar of ``minicnn.models`` (without ``reg``,
  ``seed`` and ``hog_dim``, which the runner fills in);
- ``hog``: None, or the ``skimage.feature.hog`` parameters of the hybrid's second input;
- ``train``: epochs, batch_size, lr, reg, optimizer, schedule and flips
  ("double": each epoch sees the training set and its mirror images;
  "random": each example of each batch is mirrored with probability 1/2);
- ``seed`` and ``why``: one line of reason per choice the paper leaves open.

``plan_run`` turns a config and the command-line options into the run's
config: the full config as run plus ``"reduced"`` (True when anything is less
than the paper's protocol) and ``"reductions"`` (one line per thing reduced).
"""
import copy
import json
from pathlib import Path

from ..errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
MODEL_NAMES = ("shallow", "deep", "shallow_hog", "deep_hog")
FLIP_MODES = ("double", "random", "none")
QUICK = {"epochs": 1, "train": 256, "val": 128, "test": 128}
"""--quick: this many epochs and images per split (a smoke test, never a result)."""

_TOP_KEYS = {"name", "title", "model", "hog", "train", "seed", "why"}
_TRAIN_KEYS = {"epochs", "batch_size", "lr", "reg", "optimizer", "schedule", "flips"}


def config_path(name):
    """The JSON file of paper model ``name`` (or ``name`` itself when it is a path to a .json file)."""
    if str(name).endswith(".json"):
        return Path(name)
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown experiment {name!r}: choose one of {', '.join(MODEL_NAMES)} "
                          "or give the path of a config .json")
    return CONFIG_DIR / f"{name}.json"


def load_config(name):
    """The experiment config of ``name`` (a paper model or a .json path), checked."""
    path = config_path(name)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"experiment config {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"experiment config {path}: not valid JSON ({exc})") from None
    check_config(config, path)
    return config


def check_config(config, where="experiment config"):
    """Raise ConfigError naming ``where`` and the key when ``config`` lacks a part or has an unknown one."""
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(config).__name__}")
    for keys, part, name in ((_TOP_KEYS, config, "top level"), (_TRAIN_KEYS, config.get("train"), "train")):
        if not isinstance(part, dict):
            raise ConfigError(f"{where}: '{name}' must be an object with keys {', '.join(sorted(keys))}")
        missing, unknown = keys - set(part) - {"title", "why"}, set(part) - keys
        if missing or unknown:
            raise ConfigError(f"{where}: {name} " + "; ".join(
                f"{label} key(s) {', '.join(sorted(ks))}" for label, ks in (("missing", missing), ("unknown", unknown))
                if ks) + f" (expected {', '.join(sorted(keys))})")
    train = config["train"]
    if train["flips"] not in FLIP_MODES:
        raise ConfigError(f"{where}: train.flips must be one of {', '.join(FLIP_MODES)}, got {train['flips']!r}")
    for key in ("epochs", "batch_size"):
        if isinstance(train[key], bool) or not isinstance(train[key], int) or train[key] < 1:
            raise ConfigError(f"{where}: train.{key} must be an integer >= 1, got {train[key]!r}")
    if config["hog"] is not None and not isinstance(config["hog"], dict):
        raise ConfigError(f"{where}: hog must be null or an object of skimage.feature.hog parameters")


def plan_run(config, epochs=None, subset=None, flips=None, quick=False):
    """The run's config: ``config`` with the options applied and every reduction recorded.

    epochs: train this many epochs instead of the config's; subset: train on a
    stratified subset of this many training images; flips: override
    train.flips; quick: QUICK's epochs and split sizes (options given
    explicitly win). Returns a new dict with ``"data_limits"`` ({"train",
    "val", "test"}: image counts or None for all), ``"quick"``, ``"reduced"``
    and ``"reductions"`` added.
    """
    run = copy.deepcopy(config)
    train = run["train"]
    paper = {"epochs": train["epochs"], "flips": train["flips"]}
    limits = {"train": None, "val": None, "test": None}
    if quick:
        limits = {k: QUICK[k] for k in limits}
        epochs = QUICK["epochs"] if epochs is None else epochs
    if subset is not None:
        if isinstance(subset, bool) or not isinstance(subset, int) or subset < 1:
            raise ConfigError(f"--subset must be a number of training images >= 1, got {subset!r}")
        limits["train"] = subset
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"--epochs must be an integer >= 1, got {epochs!r}")
        train["epochs"] = epochs
    if flips is not None:
        if flips not in FLIP_MODES:
            raise ConfigError(f"--flips must be one of {', '.join(FLIP_MODES)}, got {flips!r}")
        train["flips"] = flips
    reductions = []
    if quick:
        reductions.append("quick smoke run: " + ", ".join(
            f"{k} {v} images" for k, v in limits.items() if v is not None) + f", {train['epochs']} epoch(s)")
    if train["epochs"] < paper["epochs"]:
        reductions.append(f"epochs {paper['epochs']} -> {train['epochs']}")
    if train["flips"] != paper["flips"]:
        reductions.append(f"flips {paper['flips']} -> {train['flips']} "
                          f"({_FLIP_WORDS[train['flips']]} instead of {_FLIP_WORDS[paper['flips']]})")
    if limits["train"] is not None and not quick:
        reductions.append(f"training subset of {limits['train']} images (stratified)")
    run["data_limits"] = limits
    run["quick"] = bool(quick)
    run["reduced"] = bool(reductions)
    run["reductions"] = reductions
    return run


_FLIP_WORDS = {"double": "every epoch over the images plus all their mirror images",
               "random": "each image mirrored with probability 1/2, drawn per epoch",
               "none": "no mirror images"}


def default_run_id(run):
    """A run id that names the protocol, so the same command finds its checkpoints again.

    "full" for the paper's protocol, "quick" for a smoke run, otherwise e.g.
    "reduced-e5-random-n10000" (epochs, flips, training subset).
    """
    if run["quick"]:
        return "quick"
    if not run["reduced"]:
        return "full"
    train = run["train"]
    parts = ["reduced", f"e{train['epochs']}", train["flips"]]
    if run["data_limits"]["train"] is not None:
        parts.append(f"n{run['data_limits']['train']}")
    return "-".join(parts)
