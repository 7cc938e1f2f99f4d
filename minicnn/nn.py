"""Layer objects: thin stateful wrappers over the pure functions of ``minicnn.layers``.

A layer owns its parameters and remembers the cache of its last forward pass
until ``backward`` consumes it::

    layer.params   dict  local name -> array  (e.g. {"W": ..., "b": ...})
    layer.grads    dict  local name -> array  (filled by backward)
    layer.buffers  dict  local name -> array  (BN running statistics; not trained)
    out = layer.forward(x, train, keep_cache)
    dx  = layer.backward(dout)                (frees the cache)

``train`` selects the training or evaluation behaviour of batch normalization
and dropout; it is always passed explicitly, never read from a config. The
cache is kept only when ``keep_cache`` is true (the model asks for it when a
backward pass will follow), and ``backward`` drops it, so no activation stays
alive after a training step or an evaluation.

Shapes exclude the batch dimension in ``output_shape(in_shape)``: a conv layer
maps (C, H, W) to (F, H', W'). Builders use it to validate a whole network
before allocating anything.
"""
import numpy as np

from . import backend, layers as L
from .errors import MiniCNNError
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

    def __init__(self, name):
        self.name = name
        self.params = {}
        self.grads = {}
        self.buffers = {}
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
    def forward(self, x, train, keep_cache=False):
        """Output for input ``x`` (batch first); keep the cache only if ``keep_cache``."""
        out, cache = self._forward(x, bool(train))
        self._cache = cache if keep_cache else None
        self.has_cache = bool(keep_cache)
        return out

    def backward(self, dout):
        """Gradient w.r.t. the input of the last kept forward; fills ``grads``; frees the cache."""
        if not self.has_cache:
            raise MiniCNNError(f"layer {self.name}: backward called without a kept forward cache; "
                               "call forward(..., keep_cache=True) first")
        cache, self._cache, self.has_cache = self._cache, None, False
        return self._backward(dout, cache)

    def clear_cache(self):
        self._cache, self.has_cache = None, False

    @property
    def cache_nbytes(self):
        """Bytes held by the cache of the last kept forward (0 after backward), parameters excluded."""
        owned = {id(v) for v in (*self.params.values(), *self.buffers.values())}
        return nbytes_of(self._cache, owned)

    def _forward(self, x, train):
        raise NotImplementedError

    def _backward(self, dout, cache):
        raise NotImplementedError

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


def _he_normal(rng, shape, fan_in, scale=1.0):
    """He (Kaiming) normal: N(0, 2/fan_in), the variance that keeps ReLU activations at unit scale."""
    return (rng.standard_normal(shape) * (scale * np.sqrt(2.0 / fan_in))).astype(backend.DEFAULT_DTYPE)


class Conv(Layer):
    """2-D convolution: (N, C, H, W) -> (N, F, H', W'), H' = (H + 2 pad - KH) / stride + 1."""

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

    def _forward(self, x, train):
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

    def _forward(self, x, train):
        return L.affine_forward(x, self.params["W"], self.params["b"])

    def _backward(self, dout, cache):
        dx, self.grads["W"], self.grads["b"] = L.affine_backward(dout, cache)
        return dx

    def describe(self):
        return f"{self.in_dim} -> {self.units}"


class _Norm(Layer):
    """Shared by BatchNorm (N, D) and SpatialBatchNorm (N, C, H, W): one gamma/beta per feature."""

    def __init__(self, name, n_features, momentum=0.9, eps=1e-5):
        super().__init__(name)
        self.momentum, self.eps = float(momentum), float(eps)
        d = int(n_features)
        self.params = {"gamma": np.ones(d, dtype=backend.DEFAULT_DTYPE),
                       "beta": np.zeros(d, dtype=backend.DEFAULT_DTYPE)}
        self.buffers = {"running_mean": np.zeros(d, dtype=backend.DEFAULT_DTYPE),
                        "running_var": np.ones(d, dtype=backend.DEFAULT_DTYPE)}

    def _forward(self, x, train):
        out, cache, (rm, rv) = self._fwd(x, self.params["gamma"], self.params["beta"],
                                         self.buffers["running_mean"], self.buffers["running_var"],
                                         train, momentum=self.momentum, eps=self.eps)
        if train:
            self.buffers["running_mean"], self.buffers["running_var"] = rm, rv
        return out, cache

    def _backward(self, dout, cache):
        dx, self.grads["gamma"], self.grads["beta"] = self._bwd(dout, cache)
        return dx

    def describe(self):
        return f"momentum {self.momentum}"


class BatchNorm(_Norm):
    """Batch normalization over the batch, per feature: (N, D) -> (N, D)."""

    kind = "batchnorm"
    _fwd = staticmethod(lambda *a, **k: L.batchnorm_forward(*a, **k))
    _bwd = staticmethod(lambda *a: L.batchnorm_backward(*a))


class SpatialBatchNorm(_Norm):
    """Spatial batch normalization, per channel over (N, H, W): (N, C, H, W) -> same."""

    kind = "spatial_batchnorm"
    _fwd = staticmethod(lambda *a, **k: L.spatial_batchnorm_forward(*a, **k))
    _bwd = staticmethod(lambda *a: L.spatial_batchnorm_backward(*a))


class ReLU(Layer):
    """max(0, x), elementwise."""

    kind = "relu"

    def _forward(self, x, train):
        return L.relu_forward(x)

    def _backward(self, dout, cache):
        return L.relu_backward(dout, cache)


class LeakyReLU(Layer):
    """max(alpha x, x), elementwise."""

    kind = "leaky_relu"

    def __init__(self, name, alpha=0.01):
        super().__init__(name)
        self.alpha = float(alpha)

    def _forward(self, x, train):
        return L.leaky_relu_forward(x, self.alpha)

    def _backward(self, dout, cache):
        return L.leaky_relu_backward(dout, cache)


class MaxPool(Layer):
    """Max pooling over size x size windows with stride = size: (N, C, H, W) -> (N, C, H/size, W/size)."""

    kind = "maxpool"

    def __init__(self, name, size=2):
        super().__init__(name)
        self.size = int(size)

    def output_shape(self, in_shape):
        c, h, w = in_shape
        return (c, h // self.size, w // self.size)

    def _forward(self, x, train):
        return L.maxpool_forward(x, size=self.size, stride=self.size)

    def _backward(self, dout, cache):
        return L.maxpool_backward(dout, cache)

    def describe(self):
        return f"{self.size}x{self.size}"


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``p`` in training; identity in evaluation.

    Masks come from a generator derived from ``(*seed, number of training
    forwards so far)`` (``seed`` an int or a tuple of ints), so the randomness is reproducible from two integers on
    NumPy and CuPy alike and is checkpointed as the counter ``calls``. Setting
    ``mask`` (a 0/1 keep mask shaped like the input) fixes the mask, as
    gradient checks need.
    """

    kind = "dropout"

    def __init__(self, name, p, seed=0):
        super().__init__(name)
        self.p = float(p)
        self.seed = tuple(int(s) for s in np.atleast_1d(seed))
        self.calls = 0
        self.mask = None

    def _rng(self, xp):
        words = np.random.SeedSequence([*self.seed, self.calls]).generate_state(2, np.uint32)
        return backend.default_rng(int(words[0]) << 31 | int(words[1]) >> 1, xp)

    def _forward(self, x, train):
        if not train or self.p == 0.0:
            return L.dropout_forward(x, self.p, False)
        if self.mask is not None:
            return L.dropout_forward(x, self.p, True, mask=self.mask)
        rng = self._rng(backend.xp_of(x))
        self.calls += 1
        return L.dropout_forward(x, self.p, True, rng=rng)

    def _backward(self, dout, cache):
        return L.dropout_backward(dout, cache)

    def describe(self):
        return f"p={self.p:g}"


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), a reshape (view) with no parameters."""

    kind = "flatten"

    def output_shape(self, in_shape):
        return (int(np.prod(in_shape)),)

    def _forward(self, x, train):
        return x.reshape(x.shape[0], -1), x.shape

    def _backward(self, dout, cache):
        return dout.reshape(cache)


class Concat(Layer):
    """Joins a second input vector to the activations: (N, Da) and (N, Db) -> (N, Da + Db).

    The second input (for the hybrid models, HOG features) is handed over in
    ``side`` just before ``forward``; ``backward`` splits the gradient, returns
    the part for the main path and leaves the part for the side input in
    ``side_grad``.
    """

    kind = "concat"

    def __init__(self, name, side_dim):
        super().__init__(name)
        self.side_dim = int(side_dim)
        self.side = None
        self.side_grad = None

    def output_shape(self, in_shape):
        return (int(in_shape[0]) + self.side_dim,)

    def _forward(self, x, train):
        side, self.side = self.side, None
        return L.concat_forward(x, side)

    def _backward(self, dout, cache):
        dx, self.side_grad = L.concat_backward(dout, cache)
        return dx

    def describe(self):
        return f"+ {self.side_dim} side features"
