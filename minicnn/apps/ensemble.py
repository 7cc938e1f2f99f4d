"""Soft-voting ensembles: average the class probabilities of several trained models.

For models m = 1..M with class probabilities p_m(c | x), each computed with
the model's own preprocessing (its mean image, and HOG for a hybrid)::

    p(c | x) = (1 / M) sum_m p_m(c | x),        prediction = argmax_c p(c | x)

(summing instead of averaging gives the same prediction). ``evaluate_ensemble``
measures each member and the vote on the validation and test splits
(``minicnn ensemble`` prints it and writes the test confusion matrix).
"""
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


def unique_names(classifiers, paths):
    """Name members by file stem, or by the path when two stems collide (best.npz of two runs)."""
    stems = [c.name for c in classifiers]
    for c, p in zip(classifiers, paths):
        if stems.count(c.name) > 1:
            c.name = str(p)
