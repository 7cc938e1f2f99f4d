"""Batch normalization: batch statistics in train mode, running ones in eval mode."""
import numpy as np
import pytest

from minicnn.backend import is_host, to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import (batchnorm_backward, batchnorm_forward, spatial_batchnorm_backward, 
                            spatial_batchnorm_forward)


def bn_args(xp, rng, d):
    return dict(gamma=xp.asarray(rng.standard_normal(d)), beta=xp.asarray(rng.standard_normal(d)))


def stats(xp, rng, d):
    return dict(running_mean=xp.asarray(rng.standard_normal(d)),
                running_var=xp.asarray(rng.random(d) + 0.5))


def test_train_mode_normalizes_each_feature_with_batch_statistics(xp, rng):
    x = xp.asarray(rng.standard_normal((200, 4)) * [1.0, 3.0, 0.5, 10.0] + [0.0, 5.0, -2.0, 7.0])
    out, _, _ = batchnorm_forward(x, xp.ones(4), xp.zeros(4), xp.zeros(4), xp.ones(4), train=True)
    np.testing.assert_allclose(to_numpy(out.mean(axis=0)), 0, atol=1e-12)
    np.testing.assert_allclose(to_numpy(out.var(axis=0)), 1, rtol=1e-4)  # eps=1e-5 shrinks it slightly


def test_train_mode_running_statistics_follow_the_momentum_rule(xp, rng):
    x = xp.asarray(rng.standard_normal((16, 3)))
    s = stats(xp, rng, 3)
    before = {k: v.copy() for k, v in s.items()}
    _, _, (mean, var) = batchnorm_forward(x, xp.ones(3), xp.zeros(3), train=True, momentum=0.8, **s)
    np.testing.assert_allclose(to_numpy(mean), to_numpy(0.8 * before["running_mean"] + 0.2 * x.mean(axis=0)))
    np.testing.assert_allclose(to_numpy(var), to_numpy(0.8 * before["running_var"] + 0.2 * x.var(axis=0)))
    for k in s:  # inputs are never mutated
        np.testing.assert_array_equal(to_numpy(s[k]), to_numpy(before[k]))


def test_eval_mode_uses_the_running_statistics_and_returns_them_unchanged(xp, rng):
    x = xp.asarray(rng.standard_normal((5, 3)))
    p, s = bn_args(xp, rng, 3), stats(xp, rng, 3)
    out, _, (mean, var) = batchnorm_forward(x, train=False, eps=1e-5, **p, **s)
    want = (x - s["running_mean"]) / xp.sqrt(s["running_var"] + 1e-5) * p["gamma"] + p["beta"]
    np.testing.assert_allclose(to_numpy(out), to_numpy(want), rtol=1e-12)
    np.testing.assert_array_equal(to_numpy(mean), to_numpy(s["running_mean"]))
    np.testing.assert_array_equal(to_numpy(var), to_numpy(s["running_var"]))
    # A single example works in eval mode: nothing depends on the batch.
    single, _, _ = batchnorm_forward(x[:1], train=False, **p, **s)
    np.testing.assert_allclose(to_numpy(single), to_numpy(out[:1]), rtol=1e-12)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("n, d", [(4, 3), (8, 5), (13, 1)])
def test_batchnorm_backward_matches_numerical_gradients(xp, rng, train, n, d):
    # seed=1: the checker's upstream gradient must not repeat x's draws (rng is seeded 0 too): a
    # dout linear in x lies in the kernel of train-mode batch norm's Jacobian, and dx would be ~0.
    x = xp.asarray(rng.standard_normal((n, d)) * 2 + 1)
    report = check_layer(batchnorm_forward, batchnorm_backward, dict(x=x, **bn_args(xp, rng, d)),
                         dict(train=train, **stats(xp, rng, d)), seed=1)
    assert report.passed, str(report)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 1, 3, 3), (1, 2, 5, 7)])
def test_spatial_batchnorm_backward_matches_numerical_gradients(xp, rng, train, shape):
    x = xp.asarray(rng.standard_normal(shape))
    report = check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward,
                         dict(x=x, **bn_args(xp, rng, shape[1])), dict(train=train, **stats(xp, rng, shape[1])),
                         seed=1)                         # dout not x's draws again: see the test above
    assert report.passed, str(report)


def test_spatial_batchnorm_is_batchnorm_per_channel_over_n_h_w(xp, rng):
    x = xp.asarray(rng.standard_normal((3, 2, 4, 5)))
    p, s = bn_args(xp, rng, 2), stats(xp, rng, 2)
    out, _, (mean, var) = spatial_batchnorm_forward(x, train=True, **p, **s)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 2)
    ref, _, (ref_mean, ref_var) = batchnorm_forward(rows, train=True, **p, **s)
    np.testing.assert_allclose(to_numpy(out), to_numpy(ref.reshape(3, 4, 5, 2).transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(to_numpy(mean), to_numpy(ref_mean))
    np.testing.assert_allclose(to_numpy(var), to_numpy(ref_var))


def test_batchnorm_keeps_float32(xp, rng):
    x = xp.asarray(rng.standard_normal((6, 3)), dtype=xp.float32)
    ones, zeros = xp.ones(3, dtype=xp.float32), xp.zeros(3, dtype=xp.float32)
    out, cache, (mean, var) = batchnorm_forward(x, ones, zeros, zeros, ones, train=True)
    assert out.dtype == mean.dtype == var.dtype == xp.float32
    assert all(g.dtype == xp.float32 for g in batchnorm_backward(xp.ones_like(out), cache))


def test_bad_batchnorm_shapes_raise_shape_error():
    d = np.ones(3)
    with pytest.raises(ShapeError, match=r"batchnorm_forward: x has shape \(2, 3, 4\) but needs 2 dims \(N, D\)"):
        batchnorm_forward(np.zeros((2, 3, 4)), d, d, d, d, train=True)
    with pytest.raises(ShapeError, match=r"batchnorm_forward: gamma has shape \(4,\) but needs \(3,\)"):
        batchnorm_forward(np.zeros((2, 3)), np.ones(4), d, d, d, train=True)
    with pytest.raises(ShapeError, match=r"spatial_batchnorm_forward: x has shape \(2, 3\) but needs 4 dims"):
        spatial_batchnorm_forward(np.zeros((2, 3)), d, d, d, d, train=True)
    with pytest.raises(ShapeError, match=r"spatial_batchnorm_forward: running_var has shape \(2,\) but needs \(3,\) "
                                         r"\(one per channel of x \(2, 3, 2, 2\)\)"):
        spatial_batchnorm_forward(np.zeros((2, 3, 2, 2)), d, d, d, np.ones(2), train=True)


def test_spatial_batchnorm_train_mode_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, gamma, beta = rng.standard_normal((4, 3, 5, 6)), rng.standard_normal(3), rng.standard_normal(3)
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    out, cache, (new_mean, new_var) = spatial_batchnorm_forward(x, gamma, beta, mean, var, True,
                                                                momentum=0.9, eps=1e-5)
    dout = rng.standard_normal(out.shape)
    xt, gt, bt = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    rm, rv = torch.tensor(mean), torch.tensor(var)
    # PyTorch's momentum is the weight of the NEW batch statistic (ours: of the old running one);
    # its running variance is the unbiased batch variance, ours the biased one.
    ref = torch.nn.functional.batch_norm(xt, rm, rv, gt, bt, training=True, momentum=0.1, eps=1e-5)
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(spatial_batchnorm_backward(dout, cache), (xt.grad, gt.grad, bt.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(new_mean, rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(new_var, 0.9 * var + 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(6, 5, 4, 3), (2, 7, 9, 8), (1, 3, 1, 1)])
@pytest.mark.parametrize("block_bytes", [64, 1000], ids=["blocks of a few channels", "blocks of whole images"])
def test_spatial_fast_path_by_blocks_equals_the_reference(monkeypatch, rng, dtype, rtol, train, shape, block_bytes):
    from minicnn.layers import _parallel, norm
    monkeypatch.setattr(_parallel, "block_bytes", lambda xp: block_bytes)
    c = shape[1]
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    args = [rng.standard_normal(c).astype(dtype), rng.standard_normal(c).astype(dtype),
            rng.standard_normal(c).astype(dtype), (rng.random(c) + 0.5).astype(dtype), train, 0.9, 1e-5]
    out, cache, running = norm._normalize_blocks(x, *args)
    ref, ref_cache, ref_running = norm._normalize(x, *args)
    got = (out, *norm._normalize_blocks_backward(dout, cache), *running)
    want = (ref, *norm._normalize_backward(dout, ref_cache), *ref_running)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, rtol=0, atol=rtol * float(np.abs(w).max()))


def test_spatial_fast_path_variance_keeps_its_precision_far_from_zero(rng):
    """The shifted sums start from the first image's channel means: a mean of 1000 with a standard
    deviation of a few units, the first image far out, still gives float32 variances to about 1e-6
    (E[x^2] - E[x]^2 in float32 is off by about 1e-3 here)."""
    from minicnn.layers import norm
    n, c = 8, 3
    x = 1000 + rng.standard_normal((n, c, 1, 1)) * 3 + rng.standard_normal((n, c, 6, 6))
    x[0] += 30                                           # the origin about as far from mu as it can be
    x = x.astype(np.float32)
    _, _, (mu, var) = norm._normalize_blocks(x, np.ones(c, np.float32), np.zeros(c, np.float32),
                                             np.zeros(c, np.float32), np.ones(c, np.float32), True, 0.0, 1e-5)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(var, exact.var(axis=(0, 2, 3)), rtol=2e-5)
    np.testing.assert_allclose(mu, exact.mean(axis=(0, 2, 3)), rtol=1e-6)


def test_spatial_blocks_cover_every_image_and_channel_once(monkeypatch):
    from minicnn.layers import _parallel, norm
    x = np.zeros((5, 6, 2, 2), dtype=np.float32)          # 96 bytes per image, 16 per channel
    for size, per_block in [(200, "2 images"), (50, "3 channels")]:
        monkeypatch.setattr(_parallel, "block_bytes", lambda xp: size)
        blocks = norm._channel_blocks(np, x)
        covered = np.zeros(x.shape[:2], dtype=int)
        for i0, i1, c0, c1 in blocks:
            covered[i0:i1, c0:c1] += 1
        assert (covered == 1).all(), per_block
    assert blocks[:2] == [(0, 1, 0, 3), (0, 1, 3, 6)]
    monkeypatch.setattr(_parallel, "block_bytes", lambda xp: 200)
    assert norm._channel_blocks(np, x) == [(0, 2, 0, 6), (2, 4, 0, 6), (4, 5, 0, 6)]


def test_on_a_device_the_variance_avoids_einsum(xp, rng, monkeypatch):
    """CuPy's einsum for "abcd,abcd->b" copies both operands transposed: devices sum squares instead."""
    x = xp.asarray(rng.standard_normal((4, 3, 5, 5)))
    want = to_numpy(x).var(axis=(0, 2, 3))
    if not is_host(xp):
        monkeypatch.setattr(xp, "einsum", _no_einsum, raising=False)
    _, _, (_, var) = spatial_batchnorm_forward(x, xp.ones(3), xp.zeros(3), xp.zeros(3), xp.zeros(3), train=True,
                                               momentum=0.0)
    np.testing.assert_allclose(to_numpy(var), want, rtol=1e-10)


def _no_einsum(*args, **kwargs):
    raise AssertionError("einsum used on a device backend")
