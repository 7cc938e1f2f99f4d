"""A strict CuPy stand-in: NumPy computes, CuPy's rules apply. Selected with ``MINICNN_BACKEND=strict``.

No GPU is needed, so CI runs the engine's device code path on every push.
The module plays the part of ``cupy``: ``xp = xp_of(x)`` is this module for
its arrays, and its arrays (``StrictArray``, also ``ndarray`` here) behave
like ``cupy.ndarray`` wherever a mistake would otherwise hide until a GPU
run:

* implicit conversion to the host fails: ``np.asarray(x)``, ``np.testing``
  on ``x`` and ``host_array[...] = x`` raise TypeError, as on CuPy; move
  data with ``minicnn.backend.to_numpy`` / ``to_device``;
* a host (NumPy) array mixed into a device operation (an operand, an index,
  a value written into a device array) raises ``HostArrayError``; Python and
  NumPy scalars are fine, as on CuPy;
* only CuPy's names exist: the module's functions, the array's methods and
  the random generators are those pinned in ``cupy_api.txt`` (CuPy 13/14);
  a NumPy function called on a device array (``np.sum(x)``) dispatches to
  the function of the same name, and raises TypeError when CuPy has none;
* reductions and scalar indexing return 0-d device arrays, never Python
  or NumPy scalars;
* integer-array indices out of bounds wrap around instead of raising
  (CuPy does not check them: a bad label silently reads another class);
* every host read (``float``, ``int``, ``bool``, ``.item()``, ``.get()``,
  ``to_numpy``, formatting) and every operation whose result size depends
  on the data (boolean-mask indexing, ``nonzero``, ``unique``, ``argwhere``,
  ...) is reported to ``minicnn.testing.syncs``, which counts them per call
  site or, in "raise" mode, fails at once.

Random numbers come from ``random.default_rng`` / ``random.Generator(bit)``
with CuPy's methods only (no ``normal``, ``permutation``, ``choice``...);
the bit generators ``XORWOW``, ``MRG32k3a`` and ``Philox4x3210`` take
``seed`` and ``size=`` like CuPy's, and draw from NumPy's PCG64 (the numbers
differ from a GPU's, the API does not). Not emulated: streams, memory pools,
raw kernels, ``cupy.cuda``, DLPack, ``fft``.
"""
import sys
import types

import numpy as np

from . import syncs
from .cupy_api import names

_MODULE = names("cupy")
_METHODS = names("cupy.ndarray")
_DATA_DEPENDENT = {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract", "bincount",
                   "intersect1d", "setdiff1d", "setxor1d", "union1d", "trim_zeros", "delete"}
"""Functions whose output size depends on the values: CuPy reads a count from the device first."""
_DEVICE_SCALARS = {"allclose", "array_equal", "array_equiv", "count_nonzero"}
"""Functions that return a Python scalar on NumPy but a 0-d device array on CuPy."""


class HostArrayError(TypeError, ValueError):
    """A host (NumPy) array was mixed into an operation on device arrays."""


def _host_array_error(where):
    cupy = ("CuPy would copy it to the device on every call" if where == "indexing" else "CuPy rejects it too")
    return HostArrayError(f"{where}: a host (NumPy) array was mixed into an operation on device arrays "
                          f"(strict backend; {cupy}): move it with minicnn.backend.to_device first")


# ---------------------------------------------------------------- wrapping

def _unwrap(obj, where):
    """The NumPy array inside a device array; lists and tuples are unwrapped item by item."""
    if type(obj) is StrictArray:
        return obj._a
    if isinstance(obj, np.ndarray):
        raise _host_array_error(where)
    if type(obj) in (list, tuple):
        return type(obj)(_unwrap(o, where) for o in obj)
    return obj


def _unwrap_kwargs(kwargs, where):
    return {k: _unwrap(v, where) for k, v in kwargs.items()}


def _wrap(obj):
    """NumPy arrays and scalars become device arrays (0-d for scalars); tuples and lists item by item."""
    if isinstance(obj, np.ndarray):
        return StrictArray._of(obj)
    if isinstance(obj, np.generic):
        return StrictArray._of(np.asarray(obj))
    if isinstance(obj, tuple):
        items = [_wrap(o) for o in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    if type(obj) is list:
        return [_wrap(o) for o in obj]
    return obj


def _operand(obj, where):
    """An operand of an operator or ufunc: a device array or a scalar (no host arrays, no lists)."""
    if type(obj) is StrictArray:
        return obj._a
    if isinstance(obj, (np.ndarray, list, tuple)):
        raise _host_array_error(where)
    return obj


def _index(key, shape):
    """(NumPy index for ``key``, whether it holds a boolean mask), with CuPy's wrap-around for integer arrays."""
    items = list(key) if isinstance(key, tuple) else [key]
    out, mask = [], False
    for k in items:
        if type(k) is StrictArray:
            k = k._a
        elif isinstance(k, np.ndarray):
            raise _host_array_error("indexing")
        elif isinstance(k, list):
            k = np.asarray(k)
        if isinstance(k, np.ndarray) and k.dtype == np.bool_:
            mask = True
        out.append(k)
    out = _wrap_out_of_bounds(out, shape)
    return (tuple(out) if isinstance(key, tuple) else out[0]), mask


def _wrap_out_of_bounds(items, shape):
    """Integer-array indices taken modulo the length of their axis, as CuPy's kernels do."""
    consumed = sum(0 if k is None or k is Ellipsis else (k.ndim if _is_mask(k) else 1) for k in items)
    axis, out = 0, []
    for k in items:
        if k is Ellipsis:
            axis += len(shape) - consumed
        elif k is not None:
            if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and axis < len(shape) and shape[axis] > 0:
                k = np.mod(k, shape[axis])
            axis += k.ndim if _is_mask(k) else 1
        out.append(k)
    return out


def _is_mask(k):
    return isinstance(k, np.ndarray) and k.dtype == np.bool_


# ---------------------------------------------------------------- the array

class StrictArray:
    """A device array of the strict backend (CuPy's ``ndarray`` API over a NumPy array ``_a``)."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 1000
    __hash__ = None

    def __init__(self, shape, dtype=float, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a):
        obj = object.__new__(cls)
        obj._a = a
        return obj

    # -- attributes (no data is read) -------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: StrictArray._of(self._a.T))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    base = property(lambda self: _wrap(self._a.base))

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __getattr__(self, name):
        if hasattr(np.ndarray, name):
            raise AttributeError(f"cupy.ndarray has no attribute {name!r} (NumPy's ndarray has; the strict "
                                 "backend offers CuPy's API only)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- no implicit host conversion -------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (strict backend, as on CuPy): "
                        "use minicnn.backend.to_numpy(x) to copy a device array to the host")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _apply_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        section = "cupy" + func.__module__[len("numpy"):] if func.__module__.startswith("numpy") else None
        allowed = _MODULE if section == "cupy" else _SUBMODULE_NAMES.get(section, ())
        if func.__name__ not in allowed:
            raise TypeError(f"{func.__module__}.{func.__name__} was called on a device array, but CuPy has no "
                            f"{section or 'cupy'}.{func.__name__} (strict backend, CuPy 13/14 API)")
        return _call(func, func.__name__, args, kwargs)

    # -- host reads ------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        """A host (NumPy) copy: a host read."""
        syncs.record("get")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def item(self, *args):
        syncs.record("item")
        return self._a.item(*args)

    def tolist(self):
        syncs.record("tolist")
        return self._a.tolist()

    def tobytes(self, order="C"):
        syncs.record("tobytes")
        return self._a.tobytes(order)

    def tofile(self, fid, sep="", format="%s"):
        syncs.record("tofile")
        self._a.tofile(fid, sep, format)

    def dumps(self):
        syncs.record("dumps")
        return self._a.dumps()

    def dump(self, file):
        syncs.record("dump")
        self._a.dump(file)

    def __float__(self):
        syncs.record("float")
        return float(self._a)

    def __int__(self):
        syncs.record("int")
        return int(self._a)

    def __complex__(self):
        syncs.record("complex")
        return complex(self._a)

    def __bool__(self):
        syncs.record("bool")
        return bool(self._a)

    def __index__(self):
        syncs.record("index")
        return self._a.__index__()

    def __format__(self, spec):
        syncs.record("format")
        return format(self._a, spec)

    def __contains__(self, value):
        syncs.record("contains")
        return _operand(value, "in") in self._a

    def __repr__(self):
        syncs.record("repr", exempt=True)
        return repr(self._a).replace("array(", "StrictArray(", 1)

    def __str__(self):
        syncs.record("repr", exempt=True)
        return str(self._a)

    def __reduce__(self):
        syncs.record("pickle")
        return (_from_host, (np.array(self._a),))

    # -- copies, writes and data-dependent methods ------------------------------------
    def __copy__(self):
        return StrictArray._of(self._a.copy())

    def __deepcopy__(self, memo):
        return self.__copy__()

    def set(self, arr, stream=None):
        """Copy the host array ``arr`` (same shape) into this device array."""
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape:
            raise ValueError(f"set needs a NumPy array of shape {self.shape}")
        self._a[...] = arr

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        return StrictArray._of(self._a.astype(dtype, order=order, casting=casting or "unsafe", copy=copy))

    def nonzero(self):
        syncs.record("nonzero")
        return _wrap(self._a.nonzero())

    def compress(self, condition, axis=None, out=None):
        syncs.record("compress")
        return _wrap(self._a.compress(_unwrap(condition, "compress"), axis=axis, out=_unwrap(out, "compress")))

    def __getitem__(self, key):
        index, mask = _index(key, self.shape)
        if mask:
            syncs.record("mask indexing")
        return _wrap(self._a[index])

    def __setitem__(self, key, value):
        index, mask = _index(key, self.shape)
        if mask:
            syncs.record("mask assignment")
        self._a[index] = _operand(value, "assignment into a device array")   # scalars or device arrays


def _from_host(a):
    return StrictArray._of(a)


def _array_method(name):
    def method(self, *args, **kwargs):
        where = f"ndarray.{name}"
        return _wrap(getattr(self._a, name)(*_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))
    method.__name__ = name
    return method


for _name in ("all", "any", "argmax", "argmin", "argpartition", "argsort", "choose", "clip", "conj", "conjugate",
              "copy", "cumprod", "cumsum", "diagonal", "dot", "fill", "flatten", "max", "mean", "min",
              "partition", "prod", "ptp", "put", "ravel", "repeat", "reshape", "round", "sort", "squeeze", "std",
              "sum", "swapaxes", "take", "trace", "transpose", "var", "view"):
    assert _name in _METHODS, _name
    setattr(StrictArray, _name, _array_method(_name))


# ---------------------------------------------------------------- operators and ufuncs

def _apply_ufunc(ufunc, method, inputs, kwargs):
    """``ufunc.method(*inputs, **kwargs)`` on device operands (host arrays raise)."""
    name = ufunc.__name__
    if name not in _MODULE:
        raise TypeError(f"numpy.{name} was applied to a device array, but CuPy has no cupy.{name} "
                        "(strict backend, CuPy 13/14 API)")
    if method not in ("__call__", "at", "reduce", "accumulate", "outer"):
        raise TypeError(f"numpy.{name}.{method} is not supported on device arrays")
    where = f"numpy.{name}"
    args = [_unwrap(x, where) if method == "at" and i == 1 else _operand(x, where)   # at(a, indices, b)
            for i, x in enumerate(inputs)]
    out = kwargs.get("out")
    kwargs = {k: _unwrap(v, where) for k, v in kwargs.items() if k != "out"}
    if out is not None:
        kwargs["out"] = tuple(_operand(o, f"{where}(out=...)") for o in (out if isinstance(out, tuple) else (out,)))
    result = getattr(ufunc, method)(*args, **kwargs)
    if out is not None:
        return out if not isinstance(out, tuple) or len(out) > 1 else out[0]
    return _wrap(result)


def _binary(ufunc, reflected=False):
    def op(self, other):
        pair = (other, self) if reflected else (self, other)
        return _apply_ufunc(ufunc, "__call__", pair, {})
    return op


def _inplace(ufunc):
    def op(self, other):
        ufunc(self._a, _operand(other, f"in-place {ufunc.__name__}"), out=self._a)
        return self
    return op


for _dunder, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
                        ("floordiv", np.floor_divide), ("mod", np.remainder), ("pow", np.power),
                        ("matmul", np.matmul), ("and", np.bitwise_and), ("or", np.bitwise_or),
                        ("xor", np.bitwise_xor), ("lshift", np.left_shift), ("rshift", np.right_shift)):
    setattr(StrictArray, f"__{_dunder}__", _binary(_ufunc))
    setattr(StrictArray, f"__r{_dunder}__", _binary(_ufunc, reflected=True))
    setattr(StrictArray, f"__i{_dunder}__", _inplace(_ufunc))
for _dunder, _ufunc in (("lt", np.less), ("le", np.less_equal), ("eq", np.equal), ("ne", np.not_equal),
                        ("gt", np.greater), ("ge", np.greater_equal)):
    setattr(StrictArray, f"__{_dunder}__", _binary(_ufunc))
for _dunder, _ufunc in (("neg", np.negative), ("pos", np.positive), ("abs", np.absolute), ("invert", np.invert)):
    setattr(StrictArray, f"__{_dunder}__", lambda self, _u=_ufunc: _apply_ufunc(_u, "__call__", (self,), {}))
StrictArray.__divmod__ = lambda self, other: _apply_ufunc(np.divmod, "__call__", (self, other), {})


class _Ufunc:
    """A NumPy ufunc as this module offers it: device operands only."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout = ufunc.nin, ufunc.nout

    def __call__(self, *args, **kwargs):
        return _apply_ufunc(self._ufunc, "__call__", args, kwargs)

    def at(self, *args, **kwargs):
        return _apply_ufunc(self._ufunc, "at", args, kwargs)

    def reduce(self, *args, **kwargs):
        return _apply_ufunc(self._ufunc, "reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return _apply_ufunc(self._ufunc, "accumulate", args, kwargs)

    def outer(self, *args, **kwargs):
        return _apply_ufunc(self._ufunc, "outer", args, kwargs)

    def __repr__(self):
        return f"<strict ufunc {self.__name__!r}>"


# ---------------------------------------------------------------- module-level functions

def _call(func, name, args, kwargs):
    """``func`` on unwrapped device arguments, its results wrapped; data-dependent sizes are reported."""
    if name in _DATA_DEPENDENT or (name == "where" and len(args) + len(kwargs) == 1):
        syncs.record(name)
    result = func(*_unwrap(args, name), **_unwrap_kwargs(kwargs, name))
    if name in _DEVICE_SCALARS and isinstance(result, (bool, int, float)):
        result = np.asarray(result)
    return _wrap(result)


def _function(name, func):
    def function(*args, **kwargs):
        return _call(func, name, args, kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"cupy.{name} on the strict backend (NumPy's {name} underneath)."
    return function


def asarray(a, dtype=None, order=None, *, blocking=False):
    """A device array of ``a``: a device array is returned as it is (cast if ``dtype``); host data is copied."""
    if type(a) is StrictArray:
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    return StrictArray._of(np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A device array of ``obj`` (host data is always copied; a device array when ``copy``)."""
    source = obj._a if type(obj) is StrictArray else obj
    return StrictArray._of(np.array(source, dtype=dtype, copy=bool(copy) or type(obj) is not StrictArray,
                                    order=order, ndmin=ndmin))


asanyarray = asarray


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A host copy of ``a`` (a host read when ``a`` is a device array)."""
    if type(a) is StrictArray:
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    """This module if any argument is a device array, else numpy."""
    return sys.modules[__name__] if any(type(a) is StrictArray for a in args) else np


ndarray = StrictArray
_SPECIAL = {"asarray", "array", "asanyarray", "asnumpy", "get_array_module", "ndarray"}


def _populate(namespace, allowed, source):
    """Fill ``namespace`` with every name of ``allowed`` that ``source`` (a NumPy module) defines."""
    for name in sorted(allowed - _SPECIAL):
        value = getattr(source, name, None)
        if value is None and name != "newaxis":
            continue
        if isinstance(value, np.ufunc):
            namespace[name] = _Ufunc(value)
        elif isinstance(value, (type, types.ModuleType, float, int)) or value is None:
            if not isinstance(value, types.ModuleType):
                namespace[name] = value
        elif callable(value):
            namespace[name] = _function(name, value)


_NAMESPACE = {}
"""CuPy's module-level names (sum, max, abs, ...), served by ``__getattr__`` so they never shadow builtins here."""
_populate(_NAMESPACE, _MODULE, np)


def __getattr__(name):
    try:
        return _NAMESPACE[name]
    except KeyError:
        why = " (NumPy has it; CuPy 13/14 does not)" if hasattr(np, name) else ""
        raise AttributeError(f"module 'cupy' has no attribute {name!r}{why} (strict backend)") from None


def __dir__():
    return sorted(set(globals()) | set(_NAMESPACE))


def _submodule(name, allowed, source):
    module = types.ModuleType(f"{__name__}.{name}")
    _populate(vars(module), allowed, source)
    sys.modules[module.__name__] = module
    return module


linalg = _submodule("linalg", names("cupy.linalg"), np.linalg)
lib = _submodule("lib", set(), np.lib)
lib.stride_tricks = _submodule("lib.stride_tricks", names("cupy.lib.stride_tricks"), np.lib.stride_tricks)
_SUBMODULE_NAMES = {"cupy.linalg": names("cupy.linalg"), "cupy.lib.stride_tricks": names("cupy.lib.stride_tricks")}

from . import strict_random as random  # noqa: E402  (needs StrictArray defined above)

sys.modules[f"{__name__}.random"] = random
