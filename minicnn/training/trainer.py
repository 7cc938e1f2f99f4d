"""The training loop: minibatch epochs, evaluation, history, best model, checkpoints, resume.

    trainer = Trainer(model, (X_train, y_train), (X_val, y_val), optimizer="adam", lr=1e-3,
                      epochs=30, batch_size=128, seed=0, out_dir="runs/shallow")
    history = trainer.train()

Each epoch visits every training example once, in a fresh permutation (minibatches
without replacement) drawn from a generator seeded by ``(seed, epoch)``, which
also draws the per-image flips (for a hybrid model a mirrored image takes the
side input of its mirror image, ``flip_side``); both are moved to the model's device once per
epoch. The augmenter gets, for each minibatch, a generator on the model's
device keyed by ``(seed, epoch, minibatch)`` (``backend.counter_rng``), so its
random parameters are drawn on the device. Dropout masks come from the
model's own seeded layers. So one seed fixes shuffling, flips, augmentation
and dropout (and the model's config seed fixes initialization), and a run
interrupted and resumed from a checkpoint reproduces the uninterrupted run
exactly, with no generator state to store.

After every epoch, when the model has a dropout before a batch norm
(``model.needs_recalibration``), the trainer first re-estimates the batch-norm
statistics from ``recalibrate`` training images with dropout off
(``Model.recalibrate``): the running statistics gathered during training are
biased by dropout's variance, which costs such models a large share of their
evaluation accuracy (Li et al., CVPR 2019). The images are drawn from
``(seed, epoch)``, so resuming repeats it exactly. Then it evaluates (evaluation mode, batched) the loss and
accuracy on the validation set and on a fixed subset of at most
``train_eval_size`` training images (2,000 by default: cheaper than a full
pass, and measured the same way as validation), steps the learning-rate
schedule, remembers the parameters and BN statistics of the best epoch by
validation accuracy (a copy on the model's device), writes ``last.npz`` (and ``best.npz`` when it improves)
to ``out_dir``, calls the callbacks and checks early stopping.

The training data is moved to the model's device once, after its labels are
checked on the host. Inside an epoch nothing is read back to the host except
every ``log_every`` iterations, when the pending minibatch losses and the
running accuracy are fetched in one transfer for the history and the progress
bar; the end of an epoch reads three times (the epoch's running sums, the
training subset's and the validation set's evaluation).

Ctrl-C or SIGTERM (what ``kill``, ``timeout`` and job schedulers send) finishes
the current minibatch, writes ``last.npz`` with the position inside the epoch,
and raises KeyboardInterrupt; a second signal stops at once.

Guards (none adds a device read inside an epoch): at construction the memory
pre-flight (``minicnn.training.preflight``) refuses a batch that cannot fit,
in one line naming the largest that does; ``train()`` holds the run folder's
lock (``minicnn.training.runlock``), so a second run on ``out_dir`` is refused;
a NaN or infinite loss (read with the losses the progress bar already fetches)
stops training with ``NonFiniteError`` before anything else is saved, so the
last checkpoint written stays the last good one.
"""
import contextlib
import math
import os
import signal
import threading
import time

import numpy as np

from .. import backend, layers as L
from . import preflight
from .checkpoint import decoding, load_checkpoint, save_checkpoint
from ..errors import ConfigError, NonFiniteError, ShapeError
from .hostmem import keep_freed_memory
from ..optim import make_optimizer, optimizer_from_state
from .progress import ProgressBar
from .runlock import RunLock
from .schedules import make_schedule

_SHUFFLE_STREAM = 1
_SUBSET_STREAM = 2
_RECALIBRATION_STREAM = 3
RECALIBRATION_IMAGES = 4096
"""Training images used by default to re-estimate batch-norm statistics after each epoch."""
_AUGMENT_STREAM = 4

HISTORY_KEYS = ("iter_loss", "epoch", "iterations", "lr", "batch_loss", "batch_acc", "train_loss", "train_acc",
                "val_loss", "val_acc", "epoch_time", "images_per_s")


def new_history():
    """An empty history: ``iter_loss`` per iteration, every other list per epoch."""
    return {k: [] for k in HISTORY_KEYS}


def _n(X):
    return (X[0] if isinstance(X, (tuple, list)) else X).shape[0]


def _take(X, idx):
    return tuple(x[idx] for x in X) if isinstance(X, (tuple, list)) else X[idx]


def _to(X, xp, dtype=None):
    if isinstance(X, (tuple, list)):
        return tuple(backend.to_device(x, xp, dtype=dtype) for x in X)
    return backend.to_device(X, xp, dtype=dtype)


def _snapshot(model):
    """Copies of the model's parameters and buffers on its own device (no host transfer), by name."""
    return {name: a.copy() for name, a in {**model.params, **model.buffers}.items()}


def data_loss(model, scores, y):
    """The model's own data loss of ``scores`` (N, C) for labels ``y``, without L2: ``(loss, dscores)``.

    Softmax cross-entropy or the multiclass SVM loss, as ``model.config["loss"]`` says.
    """
    loss_fn = L.softmax_cross_entropy if model.config["loss"] == "softmax" else L.svm_loss
    return loss_fn(scores, y)


def evaluate(model, X, y, batch_size=256, confusion=False):
    """Mean data loss (the model's own loss, no L2) and accuracy of ``model`` on (X, y), evaluation mode, batched.

    ``X`` may be on the host or the model's device. One host read at the end.
    Batches smaller than ``batch_size`` are used when the memory pre-flight
    says it does not fit (the results are the same). Returns ``(loss, accuracy)``
    as Python floats; with ``confusion=True`` ``(loss, accuracy, cm)`` where
    ``cm[i, j]`` counts examples of class i predicted as j (host int64, (C, C)).
    """
    xp = model.xp
    n = _n(X)
    if n == 0:
        raise ShapeError("evaluate: the evaluation set is empty")
    batch_size = preflight.fit_batch(model, batch_size)
    c = model.config["n_classes"]
    total_loss, counts = 0.0, xp.zeros(c * c, dtype=xp.int64)
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        yb = backend.to_device(y[sl], xp)
        scores = model.loss(_take(X, sl), train=False)
        loss, _ = data_loss(model, scores, yb)
        total_loss = total_loss + loss * yb.shape[0]
        counts = counts + xp.bincount(yb * c + scores.argmax(axis=1), minlength=c * c)
    host = backend.to_numpy(xp.concatenate([xp.asarray(total_loss, dtype=xp.float64).reshape(1),
                                            counts.astype(xp.float64)]))
    cm = host[1:].astype(np.int64).reshape(c, c)
    loss, acc = float(host[0]) / n, float(np.trace(cm)) / n
    return (loss, acc, cm) if confusion else (loss, acc)


class Trainer:
    """Train ``model`` on ``train_data = (X, y)`` with validation on ``val_data`` (optional).

    X is float (N, C, H, W) already preprocessed (or ``(images, features)``
    for a hybrid model); y int (N,). Arguments:

    optimizer, lr, optimizer_kw  name for ``make_optimizer`` ("sgd", "momentum", "nesterov",
                                 "rmsprop", "adam"), its rate and other arguments
    schedule          a ``make_schedule`` config dict ({"name": "step", ...}, "exponential",
                      "plateau" (on validation loss), "cosine"), or None for a constant rate
    epochs, batch_size, seed
    flip              True: flip each training image horizontally with probability 1/2, drawn
                      per image per epoch ("flips drawn per batch", as the paper's iteration
                      counts suggest); for a doubled set use data's flip_double instead
    flip_side         for a hybrid model with ``flip=True``: the side inputs (N, D) of the
                      mirrored training images (e.g. the HOG of each mirror image); a mirrored
                      example takes its row here instead of its own side input
    augment           an augmenter ``augment(batch, rng) -> batch`` applied to each minibatch;
                      ``rng`` is a generator on the batch's device (CuPy's Generator API)
    class_weights     per-class loss weights (n_classes,) for the softmax loss, or None
    recalibrate       training images to re-estimate batch-norm statistics from after each epoch
                      (dropout off); None: RECALIBRATION_IMAGES when ``model.needs_recalibration``, else 0
    run               the run's identity (JSON-able dict), stored in every checkpoint; ``resume``
                      refuses a checkpoint whose identity differs from the one it is given
    session           a JSON-able record of this process's share of the run (e.g. the code's
                      commit and the machine); ``sessions`` lists it, with the epoch and step it
                      started from, after those of the runs it resumes, in every checkpoint
    patience          stop when validation accuracy has not improved for this many epochs
    train_eval_size   size of the fixed training subset measured after each epoch
    out_dir           where ``last.npz`` (every ``checkpoint_every`` epochs) and ``best.npz`` go
    quiet             no progress bar; callbacks  ``fn(trainer, record)`` after each epoch
    preprocess, preprocess_info  stored in every checkpoint (e.g. the mean image)
    restore_best      at the end of ``train()`` load the best epoch's parameters back
    """

    def __init__(self, model, train_data, val_data=None, *, optimizer="adam", lr=1e-3, optimizer_kw=None,
                 schedule=None, epochs=10, batch_size=128, seed=0, flip=False, augment=None,
                 class_weights=None, patience=None, train_eval_size=2000, eval_batch_size=256,
                 log_every=20, out_dir=None, checkpoint_every=1, quiet=False, callbacks=(),
                 preprocess=None, preprocess_info=None, restore_best=True, recalibrate=None, run=None,
                 flip_side=None, session=None):
        self.model = model
        self.config = {
            "optimizer": str(optimizer), "lr": float(lr), "optimizer_kw": dict(optimizer_kw or {}),
            "schedule": schedule, "epochs": int(epochs), "batch_size": int(batch_size), "seed": int(seed),
            "flip": bool(flip), "class_weights": None if class_weights is None else
            [float(w) for w in backend.to_numpy(class_weights)], "patience": patience,
            "train_eval_size": int(train_eval_size), "eval_batch_size": int(eval_batch_size),
            "log_every": int(log_every), "checkpoint_every": int(checkpoint_every),
            "restore_best": bool(restore_best),
            "recalibrate": int(RECALIBRATION_IMAGES if model.needs_recalibration else 0) if recalibrate is None
            else int(recalibrate),
            "augment": None if augment is None else (augment.to_dict() if hasattr(augment, "to_dict") else repr(augment))}
        self._check_config(train_data, val_data, augment, flip_side)
        self.augment = augment
        self.out_dir = out_dir
        self.quiet = quiet
        self.callbacks = list(callbacks)
        self.preprocess, self.preprocess_info = preprocess, preprocess_info
        self.run = run
        self.sessions = [] if session is None else [{**session, "from_epoch": 0, "from_step": 0}]
        self.optimizer = make_optimizer(optimizer, lr=lr, **self.config["optimizer_kw"])
        self.schedule = make_schedule(schedule)
        self.history = new_history()
        self.epoch = 0          # epochs completed
        self.iteration = 0      # minibatches done inside the current epoch
        self.step = 0           # minibatches done in total
        self.best = {"epoch": None, "val_acc": None, "val_loss": None}
        self.best_state = None
        self.stopped_early = False
        self.stop_reason = None
        self._epoch_acc = {"loss_sum": 0.0, "correct": 0.0, "seconds": 0.0, "images": 0}
        self._interrupted = False
        xp, dtype = model.xp, model.dtype
        self.X, self.y = _to(train_data[0], xp, dtype), backend.to_device(train_data[1], xp)
        self.flip_side = None if flip_side is None else backend.to_device(flip_side, xp, dtype=dtype)
        self.val = None if val_data is None else (_to(val_data[0], xp, dtype), backend.to_device(val_data[1], xp))
        n = _n(self.X)
        pick = np.random.default_rng([self.config["seed"], _SUBSET_STREAM]).permutation(n)
        pick = np.sort(pick[:min(n, self.config["train_eval_size"])])
        idx = backend.to_device(pick, xp)
        self.train_subset = (_take(self.X, idx), self.y[idx])
        self.class_weights = None if class_weights is None else backend.to_device(
            np.asarray(self.config["class_weights"]), xp, dtype=dtype)
        preflight.check_batch(model, min(n, self.config["batch_size"]), optimizer=self.optimizer)
        if self.config["recalibrate"]:
            preflight.check_batch(model, min(n, self.config["recalibrate"], self.config["eval_batch_size"]),
                                  train=False, what="a batch-norm recalibration batch (eval_batch_size)")

    def _check_config(self, train_data, val_data, augment, flip_side):
        c = self.config
        for key in ("epochs", "batch_size", "train_eval_size", "eval_batch_size", "log_every", "checkpoint_every"):
            if c[key] < 1:
                raise ConfigError(f"Trainer: {key} must be >= 1, got {c[key]}")
        if c["recalibrate"] < 0:
            raise ConfigError(f"Trainer: recalibrate must be >= 0 images, got {c['recalibrate']}")
        if c["patience"] is not None and int(c["patience"]) < 1:
            raise ConfigError(f"Trainer: patience must be >= 1 or None, got {c['patience']}")
        if self.model.is_hybrid and augment is not None:
            raise ConfigError("Trainer: online augmentation changes the images but not their HOG features; "
                              "a hybrid model trains without it")
        if self.model.is_hybrid and c["flip"] and flip_side is None:
            raise ConfigError("Trainer: online flips of a hybrid model need the side inputs (HOG) of the "
                              "mirrored images: pass flip_side=..., or flip the set first (flip_double)")
        if flip_side is not None and not (self.model.is_hybrid and c["flip"]):
            raise ConfigError("Trainer: flip_side is for a hybrid model trained with flip=True")
        if flip_side is not None and (len(flip_side) != _n(train_data[0])
                                      or flip_side.shape[1:] != train_data[0][1].shape[1:]):
            raise ShapeError(f"Trainer: flip_side must have the shape of the training side inputs "
                             f"{tuple(train_data[0][1].shape)}, got {tuple(flip_side.shape)}")
        for name, data in (("train_data", train_data), ("val_data", val_data)):
            if data is None:
                continue
            if len(data) != 2 or _n(data[0]) != len(data[1]):
                raise ShapeError(f"Trainer: {name} must be (X, y) with as many labels as images")
            n_classes = self.model.config["n_classes"]      # checked once here: a per-step check would sync
            L.check_label_range(f"Trainer: {name}", data[1], n_classes, f" (the model has {n_classes} classes)")
        if c["class_weights"] is not None and len(c["class_weights"]) != self.model.config["n_classes"]:
            raise ConfigError(f"Trainer: class_weights has {len(c['class_weights'])} entries; the model has "
                              f"{self.model.config['n_classes']} classes")

    # -- the loop --------------------------------------------------------------
    def train(self):
        """Train until ``config["epochs"]`` epochs are done (or early stop); return the history.

        On NumPy, glibc is first told to keep freed memory for reuse
        (``minicnn.training.hostmem``): about 1.5x faster steps, at the price of the
        process holding its peak host memory until it exits.
        """
        if backend.xp_of(*self.model.params.values()) is np:
            keep_freed_memory()
        # NaN and overflow are caught by the loss checks, with a message: NumPy's own warnings only add noise
        with RunLock(self.out_dir) if self.out_dir else contextlib.nullcontext(), np.errstate(all="ignore"):
            restore = self._install_interrupt_handler()
            try:
                while self.epoch < self.config["epochs"] and not self.stopped_early:
                    self._run_epoch()
                    if self._interrupted:
                        self._interrupted = False
                        if self.out_dir:
                            path = self._save("last.npz")
                            print(f"saved {path} (epoch {self.epoch + 1}, minibatch {self.iteration}); "
                                  "resume with the command that started it plus --resume (`minicnn train --resume "
                                  f"{path}`, `minicnn experiment MODEL --resume`) or Trainer.resume", flush=True)
                        else:
                            print("interrupted; no out_dir was given, so nothing was saved", flush=True)
                        raise KeyboardInterrupt
                    self._end_epoch()
            finally:
                restore()
        if self.config["restore_best"] and self.best_state is not None:
            self.restore_best()
        return self.history

    def _epoch_draws(self, n):
        """Permutation and flip mask (or None) of the current epoch, drawn from (seed, epoch) on the host."""
        rng = np.random.default_rng([self.config["seed"], _SHUFFLE_STREAM, self.epoch])
        perm = rng.permutation(n)
        flips = rng.random(n) < 0.5 if self.config["flip"] else None
        return perm, flips

    def _run_epoch(self):
        model, opt, xp = self.model, self.optimizer, self.model.xp
        n, bs = _n(self.X), self.config["batch_size"]
        n_batches = math.ceil(n / bs)
        perm, flips = self._epoch_draws(n)
        if self.iteration == 0:
            self._epoch_acc = {"loss_sum": 0.0, "correct": 0.0, "seconds": 0.0, "images": 0}
        perm = backend.to_device(perm, xp)
        flips = None if flips is None else backend.to_device(flips, xp)
        loss_sum = xp.asarray(self._epoch_acc["loss_sum"], dtype=xp.float64)
        correct = xp.asarray(self._epoch_acc["correct"], dtype=xp.float64)
        bar = ProgressBar(n, desc=f"epoch {self.epoch + 1}/{self.config['epochs']}", unit="img",
                          quiet=self.quiet)
        bar.update(min(n, self.iteration * bs))
        pending, t0, seen = [], time.perf_counter(), 0
        for it in range(self.iteration, n_batches):
            idx = perm[it * bs:(it + 1) * bs]
            Xb, yb = _take(self.X, idx), self.y[idx]
            if flips is not None:
                Xb = self._flip(Xb, flips[idx], idx)
            if self.augment is not None:
                key = (self.config["seed"], _AUGMENT_STREAM, self.epoch)
                Xb = self.augment(Xb, backend.counter_rng(key, it, xp))
            loss, grads, scores = model.loss(Xb, yb, train=True, class_weights=self.class_weights,
                                             return_scores=True)
            opt.step(model.params, grads)
            del grads
            pending.append(loss)
            loss_sum = loss_sum + loss
            correct = correct + (scores.argmax(axis=1) == yb).sum()
            self.iteration, self.step = it + 1, self.step + 1
            seen += int(yb.shape[0])
            last = it == n_batches - 1
            if len(pending) >= self.config["log_every"] or last or self._interrupted:
                values = backend.to_numpy(xp.stack([xp.asarray(p, dtype=xp.float64) for p in pending]
                                                   + [xp.asarray(correct, dtype=xp.float64)]))
                self._check_losses(values[:-1], it + 1 - len(pending))
                self.history["iter_loss"].extend(float(v) for v in values[:-1])
                pending = []
                acc = values[-1] / (self._epoch_acc["images"] + seen)
                bar.update(int(yb.shape[0]), loss=f"{values[-2]:.3f}", acc=f"{acc:.3f}")
            else:
                bar.update(int(yb.shape[0]))
            if self._interrupted:
                break
        bar.close()
        self._epoch_acc["loss_sum"], self._epoch_acc["correct"] = (
            float(v) for v in backend.to_numpy(xp.stack([loss_sum, correct])))
        self._epoch_acc["seconds"] += time.perf_counter() - t0
        self._epoch_acc["images"] += seen

    def _flip(self, Xb, flip, idx):
        """Minibatch ``Xb`` with the examples where ``flip`` is True mirrored (and their side inputs swapped)."""
        xp = self.model.xp
        if self.flip_side is None:
            return xp.where(flip[:, None, None, None], Xb[..., ::-1], Xb)
        images, side = Xb
        return (xp.where(flip[:, None, None, None], images[..., ::-1], images),
                xp.where(flip[:, None], self.flip_side[idx], side))

    def _end_epoch(self):
        c, h = self.config, self.history
        self.epoch += 1
        lr_used = float(self.optimizer.lr)
        if c["recalibrate"]:
            self._recalibrate()
        train_loss, train_acc = evaluate(self.model, *self.train_subset, batch_size=c["eval_batch_size"])
        val_loss = val_acc = None
        if self.val is not None:
            val_loss, val_acc = evaluate(self.model, *self.val, batch_size=c["eval_batch_size"])
        for name, value in (("training", train_loss), ("validation", val_loss)):
            if value is not None and not math.isfinite(value):
                self._diverged(f"the {name} loss after epoch {self.epoch} is {value}")
        acc = self._epoch_acc
        record = {"epoch": self.epoch, "iterations": self.step, "lr": lr_used,
                  "batch_loss": acc["loss_sum"] / max(1, self.iteration),
                  "batch_acc": acc["correct"] / max(1, acc["images"]),
                  "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
                  "epoch_time": acc["seconds"], "images_per_s": acc["images"] / max(acc["seconds"], 1e-9)}
        for k, v in record.items():
            h[k].append(v)
        self.iteration = 0
        self._epoch_acc = {"loss_sum": 0.0, "correct": 0.0, "seconds": 0.0, "images": 0}
        self.schedule.step(self.optimizer, self.epoch, val_loss=val_loss, val_acc=val_acc)
        improved = val_acc is not None and (self.best["val_acc"] is None or val_acc > self.best["val_acc"])
        if improved:
            self.best = {"epoch": self.epoch, "val_acc": val_acc, "val_loss": val_loss}
            self.best_state = _snapshot(self.model)
            if self.out_dir:
                self._save("best.npz")
        if c["patience"] is not None and self.best["epoch"] is not None \
                and self.epoch - self.best["epoch"] >= int(c["patience"]):
            self.stopped_early = True
        if self.out_dir and (self.epoch % c["checkpoint_every"] == 0 or self.epoch == c["epochs"]
                             or self.stopped_early):
            self._save("last.npz")
        if not self.quiet:
            val = "" if val_acc is None else f"  val loss {val_loss:.4f} acc {val_acc:.4f}"
            print(f"epoch {self.epoch}: train loss {train_loss:.4f} acc {train_acc:.4f}{val}"
                  f"  lr {lr_used:.3g}  {record['images_per_s']:.0f} img/s"
                  + ("  (best)" if improved else "") + ("  early stop" if self.stopped_early else ""),
                  flush=True)
        for callback in self.callbacks:
            callback(self, record)

    def _check_losses(self, losses, first):
        """Stop at the first NaN or infinite minibatch loss; ``first`` is the 0-based minibatch of ``losses[0]``."""
        bad = np.flatnonzero(~np.isfinite(losses))
        if bad.size:
            self._diverged(f"the loss of minibatch {first + bad[0] + 1} of epoch {self.epoch + 1} is "
                           f"{losses[bad[0]]}")

    def _diverged(self, what):
        """Raise NonFiniteError: the run diverged; nothing of it is saved, the last checkpoint stays."""
        last = os.path.join(self.out_dir, "last.npz") if self.out_dir else None
        kept = (f"the last good checkpoint, {last}, is kept" if last and os.path.exists(last)
                else "no checkpoint was written")
        raise NonFiniteError(f"training diverged: {what} (learning rate {float(self.optimizer.lr):g}); {kept}; "
                             "lower the learning rate and train again")

    def _recalibrate(self):
        """Re-estimate the model's batch-norm statistics from ``recalibrate`` training images, dropout off."""
        n = _n(self.X)
        rng = np.random.default_rng([self.config["seed"], _RECALIBRATION_STREAM, self.epoch])
        pick = np.sort(rng.permutation(n)[:min(n, self.config["recalibrate"])])
        self.model.recalibrate(_take(self.X, backend.to_device(pick, self.model.xp)),
                               batch_size=self.config["eval_batch_size"])

    def restore_best(self):
        """Load the best epoch's parameters and BN statistics (by validation accuracy) into the model."""
        if self.best_state is None:
            raise ConfigError("Trainer.restore_best: no best model yet (it needs validation data and one epoch)")
        self.model.load_state_dict(self.best_state)
        return self.model

    # -- interruption ----------------------------------------------------------
    def _install_interrupt_handler(self):
        """Make SIGINT and SIGTERM ask for a stop after this minibatch; returns the function that undoes it."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True
            name = "interrupt" if signum == signal.SIGINT else signal.Signals(signum).name
            print(f"\n{name}: finishing this minibatch and saving a checkpoint "
                  "(send it again, e.g. Ctrl-C, to stop at once)", flush=True)

        for s in previous:
            signal.signal(s, handler)

        def restore():
            for s, h in previous.items():
                signal.signal(s, signal.SIG_DFL if h is None else h)
        return restore

    def request_stop(self, reason=None):
        """Ask the loop to stop after the current minibatch and checkpoint, as Ctrl-C does.

        ``reason`` (words such as "its time budget") is kept in ``stop_reason``,
        so the caller that catches the KeyboardInterrupt can tell a requested
        stop from Ctrl-C and report it.
        """
        self.stop_reason = reason
        self._interrupted = True

    # -- checkpoints -------------------------------------------------------------
    def state(self):
        """The trainer's JSON-able state stored in checkpoints."""
        return {"config": self.config,
                "position": {"epoch": self.epoch, "iteration": self.iteration, "step": self.step},
                "epoch_acc": self._epoch_acc, "best": self.best,
                "stopped_early": self.stopped_early, "sessions": self.sessions}

    def _save(self, name):
        return self.save(os.path.join(self.out_dir or ".", name))

    def save(self, path):
        """Write a checkpoint of the current state to ``path``."""
        return save_checkpoint(path, self.model, optimizer=self.optimizer, schedule=self.schedule,
                               trainer=self.state(), history=self.history, preprocess=self.preprocess,
                               preprocess_info=self.preprocess_info, run=self.run)

    @classmethod
    def resume(cls, path, train_data, val_data=None, xp=None, run=None, **overrides):
        """A trainer that continues the run saved in ``path`` exactly where it stopped.

        The data is passed again (checkpoints do not hold it). ``run``, when
        given, is the identity of the run the caller means to continue: a
        checkpoint of another run (other model, data or seed) is refused in
        one line naming what differs. ``overrides`` change trainer settings,
        e.g. ``epochs=40`` to train longer, ``quiet``, ``callbacks``,
        ``augment``; ``out_dir`` defaults to the checkpoint's folder. The best
        model so far is read from ``best.npz`` beside the checkpoint.
        """
        model, extras = load_checkpoint(path, xp=xp)
        state = extras["trainer"]
        if state is None or extras["optimizer"] is None:
            raise ConfigError(f"{path} holds a model but no training state; it cannot be resumed")
        if extras["meta"].get("version", 1) < 2:
            raise ConfigError(f"{path} was written by an older minicnn (checkpoint version 1, another dropout "
                              "generator): it still predicts, but a run cannot resume from it exactly; start "
                              "the run again")
        if run is not None and extras["run"] != run:
            stored = extras["run"] or {}
            differ = sorted(k for k in {*run, *stored} if run.get(k) != stored.get(k))
            raise ConfigError(f"{path} belongs to another run ({', '.join(differ)} differ): resume it with the "
                              "options it was started with, or start a new run in another folder")
        with decoding(path, "trainer"):
            cfg = dict(state["config"])
            augment = cfg.pop("augment")
            pos = state["position"]
            position = (int(pos["epoch"]), int(pos["iteration"]), int(pos["step"]))
            best, history = dict(state["best"]), {**new_history(), **(extras["history"] or {})}
        if isinstance(augment, dict):
            from ..data.augment import Augmenter
            cfg["augment"] = Augmenter.from_config(augment)
        elif augment is not None and "augment" not in overrides:
            raise ConfigError(f"{path} was trained with a custom augmenter ({augment}); pass augment=... to resume")
        kwargs = {**cfg, "out_dir": os.path.dirname(os.path.abspath(path)), "run": extras["run"],
                  "preprocess": extras["preprocess"] or None, "preprocess_info": extras["preprocess_info"]}
        kwargs.update(overrides)
        trainer = cls(model, train_data, val_data, **kwargs)
        trainer.optimizer = optimizer_from_state(extras["optimizer"])
        if extras["schedule"] is not None:
            with decoding(path, "schedule"):
                trainer.schedule.load_state_dict(extras["schedule"])
        trainer.history = history
        trainer.epoch, trainer.iteration, trainer.step = position
        trainer.sessions = list(state.get("sessions") or []) + [
            {**new, "from_epoch": trainer.epoch, "from_step": trainer.step} for new in trainer.sessions]
        trainer._epoch_acc = state.get("epoch_acc") or trainer._epoch_acc
        trainer.best = best
        trainer.stopped_early = bool(state.get("stopped_early"))
        best_path = os.path.join(os.path.dirname(os.path.abspath(path)), "best.npz")
        if trainer.best.get("epoch") is not None and os.path.exists(best_path):
            trainer.best_state = load_checkpoint(best_path, xp=model.xp)[0].state_dict()
        return trainer
