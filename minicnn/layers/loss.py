"""Classification losses on scores (N, C) with integer labels y (N,), and L2.

Every loss returns (loss, dscores): loss is a 0-d array on the scores' backend
(``float(loss)`` makes it a number; keeping it on the device avoids a sync),
dscores (N, C) is its gradient.

Labels outside [0, C) raise a ShapeError on the host (NumPy), where the check
is free. On a device backend the check would read a value back to the host
and stall the GPU once per step, and CuPy would silently wrap a bad label
onto another class: there the loss and dscores become NaN instead, so the
mistake surfaces at the next logged loss rather than as a plausible wrong
number. Check labels once on the host where data enters (the Trainer does,
with ``check_label_range``).
"""
from ..backend import is_host, to_numpy, xp_of
from ..errors import ShapeError
from ._check import require_ndim, require_shape
from ._parallel import for_blocks, rows_per_block


def _check_labels(layer, scores, y):
    """Validate scores (N, C) and integer labels y (N,); return (xp, N, C, poison).

    ``poison`` is None on the host (labels out of [0, C) raise here) and on a
    device a 0-d array of the scores' dtype: 0 when every label is in range,
    NaN otherwise, to be added to the loss and its gradient (no sync).
    """
    xp = xp_of(scores, y)
    require_ndim(layer, "scores", scores, 2, "(N, C)")
    require_ndim(layer, "y", y, 1, "(N,)")
    n, c = scores.shape
    if y.shape[0] != n:
        raise ShapeError(f"{layer}: y has shape {tuple(y.shape)} but scores {tuple(scores.shape)} "
                         f"has {n} rows")
    if y.dtype.kind not in "iu":
        raise ShapeError(f"{layer}: y has dtype {y.dtype} but needs integer class labels")
    if is_host(xp):
        check_label_range(layer, y, c, f" for scores {tuple(scores.shape)}")
        return xp, n, c, None
    in_range = ((y >= 0) & (y < c)).all()
    return xp, n, c, xp.where(in_range, 0.0, float("nan")).astype(scores.dtype)


def check_label_range(where, y, n_classes, what=""):
    """Raise a ShapeError naming ``where`` unless every label of ``y`` lies in [0, n_classes).

    ``y`` may live on any backend; a device array is read once (do this where
    data enters, not per step).
    """
    y = to_numpy(y)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ShapeError(f"{where}: labels must lie in [0, {n_classes}){what}; "
                         f"got min {int(y.min())}, max {int(y.max())}")


def _log_softmax(scores):
    """log p = s - max - log(sum exp(s - max)), row-wise: finite for any finite scores."""
    xp = xp_of(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))


def softmax(scores):
    """probs[n, k] = exp(s[n, k] - max_k s[n]) / sum_k' exp(s[n, k'] - max_k s[n]); (N, C) -> (N, C)."""
    xp = xp_of(scores)
    require_ndim("softmax", "scores", scores, 2, "(N, C)")
    return xp.exp(_log_softmax(scores))


def softmax_cross_entropy(scores, y, class_weights=None):
    """Mean cross-entropy of softmax(scores) against labels y.

    l_n = logsumexp(s[n]) - s[n, y_n]; loss = sum_n w_n l_n / sum_n w_n with
    w_n = class_weights[y_n] (all 1 without weights: the plain mean).
    dscores[n] = w_n (softmax(s[n]) - onehot(y_n)) / sum_n w_n.
    scores (N, C), y (N,) integers in [0, C), class_weights (C,) or None.
    Returns (loss, dscores).
    """
    xp, n, c, poison = _check_labels("softmax_cross_entropy", scores, y)
    rows = xp.arange(n)
    log_probs = _log_softmax(scores)
    dscores = xp.exp(log_probs)
    dscores[rows, y] -= 1
    losses = -log_probs[rows, y]
    if class_weights is None:
        return _poisoned(losses.mean(), dscores / n, poison)
    require_shape("softmax_cross_entropy", "class_weights", class_weights, (c,),
                  f"one weight per class of scores {tuple(scores.shape)}")
    w = class_weights[y].astype(scores.dtype, copy=False)
    total = w.sum()
    return _poisoned((w * losses).sum() / total, dscores * (w / total)[:, None], poison)


def _poisoned(loss, dscores, poison):
    """(loss, dscores), both NaN when ``poison`` is NaN (a device batch with a label out of range)."""
    if poison is None:
        return loss, dscores
    dscores += poison
    return loss + poison, dscores


def svm_loss(scores, y, margin=1.0):
    """Multiclass hinge (Weston-Watkins / CS231n) loss, mean over the batch.

    l_n = sum_{k != y_n} max(0, s[n, k] - s[n, y_n] + margin).
    dscores[n, k] = [k != y_n and s[n, k] - s[n, y_n] + margin > 0] / N,
    dscores[n, y_n] = -(number of violating classes of row n) / N.
    At a hinge (margin exactly 0) the subgradient 0 is used.
    Returns (loss, dscores).
    """
    xp, n, _, poison = _check_labels("svm_loss", scores, y)
    rows = xp.arange(n)
    margins = scores - scores[rows, y][:, None] + margin
    margins[rows, y] = 0
    violated = margins > 0
    dscores = violated.astype(scores.dtype)
    dscores[rows, y] = -violated.sum(axis=1)
    return _poisoned(xp.maximum(margins, 0).sum() / n, dscores / n, poison)


def l2_penalty(weights, reg):
    """L2 regularization: loss = 0.5 * reg * sum_k sum(W_k ** 2), grads[k] = reg * W_k.

    weights: dict name -> array. Pass the weights of conv and affine layers
    only: NOT biases and NOT batchnorm gamma/beta (the caller chooses the names).
    Returns (loss, grads) with grads a dict of the same names; loss is 0.0 for
    an empty dict, else a 0-d array on the weights' backend.
    """
    loss = 0.0
    grads = {}
    for name, w in weights.items():
        squares, grads[name] = _squares_and_scaled(w, reg)
        loss = loss + 0.5 * reg * squares
    return loss, grads


def _squares_and_scaled(w, reg):
    """(sum(w ** 2), reg * w) in one pass over w: cache-sized blocks on every core for NumPy (``for_blocks``),
    the block sums then added in block order (the same numbers on any number of threads)."""
    xp = xp_of(w)
    flat, scaled = w.reshape(-1), xp.empty(w.shape, dtype=w.dtype)
    step = rows_per_block(w.itemsize, xp)
    sums = xp.empty(-(-flat.size // step) if is_host(xp) else 1, dtype=w.dtype)

    def block(lo, hi, _):
        piece = flat[lo:hi]
        xp.multiply(piece, reg, out=scaled.reshape(-1)[lo:hi])
        sums[lo // step] = (piece * piece).sum()
    for_blocks(block, flat.size, w.itemsize, xp)
    return sums.sum(), scaled
