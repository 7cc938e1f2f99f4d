"""Layer objects: thin stateful wrappers over the pure functions of ``minicnn.layers``.

A layer owns its parameters and remembers the cache of its last forward pass
until ``backward`` consumes it::

    layer.params      dict  local name -> array  (e.g. {"W": ..., "b": ...})
    layer.grads       dict  local name -> array  (filled by backward)
    layer.buffers     dict  local name -> array  (BN running statistics; not trained)
    layer.side_grads  dict  side-input name -> gradient (filled by backward; see Concat)
    out = layer.forward(x, train, keep_cache=False, side=None)
    dx  = layer.backward(dout)                   (frees the cache)
    dx  = layer.backward(dout, overwrite=True)   (dout is scratch: an element-wise layer may write dx into it)

``train`` selects the training or evaluation behaviour of batch normalization
and dropout; it is always passed explicitly, never read from a config. The
cache is kept only when ``keep_cache`` is true (the model asks for it when a
backward pass will follow), and ``backward`` drops it, so no activation stays
alive after a training step or an evaluation. ``side`` maps names to extra
inputs of the whole network (the hybrid models' "features"); a layer that uses
one reads it there, and leaves its gradient in ``side_grads``.

Everything else a model or a checkpoint needs from a layer goes through the
same interface, so neither ever asks which class a layer is:

    layer.state() / load_state(s)     JSON-able state beyond arrays (dropout's draw counter)
    layer.fix_random(shape, rng, xp, dtype) / release_random()
                                      freeze the randomness of a training pass (gradient checks)
    layer.start_calibration() / finish_calibration()
                                      re-estimate statistics from evaluation passes (batch norm)
    layer.stochastic, layer.calibrates  whether it draws random numbers in training / keeps statistics

Shapes exclude the batch dimension in ``output_shape(in_shape)``: a conv layer
maps (C, H, W) to (F, H', W'). Builders use it to validate a whole network
before allocating anything.
"""
import inspect

import numpy as np

from . import backend, layers as L
from .errors import MiniCNNError, ShapeError
from .layers._windows import output_size


def nbytes_of(obj, exclude=()):
    """Total bytes of every array found (recursively) in tuples, lists and dicts of ``obj``.

    Arrays whose ``id`` is in ``exclude`` (e.g. the layer's own parameters,
    which a cache references but does not own) are not counted.
    """
    if obj is None or id(obj) in exclude:
        return 0
    if hasattr(obj, "nbytes") and hasattr(obj, "shape"):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(nbytes_of(v, exclude) for v in obj.values())
    if isinstance(obj, (tuple, list)):
        return sum(nbytes_of(v, exclude) for v in obj)
    return 0


class Layer:
    """Base class. Subclasses set ``kind`` and implement ``_forward``/``_backward``."""

    kind = "layer"
    stochastic = False
    """True for layers that draw random numbers in training (their draws are part of ``state``)."""
    calibrates = False
    """True for layers whose evaluation uses statistics that ``start_calibration`` can re-estimate."""

    def __init__(self, name):
        self.name = name
        self.params = {}
        self.grads = {}
        self.buffers = {}
        self.side_grads = {}
        self._cache = None
        self.has_cache = False

    # -- shape bookkeeping ------------------------------------------------------
    def output_shape(self, in_shape):
        """Per-example output shape for per-example input shape ``in_shape`` (no batch dim)."""
        return tuple(in_shape)

    @property
    def n_params(self):
        return int(sum(int(np.prod(p.shape)) for p in self.params.values()))

    # -- passes -----------------------------------------------------------------
    def forward(self, x, train, keep_cache=False, side=None):
        """Output for input ``x`` (batch first); keep the cache only if ``keep_cache``."""
        out, cache = self._forward(x, bool(train), side or {})
        self._cache = cache if keep_cache else None
        self.has_cache = bool(keep_cache)
        return out

    def backward(self, dout, overwrite=False):
        """Gradient w.r.t. the input of the last kept forward; fills ``grads``; frees the cache.

        ``overwrite=True`` tells the layer that nothing else reads ``dout``:
        an element-wise layer (ReLU, dropout) then writes its result into
        dout instead of a new array (``_backward_overwriting``).
        """
        if not self.has_cache:
            raise MiniCNNError(f"layer {self.name}: backward called without a kept forward cache; "
                               "call forward(..., keep_cache=True) first")
        cache, self._cache, self.has_cache = self._cache, None, False
        return self._backward_overwriting(dout, cache) if overwrite else self._backward(dout, cache)

    def clear_cache(self):
        self._cache, self.has_cache = None, False

    @property
    def cache_nbytes(self):
        """Bytes held by the cache of the last kept forward (0 after backward), parameters excluded."""
        owned = {id(v) for v in (*self.params.values(), *self.buffers.values())}
        return nbytes_of(self._cache, owned)

    def _forward(self, x, train, side):
        raise NotImplementedError

    def _backward(self, dout, cache):
        raise NotImplementedError

    def _backward_overwriting(self, dout, cache):
        """``_backward`` for a caller that no longer needs dout; by default the same."""
        return self._backward(dout, cache)

    # -- state beyond arrays, randomness, calibration (no-ops unless a layer has them)
    def state(self):
        """JSON-able state that is not an array (stored in checkpoints); {} for most layers."""
        return {}

    def load_state(self, state):
        """Restore what ``state()`` returned."""

    def fix_random(self, shape, rng, xp, dtype):
        """Use one fixed draw for training passes on batches of ``shape`` (host ``rng``) until released."""

    def release_random(self):
        """Back to fresh random draws in every training pass."""

    def start_calibration(self):
        """Evaluation passes from now on re-estimate this layer's statistics (see ``finish_calibration``)."""

    def finish_calibration(self):
        """Adopt the statistics gathered since ``start_calibration``."""

    # -- devices ------------------------------------------------------------------
    def to(self, xp, dtype=None):
        """Move parameters and buffers to backend ``xp`` (and ``dtype``), in place on the layer."""
        for store in (self.params, self.buffers):
            for k, v in store.items():
                store[k] = backend.to_device(v, xp, dtype=dtype)
        self.grads = {}
        self.clear_cache()
        return self

    def describe(self):
        """Short text for summaries, e.g. '32 filters 3x3 pad 1'."""
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}{', ' + self.describe() if self.describe() else ''})"


class Function(Layer):
    """A layer without parameters made from a pure pair of ``minicnn.layers`` functions.

    ``out, cache = forward(x, **args)``; ``dx = backward(dout, cache)``, and
    where ``backward`` takes ``overwrite`` (ReLU's does), the layer passes
    ``overwrite=True`` when nothing else reads dout. ReLU,
    leaky ReLU, max and average pooling are such layers: the registry
    (``minicnn.registry``) builds them, so a new stateless layer needs no class
    of its own. The output shape is found by running ``forward`` once on a
    single zero example, so it is exactly what the function computes.
    """

    def __init__(self, name, kind, forward, backward, **args):
        super().__init__(name)
        self.kind, self._fwd, self._bwd, self.args = kind, forward, backward, dict(args)
        self._bwd_overwrites = "overwrite" in inspect.signature(backward).parameters

    def output_shape(self, in_shape):
        try:
            out, _ = self._fwd(np.zeros((1, *in_shape), dtype=backend.DEFAULT_DTYPE), **self.args)
        except ShapeError as exc:
            raise ShapeError(f"{self.name}: input {'x'.join(map(str, in_shape))}: {exc}") from None
        return tuple(out.shape[1:])

    def _forward(self, x, train, side):
        return self._fwd(x, **self.args)

    def _backward(self, dout, cache):
        return self._bwd(dout, cache)

    def _backward_overwriting(self, dout, cache):
        return self._bwd(dout, cache, overwrite=True) if self._bwd_overwrites else self._bwd(dout, cache)

    def describe(self):
        return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.args.items())


def _he_normal(rng, shape, fan_in, scale=1.0):
    """He (Kaiming) normal: N(0, 2/fan_in), the variance that keeps ReLU activations at unit scale."""
    return (rng.standard_normal(shape) * (scale * np.sqrt(2.0 / fan_in))).astype(backend.DEFAULT_DTYPE)


class Conv(Layer):
    """2-D convolution: (N, C, H, W) -> (N, F, H', W'), H' = (H + 2 pad - KH) // stride + 1."""

    kind = "conv"

    def __init__(self, name, in_channels, filters, kernel, stride=1, pad=0, rng=None, init_scale=1.0):
        super().__init__(name)
        self.in_channels, self.filters, self.kernel = int(in_channels), int(filters), int(kernel)
        self.stride, self.pad = int(stride), int(pad)
        rng = rng if rng is not None else np.random.default_rng(0)
        fan_in = self.in_channels * self.kernel * self.kernel
        self.params = {
            "W": _he_normal(rng, (self.filters, self.in_channels, self.kernel, self.kernel), fan_in, init_scale),
            "b": np.zeros(self.filters, dtype=backend.DEFAULT_DTYPE),
        }

    def output_shape(self, in_shape):
        c, h, w = in_shape
        return (self.filters, output_size(h, self.kernel, self.stride, self.pad),
                output_size(w, self.kernel, self.stride, self.pad))

    def _forward(self, x, train, side):
        return L.conv_forward(x, self.params["W"], self.params["b"], stride=self.stride, pad=self.pad)

    def _backward(self, dout, cache):
        dx, self.grads["W"], self.grads["b"] = L.conv_backward(dout, cache)
        return dx

    def describe(self):
        return f"{self.filters} filters {self.kernel}x{self.kernel}, stride {self.stride}, pad {self.pad}"


class Affine(Layer):
    """Fully connected: (N, D) -> (N, M), out = x W + b."""

    kind = "affine"

    def __init__(self, name, in_dim, units, rng=None, init_scale=1.0):
        super().__init__(name)
        self.in_dim, self.units = int(in_dim), int(units)
        rng = rng if rng is not None else np.random.default_rng(0)
        self.params = {"W": _he_normal(rng, (self.in_dim, self.units), self.in_dim, init_scale),
                       "b": np.zeros(self.units, dtype=backend.DEFAULT_DTYPE)}

    def output_shape(self, in_shape):
        return (self.units,)

    def _forward(self, x, train, side):
        return L.affine_forward(x, self.params["W"], self.params["b"])

    def _backward(self, dout, cache):
        dx, self.grads["W"], self.grads["b"] = L.affine_backward(dout, cache)
        return dx

    def describe(self):
        return f"{self.in_dim} -> {self.units}"


class BatchNorm(Layer):
    """Batch normalization per feature: (N, D) -> (N, D), one gamma/beta per feature.

    ``SpatialBatchNorm`` is the same layer over the channels of (N, C, H, W)
    inputs; the two differ only in the pure function pair they call.

    Calibration: between ``start_calibration()`` and ``finish_calibration()``,
    evaluation passes normalize with the batch's own statistics (as in
    training) and accumulate them; finishing replaces the running statistics
    by their plain average over those batches. Re-estimating them this way
    with dropout off removes the variance shift that dropout before a batch
    norm causes between training and evaluation.
    """

    kind = "batchnorm"
    calibrates = True
    _fwd = staticmethod(L.batchnorm_forward)
    _bwd = staticmethod(L.batchnorm_backward)

    def __init__(self, name, n_features, momentum=0.9, eps=1e-5):
        super().__init__(name)
        self.momentum, self.eps = float(momentum), float(eps)
        d = int(n_features)
        self.params = {"gamma": np.ones(d, dtype=backend.DEFAULT_DTYPE),
                       "beta": np.zeros(d, dtype=backend.DEFAULT_DTYPE)}
        self.buffers = {"running_mean": np.zeros(d, dtype=backend.DEFAULT_DTYPE),
                        "running_var": np.ones(d, dtype=backend.DEFAULT_DTYPE)}
        self._calibration = None

    def _forward(self, x, train, side):
        rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
        if self._calibration is not None and not train:
            out, cache, (mu, var) = self._fwd(x, self.params["gamma"], self.params["beta"], rm, rv, True,
                                              momentum=0.0, eps=self.eps)
            sums = self._calibration
            sums[0], sums[1], sums[2] = sums[0] + mu, sums[1] + var, sums[2] + 1
            return out, cache
        out, cache, (rm, rv) = self._fwd(x, self.params["gamma"], self.params["beta"], rm, rv, train,
                                         momentum=self.momentum, eps=self.eps)
        if train:
            self.buffers["running_mean"], self.buffers["running_var"] = rm, rv
        return out, cache

    def _backward(self, dout, cache):
        dx, self.grads["gamma"], self.grads["beta"] = self._bwd(dout, cache)
        return dx

    def start_calibration(self):
        xp = backend.xp_of(self.buffers["running_mean"])
        zeros = xp.zeros_like(self.buffers["running_mean"])
        self._calibration = [zeros, zeros.copy(), 0]

    def finish_calibration(self):
        mean_sum, var_sum, batches = self._calibration
        self._calibration = None
        if batches:
            self.buffers["running_mean"] = mean_sum / batches
            self.buffers["running_var"] = var_sum / batches

    def describe(self):
        return f"momentum {self.momentum}"


class SpatialBatchNorm(BatchNorm):
    """Spatial batch normalization, per channel over (N, H, W): (N, C, H, W) -> same."""

    kind = "spatial_batchnorm"
    _fwd = staticmethod(L.spatial_batchnorm_forward)
    _bwd = staticmethod(L.spatial_batchnorm_backward)


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``p`` in training; identity in evaluation.

    Masks come from a counter-based generator (Philox, ``backend.counter_rng``)
    keyed by ``seed`` (an int or a tuple of ints) and positioned by the number
    of training forwards so far, ``calls``: the masks are reproducible from
    two integers, and ``state()`` = ``{"calls": n}`` is all a checkpoint needs
    to continue with the same masks after a resume. ``fix_random`` fixes one
    mask (gradient checks need that).
    """

    kind = "dropout"
    stochastic = True

    def __init__(self, name, p, seed=0):
        super().__init__(name)
        self.p = float(p)
        self.seed = tuple(int(s) for s in np.atleast_1d(seed))
        self.calls = 0
        self.mask = None

    def _forward(self, x, train, side):
        if not train or self.p == 0.0:
            return L.dropout_forward(x, self.p, False)
        if self.mask is not None:
            return L.dropout_forward(x, self.p, True, mask=self.mask)
        rng = backend.counter_rng(self.seed, self.calls, backend.xp_of(x))
        self.calls += 1
        return L.dropout_forward(x, self.p, True, rng=rng)

    def _backward(self, dout, cache):
        return L.dropout_backward(dout, cache)

    def _backward_overwriting(self, dout, cache):
        return L.dropout_backward(dout, cache, overwrite=True)

    def state(self):
        return {"calls": self.calls}

    def load_state(self, state):
        self.calls = int(state["calls"])

    def fix_random(self, shape, rng, xp, dtype):
        self.mask = backend.to_device((rng.random(shape) >= self.p).astype(dtype), xp)

    def release_random(self):
        self.mask = None

    def describe(self):
        return f"p={self.p:g}"


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), a reshape (view) with no parameters."""

    kind = "flatten"

    def output_shape(self, in_shape):
        return (int(np.prod(in_shape)),)

    def _forward(self, x, train, side):
        return x.reshape(x.shape[0], -1), x.shape

    def _backward(self, dout, cache):
        return dout.reshape(cache)


class Concat(Layer):
    """Joins a side input of the network to the activations: (N, Da) and (N, Db) -> (N, Da + Db).

    The side input ``side[source]`` (for the hybrid models, the HOG
    "features") comes with every forward pass; ``backward`` splits the
    gradient, returns the part for the main path and leaves the part for the
    side input in ``side_grads[source]``.
    """

    kind = "concat"

    def __init__(self, name, side_dim, source="features"):
        super().__init__(name)
        self.side_dim, self.source = int(side_dim), source

    def output_shape(self, in_shape):
        return (int(in_shape[0]) + self.side_dim,)

    def _forward(self, x, train, side):
        if self.source not in side:
            raise ShapeError(f"layer {self.name} joins the side input {self.source!r}, which this pass lacks")
        return L.concat_forward(x, side[self.source])

    def _backward(self, dout, cache):
        dx, self.side_grads[self.source] = L.concat_backward(dout, cache)
        return dx

    def describe(self):
        return f"+ {self.side_dim} side features"
