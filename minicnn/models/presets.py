"""The paper's nets: shallow (M=2, N=1), deep (M=4, N=2) and their CNN + HOG hybrids."""
from .config import normalize_config
from .model import Model

PAPER_HPARAMS = {
    # Learning rate, L2 strength, epochs and batch size as stated in the paper. The
    # optimizer is not stated there; these are our choices (see docs/models-and-training.md).
    "shallow": {"lr": 1e-3, "reg": 1e-6, "epochs": 30, "batch_size": 128, "optimizer": "adam"},
    "deep": {"lr": 1e-2, "reg": 1e-7, "epochs": 35, "batch_size": 128, "optimizer": "nesterov"},
}


def _scaled(n, width):
    return max(1, int(round(n * width)))


def _apply_overrides(cfg, overrides, width):
    conv_dropout = overrides.pop("conv_dropout", None)
    fc_dropout = overrides.pop("fc_dropout", None)
    for b in cfg["conv"]:
        b["filters"] = _scaled(b["filters"], width)
        if conv_dropout is not None:
            b["dropout"] = conv_dropout
    for b in cfg["fc"]:
        b["units"] = _scaled(b["units"], width)
        if fc_dropout is not None:
            b["dropout"] = fc_dropout
    cfg.update(overrides)
    return normalize_config(cfg)


def shallow_config(width=1.0, **overrides):
    """The paper's shallow net (M=2, N=1) as a config.

    conv32 3x3 SBN ReLU dropout | conv64 3x3 SBN ReLU dropout maxpool2 | fc512 BN ReLU
    dropout | scores. 'Same' padding, stride 1. Dropout rates (not stated in the
    paper): 0.25 after conv blocks, 0.5 after the fc block. ``width`` scales
    filters and units; ``conv_dropout``, ``fc_dropout`` and any top-level key
    (input_shape, n_classes, reg, seed, hog_dim, loss, conv, fc) override.
    """
    cfg = {"name": "shallow", "input_shape": [1, 48, 48], "n_classes": 7,
           "conv": [{"filters": 32, "kernel": 3, "pad": "same", "bn": True, "dropout": 0.25, "pool": None},
                    {"filters": 64, "kernel": 3, "pad": "same", "bn": True, "dropout": 0.25, "pool": 2}],
           "fc": [{"units": 512, "bn": True, "dropout": 0.5}],
           "hog_dim": None, "loss": "softmax", "reg": PAPER_HPARAMS["shallow"]["reg"], "seed": 0}
    return _apply_overrides(cfg, dict(overrides), width)


def deep_config(width=1.0, **overrides):
    """The paper's deep net (M=4, N=2) as a config.

    conv64 3x3 | conv128 5x5 | conv512 3x3 | conv512 3x3, each SBN ReLU dropout
    maxpool2 ('same' padding: 48 -> 24 -> 12 -> 6 -> 3) | fc256 BN ReLU dropout |
    fc512 BN ReLU dropout | scores. Dropout (not stated in the paper): 0.25 after
    conv blocks, 0.5 after fc blocks. Overrides as in ``shallow_config``.
    """
    conv = [{"filters": f, "kernel": k, "pad": "same", "bn": True, "dropout": 0.25, "pool": 2}
            for f, k in ((64, 3), (128, 5), (512, 3), (512, 3))]
    cfg = {"name": "deep", "input_shape": [1, 48, 48], "n_classes": 7, "conv": conv,
           "fc": [{"units": 256, "bn": True, "dropout": 0.5}, {"units": 512, "bn": True, "dropout": 0.5}],
           "hog_dim": None, "loss": "softmax", "reg": PAPER_HPARAMS["deep"]["reg"], "seed": 0}
    return _apply_overrides(cfg, dict(overrides), width)


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
        cfg["name"] += "-hog"
    return normalize_config(cfg)


def hybrid(base, feature_dim, dtype=None, xp=None, **overrides):
    """A hybrid CNN + side-features model; ``X`` is ``(images, features)``. See ``hybrid_config``."""
    return Model(hybrid_config(base, feature_dim, **overrides), dtype=dtype, xp=xp)
