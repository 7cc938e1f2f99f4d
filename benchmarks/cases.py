"""What is measured: layer cases at the paper's shapes, the two training steps, FLOP counts.

A layer case is a name, a kind and the arguments of its input shape;
``minicnn_layer(case, xp)`` builds a zero-argument callable running the
minicnn forward + backward once on fixed random data. ``quick`` shrinks every
shape (batch 4, a quarter of the side, an eighth of the channels) so the
harness itself can be tested in seconds.
"""
from dataclasses import dataclass, field

import numpy as np

from minicnn import layers as L, optim
from minicnn import models

BATCH = 128


@dataclass
class LayerCase:
    """One layer measured forward + backward on a batch of ``n`` inputs.

    kind: conv (c -> f channels, k x k kernel, 'same' padding, on hw x hw),
    maxpool (2x2 on c channels of hw x hw), sbn (spatial batchnorm), relu,
    dropout (p=0.25), affine (d -> m), softmax (m classes).
    """
    name: str
    kind: str
    n: int
    args: dict = field(default_factory=dict)

    @property
    def macs(self):
        """Forward multiply-adds of a conv or affine case (0 for the others)."""
        a = self.args
        if self.kind == "conv":
            return self.n * a["f"] * a["c"] * a["k"] ** 2 * a["hw"] ** 2
        if self.kind == "affine":
            return self.n * a["d"] * a["m"]
        return 0


def layer_cases(quick=False):
    """The layer cases at batch 128 and the paper's shapes (tiny ones when ``quick``)."""
    n = 4 if quick else BATCH
    ch = (lambda c: max(1, c // 8)) if quick else (lambda c: c)
    side = (lambda s: max(2, s // 4)) if quick else (lambda s: s)

    def conv(label, c, f, hw, k):
        return LayerCase(f"conv{k}x{k} {label} {ch(c)}->{ch(f)} @{side(hw)}", "conv", n,
                         {"c": ch(c), "f": ch(f), "hw": side(hw), "k": k})

    def spatial(kind, label, c, hw, **extra):
        return LayerCase(f"{label} {ch(c)}@{side(hw)}", kind, n, {"c": ch(c), "hw": side(hw), **extra})

    return [
        conv("shallow conv1", 1, 32, 48, 3),
        conv("shallow conv2", 32, 64, 48, 3),
        conv("deep conv1", 1, 64, 48, 3),
        conv("deep conv2", 64, 128, 24, 5),
        conv("deep conv3", 128, 512, 12, 3),
        conv("deep conv4", 512, 512, 6, 3),
        spatial("maxpool", "maxpool 2x2", 64, 48),
        spatial("sbn", "spatial batchnorm", 64, 48),
        spatial("relu", "relu", 64, 48),
        spatial("dropout", "dropout p=0.25", 64, 48, p=0.25),
        LayerCase(f"affine shallow fc1 {ch(36864)}->{ch(512)}", "affine", n, {"d": ch(36864), "m": ch(512)}),
        LayerCase(f"affine deep fc1 {ch(4608)}->{ch(256)}", "affine", n, {"d": ch(4608), "m": ch(256)}),
        LayerCase("softmax loss 7 classes", "softmax", n, {"m": 7}),
    ]


def layer_inputs(case, seed=0):
    """Host float32 arrays for ``case``: dict with x, dout and the parameters (minicnn layouts)."""
    rng = np.random.default_rng(seed)
    a, n = case.args, case.n

    def normal(*shape, scale=1.0):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))

    if case.kind == "conv":
        c, f, hw, k = a["c"], a["f"], a["hw"], a["k"]
        return {"x": normal(n, c, hw, hw), "w": normal(f, c, k, k, scale=(2 / (c * k * k)) ** 0.5),
                "b": normal(f, scale=0.1), "dout": normal(n, f, hw, hw)}
    if case.kind == "maxpool":
        return {"x": normal(n, a["c"], a["hw"], a["hw"]), "dout": normal(n, a["c"], a["hw"] // 2, a["hw"] // 2)}
    if case.kind in ("sbn", "relu", "dropout"):
        shape = (n, a["c"], a["hw"], a["hw"])
        return {"x": normal(*shape), "dout": normal(*shape), "gamma": 1 + normal(a["c"], scale=0.1),
                "beta": normal(a["c"], scale=0.1)}
    if case.kind == "affine":
        return {"x": normal(n, a["d"]), "w": normal(a["d"], a["m"], scale=(2 / a["d"]) ** 0.5),
                "b": normal(a["m"], scale=0.1), "dout": normal(n, a["m"])}
    if case.kind == "softmax":
        return {"x": normal(n, a["m"]), "y": rng.integers(0, a["m"], n)}
    raise ValueError(f"unknown layer case kind {case.kind!r}")


def _as_the_model_runs(forward_result, backward):
    """An element-wise layer's backward as ``Model`` runs it: written into the gradient it is handed,
    which the model no longer needs. The forward's fresh output stands in for that gradient (its
    values do not change the time of an element-wise product; a fixed dout would drift from call to
    call)."""
    out, cache = forward_result
    return backward(out, cache, overwrite=True)


def minicnn_layer(case, xp):
    """A callable running minicnn's forward + backward of ``case`` once on backend ``xp``."""
    d = {k: xp.asarray(v) for k, v in layer_inputs(case).items()}
    x, dout = d["x"], d.get("dout")
    if case.kind == "conv":
        pad = case.args["k"] // 2
        return lambda: L.conv_backward(dout, L.conv_forward(x, d["w"], d["b"], 1, pad)[1])
    if case.kind == "maxpool":
        return lambda: L.maxpool_backward(dout, L.maxpool_forward(x, 2)[1])
    if case.kind == "sbn":
        c = case.args["c"]
        rm, rv = xp.zeros(c, dtype=xp.float32), xp.ones(c, dtype=xp.float32)
        return lambda: L.spatial_batchnorm_backward(
            dout, L.spatial_batchnorm_forward(x, d["gamma"], d["beta"], rm, rv, True)[1])
    if case.kind == "relu":
        return lambda: _as_the_model_runs(L.relu_forward(x), L.relu_backward)
    if case.kind == "dropout":
        from minicnn.backend import default_rng
        rng = default_rng(0, xp)
        return lambda: _as_the_model_runs(L.dropout_forward(x, case.args["p"], True, rng=rng), L.dropout_backward)
    if case.kind == "affine":
        return lambda: L.affine_backward(dout, L.affine_forward(x, d["w"], d["b"])[1])
    if case.kind == "softmax":
        return lambda: L.softmax_cross_entropy(x, d["y"])
    raise ValueError(f"unknown layer case kind {case.kind!r}")


def conv_method(case, xp):
    """The algorithm minicnn's conv_forward picks for a conv case ("im2col" or "winograd"), else None."""
    if case.kind != "conv":
        return None
    a = case.args
    return L.conv_method(xp, (case.n, a["c"], a["hw"], a["hw"]), (a["f"], a["c"], a["k"], a["k"]), 1)


def conv_errors(case, xp, n=4):
    """Float32 error of Winograd and of im2col on ``case`` (n images) against float64 im2col.

    Returns {"m", "r", "winograd": {out, dx, dw}, "im2col": {...}}: the largest
    absolute difference over the largest absolute float64 value, per array.
    """
    from minicnn.backend import to_numpy
    from minicnn.layers.conv import winograd_tile
    d = {k: (v[:n] if k in ("x", "dout") else v) for k, v in layer_inputs(case).items()}
    pad = case.args["k"] // 2

    def run(method, dtype):
        x, w, b, dout = (xp.asarray(d[k].astype(dtype)) for k in ("x", "w", "b", "dout"))
        out, cache = L.conv_forward(x, w, b, 1, pad, method=method)
        dx, dw, _ = L.conv_backward(dout, cache)
        return {"out": to_numpy(out), "dx": to_numpy(dx), "dw": to_numpy(dw)}
    exact = run("im2col", np.float64)

    def error(got):
        return {k: float(np.abs(got[k] - v).max() / np.abs(v).max()) for k, v in exact.items()}
    return {"m": winograd_tile(case.args["k"], case.args["hw"], case.args["hw"], pad), "r": case.args["k"],
            "winograd": error(run("winograd", np.float32)), "im2col": error(run("im2col", np.float32))}


# ------------------------------------------------------------------ training steps

def step_configs(quick=False):
    """name -> minicnn model config of the measured training steps (paper nets; tiny when ``quick``)."""
    if quick:
        tiny = {"width": 0.125, "input_shape": [1, 16, 16]}
        return {"shallow": models.shallow_config(**tiny), "deep": models.deep_config(**tiny)}
    return {"shallow": models.shallow_config(), "deep": models.deep_config()}


def step_batch(config, n, seed=0):
    """A fixed random image batch (N, C, H, W) float32 and labels (N,) for ``config``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *config["input_shape"]), dtype=np.float32)
    return x, rng.integers(0, config["n_classes"], n)


def minicnn_step(config, xp, n, lr=1e-3):
    """(step, model): ``step()`` runs one forward + backward + Adam update of a fresh model."""
    model = models.Model(config, xp=xp)
    opt = optim.Adam(lr)
    x, y = (xp.asarray(a) for a in step_batch(config, n))

    def step():
        _, grads = model.loss(x, y)
        opt.step(model.params, grads)
    return step, model


def model_forward_macs(model):
    """Forward multiply-adds per example of the conv and affine layers of a minicnn model."""
    shapes = model.output_shapes()
    total = 0
    for layer in model.layers:
        if layer.kind == "conv":
            f, ho, wo = shapes[layer.name]
            total += f * ho * wo * layer.in_channels * layer.kernel ** 2
        elif layer.kind == "affine":
            total += layer.in_dim * layer.units
    return total


def step_flops(model, n):
    """FLOPs of one training step: forward multiply-adds x 2 (FLOP per MAC) x 3 (forward, dX, dW) x batch."""
    return 2 * 3 * model_forward_macs(model) * n
