"""Concatenation of flattened conv features with a second feature vector (HOG)."""
import numpy as np
import pytest

from minicnn.backend import to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_layer
from minicnn.layers import concat_backward, concat_forward


def test_concat_joins_flattened_a_then_b(xp, rng):
    a, b = xp.asarray(rng.standard_normal((2, 3, 2))), xp.asarray(rng.standard_normal((2, 4)))
    out, cache = concat_forward(a, b)
    np.testing.assert_array_equal(to_numpy(out), np.hstack([to_numpy(a).reshape(2, 6), to_numpy(b)]))
    da, db = concat_backward(out, cache)
    np.testing.assert_array_equal(to_numpy(da), to_numpy(a))
    np.testing.assert_array_equal(to_numpy(db), to_numpy(b))


@pytest.mark.parametrize("a_shape, db", [((3, 2, 2, 2), 4), ((1, 5), 1), ((4, 1, 3, 3), 7)])
def test_concat_backward_matches_numerical_gradients(xp, rng, a_shape, db):
    inputs = dict(a=xp.asarray(rng.standard_normal(a_shape)),
                  b=xp.asarray(rng.standard_normal((a_shape[0], db))))
    report = check_layer(concat_forward, concat_backward, inputs)
    assert report.passed, str(report)


def test_concat_refuses_different_batch_sizes_and_a_non_matrix_b():
    with pytest.raises(ShapeError, match=r"concat_forward: a has shape \(2, 3\) and b \(3, 4\)"):
        concat_forward(np.zeros((2, 3)), np.zeros((3, 4)))
    with pytest.raises(ShapeError, match=r"concat_forward: b has shape \(2, 3, 1\) but needs 2 dims"):
        concat_forward(np.zeros((2, 3)), np.zeros((2, 3, 1)))
