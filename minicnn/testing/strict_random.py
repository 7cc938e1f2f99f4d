"""``random`` of the strict backend: CuPy's Generator API, and only it, over NumPy's PCG64.

``default_rng(seed)`` is ``Generator(XORWOW(seed))`` as on CuPy. A bit
generator (``XORWOW``, ``MRG32k3a``, ``Philox4x3210``) takes ``seed`` (None,
an int, a sequence of ints or a ``numpy.random.SeedSequence``) and the
keyword ``size`` (CuPy's number of cuRAND states; checked, otherwise
unused). A ``Generator`` has exactly the methods of ``cupy.random.Generator``
(pinned in ``cupy_api.txt``); asking for another (``normal``,
``permutation``, ``choice``, ``shuffle``...) raises AttributeError. Draws are
device arrays (0-d when ``size`` is None); parameters may be scalars or device
arrays, never host arrays. The legacy global-state functions
(``cupy.random.rand`` ...) are not provided: minicnn passes generators
explicitly.
"""
import numpy as np

from .cupy_api import names
from .strict import StrictArray, _unwrap, _wrap

_METHODS = names("cupy.random.Generator")


class BitGenerator:
    """A seeded source of random bits (CuPy keeps its state on the device; here it is NumPy's PCG64)."""

    def __init__(self, seed=None, *, size=-1):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"{type(self).__name__}: size must be an int, got {size!r}")
        if isinstance(seed, StrictArray):
            seed = seed.get()
        self._seed_seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._size = int(size)
        self._numpy = np.random.Generator(np.random.PCG64(self._seed_seq))

    def random_raw(self, size=None, output=True):
        draws = StrictArray._of(self._numpy.integers(0, 2 ** 32, size=size, dtype=np.uint64))
        return draws if output else None


class XORWOW(BitGenerator):
    """cuRAND's XORWOW (CuPy's default) in name; NumPy's PCG64 in fact."""


class MRG32k3a(BitGenerator):
    """cuRAND's MRG32k3a in name; NumPy's PCG64 in fact."""


class Philox4x3210(BitGenerator):
    """cuRAND's counter-based Philox4x32-10 in name; NumPy's PCG64 in fact."""


class Generator:
    """``cupy.random.Generator``: the distributions CuPy implements, drawing device arrays."""

    def __init__(self, bit_generator):
        if not isinstance(bit_generator, BitGenerator):
            raise TypeError(f"Generator needs a BitGenerator (XORWOW, MRG32k3a, Philox4x3210), "
                            f"got {type(bit_generator).__name__}")
        self.bit_generator = bit_generator

    def _draw(self, method, *args, dtype=None, out=None, native=None, **kwargs):
        """NumPy's ``method`` (in dtype ``native`` if given), cast to ``dtype``, as a device array or into ``out``."""
        if native is not None:
            kwargs["dtype"] = native
        draws = getattr(self.bit_generator._numpy, method)(*_unwrap(args, f"Generator.{method}"), **kwargs)
        draws = np.asarray(draws) if dtype is None else np.asarray(draws).astype(dtype, copy=False)
        if out is not None:
            out[...] = StrictArray._of(draws)
            return out
        return _wrap(draws)

    def random(self, size=None, dtype=np.float64, out=None):
        native = np.float64 if np.dtype(dtype).char == "d" else np.float32   # as CuPy: float32, then cast
        return self._draw("random", size=size, dtype=dtype, out=out, native=native)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return self._draw("uniform", low, high, size=size, dtype=dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if isinstance(low, StrictArray) or isinstance(high, StrictArray):
            low = int(low)                      # CuPy reads the bounds on the host
            high = None if high is None else int(high)
        return self._draw("integers", low, high, size=size, dtype=dtype, endpoint=endpoint)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        if np.dtype(dtype).char not in "fd":
            raise TypeError(f"Unsupported dtype {np.dtype(dtype).name} for standard_normal")
        return self._draw("standard_normal", size=size, dtype=dtype, out=out, native=dtype)

    def standard_exponential(self, size=None, dtype=np.float64, method="inv", out=None):
        if method == "zig":
            raise NotImplementedError("Ziggurat method is not supported")
        return self._draw("standard_exponential", size=size, dtype=dtype, out=out)

    def standard_gamma(self, shape, size=None, dtype=np.float64, out=None):
        return self._draw("standard_gamma", shape, size=size, dtype=dtype, out=out)

    def beta(self, a, b, size=None, dtype=np.float64):
        return self._draw("beta", a, b, size=size, dtype=dtype)

    def binomial(self, n, p, size=None):
        return self._draw("binomial", n, p, size=size)

    def chisquare(self, df, size=None):
        return self._draw("chisquare", df, size=size)

    def dirichlet(self, alpha, size=None):
        return self._draw("dirichlet", alpha, size=size)

    def exponential(self, scale=1.0, size=None):
        return self._draw("exponential", scale, size=size)

    def f(self, dfnum, dfden, size=None):
        return self._draw("f", dfnum, dfden, size=size)

    def gamma(self, shape, scale=1.0, size=None):
        return self._draw("gamma", shape, scale, size=size)

    def geometric(self, p, size=None):
        return self._draw("geometric", p, size=size)

    def hypergeometric(self, ngood, nbad, nsample, size=None):
        return self._draw("hypergeometric", ngood, nbad, nsample, size=size)

    def logseries(self, p, size=None):
        return self._draw("logseries", p, size=size)

    def poisson(self, lam=1.0, size=None):
        return self._draw("poisson", lam, size=size)

    def power(self, a, size=None):
        return self._draw("power", a, size=size)


assert {m for m in vars(Generator) if not m.startswith("_")} | {"bit_generator"} == _METHODS


def default_rng(seed=None):
    """A ``Generator`` over ``XORWOW(seed)``; a BitGenerator is wrapped, a Generator returned as it is."""
    if isinstance(seed, Generator):
        return seed
    return Generator(seed if isinstance(seed, BitGenerator) else XORWOW(seed))
