"""``python -m benchmarks.run``: minicnn against PyTorch, layer by layer and step by step.

    python -m benchmarks.run                      # the current backend ($MINICNN_BACKEND, else NumPy), batch 128
    python -m benchmarks.run --backend cupy       # GPU, CuPy, PyTorch CUDA oracle
    python -m benchmarks.run --quick --no-torch   # tiny shapes, seconds (the smoke test)

Prints a Markdown table and writes it, with a JSON of every timing, under
benchmarks/results/ (``--out``). See docs/speed.md for how to read it.
"""
import argparse
import os
import sys

import numpy as np

from minicnn import backend

from . import cases, machine, memory, report
from .timing import interleave, median_ms, sgemm_gflops


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny shapes and 2 repeats: checks the harness, measures nothing")
    p.add_argument("--backend", choices=backend.NAMES, default=None,
                   help="array backend (default: the current one, $MINICNN_BACKEND or numpy)")
    p.add_argument("--torch", action=argparse.BooleanOptionalAction, default=True,
                   help="measure PyTorch on the same shapes in the same run (default: on)")
    p.add_argument("--repeat", type=int, default=None, help="timed repeats per case (default 5, quick 2)")
    p.add_argument("--only", default=None, help="measure only cases whose name contains this text")
    p.add_argument("--skip", nargs="*", default=(), choices=("layers", "steps", "memory", "augment", "errors"),
                   help="leave out whole sections")
    p.add_argument("--tf32", action="store_true",
                   help="GPU only: allow TF32 matmuls (sets CUPY_TF32=1 and torch's allow_tf32); off by default")
    p.add_argument("--keep-memory", action=argparse.BooleanOptionalAction, default=True,
                   help="minicnn.training.hostmem.keep_freed_memory() before measuring (default: on; "
                        "applies to PyTorch in the same process too)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for both sides: minicnn's host threads and BLAS, and torch.set_num_threads "
                        "(default: the BLAS's own count; 1 measures per-core efficiency, less disturbed by a busy machine)")
    p.add_argument("--conv-memory-mib", type=int, default=None,
                   help="scratch memory budget of one convolution call in MiB (default: minicnn's, "
                        "from the free memory; see minicnn.layers.budget)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
                   help="folder for the JSON and Markdown results (default benchmarks/results)")
    p.add_argument("--no-save", action="store_true", help="print only, write no files")
    args = p.parse_args(argv)
    args.repeat = args.repeat or (2 if args.quick else 5)
    args.backend = args.backend or backend.backend_name()
    if args.tf32 and args.backend != "cupy":
        p.error("--tf32 applies to the GPU only (--backend cupy)")
    return args


class Oracle:
    """PyTorch on the matching device, or a stand-in that measures nothing (``--no-torch``)."""

    def __init__(self, enabled, backend, threads, tf32):
        self.ref = None
        self.device = "cuda" if backend == "cupy" else "cpu"
        if enabled:
            from . import torch_ref
            torch_ref.configure(threads, self.device, tf32)
            self.ref = torch_ref

    @property
    def version(self):
        return None if self.ref is None else self.ref.torch.__version__

    def sync(self):
        if self.ref is not None and self.device == "cuda":
            self.ref.torch.cuda.synchronize()


def _row(name, n, times, flops=0):
    mine = median_ms(times["minicnn"])
    theirs = median_ms(times.get("torch", []))
    return {"name": name, "n": n, "flops": flops,
            "minicnn_ms": mine, "minicnn_img_s": 1e3 * n / mine, "minicnn_times_s": times["minicnn"],
            "torch_ms": theirs, "torch_img_s": None if theirs is None else 1e3 * n / theirs,
            "torch_times_s": times.get("torch"), "ratio": None if theirs is None else mine / theirs}


def _selected(name, args):
    return args.only is None or args.only in name


def run_layers(args, xp, oracle, sync):
    rows = []
    for case in cases.layer_cases(args.quick):
        if not _selected(case.name, args):
            continue
        fns = {"minicnn": cases.minicnn_layer(case, xp)}
        if oracle.ref is not None:
            fns["torch"] = oracle.ref.torch_layer(case, oracle.device)
        rows.append(_row(case.name, case.n, interleave(fns, args.repeat, sync=sync), 2 * 3 * case.macs))
        rows[-1]["method"] = cases.conv_method(case, xp)
        print(f"  {case.name}: {report._ms(rows[-1]['minicnn_ms'])} ms, torch {report._ms(rows[-1]['torch_ms'])} ms",
              flush=True)
    return rows


def run_steps(args, xp, oracle, sync, gflops, n):
    rows = []
    for name, config in cases.step_configs(args.quick).items():
        label = f"{name} model step"
        if not _selected(label, args):
            continue
        step, model = cases.minicnn_step(config, xp, n)
        fns = {"minicnn": step}
        if oracle.ref is not None:
            fns["torch"] = oracle.ref.torch_step(config, oracle.device, n)
        row = _row(label, n, interleave(fns, args.repeat, sync=sync), cases.step_flops(model, n))
        row["gflop"] = row["flops"] / 1e9
        row["minicnn_gflops"] = row["gflop"] / (row["minicnn_ms"] / 1e3)
        row["sgemm_share"] = row["minicnn_gflops"] / gflops
        rows.append(row)
        print(f"  {label}: {report._ms(row['minicnn_ms'])} ms, torch {report._ms(row['torch_ms'])} ms", flush=True)
    return rows


def run_errors(args, xp):
    """Float32 error of every conv case minicnn runs by Winograd, next to im2col's."""
    out = []
    for case in cases.layer_cases(args.quick):
        if cases.conv_method(case, xp) == "winograd" and _selected(case.name, args):
            out.append({"name": case.name, "n": min(4, case.n), **cases.conv_errors(case, xp)})
    return out


def run_memory(args, xp, oracle, n):
    """Peak memory and cache sizes of one deep-model training step."""
    config = cases.step_configs(args.quick)["deep"]
    step, model = cases.minicnn_step(config, xp, n)
    step()                                                  # optimizer state exists from here on
    x, y = (xp.asarray(a) for a in cases.step_batch(config, n))
    all_caches, conv_caches = memory.cache_bytes(model, x, y)
    params = sum(int(p.nbytes) for p in model.params.values())
    out = {"parameters (before the step)": params,
           "Adam state m, v (before the step)": 2 * params,
           "layer caches at the end of forward": all_caches,
           "of which conv caches (inputs kept for backward)": conv_caches}
    if backend.device_memory(xp) is None:
        out["peak allocated during the step (tracemalloc)"] = memory.numpy_peak(step)
    else:
        pool_total, pool_used = memory.device_peak(step, xp)
        out["CuPy pool peak (bytes held after the step)"] = pool_total
        out["CuPy pool in use after the step"] = pool_used
        if oracle.ref is not None:
            out["torch CUDA peak allocated (step)"] = oracle.ref.peak_cuda_bytes(
                oracle.ref.torch_step(config, oracle.device, n))
    return out


def run_augment(args, xp, sync, n):
    """Augmenting a batch against a shallow training step, timed interleaved."""
    try:
        from minicnn.data.augment import Augmenter
    except ImportError:
        return None
    from minicnn.backend import default_rng
    config = cases.step_configs(args.quick)["shallow"]
    step, _ = cases.minicnn_step(config, xp, n)
    batch = xp.asarray(cases.step_batch(config, n)[0])
    augment, rng = Augmenter(), default_rng(0, xp)
    times = interleave({"augment": lambda: augment(batch, rng), "step": step}, args.repeat, sync=sync)
    a, s = median_ms(times["augment"]), median_ms(times["step"])
    return {"augment_ms": a, "shallow_step_ms": s, "ratio": a / s, "augmenter": repr(augment)}


def main(argv=None):
    args = parse_args(argv)
    if args.tf32:
        os.environ["CUPY_TF32"] = "1"                      # read by CuPy when it is imported
    from minicnn.training import hostmem
    kept = hostmem.keep_freed_memory() if args.keep_memory else False
    xp = backend.set_backend(args.backend)
    from minicnn import layers
    if args.conv_memory_mib is not None:
        layers.set_conv_memory_budget(args.conv_memory_mib * 2 ** 20)
    sync = None
    gpu = None
    if xp is not np:
        gpu = backend.device_name(xp)
        sync = lambda: backend.synchronize(xp)  # noqa: E731
    threads = machine.blas_threads()
    if args.threads is not None and xp is np:
        from minicnn.layers import _parallel
        layers.set_host_threads(args.threads)
        if not _parallel.set_blas_threads(args.threads):
            print("# --threads: this BLAS cannot be told its thread count; set OPENBLAS_NUM_THREADS", flush=True)
        threads = args.threads
    oracle = Oracle(args.torch, args.backend, threads, args.tf32)
    if oracle.ref is not None and sync is not None:
        cupy_sync = sync
        sync = lambda: (cupy_sync(), oracle.sync())  # noqa: E731
    n = 4 if args.quick else cases.BATCH
    res = {"machine": machine.describe(args.backend, oracle.version, gpu), "batch": n,
           "repeat": args.repeat, "quick": args.quick, "threads": threads, "keep_freed_memory": kept,
           "conv_memory_budget": layers.conv_memory_budget(xp), "host_threads": layers.host_threads(xp),
           "notes": [f"glibc malloc keeps freed memory (minicnn.training.hostmem.keep_freed_memory): {kept}",
                     f"convolution scratch budget {layers.conv_memory_budget(xp) / 2 ** 20:.0f} MiB per call; "
                     f"host work on {layers.host_threads(xp)} threads (minicnn.layers)"]}
    print(f"# {res['machine']['cpu']}, {threads} BLAS threads, load {os.getloadavg()[0]:.2f}", flush=True)
    sgemm_n = 256 if args.quick else 2048
    res["sgemm"] = {"n": sgemm_n, "gflops": sgemm_gflops(xp, sgemm_n, sync=sync)}
    res["layers"] = [] if "layers" in args.skip else run_layers(args, xp, oracle, sync)
    res["steps"] = [] if "steps" in args.skip else run_steps(args, xp, oracle, sync, res["sgemm"]["gflops"], n)
    if "errors" not in args.skip:
        res["winograd_error"] = run_errors(args, xp)
    if "memory" not in args.skip and args.only is None:
        res["memory"] = run_memory(args, xp, oracle, n)
    if "augment" not in args.skip and args.only is None:
        res["augment"] = run_augment(args, xp, sync, n)
    res["sgemm"]["gflops_end"] = sgemm_gflops(xp, sgemm_n, sync=sync)
    res["loadavg_end"] = list(os.getloadavg())
    if args.backend == "cupy":
        res["notes"].append(f"TF32 matmul {'ON (--tf32)' if args.tf32 else 'off'} for both minicnn and torch")
    text = report.markdown(res)
    print(text)
    if not args.no_save:
        label = {"numpy": "cpu", "cupy": "gpu"}.get(args.backend, args.backend) + ("-quick" if args.quick else "")
        path = report.write(res, args.out, label, latest=not args.quick and args.only is None)
        print(f"written: {path}")
    return res


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
