"""Short pilot runs that choose what the paper leaves unstated, before hours of CPU go into a full run.

    python -m experiments.pilots --data PATH --out results/pilots [--only NAME ...] [--epochs 3]

Each pilot trains one variant (optimizer, learning rate, dropout rate) of the
shallow or deep model at the paper's protocol (28,709 images per epoch, each
mirrored with probability 1/2, batch 128, seed 0) for a few epochs, and after
every epoch measures validation accuracy two ways on the same weights:

- ``as trained``: batch-norm running statistics as training left them
  (exponential averages of batch statistics taken with dropout on);
- ``recalibrated``: running statistics re-estimated from ``RECAL_IMAGES``
  training images with dropout off (``Model.recalibrate``: a plain average over those batches),
  which removes the train/eval variance shift between a dropout and the
  batch norm after it (Li et al., CVPR 2019).

Recalibration changes only the statistics used at evaluation, never the
training trajectory, so one run gives both numbers. Results go to
``<out>/<pilot>.json`` after every epoch (a finished pilot is skipped when the
command runs again) and a table to ``<out>/pilots.md``.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from minicnn import backend, models
from minicnn.data import load_fer2013
from minicnn.pipeline.inputs import Inputs
from minicnn.pipeline.provenance import git_info
from minicnn.training import Trainer, evaluate

RECAL_IMAGES = 5120

PILOTS = {
    # name: (base model, optimizer dict, lr, conv dropout, fc dropout)
    "shallow-adam1e-3-d0.25": ("shallow", {"name": "adam"}, 1e-3, 0.25, 0.5),
    "shallow-adam1e-3-d0.1": ("shallow", {"name": "adam"}, 1e-3, 0.1, 0.5),
    "shallow-nesterov1e-2-d0.25": ("shallow", {"name": "nesterov", "momentum": 0.9}, 1e-2, 0.25, 0.5),
    "deep-nesterov1e-2-d0.25": ("deep", {"name": "nesterov", "momentum": 0.9}, 1e-2, 0.25, 0.5),
    "deep-adam1e-3-d0.25": ("deep", {"name": "adam"}, 1e-3, 0.25, 0.5),
    "deep-adam1e-3-d0.1": ("deep", {"name": "adam"}, 1e-3, 0.1, 0.5),
}


def recalibrated_val(model, X_train, X_val, y_val, seed):
    """Validation (loss, accuracy) with BN statistics re-estimated, dropout off; the model is left unchanged."""
    saved = model.state_dict()
    pick = np.sort(np.random.default_rng([seed, 99]).permutation(len(X_train))[:RECAL_IMAGES])
    try:
        return evaluate(model.recalibrate(X_train[pick]), X_val, y_val)
    finally:
        model.load_state_dict(saved)


def run_pilot(name, data, out, epochs, seed=0):
    path = os.path.join(out, f"{name}.json")
    if os.path.exists(path) and json.load(open(path))["epochs_done"] >= epochs:
        print(f"[{name}] done already ({path})", flush=True)
        return
    base, optimizer, lr, conv_p, fc_p = PILOTS[name]
    inputs = Inputs(load_fer2013(data), hog=None, flips="random")
    (X, y), (Xv, yv) = inputs.data("train"), inputs.data("val")
    cfg = (models.shallow_config if base == "shallow" else models.deep_config)(
        conv_dropout=conv_p, fc_dropout=fc_p, seed=seed)
    model = models.Model(cfg)
    opt = dict(optimizer)
    record = {"pilot": name, "model": base, "optimizer": optimizer, "lr": lr, "conv_dropout": conv_p,
              "fc_dropout": fc_p, "seed": seed, "recal_images": RECAL_IMAGES, "epochs_done": 0,
              "val_acc_as_trained": [], "val_acc_recalibrated": [], "train_acc": [], "epoch_time_s": [],
              "git": git_info()["commit"][:7]}
    t = [time.perf_counter()]

    def after_epoch(trainer, rec):
        _, acc = recalibrated_val(trainer.model, X, Xv, yv, seed)
        record["epochs_done"] = rec["epoch"]
        record["val_acc_as_trained"].append(rec["val_acc"])
        record["val_acc_recalibrated"].append(acc)
        record["train_acc"].append(rec["train_acc"])
        record["epoch_time_s"].append(time.perf_counter() - t[0])
        t[0] = time.perf_counter()
        print(f"[{name}] epoch {rec['epoch']}: val as trained {rec['val_acc']:.4f}, recalibrated {acc:.4f}",
              flush=True)
        with open(path, "w") as f:
            json.dump(record, f, indent=1)

    trainer = Trainer(model, (X, y), (Xv, yv), optimizer=opt.pop("name"), lr=lr, optimizer_kw=opt,
                      epochs=epochs, batch_size=128, seed=seed, flip=True, callbacks=[after_epoch],
                      restore_best=False, quiet=True, recalibrate=0)   # "as trained": the trainer must not recalibrate
    trainer.train()


def write_table(out):
    rows = []
    for name in PILOTS:
        path = os.path.join(out, f"{name}.json")
        if not os.path.exists(path):
            continue
        r = json.load(open(path))
        last = r["epochs_done"]
        rows.append(f"| {name} | {r['optimizer']['name']} {r['lr']:g} | {r['conv_dropout']:g} / {r['fc_dropout']:g} "
                    f"| {last} | " + " ".join(f"{a * 100:.1f}" for a in r["val_acc_as_trained"]) + " | "
                    + " ".join(f"{a * 100:.1f}" for a in r["val_acc_recalibrated"]) + f" | {r['git']} |")
    text = ["| pilot | optimizer, lr | dropout conv / fc | epochs | val % as trained (per epoch) "
            "| val % recalibrated (per epoch) | commit |", "|---|---|---|---:|---|---|---|", *rows]
    with open(os.path.join(out, "pilots.md"), "w") as f:
        f.write("\n".join(text) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.pilots", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--out", default="results/pilots")
    p.add_argument("--only", nargs="*", default=None, choices=sorted(PILOTS))
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    backend.set_backend("numpy")
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or PILOTS:
        run_pilot(name, args.data, args.out, args.epochs)
        write_table(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
