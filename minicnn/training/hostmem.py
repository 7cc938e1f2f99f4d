"""Keep freed host memory for reuse: one glibc malloc setting that speeds up NumPy training.

A training step allocates and frees the same large arrays every step
(activations, im2col columns, gradients, temporaries of tens to hundreds of
MiB). By default glibc serves blocks above 32 MiB with fresh ``mmap`` calls
and unmaps them on free, so every step pays the kernel again to fault in and
zero those pages: on the 2-core benchmark machine that was about a third of
the CPU time of a shallow-model step (docs/speed.md). ``keep_freed_memory()``
asks glibc to serve every block from its heap and never to give freed memory
back, so from the second step on, the arrays land on pages already mapped.
The price: the process holds on to its peak host memory until it exits.
Device (CuPy) memory is unaffected: CuPy has its own pool.
"""
import ctypes
import ctypes.util
import sys

# mallopt parameters from glibc's <malloc.h>
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4


def keep_freed_memory():
    """Make glibc malloc keep freed memory for reuse (no mmap, no trimming); True if applied.

    Affects the whole process from the call on, NumPy and anything else that
    uses malloc. Returns False, changing nothing, where the C library is not
    glibc (macOS, Windows, musl).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
                and mallopt(_M_TOP_PAD, 64 << 20))
