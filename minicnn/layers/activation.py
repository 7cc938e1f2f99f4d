"""Element-wise activations: ReLU and leaky ReLU.

Both are not differentiable at 0; the subgradient used there is the slope of
the negative side (0 for ReLU, alpha for leaky ReLU), i.e. the derivative is
taken as 1 only where x > 0 strictly.
"""
from ..backend import xp_of
from ._check import require_shape


def relu_forward(x):
    """out = max(x, 0), any shape. Returns (out, cache)."""
    xp = xp_of(x)
    return xp.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout * [x > 0] (subgradient 0 at x == 0). Returns dx, x's shape."""
    x = cache
    require_shape("relu_backward", "dout", dout, x.shape, "the forward input")
    xp_of(dout, x)  # refuses NumPy and CuPy arrays mixed
    return dout * (x > 0)


def leaky_relu_forward(x, alpha=0.01):
    """out = x where x > 0, alpha * x elsewhere; any shape. Returns (out, cache)."""
    xp = xp_of(x)
    return xp.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout, cache):
    """dx = dout where x > 0, alpha * dout elsewhere (subgradient alpha at 0). Returns dx."""
    x, alpha = cache
    require_shape("leaky_relu_backward", "dout", dout, x.shape, "the forward input")
    xp = xp_of(dout, x)
    return xp.where(x > 0, dout, alpha * dout)
