"""Plots of training runs and of what a network learned (matplotlib, imported lazily).

``minicnn.viz.curves``: training curves and confusion matrices. The other
modules of this package draw filters, activation maps, saliency, Grad-CAM and
DeepDream images. matplotlib is an optional dependency: ``pip install -e .[viz]``.
"""
