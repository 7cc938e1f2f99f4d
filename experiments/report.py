"""Collect every finished run into one report: ``python -m experiments.report [--results results]``.

Reads ``<results>/*/metrics.json`` (nothing else: every number in the report
comes from those files, the paper's from ``minicnn.pipeline.paper``) and writes
``<results>/REPORT.md``:

1. a table per run: our validation/test accuracy beside the paper's and the
   TF re-implementation's, with the protocol (full or REDUCED and how), the
   hardware, the wall time, the throughput and the commit;
2. the paper's questions — does depth help? does HOG help? — answered from our
   runs, or "not yet measured" when a needed run is missing;
3. how far we fall short of the paper, per model, with the likely reason;
4. the per-class test accuracy of our shallow and deep CNNs beside the paper's;
5. per model, a figure of our main run beside the paper (``figures/<model>_vs_paper.png``):
   accuracy per epoch against the paper's reported points, per-class test accuracy
   against the paper's (the diagonal of its confusion matrix);
6. the pilot runs that chose what the paper leaves open (``<results>/pilots/*.json``,
   written by ``python -m experiments.pilots``);
7. per run: the per-class table, the training curves and the confusion matrix.

Runs on data other than FER-2013 (the synthetic faces) and ``--quick`` smoke
runs are listed apart and never used for the comparisons or the answers.
"""
import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from minicnn.data import CLASS_NAMES
from minicnn.errors import DataError, MiniCNNError
from minicnn.pipeline import paper
from minicnn.pipeline.config import FLIP_WORDS, load_config
from minicnn.pipeline.outputs import describe_data, pct, per_class_table, protocol_line, read_metrics
from minicnn.pipeline.provenance import describe_hardware

REPORT_NAME = "REPORT.md"


def collect_runs(results):
    """Every readable ``<results>/*/metrics.json`` as a metrics dict with ``"folder"`` added, sorted by name.

    Unreadable files are reported on stderr and skipped.
    """
    runs = []
    for path in sorted(Path(results).glob("*/metrics.json")):
        try:
            metrics = read_metrics(path)
        except (ValueError, OSError) as exc:
            print(f"experiments.report: skipping {path}: {exc}", file=sys.stderr)
            continue
        metrics["folder"] = path.parent.name
        runs.append(metrics)
    return runs


def protocol_key(run):
    """What must match for two runs to be compared like for like: each at the paper's own protocol for its
    model (30 or 35 epochs, unchanged), else the same epochs, flips and data limits."""
    if not run["reduced"] and not run["changes"]:
        return "the paper's"
    train = run["config"]["train"]
    limits = run["config"].get("data_limits", {})
    return (train["epochs"], train["flips"], tuple(sorted((k, v) for k, v in limits.items())))


def _amount(run):
    """Rank runs of one model: the paper's protocol first (not reduced, then unchanged), then the most
    training, then the newest."""
    return (not run["reduced"], not run["changes"], run["timing"]["train_images"], run["finished_at"])


def main_run(runs, model):
    """The run that represents ``model`` (see ``_amount``), or None."""
    mine = [r for r in runs if r["model"] == model]
    return max(mine, key=_amount) if mine else None


def comparable_pair(runs, a, b):
    """(run of a, run of b, like_for_like): the most-trained pair with one protocol, else each model's main run."""
    pairs = [(x, y) for x in runs if x["model"] == a for y in runs if y["model"] == b
             if protocol_key(x) == protocol_key(y)]
    if pairs:
        x, y = max(pairs, key=lambda p: (_amount(p[0]), _amount(p[1])))
        return x, y, True
    x, y = main_run(runs, a), main_run(runs, b)
    return x, y, False


def difference_verdict(ours_a, ours_b, n):
    """Words for accuracy ``ours_b - ours_a`` on a test set of ``n`` images.

    A difference is called real when its 95% confidence interval,
    ``delta +- 1.96 * sqrt(pa(1-pa)/n + pb(1-pb)/n)`` (the two accuracies
    treated as independent binomial estimates), excludes 0. Returns the
    verdict, ``delta`` and the interval's half-width.
    """
    half = 1.96 * math.sqrt(ours_a * (1 - ours_a) / n + ours_b * (1 - ours_b) / n)
    delta = ours_b - ours_a
    if delta > half:
        word = "yes"
    elif delta < -half:
        word = "no, it is worse"
    else:
        word = "no clear difference"
    return word, delta, half


def _run_label(run):
    return f"`{run['folder']}`" + (" (REDUCED)" if run["reduced"] else "")


def answer(runs, question):
    """Markdown answer to "depth" (shallow vs deep) or "hog" (CNN vs CNN + HOG) from FER-2013 runs."""
    pairs = [("shallow", "deep")] if question == "depth" else [("shallow", "shallow_hog"), ("deep", "deep_hog")]
    lines = []
    for a, b in pairs:
        x, y, like = comparable_pair(runs, a, b)
        title = f"{paper.MODEL_TITLES[a]} → {paper.MODEL_TITLES[b]}"
        missing = [m for m, r in ((a, x), (b, y)) if r is None]
        if missing:
            lines.append(f"- {title}: **not yet measured** (no FER-2013 run of {' or '.join(missing)}).")
            continue
        word, delta, margin = difference_verdict(x["test"]["accuracy"], y["test"]["accuracy"], y["test"]["n"])
        val_delta = y["val"]["accuracy"] - x["val"]["accuracy"]
        text = (f"- {title}: **{word}** — test {pct(x['test']['accuracy'])} → {pct(y['test']['accuracy'])} "
                f"({100 * delta:+.1f} points, 95% confidence interval [{100 * (delta - margin):+.1f}, "
                f"{100 * (delta + margin):+.1f}] at n = {y['test']['n']}), validation {pct(x['val']['accuracy'])} → {pct(y['val']['accuracy'])} "
                f"({100 * val_delta:+.1f} points); runs {_run_label(x)} and {_run_label(y)}")
        if not like:
            text += ". Caution: these runs used different protocols, so the comparison is not like for like"
        if x["reduced"] or y["reduced"]:
            text += ". From reduced runs: it answers the question for this budget, not for the paper's protocol"
        lines.append(text + ".")
    lines.append(f"- The paper's answer: {paper.CONCLUSIONS[question]}.")
    return "\n".join(lines)


def shortfall(runs):
    """Markdown lines: for each model with paper numbers, our main run's gap to the paper and why we think so."""
    lines = []
    for model in paper.MODELS:
        run = main_run(runs, model)
        ref = paper.reference(model, "paper")
        target = paper.validation_target(model)
        if run is None:
            lines.append(f"- {paper.MODEL_TITLES[model]}: not yet measured.")
            continue
        gap = target - run["val"]["accuracy"]
        what = "validation" + ("" if ref.get("val") is not None else " (read off the paper's plot)")
        if gap <= 0:
            lines.append(f"- {paper.MODEL_TITLES[model]}: {_run_label(run)} reaches {pct(run['val']['accuracy'])} "
                         f"{what}, at or above the paper's {pct(target)}{beside_base(runs, run)}.")
            continue
        text = (f"- {paper.MODEL_TITLES[model]}: {_run_label(run)} falls short of the paper's {what} "
                f"{pct(target)} by **{100 * gap:.1f} points** ({pct(run['val']['accuracy'])})")
        if ref.get("test") is not None:
            text += f" and of its test {pct(ref['test'])} by {100 * (ref['test'] - run['test']['accuracy']):.1f} points"
        if run["reduced"]:
            text += (f". Likely reason: the reduced protocol ({'; '.join(run['reductions'])})"
                     + (f"; the best validation accuracy came in the last epoch ({run['best_epoch']} of "
                        f"{run['epochs_run']}), so training had not converged"
                        if run["best_epoch"] == run["epochs_run"] else ""))
        else:
            text += (". The protocol was the paper's, so the gap lies in what the paper leaves open "
                     "(optimizer, dropout rates, initialization, schedule: see experiments/CONFIGS.md and the "
                     "pilots below)" + fit_diagnosis(run))
        lines.append(text + beside_base(runs, run) + ".")
    return "\n".join(lines)


HYBRID_MARGIN = 0.02
"""How far a hybrid's test accuracy may trail our own run of its base CNN and still match. The paper
gives its hybrids only as curves, so our base run is the yardstick; the margin is our choice."""


def beside_base(runs, run):
    """'; ...': a hybrid run's test accuracy beside our main run of its base CNN, against HYBRID_MARGIN ('' for a CNN)."""
    base = paper.base_model(run["model"])
    if base == run["model"]:
        return ""
    reference = main_run(runs, base)
    if reference is None:
        return f"; no run of the {paper.MODEL_TITLES[base]} yet to set beside it"
    delta = run["test"]["accuracy"] - reference["test"]["accuracy"]
    verdict = "within" if delta >= -HYBRID_MARGIN else "more than"
    return (f"; beside our {paper.MODEL_TITLES[base]} ({_run_label(reference)}, test "
            f"{pct(reference['test']['accuracy'])}) its test accuracy is {100 * delta:+.1f} points, {verdict} the "
            f"{100 * HYBRID_MARGIN:.0f} points a hybrid may trail its base CNN")


FITS_TRAINING_SET = 0.95
"""Training accuracy above which a run counts as fitting its training set (the paper's nets reach about 100%)."""


def fit_diagnosis(run):
    """'; ...': whether a full run fit its training set, so whether its gap is one of fitting or of generalising."""
    final = run["history"]["train_acc"][-1]
    if final >= FITS_TRAINING_SET:
        return (f"; it fits its training set ({pct(final)} training accuracy in the last epoch, as the paper's "
                f"nets do), so the gap is in how well it generalises")
    return (f"; its training accuracy reached only {pct(final)} in the last epoch, short of the paper's "
            f"nets (about 100%), so it had not fit its training set")


def minutes(seconds):
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def comparable(run):
    """True for a run that may stand beside the paper: on FER-2013 and not a --quick smoke run."""
    return run["data"]["kind"] == "fer2013" and not run["config"].get("quick", False)


def paper_val_cell(model):
    """The paper's validation accuracy of ``model``: its text's number, else "~58% (plot)", else a dash."""
    ref = paper.reference(model, "paper")
    if ref.get("val") is not None:
        return pct(ref["val"])
    return f"~{pct(ref['val_curve_best'], 0)} (plot)" if ref.get("val_curve_best") else "—"


def results_table(runs, references=True):
    """Markdown table: one row per run, ours beside the paper's and the TF re-implementation's (``references``)."""
    ref_head = "paper val | paper test | TF re-impl. val | TF re-impl. test | " if references else ""
    lines = ["| model | run | data | protocol | epochs (best / run) | ours val | ours test | " + ref_head +
             "hardware | backend | training time | wall time | train img/s | commit |",
             "|---|---|---|---|---|---:|---:|" + ("---:|" * 4 if references else "") + "---|---|---:|---:|---:|---|"]
    for run in sorted(runs, key=lambda r: (paper.MODELS.index(r["model"]) if r["model"] in paper.MODELS else 99,
                                           r["folder"])):
        ref, tf = paper.reference(run["model"], "paper"), paper.reference(run["model"], "tf")
        paper_val = paper_val_cell(run["model"])
        ref_cells = (f"{paper_val} | {pct(ref.get('test'))} | {pct(tf.get('val'))} | {pct(tf.get('test'))} | "
                     if references else "")
        lines.append(
            f"| {paper.MODEL_TITLES.get(run['model'], run['model'])} | `{run['folder']}` | {run['data']['kind']} | "
            f"{protocol_line(run)} | {run['best_epoch']} / {run['epochs_run']} | {pct(run['val']['accuracy'])} | "
            f"{pct(run['test']['accuracy'])} | {ref_cells}{describe_hardware(run['hardware'])} | {run['backend']} | "
            f"{minutes(run['timing']['train_time_s'])} | {minutes(run['timing']['wall_time_s'])}"
            f"{' (last session; resumed)' if run['timing'].get('resumed') else ''} | "
            f"{run['timing']['images_per_s']:.0f} | {commits_cell(run)} |")
    return "\n".join(lines)


def per_class_overview(runs):
    """Markdown table: per-class test accuracy of our main shallow and deep runs beside the paper's and TF's."""
    mains = {m: main_run(runs, m) for m in ("shallow", "deep")}
    head, rule = ["class"], ["---"]
    for m, run in mains.items():
        head += [f"{m} ours" + (" (REDUCED)" if run and run["reduced"] else ""), f"{m} paper", f"{m} TF re-impl."]
        rule += ["---:"] * 3
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(rule) + "|"]
    for name in CLASS_NAMES:
        cells = [name]
        for m, run in mains.items():
            ours = run["test"]["per_class_accuracy"].get(name) if run else None
            cells += [pct(ours) if run else "not yet measured",
                      pct(paper.reference(m, "paper")["per_class_test"][name]),
                      pct(paper.reference(m, "tf")["per_class_test"][name])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_section(run):
    """Markdown for one run: per-class table and its figures (paths relative to REPORT.md)."""
    folder = run["folder"]
    return "\n".join([
        f"### {paper.MODEL_TITLES.get(run['model'], run['model'])}: `{folder}`"
        + (" — REDUCED" if run["reduced"] else ""), "",
        f"Data: {describe_data(run['data'])}; {run['data']['n_train_per_epoch']} training images per epoch. "
        f"Seed {run['seed']}. Finished {run['finished_at']} (its last session started {run['started_at']}). "
        f"Best epoch {run['best_epoch']} of {run['epochs_run']} ({run['iterations']} iterations). "
        + sessions_line(run), "",
        per_class_table(run), "",
        f"![training curves]({folder}/curves.png)", "",
        f"![confusion matrix]({folder}/confusion.png)", ""])


def comparison_figure(run, path):
    """``path``: our run beside the paper's reported numbers; returns ``path``.

    Left: our training and validation accuracy per epoch, with the paper's
    validation accuracy (its text's number, or the best and last of its
    plot) as lines and the epoch where its training accuracy reached about
    100%. Right: per-class test accuracy, ours beside the paper's (the
    diagonal of its row-normalized confusion matrix) where the paper gives it.
    """
    from minicnn.viz.curves import matplotlib_figure_classes
    Figure, Canvas = matplotlib_figure_classes()
    ref = paper.reference(run["model"], "paper")
    per_class_ref = ref.get("per_class_test") or paper.reference(paper.base_model(run["model"]), "paper").get(
        "per_class_test")
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_acc, ax_cls = fig.subplots(1, 2)
    h = run["history"]
    epochs = np.asarray(h["epoch"])
    ax_acc.plot(epochs, 100 * np.asarray(h["train_acc"]), "o-", ms=3, color="tab:orange", label="ours: train")
    ax_acc.plot(epochs, 100 * np.asarray([np.nan if v is None else v for v in h["val_acc"]]), "o-", ms=3,
                color="tab:green", label="ours: validation")
    for key, style, label in (("val", "-", "paper: validation (text)"), ("val_curve_best", "--", "paper: best "
                              "validation (plot)"), ("val_curve_last", ":", "paper: last validation (plot)")):
        if ref.get(key) is not None:
            ax_acc.axhline(100 * ref[key], ls=style, color="tab:purple", lw=1.2, label=label)
    if ref.get("train_full_epoch"):
        ax_acc.axvline(ref["train_full_epoch"], color="tab:gray", ls="--", lw=1,
                       label=f"paper: train accuracy ~100% (epoch ~{ref['train_full_epoch']})")
    ax_acc.set(title="accuracy per epoch", xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, loc="lower right")
    ours = [run["test"]["per_class_accuracy"].get(c) for c in CLASS_NAMES]
    x = np.arange(len(CLASS_NAMES))
    ax_cls.bar(x - 0.2, [100 * (v or 0) for v in ours], 0.4, color="tab:green", label="ours")
    if per_class_ref:
        ax_cls.bar(x + 0.2, [100 * per_class_ref[c] for c in CLASS_NAMES], 0.4, color="tab:purple",
                   label="paper" + ("" if ref.get("per_class_test") else f" ({paper.base_model(run['model'])})"))
    ax_cls.set_xticks(x, CLASS_NAMES, rotation=30, fontsize=8)
    ax_cls.set(title="per-class test accuracy (confusion-matrix diagonal)", ylabel="accuracy (%)")
    ax_cls.legend(fontsize=8)
    ax_cls.grid(alpha=0.3, axis="y")
    fig.suptitle(f"{paper.MODEL_TITLES.get(run['model'], run['model'])}: run {run['folder']} beside the paper "
                 "(paper's points as PAPER.md states them)", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Canvas(fig).print_png(str(path))
    return path


def comparison_section(runs, results):
    """Markdown: for each paper model with a FER-2013 run, its comparison figure (written into ``results``)."""
    lines = []
    for model in paper.MODELS:
        run = main_run(runs, model)
        if run is None:
            continue
        figure = comparison_figure(run, Path(results) / "figures" / f"{model}_vs_paper.png")
        lines += [f"**{paper.MODEL_TITLES[model]}** (`{run['folder']}`{', REDUCED' if run['reduced'] else ''}):", "",
                  f"![{model} beside the paper](figures/{figure.name})", ""]
    return "\n".join(lines) if lines else "No FER-2013 run yet."


def pilot_records(results):
    """The pilot records of ``<results>/pilots/*.json`` (``experiments.pilots``), sorted by name."""
    records = []
    for path in sorted((Path(results) / "pilots").glob("*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"experiments.report: skipping {path}: {exc}", file=sys.stderr)
    return records


def pilots_section(records):
    """Markdown: the pilots' validation accuracy per epoch, as trained and with BN recalibrated."""
    if not records:
        return "No pilot run yet (`python -m experiments.pilots`)."

    def series(values):
        return " ".join(f"{100 * v:.1f}" for v in values)
    lines = ["Short runs at the paper's protocol (28,709 images per epoch, random flips, batch 128, seed 0) "
             "that chose what the paper leaves open. After every epoch the validation accuracy is measured on "
             "the same weights twice: with the batch-norm statistics as training left them, and re-estimated "
             "from training images with dropout off (what the trainer now does by default).", "",
             "| pilot | model | optimizer, lr | dropout conv / fc | epochs | val % as trained | "
             "val % recalibrated | train % (2,000 images) | commit |",
             "|---|---|---|---|---:|---|---|---|---|"]
    for r in records:
        lines.append(f"| {r['pilot']} | {r['model']} | {r['optimizer']['name']} {r['lr']:g} | "
                     f"{r['conv_dropout']:g} / {r['fc_dropout']:g} | {r['epochs_done']} | "
                     f"{series(r['val_acc_as_trained'])} | {series(r['val_acc_recalibrated'])} | "
                     f"{series(r['train_acc'])} | `{r['git']}` |")
    for model in ("shallow", "deep"):
        mine = [r for r in records if r["model"] == model and r["val_acc_recalibrated"]]
        if not mine:
            continue
        best = max(mine, key=lambda r: r["val_acc_recalibrated"][-1])
        gain = np.mean([r["val_acc_recalibrated"][-1] - r["val_acc_as_trained"][-1] for r in mine])
        chosen = next((r for r in mine if is_full_run_recipe(r)), None)
        chosen_text = ("" if chosen is None else
                       f"; the full run's recipe is {chosen['pilot']}'s "
                       f"({100 * chosen['val_acc_recalibrated'][-1]:.1f}%)")
        lines += ["", f"- {model}: best after its last epoch: {best['pilot']} "
                  f"({100 * best['val_acc_recalibrated'][-1]:.1f}% recalibrated){chosen_text}; recalibration added "
                  f"{100 * gain:+.1f} points on average at the last epoch."]
    lines += ["", "Pilot runs are short and differ by one choice each; differences of about a point between them "
              "are within their noise (the validation set has 3,589 images: a 95% interval of about ±1.6 points)."]
    return "\n".join(lines)


def is_full_run_recipe(pilot):
    """True when a pilot's optimizer, learning rate and dropout rates are those of its model's full-run config."""
    config = load_config(pilot["model"])
    rates = {part: {block.get("dropout") for block in config["model"][part]} for part in ("conv", "fc")}
    return (config["train"]["optimizer"]["name"] == pilot["optimizer"]["name"]
            and math.isclose(config["train"]["lr"], pilot["lr"])
            and rates["conv"] == {pilot["conv_dropout"]} and rates["fc"] == {pilot["fc_dropout"]})


def commits(run):
    """The commits (10 digits) a run was trained under, in order: each session's, else the run's one."""
    found = [s["commit"][:10] for s in run.get("sessions") or []] or [run["git"]["commit"][:10]]
    return list(dict.fromkeys(found))


def commits_cell(run):
    """The commits of ``run`` as Markdown code spans, flagged when the code had uncommitted changes."""
    return ", ".join(f"`{c}`" for c in commits(run)) + (" (uncommitted changes)" if run["git"].get("dirty") else "")


def sessions_line(run):
    """One Markdown sentence: the processes that trained ``run`` (commit, machine, first epoch), when recorded."""
    sessions = run.get("sessions")
    if not sessions:
        return "Sessions were not recorded (a minicnn from before they were)."
    parts = [f"from step {s['from_step']} (epoch {s['from_epoch']}): `{s['commit'][:10]}`"
             + (" with uncommitted changes" if s.get("dirty") else "") + f" on {s['hardware']}, {s['started_at']}"
             for s in sessions]
    text = f"Trained in {len(sessions)} recorded session(s): " + "; ".join(parts) + "."
    if sessions[0]["from_step"]:
        text += (f" The sessions before step {sessions[0]['from_step']} were run by a minicnn that did not "
                 "record them.")
    return text


def protocol_summary():
    """The paper's protocol in a few words, from its run configs."""
    shallow, deep = (load_config(name)["train"] for name in ("shallow", "deep"))
    return (f"{shallow['epochs']} epochs for the shallow models, {deep['epochs']} for the deep, batch "
            f"{shallow['batch_size']}, flips: {FLIP_WORDS[shallow['flips']]}")


def build_report(runs, results):
    """The text of REPORT.md from a list of metrics dicts (each with ``folder``); figures go into ``results``."""
    fer = [r for r in runs if comparable(r)]
    other = [r for r in runs if not comparable(r)]
    dirty = [r["folder"] for r in runs if r["git"].get("dirty")]
    parts = [
        "# Results: Alizadeh & Fazel's experiments, rerun with minicnn", "",
        f"Generated by `python -m experiments.report` from {len(runs)} `metrics.json` file(s) in this folder; "
        "every number of ours below is read from them, the paper's from `minicnn/pipeline/paper.py` (PAPER.md). "
        "Accuracies are of the epoch with the best validation accuracy. Runs marked **REDUCED** did less "
        f"than the paper's protocol ({protocol_summary()}) and list exactly what was reduced.", ""]
    if dirty:
        parts += [f"**Warning:** run(s) {', '.join(dirty)} were made with uncommitted code changes.", ""]
    parts += ["## Our accuracy beside the paper's", ""]
    parts += [results_table(fer) if fer else "No FER-2013 run yet: every comparison below is not yet measured.", ""]
    parts += ["The paper's own confusion matrices give lower test accuracy than its text "
              f"({pct(paper.PAPER['shallow']['test_from_confusion'])} shallow, "
              f"{pct(paper.PAPER['deep']['test_from_confusion'])} deep); the hybrid models' numbers are read off "
              "its validation plots.", "",
              "## The paper's questions, answered by our runs", "",
              "**Does depth help?**", "", answer(fer, "depth"), "",
              "**Does HOG help?**", "", answer(fer, "hog"), "",
              "## Where we fall short of the paper", "", shortfall(fer), "",
              "## Per-class test accuracy", "", per_class_overview(fer), "",
              "## Our runs beside the paper's figures", "", comparison_section(fer, results), "",
              "## Pilots: the choices the paper leaves open", "", pilots_section(pilot_records(results)), "",
              "## Each run: per-class accuracy and figures", ""]
    parts += [run_section(r) for r in sorted(fer, key=lambda r: r["folder"])] or ["No FER-2013 run yet.", ""]
    if other:
        parts += ["## Other runs (synthetic data or --quick smoke runs: not comparable to the paper)", "",
                  results_table(other, references=False), ""]
    return "\n".join(parts).rstrip() + "\n"


README_BEGIN = "<!-- results table: written by `python -m experiments.report --readme README.md`; do not edit -->"
README_END = "<!-- end of results table -->"


def readme_table(runs):
    """Markdown table for README.md: per paper model, its main FER-2013 run beside the paper, or "not yet run"."""
    fer = [r for r in runs if comparable(r)]
    lines = ["| model | protocol | ours val / test | paper val / test | hardware, training time, commits |",
             "|---|---|---|---|---|"]
    for model in paper.MODELS:
        run, ref = main_run(fer, model), paper.reference(model, "paper")
        theirs = f"{paper_val_cell(model)} / {pct(ref.get('test'))}"
        if run is None:
            lines.append(f"| {paper.MODEL_TITLES[model]} | not yet run | — | {theirs} | — |")
            continue
        lines.append(f"| {paper.MODEL_TITLES[model]} (`{run['folder']}`) | {protocol_line(run)} | "
                     f"{pct(run['val']['accuracy'])} / {pct(run['test']['accuracy'])} | {theirs} | "
                     f"{describe_hardware(run['hardware'])}, {minutes(run['timing']['train_time_s'])}, "
                     f"{commits_cell(run)} |")
    return "\n".join(lines)


def update_readme(path, runs):
    """Replace the results table between README_BEGIN and README_END in ``path`` (DataError without them)."""
    text = Path(path).read_text(encoding="utf-8")
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise DataError(f"{path} has no results table to update: it needs one line `{README_BEGIN}` and, after "
                        f"it, one line `{README_END}`")
    head, rest = text.split(README_BEGIN)
    tail = rest.split(README_END)[1]
    Path(path).write_text(f"{head}{README_BEGIN}\n{readme_table(runs)}\n{README_END}{tail}", encoding="utf-8")
    return path


def write_report(results="results"):
    """Write ``<results>/REPORT.md`` from the runs found there; return its path.

    DataError (one line, nothing written) when ``results`` is not a folder or
    holds no readable ``*/metrics.json``: a report of no run is a mistyped path.
    """
    results = Path(results)
    if not results.is_dir():
        raise DataError(f"{results} is not a folder: pass --results the folder holding <model>-<run>/metrics.json")
    runs = collect_runs(results)
    if not runs:
        raise DataError(f"{results} holds no readable <run>/metrics.json: run `python -m experiments.run` "
                        "first, or pass --results the folder that holds the runs")
    path = results / REPORT_NAME
    path.write_text(build_report(runs, results), encoding="utf-8")
    return path


def add_arguments(parser):
    parser.add_argument("--results", default="results", help="folder holding <model>-<run>/metrics.json")
    parser.add_argument("--readme", metavar="README.md", default=None,
                        help="also rewrite the results table between the markers of this README")
    return parser


def main(argv=None):
    args = add_arguments(argparse.ArgumentParser(prog="python -m experiments.report",
                                                 description=__doc__.split("\n\n")[0])).parse_args(argv)
    try:
        print(f"wrote {write_report(args.results)}")
        if args.readme:
            print(f"updated the results table of {update_readme(args.readme, collect_runs(args.results))}")
    except MiniCNNError as exc:
        print(f"experiments.report: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
