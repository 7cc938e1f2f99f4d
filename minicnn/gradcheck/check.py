"""Numerical gradient checking: is a backward pass the derivative of its forward?

Centred differences in float64 against the analytic gradients, one report row
per input or parameter. Works on NumPy and CuPy arrays (elements are perturbed
in place on their device; only scalar results cross to the host).

Protocol (functional form with in-place perturbation): a function under check
takes NO arguments and reads its input arrays; the checker perturbs one element
of such an array in place (x[i] += h), evaluates, and restores it exactly.

  numerical_gradient(f, x, dout)  d<f(), dout>/dx by centred differences
  check_function(f, inputs, analytic_grads)   any scalar function, e.g. a model loss
  check_layer(forward, backward, inputs)      a forward/backward pair
  check_loss(loss, inputs)                    a loss returning (value, gradients)

Pass rule for one element, with a the analytic and n the numerical derivative:
  * relative error |a - n| / max(|a| + |n|, floor) <= tol, where
    floor = max(tiny, 1e-3 * max |n| over the array): an element a thousand
    times smaller than the largest of its array (a zero gradient, say) is held
    to the absolute accuracy tol * floor, since the truncation error of
    centred differences (h^2 times the third derivative, over 6) does not
    shrink with the element;
  * or |a - n| within the rounding noise of the finite difference itself,
    ROUNDING_FACTOR * eps * S / (2h) with S = sum over the outputs that moved
    of (|out(x+h)| + |out(x-h)|) * |dout|  (|f(x+h)| + |f(x-h)| for a scalar
    f). Measured on the built-in layers, errors stay below 2x this estimate.
    Such elements are counted as "at noise"; layers where one input moves
    many outputs (spatial batchnorm) need it. A wrong gradient is off by far
    more than rounding, so it still fails.

Step h: 1e-5 by default. Truncation error grows as h^2 and float64 rounding as
eps / h; on the built-in layers 1e-5 gave errors 10-100x below those of 1e-6.

Kinks: where the function is not differentiable within +-h of the point (ReLU
input near 0, a max-pool window whose two largest values are within 2h, a hinge
at its corner), centred differences are meaningless. The checker also takes the
one-sided differences (f(x+h) - f(x))/h and (f(x) - f(x-h))/h; an element that
fails, whose one-sided differences disagree (a change of slope inside +-h), and
whose analytic value lies between them (a valid subgradient) is SKIPPED and
counted in the report instead of failing spuriously. A wrong backward at a
smooth point has equal one-sided differences, so it is never excused.
"""
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import ConfigError, ShapeError

SCALE_FLOOR = 1e-3
"""Relative errors are measured against at least SCALE_FLOOR * max |n| of the array."""

ROUNDING_FACTOR = 10.0
"""Safety factor over the rounding-noise estimate of a finite difference."""

KINK_REASON = "kink: one-sided differences disagree within +-h, analytic value between them"


@dataclass
class GradcheckRow:
    """The check of one input or parameter."""
    name: str
    shape: tuple
    max_rel_error: float          # over the elements judged by relative error (0.0 if none)
    worst_index: tuple            # where max_rel_error occurs (None if none)
    checked: int                  # elements compared
    skipped: int                  # of those, excused as kinks
    at_noise: int                 # of those, passed because |a - n| is within rounding noise
    passed: bool
    note: str = ""                # why skipped, or what is wrong


@dataclass
class GradcheckReport:
    """Rows of a check; ``passed`` is True when every row passed."""
    title: str
    tol: float
    rows: list = field(default_factory=list)

    @property
    def passed(self):
        return all(r.passed for r in self.rows)

    def row(self, name):
        """The row of input/parameter ``name``."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self):
        head = ("name", "shape", "checked", "kinks", "at noise", "max rel err", "at index", "result")
        body = [(r.name, "x".join(map(str, r.shape)) or "()", str(r.checked), str(r.skipped),
                 str(r.at_noise),
                 f"{r.max_rel_error:.2e}", "" if r.worst_index is None else str(r.worst_index),
                 ("ok" if r.passed else "FAIL") + (f"  ({r.note})" if r.note else ""))
                for r in self.rows]
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head) - 1)]
        lines = [f"{self.title}  [tol {self.tol:.0e}]  {'PASSED' if self.passed else 'FAILED'}"]
        for line in [head] + body:
            lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths)) + "  " + line[-1])
        return "\n".join(lines)


def _require_float64(where, name, x):
    if x.dtype != np.float64:
        raise ConfigError(f"{where}: {name} has dtype {x.dtype}; gradient checks need float64 "
                          f"(pass {name}.astype('float64'))")


def _one_sided_differences(f, x, dout, h, indices):
    """Host arrays (central, forward, backward, noise) at the flat ``indices`` of x.

    central/forward/backward: the centred and one-sided difference quotients
    of <f(), dout> (of f() itself when dout is None, f scalar); noise: the
    rounding-noise estimate of the central quotient (see the module docstring).
    For an array output, outputs are subtracted before contracting, so the
    outputs a perturbation does not touch cancel exactly.
    """
    xp = xp_of(x)
    eps = np.finfo(np.float64).eps

    def evaluate():
        out = f()
        if dout is None:
            return float(out)
        out = xp.array(out, dtype=xp.float64, copy=True)    # f may return x itself
        if out.shape != dout.shape:
            raise ShapeError(f"numerical_gradient: f() returned shape {tuple(out.shape)} "
                             f"but dout has shape {tuple(dout.shape)}")
        return out

    def slope(upper, lower, step):
        if dout is None:
            return (upper - lower) / step
        return float(((upper - lower) * dout).sum()) / step

    def magnitude(plus, minus):
        if dout is None:
            return abs(plus) + abs(minus)
        moved = plus != minus
        return float(((xp.abs(plus) + xp.abs(minus)) * xp.abs(dout) * moved).sum())

    base = evaluate()
    central, forward, backward, noise = (np.empty(len(indices)) for _ in range(4))
    for k, flat in enumerate(indices):
        idx = np.unravel_index(int(flat), x.shape)
        old = float(x[idx])
        try:
            x[idx] = old + h
            plus = evaluate()
            x[idx] = old - h
            minus = evaluate()
        finally:
            x[idx] = old
        central[k] = slope(plus, minus, 2 * h)
        forward[k] = slope(plus, base, h)
        backward[k] = slope(base, minus, h)
        noise[k] = eps * magnitude(plus, minus) / (2 * h)
    return central, forward, backward, noise


def numerical_gradient(f, x, dout=None, h=1e-5, indices=None):
    """Centred-difference derivative of f with respect to the float64 array x.

    f: a function of no arguments that reads x; x is perturbed in place one
    element at a time and restored. If f() returns a scalar, the result is
    df/dx; if it returns an array, pass ``dout`` (same shape) and the result is
    the gradient of sum(f() * dout), i.e. what a backward pass returns for the
    upstream gradient dout.
    indices: None for every element (result has x's shape), or a sequence of
    flat indices (result is 1-D, one value per index, in that order).
    Returns a float64 array on x's backend.
    """
    xp = xp_of(x, dout)
    _require_float64("numerical_gradient", "x", x)
    flat = range(x.size) if indices is None else indices
    central = _one_sided_differences(f, x, dout, h, flat)[0]
    return xp.asarray(central.reshape(x.shape) if indices is None else central)


def _pick_indices(size, max_elements, rng):
    if max_elements is None or size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_elements, replace=False))


def _compare(name, x, analytic, f, dout, h, tol, tiny, indices):
    """One report row: analytic gradient of ``name`` against numerical ones."""
    shape = tuple(x.shape)
    if analytic is None or tuple(analytic.shape) != shape:
        got = None if analytic is None else tuple(analytic.shape)
        return GradcheckRow(name, shape, float("inf"), None, 0, 0, 0, False,
                            f"analytic gradient has shape {got}, needs {shape}")
    a = to_numpy(analytic).astype(np.float64).reshape(-1)[indices]
    n, fwd, bwd, noise = _one_sided_differences(f, x, dout, h, indices)
    err = np.abs(a - n)
    floor = max(tiny, SCALE_FLOOR * float(np.abs(n).max(initial=0.0)))
    rel = err / np.maximum(np.abs(a) + np.abs(n), floor)
    at_noise = ~(rel <= tol) & (err <= ROUNDING_FACTOR * noise)
    failing = ~(rel <= tol) & ~at_noise                       # NaN fails
    lo, hi = np.minimum(fwd, bwd), np.maximum(fwd, bwd)
    slack = tol * (np.abs(lo) + np.abs(hi)) + ROUNDING_FACTOR * noise
    kink = (failing & (hi - lo > 1e-3 * (np.abs(fwd) + np.abs(bwd)))
            & (a >= lo - slack) & (a <= hi + slack))
    judged = ~kink & ~at_noise
    if judged.any():
        worst = int(np.argmax(np.where(judged, np.nan_to_num(rel, nan=np.inf), -1.0)))
        max_rel = float(rel[worst])
        worst_index = tuple(int(i) for i in np.unravel_index(int(indices[worst]), shape))
    else:
        max_rel, worst_index = 0.0, None
    skipped = int(kink.sum())
    return GradcheckRow(name, shape, max_rel, worst_index, len(indices), skipped, int(at_noise.sum()),
                        not (failing & ~kink).any(), KINK_REASON if skipped else "")


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
    report = GradcheckReport(title, tol)
    for name, analytic in analytic_grads.items():
        if name not in inputs:
            raise ConfigError(f"{title}: gradient {name!r} has no input of that name "
                              f"(inputs: {', '.join(inputs)})")
        x = inputs[name]
        _require_float64(title, name, x)
        indices = _pick_indices(x.size, max_elements, rng)
        report.rows.append(_compare(name, x, analytic, f, None, h, tol, tiny, indices))
    return report


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
    report = GradcheckReport(title, tol)
    for name, analytic in grads.items():
        indices = _pick_indices(inputs[name].size, max_elements, rng)
        report.rows.append(_compare(name, inputs[name], analytic, output, dout, h, tol, tiny, indices))
    return report


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
