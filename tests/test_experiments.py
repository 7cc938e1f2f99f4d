"""Specifications of the paper's experiments: the report, the scripts, the committed results.

Report tests use fabricated metrics.json files that say so in their data
source; the pipeline and its front ends have their own tests
(test_pipeline.py, test_cli_train.py).
"""
import json
import math
from pathlib import Path

import pytest

from experiments.report import (README_BEGIN, README_END, build_report, collect_runs, difference_verdict,
                                pilots_section,
                                readme_table, update_readme, write_report)
from experiments.report import main as report_main
from minicnn.commands import main
from minicnn.errors import DataError
from fabricated_runs import fabricated_run, write_fixture_runs
from minicnn.pipeline.outputs import SCHEMA, read_metrics

RESULTS = Path(__file__).resolve().parents[1] / "results"


def test_a_quick_run_on_real_fer2013_is_kept_out_of_the_comparisons(tmp_path, fer2013_path):
    assert main(["experiment", "shallow", "--data", str(fer2013_path), "--quick", "--subset", "32", "--quiet",
                 "--out", str(tmp_path / "results"), "--checkpoints", str(tmp_path / "checkpoints")]) == 0
    metrics = read_metrics(tmp_path / "results" / "shallow-quick" / "metrics.json")
    assert metrics["data"]["kind"] == "fer2013" and metrics["data"]["sha256"]
    report = write_report(tmp_path / "results").read_text()
    assert "smoke" in report and "not yet measured" in report   # a quick run answers nothing


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*/metrics.json")), ids=lambda p: p.parent.name)
def test_every_committed_result_is_schema_2_without_a_machine_path(path):
    metrics = read_metrics(path)
    assert metrics["schema"] == SCHEMA and metrics["data"]["name"] == "fer2013.csv.xz"
    assert len(metrics["data"]["sha256"]) == 64 and metrics["data"]["fingerprint"].startswith("sha256:")
    for name in ("metrics.json", "per_class.md"):
        text = (path.parent / name).read_text()
        assert "/work/" not in text and "/home/" not in text
    assert "/work/" not in (RESULTS / "REPORT.md").read_text()


# ------------------------------------------------------------------ report (fabricated fixtures)

@pytest.mark.parametrize("layout, message", [
    (lambda root: None, "resultz is not a folder"),
    (lambda root: root.mkdir(), "resultz holds no readable <run>/metrics.json"),
    (lambda root: (root / "a").mkdir(parents=True) or (root / "a" / "metrics.json").write_text("{}"),
     "holds no readable"),
    (lambda root: root.mkdir() or (root / "notes.txt").write_text("x"), "holds no readable"),
], ids=["missing", "empty", "unreadable-run", "no-runs"])
def test_report_of_a_mistyped_or_empty_results_folder_is_refused_and_writes_nothing(tmp_path, capsys, layout,
                                                                                      message):
    root = tmp_path / "resultz"
    layout(root)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert report_main(["--results", str(root)]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]        # after any "skipping <unreadable file>" notes
    assert message in last and last.startswith("experiments.report: error:") and "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_report_sets_our_numbers_beside_the_papers(tmp_path):
    run = fabricated_run("shallow", 0.512, 0.505)
    results = write_fixture_runs(tmp_path / "results", [run])
    report = write_report(results).read_text()
    row = next(line for line in report.splitlines() if line.startswith("| shallow CNN |"))
    ours = [f"{100 * run[s]['accuracy']:.1f}%" for s in ("val", "test")]
    for cell in ours + ["55.0%", "54.0%", "53.0%", "52.9%", "fixture CPU", "0123456789"]:
        assert cell in row
    gap = 100 * (0.55 - run["val"]["accuracy"])
    assert f"falls short of the paper's validation 55.0% by **{gap:.1f} points**" in report
    assert "| Angry |" in report and "shallow-fixture0/curves.png" in report
    overview = report.split("## Per-class test accuracy")[1].split("##")[0]
    angry = next(line for line in overview.splitlines() if line.startswith("| Angry |"))
    assert f"{100 * run['test']['per_class_accuracy']['Angry']:.1f}%" in angry and "41.0%" in angry
    assert "not yet measured" in angry                                   # no deep run


def test_report_says_not_yet_measured_without_the_needed_runs(tmp_path):
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [fabricated_run("shallow", 0.5, 0.5)])), tmp_path)
    depth = report.split("**Does depth help?**")[1].split("**Does HOG help?**")[0]
    hog = report.split("**Does HOG help?**")[1].split("## Where")[0]
    assert "not yet measured" in depth and "no FER-2013 run of deep" in depth
    assert hog.count("not yet measured") == 2


def test_report_answers_the_papers_questions_from_our_numbers(tmp_path):
    runs = [fabricated_run("shallow", 0.55, 0.54), fabricated_run("deep", 0.64, 0.63),
            fabricated_run("shallow_hog", 0.552, 0.545), fabricated_run("deep_hog", 0.60, 0.58)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    depth = report.split("**Does depth help?**")[1].split("**Does HOG help?**")[0]
    hog = report.split("**Does HOG help?**")[1].split("## Where")[0]
    assert "**yes**" in depth and "+9." in depth
    assert "shallow CNN → shallow CNN + HOG: **no clear difference**" in hog
    assert "deep CNN → deep CNN + HOG: **no, it is worse**" in hog
    assert "not yet measured" not in depth + hog
    assert "Caution" not in depth + hog      # each at the paper's protocol for its model (30 or 35 epochs)


def test_reduced_runs_are_labelled_and_their_shortfall_explained(tmp_path):
    runs = [fabricated_run("shallow", 0.45, 0.44, reduced=True, epochs=2),
            fabricated_run("shallow_hog", 0.46, 0.45, reduced=True, epochs=2)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    assert "**REDUCED**: epochs 30 -> 2" in report
    assert "Likely reason: the reduced protocol" in report
    assert "From reduced runs" in report


@pytest.mark.parametrize("final_train_acc, says", [
    (0.99, "it fits its training set (99.0% training accuracy in the last epoch"),
    (0.70, "its training accuracy reached only 70.0% in the last epoch"),
])
def test_a_full_run_short_of_the_paper_says_whether_it_fit_its_training_set(tmp_path, final_train_acc, says):
    run = fabricated_run("deep", 0.60, 0.61)
    run["history"]["train_acc"][-1] = final_train_acc
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [run])), tmp_path)
    deep = next(line for line in report.splitlines() if line.startswith("- deep CNN: `deep-fixture0`"))
    assert "falls short" in deep and "The protocol was the paper's" in deep and says in deep


@pytest.mark.parametrize("hybrid_test, says", [
    (0.572, "its test accuracy is -0.8 points, within the 2 points a hybrid may trail its base CNN"),
    (0.550, "its test accuracy is -3.0 points, more than the 2 points a hybrid may trail its base CNN"),
])
def test_a_hybrid_is_set_beside_our_run_of_its_base_cnn(tmp_path, hybrid_test, says):
    runs = [fabricated_run("shallow", 0.57, 0.58), fabricated_run("shallow_hog", 0.56, hybrid_test)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    line = next(line for line in report.splitlines() if line.startswith("- shallow CNN + HOG: `shallow_hog-fixture"))
    assert "beside our shallow CNN (`shallow-fixture" in line and says in line


def test_the_pilots_section_names_the_pilot_whose_recipe_the_full_run_uses():
    def pilot(name, optimizer, lr, conv_dropout, val):
        return {"pilot": name, "model": "deep", "optimizer": {"name": optimizer}, "lr": lr,
                "conv_dropout": conv_dropout, "fc_dropout": 0.5, "epochs_done": 1, "val_acc_as_trained": [val - 0.1],
                "val_acc_recalibrated": [val], "train_acc": [val], "git": "fixture"}
    section = pilots_section([pilot("sgd-fixture", "nesterov", 1e-2, 0.25, 0.47),
                              pilot("adam-low-dropout-fixture", "adam", 1e-3, 0.1, 0.55),
                              pilot("adam-fixture", "adam", 1e-3, 0.25, 0.54)])   # configs/deep.json's recipe
    assert ("best after its last epoch: adam-low-dropout-fixture (55.0% recalibrated); "
            "the full run's recipe is adam-fixture's (54.0%)") in section


def test_report_keeps_synthetic_runs_out_of_the_comparison(tmp_path):
    runs = [fabricated_run("shallow", 0.9, 0.9, kind="synthetic"), fabricated_run("deep", 0.95, 0.95)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    assert "no FER-2013 run of shallow" in report
    assert "Other runs (synthetic data" in report


def test_a_difference_whose_95_percent_interval_holds_zero_is_no_clear_difference():
    assert difference_verdict(0.55, 0.56, 3589)[0] == "no clear difference"
    assert difference_verdict(0.55, 0.60, 3589)[0] == "yes"
    assert difference_verdict(0.60, 0.55, 3589)[0] == "no, it is worse"
    word, delta, margin = difference_verdict(0.5, 0.5, 100)
    assert delta == 0 and margin == pytest.approx(1.96 * math.sqrt(2 * 0.25 / 100))


def test_the_answers_give_the_95_percent_interval_of_each_difference(tmp_path):
    runs = [fabricated_run("shallow", 0.55, 0.54), fabricated_run("deep", 0.64, 0.63)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    depth = report.split("**Does depth help?**")[1].split("**Does HOG help?**")[0]
    word, delta, half = difference_verdict(runs[0]["test"]["accuracy"], runs[1]["test"]["accuracy"], 3589)
    assert f"95% confidence interval [{100 * (delta - half):+.1f}, {100 * (delta + half):+.1f}]" in depth


def test_each_model_gets_a_figure_beside_the_papers_points(tmp_path):
    runs = [fabricated_run("shallow", 0.55, 0.54), fabricated_run("deep_hog", 0.6, 0.6)]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    for model in ("shallow", "deep_hog"):
        assert f"figures/{model}_vs_paper.png" in report
        assert (tmp_path / "figures" / f"{model}_vs_paper.png").read_bytes().startswith(b"\x89PNG")
    assert not (tmp_path / "figures" / "deep_vs_paper.png").exists()


def test_the_pilots_table_reads_every_pilot_record(tmp_path):
    (tmp_path / "pilots").mkdir()
    for name, recal in (("shallow-a", [0.45, 0.50]), ("shallow-b", [0.44, 0.47])):
        (tmp_path / "pilots" / f"{name}.json").write_text(json.dumps({
            "pilot": name, "model": "shallow", "optimizer": {"name": "adam"}, "lr": 1e-3, "conv_dropout": 0.25,
            "fc_dropout": 0.5, "epochs_done": 2, "val_acc_as_trained": [0.40, 0.42], "val_acc_recalibrated": recal,
            "train_acc": [0.5, 0.6], "epoch_time_s": [60, 60], "git": "abc1234"}))
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [fabricated_run("shallow", 0.5, 0.5)])), tmp_path)
    pilots = report.split("## Pilots")[1].split("## Each run")[0]
    assert "| shallow-a | shallow | adam 0.001 | 0.25 / 0.5 | 2 | 40.0 42.0 | 45.0 50.0 | 50.0 60.0 | `abc1234` |" in pilots
    assert "best after its last epoch: shallow-a (50.0% recalibrated)" in pilots
    assert "recalibration added +6.5 points" in pilots


def test_a_run_that_departs_from_the_protocol_is_listed_with_its_changes(tmp_path):
    runs = [fabricated_run("shallow", 0.5, 0.5, flips="double")]
    report = build_report(collect_runs(write_fixture_runs(tmp_path, runs)), tmp_path)
    row = next(line for line in report.splitlines() if line.startswith("| shallow CNN |"))
    assert "full (the paper's); changed: flips random -> double" in row


def test_a_metrics_file_of_another_schema_is_skipped_with_one_line(tmp_path, capsys):
    old = tmp_path / "shallow-old"
    old.mkdir()
    (old / "metrics.json").write_text('{"schema": 1, "model": "shallow"}')
    assert collect_runs(tmp_path) == []
    err = capsys.readouterr().err
    assert "skipping" in err and "schema 1" in err and err.count("\n") == 1


def test_a_run_trained_over_several_sessions_lists_each_commit_and_machine(tmp_path):
    session = {"dirty": False, "hardware": "CPU: fixture CPU (2 cores)", "started_at": "2026-01-02T00:00:00+00:00"}
    resumed = dict(fabricated_run("shallow", 0.55, 0.54), sessions=[
        dict(session, commit="1111111111aaaa", from_epoch=10, from_step=2250),
        dict(session, commit="2222222222bbbb", from_epoch=20, from_step=4500)])
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [resumed])), tmp_path)
    assert "| `1111111111`, `2222222222` |" in report
    assert "Trained in 2 recorded session(s): from step 2250 (epoch 10): `1111111111` on CPU: fixture CPU" in report
    assert "The sessions before step 2250 were run by a minicnn that did not record them." in report


def test_a_run_from_before_sessions_were_recorded_says_so_and_gives_its_one_commit(tmp_path):
    report = build_report(collect_runs(write_fixture_runs(tmp_path, [fabricated_run("shallow", 0.55, 0.54)])), tmp_path)
    assert "| `0123456789` |" in report and "Sessions were not recorded" in report


def test_the_readmes_results_table_is_the_one_the_committed_results_give():
    readme = (RESULTS.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split(README_BEGIN)[1].split(README_END)[0].strip()
    assert table == readme_table(collect_runs(RESULTS)), \
        "README.md's results table is stale: run `python -m experiments.report --readme README.md`"


def test_the_readme_table_gives_each_models_main_run_or_says_not_yet_run(tmp_path):
    runs = collect_runs(write_fixture_runs(tmp_path, [fabricated_run("shallow", 0.45, 0.44, reduced=True, epochs=2),
                                                      fabricated_run("shallow", 0.56, 0.55)]))
    rows = readme_table(runs).splitlines()[2:]
    assert len(rows) == 4 and "(`shallow-fixture1`) | full (the paper's) |" in rows[0]   # the full run, not the reduced
    assert "| 55.0% / 54.0% |" in rows[0]
    assert rows[1].startswith("| deep CNN | not yet run | — | 65.0% / 64.0% |")


def test_update_readme_rewrites_only_between_its_markers_and_refuses_a_readme_without_them(tmp_path):
    runs = collect_runs(write_fixture_runs(tmp_path / "results", [fabricated_run("shallow", 0.56, 0.55)]))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_BEGIN}\nold table\n{README_END}\noutro\n")
    update_readme(readme, runs)
    assert readme.read_text() == f"intro\n{README_BEGIN}\n{readme_table(runs)}\n{README_END}\noutro\n"
    readme.write_text("no markers\n")
    with pytest.raises(DataError, match="has no results table to update"):
        update_readme(readme, runs)
