"""Feature concatenation (the CNN + HOG hybrid joins conv features and HOG)."""
from ..backend import xp_of
from ..errors import ShapeError
from ._check import require_min_ndim, require_ndim, require_shape


def concat_forward(a, b):
    """out = [a_flat, b] along features.

    a (N, d1, ..., dk) flattened to (N, Da), b (N, Db) -> out (N, Da + Db).
    Returns (out, cache).
    """
    xp = xp_of(a, b)
    require_min_ndim("concat_forward", "a", a, 2, "(N, d1, ..., dk)")
    require_ndim("concat_forward", "b", b, 2, "(N, Db)")
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"concat_forward: a has shape {tuple(a.shape)} and b {tuple(b.shape)}: "
                         "they need the same number of examples N")
    a_flat = a.reshape(a.shape[0], -1)
    return xp.concatenate([a_flat, b], axis=1), (a.shape, a_flat.shape[1], b.shape[1])


def concat_backward(dout, cache):
    """Split the gradient: da = dout[:, :Da] in a's shape, db = dout[:, Da:]. Returns (da, db)."""
    a_shape, da_cols, db_cols = cache
    require_shape("concat_backward", "dout", dout, (a_shape[0], da_cols + db_cols), "the forward output")
    return dout[:, :da_cols].reshape(a_shape), dout[:, da_cols:]
