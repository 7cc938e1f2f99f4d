"""Timing helpers: interleaved medians and the machine's sgemm throughput.

Machines drift (frequency, other processes); two implementations timed one
after the other in separate blocks see different machines. ``interleave``
therefore alternates the candidates within every repeat and reverses their
order on every other repeat, so drift hits all of them alike; only ratios
measured in one call mean much.

Each timed call also comes after at least ``SETTLE_S`` seconds of untimed
calls of the same candidate, never right after another library's call or a
pause: in training a layer runs amid its own library's work. Measured on a
quiet 2-core Intel virtual machine (docs/speed.md, sixth and seventh
rounds): the deep fc1 layer took 3.5 ms per call back to back but 5-7 ms
for its first calls after a 24 ms ``gc.collect()`` or a 25 ms sleep; right
after one of PyTorch's calls it took 6.8 ms with 20 ms of its own calls
first, 3.9-4.1 ms with 40-80 ms and 3.65 ms (its time alone) with 100 ms.
Our worker threads sleep between calls; PyTorch's worker thread went on
using CPU after its call (about 10 ms, read from /proc), which explains
some of the effect but not why it lasts up to 100 ms.
"""
import gc
import statistics
import time

import numpy as np

SETTLE_S = 0.1
"""Seconds of untimed calls of a candidate right before each timed call of it."""


def interleave(fns, repeat, warmup=1, sync=None):
    """Time every callable of ``fns`` (name -> fn) ``repeat`` times, alternating them.

    Every timed call comes right after ``SETTLE_S`` seconds (at least one
    call) of untimed calls of the same callable (module docstring); the
    garbage collector runs before them and stays off until the timed call
    ends. ``sync()`` (if given) runs after each call, e.g. to wait for a
    GPU. Returns name -> list of seconds.
    """
    sync = sync or (lambda: None)
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
            sync()
    times = {name: [] for name in names}
    for r in range(repeat):
        for name in (names if r % 2 == 0 else names[::-1]):
            gc.collect()
            gc.disable()
            try:
                _settle(fns[name], sync)
                start = time.perf_counter()
                fns[name]()
                sync()
                times[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
    return times


def _settle(fn, sync):
    """Call ``fn`` (untimed) until SETTLE_S seconds have passed, at least once."""
    start = time.perf_counter()
    fn()
    sync()
    while time.perf_counter() - start < SETTLE_S:
        fn()
        sync()


def median_ms(seconds):
    """Median of a list of seconds, in milliseconds (None for an empty list)."""
    return 1e3 * statistics.median(seconds) if seconds else None


def sgemm_gflops(xp=np, n=2048, repeat=5, sync=None):
    """Measured float32 matmul throughput (GFLOP/s) of an n x n x n product: 2 n^3 / median time."""
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((n, n), dtype=np.float32))
    seconds = interleave({"sgemm": lambda: a @ b}, repeat, warmup=1, sync=sync)["sgemm"]
    return 2 * n ** 3 / statistics.median(seconds) / 1e9
