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

Writes are atomic: the archive goes to a temporary file in the same folder,
which then replaces ``path`` with ``os.replace``, so an interrupted save never
leaves a half-written checkpoint.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from .. import __version__, backend
from ..errors import DataError
from ..models import Model

FORMAT = "minicnn-checkpoint"
VERSION = 2


def _json(obj):
    return np.array(json.dumps(obj, default=_to_plain))


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
    arrays = {"meta": _json({"format": FORMAT, "version": VERSION, "minicnn": __version__}),
              "model_config": _json(model.config),
              "layer_state": _json(model.layer_state())}
    arrays.update({f"model/{k}": v for k, v in model.state_dict().items()})
    if optimizer is not None:
        for k, v in optimizer.state_dict().items():
            arrays[f"optim/{k}"] = np.asarray(backend.to_numpy(v))
    if schedule is not None:
        arrays["schedule"] = _json(schedule.state_dict())
    for key, value in (("trainer", trainer), ("history", history), ("preprocess_info", preprocess_info),
                       ("run", run)):
        if value is not None:
            arrays[key] = _json(value)
    for k, v in (preprocess or {}).items():
        arrays[f"preprocess/{k}"] = np.asarray(backend.to_numpy(v))
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


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
    if meta.get("version", 0) > VERSION:
        raise DataError(f"{path} was written by a newer minicnn (checkpoint version {meta['version']}); "
                        "upgrade minicnn to read it")
    out = {"meta": meta, "model_state": {}, "optimizer": None, "preprocess": {}}
    for key, value in raw.items():
        group, sep, name = key.partition("/")
        if not sep:
            if key != "meta":
                out[key] = json.loads(str(value))
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


def load_checkpoint(path, xp=None):
    """``(model, extras)`` from a checkpoint: the rebuilt model (on backend ``xp``) and everything else.

    ``extras`` keys: ``optimizer`` (flat state for ``optimizer_from_state``, or
    None), ``schedule``, ``trainer``, ``history``, ``preprocess`` (name ->
    array), ``preprocess_info``, ``run`` (the run's identity), ``meta``
    (missing entries are None).
    """
    raw = read_checkpoint(path)
    model = Model(raw["model_config"], xp=xp)
    model.load_state_dict(raw["model_state"])
    model.load_layer_state(raw.get("layer_state", {}))
    extras = {k: raw.get(k) for k in ("optimizer", "schedule", "trainer", "history", "preprocess",
                                       "preprocess_info", "run", "meta")}
    return model, extras
