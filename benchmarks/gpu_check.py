"""``python -m benchmarks.gpu_check``: everything one short GPU window can show, in one command.

    python -m benchmarks.gpu_check --data data/fer2013-images.tar.xz --out gpu-out/
    python -m benchmarks.gpu_check --dry-run --out /tmp/gpu-dry     # the same path on the CPU, in seconds

In order, each step with its own time cap, all inside ``--budget`` seconds
(540, nine minutes, by default):

1. environment: the GPU, driver, CUDA, CuPy and PyTorch versions, and whether
   cuBLAS, cuRAND and NVRTC work (``minicnn.backend.cupy_probe``);
2. tests: the device-relevant tests (``-m device``) on CuPy only
   (``--backends cupy``), the most basic files first;
3. benchmark: ``python -m benchmarks.run --backend cupy`` (minicnn against
   PyTorch CUDA with cuDNN, TF32 off on both sides unless ``--tf32``), and
   ``torch_step_check``, one PyTorch training step on its own;
4. experiment: the deep paper experiment at full protocol on ``--data`` until
   the remaining budget runs out: the Trainer stops between epochs when the
   next epoch would not fit (``BudgetStop``), evaluates its best epoch and
   writes its outputs, and the run is then marked REDUCED;
5. outputs: at most 8 files of at most 16 MiB in ``--out``: ``gpu-check.md``
   (the report), ``gpu-check.json``, ``outputs.tar.gz`` (logs, benchmark
   tables, the experiment's metrics and figures) and, when the experiment ran
   its full protocol, ``deep-fp16.npz`` (its best epoch's weights in float16,
   without optimizer state; ``Classifier.load`` reads it).

A step that fails or runs out of time is reported and the next one runs.
``--dry-run`` goes through every step on the CPU: the strict backend instead of
CuPy, one test file, the quick benchmark (PyTorch on the CPU where installed),
synthetic faces and a 1/16-width deep net whose time budget stops it after one
epoch, so the REDUCED path runs too. See docs/gpu.md.
"""
import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from minicnn import backend
from minicnn.errors import BackendError

from .report import _ms, _ratio

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 540
CAPS_S = {"environment": 60, "tests": 150, "benchmark": 120}
"""Caps of the steps before the experiment, which gets whatever time is left."""
RESERVE_S = 20
"""Kept for writing the outputs (step 5)."""
EVALUATION_S = 45
"""Kept inside the experiment's share for its final evaluation, figures and the process start."""
MIN_EXPERIMENT_S = 60
MAX_FILES, MAX_FILE_BYTES = 8, 16 * 2 ** 20
TEST_ORDER = ["test_layers_affine.py", "test_layers_activation.py", "test_layers_conv.py", "test_layers_pool.py",
              "test_layers_norm.py", "test_layers_dropout.py", "test_layers_loss.py", "test_layers_concat.py",
              "test_gradcheck.py", "test_nn.py", "test_optim.py", "test_models.py", "test_train.py",
              "test_checkpoint.py", "test_device_inputs.py", "test_predict.py", "test_data_augment.py"]
"""The device tests in the order they run on a GPU: the engine first, then what builds on it."""


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="FER-2013 (e.g. data/fer2013-images.tar.xz); not needed with --dry-run")
    p.add_argument("--out", required=True, help="folder for the (at most 8) result files")
    p.add_argument("--budget", type=float, default=None,
                   help=f"wall-time budget in seconds for all steps (default {BUDGET_S}; dry run 300)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 matmuls in the benchmark, for both sides")
    p.add_argument("--dry-run", action="store_true",
                   help="every step on the CPU in seconds: strict backend, synthetic data, tiny shapes")
    p.add_argument("--work", default=None, help="scratch folder for checkpoints and logs (default: a temp folder)")
    p.add_argument("--step", choices=["experiment"], help=argparse.SUPPRESS)   # a step's own process
    p.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.dry_run and args.data is None and args.step is None:
        p.error("--data is required (the FER-2013 file), unless --dry-run")
    args.budget = args.budget or (300.0 if args.dry_run else float(BUDGET_S))
    args.data = None if args.data is None else str(Path(args.data).resolve())   # the steps run from the repo root
    args.work = None if args.work is None else str(Path(args.work).resolve())
    args.backend = "strict" if args.dry_run else "cupy"
    return args


# ------------------------------------------------------------------ the steps

def environment(args):
    """Versions and what loads: the machine, NumPy, CuPy's probe (GPU, CUDA, cuBLAS, cuRAND, NVRTC), PyTorch."""
    env = {"python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform(),
           "cpu_count": os.cpu_count(), "backend": args.backend, "cupy": backend.cupy_probe(),
           "cupy_available": backend.cupy_available(), "torch": torch_versions()}
    env["summary"] = f"{backend.device_name()}; CuPy: " + ", ".join(f"{k} {v}" for k, v in env["cupy"].items())
    if not args.dry_run and not env["cupy_available"]:
        raise StepFailed(f"CuPy cannot run here: {env['summary']}", env)
    return env


def torch_versions():
    """PyTorch's version, CUDA and cuDNN as it sees them, or a note when it is not installed."""
    if importlib.util.find_spec("torch") is None:
        return {"installed": False}
    import torch
    cuda = torch.cuda.is_available()
    return {"installed": True, "version": torch.__version__, "cuda": torch.version.cuda, "cuda_available": cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "gpu": torch.cuda.get_device_name(0) if cuda else None}


def run_tests(args, timeout, log):
    """The device tests on the check's backend only, in ``TEST_ORDER`` first; returns pytest's summary line."""
    tests = ROOT / "tests"
    files = ["tests/test_layers_affine.py"] if args.dry_run else \
        [f"tests/{name}" for name in TEST_ORDER if (tests / name).exists()] + ["tests"]
    command = [sys.executable, "-m", "pytest", "-q", "-m", "device", "--backends", args.backend,
               "-p", "no:cacheprovider", "-rfE", "--durations=15", *files]
    code, seconds = _run(command, timeout, log, {"MINICNN_BACKEND": args.backend})
    summary = _last_line(log, ("passed", "failed", "error", "no tests ran"))
    if code is None:
        raise StepTimedOut(f"stopped at its cap after {seconds:.0f} s; the log shows how far it got",
                           {"summary": summary})
    if code != 0:
        raise StepFailed(summary or f"pytest exit status {code}", {"summary": summary})
    return {"summary": summary}


def run_benchmark(args, timeout, log, work):
    """``benchmarks.run`` on the check's backend against PyTorch, then ``torch_step_check``; returns the steps."""
    out = work / "benchmark"
    command = [sys.executable, "-m", "benchmarks.run", "--backend", args.backend, "--out", str(out),
               "--no-keep-memory"]
    command += ["--quick", "--repeat", "1", "--skip", "layers", "memory", "augment"] if args.dry_run else \
        ["--repeat", "3"]
    command += ["--tf32"] if args.tf32 else []
    has_torch = importlib.util.find_spec("torch") is not None
    command += [] if has_torch and not args.dry_run else ["--no-torch"]   # dry run: torch_step_check only
    code, seconds = _run(command, timeout, log, {"MINICNN_BACKEND": args.backend})
    if code is None:
        raise StepTimedOut(f"stopped at its cap after {seconds:.0f} s", {})
    if code != 0:
        raise StepFailed(f"benchmarks.run exit status {code}", {})
    result = json.loads(max(out.glob("*.json"), key=os.path.getmtime).read_text())
    steps = [{k: r[k] for k in ("name", "minicnn_ms", "torch_ms", "ratio", "minicnn_gflops")} for r in result["steps"]]
    report = {"steps": steps, "sgemm_gflops": result["sgemm"]["gflops"], "memory": result.get("memory"),
              "table": max(out.glob("*.md"), key=os.path.getmtime).name,
              "summary": "; ".join(f"{r['name']} {_ms(r['minicnn_ms'])} ms (torch {_ms(r['torch_ms'])})"
                                   for r in steps)}
    if has_torch:
        report["torch_step"] = torch_step_check("cpu" if args.dry_run else "cuda", quick=args.dry_run,
                                                tf32=args.tf32)
    return report


def torch_step_check(device, quick=False, tf32=False, repeat=5):
    """One PyTorch training step of the shallow net on ``device`` ("cuda" on a GPU, "cpu" in CI).

    Uses the benchmark's PyTorch twin (cuDNN with autotuning on CUDA; TF32
    off unless ``tf32``). Returns versions, the TF32 flags as set and the
    median step time in milliseconds.
    """
    import torch

    from . import cases, torch_ref
    torch_ref.configure(torch.get_num_threads(), device, tf32)
    config = cases.step_configs(quick)["shallow"]
    n = 4 if quick else cases.BATCH
    step = torch_ref.torch_step(config, device, n)
    sync = torch_ref.sync_for(device) or (lambda: None)
    times = []
    for _ in range(repeat + 1):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return {"device": device, "torch": torch.__version__, "batch": n,
            "cudnn": torch.backends.cudnn.version() if device == "cuda" else None,
            "tf32": bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32),
            "step_ms": 1e3 * float(np.median(times[1:]))}


def run_experiment(args, timeout, log, work, deadline):
    """Step 4 in its own process (so its cap is hard), reading back the result it writes."""
    result_path = work / "experiment.json"
    command = [sys.executable, "-m", "benchmarks.gpu_check", "--step", "experiment", "--out", str(work),
               "--work", str(work), "--deadline", str(deadline)] + (["--dry-run"] if args.dry_run else []) \
        + ([] if args.data is None else ["--data", args.data])
    code, seconds = _run(command, timeout, log, {"MINICNN_BACKEND": args.backend})
    if code is None:
        raise StepTimedOut(f"stopped at its hard cap after {seconds:.0f} s: no result", {})
    if code != 0 or not result_path.exists():
        raise StepFailed(f"exit status {code}; see the experiment log", {})
    return json.loads(result_path.read_text())


class BudgetStop:
    """A Trainer callback that ends training cleanly when the next epoch would end after ``deadline``.

    ``deadline`` is a ``time.time()`` value. After each epoch it takes that
    epoch's duration (the time since the previous call; for the first epoch,
    its training time) with a ``margin`` and, when another epoch would not
    fit, asks the trainer to stop (``request_stop``): the run pipeline then
    evaluates and writes the best epoch like any finished run, marked REDUCED
    ("stopped by the GPU check's time budget after E epochs").
    """

    reason = "the GPU check's time budget"

    def __init__(self, deadline, margin=1.2):
        self.deadline, self.margin = deadline, margin
        self.last = None
        self.stopped = False

    def __call__(self, trainer, record):
        now = time.time()
        epoch_s = record["epoch_time"] if self.last is None else now - self.last
        self.last = now
        if trainer.epoch < trainer.config["epochs"] and now + self.margin * epoch_s > self.deadline:
            trainer.request_stop(self.reason)
            self.stopped = True


def paper_experiment(data, out, checkpoints, deadline, dry_run=False):
    """The deep paper experiment through the run pipeline, stopped by ``BudgetStop`` at ``deadline``.

    ``BudgetStop`` joins the pipeline's trainer as a callback; a run it stops
    before its planned epochs is marked REDUCED in its metrics.json,
    per_class.md and figure titles. Dry run: a 1/16-width deep net on the
    quick synthetic split, planned for 3 epochs with a deadline already
    passed, so it stops after one.
    """
    from minicnn.pipeline.config import load_config, plan_run
    from minicnn.pipeline.outputs import pct
    from minicnn.pipeline.run import run

    config, epochs = load_config("deep"), None
    if dry_run:
        config, epochs = _tiny_deep_config(), 3
    plan = plan_run(config, epochs=epochs, quick=dry_run)
    name = f"{plan['name']}-gpu-check"
    result = run(plan, "synthetic" if dry_run else data, out_dir=Path(out) / name,
                 checkpoint_dir=Path(checkpoints) / name, run_id="gpu-check", callbacks=[BudgetStop(deadline)],
                 log=lambda line: print(line, flush=True))
    metrics, planned = result.metrics, plan["train"]["epochs"]
    state = "REDUCED" if metrics["reduced"] else "full protocol"
    return {"summary": f"{metrics['model']} {state}, {metrics['epochs_run']} of {planned} epochs: validation "
                       f"{pct(metrics['val']['accuracy'])}, test {pct(metrics['test']['accuracy'])}",
            "folder": str(result.folder), "model": metrics["model"], "reduced": metrics["reduced"],
            "reductions": metrics["reductions"], "epochs_run": metrics["epochs_run"], "planned_epochs": planned,
            "best_epoch": metrics["best_epoch"], "val_accuracy": metrics["val"]["accuracy"],
            "test_accuracy": metrics["test"]["accuracy"], "timing": metrics["timing"],
            "checkpoint": str(Path(checkpoints) / name / "best.npz")}


def _tiny_deep_config():
    """The deep run config at 1/16 of its filters and units."""
    from minicnn.pipeline.config import load_config
    config = load_config("deep")
    for block in config["model"]["conv"]:
        block["filters"] = max(2, block["filters"] // 16)
    for block in config["model"]["fc"]:
        block["units"] = max(2, block["units"] // 16)
    return config


def fp16_weights(checkpoint, path):
    """The model of ``checkpoint`` in float16 with its preprocessing and no optimizer state; returns ``path``."""
    from minicnn.training.checkpoint import load_checkpoint, save_checkpoint
    model, extras = load_checkpoint(checkpoint, xp=np)
    model.to(np, dtype=np.float16)
    save_checkpoint(path, model, preprocess=extras["preprocess"], preprocess_info=extras["preprocess_info"])
    return Path(path)


# ------------------------------------------------------------------ running steps

class StepFailed(Exception):
    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class StepTimedOut(StepFailed):
    pass


def _run(command, timeout, log, env):
    """Run ``command`` from the repository root with its output appended to ``log``, ``env`` added.

    Returns (exit status, or None when ``timeout`` seconds ran out; seconds taken).
    """
    start = time.time()
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(command)}\n")
        f.flush()
        process = subprocess.Popen(command, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT), **env})
        try:
            code = process.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
    return code, time.time() - start


def _last_line(log, words):
    lines = [line for line in Path(log).read_text(encoding="utf-8").splitlines() if any(w in line for w in words)]
    return lines[-1].strip("= ") if lines else None


class Check:
    """The steps' results, their timings against the budget, and the files they leave."""

    def __init__(self, args):
        self.args, self.start = args, time.time()
        self.deadline = self.start + args.budget
        self.steps = []
        self.work = Path(args.work or tempfile.mkdtemp(prefix="gpu-check-"))
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def left(self):
        return self.deadline - time.time()

    def step(self, name, cap, run):
        """Run ``run(timeout)`` within ``cap`` seconds (and the budget); record its status and result."""
        cap = min(cap, self.left() - RESERVE_S)
        record = {"step": name, "cap_s": round(cap, 1)}
        print(f"[gpu-check] {name} (cap {cap:.0f} s)", flush=True)
        start = time.time()
        if cap <= 0:
            record.update(status="skipped", summary="no time left in the budget", result={})
        else:
            try:
                result = run(cap)
                record.update(status="ok", summary=result.get("summary"), result=result)
            except StepTimedOut as exc:
                record.update(status="timed out", summary=str(exc), result=exc.result)
            except StepFailed as exc:
                record.update(status="failed", summary=str(exc), result=exc.result)
            except Exception as exc:  # a bug in a step must not cost the other steps
                record.update(status="failed", summary=f"{type(exc).__name__}: {exc}", result={})
                with open(self.logs / f"{name}.log", "a", encoding="utf-8") as log:
                    log.write(traceback.format_exc())
        record["seconds"] = round(time.time() - start, 1)
        self.steps.append(record)
        print(f"[gpu-check] {name}: {record['status']} in {record['seconds']} s "
              f"{record.get('summary') or ''}".rstrip(), flush=True)
        return record


def check(args):
    """Steps 1-5; returns the report dict (also written to ``--out``). The process's backend is left as it was."""
    previous = backend.backend_name()
    try:
        with contextlib.suppress(BackendError):      # a broken CuPy is the environment step's finding
            backend.set_backend(args.backend)
        return _check(args)
    finally:
        backend.set_backend(previous)


def _check(args):
    run = Check(args)
    caps = {k: v / 2 for k, v in CAPS_S.items()} if args.dry_run else CAPS_S
    run.step("environment", caps["environment"], lambda timeout: environment(args))
    run.step("tests", caps["tests"], lambda timeout: run_tests(args, timeout, run.logs / "tests.log"))
    run.step("benchmark", caps["benchmark"],
             lambda timeout: run_benchmark(args, timeout, run.logs / "benchmark.log", run.work))
    share = run.left() - RESERVE_S
    if share < MIN_EXPERIMENT_S and not args.dry_run:
        share = 0
    # dry run: a deadline that has passed when the first epoch ends, however fast the machine
    training_deadline = time.time() + (0 if args.dry_run else share - EVALUATION_S)
    run.step("experiment", share,
             lambda timeout: run_experiment(args, timeout, run.logs / "experiment.log", run.work, training_deadline))
    return write_outputs(run)


def write_outputs(run):
    """Step 5: the report, the small outputs in one tar.gz, the fp16 weights of a complete run."""
    args, out = run.args, Path(run.args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "python -m benchmarks.gpu_check " + " ".join(sys.argv[1:]),
              "commit": _commit(), "dry_run": args.dry_run, "budget_s": args.budget, "tf32": args.tf32,
              "steps": run.steps, "wall_s": round(time.time() - run.start, 1), "files": []}
    experiment = next(s for s in run.steps if s["step"] == "experiment")
    result = experiment.get("result") or {}
    with tarfile.open(out / "outputs.tar.gz", "w:gz") as tar:
        tar.add(run.logs, "logs")
        if (run.work / "benchmark").exists():
            tar.add(run.work / "benchmark", "benchmark")
        if result.get("folder"):
            tar.add(result["folder"], f"results/{Path(result['folder']).name}")
    if experiment["status"] == "ok" and not result.get("reduced") and Path(result["checkpoint"]).exists():
        fp16_weights(result["checkpoint"], out / "deep-fp16.npz")
    report["files"] = sorted(p.name for p in out.iterdir()) + ["gpu-check.json", "gpu-check.md"]
    (out / "gpu-check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu-check.md").write_text(markdown(report))
    files = sorted(out.iterdir())
    too_big = [p.name for p in files if p.stat().st_size > MAX_FILE_BYTES]
    if len(files) > MAX_FILES or too_big:
        raise SystemExit(f"gpu_check: {out} holds {len(files)} files (at most {MAX_FILES}) "
                         f"or files over 16 MiB ({', '.join(too_big) or 'none'})")
    print(f"[gpu-check] wrote {', '.join(p.name for p in files)} to {out} in {report['wall_s']} s", flush=True)
    if not args.work:
        shutil.rmtree(run.work, ignore_errors=True)
    return report


def _commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git here)"


def markdown(report):
    """The report as Markdown: the steps against their caps, then what each one found."""
    lines = [f"# GPU check{' (dry run on the CPU)' if report['dry_run'] else ''}: {report['date']}", "",
             f"- command: `{report['command']}`", f"- commit: `{report['commit']}`",
             f"- wall time {report['wall_s']:.0f} s of a {report['budget_s']:.0f} s budget; "
             f"TF32 {'on (--tf32)' if report['tf32'] else 'off'}", "",
             "| step | status | seconds | cap s | summary |", "|---|---|---|---|---|"]
    for s in report["steps"]:
        lines.append(f"| {s['step']} | {s['status']} | {s['seconds']} | {s['cap_s']} | {s.get('summary') or ''} |")
    by_name = {s["step"]: s.get("result") or {} for s in report["steps"]}
    env = by_name.get("environment", {})
    if env:
        lines += ["", "## Environment", ""]
        lines += [f"- {k}: {v}" for k, v in env.items() if k not in ("cupy", "summary")]
        lines += ["- CuPy probe: " + "; ".join(f"{k} {v}" for k, v in env.get("cupy", {}).items())]
    if by_name.get("tests"):
        lines += ["", "## Tests", "", f"- {by_name['tests'].get('summary')}", "- full log: outputs.tar.gz logs/tests.log"]
    bench = by_name.get("benchmark", {})
    if bench.get("steps"):
        lines += ["", "## Training-step benchmark", "", "| step | minicnn ms | torch ms | minicnn/torch |",
                  "|---|---|---|---|"]
        for r in bench["steps"]:
            lines.append(f"| {r['name']} | {_ms(r['minicnn_ms'])} | {_ms(r['torch_ms'])} | {_ratio(r['ratio'])} |")
        lines += ["", f"- sgemm {bench['sgemm_gflops']:.0f} GFLOP/s; the full table: outputs.tar.gz "
                      f"benchmark/{bench['table']}"]
        if bench.get("torch_step"):
            lines.append(f"- PyTorch alone: {bench['torch_step']}")
    exp = by_name.get("experiment", {})
    if exp.get("model"):
        state = "REDUCED: " + "; ".join(exp["reductions"]) if exp["reduced"] else "the paper's full protocol"
        lines += ["", f"## Experiment: {exp['model']}", "", f"- {state}",
                  f"- {exp['epochs_run']} of {exp['planned_epochs']} epochs, best epoch {exp['best_epoch']}: "
                  f"validation {100 * exp['val_accuracy']:.1f}%, test {100 * exp['test_accuracy']:.1f}%",
                  f"- {exp['timing']['images_per_s']:.0f} training images/s; metrics and figures: outputs.tar.gz "
                  f"results/"]
    lines += ["", "Files: " + ", ".join(report["files"]), ""]
    return "\n".join(lines)


def experiment_process(args):
    """``--step experiment``: run ``paper_experiment`` and write its result as JSON into ``--work``."""
    work = Path(args.work)
    backend.set_backend(args.backend)
    result = paper_experiment(args.data, str(work / "results"), str(work / "checkpoints"), args.deadline,
                              dry_run=args.dry_run)
    (work / "experiment.json").write_text(json.dumps(result, indent=1, default=str))


def main(argv=None):
    args = parse_args(argv)
    if args.step == "experiment":
        experiment_process(args)
        return 0
    report = check(args)
    return 0 if all(s["status"] == "ok" for s in report["steps"]) else 1


if __name__ == "__main__":
    sys.exit(main())
