"""Saliency maps (Simonyan et al. 2014): how much each input pixel moves a class score.

For an input image x (C, H, W) and a class c, with s_c(x) the class score
(the unnormalised logit, in evaluation mode)::

    S[i, j] = max_k | d s_c / d x[k, i, j] |          (H, W)

computed by one backward pass of a one-hot gradient from the score layer.
The gradient is taken w.r.t. the network's input (the mean-subtracted image);
since the mean is a constant shift, that equals the gradient w.r.t. the raw
pixels up to the 1/255 scale. For a hybrid CNN+HOG model, the HOG vector is
held fixed: the map shows the CNN path only.
"""
import numpy as np

from ..backend import to_numpy
from .figures import Panel, face_panel, panel_grid

SALIENCY_CMAP = "hot"


def saliency(model, X, classes):
    """|d score[classes] / d input|, max over channels: host float64 (N, H, W).

    X: what ``model`` takes (images (N, C, H, W), or (images, features) for a
    hybrid). classes: one class index for all images or an array (N,).
    """
    grad = to_numpy(model.class_gradients(X, classes).input_grad)
    return np.abs(np.asarray(grad, dtype=np.float64)).max(axis=1)


def saliency_panels(clf, faces, classes):
    """For raw faces (N, H, W): pairs (face Panel, saliency Panel) for ``classes`` (int or (N,)).

    faces and classes may live on the host or the device.
    """
    faces, classes = to_numpy(faces), to_numpy(classes)
    maps = saliency(clf.model, clf.inputs(faces), classes)
    classes = np.broadcast_to(np.asarray(classes), (len(faces),))
    return [(face_panel(f), Panel(m, title=f"saliency: {clf.class_names[c]}", cmap=SALIENCY_CMAP,
                                  label="|d score / d pixel|"))
            for f, m, c in zip(faces, maps, classes)]


def saliency_figure(clf, face, classes=None, title=""):
    """One face (H, W) and its saliency map for each class in ``classes`` (default: all)."""
    classes = (list(range(len(clf.class_names))) if classes is None
               else [int(c) for c in np.atleast_1d(to_numpy(classes))])
    faces = np.repeat(np.asarray(to_numpy(face))[None], len(classes), axis=0)
    pairs = saliency_panels(clf, faces, np.asarray(classes))
    proba = clf.proba(faces[:1])[0]
    for (_, panel), c in zip(pairs, classes):
        panel.title = f"{clf.class_names[c]} (p={proba[c]:.2f})"
    row = [face_panel(face, title="input face", colorbar=True)] + [p for _, p in pairs]
    return panel_grid(row, ncols=min(len(row), 4), suptitle=title or "saliency |d class score / d pixel|")
