"""Run configs: load one per paper model, check and complete it, plan a run and record what it changes.

A run config (``minicnn/pipeline/configs/<name>.json`` for the paper's four
models, or any JSON file of the same form such as a sweep's best_config.json)
holds

- ``name``, ``title``: the model's name and a line for tables;
- ``model``: the network in the grammar of ``minicnn.models`` (without ``reg``,
  ``seed`` and ``hog_dim``, which the pipeline fills in);
- ``hog``: None, or the ``skimage.feature.hog`` parameters of the hybrid's second input;
- ``train``: ``epochs``, ``batch_size``, ``lr``, ``reg``, ``optimizer`` ({"name": ..., other
  arguments}), ``schedule`` and ``flips`` (FLIP_MODES: "random", each training image mirrored
  with probability 1/2 drawn per epoch; "double", each epoch over the images and all their
  mirror images; "none"); optional, with TRAIN_DEFAULTS: ``augment`` (null or Augmenter
  options), ``patience``, ``train_eval_size``, ``recalibrate`` (training images to re-estimate
  batch-norm statistics from after each epoch; null: the Trainer's choice, 0: off) and
  ``time_budget`` (seconds of wall time after which training stops cleanly; null: none);
- ``seed`` and ``why``: one line of reason per choice the paper leaves open.

``plan_run`` turns a config and the run options into the run's plan: the
config as run plus ``data_limits``, ``quick``, ``reduced`` / ``reductions``
(what is less than the reference protocol: fewer epochs, a training subset,
a smoke run) and ``changes`` (every other departure from it: other
hyper-parameters, flips or network). The reference is the paper's config of
the same name, or the config itself for a model the paper does not have.
"""
import copy
import hashlib
import json
from pathlib import Path

from ..errors import ConfigError
from ..validate import check_choice, check_int, check_number

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
MODEL_NAMES = ("shallow", "deep", "shallow_hog", "deep_hog")
FLIP_MODES = ("random", "double", "none")
QUICK = {"epochs": 1, "train": 256, "val": 128, "test": 128}
"""--quick: this many epochs and images per split (a smoke test, never a result)."""

TRAIN_DEFAULTS = {"augment": None, "patience": None, "train_eval_size": 2000, "recalibrate": None,
                  "time_budget": None}
"""Optional keys of a config's ``train`` section and their values when absent."""
_TRAIN_KEYS = {"epochs", "batch_size", "lr", "reg", "optimizer", "schedule", "flips"}
_TOP_KEYS = {"name", "model", "hog", "train", "seed"}
_OPTIONAL_TOP = {"title", "why"}
_NOT_PROTOCOL = ("epochs", "time_budget")
"""Train keys a resumed run may change (train longer, another budget); every other one must match."""

FLIP_WORDS = {"double": "every epoch over the images plus all their mirror images",
               "random": "each image mirrored with probability 1/2, drawn per epoch",
               "none": "no mirror images"}


def model_name(name):
    """``name`` if it is a paper model; a one-line hint for the old hyphenated names (``shallow-hog``)."""
    if name in MODEL_NAMES:
        return name
    if str(name).replace("-", "_") in MODEL_NAMES:
        raise ConfigError(f"unknown model {name!r}: the paper's models are {', '.join(MODEL_NAMES)} "
                          f"(did you mean {str(name).replace('-', '_')!r}?)")
    raise ConfigError(f"unknown experiment {name!r}: choose one of {', '.join(MODEL_NAMES)} "
                      "or give the path of a config .json")


def config_path(name):
    """The JSON file of paper model ``name`` (or ``name`` itself when it is a path to a .json file)."""
    if str(name).endswith(".json"):
        return Path(name)
    return CONFIG_DIR / f"{model_name(name)}.json"


def read_json(path, what="experiment config"):
    """The object in the JSON file ``path``; one ConfigError line when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} {path}: not valid JSON ({exc})") from None


def load_config(name):
    """The run config of ``name`` (a paper model or a .json path), checked and completed."""
    path = config_path(name)
    return check_config(read_json(path), path)


def paper_config(name):
    """The paper's config of ``name`` when it is one of MODEL_NAMES, else None."""
    return load_config(name) if name in MODEL_NAMES else None


def check_config(config, where="experiment config"):
    """A checked copy of ``config`` with TRAIN_DEFAULTS filled in; ConfigError naming ``where`` and the key."""
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: expected a JSON object, got {type(config).__name__}")
    for keys, optional, part, name in ((_TOP_KEYS, _OPTIONAL_TOP, config, "top level"),
                                       (_TRAIN_KEYS, set(TRAIN_DEFAULTS), config.get("train"), "train")):
        if not isinstance(part, dict):
            raise ConfigError(f"{where}: '{name}' must be an object with keys {', '.join(sorted(keys))}")
        missing, unknown = keys - set(part), set(part) - keys - optional
        if missing or unknown:
            raise ConfigError(f"{where}: {name} " + "; ".join(
                f"{label} key(s) {', '.join(sorted(ks))}" for label, ks in (("missing", missing), ("unknown", unknown))
                if ks) + f" (expected {', '.join(sorted(keys | optional))})")
    config = copy.deepcopy(config)
    train = config["train"] = {**TRAIN_DEFAULTS, **config["train"]}
    owner = f"{where}: train"
    check_choice(owner, "flips", train["flips"], FLIP_MODES)
    for key in ("epochs", "batch_size", "train_eval_size"):
        check_int(owner, key, train[key])
    check_number(owner, "lr", train["lr"], 0, low_open=True)
    check_number(owner, "reg", train["reg"], 0)
    if not isinstance(train["optimizer"], dict) or "name" not in train["optimizer"]:
        raise ConfigError(f"{owner}.optimizer must be an object with a \"name\", e.g. {{\"name\": \"adam\"}}")
    for key, minimum in (("patience", 1), ("recalibrate", 0)):
        if train[key] is not None:
            check_int(owner, key, train[key], minimum=minimum)
    if train["time_budget"] is not None:
        check_number(owner, "time_budget", train["time_budget"], 0, low_open=True)
    if train["augment"] is not None and not isinstance(train["augment"], dict):
        raise ConfigError(f"{owner}.augment must be null or an object of Augmenter options (shift, rotation, scale)")
    if config["hog"] is not None and not isinstance(config["hog"], dict):
        raise ConfigError(f"{where}: hog must be null or an object of skimage.feature.hog parameters")
    return config


def plan_run(config, reference=None, epochs=None, subset=None, flips=None, quick=False):
    """The run's plan: ``config`` with the options applied, every reduction and change recorded.

    reference: the config to measure against (default: the paper's config of
    ``config["name"]``, else ``config`` itself). epochs: train this many
    epochs; subset: train on a stratified subset of this many training
    images; flips: override train.flips; quick: QUICK's epochs and split
    sizes (an explicit ``epochs`` wins). Returns a new dict with
    ``"data_limits"`` ({"train", "val", "test"}: image counts or None for
    all), ``"quick"``, ``"reduced"``, ``"reductions"`` and ``"changes"`` added.
    """
    run = check_config(config, "run config")
    reference = check_config(reference or paper_config(run["name"]) or run, "reference config")
    train, paper = run["train"], reference["train"]
    limits = {"train": None, "val": None, "test": None}
    if quick:
        limits = {k: QUICK[k] for k in limits}
        epochs = QUICK["epochs"] if epochs is None else epochs
    if subset is not None:
        limits["train"] = check_int("--subset", "training images", subset)
    if epochs is not None:
        train["epochs"] = check_int("--epochs", "epochs", epochs)
    if flips is not None:
        train["flips"] = check_choice("--flips", "flips", flips, FLIP_MODES)
    reductions = []
    if quick:
        reductions.append("quick smoke run: " + ", ".join(f"{k} {v} images" for k, v in limits.items()))
    if train["epochs"] < paper["epochs"]:
        reductions.append(f"epochs {paper['epochs']} -> {train['epochs']}")
    if limits["train"] is not None and not quick:
        reductions.append(f"training subset of {limits['train']} images (stratified)")
    run.update(data_limits=limits, quick=bool(quick), reduced=bool(reductions), reductions=reductions,
               changes=changes(run, reference))
    return run


def changes(run, reference):
    """One line per departure of ``run`` from ``reference`` that is not a reduction."""
    from ..models import normalize_config, to_spec

    train, paper = run["train"], reference["train"]
    lines = []
    if train["epochs"] > paper["epochs"]:
        lines.append(f"epochs {paper['epochs']} -> {train['epochs']}")
    if train["flips"] != paper["flips"]:
        lines.append(f"flips {paper['flips']} -> {train['flips']} "
                     f"({FLIP_WORDS[train['flips']]} instead of {FLIP_WORDS[paper['flips']]})")
    for key in sorted(set(train) - {"epochs", "flips", "time_budget"}):
        if train[key] != paper[key]:
            lines.append(f"{key} {_show(paper[key])} -> {_show(train[key])}")
    ours, theirs = (to_spec(normalize_config(c["model"])) for c in (run, reference))
    if ours != theirs:
        lines.append(f"network {ours!r} instead of {theirs!r}")
    if run["hog"] != reference["hog"]:
        lines.append(f"HOG {_show(reference['hog'])} -> {_show(run['hog'])}")
    return lines


def _show(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list, type(None))) else str(value)


def protocol(run):
    """What a resumed run must share with the run it continues (all but its epochs and time budget)."""
    train = {k: v for k, v in run["train"].items() if k not in _NOT_PROTOCOL}
    keys = {"name": run["name"], "model": run["model"], "hog": run["hog"], "train": train, "seed": run["seed"],
            "data_limits": run["data_limits"]}
    return json.loads(json.dumps(keys))


def default_run_id(run):
    """A run id that names the protocol, so the same command finds its checkpoints again.

    "full" for the reference protocol, "quick" for a smoke run, otherwise e.g.
    "reduced-e5-random-n10000" (epochs, flips, training subset), with a short
    hash of the changes when there are any ("changed-e30-double-3f9a1c").
    """
    if run["quick"]:
        return "quick"
    if not run["reduced"] and not run["changes"]:
        return "full"
    train = run["train"]
    parts = ["reduced" if run["reduced"] else "changed", f"e{train['epochs']}", train["flips"]]
    if run["data_limits"]["train"] is not None:
        parts.append(f"n{run['data_limits']['train']}")
    if run["changes"]:
        parts.append(hashlib.sha256(json.dumps(run["changes"]).encode()).hexdigest()[:6])
    return "-".join(parts)
