"""Networks of the paper's grammar, built from a plain config, and the model API.

The grammar (Alizadeh & Fazel 2016)::

    [Conv-(SBN)-ReLU-(Dropout)-(MaxPool)] x M - [Affine-(BN)-ReLU-(Dropout)] x N - Affine - (Softmax | SVM)

(the score layer's loss is softmax cross-entropy or the multiclass SVM loss;
registered options add average pooling and leaky ReLU, see ``minicnn.registry``)

A config is a dict that round-trips through JSON::

    {"input_shape": [1, 48, 48], "n_classes": 7,
     "conv": [{"filters": 32, "kernel": 3, "pad": "same", "bn": true, "dropout": 0.1, "pool": null}, ...],
     "fc":   [{"units": 512, "bn": true, "dropout": 0.5}],
     "hog_dim": null, "loss": "softmax", "reg": 1e-6, "seed": 0}

or a compact spec string, ``"c32k3-bn-d0.1 c64k3-bn-d0.2-p2 | f512-bn-d0.5"``
(see ``parse_spec``). Layers are named by block: ``conv1 sbn1 relu1 drop1
pool1 ... flatten [concat] fc1 bn1 relu_fc1 drop_fc1 ... scores``; parameters
are ``"<layer>.<name>"``, e.g. ``conv1.W``, ``sbn1.gamma``, ``fc1.b``,
``scores.W``.

Initialization: He (Kaiming) normal, W ~ N(0, 2 / fan_in), for every conv and
hidden affine layer (fan_in = C*KH*KW or D), since each feeds a ReLU; the score
layer uses the same law scaled by 0.1 so the initial scores are small and the
initial softmax loss is close to ln(n_classes). Biases and BN beta start at 0,
BN gamma at 1, running variance at 1.

Loss: softmax cross-entropy (or multiclass SVM with ``"loss": "svm"``) plus
``0.5 * reg * sum(W**2)`` over the conv and affine weights only (not biases,
not BN gamma/beta).
"""
import copy
from collections import namedtuple

import numpy as np

from .. import backend, layers as L
from ..errors import ConfigError, ShapeError
from .build import build_layers
from .config import load_config, normalize_config
from .spec import to_spec

Backprop = namedtuple("Backprop", "output input_grad side_grad activations grads")
Backprop.__doc__ = """Result of ``Model.backprop``.

output: the activation of the layer backpropagated from (N, ...);
input_grad: d/d images (N, C, H, W); side_grad: d/d side features (N, hog_dim) or None;
activations / grads: dicts layer name -> output of that layer and its gradient."""


class Model:
    """A network of the paper's grammar with the cs231n-style API.

    ``model.params`` maps names (``conv1.W``...) to the very arrays the layers
    use, so an optimizer stepping on it updates the model in place.
    ``model.loss(X, y)`` returns ``(loss, grads)`` (grads keyed like params)
    and ``model.loss(X)`` the scores (N, n_classes). ``X`` is an image batch
    (N, C, H, W), or for a hybrid model the pair ``(images, features)`` with
    features (N, hog_dim). Training/evaluation mode is explicit: ``train()`` /
    ``eval()`` set ``model.training``, which ``loss`` uses unless its ``train``
    argument overrides it; ``predict``/``predict_proba``/``scores`` always run
    in evaluation mode. A new model is in training mode.
    """

    def __init__(self, config, dtype=None, xp=None):
        self._config = normalize_config(config)
        self.layers = build_layers(self._config)
        self._by_name = {layer.name: layer for layer in self.layers}
        self.training = True
        self._ran = []
        self.to(xp or backend.get_backend(), dtype=dtype)

    # -- bookkeeping ----------------------------------------------------------
    @property
    def config(self):
        """A deep copy of the normalized config (JSON-able); ``Model(model.config)`` rebuilds the net."""
        return copy.deepcopy(self._config)

    @property
    def is_hybrid(self):
        return bool(self._config["hog_dim"])

    @property
    def reg(self):
        return self._config["reg"]

    @property
    def layer_names(self):
        return [layer.name for layer in self.layers]

    @property
    def buffers(self):
        """Flat dict name -> array of non-trained state (BN running mean/var)."""
        return {f"{l.name}.{k}": v for l in self.layers for k, v in l.buffers.items()}

    @property
    def weight_names(self):
        """Names of the parameters under L2: the conv and affine weights ``*.W``."""
        return [n for n in self.params if n.endswith(".W")]

    @property
    def n_params(self):
        return sum(layer.n_params for layer in self.layers)

    @property
    def xp(self):
        return backend.xp_of(self.params["scores.W"])

    @property
    def dtype(self):
        return self.params["scores.W"].dtype

    def layer(self, name):
        """The layer called ``name``; ConfigError listing the names if there is none."""
        if name not in self._by_name:
            raise ConfigError(f"no layer named {name!r}; layers: {', '.join(self.layer_names)}")
        return self._by_name[name]

    def train(self):
        """Training mode: batch statistics in BN, random masks in dropout. Returns self."""
        self.training = True
        return self

    def eval(self):
        """Evaluation mode: BN running statistics, no dropout. Returns self."""
        self.training = False
        return self

    def to(self, xp=None, dtype=None):
        """Move every parameter and buffer to backend ``xp`` (module or "numpy"/"cupy"), optionally casting."""
        xp = backend._module_for(xp) if isinstance(xp, str) else (xp or backend.get_backend())
        for layer in self.layers:
            layer.to(xp, dtype=dtype)
        self.params = {f"{l.name}.{k}": v for l in self.layers for k, v in l.params.items()}
        self._ran = []
        return self


    # -- state ---------------------------------------------------------------
    def state_dict(self):
        """Host (NumPy) copies of params and buffers, keyed by name."""
        return {n: np.array(backend.to_numpy(v)) for n, v in {**self.params, **self.buffers}.items()}

    def load_state_dict(self, state):
        """Copy params (in place, so optimizer references stay valid) and buffers from ``state``."""
        expected = {**self.params, **self.buffers}
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        if missing or extra:
            raise ConfigError(f"state does not fit this model: missing {missing[:5]}, unexpected {extra[:5]}")
        for name, value in state.items():
            if tuple(value.shape) != tuple(expected[name].shape):
                raise ShapeError(f"{name}: stored shape {tuple(value.shape)} != model shape "
                                 f"{tuple(expected[name].shape)}")
        xp = self.xp
        for name, p in self.params.items():
            p[...] = backend.to_device(state[name], xp, dtype=p.dtype)
        for layer in self.layers:
            for k, v in layer.buffers.items():
                layer.buffers[k] = backend.to_device(state[f"{layer.name}.{k}"], xp, dtype=v.dtype).copy()
        return self

    def layer_state(self):
        """JSON-able state of the layers beyond arrays: layer name -> ``layer.state()`` (e.g. dropout draws)."""
        return {l.name: l.state() for l in self.layers if l.state()}

    def load_layer_state(self, state):
        """Restore what ``layer_state()`` returned."""
        for name, layer_state in state.items():
            self.layer(name).load_state(layer_state)

    def fix_random(self, n, seed=0):
        """Freeze every random layer's draw for training passes on batches of ``n`` (gradient checks).

        ``release_random()`` returns to fresh draws (dropout masks) per forward pass.
        """
        rng = np.random.default_rng(seed)
        shapes = self.output_shapes()
        for layer in self.layers:
            layer.fix_random((n,) + shapes[layer.name], rng, self.xp, self.dtype)

    def release_random(self):
        for layer in self.layers:
            layer.release_random()

    @property
    def needs_recalibration(self):
        """True when a random layer (dropout) comes before a layer with statistics (batch norm).

        Such a model's evaluation statistics are biased by the training-time
        randomness (the dropout/batch-norm variance shift); ``recalibrate``
        re-estimates them.
        """
        seen_random = False
        for layer in self.layers:
            if layer.calibrates and seen_random:
                return True
            seen_random = seen_random or layer.stochastic
        return False

    def recalibrate(self, X, batch_size=256):
        """Re-estimate the layers' evaluation statistics (batch norm) from inputs ``X`` in evaluation mode.

        Every batch is normalized with its own statistics as in training, but
        with dropout off; the running mean and variance become the plain
        average of those batch statistics. ``X`` is typically a few thousand
        training images (host or device; batched). Returns self.
        """
        for layer in self.layers:
            layer.start_calibration()
        try:
            for batch in self._batches(X, batch_size):
                self._forward(batch, False, keep_cache=False)
        finally:
            for layer in self.layers:
                layer.finish_calibration()
        return self

    def output_shapes(self):
        """Dict layer name -> per-example output shape (no batch dimension)."""
        shape, shapes = tuple(self._config["input_shape"]), {}
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes[layer.name] = shape
        return shapes

    def cache_nbytes(self):
        """Bytes currently held by layer caches (0 once backward has run or after an eval pass)."""
        return sum(layer.cache_nbytes for layer in self.layers)

    def cache_bytes_by_layer(self, X, train=True):
        """Bytes each layer's cache holds after one forward pass that keeps caches (as training does).

        Runs the forward pass on ``X`` (train mode by default), reads every
        layer's cache size (im2col columns, masks, BN statistics, ...), then frees
        the caches. Returns a dict layer name -> bytes; their sum is the
        activation memory a training step holds at the end of its forward pass.
        """
        self._forward(X, train, keep_cache=True)
        sizes = {layer.name: layer.cache_nbytes for layer in self.layers}
        self._free_caches()
        return sizes

    def _free_caches(self):
        for layer in self._ran:
            layer.clear_cache()
        self._ran = []

    def summary(self):
        """A table: each layer with its output shape and parameter count, then the total."""
        shapes = self.output_shapes()
        rows = [("input", "", "x".join(map(str, self._config["input_shape"])), 0)]
        if self.is_hybrid:
            rows.append(("features", "side input", str(self._config["hog_dim"]), 0))
        for layer in self.layers:
            rows.append((layer.name, f"{layer.kind} {layer.describe()}".strip(),
                         "x".join(map(str, shapes[layer.name])), layer.n_params))
        widths = [max(len(str(r[i])) for r in rows + [("layer", "type", "output", "params")])
                  for i in range(3)]
        line = "{:<%d}  {:<%d}  {:>%d}  {:>12}" % tuple(widths)
        text = [line.format("layer", "type", "output", "params")]
        text += [line.format(n, k, s, f"{p:,}") for n, k, s, p in rows]
        text.append(f"total parameters: {self.n_params:,}")
        return "\n".join(text)

    # -- passes ---------------------------------------------------------------
    def _split(self, X):
        """(images, side features) on the model's device and dtype, shape-checked."""
        if self.is_hybrid:
            if not isinstance(X, (tuple, list)) or len(X) != 2:
                raise ShapeError("a hybrid model takes X = (images, features); got a single array")
            images, side = X
        else:
            if isinstance(X, (tuple, list)):
                raise ShapeError("this model has no side input (hog_dim is null): pass the images only")
            images, side = X, None
        want = tuple(self._config["input_shape"])
        if images.ndim != 4 or tuple(images.shape[1:]) != want:
            raise ShapeError(f"images have shape {tuple(images.shape)}; this model expects (N, {', '.join(map(str, want))})")
        xp, dtype = self.xp, self.dtype
        images = backend.to_device(images, xp, dtype=dtype)
        if side is not None:
            if side.ndim != 2 or side.shape[0] != images.shape[0] or side.shape[1] != self._config["hog_dim"]:
                raise ShapeError(f"side features have shape {tuple(side.shape)}; expected "
                                 f"({images.shape[0]}, {self._config['hog_dim']})")
            side = backend.to_device(side, xp, dtype=dtype)
        return images, side

    def _forward(self, X, train, keep_cache, stop_at=None, record=()):
        images, features = self._split(X)
        side = {} if features is None else {"features": features}
        if keep_cache:
            self._free_caches()
        acts = {}
        x = images
        for layer in self.layers:
            x = layer.forward(x, train, keep_cache, side)
            if keep_cache:
                self._ran.append(layer)
            if layer.name in record:
                acts[layer.name] = x
            if layer.name == stop_at:
                break
        return x, acts

    def _backward(self, dout, taps=(), scratch=False):
        """Back through the layers of the last kept forward: (input grad, side grad, grads at ``taps``).

        ``scratch=True`` says nothing else reads ``dout`` (the loss's gradient):
        layers may then write into the gradient they are handed. That stays
        so while every gradient is this pass's own: a layer's result is a new
        array, or a view of a gradient that was already scratch. A gradient
        handed in by a caller, kept for a tap, or a view of either, is never
        written to. (Concat's side gradient is a view of the part of its dout
        that the layers below never see.)
        """
        grads_at, side_grads = {}, {}
        for layer in reversed(self._ran):
            if layer.name in taps:
                grads_at[layer.name] = dout
                scratch = False
            dx = layer.backward(dout, overwrite=scratch)
            scratch = scratch or not self.xp.may_share_memory(dx, dout)
            dout = dx
            side_grads.update(layer.side_grads)
            layer.side_grads = {}
        self._ran = []
        return dout, side_grads.get("features"), grads_at

    def loss(self, X, y=None, train=None, class_weights=None, return_scores=False):
        """Scores (N, n_classes) if ``y`` is None, else ``(loss, grads)``.

        loss = data loss (softmax cross-entropy, optionally class-weighted, or SVM)
        + 0.5 * reg * sum of squared conv/affine weights; ``grads`` maps every
        parameter name to d loss / d param. ``train`` defaults to ``self.training``.
        The loss is a 0-d array on the model's device (no host sync).
        ``return_scores=True`` returns ``(loss, grads, scores)`` (the trainer's
        running accuracy uses them).
        """
        train = self.training if train is None else bool(train)
        if y is None:
            return self._forward(X, train, keep_cache=False)[0]
        if class_weights is not None and self._config["loss"] != "softmax":
            raise ConfigError("class weights need the softmax loss; this model uses loss 'svm'")
        scores, _ = self._forward(X, train, keep_cache=True)
        try:
            if backend.is_host(backend.xp_of(y)):   # free here; on a device the loss turns NaN instead of syncing
                L.check_label_range("Model.loss", y, self._config["n_classes"])
            y = backend.to_device(y, self.xp)
            if self._config["loss"] == "softmax":
                data_loss, dscores = L.softmax_cross_entropy(scores, y, class_weights=class_weights)
            else:
                data_loss, dscores = L.svm_loss(scores, y)
        except BaseException:
            self._free_caches()      # a bad label must not leave the activations alive
            raise
        if not return_scores:
            del scores
        self._backward(dscores, scratch=True)
        grads = {f"{l.name}.{k}": g for l in self.layers for k, g in l.grads.items()}
        for layer in self.layers:
            layer.grads = {}
        loss = data_loss
        if self.reg:
            reg_loss, reg_grads = L.l2_penalty({n: self.params[n] for n in self.weight_names}, self.reg)
            loss = loss + reg_loss
            for n, g in reg_grads.items():
                grads[n] += g        # in place: the layers' gradients are fresh arrays of this step
        return (loss, grads, scores) if return_scores else (loss, grads)

    def _batches(self, X, batch_size):
        n = (X[0] if isinstance(X, (tuple, list)) else X).shape[0]
        for start in range(0, n, batch_size):
            sl = slice(start, start + batch_size)
            yield tuple(x[sl] for x in X) if isinstance(X, (tuple, list)) else X[sl]

    def scores(self, X, batch_size=256):
        """Class scores (N, n_classes) in evaluation mode, computed ``batch_size`` images at a time.

        ``X`` may live on the host while the model is on the GPU: each batch is
        moved on its own, so a 10,000-image set never sits on the device at once
        and no activations outlive their batch.
        """
        xp = self.xp
        outs = [self._forward(b, False, keep_cache=False)[0] for b in self._batches(X, batch_size)]
        return xp.concatenate(outs) if outs else xp.zeros((0, self._config["n_classes"]), self.dtype)

    def predict_proba(self, X, batch_size=256):
        """Softmax class probabilities (N, n_classes), evaluation mode, batched; on the model's device."""
        return L.softmax(self.scores(X, batch_size))

    def predict(self, X, batch_size=256):
        """Predicted class indices (N,), evaluation mode, batched; on the model's device."""
        return self.scores(X, batch_size).argmax(axis=1)

    def forward_to(self, X, layer_name, train=False):
        """Activations (N, ...) at the output of layer ``layer_name`` (evaluation mode by default)."""
        self.layer(layer_name)
        return self._forward(X, train, keep_cache=False, stop_at=layer_name)[0]

    def backprop(self, X, dout, at="scores", taps=(), train=False):
        """Backpropagate ``dout`` from the output of layer ``at`` down to the input.

        ``dout`` is an array shaped like that output, or a callable
        ``dout(output) -> array`` (e.g. ``lambda a: a`` ascends 0.5*||a||^2, as
        DeepDream does). ``taps`` names layers whose activations and gradients
        to return. Runs in evaluation mode unless ``train``; parameter grads
        are discarded. Returns a ``Backprop`` (output, input_grad, side_grad,
        activations, grads).
        """
        self.layer(at)
        for name in taps:
            self.layer(name)
        out, acts = self._forward(X, train, keep_cache=True, stop_at=at, record=set(taps))
        d = dout(out) if callable(dout) else dout
        if tuple(d.shape) != tuple(out.shape):
            self._free_caches()
            raise ShapeError(f"dout has shape {tuple(d.shape)}; the output of {at} is {tuple(out.shape)}")
        dx, side_grad, grads = self._backward(d, taps=set(taps))
        for layer in self.layers:
            layer.grads = {}
        return Backprop(out, dx, side_grad, acts, grads)

    def class_gradients(self, X, classes, taps=()):
        """d score[class] / d input (saliency) and / d the outputs of ``taps`` (Grad-CAM), evaluation mode.

        ``classes`` is one class index for all images or an array (N,) of indices.
        """
        xp = self.xp

        def onehot(scores):
            d = xp.zeros_like(scores)
            idx = backend.to_device(np.broadcast_to(np.asarray(backend.to_numpy(classes)), (scores.shape[0],)), xp)
            d[xp.arange(scores.shape[0]), idx] = 1
            return d
        return self.backprop(X, onehot, at="scores", taps=taps)

    def __repr__(self):
        return f"Model({to_spec(self._config)!r}, hog_dim={self._config['hog_dim']})"


def build_model(config, dtype=None, xp=None):
    """A ``Model`` from a config dict, a spec string or a path to a JSON config file."""
    if isinstance(config, str) and config.endswith(".json"):
        config = load_config(config)
    return Model(config, dtype=dtype, xp=xp)
