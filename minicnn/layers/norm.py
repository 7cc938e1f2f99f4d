"""Batch normalization (per feature) and spatial batch normalization (per channel).

Pure functions: the running statistics come in as arguments and the updated
ones go out as a third return value; no input array is ever modified.
Both share one implementation that reduces over every axis except axis 1
(the feature or channel axis): (N, D) over N, (N, C, H, W) over N, H and W,
so a spatial input is normalized in place in its NCHW layout, never transposed.
"""
from ..backend import is_host, xp_of
from ._check import require_ndim, require_shape


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
    return _normalize(x, gamma, beta, running_mean, running_var, train, momentum, eps)


def spatial_batchnorm_backward(dout, cache):
    """dout (N, C, H, W) -> (dx (N, C, H, W), dgamma (C,), dbeta (C,)); the math of ``batchnorm_backward``."""
    require_shape("spatial_batchnorm_backward", "dout", dout, cache[0].shape, "the forward output")
    return _normalize_backward(dout, cache)
