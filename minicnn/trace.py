"""What one training step does, layer by layer: shapes, caches, time.

    from minicnn.trace import trace_step, trace_trainer
    print(trace_step(model, X, y))
    print(trace_trainer(trainer))         # before trainer.train(): its first batch, the run unchanged

runs ``model.loss(X, y)`` once (forward, loss, backward; no optimizer update)
and prints, per layer in forward order: the input and output shapes, what its
cache keeps for the backward pass (each array's shape, and whether it is the
layer's input or output, a view of them, or a parameter) and the bytes it
holds (parameters excluded, as in ``Layer.cache_nbytes``), the forward and
backward times and their share of the step. Then the time outside the layers
(the loss and L2 penalty, the model's own bookkeeping: "loss, L2, rest") and
the step's totals: every cache together (the activation memory a step holds
at the end of its forward pass) and the layers' forward and backward times.

Times are wall-clock; on a GPU every layer's result is waited for (one value
read back) before its clock stops, which also makes the step a little slower
than an untraced one. The first step of a run also pays one-time costs
(allocations, BLAS start-up): ``warmup=1`` runs one untimed step first.
"""
import time
from dataclasses import dataclass, field

from . import backend


@dataclass
class TraceRow:
    """One layer of a traced step (times in seconds)."""
    name: str
    kind: str
    input_shape: tuple = ()
    output_shape: tuple = ()
    cache: list = field(default_factory=list)
    cache_bytes: int = 0
    forward_s: float = 0.0
    backward_s: float = 0.0


@dataclass
class Trace:
    """A traced step: ``rows`` per layer, the whole step's time and its loss."""
    rows: list
    step_s: float
    loss: float
    batch: int

    @property
    def rest_s(self):
        """Time of the step outside the layers: loss, L2 penalty, the model's bookkeeping."""
        return max(self.step_s - sum(r.forward_s + r.backward_s for r in self.rows), 0.0)

    @property
    def cache_bytes(self):
        """Bytes all caches hold at the end of the forward pass: the step's activation memory."""
        return sum(r.cache_bytes for r in self.rows)

    def share(self, seconds):
        return seconds / self.step_s if self.step_s > 0 else 0.0

    def __str__(self):
        head = ("layer", "kind", "input", "output", "cache keeps", "cache", "forward", "backward", "share")
        body = [(r.name, r.kind, _shape(r.input_shape), _shape(r.output_shape), ", ".join(r.cache) or "-",
                 _bytes(r.cache_bytes), _ms(r.forward_s), _ms(r.backward_s),
                 f"{100 * self.share(r.forward_s + r.backward_s):.0f}%") for r in self.rows]
        body.append(("loss, L2, rest", "", "", "", "", "", _ms(self.rest_s), "",
                     f"{100 * self.share(self.rest_s):.0f}%"))
        body.append(("step", "", "", "", "", _bytes(self.cache_bytes),
                     _ms(sum(r.forward_s for r in self.rows)), _ms(sum(r.backward_s for r in self.rows)), "100%"))
        widths = [max(len(line[i]) for line in [head] + body) for i in range(len(head))]
        right = {5, 6, 7, 8}
        lines = [f"one training step, batch {self.batch}: loss {self.loss:.4f}, {_ms(self.step_s)} "
                 f"(forward + loss + backward, no update)"]
        for line in [head] + body:
            lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w)
                                   for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        return "\n".join(lines)


def _shape(shape):
    return "x".join(map(str, shape))


def _ms(seconds):
    return f"{seconds * 1e3:.1f} ms"


def _bytes(n):
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _wait(array):
    """Read one value of ``array`` back to the host: on a GPU this waits until it is computed."""
    if array is not None and getattr(array, "size", 0):
        backend.to_numpy(array.reshape(-1)[:1])


def _same_memory(a, b):
    """True when ``a`` is ``b`` or a view of it (or both view one array)."""
    base_a, base_b = getattr(a, "base", None), getattr(b, "base", None)
    return a is b or (base_a is not None and (base_a is b or base_a is base_b))


def describe_cache(cache, x, out, params):
    """One short entry per array in ``cache`` (recursively): its shape and what it is."""
    entries = []

    def visit(obj):
        if obj is None:
            return
        if hasattr(obj, "shape") and hasattr(obj, "nbytes"):
            names = [n for n, p in params.items() if p is obj]
            if names:
                entries.append(f"param {names[0]}")
            elif _same_memory(obj, x):
                entries.append(f"input{'' if obj is x else ' view'} {_shape(obj.shape)}")
            elif _same_memory(obj, out):
                entries.append(f"output{'' if obj is out else ' view'} {_shape(obj.shape)}")
            else:
                entries.append(f"{_shape(obj.shape) or 'scalar'} {obj.dtype}")
        elif isinstance(obj, dict):
            for v in obj.values():
                visit(v)
        elif isinstance(obj, (tuple, list)):
            for v in obj:
                visit(v)

    visit(cache)
    return entries


def _traced(layer, row):
    """Timing wrappers for ``layer.forward`` and ``layer.backward`` that fill ``row``."""
    forward, backward = layer.forward, layer.backward

    def traced_forward(x, train, keep_cache=False, side=None):
        start = time.perf_counter()
        out = forward(x, train, keep_cache, side)
        _wait(out)
        row.forward_s = time.perf_counter() - start
        row.input_shape, row.output_shape = tuple(x.shape[1:]), tuple(out.shape[1:])
        row.cache = describe_cache(layer._cache, x, out, layer.params)   # the cache backward will read
        row.cache_bytes = layer.cache_nbytes
        return out

    def traced_backward(dout, overwrite=False):
        start = time.perf_counter()
        dx = backward(dout, overwrite)
        _wait(dx)
        row.backward_s = time.perf_counter() - start
        return dx

    return traced_forward, traced_backward


def trace_step(model, X, y, warmup=0):
    """Trace one training-mode step ``model.loss(X, y)``; returns a ``Trace`` (print it for the table).

    ``X``, ``y``: a batch as ``Model.loss`` takes it. ``warmup`` untimed steps
    run first. The model is left as it was: parameters are not updated, and
    the batch-norm statistics and dropout draw counters the steps moved are
    put back, so a training run traced at its first step continues exactly
    as an untraced one.
    """
    buffers = [{k: v.copy() for k, v in layer.buffers.items()} for layer in model.layers]
    states = model.layer_state()
    rows = [TraceRow(layer.name, layer.kind) for layer in model.layers]
    try:
        for _ in range(warmup):
            model.loss(X, y, train=True)
        for layer, row in zip(model.layers, rows):
            layer.forward, layer.backward = _traced(layer, row)
        start = time.perf_counter()
        loss, _ = model.loss(X, y, train=True)
        _wait(loss)
        step = time.perf_counter() - start
    finally:
        for layer, saved in zip(model.layers, buffers):
            vars(layer).pop("forward", None)              # back to the class's methods
            vars(layer).pop("backward", None)
            layer.buffers.update(saved)
        model.load_layer_state(states)
    batch = (X[0] if isinstance(X, (tuple, list)) else X).shape[0]
    return Trace(rows, step, float(backend.to_numpy(loss)), int(batch))


def trace_trainer(trainer, warmup=0):
    """Trace a step of ``trainer``'s model on its first ``batch_size`` training examples.

    What ``minicnn train --trace`` prints before training: the model and
    batch size of the run, on its device. The run itself is unchanged (see
    ``trace_step``).
    """
    n = trainer.config["batch_size"]
    X = tuple(x[:n] for x in trainer.X) if isinstance(trainer.X, (tuple, list)) else trainer.X[:n]
    return trace_step(trainer.model, X, trainer.y[:n], warmup=warmup)
