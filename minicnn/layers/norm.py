"""Batch normalization (per feature) and spatial batch normalization (per channel).

Pure functions: the running statistics come in as arguments and the updated
ones go out as a third return value; no input array is ever modified.
"""
from ..backend import xp_of
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


def _normalize(x, gamma, beta, running_mean, running_var, train, momentum, eps):
    """The batchnorm math on validated (N, D) rows; see ``batchnorm_forward``."""
    xp = xp_of(x, gamma, beta, running_mean, running_var)
    if train:
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        running = (momentum * running_mean + (1 - momentum) * mu,
                   momentum * running_var + (1 - momentum) * var)
    else:
        mu, var = running_mean, running_var
        running = (running_mean, running_var)
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std, bool(train)), running


def batchnorm_backward(dout, cache):
    """Gradients of batch normalization.

    dout (N, D) -> dbeta = sum_n dout, dgamma = sum_n dout * x_hat, and with
    g = dout * gamma:
      train cache (batch statistics depend on x):
        dx = inv_std / N * (N g - sum_n g - x_hat * sum_n (g * x_hat))
      eval cache (fixed running statistics): dx = g * inv_std.
    Returns (dx, dgamma, dbeta).
    """
    x_hat, gamma, inv_std, train = cache
    require_shape("batchnorm_backward", "dout", dout, x_hat.shape, "the forward output")
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    g = dout * gamma
    if train:
        n = dout.shape[0]
        dx = (inv_std / n) * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    else:
        dx = g * inv_std
    return dx, dgamma, dbeta


def _channels_last(x):
    """(N, C, H, W) -> (N*H*W, C): every pixel of every image is one row."""
    return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])


def _channels_first(rows, shape):
    """Inverse of ``_channels_last`` for an (N, C, H, W) shape."""
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, running_mean, running_var, train,
                              momentum=0.9, eps=1e-5):
    """Batch normalization per channel, statistics over N, H and W.

    Shapes: x (N, C, H, W); gamma, beta, running_mean, running_var (C,);
    out (N, C, H, W). Same math and return value as ``batchnorm_forward``
    applied to x viewed as (N*H*W, C).
    """
    require_ndim("spatial_batchnorm_forward", "x", x, 4, "(N, C, H, W)")
    _check_params("spatial_batchnorm_forward", "channel", x, gamma, beta, running_mean, running_var)
    out, cache, running = _normalize(_channels_last(x), gamma, beta, running_mean, running_var,
                                     train, momentum, eps)
    return _channels_first(out, x.shape), (cache, x.shape), running


def spatial_batchnorm_backward(dout, cache):
    """dout (N, C, H, W) -> (dx (N, C, H, W), dgamma (C,), dbeta (C,)) via ``batchnorm_backward``."""
    bn_cache, shape = cache
    require_shape("spatial_batchnorm_backward", "dout", dout, shape, "the forward output")
    dx, dgamma, dbeta = batchnorm_backward(_channels_last(dout), bn_cache)
    return _channels_first(dx, shape), dgamma, dbeta
