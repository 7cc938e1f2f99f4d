"""Looking inside a trained model: the checkpoints of a run by epoch and the dream figures.

The other figures (filters, activations, saliency, Grad-CAM) are in
``minicnn.viz``; ``minicnn explain`` (docs/explain.md) writes them all.
"""
from pathlib import Path

import numpy as np

from ..errors import DataError


def run_checkpoints(folder, max_rows=6):
    """``[(epoch, Classifier), ...]`` from the checkpoints in ``folder``: at most ``max_rows``,
    evenly spread from the first epoch to the last (one per epoch; other .npz files are skipped).

    Each checkpoint is opened once to read its epoch and only the chosen ones
    are kept, so a long run's folder does not fill the memory.
    """
    from .inference import Classifier

    by_epoch = {}
    for path in sorted(Path(folder).glob("*.npz")):
        try:
            epoch = Classifier.load(path).epoch
        except DataError:
            continue
        if epoch is not None:
            by_epoch.setdefault(epoch, path)
    epochs = sorted(by_epoch)
    if len(epochs) > max_rows:
        epochs = [epochs[int(round(i))] for i in np.linspace(0, len(epochs) - 1, max_rows)]
    return [(e, Classifier.load(by_epoch[e])) for e in epochs]


def dream_figures(clf, face, face_label, steps=30, seed=0, layer=None):
    """``[(file name, figure), ...]``: dream_classes.png (every class, from ``face`` and from noise)
    and dream_<layer>.png (DeepDream of the first channels of ``layer``, default the last conv ReLU)."""
    from ..viz import deepdream, gradcam

    names = clf.class_names
    n = len(names)
    kw = dict(steps=steps, seed=seed)
    faces = np.repeat(face[None], n, axis=0)
    from_face = deepdream.dream(clf, faces, "scores", np.arange(n), **kw)
    from_noise = deepdream.dream(clf, None, "scores", np.arange(n), n=n, **kw)
    titles = []
    for d in (from_face, from_noise):
        before = deepdream.target_values(clf, d.start, "scores", d.channels)
        after = deepdream.target_values(clf, d.image, "scores", d.channels)
        titles.append([f"{names[c]}: {b:.1f} -> {a:.1f}" for c, b, a in zip(d.channels, before, after)])
    figures = [("dream_classes.png", deepdream.dream_figure(
        clf, [from_face, from_noise], titles,
        f"class visualization (score before -> after): row 1 from {face_label}, row 2 from noise"))]
    layer = layer or gradcam.default_layer(clf.model)
    k = min(8, clf.model.output_shapes()[layer][0])
    d = deepdream.dream(clf, np.repeat(face[None], k, axis=0), layer, np.arange(k), **kw)
    before = deepdream.target_values(clf, d.start, layer, d.channels)
    after = deepdream.target_values(clf, d.image, layer, d.channels)
    figures.append((f"dream_{layer}.png", deepdream.dream_figure(
        clf, [d], [[f"{layer}[{c}]: {b:.2f} -> {a:.2f}" for c, b, a in zip(d.channels, before, after)]],
        f"DeepDream on {layer} channels from {face_label} (mean activation)")))
    return figures
