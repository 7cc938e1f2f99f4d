"""DeepDream and class visualization: gradient ascent on the input image.

Starting from a face or from noise, the image is changed step by step to
increase an objective J of the network (evaluation mode):

* a class score (layer ``"scores"``, channel = class index): J = s_c(x);
* a channel of a layer: J = mean over positions of A[channel] (for a layer
  with (K, h, w) maps) or the unit A[channel] (for a vector layer);
* a whole layer (channel None): J = 0.5 * mean(A^2), the classic DeepDream
  "amplify whatever the layer already sees".

The image x lives in the network's input space (x = pixels/255 - mean), split
as x = base + detail, where base is the starting face (or the mean image, for a
start from noise, whose noise then is the initial detail). Each step
(Mordvintsev et al. 2015; Yosinski et al. 2015):

1. jitter: roll the image by a random (dy, dx) in [-jitter, jitter]^2;
2. ascend: x += lr * g / mean|g|, g = dJ/dx (rolled back);
3. decay: detail *= 1 - l2 (L2 regularization pulling toward the base);
4. blur: every ``blur_every`` steps the detail is blurred by a Gaussian of
   ``blur_sigma`` pixels (suppresses high-frequency noise);
5. clip so pixels stay in 0..255.

Octaves, coarse to fine: the network only takes 48x48 inputs, so at octave o
the image is held at a lower resolution s_o = 48 / octave_scale^(octaves-1-o)
and shown to the network upsampled (bilinear) to 48x48; the gradient is pulled
back through the upsampling (its adjoint). Between octaves the detail is
upsampled to the next resolution and added to the base at that resolution, so
large structures form first and fine ones last. All randomness comes from
``numpy.random.default_rng(seed)``: a dream is reproducible.

For hybrid CNN+HOG models the HOG input is recomputed from the current image
at every step but held constant in the gradient.
"""
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_device, to_numpy, xp_of
from ..errors import ConfigError
from .figures import face_panel, panel_grid
from .resample import blur, resize, resize_adjoint


@dataclass
class Dream:
    """Result of ``dream``: start and final faces (N, H, W) in 0..255, objective per step (steps, N)."""
    start: np.ndarray
    image: np.ndarray
    values: np.ndarray
    layer: str
    channels: np.ndarray
    settings: dict = field(default_factory=dict)


def _dout(model, layer, channels):
    """A function output -> dJ/doutput for the objective on ``layer`` (see module doc)."""
    def dout(out):
        xp = xp_of(out)
        if channels is None:
            return out / out[0].size
        d = xp.zeros_like(out)
        idx = to_device(channels, xp)
        rows = xp.arange(out.shape[0])
        if out.ndim == 4:
            d[rows, idx] = 1.0 / (out.shape[2] * out.shape[3])
        else:
            d[rows, idx] = 1.0
        return d
    return dout


def _values(out, layer, channels):
    """J per example (host float64 (N,)) from the layer output."""
    out = np.asarray(to_numpy(out), dtype=np.float64)
    if channels is None:
        return 0.5 * (out ** 2).reshape(len(out), -1).mean(axis=1)
    picked = out[np.arange(len(out)), channels]
    return picked.reshape(len(out), -1).mean(axis=1)


def _check_target(model, layer, channels, n):
    model.layer(layer)
    if channels is None:
        if layer == "scores":
            raise ConfigError("dreaming on the scores needs a class index (channel)")
        return None
    channels = np.broadcast_to(np.asarray(to_numpy(channels), dtype=np.int64), (n,)).copy()
    size = model.output_shapes()[layer][0]
    if channels.min() < 0 or channels.max() >= size:
        raise ConfigError(f"channel {int(channels.max())} is out of range for {layer} "
                          f"({size} {'classes' if layer == 'scores' else 'channels'})")
    return channels


def objective(clf, images, layer, channels):
    """J and dJ/dimages for preprocessed ``images`` (N, 1, H, W): (host (N,), device (N, 1, H, W))."""
    result = clf.model.backprop(clf.inputs_from_images(images), _dout(clf.model, layer, channels), at=layer)
    return _values(result.output, layer, channels), result.input_grad


def dream(clf, start=None, layer="scores", channels=None, n=1, steps=30, octaves=3, octave_scale=1.4,
          lr=0.02, l2=0.002, jitter=2, blur_every=4, blur_sigma=0.5, noise_std=0.05, seed=0):
    """Gradient ascent on the input of ``clf.model`` (see the module doc). Returns a ``Dream``.

    start: raw faces (N, H, W) in 0..255, or None to start from the mean image
    plus Gaussian noise of ``noise_std`` (input units) for ``n`` images.
    layer/channels: the target (``"scores"`` and class indices; a layer and
    channel indices, one per image or one for all; or channels None for the
    whole layer). steps: ascent steps per octave.
    """
    if octaves < 1 or steps < 1:
        raise ConfigError(f"a dream needs octaves >= 1 and steps >= 1 (got {octaves}, {steps})")
    rng = np.random.default_rng(seed)
    h, w = clf.input_size
    xp, dtype = clf.model.xp, clf.model.dtype
    if start is None:
        base = xp.zeros((n, 1, h, w), dtype=dtype)
        detail = to_device(noise_std * rng.standard_normal((n, 1, h, w)), xp, dtype=dtype)
        start_pixels = np.clip(clf.to_pixels(detail), 0, 255)
    else:
        start_pixels = np.asarray(to_numpy(start), dtype=np.float64)
        base, detail = clf.preprocess(start_pixels), None
        n = len(start_pixels)
    channels = _check_target(clf.model, layer, channels, n)
    mean = to_device(clf.mean[None, None], xp, dtype=dtype)
    sizes = [(max(4, round(h / octave_scale ** k)), max(4, round(w / octave_scale ** k)))
             for k in reversed(range(octaves))]
    history = []
    for size in sizes:
        base_s = resize(base, size)
        detail = xp.zeros_like(base_s) if detail is None else resize(detail, size)
        lo, hi = -resize(mean, size), 1 - resize(mean, size)
        for step in range(steps):
            dy, dx = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2))
            z = xp.roll(base_s + detail, (dy, dx), axis=(2, 3))
            values, grad = objective(clf, resize(z, (h, w)), layer, channels)
            history.append(values)
            g = xp.roll(resize_adjoint(grad, size), (-dy, -dx), axis=(2, 3))
            g = g / (xp.abs(g).mean(axis=(1, 2, 3), keepdims=True) + 1e-12)
            detail = (detail + lr * g) * (1 - l2)
            if blur_every and (step + 1) % blur_every == 0:
                detail = blur(detail, blur_sigma)
            detail = xp.clip(base_s + detail, lo, hi) - base_s
    image = np.clip(clf.to_pixels(resize(base_s + detail, (h, w))), 0, 255)
    settings = dict(steps=steps, octaves=octaves, octave_scale=octave_scale, lr=lr, l2=l2, jitter=jitter,
                    blur_every=blur_every, blur_sigma=blur_sigma, seed=seed)
    return Dream(start_pixels, image,
                 np.array(history), layer, channels, settings)


def target_values(clf, faces, layer, channels):
    """J of raw faces (N, H, W) for the target (host float64 (N,)), e.g. to compare before and after."""
    images = clf.preprocess(faces)
    out = clf.model.forward_to(clf.inputs_from_images(images), layer)
    return _values(out, layer, _check_target(clf.model, layer, channels, len(images)))


def dream_figure(clf, dreams, titles, suptitle):
    """Rows of dreams: each ``Dream`` in ``dreams`` gives a row of its images; ``titles`` per row (lists)."""
    rows = []
    for d, row_titles in zip(dreams, titles):
        rows.append([face_panel(img, title, colorbar=True) for img, title in zip(d.image, row_titles)])
    return panel_grid(rows, suptitle=suptitle, panel_inches=1.6)
