"""Timing helpers: interleaved medians and the machine's sgemm throughput.

Machines drift (frequency, other processes); two implementations timed one
after the other in separate blocks see different machines. ``interleave``
therefore alternates the candidates within every repeat and reverses their
order on every other repeat, so drift hits all of them alike; only ratios
measured in one call mean much.
"""
import gc
import statistics
import time

import numpy as np


def interleave(fns, repeat, warmup=1, sync=None):
    """Time every callable of ``fns`` (name -> fn) ``repeat`` times, alternating them.

    ``sync()`` (if given) runs before and after each timed call, e.g. to wait
    for a GPU. Returns name -> list of seconds.
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
            sync()
            start = time.perf_counter()
            fns[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


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
