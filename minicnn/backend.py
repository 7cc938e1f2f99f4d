"""The one module that knows NumPy from CuPy from the strict stand-in.

Layer code never imports numpy or cupy to compute: it asks ``xp = xp_of(x)``
for the array module of its input and writes every line against ``xp``, so the
same lines run on host arrays (NumPy) and on GPU arrays (CuPy).

Three backends:

* ``"numpy"``: host arrays (the default);
* ``"cupy"``: GPU arrays;
* ``"strict"``: ``minicnn.testing.strict``, NumPy computing under CuPy's
  rules (no implicit host conversion, CuPy's names only, host reads counted).
  Tests and CI use it to run the device code path without a GPU.

The *default* backend decides where new arrays are created (parameters, data
moved with ``to_device``). It is NumPy unless the environment variable
``MINICNN_BACKEND`` (numpy, cupy, strict) or ``set_backend`` says otherwise.
"""
import functools
import os
import sys

import numpy as np

from .errors import BackendError

DEFAULT_DTYPE = np.float32
"""Training runs in float32; gradient checks use float64."""

NAMES = ("numpy", "cupy", "strict")
_STRICT = "minicnn.testing.strict"
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
    if name not in NAMES:
        raise BackendError(f"unknown backend {name!r}: choose one of {', '.join(NAMES)}")
    if name == "numpy":
        return np
    if name == "strict":
        from .testing import strict
        return strict
    return _import_cupy()


def set_backend(name):
    """Make ``name`` ("numpy", "cupy" or "strict") the default backend; return its module."""
    global _current
    _current = _module_for(name)
    return _current


def get_backend():
    """The default array module, from MINICNN_BACKEND at first use."""
    global _current
    if _current is None:
        _current = _module_for(os.environ.get("MINICNN_BACKEND", "numpy").strip().lower() or "numpy")
    return _current


def backend_name(xp=None):
    """"numpy", "cupy" or "strict" for ``xp`` (default: the default backend)."""
    xp = xp or get_backend()
    if xp is np:
        return "numpy"
    return "strict" if xp.__name__ == _STRICT else "cupy"


def is_host(xp):
    """True when ``xp`` keeps arrays in host memory (NumPy): reading them costs no device sync."""
    return xp is np


@functools.lru_cache(maxsize=None)
def cupy_probe():
    """What a CuPy run needs, each checked with a tiny operation; never raises.

    Returns a dict: "cupy" (version), "gpu" (device 0's name), "driver" and
    "runtime" (CUDA versions), "cublas" (a matrix product), "curand" (a
    Philox draw) and "nvrtc" (a freshly compiled kernel), each a description
    or a string starting with "error:".
    """
    try:
        import cupy
    except Exception as exc:  # not installed, or its CUDA libraries fail to import
        return {"cupy": f"error: {type(exc).__name__}: {exc}"}
    checks = {
        "gpu": lambda: cupy.cuda.runtime.getDeviceProperties(0)["name"].decode(),
        "driver": lambda: _cuda_version(cupy.cuda.runtime.driverGetVersion()),
        "runtime": lambda: _cuda_version(cupy.cuda.runtime.runtimeGetVersion()),
        "cublas": lambda: _check(float((cupy.ones((2, 2), cupy.float32) @ cupy.ones((2, 2), cupy.float32)).sum()),
                                 8.0, lambda: cupy.cuda.cublas.getVersion(cupy.cuda.device.get_cublas_handle())),
        "curand": lambda: _check(int(cupy.random.Generator(cupy.random.Philox4x3210(0, size=64)).random(4).size),
                                 4, cupy.cuda.curand.getVersion),
        "nvrtc": lambda: _check(float(cupy.ElementwiseKernel("float32 x", "float32 y", "y = 2 * x + 1",
                                                             "minicnn_probe")(cupy.ones(3, cupy.float32)).sum()),
                                9.0, cupy.cuda.nvrtc.getVersion),
    }
    report = {"cupy": cupy.__version__}
    for name, check in checks.items():
        try:
            report[name] = str(check())
        except Exception as exc:  # a CUDA library that cannot be loaded, a driver error, ...
            report[name] = f"error: {type(exc).__name__}: {exc}".splitlines()[0]
    return report


def _cuda_version(number):
    return f"{number // 1000}.{number % 1000 // 10}"


def _check(value, expected, version):
    """"ok" (with the library's version when it tells it) if ``value == expected``, else raise."""
    if value != expected:
        raise RuntimeError(f"computed {value}, expected {expected}")
    try:
        return f"ok (version {version()})"
    except Exception:  # the version query is informative only
        return "ok"


def cupy_available():
    """True when CuPy imports, sees a GPU, and cuBLAS, cuRAND and NVRTC all work."""
    return all(not str(v).startswith("error:") for v in cupy_probe().values())


def xp_of(*arrays):
    """The array module (numpy, cupy or strict) of the given arrays.

    Arrays that are None or Python scalars are ignored; with no arrays left the
    default backend is returned. Mixing arrays of two backends is an error.
    """
    modules = set()
    for a in arrays:
        if a is None or isinstance(a, (int, float, bool)):
            continue
        modules.add(_module_of_array(a))
    if len(modules) > 1:
        raise BackendError(f"arrays live on different devices ({' and '.join(sorted(map(backend_name, modules)))} "
                           "mixed): move them with minicnn.backend.to_device first")
    return modules.pop() if modules else get_backend()


def _module_of_array(a):
    if isinstance(a, (np.ndarray, np.generic)):
        return np
    module = type(a).__module__
    if module == _STRICT:
        return sys.modules[_STRICT]
    if module.split(".")[0] != "cupy":
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
    """A NumPy copy (or view) of ``a``, whichever device it lives on (a host read for device arrays)."""
    if isinstance(a, np.ndarray) or a is None or np.isscalar(a):
        return a
    if hasattr(a, "get"):
        return a.get()
    return np.asarray(a)


def default_rng(seed=None, xp=None):
    """A seeded random generator that makes arrays on backend ``xp``.

    NumPy: ``numpy.random.Generator`` (PCG64). CuPy and strict: their
    ``random.Generator``. Every source of randomness in minicnn takes such a
    generator explicitly; nothing touches a global random state.
    """
    xp = xp or get_backend()
    return xp.random.default_rng(seed)


COUNTER_RNG_STATES = 1 << 14
"""cuRAND Philox states of a device generator from ``counter_rng`` (its draws loop over them)."""


def counter_rng(key, counter, xp=None):
    """A generator for draw number ``counter`` of the stream ``key`` (a tuple of ints), on backend ``xp``.

    Nothing is carried from one draw to the next, so ``(key, counter)`` alone
    reproduces a draw, which is what lets a resumed run repeat an
    uninterrupted one. Every backend seeds a fresh generator from
    ``SeedSequence([*key, counter])``, each with the generator that is cheap
    to set up there: NumPy's PCG64 (microseconds on the host) and, on a
    device, cuRAND's counter-based ``Philox4x3210`` over
    ``COUNTER_RNG_STATES`` states (CuPy's default XORWOW runs a kernel to
    initialise about 32k states).
    """
    xp = xp or get_backend()
    seed = np.random.SeedSequence([*key, int(counter)])
    if xp is np:
        return np.random.Generator(np.random.PCG64(seed))
    return xp.random.Generator(xp.random.Philox4x3210(seed, size=COUNTER_RNG_STATES))


def synchronize(xp=None):
    """Wait until the device has finished all queued work (CuPy); nothing to wait for otherwise."""
    xp = xp or get_backend()
    if backend_name(xp) == "cupy":
        xp.cuda.get_current_stream().synchronize()


def device_name(xp=None):
    """The device arrays of ``xp`` live on: the GPU's name (CuPy), a note (strict), or None (NumPy)."""
    name = backend_name(xp)
    if name == "cupy":
        return cupy_probe().get("gpu")
    return "strict stand-in (NumPy on the CPU)" if name == "strict" else None


def device_memory(xp=None):
    """(bytes CuPy's memory pool holds, bytes in use), or None for the host backends."""
    xp = xp or get_backend()
    if backend_name(xp) != "cupy":
        return None
    pool = xp.get_default_memory_pool()
    return int(pool.total_bytes()), int(pool.used_bytes())


def release_device_memory(xp=None):
    """Wait for the device and return CuPy's cached blocks to it (nothing to do on the host backends)."""
    xp = xp or get_backend()
    if backend_name(xp) == "cupy":
        synchronize(xp)
        xp.get_default_memory_pool().free_all_blocks()
