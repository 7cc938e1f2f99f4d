"""Numerical gradient checking: is a backward pass the derivative of its forward?

Centred differences in float64 against the analytic gradients, one report row
per input or parameter. Works on NumPy and CuPy arrays (elements are perturbed
in place on their device; only scalar results cross to the host).

Protocol (functional form with in-place perturbation): a function under check
takes NO arguments and reads its input arrays; the checker perturbs elements
of such an array in place (x[i] += h), evaluates, and restores them exactly.

  numerical_gradient(f, x, dout)  d<f(), dout>/dx by centred differences
  check_function(f, inputs, analytic_grads)   any scalar function, e.g. a model loss
  check_layer(forward, backward, inputs)      a forward/backward pair
  check_loss(loss, inputs)                    a loss returning (value, gradients)

Every finite difference comes with an estimate of its own rounding noise
(``minicnn.gradcheck.differences``): the float64 rounding of the outputs that
moved, added like independent errors, divided by the step. It grows with the
outputs' magnitude: a layer whose outputs are 1e4 gets a 1e4 times larger
allowance than one whose outputs are 1, and no more.

A row passes when all of these hold:

1. Element by element, with a the analytic and n the numerical derivative,
   each checked element
   * agrees: |a - n| / max(|a| + |n|, floor) <= tol, where floor =
     max(tiny, 1e-3 * max |n| over the array) holds an element a thousand
     times smaller than the largest of its array (a zero gradient, say) to the
     absolute accuracy tol * floor (the truncation error of centred
     differences, h^2 times the third derivative over 6, does not shrink with
     the element);
   * or is "at noise": |a - n| <= ROUNDING_FACTOR * its noise estimate;
   * or is a kink (below).
2. Along one direction v: the checked elements that finite differences can
   tell from zero (|a| or |n| above its noise allowance) and that are not
   kinks move together, each by h/2 along the sign of its gradient, and the
   centred difference D of <f, dout> along v is compared with the analytic
   A = sum_i a_i * (step taken by element i). D gathers the signal of every
   element while its rounding is that of one pair of evaluations, so it sees
   errors that each single element cannot (at beta = 1e4 in batch norm, one
   element resolves ~1e-4, the direction ~1e-6). With size = |A| + |D|, but
   at least SCALE_FLOOR * (the largest |n| of the whole check) per moved
   element, and noise = ROUNDING_FACTOR * D's noise estimate / size, the
   relative error along v, |A - D| / size, must be <= max(tol, noise). A
   multiplicative error g * (1 + e) shows as e / 2. The floor holds a row
   whose gradient is a thousand times smaller than the check's largest (the
   gamma of a batch norm followed by another one) to that absolute accuracy,
   as the element floor does within a row.
3. The direction resolves RESOLUTION: noise <= 1e-4. Where the outputs are so
   large next to their changes that rounding would hide a larger error
   (batch norm with beta = 1e8), the row fails as inconclusive instead of
   passing what it cannot see. That is what makes the verdict independent
   of the output scale. A row with no element told from zero passes as
   "zero within noise" (with that bound) when its analytic gradient is zero
   too (below ZERO_FRACTION of the noise: a bias before a batch norm), and is
   inconclusive otherwise.

The report shows, per row, the elements checked, skipped as kinks and "at
noise", the largest element-wise relative error (kinks excluded) and where,
the relative error along v and its noise allowance.

Step h: 1e-5 by default. Truncation error grows as h^2 and float64 rounding as
eps / h; on the built-in layers 1e-5 gave errors 10-100x below those of 1e-6.
The step is relative to the scale of the array's values, h * max(std,
min(1, rms)) (h itself for an all-zero array), so the check does not depend on
the unit of the values: inputs of size 1e-4 are not stepped across their own
spacing (a max-pool window of such values would be full of kinks), inputs
spread over 1e4 move their outputs by more than the outputs' rounding, and
inputs 1e4 + N(0, 1) keep the step of their spread, 1e-5. The quotients use
the steps really taken ((x + h) - (x - h) in float64).

Kinks: where the function is not differentiable within +-h of the point (ReLU
input near 0, a max-pool window whose two largest values are within 2h, a hinge
at its corner), centred differences are meaningless. The checker also takes the
one-sided differences (f(x+h) - f(x))/h and (f(x) - f(x-h))/h; an element that
fails, whose one-sided differences disagree (a change of slope inside +-h), and
whose analytic value lies between them (a valid subgradient) is SKIPPED and
counted in the report instead of failing spuriously. A wrong backward at a
smooth point has equal one-sided differences, so it is never excused. Moving
by at most h/2 each, the elements of the direction cannot cross a kink that
involves two of them without one of them being a kink itself; should the
one-sided differences along the direction still disagree, the direction is not
judged and the note says so.

ROUNDING_FACTOR: measured on every built-in layer kind at output magnitudes
1e-4 to 1e4 (tests/test_gradcheck_scale.py, all elements, ten seeds), errors
of right gradients above tol stayed below 0.95 times the noise estimate
element by element and 1.2 times along v; 8 leaves a margin of 6. With it,
all 6,100 rows with a planted relative error of 1e-3 or 1e-4 failed.
"""
import math
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import ConfigError
from .differences import Probe
from .report import GradcheckReport, GradcheckRow

SCALE_FLOOR = 1e-3
"""Relative errors are measured against at least SCALE_FLOOR * max |n| of the array."""

ROUNDING_FACTOR = 8.0
"""Safety factor over the rounding-noise estimate of a finite difference."""

RESOLUTION = 1e-4
"""A row whose directional check cannot see a relative error of RESOLUTION fails as inconclusive."""

ZERO_FRACTION = 1e-3
"""A row none of whose elements differences can resolve passes as zero only if |a| <= ZERO_FRACTION * noise."""

KINK_SPREAD = 1e-3
"""One-sided differences that disagree by more than this fraction of their size mark a change of slope."""

KINK_REASON = "kink: one-sided differences disagree within +-h, analytic value between them"


def _require_float64(where, name, x):
    if x.dtype != np.float64:
        raise ConfigError(f"{where}: {name} has dtype {x.dtype}; gradient checks need float64 "
                          f"(pass {name}.astype('float64'))")


def numerical_gradient(f, x, dout=None, h=1e-5, indices=None):
    """Centred-difference derivative of f with respect to the float64 array x.

    f: a function of no arguments that reads x; x is perturbed in place one
    element at a time and restored. If f() returns a scalar, the result is
    df/dx; if it returns an array, pass ``dout`` (same shape) and the result is
    the gradient of sum(f() * dout), i.e. what a backward pass returns for the
    upstream gradient dout.
    indices: None for every element (result has x's shape), or a sequence of
    flat indices (result is 1-D, one value per index, in that order).
    The step is h itself (the checks below scale it to each array).
    Returns a float64 array on x's backend.
    """
    xp = xp_of(x, dout)
    _require_float64("numerical_gradient", "x", x)
    flat = range(x.size) if indices is None else indices
    central = Probe(f, x, dout).element(flat, h).central
    return xp.asarray(central.reshape(x.shape) if indices is None else central)


def _pick_indices(size, max_elements, rng):
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_elements, replace=False))


def _is_kink(a, forward, backward, allowance, tol):
    """Where the one-sided slopes disagree (a change of slope within +-h) and a lies between them."""
    lo, hi = np.minimum(forward, backward), np.maximum(forward, backward)
    slack = tol * (np.abs(lo) + np.abs(hi)) + allowance
    return (hi - lo > KINK_SPREAD * (np.abs(forward) + np.abs(backward))) & (a >= lo - slack) & (a <= hi + slack)


def _elementwise(a, d, tol, tiny):
    """Per element: (relative error, at_noise, failing, kink) masks; see the module docstring."""
    n = d.central
    err = np.abs(a - n)
    floor = max(tiny, SCALE_FLOOR * float(np.abs(n).max(initial=0.0)))
    rel = err / np.maximum(np.abs(a) + np.abs(n), floor)
    allowance = ROUNDING_FACTOR * d.noise
    at_noise = ~(rel <= tol) & (err <= allowance)
    failing = ~(rel <= tol) & ~at_noise                       # NaN fails
    kink = failing & _is_kink(a, d.forward, d.backward, 2 * allowance, tol)
    return rel, at_noise, failing, kink


def _directional(probe, a, d, indices, h, tol, floor):
    """The check along one direction: (relative error, relative noise allowance, judged).

    The direction moves each given element by h/2 along the sign of its
    analytic gradient (of the numerical one where that is 0). Errors are
    relative to |A| + |D|, or to ``floor`` per moved element if that is more.
    """
    v = 0.5 * np.where(a != 0, np.sign(a), np.sign(d.central))
    moved = v != 0
    along, steps = probe.along(indices[moved], v[moved], h)
    analytic = float(a[moved] @ steps[0])
    numerical = float(along.central[0])
    size = max(abs(analytic) + abs(numerical), floor * int(moved.sum()))
    allowance = ROUNDING_FACTOR * float(along.noise[0])
    if size == 0.0:
        return 0.0, 0.0, True
    kink = bool(_is_kink(analytic, along.forward, along.backward, 2 * allowance, tol)[0])
    return abs(analytic - numerical) / size, allowance / size, not kink


def _verdict(elements_ok, kinks, dir_err, dir_noise, judged, tol):
    """(passed, note) of a row from its element-by-element result and its directional check."""
    notes = [KINK_REASON] if kinks else []
    if dir_noise > RESOLUTION:
        notes.append(f"inconclusive: finite differences here cannot see relative errors below {dir_noise:.0e} "
                     f"(the check needs {RESOLUTION:.0e}); the outputs are large next to their changes")
        return False, "; ".join(notes)
    if not judged:
        notes.append("kink along v: direction not judged")
    elif dir_err > max(tol, dir_noise):
        notes.append(f"along v the gradient is off by {dir_err:.1e}, more than finite differences can be")
        return False, "; ".join(notes)
    return elements_ok, "; ".join(notes)


def _unresolved(elements_ok, kinks, a, allowance):
    """(passed, note) of a row none of whose elements finite differences can tell from zero.

    A gradient that is zero (a bias before a batch norm, ReLU's dead side)
    passes with the bound the differences put on it; an analytic gradient
    that is not zero but drowned in noise is inconclusive.
    """
    notes = [KINK_REASON] if kinks else []
    if a.size == 0:
        return elements_ok, "; ".join(notes)
    bound = float(allowance.max())
    if float(np.abs(a).max()) > ZERO_FRACTION * bound:
        notes.append(f"inconclusive: every element is within its finite-difference noise (up to {bound:.0e}); "
                     "the outputs are large next to their changes")
        return False, "; ".join(notes)
    notes.append(f"zero within noise: |gradient| <= {bound:.0e}" if bound else "zero, as finite differences find")
    return elements_ok, "; ".join(notes)


def _step(x, h):
    """h times the scale of x's values (see the module docstring)."""
    if x.size == 0:
        return h
    spread, rms = float(x.std()), float(xp_of(x).sqrt((x * x).mean()))
    scale = max(spread, min(1.0, rms))
    return h * scale if scale > 0.0 else h


@dataclass
class _Measured:
    """One input's differences and element-by-element results, before its verdict."""
    name: str
    shape: tuple
    a: np.ndarray
    d: object
    indices: np.ndarray
    probe: Probe
    h: float
    rel: np.ndarray
    at_noise: np.ndarray
    failing: np.ndarray
    kink: np.ndarray


def _measure(name, x, analytic, probe, h, tol, tiny, indices):
    """The measurements of ``name``, or its failed row when the analytic gradient has the wrong shape."""
    shape = tuple(x.shape)
    if analytic is None or tuple(analytic.shape) != shape:
        got = None if analytic is None else tuple(analytic.shape)
        return GradcheckRow(name, shape, math.inf, None, 0, 0, 0, False,
                            f"analytic gradient has shape {got}, needs {shape}")
    h = _step(x, h)
    a = to_numpy(analytic).astype(np.float64).reshape(-1)[indices]
    d = probe.element(indices, h)
    return _Measured(name, shape, a, d, indices, probe, h, *_elementwise(a, d, tol, tiny))


def _judge(m, floor, tol):
    """The report row of measured input ``m``; ``floor`` is the direction's per-element floor."""
    smooth = ~m.kink
    if smooth.any():
        worst = int(np.argmax(np.where(smooth, np.nan_to_num(m.rel, nan=np.inf), -1.0)))
        max_rel = float(m.rel[worst])
        worst_index = tuple(int(i) for i in np.unravel_index(int(m.indices[worst]), m.shape))
    else:
        max_rel, worst_index = 0.0, None
    allowance = ROUNDING_FACTOR * m.d.noise
    resolved = smooth & ((np.abs(m.a) > allowance) | (np.abs(m.d.central) > allowance))
    elements_ok = not (m.failing & smooth).any()
    dir_err = dir_noise = math.nan
    if resolved.any():
        dir_err, dir_noise, judged = _directional(m.probe, m.a[resolved], m.d.where(resolved),
                                                  m.indices[resolved], m.h, tol, floor)
        passed, note = _verdict(elements_ok, m.kink.any(), dir_err, dir_noise, judged, tol)
    else:
        passed, note = _unresolved(elements_ok, m.kink.any(), m.a[smooth], allowance[smooth])
    return GradcheckRow(m.name, m.shape, max_rel, worst_index, len(m.indices), int(m.kink.sum()),
                        int(m.at_noise.sum()), passed, note, dir_err, dir_noise)


def _report(title, tol, h, tiny, targets):
    """A GradcheckReport from ``targets``: (name, x, analytic gradient, Probe, flat indices) per input.

    Every input is measured first: the direction of each is judged against
    at least SCALE_FLOOR times the largest numerical derivative of the check.
    """
    measured = [_measure(name, x, analytic, probe, h, tol, tiny, indices)
                for name, x, analytic, probe, indices in targets]
    largest = max((float(np.abs(m.d.central).max(initial=0.0)) for m in measured if isinstance(m, _Measured)),
                  default=0.0)
    rows = [m if isinstance(m, GradcheckRow) else _judge(m, SCALE_FLOOR * largest, tol) for m in measured]
    return GradcheckReport(title, tol, rows)


def check_function(f, inputs, analytic_grads, max_elements=None, seed=0, tol=1e-7, h=1e-5,
                   tiny=1e-8, title="check_function"):
    """Check the analytic gradients of a scalar function of several arrays.

    f: function of no arguments returning a scalar (float or 0-d array) that
    reads the arrays of ``inputs`` (dict name -> float64 array, perturbed in
    place and restored). analytic_grads: dict name -> gradient of f w.r.t.
    inputs[name], for the names to check. max_elements: check a random subset
    of at most this many elements per array (seeded by ``seed``).
    Example (a model loss): check_function(lambda: model.loss(X, y)[0],
    model.params, grads).
    Returns a GradcheckReport.
    """
    rng = np.random.default_rng(seed)
    targets = []
    for name, analytic in analytic_grads.items():
        if name not in inputs:
            raise ConfigError(f"{title}: gradient {name!r} has no input of that name "
                              f"(inputs: {', '.join(inputs)})")
        x = inputs[name]
        _require_float64(title, name, x)
        targets.append((name, x, analytic, Probe(f, x), _pick_indices(x.size, max_elements, rng)))
    return _report(title, tol, h, tiny, targets)


def _as_float64(xp, value):
    """A float64 copy of a floating array; anything else unchanged."""
    if hasattr(value, "dtype") and value.dtype.kind == "f":
        return xp.array(value, dtype=xp.float64, copy=True)
    return value


def _float64_arguments(inputs, config):
    """(inputs, config) with every floating array copied to float64 on the inputs' backend."""
    xp = xp_of(*inputs.values())
    return ({k: _as_float64(xp, v) for k, v in inputs.items()},
            {k: _as_float64(xp, v) for k, v in (config or {}).items()})


def _name_gradients(title, source, grads, grad_names, inputs):
    """Pair the gradients a backward/loss returned with the input names they belong to."""
    grads = grads if isinstance(grads, tuple) else (grads,)
    names = list(inputs) if grad_names is None else list(grad_names)
    if len(grads) != len(names):
        raise ConfigError(f"{title}: {source} returned {len(grads)} gradients but grad_names "
                          f"lists {len(names)} ({', '.join(names)})")
    for name in names:
        if name not in inputs:
            raise ConfigError(f"{title}: grad_names has {name!r}, which is not an input "
                              f"(inputs: {', '.join(inputs)})")
    return dict(zip(names, grads))


def check_layer(forward, backward, inputs, config=None, grad_names=None, max_elements=None,
                seed=0, tol=1e-7, h=1e-5, tiny=1e-8, title=None):
    """Check a forward/backward pair against numerical gradients.

    forward(**inputs, **config) returns (out, cache, ...) -- out first, cache
    second, anything after is ignored; backward(dout, cache) returns the
    gradient of each name in ``grad_names`` (default: the keys of ``inputs``
    in order), one array or a tuple. inputs: dict name -> array, the
    differentiated arguments; config: dict of other keyword arguments (stride,
    train, a dropout mask, running statistics...). Floating arrays of both are
    copied to float64 first; the caller's arrays are never touched.
    A random upstream gradient dout ~ N(0, 1) (seeded) is pulled back, and each
    returned gradient is compared with the centred differences of <out, dout>.
    Returns a GradcheckReport.
    """
    title = title or getattr(forward, "__name__", "layer")
    inputs, config = _float64_arguments(inputs, config)
    rng = np.random.default_rng(seed)

    def output():
        return forward(**inputs, **config)[0]

    out, cache = forward(**inputs, **config)[:2]
    dout = xp_of(out).asarray(rng.standard_normal(tuple(out.shape)))
    grads = _name_gradients(title, "backward", backward(dout, cache), grad_names, inputs)
    return _report(title, tol, h, tiny, [(name, inputs[name], analytic, Probe(output, inputs[name], dout),
                                          _pick_indices(inputs[name].size, max_elements, rng))
                                         for name, analytic in grads.items()])


def check_loss(loss, inputs, config=None, grad_names=None, max_elements=None, seed=0, tol=1e-7,
               h=1e-5, tiny=1e-8, title=None):
    """Check a loss function that returns (value, gradient or tuple of gradients).

    loss(**inputs, **config) -> (scalar, grads) with grads in the order of
    ``grad_names`` (default: the keys of ``inputs``), e.g.
    check_loss(softmax_cross_entropy, {"scores": s}, {"y": y}).
    Floating arrays are copied to float64 first. Returns a GradcheckReport.
    """
    title = title or getattr(loss, "__name__", "loss")
    inputs, config = _float64_arguments(inputs, config)
    grads = _name_gradients(title, "the loss", loss(**inputs, **config)[1], grad_names, inputs)
    return check_function(lambda: loss(**inputs, **config)[0], inputs, grads,
                          max_elements=max_elements, seed=seed, tol=tol, h=h, tiny=tiny, title=title)


@dataclass
class GradcheckCase:
    """Something to check plus example inputs: what ``minicnn gradcheck`` runs.

    Give either ``forward`` and ``backward`` (checked with ``check_layer``) or
    ``loss`` (checked with ``check_loss``). ``inputs`` (the differentiated
    arrays) and ``config`` (other keyword arguments) are dicts, or functions of
    no arguments returning one. Arrays may be NumPy; ``run`` moves them to the
    requested backend. ``tol`` and ``h`` override the checker's defaults.
    """
    name: str
    inputs: object
    forward: object = None
    backward: object = None
    loss: object = None
    config: object = None
    grad_names: list = None
    tol: float = 1e-7
    h: float = 1e-5

    def run(self, xp=None, seed=0, max_elements=None, tol=None):
        """Check this case on backend ``xp`` (default: the default backend)."""
        from ..backend import to_device

        def materialize(value):
            value = value() if callable(value) else (value or {})
            return {k: to_device(v, xp) if hasattr(v, "dtype") else v for k, v in value.items()}

        inputs, config = materialize(self.inputs), materialize(self.config)
        options = dict(grad_names=self.grad_names, max_elements=max_elements, seed=seed,
                       tol=self.tol if tol is None else tol, h=self.h, title=self.name)
        if self.loss is not None:
            return check_loss(self.loss, inputs, config, **options)
        if self.forward is None or self.backward is None:
            raise ConfigError(f"gradcheck case {self.name!r}: give forward and backward, or loss")
        return check_layer(self.forward, self.backward, inputs, config, **options)
