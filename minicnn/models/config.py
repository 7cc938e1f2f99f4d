"""Model configs: the schema, its defaults and validation, and reading a config from JSON.

A config is a dict that round-trips through JSON::

    {"input_shape": [1, 48, 48], "n_classes": 7,
     "conv": [{"filters": 32, "kernel": 3, "pad": "same", "bn": true, "dropout": 0.1, "pool": null}, ...],
     "fc":   [{"units": 512, "bn": true, "dropout": 0.5}],
     "hog_dim": null, "loss": "softmax", "reg": 1e-6, "seed": 0}

``normalize_config`` fills in defaults and checks every value, so everything
downstream (the builder, checkpoints, reports) sees one complete form.
"""
import copy
import json

import numpy as np

from ..errors import ConfigError
from .spec import parse_spec

_TOP_DEFAULTS = {"name": None, "input_shape": [1, 48, 48], "n_classes": 7, "conv": [], "fc": [],
                 "hog_dim": None, "loss": "softmax", "reg": 0.0, "seed": 0}
_CONV_DEFAULTS = {"filters": None, "kernel": 3, "stride": 1, "pad": "same", "bn": False,
                  "dropout": 0.0, "pool": None}
_FC_DEFAULTS = {"units": None, "bn": False, "dropout": 0.0}
_LOSSES = ("softmax", "svm")



def _int(value, what, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _prob(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ConfigError(f"{what} must be a probability in [0, 1), got {value!r}")
    return float(value)


def _fill(block, defaults, where):
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a dict, got {type(block).__name__}")
    unknown = sorted(set(block) - set(defaults))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"known keys: {', '.join(defaults)}")
    return {**defaults, **block}


def normalize_config(config):
    """Validate ``config`` (dict or spec string) and return a complete JSON-able copy with defaults."""
    if isinstance(config, str):
        config = parse_spec(config)
    cfg = _fill(copy.deepcopy(config), _TOP_DEFAULTS, "model config")
    shape = cfg["input_shape"]
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ConfigError(f"model config: input_shape must be [channels, height, width], got {shape!r}")
    cfg["input_shape"] = [_int(s, f"input_shape[{i}]") for i, s in enumerate(shape)]
    cfg["n_classes"] = _int(cfg["n_classes"], "n_classes", 2)
    if cfg["hog_dim"] is not None:
        cfg["hog_dim"] = _int(cfg["hog_dim"], "hog_dim")
    if cfg["loss"] not in _LOSSES:
        raise ConfigError(f"model config: loss must be one of {', '.join(_LOSSES)}, got {cfg['loss']!r}")
    if isinstance(cfg["reg"], bool) or not isinstance(cfg["reg"], (int, float)) or cfg["reg"] < 0:
        raise ConfigError(f"model config: reg must be a number >= 0, got {cfg['reg']!r}")
    cfg["reg"] = float(cfg["reg"])
    cfg["seed"] = _int(cfg["seed"], "seed", 0)
    for key in ("conv", "fc"):
        if not isinstance(cfg[key], (list, tuple)):
            raise ConfigError(f"model config: {key} must be a list of blocks, got {cfg[key]!r}")
    cfg["conv"] = [_conv_block(b, i) for i, b in enumerate(cfg["conv"], 1)]
    cfg["fc"] = [_fc_block(b, i) for i, b in enumerate(cfg["fc"], 1)]
    return cfg


def _conv_block(block, i):
    where = f"conv block {i} (conv{i})"
    b = _fill(block, _CONV_DEFAULTS, where)
    b["filters"] = _int(b["filters"], f"{where}: filters")
    b["kernel"] = _int(b["kernel"], f"{where}: kernel")
    b["stride"] = _int(b["stride"], f"{where}: stride")
    if b["pad"] == "same":
        if b["kernel"] % 2 == 0 or b["stride"] != 1:
            raise ConfigError(f"{where}: 'same' padding needs an odd kernel and stride 1 "
                              f"(kernel {b['kernel']}, stride {b['stride']}); give pad as an integer")
    elif b["pad"] == "valid":
        b["pad"] = 0
    else:
        b["pad"] = _int(b["pad"], f"{where}: pad", 0)
    b["bn"] = bool(b["bn"])
    b["dropout"] = _prob(b["dropout"] or 0.0, f"{where}: dropout")
    if b["pool"] is not None:
        b["pool"] = _int(b["pool"], f"{where}: pool")
    return b


def _fc_block(block, i):
    where = f"fc block {i} (fc{i})"
    b = _fill(block, _FC_DEFAULTS, where)
    b["units"] = _int(b["units"], f"{where}: units")
    b["bn"] = bool(b["bn"])
    b["dropout"] = _prob(b["dropout"] or 0.0, f"{where}: dropout")
    return b


def load_config(path):
    """Read a model config from a JSON file; ConfigError naming the file if it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"model config {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model config {path}: not valid JSON ({exc})") from None
