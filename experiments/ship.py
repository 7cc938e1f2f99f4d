"""Ship a finished run's best model inside the package, with its model card.

    python -m experiments.ship results/deep-full checkpoints/deep-full/best.npz [--data PATH]

1. checks that the run is fit to ship: trained on FER-2013 at the paper's
   full protocol (not REDUCED), and that the checkpoint is that run's (same
   model, data and seed identity, same best epoch);
2. writes the checkpoint's eval-only float16 copy (``minicnn export``) where
   ``minicnn.apps.shipped`` looks for it, refusing a copy over 10 MB (the
   shallow models' 18.9 million parameters take 38 MB: only the deep CNN fits);
3. when FER-2013 is found (``--data`` or ``$MINICNN_FER2013``), evaluates the
   copy itself on the test split (PrivateTest) and says whether its confusion
   matrix equals the float32 run's;
4. writes docs/model-card.md from the run's metrics.json and those numbers:
   every number in the card comes from a file or a measurement, never from
   this script's text (except the paper's, from ``minicnn.pipeline.paper``).
"""
import argparse
import hashlib
import math
import os
import sys
from pathlib import Path

import numpy as np

from experiments.report import commits_cell, minutes
from minicnn.apps.shipped import WEIGHTS
from minicnn.data import CLASS_NAMES
from minicnn.errors import ConfigError, MiniCNNError
from minicnn.pipeline import paper
from minicnn.pipeline.outputs import describe_data, pct, per_class_table, read_metrics
from minicnn.pipeline.provenance import describe_hardware
from minicnn.training.checkpoint import read_checkpoint
from minicnn.training.export import export_eval_only

MAX_BYTES = 10 * 1000 * 1000
CARD = Path(__file__).resolve().parents[1] / "docs" / "model-card.md"


def check_fit_to_ship(metrics, checkpoint):
    """ConfigError (one line) unless ``metrics`` is a full FER-2013 run and ``checkpoint`` its best model."""
    where = f"results folder of run {metrics['run_id']}"
    if metrics["data"]["kind"] != "fer2013":
        raise ConfigError(f"{where}: trained on {metrics['data']['source']}, not FER-2013; ship a FER-2013 run")
    if metrics["reduced"]:
        raise ConfigError(f"{where}: a REDUCED run ({'; '.join(metrics['reductions'])}); ship a full-protocol run")
    raw = read_checkpoint(checkpoint)
    if raw.get("run") != metrics["identity"]:
        raise ConfigError(f"{checkpoint}: not a checkpoint of run {metrics['run_id']} (its model, data or seed "
                          "differ); name the run's own best.npz")
    best = ((raw.get("trainer") or {}).get("best") or {}).get("epoch")
    if best != metrics["best_epoch"]:
        raise ConfigError(f"{checkpoint}: holds epoch {best}, but the run's best epoch is {metrics['best_epoch']}; "
                          "name the run's best.npz")


def ship(checkpoint, weights=None):
    """Export ``checkpoint`` as the shipped float16 copy at ``weights`` (default: where the package looks);
    returns export_eval_only's dict."""
    weights = Path(weights or WEIGHTS)
    weights.parent.mkdir(parents=True, exist_ok=True)
    scratch = weights.with_name(weights.stem + ".partial.npz")
    info = export_eval_only(checkpoint, scratch, "float16")
    if info["bytes"] > MAX_BYTES:
        scratch.unlink()
        raise ConfigError(f"{checkpoint}: its float16 copy takes {info['bytes'] / 1e6:.1f} MB, over the "
                          f"{MAX_BYTES / 1e6:.0f} MB a shipped model may take; ship a smaller model (the deep CNN)")
    scratch.replace(weights)
    return dict(info, path=str(weights))


def evaluate_copy(weights, data, metrics):
    """The shipped copy evaluated on the test split of ``data``: {"accuracy", "n", "confusion_matrix",
    "same_confusion"}; ``same_confusion``: its confusion matrix equals the float32 run's (metrics.json)."""
    from minicnn.apps.inference import Classifier
    from minicnn.data import load_dataset
    from minicnn.training import metrics as measure

    test = load_dataset(data).test
    predicted = Classifier.load(weights).proba(test.images).argmax(axis=1)
    cm = measure.confusion_matrix(test.labels, predicted, len(CLASS_NAMES))
    return {"accuracy": float(np.trace(cm) / cm.sum()), "n": int(cm.sum()), "confusion_matrix": cm.tolist(),
            "same_confusion": cm.tolist() == metrics["test"]["confusion_matrix"]}


def interval(p, n):
    """Half-width of the 95% normal-approximation interval of an accuracy ``p`` measured on ``n`` images."""
    return 1.96 * math.sqrt(p * (1 - p) / n)


def confusions(cm, top=3):
    """The ``top`` largest off-diagonal cells of a confusion matrix: (true, predicted, count, share of true)."""
    cm = np.asarray(cm)
    cells = [(cm[i, j], i, j) for i in range(len(cm)) for j in range(len(cm)) if i != j]
    return [(CLASS_NAMES[i], CLASS_NAMES[j], int(c), c / cm[i].sum()) for c, i, j in sorted(cells, reverse=True)[:top]]


def model_card(metrics, info, run, checkpoint, copy=None):
    """The Markdown text of docs/model-card.md for run folder ``run`` shipped from ``checkpoint``.

    ``info``: what ``ship`` returned; ``copy``: what ``evaluate_copy`` returned, or None.
    """
    model, test, val = metrics["model"], metrics["test"], metrics["val"]
    train = metrics["config"]["train"]
    title = paper.MODEL_TITLES.get(model, model)
    sha = hashlib.sha256(Path(info["path"]).read_bytes()).hexdigest()
    per_class = test["per_class_accuracy"]
    worst = sorted(per_class, key=lambda name: per_class[name])[:2]
    counts = np.asarray(test["confusion_matrix"]).sum(axis=1)
    rarest = CLASS_NAMES[int(np.argmin(counts))]
    ref = paper.reference(model, "paper")
    lines = [
        "# Model card: the FER-2013 model shipped with minicnn", "",
        "_Written by `python -m experiments.ship` from the run's `metrics.json`; do not edit by hand._", "",
        "`minicnn predict photo.jpg` uses this model when no checkpoint is named.", "",
        "## What it is", "",
        f"- The paper's {title} (`{metrics['spec']}`), {metrics['n_params']:,} parameters, trained by minicnn "
        f"(run `{metrics['run_id']}`, `{Path(run).as_posix()}/`).",
        f"- File: `minicnn/apps/weights/{Path(info['path']).name}`, {info['bytes'] / 1e6:.1f} MB, eval-only float16 "
        f"copy (`minicnn export`) of the run's best checkpoint (epoch {metrics['best_epoch']} of "
        f"{metrics['epochs_run']}, chosen on validation accuracy); sha256 `{sha[:16]}...`.",
        "- Input: a 48x48 grayscale face (pixel values 0-255); the training mean image, stored in the file, is "
        "subtracted. `minicnn predict` finds faces in photos with scikit-image's frontal-face cascade first.",
        f"- Output: probabilities of the seven FER-2013 classes ({', '.join(CLASS_NAMES)}).", "",
        "## Training data and protocol", "",
        f"- Data: {describe_data(metrics['data'])}: the Kaggle Training split ({metrics['data']['n_train']:,} "
        f"images) for training, PublicTest ({metrics['data']['n_val']:,}) for choosing the epoch, PrivateTest "
        f"({metrics['data']['n_test']:,}) for the test numbers below, as in the paper.",
        f"- {metrics['epochs_run']} epochs of {metrics['data']['n_train_per_epoch']:,} images with random "
        f"horizontal flips, batch {train['batch_size']}, {train['optimizer']['name']} at learning rate "
        f"{train['lr']:g}, L2 {train['reg']:g}, seed {metrics['seed']}; where this departs from the paper is "
        "stated in experiments/CONFIGS.md.",
        f"- Trained on {describe_hardware(metrics['hardware'])} in {minutes(metrics['timing']['train_time_s'])} "
        f"(every session's training time) under commit(s) {commits_cell(metrics)}.", "",
        "## How well it does", "",
        f"Test (PrivateTest, n = {test['n']:,}): **{pct(test['accuracy'])}** "
        f"(95% interval ±{100 * interval(test['accuracy'], test['n']):.1f} points); validation "
        f"{pct(val['accuracy'])}. The paper reports {pct(ref.get('test'))} test for its {title}.", ""]
    if copy is not None:
        same = ("the same confusion matrix as the float32 checkpoint" if copy["same_confusion"]
                else "a confusion matrix that differs from the float32 checkpoint's in a few images")
        lines += [f"The shipped float16 copy itself, evaluated by `experiments.ship` on the same test split: "
                  f"{pct(copy['accuracy'])}, with {same}.", ""]
    lines += [per_class_table(metrics), "",
              "Per-class accuracy is the recall of each class. The most frequent confusions on the test split:", ""]
    lines += [f"- {t} taken for {p}: {c} images ({pct(share)} of {t})" for t, p, c, share in confusions(test["confusion_matrix"])]
    lines += ["", "## Known weaknesses", "",
              f"- The weakest classes are {worst[0]} ({pct(per_class[worst[0]])}) and {worst[1]} "
              f"({pct(per_class[worst[1]])}). {rarest} is the rarest class ({int(counts.min())} test images), "
              "so its accuracy is also the least certain.",
              "- FER-2013's labels are noisy: human accuracy on it is often quoted at about 65 ± 5%, so errors "
              "against its labels are partly errors of the labels.",
              "- FER-2013 was collected by a web image search: posed and spontaneous faces, mostly frontal, with "
              "an unknown mix of ages and ethnicities. The model has not been evaluated on any other population, "
              "nor for fairness across groups.",
              "- It sees 48x48 grayscale crops: profile faces, occlusions and small faces in photos are missed by "
              "the detector or poorly classified.",
              "- An expression is not an emotion: do not use the model to judge people (hiring, policing, health, "
              "education). It is meant for learning and experiments.", "",
              "## Reproduce", "",
              "```bash",
              f"MINICNN_FER2013=/path/to/fer2013.csv.xz python -m experiments.run {model}",
              f"python -m experiments.ship {Path(run).as_posix()} {Path(checkpoint).as_posix()}",
              "```", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m experiments.ship", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run's results folder (with metrics.json)")
    parser.add_argument("checkpoint", help="that run's best checkpoint (checkpoints/<model>-<run>/best.npz)")
    parser.add_argument("--data", default=None, help="FER-2013 to evaluate the shipped copy on "
                                                     "(default: $MINICNN_FER2013; without it, no evaluation)")
    parser.add_argument("--card", default=str(CARD), help="where the model card goes (default docs/model-card.md)")
    args = parser.parse_args(argv)
    try:
        metrics = read_metrics(Path(args.run) / "metrics.json")
        check_fit_to_ship(metrics, args.checkpoint)
        info = ship(args.checkpoint)
        print(f"shipped {info['path']} ({info['bytes'] / 1e6:.1f} MB)")
        data = args.data or os.environ.get("MINICNN_FER2013")
        copy = evaluate_copy(info["path"], data, metrics) if data else None
        if copy:
            print(f"the shipped copy: test accuracy {pct(copy['accuracy'])} on {copy['n']} images")
        Path(args.card).write_text(model_card(metrics, info, args.run, args.checkpoint, copy), encoding="utf-8")
        print(f"wrote {args.card}")
    except (MiniCNNError, OSError, ValueError) as exc:
        print(f"experiments.ship: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
