"""Do the fast paths and the device backends compute what the readable reference computes?

For every registered layer kind (``minicnn.registry``) and each of its
gradient-check cases, the forward output and every gradient (for a loss: its
value and gradients) are computed

* by the fast pair and, where the kind registers one, by its ``reference``
  pair (convolution's loops, max pooling's general path),
* on every array backend that works here (NumPy always; the strict CuPy
  stand-in and CuPy when ``minicnn.backend`` offers them),
* in float64 and float32,

and compared with one baseline: the reference pair (the fast pair where there
is none) on NumPy in float64. A cell of the table is the largest difference
over all cases, outputs and gradients, relative to the largest value of its
array: ``max |a - b| / max |b|``. It passes below ``TOLERANCE`` of its dtype.

    table = check_backends()            # or check_backends(["conv"], ["numpy"])
    print(table); table.passed
"""
import math
from dataclasses import dataclass, field

import numpy as np

from . import backend, registry
from .errors import BackendError, ConfigError

CANDIDATES = ("numpy", "strict", "cupy")
"""Backends tried, in table order; those ``minicnn.backend`` cannot provide here are left out."""

DTYPES = ("float64", "float32")

TOLERANCE = {"float64": 1e-12, "float32": 1e-5}
"""Largest relative difference that passes. float64 agrees to a few eps (summation order); float32
to about 1e-6 on the built-in layers (sums of up to 75 products, normalization)."""


def available_backends():
    """Dict name -> array module of every backend of ``CANDIDATES`` that works here."""
    found = {}
    for name in CANDIDATES:
        try:
            found[name] = backend._module_for(name)
        except BackendError:
            continue
    return found


@dataclass
class EquivalenceRow:
    """One kind's fast or reference path: relative difference per (backend, dtype); None for the baseline."""
    kind: str
    path: str
    cells: dict = field(default_factory=dict)

    @property
    def passed(self):
        return all(d is None or d <= TOLERANCE[dtype] for (_, dtype), d in self.cells.items())


@dataclass
class EquivalenceTable:
    """Rows of ``check_backends``; ``passed`` when every cell is within its tolerance."""
    backends: list
    rows: list = field(default_factory=list)

    @property
    def passed(self):
        return all(row.passed for row in self.rows)

    def __str__(self):
        columns = [(b, d) for b in self.backends for d in DTYPES]
        head = ["kind", "path"] + [f"{b} {d}" for b, d in columns] + ["result"]
        body = [[r.kind, r.path] + [_cell(r.cells.get(c)) for c in columns] + ["ok" if r.passed else "FAIL"]
                for r in self.rows]
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        lines = ["largest |difference| / largest |value| of outputs and gradients, against the reference "
                 "path (the fast one where a kind has none) on numpy float64"]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in [head] + body]
        lines.append("pass: " + ", ".join(f"{d} <= {TOLERANCE[d]:.0e}" for d in DTYPES)
                     + f"  ->  {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)


def _cell(value):
    return "baseline" if value is None else f"{value:.1e}"


def _as_list(grads):
    return list(grads) if isinstance(grads, tuple) else [grads]


def _values(value):
    return dict(value() if callable(value) else (value or {}))


def _moved(values, xp, dtype):
    """``values`` with arrays on ``xp``, floating ones cast to ``dtype``."""
    return {k: backend.to_device(v, xp, dtype=dtype if v.dtype.kind == "f" else None)
            if hasattr(v, "dtype") else v for k, v in values.items()}


def _evaluate(case, pair, xp, dtype, seed):
    """Host float64 copies of the outputs and gradients of ``pair`` (a loss, or (forward, backward)) on ``case``."""
    inputs, config = _moved(_values(case.inputs), xp, dtype), _moved(_values(case.config), xp, dtype)
    if callable(pair):
        value, grads = pair(**inputs, **config)
        results = [value] + _as_list(grads)
    else:
        forward, backward = pair
        out, cache = forward(**inputs, **config)[:2]
        dout = np.random.default_rng(seed).standard_normal(tuple(out.shape))
        results = [out] + _as_list(backward(backend.to_device(dout, xp, dtype=dtype), cache))
    return [np.asarray(backend.to_numpy(r), dtype=np.float64) for r in results]


def _difference(got, want):
    """max over arrays of max |got - want| / max |want|."""
    worst = 0.0
    for a, b in zip(got, want):
        scale = float(np.abs(b).max(initial=0.0)) or 1.0
        worst = max(worst, float(np.abs(a - b).max(initial=0.0)) / scale)
    return worst if len(got) == len(want) else math.inf


def _paths(kind, case):
    """(path name, pair) for the fast path and, where registered, the reference."""
    fast = case.loss if case.loss is not None else (kind.forward, kind.backward)
    return [("fast", fast)] + ([("reference", kind.reference)] if kind.reference and case.loss is None else [])


def check_backends(kinds=None, backends=None, seed=0):
    """The equivalence table of the registered ``kinds`` (default all) on ``backends`` (default all available).

    ``backends`` is a list of names from ``CANDIDATES``; one that does not
    work here raises the BackendError that says why.
    """
    modules = available_backends() if backends is None else {b: backend._module_for(b) for b in backends}
    names = list(registry.KINDS) if kinds is None else [registry.get(k).name for k in kinds]
    if not names:
        raise ConfigError("check_backends: no layer kinds to check")
    table = EquivalenceTable(list(modules))
    for name in names:
        kind = registry.KINDS[name]
        rows = {}
        for i, case in enumerate(kind.cases(np.random.default_rng(seed))):
            paths = _paths(kind, case)
            baseline = _evaluate(case, paths[-1][1], np, "float64", seed + i)
            for path, pair in paths:
                row = rows.setdefault(path, EquivalenceRow(name, path))
                for b, xp in modules.items():
                    for dtype in DTYPES:
                        if path == paths[-1][0] and b == "numpy" and dtype == "float64":
                            row.cells[(b, dtype)] = None
                            continue
                        diff = _difference(_evaluate(case, pair, xp, dtype, seed + i), baseline)
                        row.cells[(b, dtype)] = max(diff, row.cells.get((b, dtype)) or 0.0)
        table.rows.extend(rows.values())
    return table
