"""``minicnn demo``: a short training run on the embedded synthetic faces, with plots.

``minicnn train`` with other defaults: a quarter-width shallow model, a few
epochs on a small synthetic set, written to ``runs/demo/`` (a second demo
replaces the first).
"""
import os

from .train import add_training_options, run_training

DEFAULTS = dict(model="shallow", data="synthetic", width=0.25, epochs=4, batch_size=64, lr=2e-3,
                train_eval_size=500, n_train=1000, n_val=250, n_test=250, out=os.path.join("runs", "demo"))


def add_cli(subparsers):
    d = subparsers.add_parser("demo", help="a short training run on the embedded synthetic faces, with plots",
                              description="Train a quarter-width shallow model on 1,000 synthetic faces for "
                                          f"{DEFAULTS['epochs']} epochs (well under a minute on a laptop CPU), "
                                          "print the model summary, progress and final accuracy, and write the "
                                          "run's files to --out (default runs/demo).")
    d.add_argument("--out", help="run folder (default runs/demo)")
    add_training_options(d)
    d.set_defaults(func=lambda args: run_training(args, overwrite=True), **DEFAULTS)
