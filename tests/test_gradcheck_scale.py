"""No output scale fools the gradient checker.

Every registered layer kind, its outputs brought to magnitudes from 1e-4 to
1e4 through its own inputs and parameters: its right gradients pass, and the
same gradients off by a relative 1e-3 or 1e-4 fail, on every backend, in
float64. Two ways to get there: "scale" multiplies what the outputs are
proportional to (weights and bias, gamma and beta, the input of a
piecewise-linear layer); "shift" adds the magnitude through a bias, so the
outputs are large while their changes are not (the hard case: each output's
rounding grows, the derivative does not).
"""
import dataclasses

import numpy as np
import pytest

from minicnn import registry

MAGNITUDES = (1e-4, 1e-2, 1.0, 1e2, 1e4)
SHIFTS = (1e2, 1e4)
PLANTED = (1e-3, 1e-4)
MAX_ELEMENTS = 24


def times(*names):
    """Multiply the named inputs or config entries by the magnitude."""
    return lambda values, s: {k: v * s if k in names else v for k, v in values.items()}


def plus(*names):
    """Add the magnitude to the named inputs."""
    return lambda values, s: {k: v + s if k in names else v for k, v in values.items()}


LINEAR = dict(scale=times("x"), shift=plus("x"))
BIASED = dict(scale=times("w", "b"), shift=plus("b"))
NORMALIZED = dict(scale=times("gamma", "beta"), shift=plus("beta"))

MAGNIFIERS = {
    "affine": BIASED,
    "conv": BIASED,
    "spatial_batchnorm": NORMALIZED,
    "batchnorm": NORMALIZED,
    "relu": LINEAR,
    "leaky_relu": LINEAR,
    "dropout": LINEAR,
    "maxpool": LINEAR,
    "avgpool": LINEAR,
    "concat": dict(scale=times("a", "b"), shift=plus("a", "b")),
    # A shift of the scores leaves a softmax or hinge loss unchanged: scale only.
    "softmax_cross_entropy": dict(scale=times("scores")),
    "svm_loss": dict(scale=times("scores")),
    "l2_penalty": dict(scale=times("reg")),
}
"""kind -> {"scale": f, "shift": f}: how its outputs reach a magnitude s, f(inputs or config, s)."""


def _values(value):
    return dict(value() if callable(value) else (value or {}))


def magnify(case, how, s):
    """``case`` with its inputs and config brought to output magnitude ``s`` by ``how``."""
    return dataclasses.replace(case, inputs=how(_values(case.inputs), s), config=how(_values(case.config), s))


def _off_by(grads, delta):
    if isinstance(grads, tuple):
        return tuple(g * (1 + delta) for g in grads)
    return grads * (1 + delta)


def plant(case, delta):
    """``case`` with every gradient it returns multiplied by 1 + delta."""
    if case.loss is not None:
        loss = case.loss
        return dataclasses.replace(case, loss=lambda **kw: (lambda v, g: (v, _off_by(g, delta)))(*loss(**kw)))
    backward = case.backward
    return dataclasses.replace(case, backward=lambda dout, cache: _off_by(backward(dout, cache), delta))


MATRIX = [(kind, how, s) for kind, ways in MAGNIFIERS.items() for how, magnitudes in
          (("scale", MAGNITUDES), ("shift", SHIFTS)) if how in ways for s in magnitudes]


def test_every_registered_kind_says_how_its_outputs_are_magnified():
    assert set(MAGNIFIERS) == set(registry.KINDS)


@pytest.mark.parametrize("kind, how, s", MATRIX, ids=[f"{k}-{h}-{s:g}" for k, h, s in MATRIX])
def test_right_gradients_pass_and_planted_errors_fail_at_every_magnitude(xp, kind, how, s):
    for case in registry.KINDS[kind].cases(np.random.default_rng(0)):
        magnified = magnify(case, MAGNIFIERS[kind][how], s)
        right = magnified.run(xp, max_elements=MAX_ELEMENTS)
        assert right.passed, f"{how} {s:g}\n{right}"
        for delta in PLANTED:
            wrong = plant(magnified, delta).run(xp, max_elements=MAX_ELEMENTS)
            assert not any(row.passed for row in wrong.rows), f"{how} {s:g}, off by {delta:g}\n{wrong}"
