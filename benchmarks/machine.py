"""Where and how a benchmark ran: CPU, cores, load, BLAS kernel, versions, git commit, command."""
import os
import platform
import sys
from datetime import datetime, timezone

import numpy as np

from minicnn.pipeline.provenance import cpu_name, git_info


def cpu_kind():
    """"intel", "amd" or another vendor's name in lower case (from the CPU vendor id), for file names."""
    vendors = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    vendor = line.split(":", 1)[1].strip()
                    return vendors.get(vendor, vendor.lower())
    except OSError:
        pass
    return (platform.machine() or "unknown").lower()


def blas_info():
    """The BLAS numpy calls: threadpoolctl's view (library, kernel architecture, threads) if installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if blas:
            return [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                                           "threading_layer", "filepath")} for i in blas]
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        return [{"internal_api": blas.get("name"), "version": blas.get("version"),
                 "architecture": "unknown (install threadpoolctl to see the kernel)"}]
    except Exception:  # old numpy without mode="dicts"
        return [{"internal_api": "unknown"}]


def blas_threads():
    """Threads the BLAS uses (threadpoolctl), else the CPU count."""
    threads = [b.get("num_threads") for b in blas_info() if b.get("num_threads")]
    return int(threads[0]) if threads else (os.cpu_count() or 1)


def git_commit():
    """HEAD of the repository holding minicnn, with '+dirty' if tracked files changed."""
    git = git_info()
    return git["commit"] + ("+dirty" if git["dirty"] else "")


def describe(backend, torch_version=None, gpu=None):
    """A JSON-able dict of the machine and software a run measured on."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                      "OMP_NUM_THREADS", "CUPY_TF32") if k in os.environ}
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
        "commit": git_commit(),
        "backend": backend,
        "cpu": cpu_name(),
        "cpu_kind": cpu_kind(),
        "cores": os.cpu_count(),
        "loadavg_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "env": env,
        "torch": torch_version,
        "gpu": gpu,
    }
