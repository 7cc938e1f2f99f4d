"""Networks of the paper's grammar: config schema, spec strings, the builder, ``Model`` and the paper's nets.

    config.py   the JSON-able config: defaults, validation, ``load_config``
    spec.py     the compact spec grammar (``parse_spec``, ``to_spec``)
    build.py    config -> layer objects, shapes checked layer by layer
    model.py    ``Model``: loss/gradients, train/eval mode, prediction, state
    presets.py  the paper's shallow, deep and hybrid nets
"""
from .build import SCORE_INIT_SCALE, build_layers
from .config import load_config, normalize_config
from .model import Backprop, Model, build_model
from .presets import deep, deep_config, hybrid, hybrid_config, paper_config, scale_width, shallow, shallow_config
from .spec import parse_spec, to_spec

__all__ = ["Model", "Backprop", "build_model", "build_layers", "normalize_config", "load_config", "parse_spec",
           "to_spec", "shallow", "deep", "hybrid", "shallow_config", "deep_config", "hybrid_config",
           "paper_config", "scale_width", "SCORE_INIT_SCALE"]
