"""keep_freed_memory changes process-wide malloc settings, so it is called in a child process."""
import platform
import subprocess
import sys
from pathlib import Path


def test_keep_freed_memory_applies_on_glibc_and_numpy_still_computes():
    code = ("from minicnn.training import hostmem; import numpy as np; kept = hostmem.keep_freed_memory(); "
            "a = np.ones((64, 1 << 16), np.float32); del a; b = np.ones((64, 1 << 16), np.float32); "
            "print(kept, float(b.sum()))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(root), "PATH": ""}).stdout.split()
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert out[0] == str(on_glibc)
    assert float(out[1]) == 64 * (1 << 16)
