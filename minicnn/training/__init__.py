"""Training: the ``Trainer`` loop, evaluation, learning-rate schedules, checkpoints and progress.

    trainer.py     minibatch epochs, evaluation, best model, checkpoints, resume
    schedules.py   constant, step, exponential, plateau, cosine
    checkpoint.py  one atomic .npz per save; load and resume
    metrics.py     confusion matrices and per-class accuracy
    progress.py    the progress bar
    hostmem.py     glibc's freed-memory setting for steady NumPy steps
    preflight.py   a step's memory, measured on the model, against what is free
    runlock.py     one run per output folder: a lock file with the owner's pid
"""
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .trainer import HISTORY_KEYS, Trainer, evaluate, new_history

__all__ = ["Trainer", "evaluate", "new_history", "HISTORY_KEYS", "save_checkpoint", "load_checkpoint", "read_checkpoint"]
