"""Test helpers for viz/predict/ensemble: tiny models, their checkpoints, small data files."""
import numpy as np

from minicnn.training.checkpoint import save_checkpoint
from minicnn.data.preprocess import MeanImage
from minicnn.apps.inference import Classifier
from minicnn.models import Model, parse_spec
from minicnn.training import Trainer

TINY = "c3k3-bn c4k3-bn-p2 | f8-bn"
"""Conv-BN-ReLU x2 (pool after the second) then fc-BN-ReLU and scores: every kind of layer."""


def tiny_model(size=16, spec=TINY, seed=0, dtype=None, n_classes=7, xp=None):
    """A small model on (1, size, size) inputs with random BN running statistics (evaluation mode),
    on backend ``xp`` (default: the default backend)."""
    model = Model(parse_spec(spec, input_shape=[1, size, size], n_classes=n_classes, seed=seed), dtype=dtype)
    rng = np.random.default_rng(seed + 100)
    for layer in model.layers:
        for key, value in layer.buffers.items():
            shape = value.shape
            fresh = rng.uniform(0.5, 1.5, shape) if key == "running_var" else rng.normal(0, 0.2, shape)
            layer.buffers[key] = fresh.astype(value.dtype)
    return model.to(xp).eval()


def tiny_classifier(size=16, **kw):
    return Classifier(tiny_model(size, **kw), name="tiny")


def save_random_checkpoint(path, size=48, spec="c2k3-p4 | f8", seed=0, mean=0.5):
    """A checkpoint of an untrained model on size x size faces with a constant mean image."""
    model = tiny_model(size, spec=spec, seed=seed)
    save_checkpoint(path, model, preprocess={"mean": np.full((size, size), mean, np.float32)})
    return path


def train_checkpoint(path, dataset, spec="c2k3-p4 | f8", seed=0, epochs=2, lr=0.01, keep_epochs=False):
    """Train a tiny 48x48 model briefly on ``dataset.train`` (mean image stored) and save it at ``path``;
    with ``keep_epochs`` also ``epoch<n>.npz`` beside it after every epoch."""
    mean = MeanImage().fit(dataset.train.images)
    model = Model(parse_spec(spec, input_shape=[1, 48, 48], seed=seed))
    trainer = Trainer(model, (mean.transform(dataset.train.images), dataset.train.labels), epochs=epochs,
                      batch_size=16, lr=lr, seed=seed, quiet=True, preprocess=mean.to_dict(),
                      restore_best=False, callbacks=[_save_epoch(path)] if keep_epochs else ())
    trainer.train()
    trainer.save(path)
    return path


def _save_epoch(path):
    def save(trainer, record):
        trainer.save(path.parent / f"epoch{trainer.epoch}.npz")
    return save
