"""Peak memory of one training step.

NumPy reports its array allocations to ``tracemalloc``, so the peak traced
bytes during a step are the most array memory the step itself held at once
(activations, caches, im2col buffers, gradients, temporaries). Arrays made
before the step (parameters, optimizer state, the input batch) are not
traced; the runner reports their size beside it.
CuPy allocates from its memory pool: after freeing every cached block, the
pool's ``total_bytes()`` at the end of the step is the most the step ever
held (the pool only grows while it runs). The pool is reached through
``minicnn.backend``, the one module that knows CuPy.
"""
import tracemalloc

from minicnn import backend


def cache_bytes(model, x, y):
    """Bytes held by the layer caches at the end of a training forward: (all caches, conv caches).

    The conv caches are the im2col column matrices (plus references to their
    weights); they are read between forward and backward through
    ``Model.backprop``, whose gradient callback runs while every cache is alive.
    """
    held = {}

    def dout(scores):
        held["all"] = model.cache_nbytes()
        held["conv"] = sum(layer.cache_nbytes for layer in model.layers if layer.kind == "conv")
        return scores * 0 + 1
    model.backprop(x, dout, at="scores", train=True)
    return held["all"], held["conv"]


def numpy_peak(step):
    """Peak bytes of the NumPy arrays ``step()`` allocated and held at once (tracemalloc)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def device_peak(step, xp):
    """(bytes held by the device pool after ``step()``, bytes in use): the step's device-memory high-water mark.

    None on a backend without a device memory pool (NumPy, strict).
    """
    backend.release_device_memory(xp)
    step()
    backend.synchronize(xp)
    return backend.device_memory(xp)
