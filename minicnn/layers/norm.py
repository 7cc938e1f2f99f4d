"""Batch normalization (per feature) and spatial batch normalization (per channel).

Pure functions: the running statistics come in as arguments and the updated
ones go out as a third return value; no input array is ever modified.
Both share one implementation that reduces over every axis except axis 1
(the feature or channel axis): (N, D) over N, (N, C, H, W) over N, H and W,
so a spatial input is normalized in place in its NCHW layout, never transposed.
"""
from ..backend import is_host, xp_of
from ._check import require_ndim, require_shape
from . import _parallel


def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.9, eps=1e-5):
    """out = gamma * x_hat + beta with x_hat = (x - mu) / sqrt(var + eps).

    Shapes: x (N, D); gamma, beta, running_mean, running_var (D,); out (N, D).
    train=True: mu, var are the batch mean and biased batch variance (over N),
    and the returned running statistics are momentum * running + (1 - momentum) * batch.
    train=False: mu, var are running_mean, running_var, returned unchanged.
    Returns (out, cache, (new_running_mean, new_running_var)).
    """
    require_ndim("batchnorm_forward", "x", x, 2, "(N, D)")
    _check_params("batchnorm_forward", "feature", x, gamma, beta, running_mean, running_var)
    return _normalize(x, gamma, beta, running_mean, running_var, train, momentum, eps)


def _check_params(layer, unit, x, *params):
    """Each of gamma, beta, running_mean, running_var must hold one value per x.shape[1]."""
    names = ("gamma", "beta", "running_mean", "running_var")
    for name, a in zip(names, params):
        require_shape(layer, name, a, (x.shape[1],), f"one per {unit} of x {tuple(x.shape)}")


def _stat_axes(x):
    """The axes statistics run over (all but axis 1) and a reshape that broadcasts (D,) along axis 1."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes, lambda a: a.reshape(shape)


def _sum_of_squares(xp, a, axes):
    """Per-feature sum of a**2 over ``axes`` (every axis but 1).

    On NumPy an einsum reads ``a`` once without a squared temporary. CuPy's
    einsum would copy both operands transposed and run a degenerate batched
    matrix product, so on a device the square is summed by a reduction kernel.
    """
    if is_host(xp):
        letters = "abcdefgh"[:a.ndim]
        return xp.einsum(f"{letters},{letters}->b", a, a)
    return xp.square(a).sum(axis=axes)


def _normalize(x, gamma, beta, running_mean, running_var, train, momentum, eps):
    """The batchnorm math on validated x (N, D) or (N, C, H, W); see ``batchnorm_forward``.

    Fast path: the cache keeps xc = x - mu (x_hat = xc * inv_std is never
    stored); the variance is the per-feature sum of xc**2 (``_sum_of_squares``).
    """
    xp = xp_of(x, gamma, beta, running_mean, running_var)
    axes, per = _stat_axes(x)
    if train:
        mu = x.mean(axis=axes)
        xc = x - per(mu)
        var = _sum_of_squares(xp, xc, axes) / (x.size // x.shape[1])
        running = (momentum * running_mean + (1 - momentum) * mu,
                   momentum * running_var + (1 - momentum) * var)
    else:
        xc = x - per(running_mean)
        var = running_var
        running = (running_mean, running_var)
    inv_std = 1 / xp.sqrt(var + eps)
    out = xc * per(gamma * inv_std)
    out += per(beta)
    return out, (xc, gamma, inv_std, bool(train)), running


def batchnorm_backward(dout, cache):
    """Gradients of batch normalization.

    dout (N, D) -> dbeta = sum_n dout, dgamma = sum_n dout * x_hat, and with
    g = dout * gamma:
      train cache (batch statistics depend on x):
        dx = inv_std / N * (N g - sum_n g - x_hat * sum_n (g * x_hat))
      eval cache (fixed running statistics): dx = g * inv_std.
    Returns (dx, dgamma, dbeta).
    """
    require_shape("batchnorm_backward", "dout", dout, cache[0].shape, "the forward output")
    return _normalize_backward(dout, cache)


def _normalize_backward(dout, cache):
    """``batchnorm_backward`` for (N, D) or (N, C, H, W), with sums over all axes but 1.

    With x_hat = xc * inv_std and m values per feature the train formula reads
    dx = gamma * inv_std * (dout - dbeta / m - xc * inv_std^2 * sum(dout * xc) / m),
    computed with per-feature coefficients in four passes.
    """
    xc, gamma, inv_std, train = cache
    xp = xp_of(dout)
    axes, per = _stat_axes(dout)
    dbeta = dout.sum(axis=axes)
    t = dout * xc
    dout_xc = t.sum(axis=axes)
    dgamma = dout_xc * inv_std
    scale = gamma * inv_std
    dx = dout * per(scale)
    if train:
        m = dout.size // dout.shape[1]
        xp.multiply(xc, per(scale * inv_std * inv_std * dout_xc / m), out=t)
        dx -= t
        dx -= per(scale * dbeta / m)
    return dx, dgamma, dbeta


def spatial_batchnorm_forward(x, gamma, beta, running_mean, running_var, train,
                              momentum=0.9, eps=1e-5):
    """Batch normalization per channel, statistics over N, H and W.

    Shapes: x (N, C, H, W); gamma, beta, running_mean, running_var (C,);
    out (N, C, H, W). Same math and return value as ``batchnorm_forward``
    applied to x viewed as (N*H*W, C).
    """
    require_ndim("spatial_batchnorm_forward", "x", x, 4, "(N, C, H, W)")
    _check_params("spatial_batchnorm_forward", "channel", x, gamma, beta, running_mean, running_var)
    if is_host(xp_of(x)):
        return _normalize_blocks(x, gamma, beta, running_mean, running_var, train, momentum, eps)
    return _normalize(x, gamma, beta, running_mean, running_var, train, momentum, eps)


def spatial_batchnorm_backward(dout, cache):
    """dout (N, C, H, W) -> (dx (N, C, H, W), dgamma (C,), dbeta (C,)); the math of ``batchnorm_backward``."""
    blocks = isinstance(cache[0], str)
    require_shape("spatial_batchnorm_backward", "dout", dout, cache[1 if blocks else 0].shape, "the forward output")
    return _normalize_blocks_backward(dout, cache) if blocks else _normalize_backward(dout, cache)


# Fast path (NumPy): the same math over blocks that stay in the core's cache,
# on every core: several whole images where one image is small, else some
# channels of one image. The cache keeps x itself and mu (no centered copy).
# Forward and backward each make two passes over the blocks: the first takes
# the per-channel sums and writes the centered values they need straight into
# the output array, which the second then finishes in place (in-place passes
# over a block in the cache cost about half of those that write a second
# array; centering into a scratch block of the worker's own instead, so that
# the output is written only once, was slower: docs/speed.md). Every
# per-channel value enters as a plane of one image's size, (C, H*W),
# broadcast over the block's images (NumPy broadcasts a (..., C, 1) operand
# 1.4-2x as slowly, measured). The number of NumPy calls per block sets the
# time more than the bytes moved, and every call lets go of the GIL, so both
# workers run at once.

def _channel_blocks(xp, x):
    """Blocks (i0, i1, c0, c1) of about ``_parallel.block_bytes`` that cover every (n, c) once: images
    i0:i1 whole (c0, c1 = 0, C) where one image is smaller than a block, else channels c0:c1 of one."""
    n, c = x.shape[:2]
    size = _parallel.block_bytes(xp)
    if x[0].nbytes <= size:
        step = max(1, size // max(1, x[0].nbytes))
        return [(i, min(n, i + step), 0, c) for i in range(0, n, step)]
    groups = min(c, -(-x[0].nbytes // size))
    step = -(-c // groups)
    return [(i, i + 1, c0, min(c, c0 + step)) for i in range(n) for c0 in range(0, c, step)]


def _each_block(xp, x, work):
    """Call work(i0, i1, c0, c1) for every block of ``_channel_blocks(x)``, on every core."""
    blocks = _channel_blocks(xp, x)
    _parallel.run_chunks(lambda lo, hi, _: [work(*b) for b in blocks[lo:hi]], len(blocks), 1, xp)


def _block_of(a, i0, i1, c0, c1):
    """Block (i0:i1, c0:c1) of an (N, C, H, W) array as an (i1 - i0, c1 - c0, H*W) array (a view: no copy)."""
    return a[i0:i1, c0:c1].reshape(i1 - i0, c1 - c0, -1)


def _row_sums(xp, a):
    """Per-row sums sum(a, axis=-1) of a (..., L) array, by einsum: it lets go of the GIL, so the other
    worker runs meanwhile (``a @ ones`` and ``vecdot`` hold it: two threads took twice one's time,
    measured in docs/speed.md), and it reads ``a`` once (NumPy's sum over the last axis was 3x slower)."""
    return xp.einsum("...j->...", a)


def _row_dots(xp, a, b):
    """Per-row dot products sum(a * b, axis=-1) of two (..., L) arrays, by einsum (see ``_row_sums``)."""
    return xp.einsum("...j,...j->...", a, b)


def _planes(xp, x, *values):
    """Each per-channel value (C,) spread to a contiguous plane of one image's shape, as a (C, H*W) matrix."""
    c, h, w = x.shape[1:]
    return [xp.ascontiguousarray(xp.broadcast_to(v.reshape(c, 1), (c, h * w))) for v in values]


def _normalize_blocks(x, gamma, beta, running_mean, running_var, train, momentum, eps):
    """``spatial_batchnorm_forward`` by blocks: statistics in one pass over x, out in a second.

    Train: the statistics are shifted sums, taken from an origin k per
    channel, the first image's channel mean: with d = x - k over the m values
    of a channel, mu = k + sum(d) / m and var = sum(d^2) / m - (sum(d) / m)^2.
    The first pass writes d into out and sums it; the second finishes
    out = d * scale + (beta - (mu - k) * scale) in place. Taking k from the
    data bounds the rounding: by the law of total variance
    (mu - k)^2 <= N * var, so the subtraction that forms var loses at most
    log2(N + 1) bits, where a fixed origin such as 0 would lose everything
    once |mu| >> std (tests/test_layers_norm.py checks the bound).
    """
    xp = xp_of(x, gamma, beta, running_mean, running_var)
    n, c = x.shape[:2]
    out = xp.empty(x.shape, dtype=x.dtype)
    if not train:
        inv_std = 1 / xp.sqrt(running_var + eps)
        mu_p, scale_p, beta_p = _planes(xp, x, running_mean, gamma * inv_std, beta)

        def normalize(i0, i1, c0, c1):           # out = (x - mu) * scale + beta
            block = _block_of(out, i0, i1, c0, c1)
            xp.subtract(_block_of(x, i0, i1, c0, c1), mu_p[c0:c1], out=block)
            block *= scale_p[c0:c1]
            block += beta_p[c0:c1]
        _each_block(xp, x, normalize)
        return out, ("blocks", x, running_mean, gamma, inv_std, False), (running_mean, running_var)
    sums, squares = xp.empty((n, c), dtype=x.dtype), xp.empty((n, c), dtype=x.dtype)
    origin = _row_sums(xp, x[0].reshape(c, -1)) / x[0, 0].size
    (origin_p,) = _planes(xp, x, origin)

    def moments(i0, i1, c0, c1):             # per channel: sum of d = x - origin and of d^2
        deviation = _block_of(out, i0, i1, c0, c1)
        xp.subtract(_block_of(x, i0, i1, c0, c1), origin_p[c0:c1], out=deviation)
        sums[i0:i1, c0:c1] = _row_sums(xp, deviation)
        squares[i0:i1, c0:c1] = _row_dots(xp, deviation, deviation)
    _each_block(xp, x, moments)
    m = x.size // c
    offset = sums.sum(axis=0) / m                # mu - origin
    mu = origin + offset
    var = xp.maximum(squares.sum(axis=0) / m - offset * offset, 0)
    inv_std = 1 / xp.sqrt(var + eps)
    scale = gamma * inv_std
    scale_p, shift_p = _planes(xp, x, scale, beta - offset * scale)

    def finish(i0, i1, c0, c1):              # out = d * scale + shift
        block = _block_of(out, i0, i1, c0, c1)
        block *= scale_p[c0:c1]
        block += shift_p[c0:c1]
    _each_block(xp, x, finish)
    running = (momentum * running_mean + (1 - momentum) * mu, momentum * running_var + (1 - momentum) * var)
    return out, ("blocks", x, mu, gamma, inv_std, True), running


def _normalize_blocks_backward(dout, cache):
    """``_normalize_backward`` by blocks: the two sums in one pass over dout and x, dx in a second.

    The first pass writes x - mu into dx (for the sum of dout * (x - mu));
    the second turns it in place into (train)
    dx = scale * (dout - dbeta / m - (x - mu) * inv_std^2 * sum(dout * (x - mu)) / m),
    or (eval) dx = scale * dout.
    """
    _, x, mu, gamma, inv_std, train = cache
    xp = xp_of(dout)
    n, c = x.shape[:2]
    dbetas, dout_xcs = xp.empty((n, c), dtype=dout.dtype), xp.empty((n, c), dtype=dout.dtype)
    dx = xp.empty(dout.shape, dtype=dout.dtype)
    (mu_p,) = _planes(xp, x, mu)

    def sums(i0, i1, c0, c1):                # per channel: sum dout, sum dout * (x - mu)
        d, xc = _block_of(dout, i0, i1, c0, c1), _block_of(dx, i0, i1, c0, c1)
        dbetas[i0:i1, c0:c1] = _row_sums(xp, d)
        xp.subtract(_block_of(x, i0, i1, c0, c1), mu_p[c0:c1], out=xc)
        dout_xcs[i0:i1, c0:c1] = _row_dots(xp, d, xc)
    _each_block(xp, x, sums)
    dbeta, dout_xc = dbetas.sum(axis=0), dout_xcs.sum(axis=0)
    dgamma = dout_xc * inv_std
    m = dout.size // c
    scale_p, slope_p, shift_p = _planes(xp, x, gamma * inv_std, inv_std * inv_std * dout_xc / m, dbeta / m)

    def gradient(i0, i1, c0, c1):
        block, d = _block_of(dx, i0, i1, c0, c1), _block_of(dout, i0, i1, c0, c1)
        if train:                                # block holds x - mu
            block *= slope_p[c0:c1]
            block += shift_p[c0:c1]
            xp.subtract(d, block, out=block)
            block *= scale_p[c0:c1]
        else:
            xp.multiply(d, scale_p[c0:c1], out=block)
    _each_block(xp, x, gradient)
    return dx, dgamma, dbeta
