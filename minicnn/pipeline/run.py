"""The one run pipeline: plan -> data -> inputs -> model -> Trainer -> evaluation -> outputs.

    plan = plan_run(load_config("shallow"), epochs=2)
    result = run(plan, "synthetic", out_dir="results/shallow-mine")
    result.metrics["test"]["accuracy"]

Every front end (``minicnn train``, ``minicnn demo``, ``minicnn experiment``,
``python -m experiments.run``, each sweep trial) builds a plan
(``minicnn.pipeline.config``) and calls ``run``; they differ only in their
defaults, their folders and what they print.

Stages:

1. the run checks its folders (``check_run``), takes them (``RunLock`` on the
   outputs and the checkpoint folder, held until its outputs are written: a
   second run on either is refused in one line) and checks them again as
   they are now: ``resume`` needs a
   checkpoint of this run's protocol (``--resume CHECKPOINT`` continues in
   the checkpoint's own folder), a fresh run refuses to overwrite one
   (unless ``overwrite``);
2. the memory pre-flight, before any data loads: the model is built from the
   plan's network with its reg, seed and HOG size, with its optimizer, and a
   training batch that cannot fit is refused in one line naming the largest
   that does (``minicnn.training.preflight``); so are synthetic faces asked
   for beyond the host's memory;
3. data (``pipeline.data``): the named set, restricted by the plan's limits,
   with its record (file name, size, sha256, decoded-array fingerprint);
4. inputs (``pipeline.inputs``): mean image, flips, HOG; the run's identity
   ``{"model": sha256 of the model config, "data": fingerprint, "seed": seed}``
   goes into every checkpoint, and a resumed run must match it;
5. the Trainer (flips, augmentation, recalibration, early stop), with
   ``last.npz`` / ``best.npz`` in ``checkpoint_dir``; a time budget
   (``train.time_budget`` seconds since the run started), or any callback,
   stops it cleanly through ``Trainer.request_stop`` (the checkpoint is saved
   first; the best epoch so far is evaluated);
6. evaluation of the best epoch on validation and test with the model's own
   loss (``minicnn.training.evaluate``);
7. outputs in ``out_dir``: metrics.json (schema 2), per_class.md, curves.png, confusion.png.
"""
import contextlib
import datetime
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import __version__, backend, layers
from ..errors import ConfigError
from ..models import Model, normalize_config, to_spec
from ..optim import make_optimizer
from ..training import Trainer, evaluate, preflight, read_checkpoint
from ..training.export import EPOCH_COPIES, EpochCopies
from ..training.runlock import RunLock
from . import outputs, provenance
from .config import default_run_id, protocol
from .data import check_synthetic_memory, load_run_data, most_train_images
from .inputs import Inputs


@dataclass
class RunResult:
    """What a run left: its outputs folder, its metrics (the metrics.json dict) and the trainer."""
    folder: Path
    metrics: dict
    trainer: Trainer


class TimeBudget:
    """Stops a trainer (``request_stop``) once ``seconds`` of wall time have passed since ``start``."""

    def __init__(self, seconds, start):
        self.seconds, self.start, self.spent, self._timer = seconds, start, False, None

    def watch(self, trainer):
        if self.seconds is None or self.seconds > threading.TIMEOUT_MAX:     # centuries: no timer can wait that long
            return self
        left = self.start + self.seconds - time.perf_counter()
        if left <= 0:
            self._stop(trainer)
        else:
            self._timer = threading.Timer(left, self._stop, (trainer,))
            self._timer.daemon = True
            self._timer.start()
        return self

    def _stop(self, trainer):
        self.spent = True
        trainer.request_stop("its time budget")

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()


def identity(model_config, data_record, seed):
    """The run's identity stored in its checkpoints: model config hash, data fingerprint, seed."""
    canonical = json.dumps(model_config, sort_keys=True, separators=(",", ":"))
    return {"model": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest(), "data": data_record["fingerprint"],
            "seed": int(seed)}


def build_model(plan, hog_dim, xp=None):
    """The network of the plan with its name, the run's reg and seed, and the HOG input size, on ``xp``."""
    return Model(dict(plan["model"], name=plan["name"], reg=plan["train"]["reg"], seed=plan["seed"],
                      hog_dim=hog_dim), xp=xp)


def model_config(plan, hog_dim):
    """The normalized model config of ``build_model``."""
    return build_model(plan, hog_dim).config


def plan_hog_dim(plan):
    """Length of the HOG vector of the plan's hybrid model, else None."""
    if plan["hog"] is None:
        return None
    from ..features.hog import hog_dim
    return hog_dim(**plan["hog"])


def checkpoint_folder(out_dir, checkpoint_dir=None, resume=False):
    """Where the run keeps last.npz / best.npz: a resumed checkpoint's own folder, else
    ``checkpoint_dir`` (default ``out_dir``)."""
    if resume and resume is not True:
        own = Path(resume).resolve().parent
        if checkpoint_dir is not None and Path(checkpoint_dir).resolve() != own:
            raise ConfigError(f"--resume {resume}: a run continues in its checkpoint's own folder ({own}), "
                              f"not in {checkpoint_dir}")
        return own
    return Path(checkpoint_dir or out_dir)


def check_run(plan, out_dir, checkpoint_dir=None, resume=False, overwrite=False):
    """What can be checked of a run's folders before its data loads; returns the checkpoint to resume from or None.

    ``resume`` True needs ``<checkpoint folder>/last.npz``, a path needs that
    file, and either must be a checkpoint of the plan's protocol (same model,
    HOG, training options, seed and data limits; epochs and time budget may
    differ). A fresh run refuses a folder that already holds ``last.npz``
    unless ``overwrite``. Outputs go beside the checkpoints, or into a folder
    that holds no other run's checkpoints.
    """
    folder = checkpoint_folder(out_dir, checkpoint_dir, resume)
    last = folder / "last.npz"
    if resume:
        path = last if resume is True else Path(resume)
        if not path.is_file():
            raise ConfigError(f"--resume: no checkpoint {path}; run without --resume to start this run "
                              "(or name the run and folders of the run to continue)")
        check_protocol(path, plan)
    elif last.exists() and not overwrite:
        raise ConfigError(f"{last} exists: pass --resume to continue that run, or choose another output "
                          "folder (or --run-id) to start a new one")
    else:
        path = None
    out = Path(out_dir)
    if out.resolve() != folder.resolve() and (out / "last.npz").exists():
        raise ConfigError(f"{out} holds the checkpoints of another run: choose another output folder")
    return path


def check_protocol(path, plan):
    """ConfigError unless the checkpoint ``path`` was trained with the plan's protocol (``config.protocol``)."""
    stored = (read_checkpoint(path).get("preprocess_info") or {}).get("protocol")
    ours = protocol(plan)
    if stored == ours:
        return
    if stored and (stored.get("name"), stored.get("model")) != (ours["name"], ours["model"]):
        raise ConfigError(f"{path} is a checkpoint of {_network(stored)}, not of {_network(ours)}: resume it "
                          "with the --model it was trained as")
    differ = sorted(k for k in ours if (stored or {}).get(k) != ours[k])
    raise ConfigError(f"{path} was made with other options ({', '.join(differ) or 'no protocol stored'}"
                      " differ): resume with the options the run was started with, or start a new run")


def stored_model_name(path):
    """The name of the model the checkpoint ``path`` was trained as by the pipeline (None if unknown)."""
    stored = (read_checkpoint(path).get("preprocess_info") or {}).get("protocol") or {}
    return stored.get("name")


def _network(protocol_part):
    try:
        spec = to_spec(normalize_config(protocol_part["model"]))
    except (KeyError, TypeError, ValueError):
        spec = "an unreadable network"
    return f"model {protocol_part.get('name')!r} ({spec})"


def check_memory(plan, model, data, sizes=None):
    """The memory pre-flight before any data loads: ResourceError (one line) when a training batch cannot fit.

    The batch checked is the plan's, or the most training images the data can
    hold when that is known beforehand and smaller (an epoch's last batch is
    never larger); the Trainer checks again with the loaded set's size.
    """
    train = plan["train"]
    options = dict(train["optimizer"])
    optimizer = make_optimizer(options.pop("name"), lr=train["lr"], **options)
    n = most_train_images(data, plan["data_limits"], sizes)
    if n is not None and train["flips"] == "double":
        n *= 2
    preflight.check_batch(model, train["batch_size"] if n is None else min(n, train["batch_size"]),
                          optimizer=optimizer)


def make_trainer(plan, inputs, model, run_identity, checkpoint_dir, resume_from, xp, quiet, session):
    """A new Trainer of ``model`` for the plan, or the one saved in ``resume_from`` (its identity checked);
    ``session`` records this process's share of the run (commit, machine) in its checkpoints."""
    train = plan["train"]
    common = dict(quiet=quiet, flip_side=inputs.flip_side, session=session)
    if resume_from is not None:
        return Trainer.resume(str(resume_from), inputs.data("train"), inputs.data("val"), xp=xp,
                              run=run_identity, epochs=train["epochs"], **common)
    augment = None
    if train["augment"] is not None:
        from ..data.augment import Augmenter
        augment = Augmenter(**{"flip": False, **train["augment"]})
    optimizer = dict(train["optimizer"])
    return Trainer(model, inputs.data("train"), inputs.data("val"),
                   optimizer=optimizer.pop("name"), lr=train["lr"], optimizer_kw=optimizer,
                   schedule=None if train["schedule"] == {"name": "constant"} else train["schedule"],
                   epochs=train["epochs"], batch_size=train["batch_size"], seed=plan["seed"],
                   flip=train["flips"] == "random", augment=augment, patience=train["patience"],
                   train_eval_size=train["train_eval_size"], recalibrate=train["recalibrate"],
                   run=run_identity, out_dir=str(checkpoint_dir), preprocess=inputs.preprocess,
                   preprocess_info=inputs.preprocess_info(protocol=protocol(plan)), **common)


def train_until_stopped(trainer, budget):
    """``trainer.train()``, within ``budget``; returns the reason of a requested stop (``request_stop``,
    e.g. "its time budget"), after restoring the best epoch so far, or None when training ran to its end.
    Ctrl-C is passed on."""
    budget.watch(trainer)
    try:
        trainer.train()
        return None
    except KeyboardInterrupt:
        if trainer.stop_reason is None:
            raise
        if trainer.best_state is None:
            raise ConfigError(f"{trainer.stop_reason} stopped the run before the first epoch ended "
                              "(its checkpoint is saved: resume with more time)") from None
        trainer.restore_best()
        return trainer.stop_reason
    finally:
        budget.cancel()


def stop_reductions(trainer, reason):
    """``(stopped, reductions)`` that only the end of training reveals: a requested stop or an early stop."""
    planned = trainer.config["epochs"]
    if reason:
        return reason, [f"stopped by {reason} after {_epochs(trainer.epoch)} (of {planned})"]
    if trainer.stopped_early and trainer.epoch < planned:
        return "early stop", [f"stopped early after {trainer.epoch} of {planned} epochs "
                              f"(patience {trainer.config['patience']})"]
    return None, []


def _epochs(n):
    return f"{n} epoch" + ("" if n == 1 else "s")


def run(plan, data=None, *, out_dir, checkpoint_dir=None, run_id=None, resume=False, overwrite=False,
        backend_name=None, conv_memory_bytes=None, host_threads=None, sizes=None, quiet=False, log=None,
        callbacks=(), keep_epochs=False, trace=False):
    """Train and evaluate the run ``plan`` on ``data``; write its outputs to ``out_dir``; return a RunResult.

    data: "synthetic", a FER-2013 path, or None for $MINICNN_FER2013 (``sizes``
    per split for synthetic). checkpoint_dir: where last.npz / best.npz go
    (default ``out_dir``). resume: False, True (``checkpoint_dir/last.npz``)
    or a checkpoint path (the run continues in its folder). overwrite: start
    afresh over an existing checkpoint.
    backend_name: "numpy", "cupy" or "strict" (default: the current backend).
    conv_memory_bytes, host_threads: ``minicnn.layers.set_conv_memory_budget``
    and ``set_host_threads`` for this process, set before the memory pre-flight
    (None: leave as they are); metrics.json's timing records what applied. log: a
    function taking one line of progress (default: silent). callbacks: more
    Trainer callbacks ``fn(trainer, record)`` after each epoch; one that calls
    ``trainer.request_stop(reason)`` ends the run like the time budget does
    (REDUCED, "stopped by <reason> after E epochs"). keep_epochs: also write an
    eval-only float16 copy of the model after every epoch to
    ``checkpoint_dir/epochs/epochNNN.npz`` (``EpochCopies``, ``EPOCH_COPIES``). trace: print the first
    training step layer by layer before training (``minicnn.trace.trace_trainer``).
    Both folders are locked for the whole run (``RunLock``).
    """
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    say = log or (lambda line: None)
    git = provenance.git_info()   # the code as it was when the run started
    xp = backend.set_backend(backend_name) if backend_name else backend.get_backend()
    if conv_memory_bytes is not None:
        layers.set_conv_memory_budget(conv_memory_bytes)
    if host_threads is not None:
        layers.set_host_threads(host_threads)
    checkpoint_dir = checkpoint_folder(out_dir, checkpoint_dir, resume)
    check_run(plan, out_dir, checkpoint_dir, resume, overwrite)     # before the locks create the folders
    with contextlib.ExitStack() as held:
        for folder in dict.fromkeys([Path(out_dir).resolve(), checkpoint_dir.resolve()]):
            held.enter_context(RunLock(folder))
        resume_from = check_run(plan, out_dir, checkpoint_dir, resume, overwrite)   # and as they are now
        run_id = run_id or default_run_id(plan)
        say("REDUCED: " + "; ".join(plan["reductions"]) if plan["reduced"] else "the reference protocol"
            + (" with changes: " + "; ".join(plan["changes"]) if plan["changes"] else ""))
        model = build_model(plan, plan_hog_dim(plan), xp)
        check_memory(plan, model, data, sizes)
        check_synthetic_memory(data, plan["data_limits"], sizes, plan["train"]["flips"])

        dataset, data_record = load_run_data(data, plan["data_limits"], plan["seed"], sizes, progress=not quiet)
        say(f"data: {data_record['source']}: " + ", ".join(f"{k} {len(v)}" for k, v in dataset.splits().items()))
        inputs = Inputs(dataset, plan["hog"], plan["train"]["flips"], progress=not quiet)
        run_identity = identity(model.config, data_record, plan["seed"])
        session = {"commit": git["commit"], "dirty": git["dirty"], "started_at": started.isoformat(timespec="seconds"),
                   "hardware": provenance.describe_hardware(provenance.hardware(backend.backend_name(xp)))}
        trainer = make_trainer(plan, inputs, model, run_identity, checkpoint_dir, resume_from, xp, quiet, session)
        if resume_from is not None:
            say(f"resuming {resume_from} at epoch {trainer.epoch} (+{trainer.iteration} minibatches)")
        say(f"training {trainer.config['epochs']} epochs of {len(inputs.y('train'))} images "
            f"(flips: {plan['train']['flips']}), checkpoints in {checkpoint_dir}")
        if not quiet:
            print(trainer.model.summary(), flush=True)
        if trace:
            from ..trace import trace_trainer
            print(trace_trainer(trainer), flush=True)
        trainer.callbacks.extend(callbacks)
        if keep_epochs:
            trainer.callbacks.append(EpochCopies(checkpoint_dir / EPOCH_COPIES))
        reason = train_until_stopped(trainer, TimeBudget(plan["train"]["time_budget"], t0))
        metrics = run_metrics(plan, trainer, reason, inputs, data_record, run_identity, run_id,
                              resume_from is not None, git, started, t0)
        folder = Path(out_dir)
        outputs.write_metrics(folder / "metrics.json", metrics)
        outputs.write_per_class(folder / "per_class.md", metrics)
        try:
            outputs.write_figures(folder, metrics)
        except ImportError as exc:   # matplotlib is an extra (viz)
            say(f"note: figures skipped ({exc})")
    return RunResult(folder, metrics, trainer)


def run_metrics(plan, trainer, reason, inputs, data_record, run_identity, run_id, resumed, git, started, t0):
    """The metrics.json dict of a trained run: the best epoch evaluated on validation and test, and its record."""
    stopped, late = stop_reductions(trainer, reason)
    model, history = trainer.model, trainer.history
    results = {}
    for split in ("val", "test"):
        loss, _, cm = evaluate(model, *inputs.data(split), batch_size=trainer.config["eval_batch_size"],
                               confusion=True)
        results[split] = outputs.split_metrics(cm, loss)
    train_time = float(sum(history["epoch_time"]))
    train_images = len(inputs.y("train")) * trainer.epoch
    reductions = plan["reductions"] + late
    return {
        "schema": outputs.SCHEMA, "model": plan["name"], "run_id": run_id, "spec": to_spec(model.config),
        "n_params": model.n_params, "reduced": bool(reductions), "reductions": reductions,
        "changes": plan["changes"], "stopped": stopped,
        "data": {**data_record, "n_train_per_epoch": len(inputs.y("train"))}, "identity": run_identity,
        "val": results["val"], "test": results["test"],
        "best_epoch": trainer.best["epoch"], "epochs_run": trainer.epoch, "iterations": trainer.step,
        "history": history, "trainer": trainer.config, "sessions": trainer.sessions,
        "timing": {"wall_time_s": time.perf_counter() - t0, "train_time_s": train_time,
                   "train_images": train_images, "images_per_s": train_images / max(train_time, 1e-9),
                   "resumed": resumed, "host_threads": layers.host_threads(model.xp),
                   "conv_memory_bytes": layers.conv_memory_budget(model.xp)},
        "hardware": provenance.hardware(backend.backend_name(model.xp)), "backend": backend.backend_name(model.xp),
        "seed": plan["seed"], "git": git, "minicnn": __version__, "config": plan,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
