"""Model configs: the schema, its defaults and validation, and reading a config from JSON.

A config is a dict that round-trips through JSON::

    {"input_shape": [1, 48, 48], "n_classes": 7,
     "conv": [{"filters": 32, "kernel": 3, "pad": "same", "bn": true, "dropout": 0.1}, ...],
     "fc":   [{"units": 512, "bn": true, "dropout": 0.5}],
     "hog_dim": null, "loss": "softmax", "reg": 1e-6, "seed": 0}

A block holds its own layer's keys (conv: filters, kernel, stride, pad; fc:
units) and any layer options registered for its kind of block in
``minicnn.registry`` (bn, dropout, pool, avgpool, leaky_relu, ...).

``normalize_config`` fills in defaults and checks every value, so everything
downstream (the builder, checkpoints, reports) sees one complete form.
"""
import copy
import json

from .. import registry
from ..errors import ConfigError
from ..validate import check_choice, check_int, check_number, check_probability
from .spec import parse_spec

_TOP_DEFAULTS = {"name": None, "input_shape": [1, 48, 48], "n_classes": 7, "conv": [], "fc": [],
                 "hog_dim": None, "loss": "softmax", "reg": 0.0, "seed": 0}
HEAD_DEFAULTS = {"conv": {"filters": None, "kernel": 3, "stride": 1, "pad": "same"}, "fc": {"units": None}}
"""The keys of a block's own layer (conv or affine); every other key is a registered layer option."""
LOSSES = ("softmax", "svm")


def normalize_config(config):
    """Validate ``config`` (dict or spec string) and return a complete JSON-able copy with defaults.

    Blocks keep their head keys (filters, kernel, stride, pad / units) and
    only the layer options they use, in registration order (an option at its
    "absent" value, such as dropout 0 or bn false, is dropped).
    """
    if isinstance(config, str):
        config = parse_spec(config)
    cfg = _fill(copy.deepcopy(config), _TOP_DEFAULTS, "model config")
    shape = cfg["input_shape"]
    if not isinstance(shape, (list, tuple)) or len(shape) != 3:
        raise ConfigError(f"model config: input_shape must be [channels, height, width], got {shape!r}")
    cfg["input_shape"] = [check_int("model config", f"input_shape[{i}]", s) for i, s in enumerate(shape)]
    cfg["n_classes"] = check_int("model config", "n_classes", cfg["n_classes"], 2)
    if cfg["hog_dim"] is not None:
        cfg["hog_dim"] = check_int("model config", "hog_dim", cfg["hog_dim"])
    check_choice("model config", "loss", cfg["loss"], LOSSES)
    cfg["reg"] = check_number("model config", "reg", cfg["reg"], low=0.0)
    cfg["seed"] = check_int("model config", "seed", cfg["seed"], 0)
    for key in ("conv", "fc"):
        if not isinstance(cfg[key], (list, tuple)):
            raise ConfigError(f"model config: {key} must be a list of blocks, got {cfg[key]!r}")
    cfg["conv"] = [_block("conv", b, i) for i, b in enumerate(cfg["conv"], 1)]
    cfg["fc"] = [_block("fc", b, i) for i, b in enumerate(cfg["fc"], 1)]
    return cfg


def _fill(block, defaults, where):
    if not isinstance(block, dict):
        raise ConfigError(f"{where}: expected a dict, got {type(block).__name__}")
    unknown = sorted(set(block) - set(defaults))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"known keys: {', '.join(defaults)}")
    return {**defaults, **block}


def _block(block_type, block, i):
    """A validated ``block_type`` block ("conv" or "fc"): head keys, then the options it uses."""
    where = f"{block_type} block {i} ({block_type}{i})"
    opts = registry.options(block_type)
    b = _fill(block, {**HEAD_DEFAULTS[block_type], **{o.key: None for o in opts}}, where)
    out = _conv_head(b, where) if block_type == "conv" else {"units": check_int(where, "units", b["units"])}
    for opt in opts:
        value = option_value(opt, b[opt.key], where)
        if value is not None:
            out[opt.key] = value
    return out


def _conv_head(b, where):
    head = {k: check_int(where, k, b[k]) for k in ("filters", "kernel", "stride")}
    if b["pad"] == "same":
        if head["kernel"] % 2 == 0 or head["stride"] != 1:
            raise ConfigError(f"{where}: 'same' padding needs an odd kernel and stride 1 "
                              f"(kernel {head['kernel']}, stride {head['stride']}); give pad as an integer")
        head["pad"] = "same"
    else:
        head["pad"] = 0 if b["pad"] == "valid" else check_int(where, "pad", b["pad"], 0)
    return head


def option_value(opt, value, where):
    """The option's value checked for its kind, or None when the option is absent (off, 0, null)."""
    if value is None or value is False:
        return None
    if opt.value == "flag":
        if value is not True:
            raise ConfigError(f"{where}: {opt.key} must be true or false, got {value!r}")
        return True
    if opt.value == "int":
        return check_int(where, opt.key, value)
    if opt.value == "prob":
        return check_probability(where, opt.key, value) or None
    return check_number(where, opt.key, value, low=0.0, low_open=True)


def load_config(path):
    """Read a model config from a JSON file; ConfigError naming the file if it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"model config {path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model config {path}: not valid JSON ({exc})") from None
