"""How much scratch memory one convolution call may hold: the batch is worked through in chunks that fit.

A convolution's scratch arrays (im2col columns, Winograd tiles and products)
grow with the batch: the deep model's 5x5 layer would need 0.4 GiB of columns
at batch 128. ``conv_forward`` / ``conv_backward`` therefore take the images of
a batch a few at a time, as many as fit the budget, and never hold scratch for
more. Chunking changes no result beyond float rounding of the dw and db sums
over chunks: the layer still sees (and batchnorm after it still normalizes
over) the whole batch.

The budget is ``memory_budget=`` on a call, else the module setting
(``set_conv_memory_budget``), else a default from the memory free when first
asked: 1/16 of it, at least 32 MiB; on the host at most 256 MiB, on a GPU
(free device memory) uncapped, so a batch that fitted before still runs as
one piece there. A single image always runs, whatever the budget.
"""
import os

from ..backend import backend_name
from ..errors import ConfigError

MIB = 2 ** 20
DEFAULT_SHARE, DEFAULT_MIN, DEFAULT_MAX = 16, 32 * MIB, 256 * MIB

_setting = None          # bytes, or None: the default from free memory
_defaults = {}           # backend name -> default computed at first use


def set_conv_memory_budget(nbytes):
    """Let every later convolution hold at most ``nbytes`` of scratch (None: back to the default)."""
    global _setting
    _setting = None if nbytes is None else check_budget(nbytes)


def check_budget(nbytes, name="conv memory budget"):
    """``nbytes`` as a positive int, or a ConfigError saying what is wrong."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 1:
        raise ConfigError(f"{name}: {nbytes!r} must be a positive number of bytes (e.g. {64 * MIB} for 64 MiB)")
    return nbytes


def conv_memory_budget(xp=None, nbytes=None):
    """The budget in bytes that applies: ``nbytes`` if given, else the setting, else the default for ``xp``."""
    if nbytes is not None:
        return check_budget(nbytes)
    if _setting is not None:
        return _setting
    name = backend_name(xp)
    if name not in _defaults:
        _defaults[name] = default_budget(free_memory_bytes(xp), gpu=name == "cupy")
    return _defaults[name]


def default_budget(free, gpu=False):
    """1/16 of ``free`` bytes, at least DEFAULT_MIN; at most DEFAULT_MAX on the host (unknown free: DEFAULT_MAX).
    A GPU gets no upper cap: a batch that fitted before still runs as one piece there."""
    if free is None:
        return DEFAULT_MAX
    budget = max(DEFAULT_MIN, free // DEFAULT_SHARE)
    return budget if gpu else min(DEFAULT_MAX, budget)


def free_memory_bytes(xp=None):
    """Memory free for new arrays: free GPU memory for CuPy, else host MemAvailable (Linux) or free pages;
    None if unknown."""
    if backend_name(xp) == "cupy":
        return int(xp.cuda.runtime.memGetInfo()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def images_per_chunk(n, bytes_per_image, budget):
    """How many of ``n`` images fit ``budget`` at ``bytes_per_image`` of scratch each (at least 1)."""
    return max(1, min(n, budget // max(1, bytes_per_image)))
