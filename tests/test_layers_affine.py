"""Affine layer: out = x_flat @ w + b, exact gradients, dx in x's shape."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import affine_backward, affine_forward


@pytest.mark.parametrize("x_shape, m", [((4, 6), 3), ((3, 2, 3, 2), 5), ((1, 7), 1), ((5, 3, 1, 2, 2), 4)])
def test_affine_backward_matches_numerical_gradients(xp, rng, x_shape, m):
    d = int(np.prod(x_shape[1:]))
    inputs = dict(x=rng.standard_normal(x_shape), w=rng.standard_normal((d, m)), b=rng.standard_normal(m))
    report = check_layer(affine_forward, affine_backward, {k: xp.asarray(v) for k, v in inputs.items()})
    assert report.passed, str(report)


def test_affine_flattens_each_example_and_returns_dx_in_the_input_shape(xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 2)))
    w, b = xp.asarray(rng.standard_normal((6, 4))), xp.asarray(rng.standard_normal(4))
    out, cache = affine_forward(x, w, b)
    np.testing.assert_allclose(to_numpy(out), to_numpy(x).reshape(2, 6) @ to_numpy(w) + to_numpy(b))
    dx, dw, db = affine_backward(xp.ones_like(out), cache)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape


def test_affine_keeps_float32(xp, rng):
    x, w, b = (xp.asarray(rng.standard_normal(s), dtype=xp.float32) for s in ((3, 4), (4, 2), (2,)))
    out, cache = affine_forward(x, w, b)
    assert out.dtype == xp.float32
    assert all(g.dtype == xp.float32 for g in affine_backward(xp.ones_like(out), cache))


@pytest.mark.parametrize("x_shape, w_shape, b_shape, message", [
    ((5,), (5, 2), (2,), "affine_forward: x has shape (5,) but needs at least 2 dims"),
    ((3, 5), (5,), (2,), "affine_forward: w has shape (5,) but needs 2 dims (D, M)"),
    ((3, 2, 3), (5, 2), (2,), "affine_forward: x of shape (3, 2, 3) has 6 features per example but w of shape (5, 2) expects 5"),
    ((3, 5), (5, 2), (3,), "affine_forward: b has shape (3,) but needs (2,)"),
])
def test_bad_affine_shapes_raise_shape_error(x_shape, w_shape, b_shape, message):
    with pytest.raises(ShapeError) as err:
        affine_forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape))
    assert message in str(err.value)
