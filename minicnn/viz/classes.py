"""One figure per emotion class: saliency or Grad-CAM on test faces, right and wrong.

For class c, ``pick_examples`` draws (seeded) up to k test faces of true class
c that the model got right and up to k it got wrong. Each becomes a row:
the face, titled with the prediction, then the map for the predicted class;
a wrong prediction also gets the map for the true class (what the network
would have needed to see). Maps come from ``saliency_panels`` or
``gradcam_panels``.
"""
import numpy as np

from ..backend import to_numpy
from .figures import face_panel, panel_grid
from .gradcam import default_layer, gradcam_panels
from .saliency import saliency_panels


def pick_examples(labels, predicted, cls, k, seed=0):
    """(correct indices, wrong indices) of true class ``cls``, at most ``k`` each, drawn with ``seed``.

    labels and predicted (N,) may live on the host or the device.
    """
    rng = np.random.default_rng([seed, cls])
    labels, predicted = np.asarray(to_numpy(labels)), np.asarray(to_numpy(predicted))
    of_class = np.flatnonzero(labels == cls)
    right = of_class[predicted[of_class] == cls]
    wrong = of_class[predicted[of_class] != cls]
    pick = [np.sort(rng.permutation(idx)[:k]) for idx in (right, wrong)]
    return pick[0], pick[1]


def class_figure(clf, kind, images, labels, proba, cls, k=3, seed=0, layer=None):
    """The ``kind`` ("saliency" or "gradcam") figure for class ``cls``, or None if it has no test faces.

    images: raw test faces (N, H, W); labels (N,); proba: the model's
    probabilities for them (N, C); each on the host or the device.
    """
    images, labels, proba = to_numpy(images), to_numpy(labels), to_numpy(proba)
    predicted = proba.argmax(axis=1)
    right, wrong = pick_examples(labels, predicted, cls, k, seed)
    idx = np.concatenate([right, wrong]).astype(np.int64)
    if len(idx) == 0:
        return None
    faces = images[idx].astype(np.float64)
    pred = predicted[idx]
    layer = layer or default_layer(clf.model)
    what = f"Grad-CAM on {layer}" if kind == "gradcam" else "saliency |d score / d pixel|"
    maps_pred = _map_panels(clf, kind, faces, pred, layer)
    maps_true = [None] * len(right) + (_map_panels(clf, kind, faces[len(right):], cls, layer) if len(wrong) else [])
    names = clf.class_names
    rows = []
    for j, i in enumerate(idx):
        title = f"{'right' if j < len(right) else 'wrong'}: {names[pred[j]]} {proba[i, pred[j]]:.2f}"
        maps_pred[j].title = f"for {names[pred[j]]} (predicted)"
        row = [face_panel(faces[j], title, colorbar=True), maps_pred[j]]
        if maps_true[j] is not None:
            maps_true[j].title = f"for {names[cls]} (true)"
            row.append(maps_true[j])
        rows.append(row)
    return panel_grid(rows, suptitle=f"{names[cls]}: {what}, {len(right)} right and {len(wrong)} wrong test faces")


def _map_panels(clf, kind, faces, classes, layer):
    """Map Panels ("saliency" or "gradcam") of ``faces`` for ``classes``."""
    if kind == "gradcam":
        return gradcam_panels(clf, faces, classes, layer)
    return [p for _, p in saliency_panels(clf, faces, classes)]
