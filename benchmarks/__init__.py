"""Throughput benchmarks of minicnn against PyTorch, measured side by side.

``python -m benchmarks.run`` times each layer (forward + backward) at the
paper's shapes and a full training step (forward + backward + Adam) of the
shallow and the deep model, with PyTorch (a benchmark-only dependency, never
imported by ``minicnn/``) on the same shapes in the same process, and writes
JSON and Markdown under ``benchmarks/results/``. See docs/speed.md.
"""
