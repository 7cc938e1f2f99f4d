"""ReLU and leaky ReLU: values, the subgradient at 0, exact gradients."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.gradcheck import check_layer
from minicnn.layers import leaky_relu_backward, leaky_relu_forward, relu_backward, relu_forward


def test_relu_zeroes_negatives_and_its_subgradient_at_zero_is_zero(xp):
    x = xp.asarray([-2.0, 0.0, 3.0])
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(to_numpy(out), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(to_numpy(relu_backward(xp.ones(3), cache)), [0.0, 0.0, 1.0])


def test_leaky_relu_scales_negatives_and_its_subgradient_at_zero_is_alpha(xp):
    x = xp.asarray([-2.0, 0.0, 3.0])
    out, cache = leaky_relu_forward(x, alpha=0.1)
    np.testing.assert_allclose(to_numpy(out), [-0.2, 0.0, 3.0])
    np.testing.assert_allclose(to_numpy(leaky_relu_backward(xp.ones(3), cache)), [0.1, 0.1, 1.0])


@pytest.mark.parametrize("forward, backward, config", [
    (relu_forward, relu_backward, {}),
    (leaky_relu_forward, leaky_relu_backward, {}),
    (leaky_relu_forward, leaky_relu_backward, {"alpha": 0.2}),
])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5)])
def test_activation_backward_matches_numerical_gradients(xp, rng, forward, backward, config, shape):
    report = check_layer(forward, backward, dict(x=xp.asarray(rng.standard_normal(shape))), config)
    assert report.passed, str(report)


@pytest.mark.parametrize("forward, backward", [(relu_forward, relu_backward),
                                               (leaky_relu_forward, leaky_relu_backward)])
def test_activations_keep_float32(xp, rng, forward, backward):
    x = xp.asarray(rng.standard_normal((4, 4)), dtype=xp.float32)
    out, cache = forward(x)
    assert out.dtype == xp.float32 and backward(xp.ones_like(x), cache).dtype == xp.float32


def test_relu_keeps_a_one_byte_mask_not_its_input(xp, rng):
    x = xp.asarray(rng.standard_normal((3, 4, 5)), dtype=xp.float32)
    _, cache = relu_forward(x)
    assert cache.dtype == bool and cache.nbytes == x.size
    np.testing.assert_array_equal(to_numpy(cache), to_numpy(x) > 0)
