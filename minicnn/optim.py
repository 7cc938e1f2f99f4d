"""First-order optimizers: SGD (plain, momentum, Nesterov), RMSprop and Adam.

Every optimizer shares one small interface::

    opt.lr                      # float, mutable: learning-rate schedules set it
    opt.step(params, grads)     # dicts name -> array; updates params IN PLACE
    opt.state_dict()            # flat dict, storable in one .npz
    opt.load_state_dict(state)  # continue exactly where state_dict() left off

``step`` updates every parameter named in ``grads`` (a parameter without a
gradient is left alone, e.g. a frozen one). Updates are written into the
parameter arrays themselves, so the dicts a model holds keep pointing at the
same arrays, and float32 parameters stay float32. Per-parameter state (velocity,
squared-gradient averages, moments) is kept by parameter name and created on
the device of its parameter with ``xp = xp_of(param)``: the same code runs on
NumPy and CuPy arrays.

L2 regularization is not the optimizer's job: it is part of the loss
(``0.5 * reg * sum(W**2)``), whose gradient is already in ``grads``.

In the formulas below ``w`` is a parameter, ``g`` its gradient, ``lr`` the
learning rate and ``t`` the number of steps taken so far, counting this one.
"""
import math

from .backend import to_device, to_numpy, xp_of
from .errors import ConfigError, ShapeError
from .layers._parallel import map_blocks
from .validate import check_choice, check_number, scalar

MOMENTUM_FORMS = ("cs231n", "pytorch")
"""SGD momentum: the learning rate inside the velocity (cs231n) or applied to it (PyTorch); see ``SGD``."""


class Optimizer:
    """Base class: per-parameter state slots, validation and (de)serialization.

    Subclasses set ``name`` (the factory name stored in checkpoints),
    ``slots`` (names of their per-parameter state arrays), ``hyper`` (names of
    their scalar hyper-parameters besides ``lr``) and implement
    ``_update(w, g, state)`` where ``state`` maps slot name -> array.
    """

    name = None
    slots = ()
    hyper = ()

    def __init__(self, lr):
        self.lr = check_number(type(self).__name__, "lr", lr, low=0, low_open=True)
        self.t = 0
        self._state = {slot: {} for slot in self.slots}

    def step(self, params, grads):
        """Update each ``params[k]`` in place from ``grads[k]`` for every k in ``grads``.

        Names and shapes are checked before anything changes, so a bad call
        leaves parameters and state untouched.
        """
        for key, g in grads.items():
            if key not in params:
                raise ConfigError(f"{type(self).__name__}.step: gradient {key!r} has no parameter "
                                  f"of that name (parameters: {', '.join(sorted(params))})")
            if g.shape != params[key].shape:
                raise ShapeError(f"{type(self).__name__}.step: gradient {key!r} has shape "
                                 f"{tuple(g.shape)} but the parameter has {tuple(params[key].shape)}")
        state = {key: {slot: self._slot(slot, key, params[key]) for slot in self.slots} for key in grads}
        self.t += 1
        for key, g in grads.items():
            self._update_blocks(params[key], g, state[key])

    def _update_blocks(self, w, g, state):
        """``_update`` (element-wise, in place) on matching blocks of w, g and the state arrays: cache-sized
        blocks on every core for NumPy (``map_blocks``; every update is element-wise, so the numbers are
        those of one whole-array update). Where w or a state array is not contiguous, on the whole arrays
        (a block of its flattened copy would be updated instead)."""
        slots = list(state)
        if not all(a.flags.c_contiguous for a in (w, *state.values())):
            self._update(w, g, state)
            return
        map_blocks(lambda w, g, *arrays: self._update(w, g, dict(zip(slots, arrays))), w, g, *state.values())

    def _update(self, w, g, state):
        raise NotImplementedError

    def _slot(self, slot, key, w):
        """The state array ``slot`` for parameter ``key``, on ``w``'s device and dtype.

        Created as zeros on first use; state loaded from a checkpoint (NumPy
        arrays, or arrays of another backend) is moved here once, at the first
        step that sees the parameter.
        """
        table = self._state[slot]
        s = table.get(key)
        if s is None:
            s = table[key] = xp_of(w).zeros_like(w)
        elif s.shape != w.shape:
            raise ShapeError(f"{type(self).__name__}: loaded state {slot}/{key} has shape "
                             f"{tuple(s.shape)} but the parameter has {tuple(w.shape)}; "
                             "was the checkpoint made for a different model?")
        elif type(s) is not type(w) or s.dtype != w.dtype:
            s = table[key] = to_device(s, xp_of(w), dtype=w.dtype)
        return s

    def state_dict(self):
        """Flat dict: "name", "lr", "t", hyper-parameters, and "slot/param" -> NumPy array.

        Arrays are host (NumPy) copies, so the dict can go straight into
        ``numpy.savez``; scalars are Python scalars.
        """
        state = {"name": self.name, "lr": float(self.lr), "t": int(self.t)}
        state.update({h: getattr(self, h) for h in self.hyper})
        for slot, table in self._state.items():
            for key, s in table.items():
                state[f"{slot}/{key}"] = to_numpy(s)
        return state

    def load_state_dict(self, state):
        """Restore ``lr``, ``t`` and the per-parameter state from ``state_dict()`` output.

        Accepts the dict itself or one read back from a ``.npz`` (0-d arrays as
        scalars, NumPy arrays for CuPy state); arrays move to their parameter's
        device at the next ``step``. Hyper-parameters (momentum, betas, ...)
        stored in the state must equal this optimizer's; ``optimizer_from_state``
        rebuilds the right optimizer from a checkpoint.
        """
        name = scalar(state.get("name"))
        if name != self.name:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the state is for optimizer "
                              f"{name!r}, not {self.name!r}; rebuild it with optimizer_from_state")
        differing = [h for h in self.hyper if h in state and scalar(state[h]) != getattr(self, h)]
        if differing:
            raise ConfigError(f"{type(self).__name__}.load_state_dict: the checkpoint was made with "
                              + ", ".join(f"{h}={scalar(state[h])!r}" for h in differing)
                              + "; build the optimizer with the same arguments or use optimizer_from_state")
        self.lr = float(scalar(state["lr"]))
        self.t = int(scalar(state["t"]))
        self._state = {slot: {} for slot in self.slots}
        for full_key, value in state.items():
            slot, sep, key = full_key.partition("/")
            if not sep:
                continue
            if slot not in self._state:
                raise ConfigError(f"{type(self).__name__}.load_state_dict: unknown state entry "
                                  f"{full_key!r} (slots: {', '.join(self.slots) or 'none'})")
            self._state[slot][key] = value

    def __repr__(self):
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in ("lr",) + self.hyper)
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with classical or Nesterov momentum.

    - plain (``momentum=0``):   ``w <- w - lr * g``
    - classical momentum, ``form="cs231n"`` (the default):
      ``v <- mu * v - lr * g``;  ``w <- w + v``
    - Nesterov (``nesterov=True``), the Sutskever/cs231n "lookahead" rewrite in
      terms of the stored parameters (not the lookahead point):
      ``v <- mu * v - lr * g``;  ``w <- w + mu * v - lr * g``
      (equal to ``w <- w - mu * v_prev + (1 + mu) * v``).
    - ``form="pytorch"``, the form of ``torch.optim.SGD``: the velocity sums
      raw gradients and the current learning rate scales all of it:
      ``b <- mu * b + g``;  ``w <- w - lr * b``, or with Nesterov
      ``w <- w - lr * (g + mu * b)``.

    At a constant learning rate the two forms take identical steps
    (``v = -lr * b``). They differ when a schedule changes ``lr``: the cs231n
    velocity still carries the old rate, so after a drop from 0.1 to 0.01 the
    steps shrink gradually (over about 1 / (1 - mu) steps), while PyTorch's
    shrink at once. Compare with PyTorch runs using ``form="pytorch"``.

    ``v`` (``b``) starts at zero; ``mu`` is ``momentum`` in [0, 1).
    """

    name = "sgd"
    hyper = ("momentum", "nesterov", "form")

    def __init__(self, lr, momentum=0.0, nesterov=False, form="cs231n"):
        super().__init__(lr)
        self.momentum = check_number("SGD", "momentum", momentum, low=0, high=1, high_open=True)
        self.nesterov = bool(nesterov)
        self.form = check_choice("SGD", "form", form, MOMENTUM_FORMS)
        if self.nesterov and self.momentum == 0.0:
            raise ConfigError("SGD: nesterov=True needs momentum > 0 (e.g. momentum=0.9)")
        self.slots = ("v",) if self.momentum else ()
        self._state = {slot: {} for slot in self.slots}

    def _update(self, w, g, state):
        mu = self.momentum
        if not mu:
            w -= self.lr * g
            return
        v = state["v"]
        v *= mu
        if self.form == "cs231n":
            v -= self.lr * g
            if self.nesterov:
                w += mu * v
                w -= self.lr * g
            else:
                w += v
            return
        v += g
        if self.nesterov:
            w -= self.lr * g
            w -= (self.lr * mu) * v
        else:
            w -= self.lr * v


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton): scale steps by a running RMS of the gradient.

    ``c <- decay * c + (1 - decay) * g**2``;  ``w <- w - lr * g / (sqrt(c) + eps)``
    with ``c`` starting at zero.
    """

    name = "rmsprop"
    slots = ("cache",)
    hyper = ("decay", "eps")

    def __init__(self, lr, decay=0.99, eps=1e-8):
        super().__init__(lr)
        self.decay = check_number("RMSprop", "decay", decay, low=0, high=1, high_open=True)
        self.eps = check_number("RMSprop", "eps", eps, low=0, low_open=True)

    def _update(self, w, g, state):
        xp = xp_of(w)
        c = state["cache"]
        c *= self.decay
        c += (1.0 - self.decay) * g * g
        w -= self.lr * g / (xp.sqrt(c) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    ``m <- b1 * m + (1 - b1) * g``;  ``v <- b2 * v + (1 - b2) * g**2``;
    ``m_hat = m / (1 - b1**t)``;  ``v_hat = v / (1 - b2**t)``;
    ``w <- w - lr * m_hat / (sqrt(v_hat) + eps)``.
    At t = 1, ``m_hat = g`` and ``v_hat = g**2``: the first step is
    ``lr * g / (|g| + eps)``, about ``lr * sign(g)``.
    """

    name = "adam"
    slots = ("m", "v")
    hyper = ("beta1", "beta2", "eps")

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1 = check_number("Adam", "beta1", beta1, low=0, high=1, high_open=True)
        self.beta2 = check_number("Adam", "beta2", beta2, low=0, high=1, high_open=True)
        self.eps = check_number("Adam", "eps", eps, low=0, low_open=True)

    def _update(self, w, g, state):
        xp = xp_of(w)
        m, v = state["m"], state["v"]
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        buf = (1.0 - self.beta2) * g                   # the one scratch array, reused below
        buf *= g
        v += buf
        m_scale = self.lr / (1.0 - self.beta1 ** self.t)
        v_scale = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)
        # w -= m_scale * m / (sqrt(v) * v_scale + eps), in place: same operations, fewer temporaries
        step = m_scale * m
        xp.sqrt(v, out=buf)
        buf *= v_scale
        buf += self.eps
        step /= buf
        w -= step


# name -> (class, default keyword arguments)
OPTIMIZERS = {
    "sgd": (SGD, {}),
    "momentum": (SGD, {"momentum": 0.9}),
    "nesterov": (SGD, {"momentum": 0.9, "nesterov": True}),
    "rmsprop": (RMSprop, {}),
    "adam": (Adam, {}),
}


def make_optimizer(name, **kwargs):
    """Build an optimizer by name: "sgd", "momentum", "nesterov", "rmsprop" or "adam".

    ``kwargs`` are the class's arguments (``lr`` is required), e.g.
    ``make_optimizer("nesterov", lr=0.01, momentum=0.95)``. "momentum" is SGD
    with momentum 0.9 by default, "nesterov" the same with Nesterov momentum;
    both take ``form="pytorch"`` for ``torch.optim.SGD``'s form (see ``SGD``).
    """
    key = str(name).strip().lower()
    if key not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    cls, defaults = OPTIMIZERS[key]
    allowed = ("lr",) + cls.hyper
    if key != "sgd":
        allowed = tuple(a for a in allowed if a != "nesterov")
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ConfigError(f"optimizer {key!r} does not take {', '.join(unknown)}: "
                          f"its arguments are {', '.join(allowed)}")
    if "lr" not in kwargs:
        raise ConfigError(f"optimizer {key!r} needs a learning rate: pass lr=...")
    return cls(**{**defaults, **kwargs})


def optimizer_from_state(state):
    """Rebuild the optimizer that produced ``state`` (from ``state_dict()`` or a .npz)."""
    name = scalar(state.get("name")) if hasattr(state, "get") else None
    if name not in ("sgd", "rmsprop", "adam"):
        raise ConfigError(f"optimizer state names optimizer {name!r}: expected a state_dict() "
                          "of sgd, rmsprop or adam")
    cls = OPTIMIZERS[name][0]
    opt = cls(lr=float(scalar(state["lr"])),
              **{h: scalar(state[h]) for h in cls.hyper if h in state})
    opt.load_state_dict(state)
    return opt


__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "OPTIMIZERS",
           "make_optimizer", "optimizer_from_state"]
