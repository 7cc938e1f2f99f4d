"""Eval-only copies of checkpoints: what a trained model needs to predict, and no more.

A training checkpoint also holds what a run needs to resume: the optimizer's
slots (Adam keeps two arrays per parameter), the schedule, the trainer's
position and its curves. A model that only predicts needs none of that.
``export_eval_only`` writes a checkpoint with

    meta              the format, plus ``"eval_only": true`` and the dtype of the stored arrays
    model_config      the network
    model/<name>      parameters and batchnorm running statistics, stored as ``dtype``
    layer_state       each layer's state beyond arrays
    preprocess/<key>  the preprocessing (mean image, HOG scaler), stored as ``dtype``
    preprocess_info   its description
    run               the identity of the run it came from, when recorded
    source            where it came from: file name (None for ``EpochCopies``), epoch, best epoch so far

and nothing else. ``load_checkpoint`` and ``Classifier.load`` read it like any
checkpoint (the model casts the arrays back to its own float32 on load);
``Trainer.resume`` refuses it, since it has no training state.
``EpochCopies`` is a Trainer callback that writes one such copy after every
epoch (``minicnn train --keep-epochs``), for ``minicnn explain --what epochs``.

float16 keeps 11 significant bits, so rounding moves every stored number by
at most 2**-11 of itself (4.9e-4; numbers below 6.1e-5 lose more) and the
file is half the float32 size: the deep paper model's 4.4 million
parameters take about 9 MB. A number beyond float16's range (65504) would
become infinite and is refused (``NonFiniteError``) rather than written.
"""
import os
from pathlib import Path

import numpy as np

from .. import __version__, backend
from ..errors import ConfigError
from .checkpoint import FORMAT, VERSION, json_entry, read_checkpoint, write_archive

DTYPES = ("float16", "float32")


def export_eval_only(source, path, dtype="float16"):
    """Write the eval-only copy of checkpoint ``source`` to ``path`` (see the module docstring).

    Returns a dict: ``path``, ``bytes`` (the file's size), ``source_bytes``,
    ``parameters`` (numbers stored under model/), ``dtype``.
    """
    _check_dtype(dtype)
    if Path(path).resolve() == Path(source).resolve():          # the copy would replace its training state
        raise ConfigError(f"out {path}: is the checkpoint itself; write the copy beside it, e.g. "
                          f"{Path(path).with_name(Path(path).stem + '-eval.npz')}")
    raw = read_checkpoint(source)
    trainer = raw.get("trainer") or {}
    origin = {"file": os.path.basename(os.fspath(source)),
              "epoch": (trainer.get("position") or {}).get("epoch"),
              "best": trainer.get("best")}
    _write_eval_only(path, raw, origin, dtype)
    return {"path": os.fspath(path), "bytes": os.path.getsize(path), "source_bytes": os.path.getsize(source),
            "parameters": int(sum(np.size(v) for v in raw["model_state"].values())), "dtype": dtype}


def _check_dtype(dtype):
    if dtype not in DTYPES:
        raise ConfigError(f"dtype {dtype!r}: choose one of {', '.join(DTYPES)}")


def _write_eval_only(path, raw, origin, dtype):
    """Write the eval-only archive of ``raw`` (``read_checkpoint``'s keys model_config, model_state,
    layer_state, preprocess, preprocess_info, run) with ``origin`` as its ``source`` entry."""
    meta = {"format": FORMAT, "version": VERSION, "minicnn": __version__, "eval_only": True, "dtype": dtype}
    arrays = {"meta": json_entry(meta), "model_config": json_entry(raw["model_config"]),
              "layer_state": json_entry(raw.get("layer_state") or {}), "source": json_entry(origin)}
    for group, content in (("model", raw["model_state"]), ("preprocess", raw["preprocess"])):
        arrays.update({f"{group}/{name}": _cast(value, dtype) for name, value in content.items()})
    for key in ("preprocess_info", "run"):
        if raw.get(key) is not None:
            arrays[key] = json_entry(raw[key])
    write_archive(path, arrays)


def _cast(value, dtype):
    """Floating arrays as ``dtype`` (an overflow becomes inf, which ``write_archive`` refuses); others unchanged."""
    value = np.asarray(value)
    with np.errstate(over="ignore"):
        return value.astype(dtype) if value.dtype.kind == "f" else value


EPOCH_COPIES = "epochs"
"""The folder, beside a run's checkpoints, where ``--keep-epochs`` puts its ``EpochCopies``."""


class EpochCopies:
    """Trainer callback: after every epoch, an eval-only copy of the model as ``folder/epochNNN.npz``.

    About a quarter of a checkpoint each in float16 (the deep paper model: 9 MB an epoch), enough for
    ``minicnn explain --what epochs --run-dir folder``; written from the trainer's model as it stands
    (its ``source`` entry: no file, the epoch, the best epoch so far).
    """

    def __init__(self, folder, dtype="float16"):
        _check_dtype(dtype)
        self.folder, self.dtype = Path(folder), dtype

    def __call__(self, trainer, record):
        model = trainer.model
        raw = {"model_config": model.config, "model_state": model.state_dict(), "layer_state": model.layer_state(),
               "preprocess": {k: backend.to_numpy(v) for k, v in (trainer.preprocess or {}).items()},
               "preprocess_info": trainer.preprocess_info, "run": trainer.run}
        origin = {"file": None, "epoch": trainer.epoch, "best": trainer.best}
        _write_eval_only(self.folder / f"epoch{trainer.epoch:03d}.npz", raw, origin, self.dtype)
