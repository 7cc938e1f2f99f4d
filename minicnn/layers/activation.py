"""Element-wise activations: ReLU and leaky ReLU.

Both are not differentiable at 0; the subgradient used there is the slope of
the negative side (0 for ReLU, alpha for leaky ReLU), i.e. the derivative is
taken as 1 only where x > 0 strictly.
"""
from ..backend import is_host, xp_of
from ._check import require_shape
from ._parallel import map_blocks, result_array, rows_per_block


def relu_forward(x):
    """out = max(x, 0), any shape. Returns (out, cache); the cache is the mask [x > 0] (1 byte per value).

    Both are written block by block (``map_blocks``: each block of x is read
    from memory once, on every core for NumPy).
    """
    xp = xp_of(x)
    out, positive = xp.empty(x.shape, dtype=x.dtype), xp.empty(x.shape, dtype=bool)
    zero = _zero(xp, x)

    def kernel(x, out, positive):
        xp.maximum(x, zero(x.size), out=out)
        xp.greater(x, 0, out=positive)
    map_blocks(kernel, x, out, positive)
    return out, positive


def _zero(xp, x):
    """size -> what relu_forward takes the maximum with: on NumPy a zero array as long as a block of x
    (``map_blocks``: the maximum of two arrays ran twice as fast as that of an array and the scalar 0,
    measured), elsewhere the scalar 0."""
    if not is_host(xp):
        return lambda size: 0
    zeros = xp.zeros(min(x.size, rows_per_block(x.itemsize, xp)), dtype=x.dtype)
    return lambda size: zeros[:size]


def relu_backward(dout, cache, overwrite=False):
    """dx = dout * [x > 0] (subgradient 0 at x == 0). Returns dx, x's shape.

    ``overwrite=True`` (for a caller that no longer needs dout, as ``Model``
    does) writes dx into dout itself where dout is contiguous: no new array to
    allocate and fill.
    """
    positive = cache
    require_shape("relu_backward", "dout", dout, positive.shape, "the forward input")
    xp = xp_of(dout, positive)  # refuses NumPy and CuPy arrays mixed
    dx = result_array(dout, overwrite)
    map_blocks(lambda dout, positive, dx: xp.multiply(dout, positive, out=dx), dout, positive, dx)
    return dx


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
