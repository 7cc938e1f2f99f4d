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


# Fast path (NumPy): the same math over blocks of one image's channels that
# stay in the core's cache, on every core. The cache keeps x itself and mu
# (no centered copy); the batch statistics come from per-block means and sums
# of squared deviations, combined exactly (Chan et al.): one pass over x for
# both. Each pass writes its centered values straight into the output array,
# which the second pass then finishes in place (in-place passes over a block
# in the cache cost about half of those that write a second array, measured).
# Sums along a block's rows are matrix-vector products with ones (BLAS reads
# the block once; NumPy's sum over axes was 4x slower). Per-channel values
# enter as planes of one image's size, (C, H*W), so most passes are between
# arrays of one shape (NumPy broadcasts a (C, 1) operand about twice as
# slowly, measured).

def _channel_blocks(xp, x):
    """Blocks (n, c0, c1), one image's channels c0:c1 each, about ``_parallel.block_bytes``: every (n, c) once."""
    n, c, h, w = x.shape
    groups = min(c, max(1, -(-x[0].nbytes // _parallel.block_bytes(xp))))
    step = -(-c // groups)
    return [(i, c0, min(c, c0 + step)) for i in range(n) for c0 in range(0, c, step)]


def _each_block(xp, x, work):
    """Call work(n, c0, c1) for every block of ``_channel_blocks(x)``, on every core."""
    blocks = _channel_blocks(xp, x)
    _parallel.run_chunks(lambda lo, hi, _: [work(*b) for b in blocks[lo:hi]], len(blocks), 1, xp)


def _rows(a, i, c0, c1):
    """Block (i, c0:c1) of an (N, C, H, W) array as a (c1 - c0, H*W) matrix (a view: no copy)."""
    return a[i, c0:c1].reshape(c1 - c0, -1)


def _row_dots(xp, a, b):
    """Per-row dot products sum(a * b, axis=1) of two (K, L) matrices: NumPy 2's ``vecdot`` (twice
    as fast as einsum here, measured), else einsum."""
    vecdot = getattr(xp, "vecdot", None)
    return vecdot(a, b) if vecdot is not None else xp.einsum("ij,ij->i", a, b)


def _planes(xp, x, *values):
    """Each per-channel value (C,) spread to a contiguous plane of one image's shape, as a (C, H*W) matrix."""
    c, h, w = x.shape[1:]
    return [xp.ascontiguousarray(xp.broadcast_to(v.reshape(c, 1), (c, h * w))) for v in values]


def _normalize_blocks(x, gamma, beta, running_mean, running_var, train, momentum, eps):
    """``spatial_batchnorm_forward`` by blocks: statistics in one pass over x, out in a second.

    Train: the first pass writes each block's deviations from its own mean,
    x - m_b, into out; the second finishes out = (x - m_b) * scale + shift_b
    in place, with shift_b = (m_b - mu) * scale + beta per image and channel
    (the same value as (x - mu) * scale + beta up to rounding: x - mu is
    split at m_b, never formed as x * scale - mu * scale, which would lose
    precision when |mu| is large).
    """
    xp = xp_of(x, gamma, beta, running_mean, running_var)
    n, c = x.shape[:2]
    out = xp.empty(x.shape, dtype=x.dtype)
    if not train:
        inv_std = 1 / xp.sqrt(running_var + eps)
        mu_p, scale_p, beta_p = _planes(xp, x, running_mean, gamma * inv_std, beta)

        def normalize(i, c0, c1):                # out = (x - mu) * scale + beta
            block = _rows(out, i, c0, c1)
            xp.subtract(_rows(x, i, c0, c1), mu_p[c0:c1], out=block)
            block *= scale_p[c0:c1]
            block += beta_p[c0:c1]
        _each_block(xp, x, normalize)
        return out, ("blocks", x, running_mean, gamma, inv_std, False), (running_mean, running_var)
    means, squares = xp.empty((n, c), dtype=x.dtype), xp.empty((n, c), dtype=x.dtype)
    ones = xp.ones(x[0, 0].size, dtype=x.dtype)

    def moments(i, c0, c1):                      # mean and sum of squared deviations per channel
        block, deviation = _rows(x, i, c0, c1), _rows(out, i, c0, c1)
        means[i, c0:c1] = mean = (block @ ones) / ones.size
        xp.subtract(block, mean[:, None], out=deviation)
        squares[i, c0:c1] = _row_dots(xp, deviation, deviation)
    _each_block(xp, x, moments)
    mu = means.mean(axis=0)
    var = (squares.sum(axis=0) + ones.size * ((means - mu) ** 2).sum(axis=0)) / (x.size // c)
    inv_std = 1 / xp.sqrt(var + eps)
    scale = gamma * inv_std
    shifts = (means - mu) * scale + beta         # (N, C)
    (scale_p,) = _planes(xp, x, scale)

    def finish(i, c0, c1):                       # out = (x - m_b) * scale + shift_b
        block = _rows(out, i, c0, c1)
        block *= scale_p[c0:c1]
        block += shifts[i, c0:c1, None]
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
    ones = xp.ones(x[0, 0].size, dtype=dout.dtype)
    dx = xp.empty(dout.shape, dtype=dout.dtype)
    (mu_p,) = _planes(xp, x, mu)

    def sums(i, c0, c1):                         # per channel: sum dout, sum dout * (x - mu)
        d, xc = _rows(dout, i, c0, c1), _rows(dx, i, c0, c1)
        dbetas[i, c0:c1] = d @ ones
        xp.subtract(_rows(x, i, c0, c1), mu_p[c0:c1], out=xc)
        dout_xcs[i, c0:c1] = _row_dots(xp, d, xc)
    _each_block(xp, x, sums)
    dbeta, dout_xc = dbetas.sum(axis=0), dout_xcs.sum(axis=0)
    dgamma = dout_xc * inv_std
    m = dout.size // c
    scale_p, slope_p, shift_p = _planes(xp, x, gamma * inv_std, inv_std * inv_std * dout_xc / m, dbeta / m)

    def gradient(i, c0, c1):
        block, d = _rows(dx, i, c0, c1), _rows(dout, i, c0, c1)
        if train:                                # block holds x - mu
            block *= slope_p[c0:c1]
            block += shift_p[c0:c1]
            xp.subtract(d, block, out=block)
            block *= scale_p[c0:c1]
        else:
            xp.multiply(d, scale_p[c0:c1], out=block)
    _each_block(xp, x, gradient)
    return dx, dgamma, dbeta
