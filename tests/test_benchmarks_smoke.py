"""The benchmark harness runs end to end on tiny shapes (no PyTorch), so it cannot rot.

It measures nothing meaningful: speed is never asserted in tests. It runs on
the current backend (``MINICNN_BACKEND``) and leaves the process on it.
"""
import json

from benchmarks import run
from minicnn import backend


def test_quick_benchmark_writes_a_table_and_json_with_every_section(tmp_path):
    current = backend.get_backend()
    label = {"numpy": "cpu", "cupy": "gpu"}.get(backend.backend_name(), backend.backend_name())
    # --no-keep-memory: the malloc setting would outlive the test in pytest's process
    res = run.main(["--quick", "--no-torch", "--no-keep-memory", "--repeat", "1", "--out", str(tmp_path)])
    assert backend.get_backend() is current and res["machine"]["backend"] == backend.backend_name()
    names = [r["name"] for r in res["layers"]]
    assert any(n.startswith("conv5x5") for n in names) and any(n.startswith("maxpool") for n in names)
    assert [r["name"] for r in res["steps"]] == ["shallow model step", "deep model step"]
    for row in res["layers"] + res["steps"]:
        assert row["minicnn_ms"] > 0 and row["torch_ms"] is None
    assert all(r["flops"] > 0 for r in res["steps"])
    assert res["memory"]["of which conv caches (inputs kept for backward)"] > 0
    assert res["conv_memory_budget"] > 0 and res["host_threads"] >= 1
    assert all(r["method"] in ("im2col", "winograd") for r in res["layers"] if r["name"].startswith("conv"))
    assert 0 < res["augment"]["ratio"]
    saved = json.loads(next(tmp_path.glob(f"{label}-quick-*.json")).read_text())
    assert saved["machine"]["commit"] and saved["sgemm"]["gflops"] > 0
    table = next(tmp_path.glob(f"{label}-quick-*.md")).read_text()
    assert "| deep model step |" in table and "share of sgemm" in table
    assert not (tmp_path / "LATEST.md").exists()       # quick runs never replace the latest results


def test_every_timed_call_follows_an_untimed_call_of_its_own_with_the_collector_off(monkeypatch):
    import gc

    from benchmarks import timing
    monkeypatch.setattr(timing, "SETTLE_S", 0.0)           # one untimed call before each timed one
    calls = []
    fns = {name: (lambda name=name: calls.append((name, gc.isenabled()))) for name in ("ours", "theirs")}
    times = timing.interleave(fns, repeat=3, warmup=0)
    assert {name: len(seconds) for name, seconds in times.items()} == {"ours": 3, "theirs": 3}
    names = [name for name, _ in calls]
    assert names == ["ours", "ours", "theirs", "theirs", "theirs", "theirs", "ours", "ours", "ours", "ours",
                     "theirs", "theirs"]
    assert not any(enabled for _, enabled in calls) and gc.isenabled()
