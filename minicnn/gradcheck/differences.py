"""Finite differences of <f(), dout>, each with an estimate of its own rounding noise.

A ``Probe`` owns one float64 input array ``x`` of a function ``f`` of no
arguments (``f`` reads ``x``). It moves entries of ``x`` in place, evaluates,
and writes the old values back exactly, so the caller's array is unchanged
afterwards. With an upstream gradient ``dout`` (``f`` returns an array) it
measures the scalar ``<f(), dout>``; without one ``f`` must return a scalar.

Each measurement gives three difference quotients and a noise estimate:

    central   <dout, f(x + d) - f(x - d)> / (2h)
    forward   <dout, f(x + d) - f(x)> / h
    backward  <dout, f(x) - f(x - d)> / h
    noise     EPS * sqrt(sum_j ((|f(x + d)_j| + |f(x - d)_j|) * dout_j)^2) / (2h)

``d`` is h at one element (``element``) or h times a direction v over many
(``along``). The steps really taken, ``(x + d) - (x - d)`` in float64, are
returned too: at |x| = 1e4 they differ from 2h by one part in 10^7.

The noise estimate: every output entry carries a float64 rounding error of
about EPS times its magnitude, and these errors are independent from entry to
entry, so in the contraction with ``dout`` they add like a random walk (the
root of the sum of squares, not the sum). Outputs that the move left exactly
unchanged cancel and are left out. Divided by the step, that is how far the
quotient can be off from rounding alone, whatever the outputs' scale: a layer
whose outputs are 1e4 (a batch-norm beta of 1e4) has noise 1e4 times larger
than one whose outputs are 1; a gradient error well above the noise is seen at
either scale.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import ShapeError

EPS = float(np.finfo(np.float64).eps)


@dataclass
class Differences:
    """Host arrays (one value per measurement) of the quotients described in the module docstring."""

    central: np.ndarray
    forward: np.ndarray
    backward: np.ndarray
    noise: np.ndarray

    def where(self, mask):
        """The measurements selected by the boolean ``mask``."""
        return Differences(self.central[mask], self.forward[mask], self.backward[mask], self.noise[mask])


class Probe:
    """Finite differences of ``<f(), dout>`` (or of a scalar ``f()``) with respect to the array ``x``."""

    def __init__(self, f, x, dout=None):
        self.f, self.x, self.dout = f, x, dout
        self.xp = xp_of(x)
        self.base = self._evaluate()

    def _evaluate(self):
        out = self.f()
        if self.dout is None:
            return float(out)
        out = self.xp.array(out, dtype=self.xp.float64, copy=True)     # f may return x itself
        if out.shape != self.dout.shape:
            raise ShapeError(f"numerical_gradient: f() returned shape {tuple(out.shape)} "
                             f"but dout has shape {tuple(self.dout.shape)}")
        return out

    def _contract(self, upper, lower):
        """<dout, upper - lower> as a float (upper - lower for a scalar f)."""
        if self.dout is None:
            return upper - lower
        return float(((upper - lower) * self.dout).sum())

    def _rounding(self, plus, minus):
        """The rounding noise of ``_contract(plus, minus)`` (see the module docstring)."""
        if self.dout is None:
            return EPS * (abs(plus) + abs(minus))
        xp = self.xp
        terms = (xp.abs(plus) + xp.abs(minus)) * self.dout * (plus != minus)
        return EPS * float(xp.sqrt((terms * terms).sum()))

    def _measure(self, put, old, up, down):
        """Evaluate with ``put(up)`` and ``put(down)``, then ``put(old)``.

        Returns the raw contractions (plus - minus, plus - base, base - minus)
        and the rounding noise of the first.
        """
        try:
            put(up)
            plus = self._evaluate()
            put(down)
            minus = self._evaluate()
        finally:
            put(old)
        return (self._contract(plus, minus), self._contract(plus, self.base),
                self._contract(self.base, minus), self._rounding(plus, minus))

    def element(self, flat_indices, h):
        """Differences for one element at a time, at each flat index, over the steps really taken.

        Returns ``Differences`` with one value per index.
        """
        x, rows = self.x, []
        for flat in flat_indices:
            idx = np.unravel_index(int(flat), x.shape)
            old = float(x[idx])
            up, down = old + h, old - h

            def put(value, idx=idx):
                x[idx] = value
            central, forward, backward, noise = self._measure(put, old, up, down)
            rows.append((central / (up - down), forward / (up - old), backward / (old - down),
                         noise / (up - down)))
        columns = zip(*rows) if rows else [()] * 4
        return Differences(*(np.array(col, dtype=np.float64) for col in columns))

    def along(self, flat_indices, v, h):
        """Differences for moving the elements at ``flat_indices`` together by h * v (host float array).

        Returns ``(Differences of one value each, steps)``, where ``steps`` holds
        three host arrays, per element: the displacements really taken over the
        nominal steps, ``((x + d) - (x - d)) / 2h``, ``((x + d) - x) / h`` and
        ``(x - (x - d)) / h``. The analytic counterparts of the central, forward
        and backward quotients are their dot products with the gradient.
        """
        x, xp = self.x, self.xp
        idx = np.unravel_index(np.asarray(flat_indices, dtype=np.int64), x.shape)
        dev_idx = tuple(xp.asarray(i) for i in idx)
        old = to_numpy(x[dev_idx]).astype(np.float64)
        up, down = old + h * v, old - h * v

        def put(value):
            x[dev_idx] = xp.asarray(value)
        central, forward, backward, noise = self._measure(put, old, up, down)
        measured = (central / (2 * h), forward / h, backward / h, noise / (2 * h))
        steps = ((up - down) / (2 * h), (up - old) / h, (old - down) / h)
        return Differences(*(np.array([m]) for m in measured)), steps
