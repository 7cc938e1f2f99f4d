"""``minicnn predict [MODEL.npz] photo.jpg [...]``: emotions of the faces in any photo.

Without MODEL.npz the model shipped inside the package is used
(``minicnn.apps.shipped``). The first argument names a model when it ends in
``.npz`` (every minicnn checkpoint does); otherwise it is the first photo.

Each photo (any size, colour or grayscale) goes through ``minicnn.apps.faces``
(faces found, cropped, resized to the model's input) and the model's own
preprocessing (``minicnn.apps.inference.Classifier``). Output: each face's
top-K emotions with probabilities, as a table or JSON; ``--annotate out.png``
draws the boxes and labels on the photo.
"""
import json
import sys

from ..apps.predict import annotation_path, format_table, predict_photo, to_json
from ..errors import DataError, MiniCNNError
from ..validate import Number, check_input_file, check_output_file, fraction, nonnegative_int, positive_int, ready


def model_and_photos(model, photos):
    """Split the positionals ``[MODEL.npz] PHOTO [PHOTO ...]``: (checkpoint path, photos).

    argparse hands the first of two or more arguments to MODEL, and a lone
    argument to PHOTO; an argument names the model exactly when it comes first
    and ends in ``.npz``. With no checkpoint named, the shipped model.
    """
    from ..apps.shipped import shipped_model

    arguments = ([] if model is None else [model]) + list(photos)
    if str(arguments[0]).lower().endswith(".npz"):
        model, photos = arguments[0], arguments[1:]
        if not photos:
            raise DataError(f"no photo named after the model {model}: `minicnn predict {model} photo.jpg`")
        return model, photos
    return shipped_model(), arguments


def run(args):
    from ..apps.inference import Classifier
    from ..viz.annotate import IMAGE_SUFFIXES, annotate

    args.model, args.photos = model_and_photos(args.model, args.photos)
    check_input_file("checkpoint", args.model)
    if args.annotate is not None:
        for photo in args.photos:
            check_output_file("--annotate", annotation_path(args.annotate, photo, len(args.photos)), IMAGE_SUFFIXES)
    ready()
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
    p.add_argument("model", nargs="?", metavar="MODEL.npz",
                   help="a minicnn checkpoint (.npz) written by `minicnn train` or `minicnn export` "
                        "(default: the model shipped inside the package, when this copy has one)")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="image files (JPEG, PNG, ...)")
    p.add_argument("--top", type=positive_int, default=3, help="emotions listed per face (default 3)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--annotate", metavar="OUT.png",
                   help="write the photo with boxes and labels here (several photos: OUT_<photo>.png)")
    p.add_argument("--no-detect", action="store_true", help="treat the whole image as one face")
    p.add_argument("--min-face", type=fraction, default=0.1,
                   help="smallest face as a fraction of the photo's shorter side (default 0.1; "
                        "lower it for group photos)")
    p.add_argument("--min-neighbors", type=nonnegative_int, default=8,
                   help="cascade hits a face needs: higher means fewer false faces (default 8)")
    p.add_argument("--margin", type=Number(0, 1), default=0.15,
                   help="crop margin around a found face, as a fraction of its size, 0 to 1 (default 0.15)")
    p.set_defaults(func=run)
