"""The builder: a normalized config -> the list of layer objects, shapes checked layer by layer.

Layers are named by block: ``conv1 sbn1 relu1 drop1 pool1 ... flatten [concat]
fc1 bn1 relu_fc1 drop_fc1 ... scores``.

Initialization: He (Kaiming) normal, W ~ N(0, 2 / fan_in), for every conv and
hidden affine layer (fan_in = C*KH*KW or D), since each feeds a ReLU; the score
layer uses the same law scaled by 0.1 so the initial scores are small and the
initial softmax loss is close to ln(n_classes).
"""
import numpy as np

from .. import nn
from ..errors import ConfigError

SCORE_INIT_SCALE = 0.1

def build_layers(cfg):
    """Layer list for a normalized config; raises ConfigError naming the layer whose shape fails."""
    rng = np.random.default_rng(cfg["seed"])
    shape = tuple(cfg["input_shape"])
    out, n_drop = [], 0

    def add(layer):
        nonlocal shape
        out.append(layer)
        shape = layer.output_shape(shape)

    def dropout(name, p):
        nonlocal n_drop
        n_drop += 1
        add(nn.Dropout(name, p, seed=(cfg["seed"], n_drop)))

    for i, b in enumerate(cfg["conv"], 1):
        c, h, w = shape
        pad = (b["kernel"] - 1) // 2 if b["pad"] == "same" else b["pad"]
        for size, axis in ((h, "height"), (w, "width")):
            span = size + 2 * pad - b["kernel"]
            if span < 0 or span % b["stride"]:
                raise ConfigError(
                    f"conv{i}: a {b['kernel']}x{b['kernel']} kernel with stride {b['stride']} and pad {pad} "
                    f"does not tile input {axis} {size} (input {c}x{h}x{w}); change kernel, pad or stride")
        add(nn.Conv(f"conv{i}", c, b["filters"], b["kernel"], b["stride"], pad, rng))
        if b["bn"]:
            add(nn.SpatialBatchNorm(f"sbn{i}", b["filters"]))
        add(nn.ReLU(f"relu{i}"))
        if b["dropout"]:
            dropout(f"drop{i}", b["dropout"])
        if b["pool"]:
            c, h, w = shape
            if h % b["pool"] or w % b["pool"]:
                raise ConfigError(f"pool{i}: {b['pool']}x{b['pool']} max-pooling cannot divide the "
                                  f"{c}x{h}x{w} output of conv{i}; use an input size divisible by "
                                  f"{b['pool']} or remove the pool")
            add(nn.MaxPool(f"pool{i}", b["pool"]))
    add(nn.Flatten("flatten"))
    if cfg["hog_dim"]:
        add(nn.Concat("concat", cfg["hog_dim"]))
    for j, b in enumerate(cfg["fc"], 1):
        add(nn.Affine(f"fc{j}", shape[0], b["units"], rng))
        if b["bn"]:
            add(nn.BatchNorm(f"bn{j}", b["units"]))
        add(nn.ReLU(f"relu_fc{j}"))
        if b["dropout"]:
            dropout(f"drop_fc{j}", b["dropout"])
    add(nn.Affine("scores", shape[0], cfg["n_classes"], rng, init_scale=SCORE_INIT_SCALE))
    return out
