"""Emotions of the faces in any photo (the library of ``minicnn predict``).

Each photo (any size, colour or grayscale) goes through ``minicnn.apps.faces``:
faces found by scikit-image's frontal-face cascade (or, with ``--no-detect``,
the whole image as one face), cropped with a margin and resized to the
model's 48x48 grayscale input; then the model's own preprocessing (its
training mean image, and HOG features for a hybrid model) and a softmax.
``format_table`` and ``to_json`` give each face's top-K emotions with
probabilities; ``minicnn.viz.annotate`` draws the boxes and labels on the photo.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .faces import faces_in_photo


@dataclass
class FacePrediction:
    """One face: its box in the photo and the class probabilities (n_classes,)."""
    box: object
    proba: np.ndarray

    def top(self, class_names, k):
        """[(class name, probability), ...] for the ``k`` most probable classes."""
        order = np.argsort(-self.proba, kind="stable")[:k]
        return [(class_names[i], float(self.proba[i])) for i in order]


def predict_photo(clf, path, detect=True, margin=0.15, **detect_kw):
    """``(rgb, [FacePrediction, ...])`` for the faces of the photo at ``path`` (left to right).

    clf: a ``minicnn.apps.inference.Classifier``. Raises DataError (one line) for an
    unreadable file or a photo without a face.
    """
    rgb, boxes, faces = faces_in_photo(path, detect=detect, margin=margin, size=clf.input_size, **detect_kw)
    proba = clf.proba(faces)
    return rgb, [FacePrediction(b, p) for b, p in zip(boxes, proba)]


def format_table(results, class_names, k):
    """Text table: one line per (photo, face, rank) with the box and the probability."""
    lines = [f"{'photo':<24} {'face':>4}  {'box (left,top,w,h)':<20} {'emotion':<9} {'prob':>6}"]
    for photo, faces in results:
        for j, face in enumerate(faces, 1):
            b = face.box
            box = f"{b.left},{b.top},{b.width},{b.height}"
            for rank, (name, p) in enumerate(face.top(class_names, k)):
                head = f"{_short(photo):<24} {j:>4}  {box:<20}" if rank == 0 else " " * 51
                lines.append(f"{head} {name:<9} {p:>6.3f}")
    return "\n".join(lines)


def _short(path, width=24):
    name = Path(path).name
    return name if len(name) <= width else "..." + name[-(width - 3):]


def to_json(results, errors, class_names, k):
    """A JSON-able list: per photo its faces (box, top-K, all probabilities) or its error."""
    out = []
    for photo, faces in results:
        out.append({"photo": str(photo), "faces": [
            {"box": f.box.as_dict(),
             "top": [{"emotion": n, "probability": p} for n, p in f.top(class_names, k)],
             "probabilities": {n: float(p) for n, p in zip(class_names, f.proba)}} for f in faces]})
    out += [{"photo": str(photo), "error": message} for photo, message in errors]
    return out


def annotation_path(out, photo, n_photos):
    """Where ``--annotate out`` writes for ``photo``: ``out`` itself, or ``out_<photo stem>`` for several."""
    out = Path(out)
    return out if n_photos == 1 else out.with_name(f"{out.stem}_{Path(photo).stem}{out.suffix or '.png'}")
