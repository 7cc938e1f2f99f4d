"""Test support shipped with the package.

``strict``         a CuPy stand-in that computes with NumPy and enforces CuPy's
                   rules (``MINICNN_BACKEND=strict``): CI runs the device code
                   path without a GPU
``syncs``          counts the host synchronisations the strict backend sees, per
                   call site, or makes them raise
``cupy_api``       CuPy's public names, pinned as data (``cupy_api.txt``)
"""
