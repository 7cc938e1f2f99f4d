"""Inverted dropout.

!!! drop_prob is the probability of ZEROING a unit (not of keeping it). !!!
A unit is kept with probability 1 - drop_prob and then scaled by
1 / (1 - drop_prob), so the expectation of the output equals the input and
evaluation needs no rescaling.
"""
from ..backend import xp_of
from ..errors import ConfigError
from ._check import require_shape
from ._parallel import map_blocks


def dropout_forward(x, drop_prob, train, rng=None, mask=None):
    """out = x * keep / (1 - drop_prob) in train mode, out = x otherwise.

    drop_prob: probability of ZEROING each unit, 0 <= drop_prob < 1.
    x: any shape. keep: a boolean mask of x's shape, True where the unit is
    kept; drawn as rng.random(x.shape) >= drop_prob with ``rng`` a generator
    from ``minicnn.backend.default_rng`` (NumPy or CuPy), or given as ``mask``
    (e.g. to check gradients with a fixed mask). Eval mode or drop_prob == 0:
    identity, rng not needed. Returns (out, cache); the cache is (keep, 1 / (1 - drop_prob)),
    the mask at one byte per unit. Masks are drawn and applied block by block
    (``map_blocks``), the same draws as one call for the whole shape.
    """
    xp = xp_of(x, mask)
    if not 0 <= drop_prob < 1:
        raise ConfigError(f"dropout_forward: drop_prob={drop_prob!r} must be in [0, 1) "
                          "(it is the probability of zeroing a unit)")
    if not train or drop_prob == 0:
        return x, None
    scale = 1 / (1 - drop_prob)
    out = xp.empty(x.shape, dtype=x.dtype)
    if mask is None:
        if rng is None:
            raise ConfigError("dropout_forward: train mode needs rng (minicnn.backend.default_rng(seed)) "
                              "or a keep mask")
        keep = xp.empty(x.shape, dtype=bool)

        def kernel(x, out, keep):
            # Drawn block by block, in order: the same numbers as one rng.random(x.shape) call.
            draws = rng.random(x.shape, dtype=xp.float32)
            xp_of(x, draws)  # refuses a host generator for device data and vice versa
            xp.greater_equal(draws, drop_prob, out=keep)
            _scale_kept(xp, x, keep, scale, out)
        map_blocks(kernel, x, out, keep, parallel=False)
    else:
        require_shape("dropout_forward", "mask", mask, x.shape, "one keep flag per unit of x")
        keep = xp.ascontiguousarray(mask.astype(bool))
        map_blocks(lambda x, keep, out: _scale_kept(xp, x, keep, scale, out), x, keep, out)
    return out, (keep, scale)


def _scale_kept(xp, a, keep, scale, out):
    """out = a * keep / (1 - drop_prob), with scale = 1 / (1 - drop_prob): two passes over one block."""
    xp.multiply(a, scale, out=out)
    out *= keep


def dropout_backward(dout, cache):
    """dx = dout * keep / (1 - drop_prob) (train) or dout (eval, drop_prob == 0). Returns dx."""
    if cache is None:
        return dout
    keep, scale = cache
    require_shape("dropout_backward", "dout", dout, keep.shape, "the forward input")
    xp = xp_of(dout, keep)
    dx = xp.empty(dout.shape, dtype=dout.dtype)
    map_blocks(lambda dout, keep, dx: _scale_kept(xp, dout, keep, scale, dx), dout, keep, dx)
    return dx
