"""Metrics of runs that never happened: TEST FIXTURES for the report and the model card.

Each says so in its data source ("FABRICATED test fixture"), so a fixture
can never pass for a result.
"""
import numpy as np

from minicnn.pipeline.config import load_config, plan_run
from minicnn.pipeline.outputs import split_metrics, write_metrics


def fabricated_run(model, val, test, reduced=False, epochs=None, flips="random", n=3589, kind="fer2013"):
    """A metrics dict of a run that never happened: a TEST FIXTURE for the report builder."""
    epochs = epochs or load_config(model)["train"]["epochs"]
    rng = np.random.default_rng(abs(hash((model, val, test))) % 2 ** 32)

    def split(acc):
        counts = np.full(7, n // 7)
        counts[0] += n - counts.sum()
        cm = np.zeros((7, 7), dtype=np.int64)
        for c, count in enumerate(counts):
            right = int(round(acc * count))
            cm[c, c] = right
            cm[c, (c + 1 + rng.integers(6)) % 7] += count - right
        return split_metrics(cm, loss=1.1)

    config = plan_run(load_config(model), epochs=epochs if reduced else None, flips=flips)
    return {
        "schema": 2, "model": model, "run_id": "fixture", "spec": "FABRICATED", "n_params": 1,
        "reduced": config["reduced"], "reductions": config["reductions"], "changes": config["changes"],
        "stopped": None,
        "data": {"source": "FABRICATED test fixture", "kind": kind, "name": "fixture.csv", "bytes": 1,
                 "sha256": "0" * 64, "fingerprint": "sha256:fixture", "n_train": 28709, "n_val": n, "n_test": n,
                 "n_train_per_epoch": 28709},
        "identity": {"model": "sha256:fixture", "data": "sha256:fixture", "seed": 0},
        "val": split(val), "test": split(test), "best_epoch": epochs, "epochs_run": epochs,
        "iterations": 100 * epochs,
        "history": {"iterations": [100 * (e + 1) for e in range(epochs)], "train_acc": [0.5] * epochs,
                    "val_acc": [val] * epochs, "train_loss": [1.0] * epochs, "val_loss": [1.1] * epochs,
                    "iter_loss": [1.2] * (100 * epochs), "epoch": list(range(1, epochs + 1))},
        "trainer": {}, "timing": {"wall_time_s": 600.0, "train_time_s": 500.0, "train_images": 28709 * epochs,
                                  "images_per_s": 28709 * epochs / 500.0, "resumed": False},
        "hardware": {"processor": "fixture CPU", "cpu_count": 2, "omp_num_threads": "1", "gpu": None},
        "backend": "numpy", "seed": 0, "git": {"commit": "0123456789abcdef", "dirty": False}, "minicnn": "0.1.0",
        "config": config,
        "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:10:00+00:00",
    }


def write_fixture_runs(results, runs):
    for i, run in enumerate(runs):
        folder = results / f"{run['model']}-fixture{i}"
        folder.mkdir(parents=True)
        write_metrics(folder / "metrics.json", run)
    return results
