"""``minicnn train`` and ``minicnn demo``: data -> preprocessing -> model -> Trainer -> plots.

    minicnn demo                                  # ~1-3 min on a laptop CPU, writes runs/demo/
    minicnn train --model shallow --data path/to/fer2013.csv.xz --out runs/shallow
    minicnn train --model shallow --data path/to/fer2013.csv.xz --out runs/shallow --resume
    minicnn train --model "c16k3-bn c32k3-bn-p2 | f64-bn-d0.5" --epochs 5 --subset 2000

A run folder holds ``last.npz`` (every epoch; ``--resume`` continues from it),
``best.npz`` (best validation accuracy), ``metrics.json``, ``curves.png`` and
``confusion.png`` (test set, best model).
"""
import json
import os
import time

import numpy as np

from .. import backend
from .. import models
from ..errors import ConfigError
from ..training.metrics import confusion_matrix, per_class_accuracy
from ..training import Trainer, evaluate

MODEL_NAMES = ("shallow", "deep", "shallow-hog", "deep-hog")
SCHEDULE_DEFAULTS = {"constant": {}, "step": {"step_epochs": 10, "gamma": 0.5},
                     "exponential": {"gamma": 0.95}, "plateau": {"factor": 0.5, "patience": 3},
                     "cosine": {}}
FLIP_MODES = ("batch", "double", "none")


# --------------------------------------------------------------------------- pieces

def model_config(name, width=1.0, seed=0, reg=None, hog_dim=None):
    """A model config from a paper name, a JSON file or a spec string; ``hog_dim`` for -hog names."""
    overrides = {"seed": seed, **({} if reg is None else {"reg": reg})}
    base = name[:-4] if name.endswith("-hog") else name
    if base in ("shallow", "deep"):
        cfg = (models.shallow_config if base == "shallow" else models.deep_config)(width, **overrides)
        return models.hybrid_config(cfg, hog_dim) if name.endswith("-hog") else cfg
    cfg = models.load_config(name) if name.endswith(".json") else models.parse_spec(name)
    cfg = {**cfg, **overrides}
    if width != 1.0:
        raise ConfigError("--width applies to the paper models (shallow, deep, ...); edit the config instead")
    return models.normalize_config(cfg)


def schedule_config(text, epochs):
    """A schedule config from a name (with defaults) or a JSON object string."""
    if text is None or text == "constant":
        return None
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--schedule: not valid JSON ({exc})") from None
    if text not in SCHEDULE_DEFAULTS:
        raise ConfigError(f"--schedule: unknown schedule {text!r}; choose one of "
                          f"{', '.join(SCHEDULE_DEFAULTS)} or give a JSON object")
    extra = {"total_epochs": epochs} if text == "cosine" else SCHEDULE_DEFAULTS[text]
    return {"name": text, **extra}


def prepare_inputs(dataset, hybrid=False, flip="batch", hog_params=None, progress=True):
    """Network inputs for every split, the paper's way.

    Fits the training mean image (``MeanImage``: x = pixels/255 - mean) on the
    training images, doubles the training set with mirror images if
    ``flip == "double"``, and for a hybrid computes HOG features
    (``hog_features`` with ``hog_params``, default settings if None) of each
    split after flipping. Returns a dict: ``train``/``val``/``test`` -> (X, y)
    with X an array (N, 1, H, W) or ``(images, hog)``; ``preprocess`` and
    ``preprocess_info`` for the checkpoint; ``hog_dim``.
    """
    from ..data.preprocess import MeanImage, flip_double
    mean = MeanImage().fit(dataset.train.images)
    splits = {"train": (dataset.train.images, dataset.train.labels),
              "val": (dataset.val.images, dataset.val.labels),
              "test": (dataset.test.images, dataset.test.labels)}
    if flip == "double":
        splits["train"] = flip_double(*splits["train"])
    info = {"mean": "x = pixels / 255 - mean image of the training set", "flip": flip}
    out, hog_dim = {}, None
    if hybrid:
        from ..features.hog import hog_features
        params = dict(hog_params or {})
        info["hog"] = params
    for name, (images, labels) in splits.items():
        X = mean.transform(images)
        if hybrid:
            feats = hog_features(images, progress=progress, **params)
            hog_dim = feats.shape[1]
            X = (X, feats)
        out[name] = (X, labels)
    out.update(preprocess=mean.to_dict(), preprocess_info=info, hog_dim=hog_dim)
    return out


def load_dataset(data, n_train, n_val, n_test, subset=None, seed=0, progress=True):
    """The data set: ``"synthetic"`` (embedded faces of the given sizes) or a FER-2013 path."""
    from ..data import load_fer2013, load_synthetic
    if data in (None, "synthetic"):
        dataset = load_synthetic(n_train=n_train, n_val=n_val, n_test=n_test, seed=seed)
    else:
        dataset = load_fer2013(data, progress=progress)
    if subset:
        dataset.train = dataset.train.subset(int(subset), seed=seed)
    return dataset


def report_run(trainer, inputs, class_names, out_dir, name, quiet=False):
    """Evaluate the (best) model on val and test, write metrics.json, curves.png, confusion.png.

    Returns the metrics dict. Plots are skipped with a note when matplotlib is missing.
    """
    model = trainer.model
    val_loss, val_acc = evaluate(model, *inputs["val"])
    test_X, test_y = inputs["test"]
    test_pred = backend.to_numpy(model.predict(test_X))
    cm = confusion_matrix(np.asarray(test_y), test_pred, model.config["n_classes"])
    test_acc = float(np.trace(cm) / cm.sum())
    per_class = per_class_accuracy(cm)
    metrics = {"model": name, "spec": models.to_spec(model.config), "n_params": model.n_params,
               "epochs_trained": trainer.epoch, "best_epoch": trainer.best["epoch"],
               "val_acc": val_acc, "val_loss": val_loss, "test_acc": test_acc,
               "per_class_test_acc": {c: (None if np.isnan(a) else float(a)) for c, a in zip(class_names, per_class)},
               "confusion_test": cm.tolist(), "stopped_early": trainer.stopped_early,
               "trainer": trainer.config}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    try:
        from ..viz.curves import plot_confusion, plot_history
        plot_history(trainer.history, os.path.join(out_dir, "curves.png"), title=f"{name} ({metrics['spec']})")
        plot_confusion(cm, class_names, os.path.join(out_dir, "confusion.png"), title=f"{name}, test set")
    except ImportError as exc:  # pragma: no cover - matplotlib present in the test extra
        print(f"note: plots skipped ({exc})")
    if not quiet:
        print(f"\n{name}: validation accuracy {val_acc * 100:.1f}%, test accuracy {test_acc * 100:.1f}% "
              f"(best epoch {trainer.best['epoch']})")
        print("per-class test accuracy: " + ", ".join(
            f"{c} {a * 100:.0f}%" for c, a in zip(class_names, per_class) if not np.isnan(a)))
        print(f"wrote {out_dir}/: last.npz best.npz metrics.json curves.png confusion.png")
    return metrics


# --------------------------------------------------------------------------- commands

def run(args):
    """Shared by ``train`` and ``demo``: build everything from parsed arguments and train."""
    if args.backend:
        backend.set_backend(args.backend)
    name = args.model
    hybrid = name.endswith("-hog")
    flip = args.flip or ("double" if hybrid else "batch")
    if flip not in FLIP_MODES:
        raise ConfigError(f"--flip must be one of {', '.join(FLIP_MODES)}, got {flip!r}")
    if hybrid and flip == "batch":
        raise ConfigError("--flip batch flips images but not their HOG features; use --flip double or none "
                          "with a -hog model")
    paper = models.PAPER_HPARAMS.get(name.replace("-hog", ""), models.PAPER_HPARAMS["shallow"])
    epochs = args.epochs or paper["epochs"]
    out_dir = args.out or os.path.join("runs", os.path.basename(name).replace(".json", ""))
    t0 = time.perf_counter()
    dataset = load_dataset(args.data, args.n_train, args.n_val, args.n_test, args.subset, args.seed,
                           progress=not args.quiet)
    inputs = prepare_inputs(dataset, hybrid=hybrid, flip=flip, progress=not args.quiet)
    if not args.quiet:
        print(dataset.summary())
        print(f"data ready in {time.perf_counter() - t0:.1f} s (flips: {flip})")
    common = dict(quiet=args.quiet, out_dir=out_dir, preprocess=inputs["preprocess"],
                  preprocess_info=inputs["preprocess_info"])
    if args.resume:
        path = args.resume if isinstance(args.resume, str) else os.path.join(out_dir, "last.npz")
        overrides = {"epochs": args.epochs} if args.epochs else {}
        trainer = Trainer.resume(path, inputs["train"], inputs["val"], **overrides, **common)
        if not args.quiet:
            print(f"resuming {path} at epoch {trainer.epoch} (+{trainer.iteration} minibatches) "
                  f"of {trainer.config['epochs']}")
    else:
        cfg = model_config(name, width=args.width, seed=args.seed, reg=args.reg, hog_dim=inputs["hog_dim"])
        model = models.Model(cfg)
        augment = None
        if args.augment:
            from ..data.augment import Augmenter
            augment = Augmenter(flip=False)
        trainer = Trainer(model, inputs["train"], inputs["val"], optimizer=args.optimizer or paper["optimizer"],
                          lr=args.lr or paper["lr"], schedule=schedule_config(args.schedule, epochs),
                          epochs=epochs, batch_size=args.batch_size or paper["batch_size"], seed=args.seed,
                          flip=flip == "batch", augment=augment, patience=args.patience,
                          train_eval_size=args.train_eval_size, **common)
    if not args.quiet:
        print(trainer.model.summary())
    trainer.train()
    report_run(trainer, inputs, dataset.class_names, out_dir, os.path.basename(name), quiet=args.quiet)
    return 0


def _common_options(p):
    p.add_argument("--epochs", type=int, help="epochs to train (train: default the paper's: shallow 30, deep 35)")
    p.add_argument("--batch-size", type=int, help="minibatch size (default 128)")
    p.add_argument("--lr", type=float, help="learning rate (default the paper's: shallow 1e-3, deep 1e-2)")
    p.add_argument("--optimizer", choices=("sgd", "momentum", "nesterov", "rmsprop", "adam"),
                   help="default: adam for shallow, nesterov for deep")
    p.add_argument("--schedule", help="constant (default), step, exponential, plateau, cosine, or a JSON "
                                      "object such as '{\"name\": \"step\", \"step_epochs\": 5, \"gamma\": 0.5}'")
    p.add_argument("--reg", type=float, help="L2 strength (default the paper's: shallow 1e-6, deep 1e-7)")
    p.add_argument("--width", type=float, default=1.0, help="scale the paper model's filters and units")
    p.add_argument("--flip", choices=FLIP_MODES, help="horizontal flips: per image per epoch (batch, default), "
                                                       "doubling the training set (double, default for -hog), or none")
    p.add_argument("--augment", action="store_true", help="online shift/rotation/scale augmentation")
    p.add_argument("--patience", type=int, help="early stop after this many epochs without a better val accuracy")
    p.add_argument("--train-eval-size", type=int, default=2000,
                   help="training images re-evaluated after each epoch for the train accuracy (default 2000)")
    p.add_argument("--subset", type=int, help="train on a stratified subset of N training images")
    p.add_argument("--n-train", type=int, default=3500, help="synthetic data: training images")
    p.add_argument("--n-val", type=int, default=700, help="synthetic data: validation images")
    p.add_argument("--n-test", type=int, default=700, help="synthetic data: test images")
    p.add_argument("--out", help="run folder (train: runs/<model>; demo: runs/demo)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                   help="continue the run in --out (its last.npz) or from CHECKPOINT")
    p.add_argument("--seed", type=int, default=0, help="one seed for init, shuffling, dropout, augmentation")
    p.add_argument("--backend", choices=backend.NAMES, help="array backend (default $MINICNN_BACKEND or numpy)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")


def add_cli(subparsers):
    p = subparsers.add_parser("train", help="train a model (paper presets, a JSON config or a spec string)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="shallow",
                   help="shallow, deep, shallow-hog, deep-hog, CONFIG.json or a spec like "
                        "'c32k3-bn-d0.25 c64k3-bn-d0.25-p2 | f512-bn-d0.5' (default shallow)")
    p.add_argument("--data", default="synthetic", help="FER-2013 csv(.gz/.xz), image folder or zip; "
                                                       "or 'synthetic' (default: embedded synthetic faces)")
    _common_options(p)
    p.set_defaults(func=run)

    d = subparsers.add_parser("demo", help="a short training run on the embedded synthetic faces, with plots",
                              description="Train a reduced-width shallow model on synthetic faces for a "
                                          "few epochs (about 1-3 minutes on a laptop CPU), print the model "
                                          "summary, progress and final accuracy, and write plots to --out.")
    _common_options(d)
    d.set_defaults(func=run, model="shallow", data="synthetic", width=0.25, epochs=6, batch_size=64, lr=2e-3,
                   optimizer="adam", train_eval_size=500, n_train=1400, n_val=350, n_test=350, out=os.path.join("runs", "demo"))
