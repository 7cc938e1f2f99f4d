"""The one module that knows NumPy from CuPy.

Layer code never imports numpy or cupy to compute: it asks ``xp = xp_of(x)``
for the array module of its input and writes every line against ``xp``, so the
same lines run on host arrays (NumPy) and on GPU arrays (CuPy).

The *default* backend decides where new arrays are created (parameters, data
moved with ``to_device``). It is NumPy unless the environment variable
``MINICNN_BACKEND=cupy`` or ``set_backend("cupy")`` says otherwise.
"""
import os

import numpy as np

from .errors import BackendError

DEFAULT_DTYPE = np.float32
"""Training runs in float32; gradient checks use float64."""

_NAMES = ("numpy", "cupy")
_current = None


def _import_cupy():
    """Return the cupy module, or raise a BackendError naming the fix."""
    try:
        import cupy
    except ImportError as exc:
        raise BackendError(
            "CuPy is not installed: install it with `pip install -e .[gpu]` "
            "(CUDA 12) or `pip install -e .[gpu-cuda13]` (CUDA 13), "
            "or use MINICNN_BACKEND=numpy") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken
        raise BackendError(
            f"CuPy is installed but no usable GPU was found ({exc}); "
            "use MINICNN_BACKEND=numpy") from exc
    if count < 1:
        raise BackendError("CuPy is installed but no GPU is present; "
                           "use MINICNN_BACKEND=numpy")
    return cupy


def _module_for(name):
    if name not in _NAMES:
        raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(_NAMES)}")
    return np if name == "numpy" else _import_cupy()


def set_backend(name):
    """Make ``name`` ("numpy" or "cupy") the default backend; return its module."""
    global _current
    _current = _module_for(name)
    return _current


def get_backend():
    """The default array module (numpy or cupy), from MINICNN_BACKEND at first use."""
    global _current
    if _current is None:
        _current = _module_for(os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy")
    return _current


def backend_name(xp=None):
    """"numpy" or "cupy" for ``xp`` (default: the default backend)."""
    return "numpy" if (xp or get_backend()) is np else "cupy"


def cupy_available():
    """True when CuPy imports and sees at least one GPU."""
    try:
        _import_cupy()
    except BackendError:
        return False
    return True


def xp_of(*arrays):
    """The array module (numpy or cupy) of the given arrays.

    Arrays that are None or Python scalars are ignored; with no arrays left the
    default backend is returned. Mixing host and device arrays is an error.
    """
    modules = set()
    for a in arrays:
        if a is None or isinstance(a, (int, float, bool)):
            continue
        modules.add(np if isinstance(a, (np.ndarray, np.generic)) else _cupy_module_of(a))
    if len(modules) > 1:
        raise BackendError("arrays live on different devices (NumPy and CuPy mixed): "
                           "move them with minicnn.backend.to_device first")
    return modules.pop() if modules else get_backend()


def _cupy_module_of(a):
    module = type(a).__module__.split(".")[0]
    if module != "cupy":
        raise BackendError(f"expected a NumPy or CuPy array, got {type(a).__name__}")
    import cupy
    return cupy


def to_device(a, xp=None, dtype=None):
    """Copy ``a`` to the backend ``xp`` (default: the default backend)."""
    xp = xp or get_backend()
    if xp is np:
        a = to_numpy(a)
        return a if dtype is None else a.astype(dtype, copy=False)
    return xp.asarray(a, dtype=dtype)


def to_numpy(a):
    """A NumPy copy (or view) of ``a``, whichever device it lives on."""
    if isinstance(a, np.ndarray) or a is None or np.isscalar(a):
        return a
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def default_rng(seed=None, xp=None):
    """A seeded random generator that makes arrays on backend ``xp``.

    NumPy: ``numpy.random.Generator`` (PCG64). CuPy: ``cupy.random.Generator``.
    Every source of randomness in minicnn takes such a generator explicitly;
    nothing touches a global random state.
    """
    xp = xp or get_backend()
    return xp.random.default_rng(seed)


COUNTER_RNG_STATES = 1 << 14
"""cuRAND Philox states of a device generator from ``counter_rng`` (its draws loop over them)."""


def counter_rng(key, counter, xp=None):
    """A generator for draw number ``counter`` of the stream ``key`` (a tuple of ints), on backend ``xp``.

    Nothing is carried from one draw to the next, so ``(key, counter)`` alone
    reproduces a draw, which is what lets a resumed run repeat an
    uninterrupted one. Both backends seed a fresh generator from
    ``SeedSequence([*key, counter])``, each with the generator that is cheap
    to set up there: NumPy's PCG64 (microseconds on the host, and the fastest
    float draws) and, on CuPy, cuRAND's counter-based ``Philox4x3210``, whose
    states need no set-up work (CuPy's default XORWOW runs a kernel to
    initialise about 32k states), over ``COUNTER_RNG_STATES`` states.
    """
    xp = xp or get_backend()
    seed = np.random.SeedSequence([*key, int(counter)])
    if xp is np:
        return np.random.Generator(np.random.PCG64(seed))
    return xp.random.Generator(xp.random.Philox4x3210(seed, size=COUNTER_RNG_STATES))
