"""``minicnn ensemble A.npz B.npz ... --data PATH|synthetic``: a soft-voting ensemble of trained models.

Reports each member's and the ensemble's validation and test accuracy
(``minicnn.apps.ensemble``) and writes the ensemble's test confusion matrix
(PNG and JSON).
"""
import json

import numpy as np

from ..apps.ensemble import evaluate_ensemble, format_report, unique_names
from ..validate import check_input_file, check_output_folder, positive_int, ready
from .options import check_data


def run(args):
    from ..apps.inference import Classifier, load_eval_data
    from ..viz.curves import plot_confusion

    for path in args.models:
        check_input_file("checkpoint", path)
    check_data(args.data)
    out = check_output_folder("--out", args.out)
    ready()
    classifiers = [Classifier.load(path) for path in args.models]
    unique_names(classifiers, args.models)
    report = evaluate_ensemble(classifiers, load_eval_data(args.data), args.batch_size)
    print(format_report(report))
    report["members"] = [dict(m, path=str(p)) for m, p in zip(report["members"], args.models)]
    (out / "ensemble.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    png = plot_confusion(np.array(report["confusion_test"]), report["class_names"], out / "ensemble_confusion.png",
                         title=f"soft-vote ensemble of {len(classifiers)}: test accuracy "
                               f"{report['ensemble']['test_acc']:.1%}")
    print(f"wrote {out / 'ensemble.json'} and {png}")
    return 0


def add_cli(subparsers):
    p = subparsers.add_parser(
        "ensemble", help="soft-voting ensemble of trained models: accuracies and confusion matrix",
        description="Average the class probabilities of several trained models (each with its own "
                    "preprocessing) and report every member's and the ensemble's validation and test "
                    "accuracy; write the ensemble's test confusion matrix (PNG + JSON).")
    p.add_argument("models", nargs="+", help="minicnn checkpoints (.npz)")
    p.add_argument("--data", required=True, help="FER-2013 (CSV/.gz/.xz, images zip or folder) or 'synthetic'")
    p.add_argument("--out", default="ensemble", help="folder for ensemble.json and ensemble_confusion.png")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="images per forward pass (default 256; made smaller when it does not fit in memory)")
    p.set_defaults(func=run)
