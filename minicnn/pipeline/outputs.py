"""The files of one finished run: metrics.json, per_class.md, curves.png, confusion.png.

The figures are drawn by ``minicnn.viz.curves`` from the metrics alone, so they
can be redrawn from a committed metrics.json.

``metrics.json`` is the record every number in the report comes from; its
keys (schema 2)::

    schema, model, run_id, spec, n_params,
    reduced, reductions, changes, stopped (null, "early stop", or the reason of a requested stop
      such as "its time budget"),
    data {kind, source, name, bytes, sha256, fingerprint, n_train, n_val, n_test, n_train_per_epoch},
    identity {model, data, seed}  (what every checkpoint of the run carries),
    val / test {accuracy, loss, n, per_class_accuracy {class: acc}, confusion_matrix [[...]]},
    best_epoch, epochs_run, iterations, history {...per epoch/iteration curves...},
    trainer {...the Trainer's settings, recalibration included...},
    sessions [{commit, dirty, started_at, hardware, from_epoch, from_step}, ...]  (each process that
      started or resumed the run, in order; absent from runs made before minicnn recorded them),
    timing {wall_time_s, train_time_s, train_images, images_per_s, resumed},
    hardware {...}, backend, seed, git {commit, dirty}, minicnn (version),
    config {...the full run plan...}, started_at, finished_at

``data`` names the data file (never a folder or machine path), its size and
sha256, and the fingerprint of the decoded arrays (``minicnn.data.fingerprint``).
Losses are the model's own data loss (softmax cross-entropy or multiclass SVM).
"""
import json
import math
from pathlib import Path

import numpy as np

from ..data import CLASS_NAMES
from ..training.metrics import per_class_accuracy

from . import paper

SCHEMA = 2
METRICS_KEYS = ("schema", "model", "run_id", "spec", "n_params", "reduced", "reductions", "changes", "stopped",
                "data", "identity", "val", "test", "best_epoch", "epochs_run", "iterations", "history", "trainer",
                "timing", "hardware", "backend", "seed", "git", "minicnn", "config", "started_at", "finished_at")
DATA_KEYS = ("kind", "source", "name", "bytes", "sha256", "fingerprint", "n_train", "n_val", "n_test",
             "n_train_per_epoch")
SPLIT_KEYS = ("accuracy", "loss", "n", "per_class_accuracy", "confusion_matrix")


def split_metrics(cm, loss, class_names=CLASS_NAMES):
    """The metrics of one split from its confusion matrix (C, C) and mean loss.

    accuracy = trace(cm) / sum(cm); per-class accuracy = recall of each class
    (None for a class with no examples).
    """
    cm = np.asarray(cm, dtype=np.int64)
    per_class = per_class_accuracy(cm)
    return {
        "accuracy": float(np.trace(cm) / cm.sum()),
        "loss": float(loss),
        "n": int(cm.sum()),
        "per_class_accuracy": {name: (None if math.isnan(a) else float(a)) for name, a in zip(class_names, per_class)},
        "confusion_matrix": cm.tolist(),
    }


def write_metrics(path, metrics):
    """Write ``metrics`` (a dict with METRICS_KEYS) as pretty JSON; returns the path."""
    _check(metrics, path)
    path = Path(path)
    path.write_text(json.dumps(_plain(metrics), indent=1) + "\n", encoding="utf-8")
    return path


def read_metrics(path):
    """The dict of a metrics.json file; ValueError (one line) when it is not schema 2."""
    metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(metrics, dict) or metrics.get("schema") != SCHEMA:
        found = metrics.get("schema", "none") if isinstance(metrics, dict) else "none"
        raise ValueError(f"{path}: not a minicnn metrics.json of schema {SCHEMA} (schema {found})")
    _check(metrics, path)
    return metrics


def _check(metrics, path):
    missing = [k for k in METRICS_KEYS if k not in metrics] + [f"data.{k}" for k in DATA_KEYS
                                                             if k not in metrics.get("data", {})]
    if missing:
        raise ValueError(f"{path}: metrics lack {', '.join(missing)}")


def _plain(obj):
    """``obj`` with NumPy scalars/arrays made JSON-able and NaN written as null."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def pct(value, digits=1):
    """"54.3%" for 0.543; an em dash for None."""
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def per_class_table(metrics):
    """Markdown table: per-class test accuracy, ours beside the paper's and the TF re-implementation's.

    The paper reports per-class numbers only for shallow and deep; a hybrid
    run is set beside its base CNN's numbers, labelled as such.
    """
    model = metrics["model"]
    ref_model = model if model in paper.PAPER and "per_class_test" in paper.PAPER[model] else paper.base_model(model)
    ours_val = metrics["val"]["per_class_accuracy"]
    ours_test = metrics["test"]["per_class_accuracy"]
    counts = np.asarray(metrics["test"]["confusion_matrix"]).sum(axis=1)
    paper_pc = paper.reference(ref_model, "paper").get("per_class_test", {})
    tf_pc = paper.reference(ref_model, "tf").get("per_class_test", {})
    suffix = "" if ref_model == model else f" ({ref_model})"
    lines = [f"| class | test images | ours val | ours test | paper test{suffix} | TF re-impl. test{suffix} |",
             "|---|---:|---:|---:|---:|---:|"]
    for i, name in enumerate(CLASS_NAMES):
        lines.append(f"| {name} | {counts[i]} | {pct(ours_val.get(name))} | {pct(ours_test.get(name))} | "
                     f"{pct(paper_pc.get(name))} | {pct(tf_pc.get(name))} |")
    lines.append(f"| **all** | {int(counts.sum())} | {pct(metrics['val']['accuracy'])} | "
                 f"{pct(metrics['test']['accuracy'])} | {pct(paper.reference(ref_model, 'paper').get('test'))} | "
                 f"{pct(paper.reference(ref_model, 'tf').get('test'))} |")
    return "\n".join(lines)


def describe_data(data):
    """One line for a run's data: "FER-2013 file fer2013.csv.xz (79.2 MB, sha256 c1fb31604b07...)"."""
    if data["kind"] != "fer2013":
        return data["source"]
    facts = [f"{data['bytes'] / 1e6:.1f} MB"] + ([f"sha256 {data['sha256'][:12]}..."] if data["sha256"] else [])
    return f"{data['source']} ({', '.join(facts)})"


def protocol_line(metrics):
    """"full (the paper's)" or "**REDUCED**: ...", followed by any changes."""
    text = "**REDUCED**: " + "; ".join(metrics["reductions"]) if metrics["reduced"] else "full (the paper's)"
    return text + ("; changed: " + "; ".join(metrics["changes"]) if metrics["changes"] else "")


def write_per_class(path, metrics):
    """per_class.md of one run: a heading naming the run, the table, the caveats."""
    model = metrics["model"]
    label = " — REDUCED run: " + "; ".join(metrics["reductions"]) if metrics["reduced"] else ""
    text = [f"# Per-class accuracy: {paper.MODEL_TITLES.get(model, model)}, run {metrics['run_id']}{label}", "",
            f"Data: {describe_data(metrics['data'])}. Best epoch {metrics['best_epoch']} of "
            f"{metrics['epochs_run']} (by validation accuracy). Per-class accuracy is the recall of each class "
            "(diagonal of the row-normalized confusion matrix).", ""]
    if metrics["changes"]:
        text += ["Changed from the reference protocol: " + "; ".join(metrics["changes"]) + ".", ""]
    text += [per_class_table(metrics), ""]
    if model in paper.MODELS and "per_class_test" not in paper.PAPER[model]:
        text.append(f"The paper gives per-class numbers only for the shallow and deep CNNs; "
                    f"the reference columns are those of the {paper.base_model(model)} CNN.\n")
    Path(path).write_text("\n".join(text), encoding="utf-8")
    return path


def run_title(metrics):
    """"shallow CNN — run reduced-e2-random (REDUCED)": the title of a run's figures."""
    title = f"{paper.MODEL_TITLES.get(metrics['model'], metrics['model'])} — run {metrics['run_id']}"
    return title + (" (REDUCED)" if metrics["reduced"] else "")


def write_figures(folder, metrics):
    """curves.png (accuracy and loss against iterations, like the paper's figures 2, 5, 6) and
    confusion.png (the row-normalized test confusion matrix with class names, like its figures 3, 4)."""
    from ..viz.curves import plot_confusion, plot_history

    folder = Path(folder)
    plot_history(metrics["history"], folder / "curves.png", title=run_title(metrics))
    plot_confusion(metrics["test"]["confusion_matrix"], list(metrics["test"]["per_class_accuracy"]),
                   folder / "confusion.png", title=run_title(metrics) + " — test set")
    return folder / "curves.png", folder / "confusion.png"
