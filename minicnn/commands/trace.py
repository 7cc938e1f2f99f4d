"""``minicnn trace``: one training step of a model, layer by layer, as a table.

    minicnn trace                                   the paper's shallow net, a batch of 32
    minicnn trace deep --batch 8
    minicnn trace "c8k3-bn-p2 c16k3-p2 | f32-d0.5" --batch 16
    minicnn trace runs/demo/best.npz

MODEL_OR_SPEC is what ``minicnn train --model`` takes (a paper model: shallow,
deep, shallow_hog, deep_hog; a config .json; a spec string) or a checkpoint .npz. The batch is synthetic
faces (pixels scaled to [-0.5, 0.5]) when the model takes 1x48x48 images,
standard normal images otherwise; a hybrid model's side features are standard
normal. One untimed step runs first (--warmup). Columns: input and output
shape per example, what the layer's cache keeps for backward and its bytes,
forward and backward time, share of the step. See minicnn/trace.py.
"""
import argparse

import numpy as np

from .. import backend
from ..data.synthetic import make_faces
from ..models import scale_width
from ..pipeline.run import build_model, plan_hog_dim
from ..trace import trace_step
from ..training import preflight
from ..training.checkpoint import load_checkpoint
from ..validate import Number, nonnegative_int, positive_int, ready, seed
from .train import MAX_WIDTH, base_config


def build(text, width=1.0, seed=0):
    """The model named by MODEL_OR_SPEC (see the module docstring), on the default backend."""
    if text.endswith(".npz"):
        return load_checkpoint(text, xp=backend.get_backend())[0]
    config, _ = base_config(text)
    plan = dict(config, seed=seed, model=scale_width(config["model"], width))
    return build_model(plan, plan_hog_dim(config), backend.get_backend())


def example_batch(model, n, seed=0):
    """``(X, y)``: ``n`` inputs the model takes (see the module docstring) and labels, on the host."""
    rng = np.random.default_rng(seed)
    shape, classes = tuple(model.config["input_shape"]), model.config["n_classes"]
    if shape == (1, 48, 48):
        faces = make_faces(n, rng)
        images, y = faces.images[:, None].astype(np.float32) / 255 - 0.5, faces.labels % classes
    else:
        images, y = rng.standard_normal((n, *shape)).astype(np.float32), rng.integers(0, classes, n)
    if model.is_hybrid:
        return (images, rng.standard_normal((n, model.config["hog_dim"])).astype(np.float32)), y
    return images, y


def run(args):
    if args.backend:
        backend.set_backend(args.backend)
    model = build(args.model, args.width, args.seed)
    preflight.check_batch(model, args.batch, what="the traced batch")
    ready()
    X, y = example_batch(model, args.batch, args.seed)
    print(trace_step(model, X, y, warmup=args.warmup))
    return 0


def add_cli(subparsers):
    p = subparsers.add_parser(
        "trace", help="one training step layer by layer: shapes, caches, time",
        description=__doc__.split("\n\n")[0].strip("`") + ".",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", default="shallow", metavar="MODEL_OR_SPEC",
                   help="shallow (default), deep, shallow_hog, deep_hog, CONFIG.json, CHECKPOINT.npz or a spec")
    p.add_argument("--batch", type=positive_int, default=32, help="examples in the traced step (default 32)")
    p.add_argument("--width", type=Number(0, MAX_WIDTH, low_open=True), default=1.0,
                   help=f"scale the paper model's filters and units, up to {MAX_WIDTH}")
    p.add_argument("--warmup", type=nonnegative_int, default=1, help="untimed steps before the traced one (default 1)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the model's initialization and of the batch")
    p.add_argument("--backend", choices=backend.NAMES,
                   help="array backend (default $MINICNN_BACKEND or numpy)")
    p.set_defaults(func=run)
