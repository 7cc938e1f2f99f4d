"""Host (NumPy) work on every CPU core: the chunks of a batch run in worker threads.

NumPy's copies, ufuncs and BLAS calls release the GIL, so Python threads that
work on different chunks of an array run on different cores. While they do,
BLAS is asked to run single-threaded: the chunks' matrix products are small,
and a multi-threaded BLAS would make its own threads meet after every call,
which costs far more than the product on a busy machine (measured:
docs/speed.md). BLAS gets its threads back when the chunks are done; layers
that split work (``@owns_cores``) keep it single-threaded for their whole call,
small matrix products outside the chunks included, since an idle OpenBLAS
thread spins for about 0.1 s after every multi-threaded call, taking a core
from the worker threads of whatever runs next.

Work is spread statically: worker k takes chunks k, k + W, k + 2W, ... of the
W workers, so sums kept per worker and added in worker order give the same
result on every run (on a machine with another core count they may differ in
the last bits). CuPy arrays never use threads: the GPU runs each kernel on all
of its cores already. Where the BLAS cannot be told its thread count (not
OpenBLAS, or not Linux), the chunks run one after the other, as before.
"""
import ctypes
import functools
import inspect
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from threading import Lock

from ..backend import is_host, xp_of

BLOCK_BYTES = 256 * 1024

_pool = None
_lock = Lock()
_threads = None          # set_host_threads() value, or None: one per usable core


def cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def set_host_threads(n):
    """Use ``n`` worker threads for host chunks (None: one per core where BLAS can be told to
    run single-threaded; 1: no threads; n > 1 forces threads even where it cannot)."""
    global _threads
    _threads = None if n is None else max(1, int(n))


def host_threads(xp):
    """How many threads host work on backend ``xp`` is spread over (1 on CuPy or without BLAS control)."""
    if not is_host(xp):
        return 1
    if _threads is not None:
        return _threads
    return cores() if _blas_threads_api() is not None else 1


def run_chunks(work, n, step, xp, parallel=True):
    """Call ``work(lo, hi, slot)`` for every chunk [lo, hi) of range(n) in steps of ``step``.

    ``slot`` (0 .. host_threads(xp) - 1) names the worker thread, for per-worker
    sums. With one worker (or one chunk, or ``parallel=False``) everything
    runs here, in order.
    """
    chunks = [(lo, min(n, lo + step)) for lo in range(0, n, step)]
    count = min(host_threads(xp), len(chunks)) if parallel else 1
    if count <= 1:
        for lo, hi in chunks:
            work(lo, hi, 0)
        return

    def worker(slot):
        for lo, hi in chunks[slot::count]:
            work(lo, hi, slot)

    with single_threaded_blas():
        for future in [_executor().submit(worker, slot) for slot in range(count)]:
            future.result()


def owns_cores(layer):
    """Decorator: ``layer(a, ...)`` runs with BLAS single-threaded whenever host work on ``a``'s
    backend is spread over several threads (``host_threads``), from its first statement to its last.

    After a call on several threads OpenBLAS's idle threads keep spinning (measured here:
    70-120 ms of CPU after one 36 x 36 by 36 x 2048 float32 product), and on a 2-core machine that
    spinning takes a core from minicnn's own worker threads; a single-threaded BLAS call wakes no one.
    """
    first = next(iter(inspect.signature(layer).parameters))

    @functools.wraps(layer)
    def wrapped(*args, **kwargs):
        if host_threads(xp_of(args[0] if args else kwargs.get(first))) <= 1:
            return layer(*args, **kwargs)
        with single_threaded_blas():
            return layer(*args, **kwargs)
    return wrapped


def matmul(a, b, min_macs=2 ** 22):
    """a @ b for 2-D a (M, K) and b (K, N); on NumPy with several host threads the longer of
    M and N is cut into one slice per thread, each a single-threaded BLAS call.

    Every element is still one full K-long dot product, as in a @ b. One meeting
    of the threads at the end instead of BLAS's many inside each call (on a
    shared machine its threads wait for each other, measured: docs/speed.md).
    """
    xp = xp_of(a, b)
    (m, k), n = a.shape, b.shape[1]
    count = host_threads(xp)
    if count == 1 or m * n * k < min_macs:
        return a @ b
    out = xp.empty((m, n), dtype=xp.result_type(a, b))
    if m >= n:
        run_chunks(lambda lo, hi, _: xp.matmul(a[lo:hi], b, out=out[lo:hi]), m, -(-m // count), xp)
    else:
        run_chunks(lambda lo, hi, _: xp.matmul(a, b[:, lo:hi], out=out[:, lo:hi]), n, -(-n // count), xp)
    return out


def block_bytes(xp):
    """Bytes per block of element-wise work on backend ``xp``: BLOCK_BYTES on one thread, eight times
    that when the blocks are spread over several. Every NumPy call of a worker takes the GIL, and a
    worker that finds it held sleeps until woken; longer calls mean fewer such waits (measured with
    two threads, docs/speed.md: batchnorm 61 -> 50 ms from 256 K to 1 M blocks, and 62 -> 54 ms
    again from 1 M to 2 M, three 590 KB images per block; training steps 2-4% faster; ReLU, dropout
    and max-pool within 1 ms)."""
    return BLOCK_BYTES * (8 if host_threads(xp) > 1 else 1)


def rows_per_block(row_bytes, xp):
    """Rows (e.g. images) per block of element-wise work: blocks of about ``block_bytes`` stay in the core's cache."""
    return max(1, block_bytes(xp) // max(1, row_bytes))


def for_blocks(work, n, row_bytes, xp, parallel=True):
    """``work(lo, hi, slot)`` over blocks of the n rows (``row_bytes`` each) of some arrays: on NumPy
    cache-sized blocks on every core (``run_chunks``), on CuPy all n rows in one call."""
    if not is_host(xp):
        work(0, n, 0)
    else:
        run_chunks(work, n, rows_per_block(row_bytes, xp), xp, parallel)


def map_blocks(kernel, *arrays, parallel=True):
    """``kernel(*blocks)`` over matching blocks of the flattened ``arrays`` (equal sizes; outputs contiguous).

    For element-wise work: several passes over one block stay in the cache
    where passes over the whole arrays would go to memory each time. NumPy
    blocks run on every core (``parallel=False``: in order, here); CuPy gets
    the whole arrays in one call.
    """
    flat = [a.reshape(-1) for a in arrays]
    for_blocks(lambda lo, hi, _: kernel(*(a[lo:hi] for a in flat)), flat[0].size,
               max(a.itemsize for a in flat), xp_of(*arrays), parallel)


def result_array(a, reuse=False):
    """The array an element-wise pass over ``a`` writes its result to: ``a`` itself when ``reuse``
    and ``a`` is contiguous (``map_blocks`` writes through flat views), else a new array like ``a``."""
    if reuse and a.flags.c_contiguous:
        return a
    return xp_of(a).empty(a.shape, dtype=a.dtype)


def _executor():
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(2, cores()), thread_name_prefix="minicnn")
        return _pool


@contextmanager
def single_threaded_blas():
    """Run the body with BLAS on one thread, then give it back the threads it had."""
    api = _blas_threads_api()
    if api is None:
        yield
        return
    get, set_ = api
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


def set_blas_threads(n):
    """Tell OpenBLAS to use ``n`` threads from now on; False (nothing changed) where it cannot be told."""
    api = _blas_threads_api()
    if api is None:
        return False
    api[1](int(n))
    return True


_api = False     # not looked up yet


def _blas_threads_api():
    """(get, set) of OpenBLAS's thread count as loaded by NumPy, or None where not found."""
    global _api
    if _api is False:
        _api = _find_openblas()
    return _api


def _find_openblas():
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, set_
    return None
