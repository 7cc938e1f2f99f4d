"""The compact spec-string grammar: ``"c32k3-bn-d0.1 c64k3-bn-d0.2-p2 | f512-bn-d0.5"``.

``parse_spec`` turns a spec into a config dict; ``to_spec`` writes one back.
"""
import re

from ..errors import ConfigError

_CONV_HEAD = re.compile(r"^c(\d+)(?:k(\d+))?(?:s(\d+))?$")
_FC_HEAD = re.compile(r"^f(\d+)$")


def parse_spec(spec, **top):
    """Config dict from a compact spec string; ``top`` sets top-level keys (n_classes, reg, ...).

    Blocks are separated by spaces, the conv part from the fc part by ``|``;
    within a block options follow the head, joined by ``-``:

    - conv head ``c<filters>[k<kernel>][s<stride>]`` (kernel 3, stride 1 by default);
      options ``bn``, ``d<p>`` (dropout), ``p<size>`` (max-pool), ``pad<n>`` or
      ``valid`` (default: 'same' padding)
    - fc head ``f<units>``; options ``bn``, ``d<p>``

    Example: ``"c32k3-bn-d0.1 c64k3-bn-d0.2-p2 | f512-bn-d0.5"`` is the shallow model.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"a model spec must be a string, got {type(spec).__name__}")
    conv_part, _, fc_part = spec.partition("|")
    conv, fc = [], []
    for i, text in enumerate(conv_part.split(), 1):
        head, *opts = text.split("-")
        m = _CONV_HEAD.match(head)
        if not m:
            raise ConfigError(f"spec block {text!r} (conv{i}): expected a conv head like c32k3, got {head!r}")
        block = {"filters": int(m[1]), "kernel": int(m[2] or 3), "stride": int(m[3] or 1)}
        for opt in opts:
            if opt == "bn":
                block["bn"] = True
            elif opt == "valid":
                block["pad"] = 0
            elif re.fullmatch(r"pad\d+", opt):
                block["pad"] = int(opt[3:])
            elif re.fullmatch(r"p\d+", opt):
                block["pool"] = int(opt[1:])
            elif re.fullmatch(r"d[0-9.]+", opt):
                block["dropout"] = _float_opt(opt[1:], text, f"conv{i}")
            else:
                raise ConfigError(f"spec block {text!r} (conv{i}): unknown option {opt!r}; "
                                  "known: bn, d<p>, p<size>, pad<n>, valid")
        conv.append(block)
    for j, text in enumerate(fc_part.split(), 1):
        head, *opts = text.split("-")
        m = _FC_HEAD.match(head)
        if not m:
            raise ConfigError(f"spec block {text!r} (fc{j}): expected an fc head like f512, got {head!r}")
        block = {"units": int(m[1])}
        for opt in opts:
            if opt == "bn":
                block["bn"] = True
            elif re.fullmatch(r"d[0-9.]+", opt):
                block["dropout"] = _float_opt(opt[1:], text, f"fc{j}")
            else:
                raise ConfigError(f"spec block {text!r} (fc{j}): unknown option {opt!r}; known: bn, d<p>")
        fc.append(block)
    return {**top, "conv": conv, "fc": fc}


def _float_opt(text, block, name):
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"spec block {block!r} ({name}): bad dropout rate {text!r}") from None


def to_spec(config):
    """The compact spec string of a config (inverse of ``parse_spec`` for the block parts)."""
    from .config import normalize_config   # config.py imports this module for parse_spec
    cfg = normalize_config(config)
    conv = []
    for b in cfg["conv"]:
        parts = [f"c{b['filters']}k{b['kernel']}" + (f"s{b['stride']}" if b["stride"] != 1 else "")]
        parts += ["bn"] if b["bn"] else []
        parts += [f"d{b['dropout']:g}"] if b["dropout"] else []
        parts += [f"p{b['pool']}"] if b["pool"] else []
        parts += [f"pad{b['pad']}"] if b["pad"] != "same" else []
        conv.append("-".join(parts))
    fc = ["-".join([f"f{b['units']}"] + (["bn"] if b["bn"] else [])
                   + ([f"d{b['dropout']:g}"] if b["dropout"] else [])) for b in cfg["fc"]]
    return " ".join(conv) + " | " + " ".join(fc)
