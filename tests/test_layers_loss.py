"""Softmax cross-entropy, multiclass hinge and L2: values, stability, gradients, label checks."""
import math

import numpy as np
import pytest

from minicnn.backend import is_host, to_numpy
from minicnn.errors import ShapeError
from minicnn.gradcheck import check_loss
from minicnn.layers import l2_penalty, softmax, softmax_cross_entropy, svm_loss
from minicnn.testing import syncs


def labels(xp, rng, n, c):
    return xp.asarray(rng.integers(0, c, n))


def test_softmax_rows_are_probabilities_even_for_huge_scores(xp, rng):
    scores = xp.asarray(rng.standard_normal((5, 4)) * 1e4)
    p = to_numpy(softmax(scores))
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_small_random_scores_give_a_loss_of_about_ln_c(xp, rng):
    scores = xp.asarray(rng.standard_normal((500, 7)) * 1e-3)
    loss, _ = softmax_cross_entropy(scores, labels(xp, rng, 500, 7))
    assert float(loss) == pytest.approx(math.log(7), abs=1e-2)


def test_huge_scores_give_finite_loss_and_gradient(xp):
    scores = xp.asarray([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]])
    loss, dscores = softmax_cross_entropy(scores, xp.asarray([2, 0]))
    assert float(loss) == pytest.approx((2e4 + 2e4 + math.log(2)) / 2)
    assert np.isfinite(to_numpy(dscores)).all()


def test_softmax_cross_entropy_keeps_float32(xp, rng):
    scores = xp.asarray(rng.standard_normal((4, 3)), dtype=xp.float32)
    loss, dscores = softmax_cross_entropy(scores, labels(xp, rng, 4, 3))
    assert loss.dtype == dscores.dtype == xp.float32


@pytest.mark.parametrize("n, c", [(6, 7), (1, 2), (9, 3)])
def test_softmax_cross_entropy_gradient_matches_numerical(xp, rng, n, c):
    report = check_loss(softmax_cross_entropy, dict(scores=xp.asarray(rng.standard_normal((n, c)))),
                        dict(y=labels(xp, rng, n, c)))
    assert report.passed, str(report)


def test_class_weights_give_a_weighted_mean_and_its_gradient(xp, rng):
    scores, y = xp.asarray(rng.standard_normal((8, 4))), labels(xp, rng, 8, 4)
    w = xp.asarray(rng.random(4) + 0.5)
    loss, _ = softmax_cross_entropy(scores, y, class_weights=w)
    per_example = [float(softmax_cross_entropy(scores[i:i + 1], y[i:i + 1])[0]) for i in range(8)]
    wy = to_numpy(w)[to_numpy(y)]
    assert float(loss) == pytest.approx(float(np.dot(wy, per_example) / wy.sum()), rel=1e-12)
    uniform, _ = softmax_cross_entropy(scores, y, class_weights=xp.full(4, 3.0))
    assert float(uniform) == pytest.approx(float(softmax_cross_entropy(scores, y)[0]), rel=1e-12)
    report = check_loss(softmax_cross_entropy, dict(scores=scores), dict(y=y, class_weights=w))
    assert report.passed, str(report)


def test_svm_loss_known_value_on_a_hand_example(xp):
    scores = xp.asarray([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    loss, dscores = svm_loss(scores, xp.asarray([0, 1, 2]))
    # Per row: max(0, 5.1-3.2+1) = 2.9; 0; (2.2+3.1+1) + (2.5+3.1+1) = 12.9.
    assert float(loss) == pytest.approx((2.9 + 0.0 + 12.9) / 3)
    np.testing.assert_allclose(to_numpy(dscores), np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3)


@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_svm_loss_gradient_matches_numerical(xp, rng, margin):
    report = check_loss(svm_loss, dict(scores=xp.asarray(rng.standard_normal((7, 5)))),
                        dict(y=labels(xp, rng, 7, 5), margin=margin))
    assert report.passed, str(report)


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, svm_loss])
def test_bad_labels_and_shapes_raise_shape_error_naming_the_loss(loss_fn):
    name = loss_fn.__name__
    scores = np.zeros((3, 4))
    with pytest.raises(ShapeError, match=rf"{name}: labels must lie in \[0, 4\).*got min 0, max 4"):
        loss_fn(scores, np.array([0, 4, 1]))
    with pytest.raises(ShapeError, match=rf"{name}: labels must lie in \[0, 4\).*got min -1"):
        loss_fn(scores, np.array([0, -1, 1]))
    with pytest.raises(ShapeError, match=rf"{name}: y has shape \(2,\) but scores \(3, 4\) has 3 rows"):
        loss_fn(scores, np.array([0, 1]))
    with pytest.raises(ShapeError, match=rf"{name}: scores has shape \(12,\) but needs 2 dims"):
        loss_fn(scores.ravel(), np.array([0, 1, 2]))
    with pytest.raises(ShapeError, match=rf"{name}: y has dtype float64 but needs integer class labels"):
        loss_fn(scores, np.array([0.0, 1.0, 2.0]))


@pytest.mark.parametrize("loss_fn", [softmax_cross_entropy, svm_loss])
def test_on_a_device_a_label_out_of_range_turns_loss_and_gradient_nan_without_a_sync(xp, loss_fn):
    if is_host(xp):
        pytest.skip("on the host a bad label raises (previous test)")
    scores = xp.zeros((3, 4))
    with syncs.count_syncs() as log:
        loss, dscores = loss_fn(scores, xp.asarray(np.array([0, 4, 1])))
        good, _ = loss_fn(scores, xp.asarray(np.array([0, 3, 1])))
    assert log.total() == 0
    assert np.isnan(float(loss)) and np.isnan(to_numpy(dscores)).all() and np.isfinite(float(good))


def test_class_weights_of_the_wrong_length_are_refused():
    with pytest.raises(ShapeError, match=r"softmax_cross_entropy: class_weights has shape \(3,\) but needs \(4,\)"):
        softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 1]), class_weights=np.ones(3))


def test_l2_penalty_is_half_reg_sum_of_squares_with_gradient_reg_w(xp):
    weights = {"W1": xp.asarray([[1.0, -2.0]]), "W2": xp.asarray([3.0])}
    loss, grads = l2_penalty(weights, reg=0.1)
    assert float(loss) == pytest.approx(0.5 * 0.1 * (1 + 4 + 9))
    np.testing.assert_allclose(to_numpy(grads["W1"]), [[0.1, -0.2]])
    np.testing.assert_allclose(to_numpy(grads["W2"]), [0.3])
    assert l2_penalty({}, 0.1) == (0.0, {})
