"""Specification of minicnn.sweep: the search space, the per-trial files, and sweeps
run on a real Dask cluster of 2 worker processes on 127.0.0.1 (started by the tests).

Trial functions live at module level so the worker processes can import them.
Fake trials get the test's tmp folder as their ``data`` and leave one marker
line per attempt there, which is how the tests count attempts.
"""
import functools
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from minicnn.errors import ConfigError
from minicnn.sweep import parse_spec, run_sweep
from minicnn.sweep import report, runner, space
from minicnn.sweep.spec import make_trials

distributed = pytest.importorskip("distributed")


# --------------------------------------------------------------------------- trial functions

def _mark(data, seed):
    """Append one line for this attempt to the trial's marker file; return the attempt number."""
    marker = Path(data) / f"attempts-{seed}.txt"
    with open(marker, "a") as f:
        f.write(f"{os.getpid()}\n")
    return len(marker.read_text().splitlines())


def peaked_objective(config, seed, data):
    """Best at lr = 1e-2 and reg = 0: accuracy falls off with the decades away from them."""
    _mark(data, seed)
    lr, reg = config["train"]["lr"], config["train"]["reg"]
    return {"val_acc": 0.9 - 0.1 * abs(math.log10(lr) + 2) - 10 * reg, "val_loss": abs(math.log10(lr) + 2)}


def crashing_objective(config, seed, data):
    """Kills its worker process: on the first attempt ("first") or on every attempt ("always")."""
    attempt = _mark(data, seed)
    if config["crash"] == "always" or (config["crash"] == "first" and attempt == 1):
        os._exit(1)
    return {"val_acc": 0.5}


def raising_objective(config, seed, data):
    _mark(data, seed)
    raise RuntimeError("loss diverged to nan")


def env_objective(config, seed, data):
    return {"val_acc": np.float32(0.5), "omp": os.environ.get("OMP_NUM_THREADS"),
            "backend": os.environ.get("MINICNN_BACKEND")}


def attempts(data, seed=None):
    """Attempts of the trial with ``seed`` (default: of all trials) recorded in ``data``."""
    pattern = "attempts-*.txt" if seed is None else f"attempts-{seed}.txt"
    return sum(len(m.read_text().splitlines()) for m in Path(data).glob(pattern))


@pytest.fixture(scope="module")
def client():
    """A local Dask cluster of 2 single-thread worker processes, loopback only."""
    with runner.local_cluster(workers=2, backend="numpy") as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c


def quiet(*_):
    pass


LR_GRID = {"base": {"name": "lr-grid", "train": {"lr": 0.1, "reg": 0.0}},
           "space": {"train.lr": {"loguniform": [1e-4, 1.0], "num": 5}, "train.reg": [0.0, 1e-3]},
           "method": "grid"}


# --------------------------------------------------------------------------- the space

def test_grid_enumerates_the_product_with_the_last_field_fastest():
    dims = space.parse_space({"a": [1, 2, 3], "b": {"uniform": [0, 1], "num": 3}})
    points = space.points(dims, "grid")
    assert len(points) == 9
    assert points[:3] == [{"a": 1, "b": 0.0}, {"a": 1, "b": 0.5}, {"a": 1, "b": 1.0}]
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (1, 2, 3) for b in (0.0, 0.5, 1.0)}


def test_loguniform_grid_is_geometric():
    dims = space.parse_space({"lr": {"loguniform": [1e-4, 1e-1], "num": 4}})
    np.testing.assert_allclose([p["lr"] for p in space.points(dims, "grid")], [1e-4, 1e-3, 1e-2, 1e-1])


def test_random_search_is_seeded_and_stays_in_range():
    dims = space.parse_space({"lr": {"loguniform": [1e-5, 1e-1]}, "m": {"uniform": [0.8, 0.99]},
                              "opt": ["adam", "nesterov"]})
    a = space.points(dims, "random", trials=400, seed=3)
    assert a == space.points(dims, "random", trials=400, seed=3)
    assert a != space.points(dims, "random", trials=400, seed=4)
    lr = np.array([p["lr"] for p in a])
    assert lr.min() >= 1e-5 and lr.max() <= 1e-1
    # log-uniform: each of the 4 decades gets about a quarter of the draws
    decades = np.histogram(np.log10(lr), bins=[-5, -4, -3, -2, -1])[0]
    assert decades.min() > 60
    assert all(0.8 <= p["m"] <= 0.99 for p in a) and {p["opt"] for p in a} == {"adam", "nesterov"}


def test_random_trial_k_does_not_depend_on_the_trial_count():
    dims = space.parse_space({"lr": {"loguniform": [1e-5, 1e-1]}})
    assert space.points(dims, "random", trials=3, seed=0) == space.points(dims, "random", trials=8, seed=0)[:3]


def test_dotted_paths_address_dicts_and_list_items_without_touching_the_original():
    config = {"train": {"lr": 0.1}, "model": {"fc": [{"units": 512, "dropout": 0.5}]}}
    out = space.apply_point(config, {"train.lr": 0.01, "model.fc.0.dropout": 0.25})
    assert out["train"]["lr"] == 0.01 and out["model"]["fc"][0]["dropout"] == 0.25
    assert config["train"]["lr"] == 0.1 and config["model"]["fc"][0]["dropout"] == 0.5
    assert space.get_path(out, "model.fc.0.units") == 512


@pytest.mark.parametrize("path, words", [("train.lrr", "no field 'lrr' at train"),
                                         ("model.fc.3.dropout", "list index 0..0"),
                                         ("train.lr.x", "past a plain value")])
def test_a_bad_path_names_where_it_went_wrong(path, words):
    config = {"train": {"lr": 0.1}, "model": {"fc": [{"dropout": 0.5}]}}
    with pytest.raises(ConfigError, match=words):
        space.set_path(config, path, 1)


@pytest.mark.parametrize("spec, words", [({"loguniform": [0, 1]}, "0 < low"),
                                         ({"uniform": [1, 0]}, "low < high"),
                                         ({"choice": []}, "non-empty"),
                                         ({"normal": [0, 1]}, "exactly one of")])
def test_bad_dimensions_are_config_errors(spec, words):
    with pytest.raises(ConfigError, match=words):
        space.parse_space({"x": spec})


def test_a_grid_over_a_range_needs_a_point_count():
    with pytest.raises(ConfigError, match="num"):
        space.points(space.parse_space({"lr": {"loguniform": [1e-4, 1e-1]}}), "grid")


def test_trials_get_their_own_seeds_and_a_key_from_config_and_seed():
    trials = make_trials(parse_spec(LR_GRID), LR_GRID["base"])
    assert len(trials) == 10 and len({t.seed for t in trials}) == 10
    again = make_trials(parse_spec(LR_GRID), LR_GRID["base"])
    assert [t.key for t in trials] == [t.key for t in again]
    assert len({t.key for t in trials}) == 10


# --------------------------------------------------------------------------- sweeps on the cluster

def test_a_grid_sweep_finds_the_best_setting_and_writes_its_report(client, tmp_path):
    out = tmp_path / "sweep"
    summary = run_sweep(parse_spec(LR_GRID), peaked_objective, str(tmp_path), out, client=client, log=quiet)
    assert summary["counts"] == {"trials": 10, "ok": 10, "failed": 0, "pending": 0}
    assert summary["best"]["params"] == {"train.lr": pytest.approx(1e-2), "train.reg": 0.0}
    accs = [row["val_acc"] for row in summary["ranking"]]
    assert accs == sorted(accs, reverse=True)
    best = json.loads((out / "best_config.json").read_text())
    assert best["train"] == {"lr": pytest.approx(1e-2), "reg": 0.0}
    assert json.loads((out / "summary.json").read_text())["best"]["trial"] == summary["best"]["trial"]
    table = (out / "summary.md").read_text()
    assert "| 1 | trial-" in table and "`train.lr`" in table
    assert (out / "summary.png").stat().st_size > 0
    fig = report.plot(summary, parse_spec(LR_GRID).dims, tmp_path / "again.png")
    assert [(ax.get_xlabel(), ax.get_xscale()) for ax in fig.axes] == [("train.lr (log)", "log"),
                                                                     ("train.reg", "linear")]
    k = summary["best"]["trial"]
    assert json.loads((out / f"trial-{k}" / "config.json").read_text()) == best
    assert json.loads((out / f"trial-{k}" / "metrics.json").read_text())["val_acc"] == summary["best"]["val_acc"]


def test_rerunning_a_sweep_skips_finished_trials_and_extends_a_random_one(client, tmp_path):
    spec = dict(LR_GRID, method="random", trials=4, space={"train.lr": {"loguniform": [1e-4, 1.0]},
                                                           "train.reg": [0.0]})
    out = tmp_path / "sweep"
    first = run_sweep(parse_spec(spec), peaked_objective, str(tmp_path), out, client=client, log=quiet)
    assert first["this_run"] == {"skipped": 0, "ok": 4, "failed": 0}
    assert attempts(tmp_path) == 4
    again = run_sweep(parse_spec(spec), peaked_objective, str(tmp_path), out, client=client, log=quiet)
    assert again["this_run"] == {"skipped": 4, "ok": 0, "failed": 0}
    assert attempts(tmp_path) == 4
    assert again["ranking"] == first["ranking"]
    more = run_sweep(parse_spec(dict(spec, trials=6)), peaked_objective, str(tmp_path), out,
                     client=client, log=quiet)
    assert more["this_run"] == {"skipped": 4, "ok": 2, "failed": 0}
    assert attempts(tmp_path) == 6


def test_a_folder_holding_another_sweep_is_refused(client, tmp_path):
    out = tmp_path / "sweep"
    run_sweep(parse_spec(dict(LR_GRID, space={"train.lr": [0.1]})), peaked_objective, str(tmp_path), out,
              client=client, log=quiet)
    other = dict(LR_GRID, space={"train.lr": [0.1, 0.2]})
    with pytest.raises(ConfigError, match="different sweep"):
        run_sweep(parse_spec(other), peaked_objective, str(tmp_path), out, client=client, log=quiet)


def test_a_killed_worker_loses_only_its_trial_which_is_retried_once_then_reported_failed(client, tmp_path):
    # 3 trials on 2 workers: the two crashing ones kill workers, at times both at once,
    # and a trial queued behind a crashing one loses its worker without having started.
    spec = {"base": {"crash": "never"}, "space": {"crash": ["never", "first", "always"]}}
    summary = run_sweep(parse_spec(spec), crashing_objective, str(tmp_path), tmp_path / "sweep",
                        client=client, log=quiet)
    seeds = {r["params"]["crash"]: r["seed"] for r in summary["ranking"] + summary["failed"]}
    assert {c: attempts(tmp_path, seed) for c, seed in seeds.items()} == {"never": 1, "first": 2, "always": 2}
    assert summary["counts"] == {"trials": 3, "ok": 2, "failed": 1, "pending": 0}
    (failed,) = summary["failed"]
    assert failed["params"] == {"crash": "always"}
    assert "worker died on each of 2 attempts" in failed["error"]
    md = (tmp_path / "sweep" / "summary.md").read_text()
    assert "## Failed trials" in md and "worker died" in md


def test_a_raising_trial_is_reported_failed_with_its_error_without_a_retry(client, tmp_path):
    spec = {"base": {"name": "boom", "train": {"lr": 0.1}}, "space": {"train.lr": [0.1]}}
    summary = run_sweep(parse_spec(spec), raising_objective, str(tmp_path), tmp_path / "s", client=client,
                        log=quiet)
    assert summary["failed"][0]["error"] == "RuntimeError: loss diverged to nan"
    assert attempts(tmp_path) == 1
    assert summary["best"] is None and not (tmp_path / "s" / "best_config.json").exists()
    result = json.loads((tmp_path / "s" / "trial-0" / "result.json").read_text())
    assert result["status"] == "failed" and "raising_objective" in result["traceback"]


def test_local_workers_run_single_threaded_blas_on_the_chosen_backend(client, tmp_path):
    spec = {"base": {"name": "env", "train": {"lr": 0.1}}, "space": {"train.lr": [0.1]}}
    run_sweep(parse_spec(spec), env_objective, str(tmp_path), tmp_path / "s", client=client, log=quiet)
    metrics = json.loads((tmp_path / "s" / "trial-0" / "metrics.json").read_text())
    assert metrics["omp"] == "1" and metrics["backend"] == "numpy" and metrics["val_acc"] == 0.5


def _worker_env():
    return {k: os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "MINICNN_BACKEND", "OMP_NUM_THREADS")}


def test_on_cupy_the_local_cluster_has_one_worker_per_visible_gpu(monkeypatch):
    # No GPU is needed: the workers only report the environment they were given.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    with runner.local_cluster(backend="cupy") as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        envs = sorted(c.run(_worker_env).values(), key=lambda e: e["CUDA_VISIBLE_DEVICES"])
    assert envs == [{"CUDA_VISIBLE_DEVICES": "3", "MINICNN_BACKEND": "cupy", "OMP_NUM_THREADS": "1"},
                    {"CUDA_VISIBLE_DEVICES": "5", "MINICNN_BACKEND": "cupy", "OMP_NUM_THREADS": "1"}]


# --------------------------------------------------------------------------- the real training trial

TINY = Path(__file__).resolve().parents[1] / "docs" / "sweeps" / "tiny_synthetic.json"


def test_a_real_training_sweep_on_synthetic_faces_prefers_a_learning_rate_that_learns(client, tmp_path, capsys):
    from minicnn.commands import main
    from minicnn.sweep import load_spec
    from minicnn.sweep.trial import resolve_base, train_trial

    spec = load_spec(TINY)  # lr 1e-9 (nothing learned) against lr 3e-3, 3 epochs on 700 faces
    out = tmp_path / "tiny"
    summary = run_sweep(spec, functools.partial(train_trial, **spec.run), "synthetic", out,
                        base_config=resolve_base(spec.base), client=client, log=quiet)
    assert summary["counts"]["ok"] == 2
    assert summary["best"]["params"] == {"train.lr": 3e-3}
    assert summary["best"]["val_acc"] > summary["ranking"][1]["val_acc"] + 0.05
    metrics = json.loads((out / f"trial-{summary['best']['trial']}" / "metrics.json").read_text())
    assert metrics["val"]["accuracy"] == summary["best"]["val_acc"] and metrics["reduced"]
    best = json.loads((out / "best_config.json").read_text())
    assert best["train"]["lr"] == 3e-3 and best["seed"] == summary["best"]["seed"]
    # the command on the same sweep finds every trial finished: no cluster, no training
    assert main(["sweep", str(TINY), "--data", "synthetic", "--out", str(out)]) == 0
    assert "all 2 trials already finished" in capsys.readouterr().out
