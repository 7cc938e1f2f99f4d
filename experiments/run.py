"""Run one paper experiment end to end: data, (HOG), training with checkpoints, evaluation, outputs.

    python -m experiments.run shallow --data PATH                 # the paper's protocol
    python -m experiments.run shallow_hog --data PATH --epochs 4 --flips random   # reduced
    python -m experiments.run shallow --data synthetic --quick    # smoke test on the embedded set
    minicnn experiment shallow --data PATH                        # the same through the CLI

Steps: load the data once (FER-2013's parsed arrays are cached); optionally
restrict the splits; fit the training mean image and make float32 inputs
``images / 255 - mean``; for the hybrid models compute HOG for every split
(cached, and for the mirror images of the training set too); train with a
checkpoint every epoch in ``<checkpoints>/<model>-<run-id>/`` (``--resume``
continues from ``last.npz``); restore the epoch with the best validation
accuracy; evaluate it on validation and test; write ``<out>/<model>-<run-id>/``:
metrics.json, curves.png, confusion.png, per_class.md.

Flips. "double": every epoch trains on the training set plus its mirror images
(hybrids: each mirror image with the HOG of the mirrored image). "random": each
training image is mirrored with probability 1/2, drawn afresh every epoch from
``(seed, epoch)`` (hybrids: the HOG of both orientations is computed once and
picked per example). "none": no mirror images.
"""
import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

from minicnn import backend
from minicnn.data import load_fer2013, load_synthetic
from minicnn.data.preprocess import MeanImage, flip_double
from minicnn.errors import ConfigError, MiniCNNError
from minicnn.features.hog import hog_features
from minicnn.layers import softmax_cross_entropy
from minicnn.training.metrics import confusion_matrix
from minicnn.models import Model
from minicnn.training import Trainer

from minicnn.pipeline import outputs, provenance
from minicnn.pipeline.config import MODEL_NAMES, default_run_id, load_config, plan_run

SYNTHETIC = "synthetic"
_FLIP_STREAM = 7
"""Seed stream of the per-epoch flip draws of hybrid models (distinct from the Trainer's streams)."""


# ------------------------------------------------------------------ data

def load_data(data, limits, seed):
    """The dataset named by ``data`` ("synthetic", a path, or None for $MINICNN_FER2013), limited.

    ``limits`` maps split -> number of images (stratified subset) or None for all.
    Returns ``(dataset, kind)`` with kind "synthetic" or "fer2013".
    """
    if data == SYNTHETIC:
        sizes = {"train": 3500, "val": 700, "test": 700}
        sizes.update({k: v for k, v in limits.items() if v is not None})
        dataset, kind = load_synthetic(sizes["train"], sizes["val"], sizes["test"], seed=seed), "synthetic"
    else:
        dataset, kind = load_fer2013(data), "fer2013"
    for name, n in limits.items():
        if n is not None:
            setattr(dataset, name, getattr(dataset, name).subset(n, seed=seed))
    return dataset, kind


class Inputs:
    """Network inputs of every split, made once: float32 images (N, 1, 48, 48) and HOG (N, D) or None.

    ``train_flipped`` holds the mirror images of the training set (and their
    HOG) when the flips mode needs them. Images are ``images / 255 - mean`` with
    the mean image of the (unflipped) training split.
    """

    def __init__(self, dataset, hog, flips):
        self.mean = MeanImage().fit(dataset.train.images)
        self.hog_params = None if hog is None else dict(hog)
        self.labels = {name: split.labels for name, split in dataset.splits().items()}
        raw = {name: split.images for name, split in dataset.splits().items()}
        if flips == "double":
            raw["train"], self.labels["train"] = flip_double(raw["train"], self.labels["train"])
        self.images = {name: self.mean.transform(imgs) for name, imgs in raw.items()}
        self.features = {name: self._hog(imgs) for name, imgs in raw.items()}
        self.train_flipped = None
        if flips == "random" and self.hog_params is not None:
            mirrored = np.ascontiguousarray(raw["train"][..., ::-1])
            self.train_flipped = (self.mean.transform(mirrored), self._hog(mirrored))

    def _hog(self, images):
        return None if self.hog_params is None else hog_features(images, **self.hog_params)

    @property
    def hog_dim(self):
        return None if self.hog_params is None else self.features["train"].shape[1]

    def X(self, split):
        """The model input of ``split``: images, or (images, HOG) for a hybrid."""
        return self.images[split] if self.hog_params is None else (self.images[split], self.features[split])


class EpochFlips:
    """Per-epoch random mirror images for a hybrid model, each with the HOG of what it shows.

    Before every epoch ``e`` (0-based count of epochs done) it draws
    ``flip ~ Bernoulli(1/2)`` per training image from ``(seed, e)`` and sets the
    trainer's training inputs to ``where(flip, mirrored, original)`` for the
    images and the HOG alike, on the model's device. Install with
    ``set_epoch(trainer)`` before ``train()`` and as a trainer callback.
    """

    def __init__(self, original, mirrored, seed, xp):
        self.xp = xp
        self.original = tuple(backend.to_device(a, xp) for a in original)
        self.mirrored = tuple(backend.to_device(a, xp) for a in mirrored)
        self.seed = seed

    def inputs(self, epoch):
        """(images, HOG) of epoch ``epoch``: each example mirrored or not."""
        flip = np.random.default_rng([self.seed, _FLIP_STREAM, epoch]).random(len(self.original[0])) < 0.5
        flip = backend.to_device(flip, self.xp)
        images = self.xp.where(flip[:, None, None, None], self.mirrored[0], self.original[0])
        features = self.xp.where(flip[:, None], self.mirrored[1], self.original[1])
        return images, features

    def set_epoch(self, trainer):
        trainer.X = self.inputs(trainer.epoch)

    def __call__(self, trainer, record):
        if trainer.epoch < trainer.config["epochs"]:
            self.set_epoch(trainer)


# ------------------------------------------------------------------ training

def build_model(run, hog_dim, xp):
    """The network of ``run["model"]`` with the run's reg, seed and HOG input size."""
    config = dict(run["model"], name=run["name"], reg=run["train"]["reg"], seed=run["seed"], hog_dim=hog_dim)
    return Model(config, xp=xp)


def last_checkpoint(checkpoint_dir, resume):
    """``checkpoint_dir/last.npz``, checked: it must exist to resume and must not to start afresh."""
    last = Path(checkpoint_dir) / "last.npz"
    if resume and not last.exists():
        raise ConfigError(f"--resume: no checkpoint {last}; run without --resume to start this run "
                          "(or give the --run-id and --checkpoints of the run to continue)")
    if not resume and last.exists():
        raise ConfigError(f"{last} exists: pass --resume to continue that run, or a new --run-id to start another")
    return last


def protocol(run):
    """What a resumed run must share with the run it continues (everything but the number of epochs)."""
    train = {k: v for k, v in run["train"].items() if k != "epochs"}
    keys = {"name": run["name"], "model": run["model"], "hog": run["hog"], "train": train, "seed": run["seed"],
            "data_limits": run["data_limits"]}
    return json.loads(json.dumps(keys))


def make_trainer(run, inputs, xp, checkpoint_dir, resume, quiet):
    """A new Trainer for ``run``, or one resumed from ``checkpoint_dir/last.npz`` when ``resume``.

    The run's protocol is stored in every checkpoint; resuming with other
    options than the run was started with (except a larger --epochs) is refused.
    """
    train = run["train"]
    online_flip = train["flips"] == "random" and inputs.hog_dim is None
    train_data = (inputs.X("train"), inputs.labels["train"])
    val_data = (inputs.X("val"), inputs.labels["val"])
    if resume:
        last = last_checkpoint(checkpoint_dir, resume)
        trainer = Trainer.resume(str(last), train_data, val_data, xp=xp, epochs=train["epochs"], quiet=quiet)
        stored = (trainer.preprocess_info or {}).get("protocol")
        if stored != protocol(run):
            differ = sorted(k for k in protocol(run) if (stored or {}).get(k) != protocol(run)[k])
            raise ConfigError(f"{last} was made with other options ({', '.join(differ) or 'no protocol stored'} "
                              "differ): resume with the options the run was started with, or start a new --run-id")
        return trainer
    optimizer = dict(train["optimizer"])
    return Trainer(build_model(run, inputs.hog_dim, xp), train_data, val_data,
                   optimizer=optimizer.pop("name"), lr=train["lr"], optimizer_kw=optimizer,
                   schedule=train["schedule"], epochs=train["epochs"], batch_size=train["batch_size"],
                   seed=run["seed"], flip=online_flip, out_dir=str(checkpoint_dir), quiet=quiet,
                   preprocess=inputs.mean.to_dict(),
                   preprocess_info={"mean_image": "x = images / 255 - mean", "hog": inputs.hog_params,
                                    "protocol": protocol(run)})


def evaluate_split(model, X, y, batch_size=256):
    """metrics of ``model`` on (X, y): accuracy, mean data loss, per-class accuracy, confusion matrix."""
    scores = model.scores(X, batch_size=batch_size)
    labels = backend.to_device(y, model.xp)
    loss, _ = softmax_cross_entropy(scores, labels)
    cm = confusion_matrix(y, backend.to_numpy(scores.argmax(axis=1)), len(outputs.paper.CLASS_NAMES))
    return outputs.split_metrics(cm, float(backend.to_numpy(loss)))


# ------------------------------------------------------------------ the whole run

def run_experiment(model_name, data=None, epochs=None, subset=None, flips=None, quick=False, backend_name=None,
                   resume=False, out="results", checkpoints="checkpoints", run_id=None, seed=None, quiet=False):
    """Train and evaluate paper model ``model_name``; write and return ``<out>/<model>-<run-id>/``.

    Arguments mirror the command line (see ``main``). Returns the results folder as a Path.
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    git = provenance.git_info()   # the code as it was when the run started (a merge during a long run must not count)
    config = load_config(model_name)
    if seed is not None:
        config["seed"] = int(seed)
    run = plan_run(config, epochs=epochs, subset=subset, flips=flips, quick=quick)
    run_id = run_id or default_run_id(run)
    xp = backend.set_backend(backend_name) if backend_name else backend.get_backend()
    backend_name = backend.backend_name(xp)
    name = f"{run['name']}-{run_id}"
    checkpoint_dir = Path(checkpoints) / name
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    last_checkpoint(checkpoint_dir, resume)
    say(f"[{name}] " + ("REDUCED: " + "; ".join(run["reductions"]) if run["reduced"] else "the paper's protocol"))

    dataset, kind = load_data(data, run["data_limits"], run["seed"])
    say(f"[{name}] data: {dataset.source}: " + ", ".join(f"{k} {len(v)}" for k, v in dataset.splits().items()))
    inputs = Inputs(dataset, run["hog"], run["train"]["flips"])
    trainer = make_trainer(run, inputs, xp, checkpoint_dir, resume, quiet)
    if inputs.train_flipped is not None:
        flipper = EpochFlips(inputs.X("train"), inputs.train_flipped, run["seed"], trainer.model.xp)
        flipper.set_epoch(trainer)
        trainer.callbacks.append(flipper)
        del inputs.train_flipped
    say(f"[{name}] training {trainer.config['epochs']} epochs of {len(inputs.labels['train'])} images, "
        f"checkpoints in {checkpoint_dir}")
    history = trainer.train()
    model = trainer.model

    results = {split: evaluate_split(model, inputs.X(split), inputs.labels[split]) for split in ("val", "test")}
    train_time = float(sum(history["epoch_time"]))
    train_images = len(inputs.labels["train"]) * trainer.epoch
    metrics = {
        "schema": outputs.SCHEMA, "model": run["name"], "run_id": run_id,
        "reduced": run["reduced"], "reductions": run["reductions"],
        "data": {"source": dataset.source, "kind": kind, "n_train": len(dataset.train), "n_val": len(dataset.val),
                 "n_test": len(dataset.test), "n_train_per_epoch": len(inputs.labels["train"])},
        "val": results["val"], "test": results["test"],
        "best_epoch": trainer.best["epoch"], "epochs_run": trainer.epoch, "iterations": trainer.step,
        "history": history,
        "timing": {"wall_time_s": time.perf_counter() - t0, "train_time_s": train_time,
                   "train_images": train_images, "images_per_s": train_images / max(train_time, 1e-9),
                   "resumed": bool(resume)},
        "hardware": provenance.hardware(backend_name), "backend": backend_name, "seed": run["seed"],
        "git": git, "config": run,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    outputs.write_metrics(folder / "metrics.json", metrics)
    outputs.write_per_class(folder / "per_class.md", metrics)
    outputs.write_figures(folder, metrics)
    say(f"[{name}] best epoch {metrics['best_epoch']}: val {outputs.pct(results['val']['accuracy'])}, "
        f"test {outputs.pct(results['test']['accuracy'])}; wrote {folder}")
    return folder


# ------------------------------------------------------------------ command line

def add_arguments(parser):
    """The runner's options (shared by ``python -m experiments.run`` and ``minicnn experiment``)."""
    parser.add_argument("model", metavar="MODEL",
                        help=f"a paper model ({', '.join(MODEL_NAMES)}) or the path of an experiment config "
                             ".json, e.g. the best_config.json a sweep wrote")
    parser.add_argument("--data", default=None,
                        help="FER-2013: the CSV (.csv/.gz/.xz), the images .zip or their folder; 'synthetic' "
                             "for the embedded faces (default: $MINICNN_FER2013)")
    parser.add_argument("--epochs", type=int, default=None, help="train this many epochs (fewer = reduced run)")
    parser.add_argument("--subset", type=int, default=None,
                        help="train on a stratified subset of this many training images (reduced run)")
    parser.add_argument("--flips", choices=("double", "random", "none"), default=None,
                        help="mirror images: 'double' the set every epoch (config default) or 'random' "
                             "per image per epoch (half the cost; recorded as a reduction)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: a few hundred images, 1 epoch (never a result to report)")
    parser.add_argument("--backend", choices=backend.NAMES, default=None,
                        help="array backend (default: the current one, $MINICNN_BACKEND or numpy)")
    parser.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    parser.add_argument("--out", default="results", help="results folder (default: results)")
    parser.add_argument("--checkpoints", default="checkpoints",
                        help="checkpoint folder, git-ignored (default: checkpoints)")
    parser.add_argument("--run-id", default=None,
                        help="name of the run (default: from the protocol, e.g. full, quick, reduced-e5-random)")
    parser.add_argument("--seed", type=int, default=None, help="seed of init, shuffling, flips, dropout (config: 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def _run_args(args):
    run_experiment(args.model, data=args.data, epochs=args.epochs, subset=args.subset, flips=args.flips,
                   quick=args.quick, backend_name=args.backend, resume=args.resume, out=args.out,
                   checkpoints=args.checkpoints, run_id=args.run_id, seed=args.seed, quiet=args.quiet)
    return 0


def add_cli(subparsers):
    """``minicnn experiment MODEL ...``: the same as ``python -m experiments.run``."""
    parser = subparsers.add_parser("experiment", help="run one of the paper's experiments (results/<model>-<run>/)",
                                   description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.set_defaults(func=_run_args)


def main(argv=None):
    parser = add_arguments(argparse.ArgumentParser(
        prog="python -m experiments.run", description=__doc__.split("\n\n")[0]))
    args = parser.parse_args(argv)
    try:
        return _run_args(args)
    except MiniCNNError as exc:
        print(f"experiments.run: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
