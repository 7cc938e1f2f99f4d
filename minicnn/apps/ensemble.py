"""Soft-voting ensembles: average the class probabilities of several trained models.

For models m = 1..M with class probabilities p_m(c | x), each computed with
the model's own preprocessing (its mean image, and HOG for a hybrid)::

    p(c | x) = (1 / M) sum_m p_m(c | x),        prediction = argmax_c p(c | x)

(summing instead of averaging gives the same prediction). ``minicnn ensemble
A.npz B.npz ... --data PATH|synthetic`` reports each member's and the
ensemble's validation and test accuracy and writes the ensemble's test
confusion matrix (PNG and JSON).
"""
import json
from pathlib import Path

import numpy as np

from ..training import metrics
from ..errors import ConfigError


def member_probabilities(classifiers, faces, batch_size=256):
    """Class probabilities of each member for raw faces (N, H, W): host (M, N, C)."""
    probs = [clf.proba(faces, batch_size) for clf in classifiers]
    shapes = {p.shape for p in probs}
    if len(shapes) != 1:
        raise ConfigError("the ensemble's members predict different numbers of classes: "
                          + ", ".join(f"{c.name} {p.shape[1]}" for c, p in zip(classifiers, probs)))
    return np.stack(probs)


def soft_vote(member_probs):
    """Mean of the members' probabilities: (M, N, C) -> (N, C) (rows still sum to 1)."""
    return np.asarray(member_probs, dtype=np.float64).mean(axis=0)


def evaluate_ensemble(classifiers, dataset, batch_size=256):
    """Accuracies of each member and of their soft vote on the val and test splits.

    Returns a JSON-able dict: ``members`` [{name, val_acc, test_acc}],
    ``ensemble`` {val_acc, test_acc, per_class_test_acc}, ``confusion_test``
    (C x C counts, rows true, columns predicted), ``class_names``, ``source``.
    """
    if len(classifiers) < 1:
        raise ConfigError("an ensemble needs at least one model")
    report = {"members": [{"name": c.name} for c in classifiers], "ensemble": {},
              "class_names": list(classifiers[0].class_names), "source": dataset.source}
    for split_name in ("val", "test"):
        split = getattr(dataset, split_name)
        probs = member_probabilities(classifiers, split.images, batch_size)
        for entry, p in zip(report["members"], probs):
            entry[f"{split_name}_acc"] = metrics.accuracy(p, split.labels)
        vote = soft_vote(probs)
        report["ensemble"][f"{split_name}_acc"] = metrics.accuracy(vote, split.labels)
        if split_name == "test":
            cm = metrics.confusion_matrix(split.labels, vote, vote.shape[1])
            report["confusion_test"] = cm.tolist()
            report["ensemble"]["per_class_test_acc"] = [
                None if np.isnan(a) else float(a) for a in metrics.per_class_accuracy(cm)]
    return report


def format_report(report):
    """The accuracy table: one line per member and one for the ensemble."""
    width = max([len(m["name"]) for m in report["members"]] + [len("ensemble (soft vote)")])
    lines = [f"{'model':<{width}}  {'val acc':>8}  {'test acc':>8}"]
    for m in report["members"]:
        lines.append(f"{m['name']:<{width}}  {m['val_acc']:>8.4f}  {m['test_acc']:>8.4f}")
    e = report["ensemble"]
    lines.append(f"{'ensemble (soft vote)':<{width}}  {e['val_acc']:>8.4f}  {e['test_acc']:>8.4f}")
    return "\n".join(lines)


def run(args):
    from .inference import Classifier, load_eval_data
    from ..viz.curves import plot_confusion

    classifiers = [Classifier.load(path) for path in args.models]
    _unique_names(classifiers, args.models)
    report = evaluate_ensemble(classifiers, load_eval_data(args.data), args.batch_size)
    print(format_report(report))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report["members"] = [dict(m, path=str(p)) for m, p in zip(report["members"], args.models)]
    (out / "ensemble.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    png = plot_confusion(np.array(report["confusion_test"]), report["class_names"], out / "ensemble_confusion.png",
                         title=f"soft-vote ensemble of {len(classifiers)}: test accuracy "
                               f"{report['ensemble']['test_acc']:.1%}")
    print(f"wrote {out / 'ensemble.json'} and {png}")
    return 0


def _unique_names(classifiers, paths):
    """Name members by file stem, or by the path when two stems collide (best.npz of two runs)."""
    stems = [c.name for c in classifiers]
    for c, p in zip(classifiers, paths):
        if stems.count(c.name) > 1:
            c.name = str(p)


def add_cli(subparsers):
    p = subparsers.add_parser(
        "ensemble", help="soft-voting ensemble of trained models: accuracies and confusion matrix",
        description="Average the class probabilities of several trained models (each with its own "
                    "preprocessing) and report every member's and the ensemble's validation and test "
                    "accuracy; write the ensemble's test confusion matrix (PNG + JSON).")
    p.add_argument("models", nargs="+", help="minicnn checkpoints (.npz)")
    p.add_argument("--data", required=True, help="FER-2013 (CSV/.gz/.xz, images zip or folder) or 'synthetic'")
    p.add_argument("--out", default="ensemble", help="folder for ensemble.json and ensemble_confusion.png")
    p.add_argument("--batch-size", type=int, default=256, help="images per forward pass (default 256)")
    p.set_defaults(func=run)
