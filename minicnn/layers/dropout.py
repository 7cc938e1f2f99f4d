"""Inverted dropout.

!!! drop_prob is the probability of ZEROING a unit (not of keeping it). !!!
A unit is kept with probability 1 - drop_prob and then scaled by
1 / (1 - drop_prob), so the expectation of the output equals the input and
evaluation needs no rescaling.
"""
import copy

import numpy as np

from ..backend import is_host, xp_of
from ..errors import ConfigError
from ._check import require_shape
from ._parallel import for_blocks, host_threads, map_blocks, result_array


def dropout_forward(x, drop_prob, train, rng=None, mask=None):
    """out = x * keep / (1 - drop_prob) in train mode, out = x otherwise.

    drop_prob: probability of ZEROING each unit, 0 <= drop_prob < 1.
    x: any shape. keep: a boolean mask of x's shape, True where the unit is
    kept; drawn as rng.random(x.shape) >= drop_prob with ``rng`` a generator
    from ``minicnn.backend.default_rng`` (NumPy or CuPy), or given as ``mask``
    (e.g. to check gradients with a fixed mask). Eval mode or drop_prob == 0:
    identity, rng not needed. Returns (out, cache); the cache is (keep, 1 / (1 - drop_prob)),
    the mask at one byte per unit. Masks are drawn and applied block by block,
    on every core for NumPy's PCG64 (``_Draws``): the same draws as one call
    for the whole shape, and rng left where that call would leave it.
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
        flat = [a.reshape(-1) for a in (x, out, keep)]
        draws = _Draws(rng, x.size, host_threads(xp) if is_host(xp) else 1, xp.float32)

        def kernel(lo, hi, slot):
            # The same numbers as one rng.random(x.shape) call, block by block.
            block = draws(lo, hi, slot)
            xp_of(x, block)  # refuses a host generator for device data and vice versa
            xp.greater_equal(block, drop_prob, out=flat[2][lo:hi])
            _scale_kept(xp, flat[0][lo:hi], flat[2][lo:hi], scale, flat[1][lo:hi])
        for_blocks(kernel, x.size, x.itemsize, xp, parallel=draws.parallel)
        draws.finish()
    else:
        require_shape("dropout_forward", "mask", mask, x.shape, "one keep flag per unit of x")
        keep = xp.ascontiguousarray(mask.astype(bool))
        map_blocks(lambda x, keep, out: _scale_kept(xp, x, keep, scale, out), x, keep, out)
    return out, (keep, scale)


class _Draws:
    """Blocks of the float32 draws of one ``rng.random(n, dtype=float32)`` call, taken in any order.

    A float32 draw takes half of one 64-bit output of the bit generator (the
    low half, then the held-back high half on the next draw). PCG64 can jump
    ahead by any number of outputs at a cost in log of the distance
    (``advance``), so each worker thread's copy of the generator is put where
    the one call would be at a block's first draw, and the blocks are drawn on
    every core; ``finish()`` then leaves ``rng`` where the one call would have.
    Other generators (MT19937, a CuPy one) are drawn from in order, on one thread.
    """

    def __init__(self, rng, n, workers, dtype):
        bit_generator = getattr(rng, "bit_generator", None)
        self.rng, self.n, self.dtype = rng, n, dtype
        self.parallel = isinstance(bit_generator, (np.random.PCG64, np.random.PCG64DXSM)) and workers > 1
        if self.parallel:
            self.start = bit_generator.state
            self.copies = [np.random.Generator(copy.deepcopy(bit_generator)) for _ in range(workers)]

    def __call__(self, lo, hi, slot):
        """Draws lo..hi - 1 of the one call, from worker ``slot``'s copy (or from rng, in order)."""
        if not self.parallel:
            return self.rng.random(hi - lo, dtype=self.dtype)
        generator = self.copies[slot]
        _move(generator, self.start, lo)
        return generator.random(hi - lo, dtype=np.float32)

    def finish(self):
        """Leave rng in the state the one call would (only needed where the blocks used copies)."""
        if self.parallel:
            _move(self.rng, self.start, self.n)


def _move(generator, start, p):
    """Put ``generator`` (PCG64) where a generator in state ``start`` is after p float32 draws: jump to the
    64-bit output that holds draw p, then, where draw p is its high half, draw the low one."""
    generator.bit_generator.state = start
    held = start["has_uint32"]                          # 1: draw 0 is a high half kept from before
    if p == 0:
        return
    fresh = p - held                                    # draws from outputs made after start
    generator.bit_generator.advance(fresh // 2)         # also drops the held-back half
    if fresh % 2:
        generator.random(dtype=np.float32)


def _scale_kept(xp, a, keep, scale, out):
    """out = a * keep / (1 - drop_prob), with scale = 1 / (1 - drop_prob): two passes over one block."""
    xp.multiply(a, scale, out=out)
    out *= keep


def dropout_backward(dout, cache, overwrite=False):
    """dx = dout * keep / (1 - drop_prob) (train) or dout (eval, drop_prob == 0). Returns dx.

    ``overwrite=True`` (for a caller that no longer needs dout, as ``Model``
    does) writes dx into dout itself where dout is contiguous.
    """
    if cache is None:
        return dout
    keep, scale = cache
    require_shape("dropout_backward", "dout", dout, keep.shape, "the forward input")
    xp = xp_of(dout, keep)
    dx = result_array(dout, overwrite)
    map_blocks(lambda dout, keep, dx: _scale_kept(xp, dout, keep, scale, dx), dout, keep, dx)
    return dx
