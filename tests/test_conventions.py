"""Conventions where minicnn and PyTorch differ on purpose, as docs/layers.md states them."""
import numpy as np
import pytest

from minicnn.layers import batchnorm_forward, spatial_batchnorm_forward


@pytest.mark.parametrize("forward, shape, module", [
    (batchnorm_forward, (128, 4), "BatchNorm1d"),
    (spatial_batchnorm_forward, (8, 3, 5, 6), "BatchNorm2d"),
])
def test_running_variance_uses_the_biased_batch_variance_where_pytorch_uses_the_unbiased(forward, shape, module):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    d = shape[1]
    m = x.size // d                                             # values per feature
    out, _, (mean, var) = forward(x, np.ones(d), np.zeros(d), np.zeros(d), np.ones(d), True, momentum=0.9)
    bn = getattr(torch.nn, module)(d, momentum=0.1, dtype=torch.float64)    # their 0.1 is our 0.9
    expected_out = bn.train()(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, expected_out, atol=1e-6)   # the batch itself: biased in both (eps aside)
    np.testing.assert_allclose(mean, bn.running_mean.numpy(), rtol=1e-12)
    # running = 0.9 * 1 + 0.1 * batch variance: the batch parts differ by exactly m / (m - 1)
    np.testing.assert_allclose((bn.running_var.numpy() - 0.9) / (var - 0.9), m / (m - 1), rtol=1e-10)
