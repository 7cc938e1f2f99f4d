"""Max pooling: both paths agree (ties included), gradients go to the first max."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import maxpool_backward, maxpool_forward
from minicnn.layers.pool import _maxpool_forward_general


def test_default_stride_equals_the_window_size(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 8, 6)))
    out, _ = maxpool_forward(x, size=2)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(x).reshape(2, 3, 4, 2, 3, 2).max(axis=(3, 5)))


@pytest.mark.parametrize("shape, size", [((2, 3, 8, 6), 2), ((1, 2, 9, 6), 3), ((3, 1, 4, 4), 4)])
def test_fast_path_equals_general_path_with_ties(xp, rng, shape, size):
    # Small integers make many windows hold their maximum more than once.
    x = xp.asarray(rng.integers(0, 3, shape).astype(np.float64))
    fast_out, fast_cache = maxpool_forward(x, size, size)
    general_out, general_cache = _maxpool_forward_general(x, size, size)
    assert fast_cache[0] == "tiles" and general_cache[0] == "windows"
    np.testing.assert_array_equal(to_numpy(fast_out), to_numpy(general_out))
    dout = xp.asarray(rng.standard_normal(fast_out.shape))
    np.testing.assert_array_equal(to_numpy(maxpool_backward(dout, fast_cache)),
                                  to_numpy(maxpool_backward(dout, general_cache)))


@pytest.mark.parametrize("force_general", [False, True])
def test_a_tie_sends_the_whole_gradient_to_the_first_max_in_row_major_order(xp, force_general):
    x = xp.asarray([[[[1.0, 5.0], [5.0, 5.0]]]])
    forward = _maxpool_forward_general if force_general else maxpool_forward
    out, cache = forward(x, 2, 2)
    dx = maxpool_backward(xp.asarray([[[[3.0]]]]), cache)
    np.testing.assert_array_equal(to_numpy(dx), [[[[0.0, 3.0], [0.0, 0.0]]]])


def test_overlapping_windows_add_their_gradients(xp):
    x = xp.asarray([[[[0.0, 1.0, 0.0], [0.0, 9.0, 0.0], [0.0, 1.0, 0.0]]]])
    out, cache = maxpool_forward(x, size=2, stride=1)
    np.testing.assert_array_equal(to_numpy(out), [[[[9.0, 9.0], [9.0, 9.0]]]])
    dx = maxpool_backward(xp.ones((1, 1, 2, 2)), cache)
    assert float(dx[0, 0, 1, 1]) == 4.0 and float(dx.sum()) == 4.0


@pytest.mark.parametrize("shape, size, stride", [
    ((2, 3, 6, 8), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 2, 1), ((2, 1, 7, 5), 2, 2), ((1, 2, 9, 9), 3, 3),
])
def test_maxpool_backward_matches_numerical_gradients(xp, rng, shape, size, stride):
    x = xp.asarray(rng.standard_normal(shape))
    report = check_layer(maxpool_forward, maxpool_backward, dict(x=x), dict(size=size, stride=stride))
    assert report.passed, str(report)


def test_maxpool_output_size_and_float32(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 9, 7)), dtype=xp.float32)
    out, cache = maxpool_forward(x, size=3, stride=2)
    assert out.shape == (2, 3, 4, 3) and out.dtype == xp.float32
    assert maxpool_backward(xp.ones_like(out), cache).dtype == xp.float32


@pytest.mark.parametrize("shape, kwargs, message", [
    ((2, 8, 8), {}, "maxpool_forward: x has shape (2, 8, 8) but needs 4 dims (N, C, H, W)"),
    ((1, 1, 3, 8), {"size": 4}, "maxpool_forward: window 4x4 does not fit input of shape (1, 1, 3, 8)"),
    ((1, 1, 8, 8), {"size": 0}, "maxpool_forward: size=0 must be an integer >= 1"),
])
def test_bad_pool_inputs_raise_shape_error(shape, kwargs, message):
    with pytest.raises(ShapeError) as err:
        maxpool_forward(np.zeros(shape), **kwargs)
    assert message in str(err.value)


def test_maxpool_backward_rejects_a_dout_of_the_wrong_shape():
    _, cache = maxpool_forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ShapeError, match="maxpool_backward: dout has shape"):
        maxpool_backward(np.zeros((1, 2, 3, 3)), cache)


def test_overlapping_maxpool_agrees_with_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 7))
    out, cache = maxpool_forward(x, size=3, stride=2)
    dout = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.max_pool2d(xt, kernel_size=3, stride=2)
    ref.backward(torch.from_numpy(dout))
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_allclose(maxpool_backward(dout, cache), xt.grad.numpy(), rtol=1e-12)


def reference_maxpool(x, size, stride):
    """Plain loops over output positions."""
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.empty((n, c, ho, wo))
    for p in range(ho):
        for q in range(wo):
            out[:, :, p, q] = x[:, :, p * stride:p * stride + size, q * stride:q * stride + size].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1)])
def test_maxpool_reads_non_contiguous_inputs_correctly(xp, rng, size, stride):
    x = xp.asarray(rng.standard_normal((8, 6, 3, 2))).transpose(3, 2, 0, 1)[:, :, ::-1]   # (2, 3, 8, 6)
    want = reference_maxpool(to_numpy(x), size, stride)
    np.testing.assert_array_equal(to_numpy(maxpool_forward(x, size, stride)[0]), want)
    np.testing.assert_array_equal(to_numpy(_maxpool_forward_general(x, size, stride)[0]), want)


def test_tiles_cache_one_byte_per_output_for_the_first_max(xp, rng):
    x = xp.asarray(rng.integers(0, 3, (2, 3, 8, 6)).astype(np.float32))
    out, cache = maxpool_forward(x, 2)
    kind, first_max = cache[:2]
    assert kind == "tiles" and first_max.dtype == np.uint8 and first_max.shape == out.shape
    tiles = to_numpy(x).reshape(2, 3, 4, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 4, 3, 4)
    np.testing.assert_array_equal(to_numpy(first_max), tiles.argmax(axis=-1))   # argmax: first of ties
