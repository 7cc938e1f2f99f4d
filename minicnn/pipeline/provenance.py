"""Where and with what a run was made: hardware, software versions, the git commit.

Shared by the run pipeline (metrics.json) and the benchmarks (``benchmarks/machine.py``).
"""
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The folder holding the ``minicnn`` package: the repository in a checkout."""


def hardware(backend="numpy"):
    """Dict: machine, processor, CPU count, thread limit, OS, Python/NumPy versions, GPU name if cupy."""
    info = {
        "machine": platform.machine(),
        "processor": cpu_name(),
        "cpu_count": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "gpu": None,
    }
    if backend == "cupy":
        info["gpu"] = _gpu_name()
    return info


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu_name():
    import cupy
    device = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(device.id)
    name = props["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def git_info(root=REPO_ROOT):
    """{"commit": sha or "unknown", "dirty": True/False/None}: the code a run was made with.

    ``dirty`` is True when tracked files differ from the commit (the numbers then
    come from uncommitted code, which the report flags).
    """
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=20, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    try:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        dirty = None
    return {"commit": commit, "dirty": dirty}


def describe_hardware(info):
    """One line for tables: e.g. "CPU: Intel Xeon ... (2 cores, 1 thread)" or "GPU: NVIDIA H100"."""
    if info.get("gpu"):
        return f"GPU: {info['gpu']}"
    threads = info.get("omp_num_threads")
    cores = f"{info.get('cpu_count')} cores" + (f", OMP_NUM_THREADS={threads}" if threads else "")
    return f"CPU: {info.get('processor', 'unknown')} ({cores})"
