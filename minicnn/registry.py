"""The layer registry: one entry per layer kind, naming everything the rest of minicnn needs to know.

An entry (``LayerKind``) says, for one kind of layer:

- ``forward`` / ``backward``: its pure function pair in ``minicnn.layers``;
- ``make``: how the model builder creates its layer object (``minicnn.nn``),
  ``make(name, value, in_shape, ctx) -> Layer``, for kinds the grammar places
  inside a block through an ``Option``;
- ``options``: where it may appear in the model grammar: the block ("conv"
  or "fc"), its key in a JSON block config, its spec-string token, the kind
  of value it takes, its place in the block and its layer name;
- ``cases``: its gradient-check cases (what ``minicnn gradcheck`` runs);
- ``torch``: the dotted name of its PyTorch counterpart, which tests and
  benchmarks resolve where PyTorch is installed (``minicnn`` never imports it);
- ``reference`` (optional): a slower, readable (forward, backward) pair that
  computes the same thing as the fast pair, e.g. convolution's loops;
  ``minicnn check-backends`` compares the two.

Adding a layer kind is one file of functions in ``minicnn/layers/`` plus one
``register(...)`` call here: the grammar, the JSON configs, gradient checks,
the trace and backend tables and the benchmarks all read this registry. See
docs/add-a-layer.md for the walk-through (average pooling).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import layers as L, nn
from .layers.pool import _maxpool_forward_general
from .errors import ConfigError
from .gradcheck import GradcheckCase

# Places inside a block, in the grammar's order: Conv-(SBN)-ReLU-(Dropout)-(MaxPool).
NORM, ACTIVATION, DROPOUT, POOL = 1, 2, 3, 4
VALUE_KINDS = ("flag", "int", "prob", "float")


@dataclass(frozen=True)
class Option:
    """How a layer kind appears in one kind of block of the model grammar.

    block   "conv" or "fc"
    key     its key in a JSON block, e.g. "pool": 2
    token   its spec-string token before the value, e.g. "p" in "c64k3-bn-p2"
    value   "flag" (true/false, token alone), "int" (>= 1), "prob" ([0, 1); 0 = absent) or "float" (> 0)
    stage   its place in the block: NORM, ACTIVATION, DROPOUT or POOL (an ACTIVATION option
            replaces the block's default ReLU)
    name    the layer's name, formatted with the block number i: "pool{i}", "drop_fc{i}"
    """

    block: str
    key: str
    token: str
    value: str
    stage: int
    name: str


@dataclass(frozen=True)
class LayerKind:
    """Everything minicnn knows about one kind of layer (see the module docstring)."""

    name: str
    summary: str
    forward: Callable
    backward: Callable | None
    torch: str
    cases: Callable
    make: Callable | None = None
    options: tuple = field(default=())
    reference: tuple | None = None


KINDS = {}
"""name -> LayerKind, in registration order."""


def register(kind):
    """Add ``kind`` to the registry (its name and its option keys and tokens must be new); return it."""
    if kind.name in KINDS:
        raise ConfigError(f"layer kind {kind.name!r} is registered twice")
    for opt in kind.options:
        if opt.value not in VALUE_KINDS:
            raise ConfigError(f"layer kind {kind.name!r}: option value must be one of {VALUE_KINDS}")
        for other in options(opt.block):
            if other.key == opt.key or other.token == opt.token:
                raise ConfigError(f"layer kind {kind.name!r}: {opt.block}-block option key {opt.key!r} or "
                                  f"token {opt.token!r} is already taken")
    KINDS[kind.name] = kind
    return kind


def get(name):
    """The LayerKind called ``name``; ConfigError listing the known kinds otherwise."""
    if name not in KINDS:
        raise ConfigError(f"unknown layer kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def options(block):
    """The Options of every kind for ``block`` ("conv" or "fc"), in registration order."""
    return [opt for kind in KINDS.values() for opt in kind.options if opt.block == block]


def option_kind(option):
    """The LayerKind that registered ``option``."""
    return next(kind for kind in KINDS.values() if option in kind.options)


def builtin_cases(seed=0):
    """Every registered kind's gradient-check cases, seeded."""
    rng = np.random.default_rng(seed)
    return [case for kind in KINDS.values() for case in kind.cases(rng)]


def stateless(kind, forward, backward, **args_of_value):
    """A ``make`` for a parameter-free layer: ``nn.Function`` over the pair, arguments from the option value.

    ``args_of_value`` maps each argument name of ``forward`` to a function of
    the option's value, e.g. ``size=int, stride=int`` for pooling.
    """
    def make(name, value, in_shape, ctx):
        return nn.Function(name, kind, forward, backward, **{k: f(value) for k, f in args_of_value.items()})
    return make


def _same(value):
    return value


def tiling_pool(kind, forward, backward):
    """A ``make`` for a pooling option of the grammar: windows of ``value`` x ``value`` that tile the input.

    The grammar's pools divide the feature map exactly (stride = size); a size
    that leaves a remainder is refused at build time, naming the layer.
    """
    inner = stateless(kind, forward, backward, size=_same, stride=_same)

    def make(name, size, in_shape, ctx):
        c, h, w = in_shape
        if h % size or w % size:
            raise ConfigError(f"{name}: {size}x{size} {kind} cannot divide its {c}x{h}x{w} input; use an "
                              f"input size divisible by {size} or remove the pool")
        return inner(name, size, in_shape, ctx)
    return make


# ----------------------------------------------------------------------------- the built-in kinds

def _affine_cases(rng):
    normal = rng.standard_normal
    return [GradcheckCase("affine 4-D input", dict(x=normal((3, 2, 3, 2)), w=normal((12, 5)), b=normal(5)),
                          L.affine_forward, L.affine_backward)]


register(LayerKind(
    "affine", "fully connected: out = x W + b", L.affine_forward, L.affine_backward, "torch.nn.Linear",
    _affine_cases))


def _conv_cases(rng):
    normal, cases = rng.standard_normal, []
    for (n, c, h, w), (f, k), stride, pad in [((2, 3, 7, 7), (4, 3), 1, 1), ((2, 2, 9, 8), (3, 5), 2, 2),
                                              ((1, 2, 8, 7), (2, 3), 3, 0)]:
        inputs = dict(x=normal((n, c, h, w)), w=normal((f, c, k, k)), b=normal(f))
        cases.append(GradcheckCase(f"conv {k}x{k} stride {stride} pad {pad} on {h}x{w}", inputs,
                                   L.conv_forward, L.conv_backward, config=dict(stride=stride, pad=pad)))
    cases.append(GradcheckCase("conv_naive 3x3 stride 2 pad 1",
                               dict(x=normal((2, 2, 5, 6)), w=normal((3, 2, 3, 3)), b=normal(3)),
                               L.conv_forward_naive, L.conv_backward_naive, config=dict(stride=2, pad=1)))
    return cases


register(LayerKind(
    "conv", "2-D convolution by im2col or Winograd (a naive loop reference beside it)", L.conv_forward, L.conv_backward,
    "torch.nn.Conv2d", _conv_cases, reference=(L.conv_forward_naive, L.conv_backward_naive)))


def _norm_cases(name, forward, backward, x_shape):
    def cases(rng):
        normal, d, out = rng.standard_normal, x_shape[1], []
        for train in (True, False):
            stats = dict(running_mean=normal(d) * 0.1, running_var=rng.random(d) + 0.5, train=train)
            out.append(GradcheckCase(f"{name} {'train' if train else 'eval'}",
                                     dict(x=normal(x_shape) * 2 + 1, gamma=normal(d), beta=normal(d)),
                                     forward, backward, config=stats))
        return out
    return cases


register(LayerKind(
    "spatial_batchnorm", "batch normalization per channel over (N, H, W)", L.spatial_batchnorm_forward,
    L.spatial_batchnorm_backward, "torch.nn.BatchNorm2d",
    _norm_cases("spatial_batchnorm", L.spatial_batchnorm_forward, L.spatial_batchnorm_backward, (3, 3, 4, 5)),
    make=lambda name, on, in_shape, ctx: nn.SpatialBatchNorm(name, in_shape[0]),
    options=(Option("conv", "bn", "bn", "flag", NORM, "sbn{i}"),)))

register(LayerKind(
    "batchnorm", "batch normalization per feature over the batch", L.batchnorm_forward, L.batchnorm_backward,
    "torch.nn.BatchNorm1d", _norm_cases("batchnorm", L.batchnorm_forward, L.batchnorm_backward, (8, 5)),
    make=lambda name, on, in_shape, ctx: nn.BatchNorm(name, in_shape[0]),
    options=(Option("fc", "bn", "bn", "flag", NORM, "bn{i}"),)))

register(LayerKind(
    "relu", "max(x, 0), the grammar's default activation", L.relu_forward, L.relu_backward, "torch.nn.ReLU",
    lambda rng: [GradcheckCase("relu", dict(x=rng.standard_normal((2, 3, 4, 5))), L.relu_forward,
                               L.relu_backward)],
    make=stateless("relu", L.relu_forward, L.relu_backward)))

register(LayerKind(
    "leaky_relu", "x where x > 0, alpha x elsewhere", L.leaky_relu_forward, L.leaky_relu_backward,
    "torch.nn.LeakyReLU",
    lambda rng: [GradcheckCase(f"leaky_relu alpha={a}", dict(x=rng.standard_normal((4, 7))), L.leaky_relu_forward,
                               L.leaky_relu_backward, config=dict(alpha=a)) for a in (0.1, 0.01)],
    make=stateless("leaky_relu", L.leaky_relu_forward, L.leaky_relu_backward, alpha=_same),
    options=(Option("conv", "leaky_relu", "lrelu", "float", ACTIVATION, "lrelu{i}"),
             Option("fc", "leaky_relu", "lrelu", "float", ACTIVATION, "lrelu_fc{i}"))))


def _dropout_cases(rng):
    normal = rng.standard_normal
    return [GradcheckCase("dropout train p=0.3 (fixed mask)", dict(x=normal((4, 3, 5))),
                          L.dropout_forward, L.dropout_backward,
                          config=dict(drop_prob=0.3, train=True, mask=rng.random((4, 3, 5)) >= 0.3)),
            GradcheckCase("dropout eval", dict(x=normal((4, 6))), L.dropout_forward, L.dropout_backward,
                          config=dict(drop_prob=0.5, train=False))]


def _make_dropout(name, p, in_shape, ctx):
    return nn.Dropout(name, p, seed=(ctx.seed, ctx.count("dropout")))


register(LayerKind(
    "dropout", "inverted dropout; the value is the probability of ZEROING a unit", L.dropout_forward,
    L.dropout_backward, "torch.nn.Dropout", _dropout_cases, make=_make_dropout,
    options=(Option("conv", "dropout", "d", "prob", DROPOUT, "drop{i}"),
             Option("fc", "dropout", "d", "prob", DROPOUT, "drop_fc{i}"))))


def _pool_cases(name, forward, backward):
    def cases(rng):
        return [GradcheckCase(f"{name} {size}x{size} stride {stride} on {shape[2]}x{shape[3]}",
                              dict(x=rng.standard_normal(shape)), forward, backward,
                              config=dict(size=size, stride=stride))
                for shape, size, stride in [((2, 3, 6, 8), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 2, 1)]]
    return cases


register(LayerKind(
    "maxpool", "max over size x size windows (stride = size in the grammar)", L.maxpool_forward,
    L.maxpool_backward, "torch.nn.MaxPool2d", _pool_cases("maxpool", L.maxpool_forward, L.maxpool_backward),
    make=tiling_pool("maxpool", L.maxpool_forward, L.maxpool_backward),
    options=(Option("conv", "pool", "p", "int", POOL, "pool{i}"),),
    reference=(_maxpool_forward_general, L.maxpool_backward)))

register(LayerKind(
    "avgpool", "mean over size x size windows (stride = size in the grammar)", L.avgpool_forward,
    L.avgpool_backward, "torch.nn.AvgPool2d", _pool_cases("avgpool", L.avgpool_forward, L.avgpool_backward),
    make=tiling_pool("avgpool", L.avgpool_forward, L.avgpool_backward),
    options=(Option("conv", "avgpool", "ap", "int", POOL, "avgpool{i}"),)))

register(LayerKind(
    "concat", "joins a side input (HOG features) to the flattened conv output", L.concat_forward,
    L.concat_backward, "torch.cat",
    lambda rng: [GradcheckCase("concat", dict(a=rng.standard_normal((3, 2, 2, 2)), b=rng.standard_normal((3, 4))),
                               L.concat_forward, L.concat_backward)]))


def _loss_cases(rng):
    normal = rng.standard_normal
    return [GradcheckCase("softmax_cross_entropy", dict(scores=normal((6, 7))), loss=L.softmax_cross_entropy,
                          config=dict(y=rng.integers(0, 7, 6))),
            GradcheckCase("softmax_cross_entropy weighted", dict(scores=normal((6, 7))),
                          loss=L.softmax_cross_entropy,
                          config=dict(y=rng.integers(0, 7, 6), class_weights=rng.random(7) + 0.5))]


register(LayerKind(
    "softmax_cross_entropy", "mean -log softmax(scores)[y], optionally class-weighted", L.softmax_cross_entropy,
    None, "torch.nn.CrossEntropyLoss", _loss_cases))

register(LayerKind(
    "svm_loss", "multiclass hinge loss, margin 1", L.svm_loss, None, "torch.nn.MultiMarginLoss",
    lambda rng: [GradcheckCase("svm_loss", dict(scores=rng.standard_normal((6, 7))), loss=L.svm_loss,
                               config=dict(y=rng.integers(0, 7, 6)))]))


def _l2_loss(w, v, reg):
    """0.5 * reg * (||w||^2 + ||v||^2) and its gradients, through ``l2_penalty`` (a loss of two inputs)."""
    loss, grads = L.l2_penalty({"w": w, "v": v}, reg)
    return loss, (grads["w"], grads["v"])


register(LayerKind(
    "l2_penalty", "0.5 * reg * sum of squared weights", L.l2_penalty, None, "torch.linalg.vector_norm",
    lambda rng: [GradcheckCase("l2_penalty", dict(w=rng.standard_normal((4, 3)), v=rng.standard_normal(5)),
                               loss=_l2_loss, config=dict(reg=0.3))]))
