"""Online augmentation beyond the paper: random flip, shift, rotation and scale per image.

For every image n of a batch (N, C, H, W) the generator draws

    f_n   = -1 with probability 1/2 (if ``flip``), else +1   (horizontal mirror)
    a_n   ~ U(-rotation, +rotation) degrees
    z_n   ~ U(1 - scale, 1 + scale)
    t_n   ~ U(-shift, +shift) * (W, H) pixels

and the output pixel p (about the image centre c) samples the input at the
inverse of "flip, then rotate and zoom about c, then shift":

    q = c + F_n R(-a_n) (p - c - t_n) / z_n,      F_n = diag(f_n, 1)

by bilinear interpolation of the four neighbours of q, with edge pixels
repeated outside the image. All N warps happen at once: the sample points of
the batch are one (N, H*W) array and the four neighbours are read with one
fancy-index gather, written against ``xp`` so it runs on NumPy or CuPy. The
5 N uniform draws come from the generator passed in; one on the batch's
device (the Trainer's) draws them there, with nothing copied from the host.
"""
import math

from ..backend import to_device, xp_of
from ..errors import ConfigError, ShapeError


class Augmenter:
    """Random flip / shift / rotation / scale of a batch (N, C, H, W); see the module doc."""

    def __init__(self, flip=True, shift=0.1, rotation=10.0, scale=0.1):
        if not 0 <= shift < 0.5:
            raise ConfigError(f"augment shift must be a fraction of the image size in [0, 0.5), got {shift}")
        if not 0 <= rotation <= 180:
            raise ConfigError(f"augment rotation must be degrees in [0, 180], got {rotation}")
        if not 0 <= scale < 1:
            raise ConfigError(f"augment scale must be in [0, 1) (zoom 1 +- scale), got {scale}")
        self.flip, self.shift, self.rotation, self.scale = bool(flip), float(shift), float(rotation), float(scale)

    def __repr__(self):
        return (f"Augmenter(flip={self.flip}, shift={self.shift}, rotation={self.rotation}, "
                f"scale={self.scale})")

    def to_dict(self):
        return {"flip": self.flip, "shift": self.shift, "rotation": self.rotation, "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        """An Augmenter from a dict of ``to_dict`` keys; None or False gives None (no augmentation)."""
        if config is None or config is False:
            return None
        if config is True:
            return cls()
        unknown = set(config) - {"flip", "shift", "rotation", "scale"}
        if unknown:
            raise ConfigError(f"unknown augment option(s) {', '.join(sorted(unknown))}; "
                              "expected flip, shift, rotation, scale")
        return cls(**config)

    def __call__(self, batch, rng):
        """A new float batch (N, C, H, W), same backend and dtype.

        ``rng``: a seeded generator, best on the batch's device (a host one
        costs a copy of its draws to the device).
        """
        xp = xp_of(batch)
        if batch.ndim != 4:
            raise ShapeError(f"Augmenter needs a batch (N, C, H, W), got shape {tuple(batch.shape)}")
        n, c, h, w = batch.shape
        native = xp.float64 if batch.dtype == xp.float64 else xp.float32
        draws = to_device(rng.random((n, 5), dtype=native), xp).astype(batch.dtype, copy=False)
        flip = xp.where(draws[:, 0] < 0.5, -1.0, 1.0).astype(batch.dtype) if self.flip else xp.ones(n, batch.dtype)
        angle = (2 * draws[:, 1] - 1) * math.radians(self.rotation)
        zoom = 1 + (2 * draws[:, 2] - 1) * self.scale
        tx, ty = (2 * draws[:, 3] - 1) * self.shift * w, (2 * draws[:, 4] - 1) * self.shift * h
        cx, cy = (w - 1) / 2, (h - 1) / 2
        ys, xs = xp.meshgrid(xp.arange(h, dtype=batch.dtype), xp.arange(w, dtype=batch.dtype), indexing="ij")
        dx = xs.reshape(1, -1) - cx - tx[:, None]                       # (N, H*W)
        dy = ys.reshape(1, -1) - cy - ty[:, None]
        cos, sin = (xp.cos(angle) / zoom)[:, None], (xp.sin(angle) / zoom)[:, None]
        qx = cx + flip[:, None] * (cos * dx + sin * dy)
        qy = cy + (-sin * dx + cos * dy)
        return _bilinear(batch.reshape(n, c, h * w), qx, qy, h, w).reshape(batch.shape)


def _bilinear(flat, qx, qy, h, w):
    """Sample flat images (N, C, H*W) at points (qx, qy) each (N, P); edges repeat. Returns (N, C, P)."""
    xp = xp_of(flat)
    x0, y0 = xp.floor(qx), xp.floor(qy)
    wx, wy = (qx - x0)[:, None, :], (qy - y0)[:, None, :]
    x0 = x0.astype(xp.int64)
    y0 = y0.astype(xp.int64)
    xa, xb = xp.clip(x0, 0, w - 1), xp.clip(x0 + 1, 0, w - 1)
    ya, yb = xp.clip(y0, 0, h - 1), xp.clip(y0 + 1, 0, h - 1)
    n, c, _ = flat.shape
    rows = xp.arange(n)[:, None, None]
    chans = xp.arange(c)[None, :, None]

    def at(yi, xi):
        return flat[rows, chans, (yi * w + xi)[:, None, :]]

    top = at(ya, xa) * (1 - wx) + at(ya, xb) * wx
    bottom = at(yb, xa) * (1 - wx) + at(yb, xb) * wx
    return top * (1 - wy) + bottom * wy
