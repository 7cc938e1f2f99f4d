"""The builder: a normalized config -> the list of layer objects, shapes checked layer by layer.

Layers are named by block: ``conv1 sbn1 relu1 drop1 pool1 ... flatten [concat]
fc1 bn1 relu_fc1 drop_fc1 ... scores``.

Initialization: He (Kaiming) normal, W ~ N(0, 2 / fan_in), for every conv and
hidden affine layer (fan_in = C*KH*KW or D), since each feeds a ReLU; the score
layer uses the same law scaled by 0.1 so the initial scores are small and the
initial softmax loss is close to ln(n_classes).
"""
import numpy as np

from .. import nn, registry
from ..errors import ConfigError, MiniCNNError

SCORE_INIT_SCALE = 0.1


class BuildContext:
    """What layer makers share while one network is built: the config's seed, the init generator, counters."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._counts = {}

    def count(self, kind):
        """1 for the first layer of ``kind`` built, 2 for the second, ... (e.g. to seed each dropout)."""
        self._counts[kind] = self._counts.get(kind, 0) + 1
        return self._counts[kind]


def build_layers(cfg):
    """Layer list for a normalized config; raises ConfigError naming the layer whose shape fails.

    Each block is its head (conv or affine) followed by its options in the
    order of their stage (norm, activation, dropout, pool), with a ReLU as
    the activation unless the block names another.
    """
    ctx = BuildContext(cfg["seed"])
    shape = tuple(cfg["input_shape"])
    out = []

    def add(layer):
        nonlocal shape
        try:
            shape = layer.output_shape(shape)
        except MiniCNNError as exc:
            raise ConfigError(f"{layer.name}: {exc}") from None
        out.append(layer)

    for i, b in enumerate(cfg["conv"], 1):
        add(_conv(f"conv{i}", b, shape, ctx.rng))
        for kind, name, value in _block_layers("conv", b, i):
            add(kind.make(name, value, shape, ctx))
    add(nn.Flatten("flatten"))
    if cfg["hog_dim"]:
        add(nn.Concat("concat", cfg["hog_dim"]))
    for j, b in enumerate(cfg["fc"], 1):
        add(nn.Affine(f"fc{j}", shape[0], b["units"], ctx.rng))
        for kind, name, value in _block_layers("fc", b, j):
            add(kind.make(name, value, shape, ctx))
    add(nn.Affine("scores", shape[0], cfg["n_classes"], ctx.rng, init_scale=SCORE_INIT_SCALE))
    return out


def _conv(name, b, shape, rng):
    c, h, w = shape
    pad = (b["kernel"] - 1) // 2 if b["pad"] == "same" else b["pad"]
    for size, axis in ((h, "height"), (w, "width")):
        span = size + 2 * pad - b["kernel"]
        if span < 0 or span % b["stride"]:
            raise ConfigError(
                f"{name}: a {b['kernel']}x{b['kernel']} kernel with stride {b['stride']} and pad {pad} "
                f"does not tile input {axis} {size} (input {c}x{h}x{w}); change kernel, pad or stride")
    return nn.Conv(name, c, b["filters"], b["kernel"], b["stride"], pad, rng)


def _block_layers(block_type, b, i):
    """(kind, layer name, option value) of the layers after block ``i``'s head, in stage order.

    A block without an activation option gets the grammar's ReLU.
    """
    chosen = [(opt.stage, registry.option_kind(opt), opt.name.format(i=i), b[opt.key])
              for opt in registry.options(block_type) if opt.key in b]
    if not any(stage == registry.ACTIVATION for stage, *_ in chosen):
        relu_name = f"relu{i}" if block_type == "conv" else f"relu_fc{i}"
        chosen.append((registry.ACTIVATION, registry.get("relu"), relu_name, True))
    return [(kind, name, value) for _, kind, name, value in sorted(chosen, key=lambda c: c[0])]
