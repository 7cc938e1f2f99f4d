"""The embedded default data set: synthetic 48x48 cartoon faces with 7 expressions.

Each face is drawn from a per-class recipe of five facial cues, each varied per
sample so neighbouring classes overlap a little:

| class    | mouth curve | mouth open | brows (inner end)     | eyes      | other            |
|----------|-------------|------------|-----------------------|-----------|------------------|
| Angry    | slight down | closed     | low, inner end down   | narrowed  |                  |
| Disgust  | down        | closed     | low, inner end down   | squinted  | lopsided mouth, nose wrinkles |
| Fear     | slight down | half open, wide | high, inner end up | wide     |                  |
| Happy    | up (smile)  | a little   | level                 | squinted  |                  |
| Sad      | down        | closed     | inner end up          | lowered   |                  |
| Surprise | level       | wide open, round | high, level     | wide      |                  |
| Neutral  | level       | closed     | level                 | normal    |                  |

plus nuisances shared by all classes: position (+-3 px), size (+-12%), roll
(about 8 degrees), a horizontal head turn that shifts the features, skin and
background grey levels, a linear lighting gradient in a random direction,
feature contrast and Gaussian pixel noise.

Everything is vectorized with NumPy over coordinate grids (N, 48, 48), in
chunks; the only Python loops run over the two eyes/brows and over chunks.
The result depends only on the seed and the sizes: each split draws from its
own child of ``numpy.random.SeedSequence(seed)``, so e.g. the test set does not
change when ``n_train`` does.
"""
import numpy as np

from ..extras import require
from .splits import CLASS_NAMES, IMAGE_SHAPE, FERDataset, Split

# Per-class means of the expression cues (face units: 1 = half the face width).
#             curve  open  width  brow_tilt brow_y  eye_open wrinkle
_RECIPES = np.array([
    [-0.05, 0.02, 0.36, 0.40, -0.42, 0.65, 0.0],   # Angry
    [-0.12, 0.03, 0.33, 0.22, -0.44, 0.50, 0.8],   # Disgust
    [-0.07, 0.13, 0.40, -0.30, -0.60, 1.30, 0.0],  # Fear
    [0.22, 0.07, 0.42, 0.00, -0.52, 0.70, 0.0],    # Happy
    [-0.18, 0.00, 0.34, -0.38, -0.50, 0.75, 0.0],  # Sad
    [0.00, 0.30, 0.22, 0.00, -0.66, 1.40, 0.0],    # Surprise
    [0.00, 0.00, 0.36, 0.00, -0.50, 1.00, 0.0],    # Neutral
], dtype=np.float32)
_SPREAD = np.array([0.07, 0.04, 0.04, 0.15, 0.04, 0.22, 0.3], dtype=np.float32)
"""Per-sample standard deviation of each cue around its class mean."""

_CHUNK = 1024


def load_synthetic(n_train=3500, n_val=700, n_test=700, seed=0):
    """A ``FERDataset`` of synthetic faces: balanced classes, deterministic by ``seed``.

    Splits hold uint8 images (n, 48, 48) and int64 labels (n,) in ``CLASS_NAMES``
    order; class counts differ by at most one within a split.
    """
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    splits = [make_faces(n, rng) for n, rng in zip((n_train, n_val, n_test), rngs)]
    return FERDataset(*splits, source=f"synthetic cartoon faces (seed {seed}; "
                      f"{n_train}/{n_val}/{n_test} train/val/test, balanced)")


def make_faces(n, rng):
    """A balanced ``Split`` of ``n`` faces drawn with the numpy Generator ``rng``."""
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    cues = _RECIPES[labels] + _SPREAD * rng.standard_normal((n, _RECIPES.shape[1]), dtype=np.float32)
    pose = rng.random((n, 12), dtype=np.float32)
    images = np.empty((n, *IMAGE_SHAPE), dtype=np.uint8)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        noise = rng.standard_normal((len(labels[part]), *IMAGE_SHAPE), dtype=np.float32)
        images[part] = _render(cues[part], pose[part], noise)
    return Split(images, labels)


def _soft(distance_px):
    """Anti-aliased coverage 0..1 from a signed distance in pixels (negative inside)."""
    return np.clip(0.5 - distance_px, 0.0, 1.0)


def _render(cues, pose, noise):
    """uint8 (n, 48, 48) faces from cues (n, 7), pose draws in [0, 1) (n, 12) and noise (n, 48, 48)."""
    curve, opening, width, tilt, brow_y, eye_open, wrinkle = (c[:, None, None] for c in cues.T)
    p = [c[:, None, None] for c in pose.T]
    opening, eye_open = np.maximum(opening, 0.0), np.clip(eye_open, 0.15, 1.8)
    width = np.clip(width, 0.15, 0.5)
    scale = 19.0 * (0.88 + 0.24 * p[0])                        # pixels per face unit
    cx, cy = 23.5 + 6 * (p[1] - 0.5), 24.5 + 6 * (p[2] - 0.5)
    roll = np.float32(np.deg2rad(8.0)) * (2 * p[3] - 1)
    turn = 0.24 * (p[4] - 0.5)                                 # features shift sideways
    y, x = np.mgrid[0:IMAGE_SHAPE[0], 0:IMAGE_SHAPE[1]].astype(np.float32)
    u = (np.cos(roll) * (x - cx) + np.sin(roll) * (y - cy)) / scale
    v = (-np.sin(roll) * (x - cx) + np.cos(roll) * (y - cy)) / scale
    fu = u - turn

    face = _soft((np.sqrt(u ** 2 + (v / 1.25) ** 2) - 1.0) * scale)
    background, skin = 0.1 + 0.4 * p[5], 0.55 + 0.35 * p[6]
    ink = 0.45 + 0.5 * p[7]                                    # how dark the features are
    image = background + face * (skin - background)
    darkness = np.zeros_like(image)
    for side in (-1.0, 1.0):
        ex = side * 0.40
        eye_h = 0.12 * eye_open
        eye = _soft((np.sqrt(((fu - ex) / 0.17) ** 2 + ((v + 0.22) / eye_h) ** 2) - 1.0) * eye_h * scale)
        brow_line = brow_y - tilt * side * (fu - ex)
        brow = (_soft((np.abs(v - brow_line) - 0.045) * scale)
                * _soft((np.abs(fu - ex) - 0.22) * scale))
        darkness = np.maximum(darkness, np.maximum(eye, 0.9 * brow))
    t = fu / width
    lopsided = np.where(p[8] < 0.5, np.float32(-1), np.float32(1)) * 0.5 * np.maximum(wrinkle, 0.0) * 0.15
    lips = 0.55 + curve * (1.0 / 3.0 - t ** 2) + lopsided * t   # the closed mouth's line
    bulge = opening * np.sqrt(np.maximum(1.0 - t ** 2, 0.0))      # an open mouth is an ellipse
    upper, lower = lips - 0.35 * bulge, lips + 0.65 * bulge
    inside = np.maximum(np.maximum(upper - v, v - lower) - 0.035, (np.abs(t) - 1.0) * width)
    darkness = np.maximum(darkness, _soft(inside * scale))
    wrinkles = sum(_soft((np.abs(v - (0.02 + 0.07 * k)) - 0.02) * scale) for k in range(2))
    wrinkles = wrinkles * _soft((np.abs(fu) - 0.12) * scale) * np.clip(wrinkle, 0.0, 1.0)
    darkness = np.maximum(darkness, 0.6 * wrinkles)
    image = image - face * ink * darkness * image
    light = 1.0 + 0.5 * p[9] * (np.cos(6.283 * p[10]) * (x - 23.5) + np.sin(6.283 * p[10]) * (y - 23.5)) / 24.0
    image = image * light + (0.015 + 0.06 * p[11]) * noise
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def save_sample_grid(path, dataset=None, per_class=8, seed=0, split="train"):
    """Write a PNG grid: one row per class (labelled), ``per_class`` images each.

    ``dataset`` is any ``FERDataset`` (default: ``load_synthetic(seed=seed)``);
    images are picked from ``split`` by a seeded generator. Needs matplotlib.
    """
    require("matplotlib", "sample grids").use("Agg")
    plt = require("matplotlib.pyplot", "sample grids")

    dataset = dataset or load_synthetic(n_train=len(CLASS_NAMES) * per_class * 2, n_val=7, n_test=7, seed=seed)
    data = getattr(dataset, split)
    rng = np.random.default_rng(seed)
    names = dataset.class_names
    fig, axes = plt.subplots(len(names), per_class, figsize=(per_class * 0.9 + 1.2, len(names) * 0.95),
                             squeeze=False)
    for c, name in enumerate(names):
        members = np.flatnonzero(data.labels == c)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False) if len(members) else []
        for k, ax in enumerate(axes[c]):
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if k < len(chosen):
                ax.imshow(data.images[chosen[k]], cmap="gray", vmin=0, vmax=255)
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(dataset.source.split(" (")[0], fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
