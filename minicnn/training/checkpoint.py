"""Checkpoints: one ``.npz`` per save, enough to rebuild a model and resume training exactly.

Keys inside the archive (arrays are host NumPy arrays, so a checkpoint written
on CuPy loads on NumPy and back; text entries are 0-d unicode arrays of JSON)::

    meta               JSON  {"format": "minicnn-checkpoint", "version": 2, "minicnn": "0.1.0"}
    model_config       JSON  the model config (Model(config) rebuilds the network)
    model/<name>       array parameters and BN running statistics (conv1.W, sbn1.running_mean, ...)
    layer_state        JSON  each layer's state beyond arrays (``Layer.state()``: dropout draws so far)
    run                JSON  the run's identity (model config hash, data fingerprint, seed), when given
    optim/<key>        the optimizer's flat state_dict (name, lr, t, hyper-parameters, slot/param arrays)
    schedule           JSON  the learning-rate schedule's state_dict
    trainer            JSON  trainer config, position (epoch, iteration, step), epoch RNG state, best so far
    history            JSON  per-iteration and per-epoch curves
    preprocess/<key>   array preprocessing to apply at prediction time (e.g. the mean image)
    preprocess_info    JSON  scalars and text describing that preprocessing

Version 1 (before the layer interface and counter-based dropout) kept the
dropout positions as ``model_rng``; it still loads for prediction, but a
training run cannot resume from it exactly (the masks differ), so the trainer
refuses it.

Writes are atomic: the archive goes to a temporary file ``.tmp-<pid>-*.npz``
in the same folder, which then replaces ``path`` with ``os.replace``, so an
interrupted save never leaves a half-written checkpoint. The temporary file is
removed on every exit path of the writer; one orphaned by a killed process
(its pid no longer running) is removed the next time a checkpoint is written
to that folder. Checkpoints are created with mode 0666 less the umask (0644
under the usual umask), like every other output file.

Numbers are checked both ways: a checkpoint whose weights, statistics,
optimizer state or preprocessing hold NaN or infinity is neither written nor
loaded (``NonFiniteError``), and a damaged JSON entry is refused in one line
(``DataError``).
"""
import contextlib
import json
import os
import re
import secrets
import zipfile

import numpy as np

from .. import __version__, backend
from ..errors import DataError, MiniCNNError, NonFiniteError
from ..models import Model
from .runlock import process_alive

FORMAT = "minicnn-checkpoint"
VERSION = 2
_TMP = re.compile(r"\.tmp-(\d+)-\w+\.npz$")


def json_entry(obj):
    """``obj`` as a 0-d unicode array of JSON text, the form of every text entry of a checkpoint."""
    return np.array(json.dumps(obj, default=_to_plain, allow_nan=False))


def _to_plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def save_checkpoint(path, model, optimizer=None, schedule=None, trainer=None, history=None,
                    preprocess=None, preprocess_info=None, run=None):
    """Write ``model`` (and what else is given) to ``path`` atomically; return ``path``.

    ``optimizer``/``schedule`` are objects with ``state_dict()``; ``trainer``,
    ``history``, ``preprocess_info`` and ``run`` (the run's identity) are
    JSON-able dicts; ``preprocess`` a dict name -> array.
    """
    arrays = {"meta": json_entry({"format": FORMAT, "version": VERSION, "minicnn": __version__}),
              "model_config": json_entry(model.config),
              "layer_state": json_entry(model.layer_state())}
    arrays.update({f"model/{k}": v for k, v in model.state_dict().items()})
    if optimizer is not None:
        for k, v in optimizer.state_dict().items():
            arrays[f"optim/{k}"] = np.asarray(backend.to_numpy(v))
    if schedule is not None:
        arrays["schedule"] = json_entry(schedule.state_dict())
    for key, value in (("trainer", trainer), ("history", history), ("preprocess_info", preprocess_info),
                       ("run", run)):
        if value is not None:
            arrays[key] = json_entry(value)
    for k, v in (preprocess or {}).items():
        arrays[f"preprocess/{k}"] = np.asarray(backend.to_numpy(v))
    return write_archive(path, arrays)


def write_archive(path, arrays):
    """Write ``arrays`` (name -> host array) as the ``.npz`` archive ``path``, atomically; return ``path``.

    Refuses (NonFiniteError) any floating array holding NaN or infinity, so
    that no checkpoint on disk can hold one.
    """
    path = os.fspath(path)
    check_finite(arrays, f"refusing to write {path}")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_orphans(folder)
    fd, tmp = _create_temporary(folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _create_temporary(folder):
    """``(fd, path)`` of a new file ``.tmp-<pid>-<random>.npz`` in ``folder``, mode 0666 less the umask."""
    while True:
        tmp = os.path.join(folder, f".tmp-{os.getpid()}-{secrets.token_hex(4)}.npz")
        try:
            return os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue


def remove_orphans(folder):
    """Remove the temporary checkpoint files in ``folder`` whose writing process no longer runs."""
    for name in os.listdir(folder):
        match = _TMP.match(name)
        if match and not process_alive(int(match.group(1))):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:     # gone meanwhile, or not ours to remove: harmless either way
                pass


def check_finite(arrays, what):
    """NonFiniteError naming the first floating array of ``arrays`` (name -> array) holding NaN or inf."""
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.kind in "fc" and not np.isfinite(value).all():
            bad = value.size - int(np.isfinite(value).sum())
            raise NonFiniteError(f"{what}: {name} holds {bad} NaN or infinite value(s) of {value.size}; "
                                 "such numbers come from a diverged run (or a damaged file): use an "
                                 "earlier checkpoint, or retrain with a lower learning rate")


def read_checkpoint(path):
    """The raw contents of a checkpoint as a dict (JSON entries decoded), without building a model.

    Raises DataError (one line) if ``path`` is missing or not a minicnn checkpoint.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"checkpoint {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            raw = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        # NumPy's own text for a non-.npz file talks about pickles, which only misleads here.
        raise DataError(f"{path} is not a minicnn checkpoint (not a readable .npz file); "
                        "pass a file written by `minicnn train` or save_checkpoint") from None
    try:
        meta = json.loads(str(raw["meta"]))
        ok = meta.get("format") == FORMAT
    except (KeyError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise DataError(f"{path} is a .npz file but not a minicnn checkpoint (no minicnn 'meta' entry); "
                        "pass a file written by `minicnn train` or save_checkpoint")
    with decoding(path, "meta"):
        meta["version"] = int(meta.get("version", 1))
    if meta["version"] > VERSION:
        raise DataError(f"{path} was written by a newer minicnn (checkpoint version {meta['version']}); "
                        "upgrade minicnn to read it")
    check_finite(raw, f"{path} cannot be used")
    out = {"meta": meta, "model_state": {}, "optimizer": None, "preprocess": {}}
    for key, value in raw.items():
        group, sep, name = key.partition("/")
        if not sep:
            if key != "meta":
                out[key] = _entry(path, key, value)
        elif group == "model":
            out["model_state"][name] = value
        elif group == "optim":
            out["optimizer"] = out["optimizer"] or {}
            out["optimizer"][name] = value
        elif group == "preprocess":
            out["preprocess"][name] = value
    if "model_rng" in out:      # version 1: dropout layer -> masks drawn
        out["layer_state"] = {name: {"calls": calls} for name, calls in out.pop("model_rng").items()}
    return out


def _entry(path, key, value):
    """The decoded JSON entry ``key``; DataError (one line) when it is not valid JSON text."""
    with decoding(path, key):
        if value.dtype.kind != "U" or value.ndim != 0:
            raise ValueError(f"a {value.dtype} array of shape {value.shape}, not JSON text")
        return json.loads(str(value), parse_constant=_refuse_constant)


@contextlib.contextmanager
def decoding(path, key):
    """Answer a surprise in entry ``key`` (a missing field, a wrong type, a config that does not build) in one line."""
    try:
        yield
    except DataError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:   # ConfigError, ShapeError too
        detail = str(exc) if isinstance(exc, MiniCNNError) else f"{type(exc).__name__}: {exc}"
        raise DataError(f"{path}: the checkpoint's {key!r} entry is damaged ({detail}); "
                        "use another checkpoint of the run (last.npz or best.npz)") from None


def _refuse_constant(name):
    raise ValueError(f"{name} is not a finite number")


def load_checkpoint(path, xp=None):
    """``(model, extras)`` from a checkpoint: the rebuilt model (on backend ``xp``) and everything else.

    ``extras`` keys: ``optimizer`` (flat state for ``optimizer_from_state``, or
    None), ``schedule``, ``trainer``, ``history``, ``preprocess`` (name ->
    array), ``preprocess_info``, ``run`` (the run's identity), ``meta``,
    ``source`` (an eval-only copy's origin: file, epoch, best; see
    ``minicnn.training.export``) (missing entries are None).
    """
    raw = read_checkpoint(path)
    with decoding(path, "model_config"):
        model = Model(raw["model_config"], xp=xp)
    with decoding(path, "model"):
        model.load_state_dict(raw["model_state"])
    with decoding(path, "layer_state"):
        model.load_layer_state(raw.get("layer_state", {}))
    extras = {k: raw.get(k) for k in ("optimizer", "schedule", "trainer", "history", "preprocess",
                                       "preprocess_info", "run", "meta", "source")}
    return model, extras
