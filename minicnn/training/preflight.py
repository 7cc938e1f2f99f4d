"""Memory pre-flight: will a batch fit? Measured on the model, checked before any work starts.

The memory one step takes grows linearly with the batch ``n`` at every
moment of the step, so its peak is::

    peak(n) = max over phases of (fixed + n * per_example)

where a phase is a layer's forward or backward (holding activations, the
caches layers keep for backward -- im2col columns, masks, normalized inputs
-- and gradients in flight) or the optimizer update (parameter gradients and
slots, not growing with the batch). The numbers are *measured*, not derived
from formulas: a copy of the model (the model itself keeps its statistics
and random streams) runs one step on batches of ``PROBE_SIZES`` zeros while
every allocation is tracked -- ``tracemalloc`` on the host (NumPy reports its
arrays to it), a CuPy memory hook on the GPU -- and each phase's peak is
recorded. A training step is forward with caches, the loss, backward and one
optimizer update (which creates its slots); an evaluation step is a forward
pass without caches. So whatever changes what a layer keeps (a chunked
convolution, a new layer's cache) is seen here with no change to this
module; a layer that bounds its own work on large batches is over-estimated
(the check errs on the side of refusing). Measurements are remembered per
model config, backend, dtype and optimizer.

The budget is ``SAFETY`` (80%) of the memory available now: on the host the
kernel's ``MemAvailable`` (and the cgroup's limit, in a container), on CuPy
the device's free memory plus what CuPy's pool holds unused.

    check_batch(model, 128, optimizer=opt)   # training: ResourceError naming the largest batch that fits
    fit_batch(model, 4096)                   # evaluation: the batch size to use (smaller when needed)

Training never changes its batch (that would change the run); prediction
and evaluation may split theirs, which changes no number.
"""
import copy
import json
import os
import sys
import threading
import tracemalloc
from collections import namedtuple
from pathlib import Path

from .. import backend
from ..errors import ResourceError
from ..layers import conv_memory_budget

SAFETY = 0.8
"""Fraction of the available memory a step may plan to use."""

PROBE_SIZES = (16, 32)
"""The two batch sizes measured to find ``fixed`` and ``per_example``. Not 1: with one image some
transposes of a size-1 axis skip their copy, which makes the line's slope too steep. At least 16:
element-wise layers work in blocks of ``_parallel.block_bytes`` (ReLU's block of zeros among them,
1 MiB on several threads), which a small layer fills only from about 16 images on; below that such
scratch grows with the batch, and a line through two smaller probes overstated a 64-image
evaluation by 29-41% (measured, tests/test_preflight.py)."""


class Footprint(namedtuple("Footprint", "phases")):
    """Bytes of one step as phases ``(fixed, per_example)``; the step's peak is its largest phase's.

    A training step has two: forward and backward (activations, caches,
    gradients: grows with the batch) and the optimizer update (gradients and
    slots: does not).
    """

    def bytes(self, n):
        return max(fixed + n * per_example for fixed, per_example in self.phases)

    def largest_batch(self, budget):
        """The largest batch whose step fits in ``budget`` bytes (0 if not even one)."""
        return max(0, min(int((budget - fixed) // per_example) if per_example else
                          (sys.maxsize if fixed <= budget else 0) for fixed, per_example in self.phases))


_measured = {}
_probing = threading.Lock()     # tracemalloc is process-wide: one measurement at a time


def footprint(model, train=True, optimizer=None):
    """The measured ``Footprint`` of a training step (with ``optimizer``) or of an evaluation pass."""
    key = (json.dumps(model.config, sort_keys=True), backend.backend_name(model.xp), str(model.dtype), bool(train),
           conv_memory_budget(model.xp),         # chunked convolutions hold less at a smaller budget
           None if optimizer is None or not train else
           (optimizer.name, tuple((h, getattr(optimizer, h)) for h in optimizer.hyper)))
    with _probing:
        if key not in _measured:
            _measured[key] = _measure(model, train, optimizer)
    return _measured[key]


def _measure(model, train, optimizer):
    """Probe a copy of ``model`` at both PROBE_SIZES and fit each phase's line."""
    twin = copy.deepcopy(model)        # the model itself keeps its statistics and random streams
    (n1, n2), opt = PROBE_SIZES, optimizer if train else None
    low, high = _probe(twin, n1, train, None), _probe(twin, n2, train, opt)
    phases = []
    for a, b in zip(low, high):
        per_example = max(0, b - a) / (n2 - n1)
        phases.append((max(0, int(a - per_example * n1)), int(per_example + 0.5)))
    phases += [(b, 0) for b in high[len(low):]]     # the optimizer update does not grow with the batch
    return Footprint(tuple(phases))


def _probe(twin, n, train, optimizer):
    """Peak bytes of each phase of one step of ``twin`` on a batch of ``n`` zeros.

    A phase ends after each layer's forward and after its backward, so each
    phase's peak is linear in ``n`` even where a fixed-size phase (a large
    layer's weight gradient) and a growing one (activations) peak at
    different moments. With ``optimizer`` a final phase is its first update
    (creating its slots), by a fresh optimizer of the same kind.
    """
    from ..optim import make_optimizer

    xp, dtype, config = twin.xp, twin.dtype, twin.config
    opt = None if optimizer is None else make_optimizer(
        optimizer.name, lr=optimizer.lr, **{h: getattr(optimizer, h) for h in optimizer.hyper})
    with _tracker(xp) as tracker:
        for layer in twin.layers:
            layer.forward, layer.backward = _then(layer.forward, tracker.phase), _then(layer.backward, tracker.phase)
        images = xp.zeros((n, *config["input_shape"]), dtype=dtype)
        X = (images, xp.zeros((n, config["hog_dim"]), dtype=dtype)) if twin.is_hybrid else images
        if train:
            _, grads = twin.loss(X, xp.zeros(n, dtype=xp.int64), train=True)
            tracker.phase()
            if opt is not None:
                opt.step(twin.params, grads)
                tracker.phase()
            del grads
        else:
            twin.predict_proba(X, batch_size=n)
            tracker.phase()
        del X, images
        for layer in twin.layers:      # the next probe wraps the class's methods afresh
            del layer.forward, layer.backward
    return tracker.peaks


def _then(method, after):
    def wrapped(*args, **kwargs):
        out = method(*args, **kwargs)
        after()
        return out
    return wrapped


def _tracker(xp):
    return _DeviceTracker(xp) if backend.backend_name(xp) == "cupy" else _HostTracker()


class _HostTracker:
    """Peaks of host memory allocated inside a ``with`` block, one per ``phase()``, via tracemalloc."""

    def __enter__(self):
        self.started = not tracemalloc.is_tracing()
        if self.started:
            tracemalloc.start()
        self.peaks, self.base = [], tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return self

    def phase(self):
        self.peaks.append(tracemalloc.get_traced_memory()[1] - self.base)
        tracemalloc.reset_peak()

    def __exit__(self, *exc):
        if self.started:
            tracemalloc.stop()


class _DeviceTracker:
    """Peaks of CuPy pool memory in use inside a ``with`` block, one per ``phase()``, via a memory hook.

    Only blocks allocated inside the block count, so freeing older arrays
    (garbage of earlier work) does not lower the figure.
    """

    def __init__(self, cupy):
        tracker = self

        class Hook(cupy.cuda.MemoryHook):
            name = "minicnn-preflight"

            def malloc_postprocess(self, **kw):
                tracker.live[kw["mem_ptr"]] = kw["mem_size"]
                tracker.now += kw["mem_size"]
                tracker.peak = max(tracker.peak, tracker.now)

            def free_postprocess(self, **kw):
                tracker.now -= tracker.live.pop(kw["mem_ptr"], 0)

        self.hook, self.live, self.now, self.peak, self.peaks = Hook(), {}, 0, 0, []

    def __enter__(self):
        self.hook.__enter__()
        return self

    def phase(self):
        self.peaks.append(self.peak)
        self.peak = self.now

    def __exit__(self, *exc):
        self.hook.__exit__(*exc)


# -- the budget ------------------------------------------------------------------
def available_bytes(xp=None):
    """Memory free for new arrays of backend ``xp`` now, in bytes; None where it cannot be told."""
    xp = xp or backend.get_backend()
    if backend.backend_name(xp) == "cupy":
        free, _ = xp.cuda.runtime.memGetInfo()
        return int(free) + int(xp.get_default_memory_pool().free_bytes())
    return _host_available()


def _host_available():
    limits = []
    meminfo = _read("/proc/meminfo")
    for line in (meminfo or "").splitlines():
        if line.startswith("MemAvailable:"):
            limits.append(int(line.split()[1]) * 1024)
    cap, used = _read("/sys/fs/cgroup/memory.max"), _read("/sys/fs/cgroup/memory.current")
    if cap and used and cap.strip().isdigit():
        limits.append(max(0, int(cap) - int(used)))
    if not limits and hasattr(os, "sysconf"):
        try:
            limits.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            pass
    return min(limits) if limits else None


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


def budget_bytes(xp=None):
    """``SAFETY`` times the memory available to backend ``xp``; None where it cannot be told."""
    available = available_bytes(xp)
    return None if available is None else int(available * SAFETY)


# -- the checks --------------------------------------------------------------------
def check_batch(model, batch_size, train=True, optimizer=None, budget=None, what=None):
    """Raise ResourceError when a step of ``batch_size`` cannot fit; the line names the largest batch that does.

    ``budget`` in bytes (default ``budget_bytes`` of the model's backend; no
    check where that is unknown). ``what`` names the step in the message
    (default "a training batch" / "an evaluation batch").
    """
    budget = budget_bytes(model.xp) if budget is None else budget
    if budget is None:
        return
    fp = footprint(model, train, optimizer)
    need = fp.bytes(batch_size)
    if need <= budget:
        return
    what = what or ("a training batch" if train else "an evaluation batch")
    largest = fp.largest_batch(budget)
    fix = (f"use a batch of at most {largest}" if largest else
           "free memory (other programs, or a smaller model) first: not even one image fits")
    raise ResourceError(f"{what} of {batch_size} images needs about {_size(need)} of "
                        f"{backend.backend_name(model.xp)} memory, but the budget is {_size(budget)} "
                        f"({SAFETY:.0%} of what is free now): {fix}")


def fit_batch(model, batch_size, budget=None):
    """The evaluation batch size to use: ``batch_size``, or the largest that fits when it does not.

    ResourceError when not even one image fits.
    """
    budget = budget_bytes(model.xp) if budget is None else budget
    if budget is None:
        return batch_size
    fp = footprint(model, train=False)
    if fp.bytes(batch_size) <= budget:
        return batch_size
    largest = fp.largest_batch(budget)
    if largest < 1:
        check_batch(model, 1, train=False, budget=budget)
    return largest


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
