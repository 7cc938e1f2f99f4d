"""``minicnn explain MODEL.npz --data PATH|synthetic``: figures that look inside a trained model.

Writes PNGs (each with titles and colorbars) into ``--out`` for the parts
chosen with ``--what`` (default: all):

    filters      filters.png                first-layer filters as an image grid
    activations  activations_<layer>.png    every conv block's maps for one face
    saliency     saliency_face.png          the face's |d score / d pixel| for every class
                 saliency_<Class>.png       per class: test faces right and wrong
    gradcam      gradcam_face.png           the face's Grad-CAM on --layer for every class
                 gradcam_<Class>.png        per class: the same test faces as for saliency
    dream        dream_classes.png          class visualization from the face and from noise
                 dream_<layer>.png          DeepDream of the first channels of --layer from the face
    epochs       epochs_<layer>.png         the face's first-layer maps at several epochs, from
                                            the checkpoints in --run-dir (default: the epochs/
                                            folder `train --keep-epochs` wrote beside MODEL)

The face is test image ``--face`` (default 0) or the first face found in
``--photo``. See docs/explain.md.
"""
from pathlib import Path

import numpy as np

from ..apps.explain import dream_figures, run_checkpoints
from ..errors import ConfigError, DataError
from ..training.export import EPOCH_COPIES
from ..validate import (check_input_file, check_output_folder, check_path, nonnegative_int, positive_int, ready,
                        seed)
from .options import check_data

PARTS = ("filters", "activations", "saliency", "gradcam", "dream", "epochs")


def _face(args, clf, test):
    """The face (H, W) in 0..255 the single-face figures use, and a label for titles."""
    if args.photo:
        from ..apps.faces import faces_in_photo

        _, _, faces = faces_in_photo(args.photo, size=clf.input_size)
        return faces[0].astype(np.float64), f"first face of {Path(args.photo).name}"
    if not 0 <= args.face < len(test):
        raise ConfigError(f"--face {args.face}: the test split has {len(test)} images (0..{len(test) - 1})")
    return test.images[args.face].astype(np.float64), f"test face {args.face} ({clf.class_names[test.labels[args.face]]})"


def explain(args):
    from ..apps.inference import Classifier, load_eval_data
    from ..viz import activations, classes, filters, gradcam, saliency
    from ..viz.figures import save_figure

    parts = [p.strip() for p in args.what.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        raise ConfigError(f"--what {','.join(unknown) or repr(args.what)}: choose from {','.join(PARTS)}")
    check_input_file("checkpoint", args.model)
    check_data(args.data)
    if args.photo is not None:
        check_input_file("--photo", args.photo)
    if args.run_dir is not None and not check_path("--run-dir", args.run_dir).is_dir():
        raise DataError(f"--run-dir {args.run_dir}: no such folder")
    out = check_output_folder("--out", args.out)
    ready()
    clf = Classifier.load(args.model)
    if args.layer:
        gradcam.check_spatial(clf.model, args.layer)
    test = load_eval_data(args.data).test
    if len(test) > args.max_images:
        test = test.subset(args.max_images, seed=args.seed)
    face, face_label = _face(args, clf, test)
    written = []

    def save(fig, name):
        written.append(save_figure(fig, out / name))
        print(f"wrote {written[-1]}", flush=True)

    if "filters" in parts:
        save(filters.filters_figure(clf.model), "filters.png")
    if "activations" in parts:
        for layer in activations.conv_activation_layers(clf.model):
            save(activations.activations_figure(clf, face, layer), f"activations_{layer}.png")
    if "saliency" in parts:
        save(saliency.saliency_figure(clf, face, title=f"saliency |d class score / d pixel| of {face_label}"),
             "saliency_face.png")
    if "gradcam" in parts:
        layer = args.layer or gradcam.default_layer(clf.model)
        save(gradcam.gradcam_figure(clf, face, layer=layer, title=f"Grad-CAM on {layer} of {face_label}"),
             "gradcam_face.png")
    if "saliency" in parts or "gradcam" in parts:
        proba = clf.proba(test.images)
        for kind in ("saliency", "gradcam"):
            if kind not in parts:
                continue
            for c, name in enumerate(clf.class_names):
                fig = classes.class_figure(clf, kind, test.images, test.labels, proba, c, k=args.per_class,
                                           seed=args.seed, layer=args.layer)
                if fig is None:
                    print(f"no test faces of class {name}: no {kind} figure for it")
                    continue
                save(fig, f"{kind}_{name}.png")
    if "dream" in parts:
        for name, fig in dream_figures(clf, face, face_label, args.dream_steps, args.seed, args.layer):
            save(fig, name)
    if "epochs" in parts:
        run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.model)
        runs = run_checkpoints(run_dir)
        if len(runs) < 2:
            print(f"epochs: {run_dir} holds {len(runs)} checkpoint(s) with an epoch; it needs 2 or more "
                  "(train with --keep-epochs, or pass --run-dir)")
        else:
            layer = activations.conv_activation_layers(runs[0][1].model)[0]
            save(activations.epochs_figure(runs, face, layer), f"epochs_{layer}.png")
    return 0


def default_run_dir(model):
    """Where the per-epoch checkpoints of MODEL's run are: the ``epochs`` folder ``--keep-epochs`` writes
    beside it when there is one, else MODEL's own folder."""
    folder = Path(model).resolve().parent
    return folder / EPOCH_COPIES if (folder / EPOCH_COPIES).is_dir() else folder


def add_cli(subparsers):
    p = subparsers.add_parser(
        "explain", help="look inside a trained model: filters, activations, saliency, Grad-CAM, DeepDream",
        description="Write figures (PNG) that show what a trained model learned and why it predicts "
                    "what it does.")
    p.add_argument("model", help="a minicnn checkpoint (.npz)")
    p.add_argument("--data", required=True, help="FER-2013 (CSV/.gz/.xz, images zip or folder) or 'synthetic'")
    p.add_argument("--what", default=",".join(PARTS), help=f"comma-separated parts (default all: {','.join(PARTS)})")
    p.add_argument("--out", default="explain", help="output folder (default ./explain)")
    p.add_argument("--layer", help="layer for Grad-CAM and the layer dream (default: the last conv block's ReLU)")
    p.add_argument("--face", type=nonnegative_int, default=0, help="test image index for the single-face figures (default 0)")
    p.add_argument("--photo", help="use the first face found in this photo instead of a test image")
    p.add_argument("--run-dir", help="folder of one run's per-epoch checkpoints (default: the epochs/ folder "
                                     "--keep-epochs wrote beside MODEL, else MODEL's folder)")
    p.add_argument("--per-class", type=positive_int, default=3, help="right and wrong test faces per class figure (default 3)")
    p.add_argument("--max-images", type=positive_int, default=2000,
                   help="test images searched for the per-class figures (stratified subset; default 2000)")
    p.add_argument("--dream-steps", type=positive_int, default=30, help="gradient-ascent steps per octave (default 30)")
    p.add_argument("--seed", type=seed, default=0, help="seed for example picks and dreams (default 0)")
    p.set_defaults(func=explain)
