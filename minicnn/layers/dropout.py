"""Inverted dropout.

!!! drop_prob is the probability of ZEROING a unit (not of keeping it). !!!
A unit is kept with probability 1 - drop_prob and then scaled by
1 / (1 - drop_prob), so the expectation of the output equals the input and
evaluation needs no rescaling.
"""
from ..backend import xp_of
from ..errors import ConfigError
from ._check import require_shape


def dropout_forward(x, drop_prob, train, rng=None, mask=None):
    """out = x * keep / (1 - drop_prob) in train mode, out = x otherwise.

    drop_prob: probability of ZEROING each unit, 0 <= drop_prob < 1.
    x: any shape. keep: a boolean mask of x's shape, True where the unit is
    kept; drawn as rng.random(x.shape) >= drop_prob with ``rng`` a generator
    from ``minicnn.backend.default_rng`` (NumPy or CuPy), or given as ``mask``
    (e.g. to check gradients with a fixed mask). Eval mode or drop_prob == 0:
    identity, rng not needed. Returns (out, cache).
    """
    xp = xp_of(x, mask)
    if not 0 <= drop_prob < 1:
        raise ConfigError(f"dropout_forward: drop_prob={drop_prob!r} must be in [0, 1) "
                          "(it is the probability of zeroing a unit)")
    if not train or drop_prob == 0:
        return x, None
    if mask is None:
        if rng is None:
            raise ConfigError("dropout_forward: train mode needs rng (minicnn.backend.default_rng(seed)) "
                              "or a keep mask")
        keep = rng.random(x.shape, dtype=xp.float32) >= drop_prob
        xp_of(x, keep)  # refuses a host generator for device data and vice versa
    else:
        require_shape("dropout_forward", "mask", mask, x.shape, "one keep flag per unit of x")
        keep = mask.astype(bool)
    # keep / (1 - drop_prob) as one array in x's dtype: the cache, and one pass per direction.
    scaled_keep = xp.multiply(keep, 1 / (1 - drop_prob), dtype=x.dtype)
    return x * scaled_keep, scaled_keep


def dropout_backward(dout, cache):
    """dx = dout * keep / (1 - drop_prob) (train) or dout (eval, drop_prob == 0). Returns dx."""
    if cache is None:
        return dout
    scaled_keep = cache
    require_shape("dropout_backward", "dout", dout, scaled_keep.shape, "the forward input")
    return dout * scaled_keep
