"""``minicnn train``: one training run of any model, in one folder, through the run pipeline.

    minicnn train --model shallow --data path/to/fer2013.csv.xz --out runs/shallow
    minicnn train --model shallow --data path/to/fer2013.csv.xz --out runs/shallow --resume
    minicnn train --model shallow_hog --quick
    minicnn train --model "c16k3-bn c32k3-bn-p2 | f64-bn-d0.5" --epochs 5 --subset 2000

``--model`` is a paper model (shallow, deep, shallow_hog, deep_hog: its run
config, the paper's protocol), a run config .json (such as a sweep's
best_config.json), a model config .json or a spec string (both with the
shallow model's training settings). The defaults are the paper's protocol:
``minicnn train --model shallow_hog`` and ``minicnn experiment shallow_hog``
train the same run. A run folder holds ``last.npz`` (every epoch;
``--resume`` continues from it), ``best.npz`` (best validation accuracy),
``metrics.json``, ``per_class.md``, ``curves.png`` and ``confusion.png``; it
belongs to one run at a time (a second run on it is refused).
``--resume CHECKPOINT`` continues in the checkpoint's own folder; the
``--model`` given must be the one it was trained as (a paper model's
checkpoint needs no ``--model``).
"""
import json
from pathlib import Path

from .. import models
from ..errors import ConfigError
from ..pipeline.config import MODEL_NAMES, QUICK, check_config, load_config, model_name, paper_config, read_json
from ..pipeline.run import check_run, checkpoint_folder, run, stored_model_name
from ..training.schedules import make_schedule
from ..validate import (Number, check_input_file, check_output_folder, nonnegative_number, positive_int,
                        positive_number, ready)
from .options import (add_run_options, check_data, log_for, machine_settings, plan_from_args, print_summary,
                      run_settings)

SCHEDULE_DEFAULTS = {"constant": {}, "step": {"step_epochs": 10, "gamma": 0.5},
                     "exponential": {"gamma": 0.95}, "plateau": {"factor": 0.5, "patience": 3},
                     "cosine": {}}
MAX_WIDTH = 64
"""Widest scaling --width takes: 64 times the paper's filters and units is already far beyond any machine's memory."""
_NETWORK_ONLY = ("name", "reg", "seed", "hog_dim")
"""Model-config keys a run sets itself (from its name, train.reg, seed and HOG)."""


def base_config(model):
    """``(run config, reference)`` for ``--model``: a paper model, a run config .json, a model
    config .json or a spec string (the last two train with the shallow model's settings)."""
    if model in MODEL_NAMES:
        config = load_config(model)
        return config, config
    if model.replace("-", "_") in MODEL_NAMES:
        model_name(model)                       # raises, with a hint
    if model.endswith(".json"):
        found = read_json(model, "--model")
        if isinstance(found, dict) and "train" in found:
            config = check_config(found, model)
            return config, paper_config(config["name"]) or config
        network, name = models.normalize_config(found), Path(model).stem
    else:
        network, name = models.normalize_config(models.parse_spec(model)), "custom"
    shallow = load_config("shallow")
    config = {**shallow, "name": name, "title": f"{name} ({models.to_spec(network)})", "hog": None,
              "model": {k: v for k, v in network.items() if k not in _NETWORK_ONLY}}
    config.pop("why")
    return config, shallow


def schedule_config(text, epochs):
    """A schedule config from a name (with defaults) or a JSON object string."""
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


def train_config(args, model="shallow"):
    """The run config and reference of ``model`` (a ``--model`` value) with the training options applied."""
    config, reference = base_config(model)
    train = dict(config["train"])
    if args.width != 1.0:
        config = dict(config, model=models.scale_width(config["model"], args.width))
    for key in ("lr", "reg", "batch_size", "patience", "train_eval_size"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    if args.optimizer is not None and args.optimizer != train["optimizer"]["name"]:
        train["optimizer"] = {"name": args.optimizer}
    if args.schedule is not None:
        epochs = args.epochs if args.epochs is not None else QUICK["epochs"] if args.quick else train["epochs"]
        train["schedule"] = schedule_config(args.schedule, epochs)
        make_schedule(train["schedule"])                 # a bad schedule is refused now, not after the data loads
    if args.augment:
        train["augment"] = {}
    return dict(config, train=train), reference


def resume_of(args):
    """``--resume``: None (a fresh run), True (``--out``'s last.npz) or the checkpoint's Path (checked to exist)."""
    if args.resume is None or args.resume is True:
        return args.resume
    return check_input_file("--resume", args.resume)


def model_of(args, resume):
    """``--model``; without it, on resume the paper model the checkpoint was trained as, else shallow."""
    if args.model is not None:
        return args.model
    if resume is None:
        return "shallow"
    path = resume if resume is not True else Path(args.out or Path("runs", "shallow")) / "last.npz"
    if not path.is_file():
        return "shallow"                                  # check_run says there is no checkpoint
    name = stored_model_name(path)
    if name not in MODEL_NAMES:
        raise ConfigError(f"--resume {path}: a run of model {name!r}; pass the --model it was trained as "
                          "(its config .json or spec)")
    return name


def run_training(args, overwrite=False):
    """Shared by ``train`` and ``demo``: check the options and folders, plan the run, run the pipeline."""
    resume = resume_of(args)
    config, reference = train_config(args, model_of(args, resume))
    plan = plan_from_args(config, args, reference)
    data = check_data(args.data)
    out = args.out if args.out is not None else checkpoint_folder(Path("runs", plan["name"]), resume=resume)
    check_run(plan, out, resume=resume or False, overwrite=overwrite)
    out = check_output_folder("--out", out)
    ready()
    result = run(plan, data, out_dir=out, resume=resume or False, overwrite=overwrite, **machine_settings(args),
                 **run_settings(args), sizes={"train": args.n_train, "val": args.n_val, "test": args.n_test},
                 quiet=args.quiet, log=log_for(args), trace=args.trace)
    if not args.quiet:
        print_summary(result, checkpoint_folder(out, resume=resume or False))
    return 0


def add_training_options(p):
    """The options of ``train`` and ``demo`` beside the shared run options."""
    add_run_options(p)
    p.add_argument("--batch-size", type=positive_int, help="minibatch size (default the config's: 128)")
    p.add_argument("--lr", type=positive_number,
                   help="learning rate (default the config's: 1e-3 for the paper models, where the paper "
                        "states 1e-2 for deep: see experiments/CONFIGS.md); a rate so high that training "
                        "diverges stops the run with an error")
    p.add_argument("--optimizer", choices=("sgd", "momentum", "nesterov", "rmsprop", "adam"),
                   help="default the config's: adam for the paper models")
    p.add_argument("--schedule", help="constant (default), step, exponential, plateau, cosine, or a JSON "
                                      "object such as '{\"name\": \"step\", \"step_epochs\": 5, \"gamma\": 0.5}'")
    p.add_argument("--reg", type=nonnegative_number, help="L2 strength (default the paper's: shallow 1e-6, deep 1e-7)")
    p.add_argument("--width", type=Number(0, MAX_WIDTH, low_open=True), default=1.0,
                   help=f"scale the model's filters and units, up to {MAX_WIDTH} (default 1)")
    p.add_argument("--augment", action="store_true", help="online shift/rotation/scale augmentation")
    p.add_argument("--patience", type=positive_int, help="early stop after this many epochs without a better val accuracy")
    p.add_argument("--train-eval-size", type=positive_int,
                   help="training images re-evaluated after each epoch for the train accuracy (default 2000)")
    p.add_argument("--n-train", type=positive_int, default=3500, help="synthetic data: training images (default 3500)")
    p.add_argument("--n-val", type=positive_int, default=700, help="synthetic data: validation images (default 700)")
    p.add_argument("--n-test", type=positive_int, default=700, help="synthetic data: test images (default 700)")
    p.add_argument("--resume", nargs="?", const=True, default=None, metavar="CHECKPOINT",
                   help="continue the run in --out (its last.npz) or from CHECKPOINT (then in its folder)")
    p.add_argument("--trace", action="store_true",
                   help="before training, print its first step layer by layer: shapes, caches, time "
                        "(as `minicnn trace`, on the run's model, batch size and data)")
    return p


def add_cli(subparsers):
    p = subparsers.add_parser("train", help="train a model (paper presets, a JSON config or a spec string)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--model",
                   help="shallow, deep, shallow_hog, deep_hog, CONFIG.json or a spec like "
                        "'c32k3-bn-d0.25 c64k3-bn-d0.25-p2 | f512-bn-d0.5' (default shallow; on --resume "
                        "the checkpoint's paper model)")
    p.add_argument("--data", default="synthetic", help="FER-2013 csv(.gz/.xz), image folder or zip; "
                                                       "or 'synthetic' (default: embedded synthetic faces)")
    p.add_argument("--out", help="run folder (default runs/<model>; with --resume CHECKPOINT: its folder)")
    add_training_options(p)
    p.set_defaults(func=run_training)
