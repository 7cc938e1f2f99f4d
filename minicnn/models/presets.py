"""The paper's nets: shallow (M=2, N=1), deep (M=4, N=2) and their CNN + HOG hybrids.

Their layers, L2 strength and seed are read from the paper's run configs
(``minicnn/pipeline/configs/{shallow,deep}.json``), the one copy of the
paper's settings; the training settings (rates, epochs, optimizer) live there too.
"""
from .config import normalize_config
from .model import Model


def scale_width(config, width):
    """A copy of the model ``config`` with every conv block's filters and fc block's units times ``width``."""
    cfg = normalize_config(config)
    for b in cfg["conv"]:
        b["filters"] = max(1, int(round(b["filters"] * width)))
    for b in cfg["fc"]:
        b["units"] = max(1, int(round(b["units"] * width)))
    return cfg


def paper_config(name, width=1.0, **overrides):
    """The network of paper model ``name`` ("shallow" or "deep") as a model config.

    ``width`` scales filters and units; ``conv_dropout``, ``fc_dropout`` set
    every block's dropout; any top-level key (input_shape, n_classes, reg,
    seed, hog_dim, loss, conv, fc) overrides.
    """
    from ..pipeline.config import load_config

    run = load_config(name)
    cfg = scale_width({**run["model"], "name": name, "reg": run["train"]["reg"], "seed": run["seed"]}, width)
    for kind, key in (("conv", "conv_dropout"), ("fc", "fc_dropout")):
        rate = overrides.pop(key, None)
        if rate is not None:
            for block in cfg[kind]:
                block["dropout"] = rate
    cfg.update(overrides)
    return normalize_config(cfg)


def shallow_config(width=1.0, **overrides):
    """The paper's shallow net (M=2, N=1) as a config.

    conv32 3x3 SBN ReLU dropout | conv64 3x3 SBN ReLU dropout maxpool2 | fc512 BN ReLU
    dropout | scores. 'Same' padding, stride 1. Dropout rates (not stated in the
    paper): 0.25 after conv blocks, 0.5 after the fc block. Arguments as in ``paper_config``.
    """
    return paper_config("shallow", width, **overrides)


def deep_config(width=1.0, **overrides):
    """The paper's deep net (M=4, N=2) as a config.

    conv64 3x3 | conv128 5x5 | conv512 3x3 | conv512 3x3, each SBN ReLU dropout
    maxpool2 ('same' padding: 48 -> 24 -> 12 -> 6 -> 3) | fc256 BN ReLU dropout |
    fc512 BN ReLU dropout | scores. Dropout (not stated in the paper): 0.25 after
    conv blocks, 0.5 after fc blocks. Arguments as in ``paper_config``.
    """
    return paper_config("deep", width, **overrides)


def shallow(width=1.0, dtype=None, xp=None, **overrides):
    """The paper's shallow model (see ``shallow_config``)."""
    return Model(shallow_config(width, **overrides), dtype=dtype, xp=xp)


def deep(width=1.0, dtype=None, xp=None, **overrides):
    """The paper's deep model (see ``deep_config``)."""
    return Model(deep_config(width, **overrides), dtype=dtype, xp=xp)


def hybrid_config(base, feature_dim, **overrides):
    """Config of ``base`` ("shallow", "deep", a config, a spec or a Model) with a side input of ``feature_dim``.

    The side vector (HOG features) is concatenated with the flattened output of
    the last conv block, before the first fully connected layer.
    """
    if isinstance(base, Model):
        base = base.config
    if base in ("shallow", "deep"):
        width = overrides.pop("width", 1.0)
        cfg = (shallow_config if base == "shallow" else deep_config)(width, **overrides)
        overrides = {}
    else:
        cfg = normalize_config(base)
    cfg.update(overrides)
    cfg["hog_dim"] = feature_dim
    if cfg.get("name") in ("shallow", "deep"):
        cfg["name"] += "_hog"
    return normalize_config(cfg)


def hybrid(base, feature_dim, dtype=None, xp=None, **overrides):
    """A hybrid CNN + side-features model; ``X`` is ``(images, features)``. See ``hybrid_config``."""
    return Model(hybrid_config(base, feature_dim, **overrides), dtype=dtype, xp=xp)
