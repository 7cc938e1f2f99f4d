"""The compact spec-string grammar: ``"c32k3-bn-d0.1 c64k3-bn-d0.2-p2 | f512-bn-d0.5"``.

``parse_spec`` turns a spec into a config dict; ``to_spec`` writes one back.
Besides the heads and the conv padding, every token is a layer option
registered in ``minicnn.registry`` (its ``token`` followed by its value).
"""
import re

from .. import registry
from ..errors import ConfigError

_CONV_HEAD = re.compile(r"^c(\d+)(?:k(\d+))?(?:s(\d+))?$")
_FC_HEAD = re.compile(r"^f(\d+)$")
_VALUE_PATTERNS = {"flag": "", "int": r"(\d+)", "prob": r"([0-9.]+)", "float": r"([0-9.]+(?:e-?\d+)?)"}


def parse_spec(spec, **top):
    """Config dict from a compact spec string; ``top`` sets top-level keys (n_classes, reg, ...).

    Blocks are separated by spaces, the conv part from the fc part by ``|``;
    within a block options follow the head, joined by ``-``:

    - conv head ``c<filters>[k<kernel>][s<stride>]`` (kernel 3, stride 1 by
      default), padding ``pad<n>`` or ``valid`` (default: 'same' padding);
    - fc head ``f<units>``;
    - then the registered options of that block: ``bn``, ``d<p>`` (dropout),
      ``p<size>`` (max-pool), ``ap<size>`` (average pool), ``lrelu<alpha>``
      (leaky ReLU instead of ReLU), ... (``option_tokens(block)`` lists them).

    Example: ``"c32k3-bn-d0.25 c64k3-bn-d0.25-p2 | f512-bn-d0.5"`` is the shallow model.
    """
    if not isinstance(spec, str):
        raise ConfigError(f"a model spec must be a string, got {type(spec).__name__}")
    conv_part, _, fc_part = spec.partition("|")
    conv = [_parse_block("conv", text, i) for i, text in enumerate(conv_part.split(), 1)]
    fc = [_parse_block("fc", text, j) for j, text in enumerate(fc_part.split(), 1)]
    return {**top, "conv": conv, "fc": fc}


def option_tokens(block):
    """The spec tokens of ``block``'s options, as shown in messages: ['bn', 'd<prob>', 'p<int>', ...]."""
    return [opt.token + ("" if opt.value == "flag" else f"<{opt.value}>") for opt in registry.options(block)]


def _parse_block(block_type, text, i):
    head, *tokens = text.split("-")
    where = f"spec block {text!r} ({block_type}{i})"
    if block_type == "conv":
        m = _CONV_HEAD.match(head)
        if not m:
            raise ConfigError(f"{where}: expected a conv head like c32k3, got {head!r}")
        block = {"filters": int(m[1]), "kernel": int(m[2] or 3), "stride": int(m[3] or 1)}
    else:
        m = _FC_HEAD.match(head)
        if not m:
            raise ConfigError(f"{where}: expected an fc head like f512, got {head!r}")
        block = {"units": int(m[1])}
    for token in tokens:
        if block_type == "conv" and token == "valid":
            block["pad"] = 0
        elif block_type == "conv" and re.fullmatch(r"pad\d+", token):
            block["pad"] = int(token[3:])
        else:
            key, value = _parse_option(block_type, token, where)
            block[key] = value
    return block


def _parse_option(block_type, token, where):
    for opt in registry.options(block_type):
        m = re.fullmatch(re.escape(opt.token) + _VALUE_PATTERNS[opt.value], token)
        if m:
            if opt.value == "flag":
                return opt.key, True
            try:
                return opt.key, (int if opt.value == "int" else float)(m[1])
            except ValueError:
                raise ConfigError(f"{where}: bad value in {token!r}") from None
    known = option_tokens(block_type) + (["pad<n>", "valid"] if block_type == "conv" else [])
    raise ConfigError(f"{where}: unknown option {token!r}; known: {', '.join(known)}")


def to_spec(config):
    """The compact spec string of a config (inverse of ``parse_spec`` for the block parts)."""
    from .config import normalize_config   # config.py imports this module for parse_spec
    cfg = normalize_config(config)

    def block(block_type, b):
        if block_type == "conv":
            parts = [f"c{b['filters']}k{b['kernel']}" + (f"s{b['stride']}" if b["stride"] != 1 else "")]
        else:
            parts = [f"f{b['units']}"]
        for opt in registry.options(block_type):
            if opt.key in b:
                parts.append(opt.token + ("" if opt.value == "flag" else f"{b[opt.key]:g}"))
        if block_type == "conv" and b["pad"] != "same":
            parts.append(f"pad{b['pad']}")
        return "-".join(parts)
    return " ".join(block("conv", b) for b in cfg["conv"]) + " | " + " ".join(block("fc", b) for b in cfg["fc"])
