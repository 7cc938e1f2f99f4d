"""Average pooling: each output is its window's mean; the gradient spreads evenly over the window."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import avgpool_backward, avgpool_forward


def test_non_overlapping_tiles_average_their_four_values(xp):
    x = xp.asarray(np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4))
    out, _ = avgpool_forward(x, size=2)
    np.testing.assert_array_equal(to_numpy(out), [[[[2.5, 4.5], [10.5, 12.5]]]])


@pytest.mark.parametrize("shape, size, stride", [((2, 3, 8, 6), 2, 2), ((1, 2, 7, 7), 3, 2), ((2, 1, 5, 6), 2, 1),
                                                 ((1, 2, 9, 6), 3, 3)])
def test_gradients_match_numerical_ones_with_and_without_overlap(xp, rng, shape, size, stride):
    report = check_layer(avgpool_forward, avgpool_backward, {"x": xp.asarray(rng.standard_normal(shape))},
                         config={"size": size, "stride": stride})
    assert report.passed, str(report)


def test_overlapping_windows_add_their_shares(xp):
    _, cache = avgpool_forward(xp.zeros((1, 1, 3, 3)), size=2, stride=1)
    dx = avgpool_backward(xp.ones((1, 1, 2, 2)), cache)
    np.testing.assert_allclose(to_numpy(dx)[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_a_window_larger_than_the_input_is_refused_in_one_line(xp):
    with pytest.raises(ShapeError, match="avgpool_forward: window 5x5 does not fit"):
        avgpool_forward(xp.zeros((1, 1, 4, 4)), size=5)


@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2), (2, 1)])
def test_agrees_with_pytorch(rng, size, stride):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 9, 8))
    dout_shape = ((2, 3, (9 - size) // stride + 1, (8 - size) // stride + 1))
    dout = rng.standard_normal(dout_shape)
    out, cache = avgpool_forward(x, size, stride)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.functional.avg_pool2d(tx, size, stride)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(avgpool_backward(dout, cache), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
