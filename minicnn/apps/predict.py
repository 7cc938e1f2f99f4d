"""``minicnn predict MODEL.npz photo.jpg [...]``: emotions of the faces in any photo.

Each photo (any size, colour or grayscale) goes through ``minicnn.apps.faces``:
faces found by scikit-image's frontal-face cascade (or, with ``--no-detect``,
the whole image as one face), cropped with a margin and resized to the
model's 48x48 grayscale input; then the model's own preprocessing (its
training mean image, and HOG features for a hybrid model) and a softmax.
Output: each face's top-K emotions with probabilities, as a table or JSON;
``--annotate out.png`` draws the boxes and labels on the photo.
"""
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, MiniCNNError
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


def run(args):
    from .inference import Classifier
    from ..viz.annotate import annotate

    if args.top < 1:
        raise ConfigError(f"--top {args.top}: list at least 1 emotion per face")
    clf = Classifier.load(args.model)
    k = min(args.top, len(clf.class_names))
    results, errors = [], []
    for photo in args.photos:
        try:
            rgb, faces = predict_photo(clf, photo, detect=not args.no_detect, margin=args.margin,
                                       min_face=args.min_face, min_neighbors=args.min_neighbors)
        except MiniCNNError as exc:
            errors.append((photo, str(exc)))
            continue
        results.append((photo, faces))
        if args.annotate:
            labels = [" ".join(f"{n} {p:.2f}" for n, p in f.top(clf.class_names, 1)) for f in faces]
            annotate(rgb, [f.box for f in faces], labels, annotation_path(args.annotate, photo, len(args.photos)))
    if args.json:
        print(json.dumps(to_json(results, errors, clf.class_names, k), indent=2, allow_nan=False))
    else:
        if results:
            print(format_table(results, clf.class_names, k))
        for _, message in errors:
            print(f"minicnn predict: error: {message}", file=sys.stderr)
    return 1 if errors else 0


def add_cli(subparsers):
    p = subparsers.add_parser(
        "predict", help="emotions of the faces in photos (any size, colour or grey)",
        description="Find the faces in each photo, crop them to the model's 48x48 grayscale input, "
                    "apply the model's preprocessing and print each face's most probable emotions.")
    p.add_argument("model", help="a minicnn checkpoint (.npz) written by `minicnn train`")
    p.add_argument("photos", nargs="+", help="image files (JPEG, PNG, ...)")
    p.add_argument("--top", type=int, default=3, help="emotions listed per face (default 3)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--annotate", metavar="OUT.png",
                   help="write the photo with boxes and labels here (several photos: OUT_<photo>.png)")
    p.add_argument("--no-detect", action="store_true", help="treat the whole image as one face")
    p.add_argument("--min-face", type=float, default=0.1,
                   help="smallest face as a fraction of the photo's shorter side (default 0.1; "
                        "lower it for group photos)")
    p.add_argument("--min-neighbors", type=int, default=8,
                   help="cascade hits a face needs: higher means fewer false faces (default 8)")
    p.add_argument("--margin", type=float, default=0.15,
                   help="crop margin around a found face, as a fraction of its size (default 0.15)")
    p.set_defaults(func=run)
