"""``minicnn demo``: a short training run on the embedded synthetic faces, with plots.

``minicnn train`` with other defaults: the shallow model at a quarter of its
width, 6 epochs on 1,400 synthetic faces, written to ``runs/demo/`` (a second
demo replaces the first). Big enough to learn the faces well (about 80% test
accuracy) and small enough to finish in under a minute on a 2-core CPU, so
that it also serves as the installation check.
"""
import os

from .train import add_training_options, run_training

DEFAULTS = dict(model="shallow", data="synthetic", width=0.25, epochs=6, batch_size=64, lr=2e-3,
                train_eval_size=500, n_train=1400, n_val=350, n_test=350, out=os.path.join("runs", "demo"))


def add_cli(subparsers):
    d = subparsers.add_parser("demo", help="a short training run on the embedded synthetic faces, with plots",
                              description=f"Train the shallow model at {DEFAULTS['width']:g} of its width on "
                                          f"{DEFAULTS['n_train']} synthetic faces for {DEFAULTS['epochs']} epochs "
                                          "(under a minute on a 2-core CPU), "
                                          "print the model summary, progress and final accuracy, and write the "
                                          "run's files to --out (default runs/demo).")
    d.add_argument("--out", help="run folder (default runs/demo)")
    add_training_options(d)
    d.set_defaults(func=lambda args: run_training(args, overwrite=True), **DEFAULTS)
