"""Specification of minicnn.training.metrics on hand-worked examples."""
import numpy as np
import pytest

from minicnn.errors import DataError, ShapeError
from minicnn.training.metrics import (accuracy, confusion_matrix, normalize_confusion, 
                             per_class_accuracy, predictions)


def test_accuracy_of_labels_and_of_scores(xp):
    y = xp.asarray([0, 1, 2, 2])
    assert accuracy(xp.asarray([0, 1, 1, 2]), y) == 0.75
    scores = xp.asarray([[0.9, 0.1, 0.0],   # 0 right
                         [0.2, 0.3, 0.5],   # 2 wrong
                         [0.0, 0.1, 0.9],   # 2 right
                         [0.5, 0.4, 0.1]])  # 0 wrong
    assert accuracy(scores, y) == 0.5


def test_confusion_matrix_rows_are_true_classes(xp):
    y_true = xp.asarray([0, 0, 1, 2, 2, 2])
    y_pred = xp.asarray([0, 1, 1, 2, 0, 2])
    cm = confusion_matrix(y_true, y_pred, 4)
    assert isinstance(cm, np.ndarray)
    np.testing.assert_array_equal(cm, [[1, 1, 0, 0],
                                       [0, 1, 0, 0],
                                       [1, 0, 2, 0],
                                       [0, 0, 0, 0]])
    assert cm.sum() == 6


def test_per_class_accuracy_is_recall_and_nan_for_empty_classes():
    cm = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 3]])
    with np.errstate(all="raise"):
        recall = per_class_accuracy(cm)
    np.testing.assert_allclose(recall, [0.5, np.nan, 0.75])


def test_normalize_confusion_rows_sum_to_one():
    cm = np.array([[2, 2], [0, 0]])
    np.testing.assert_allclose(normalize_confusion(cm), [[0.5, 0.5], [np.nan, np.nan]])


def test_diagonal_of_confusion_matches_accuracy(rng):
    y = rng.integers(0, 7, size=200)
    pred = np.where(rng.random(200) < 0.6, y, rng.integers(0, 7, size=200))
    cm = confusion_matrix(y, pred, 7)
    assert np.trace(cm) / cm.sum() == accuracy(pred, y)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(y, minlength=7))


def test_predictions_take_argmax_of_scores():
    np.testing.assert_array_equal(predictions(np.array([[1, 3], [2, 0]])), [1, 0])


@pytest.mark.parametrize("call,error,match", [
    (lambda: accuracy(np.zeros(3), np.zeros(4)), ShapeError, "labels have shape"),
    (lambda: accuracy(np.zeros(0), np.zeros(0)), ShapeError, "no predictions"),
    (lambda: accuracy(np.zeros((2, 2, 2)), np.zeros(2)), ShapeError, "class scores"),
    (lambda: confusion_matrix(np.array([0, 7]), np.array([0, 1]), 7), DataError, r"true label 7 .*\[0, 7\)"),
    (lambda: confusion_matrix(np.array([0, 1]), np.array([-1, 1]), 7), DataError, "predicted label -1"),
    (lambda: normalize_confusion(np.zeros((2, 3))), ShapeError, "square"),
])
def test_bad_inputs_raise(call, error, match):
    with pytest.raises(error, match=match):
        call()
