"""Figure helpers shared by every "look inside" plot: grids of titled panels.

A figure is a grid of ``Panel``s (an image, optionally a heat map laid over
it, a title, a colorbar). Two layouts cover every plot minicnn draws:

* ``panel_grid(rows)``: each panel scaled on its own, with its own colorbar
  (saliency, Grad-CAM, activation maps of one face, DeepDream results);
* ``panel_grid(rows, shared=True)``: one colour scale for all panels and a
  single colorbar at the right (filters, the same maps across epochs), so
  panels can be compared by brightness.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot global
state; a MiniCNNError names the extra to install when matplotlib is missing)
and written with ``save_figure``, which creates the folder and frees the
figure. A Panel copies device arrays (CuPy) to the host when it is made.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..backend import to_numpy
from .curves import matplotlib_figure_classes

PANEL_INCHES = 1.9
"""Width and height of one panel; the colorbar gets a slice of it."""

BAR_GAP = 0.85
"""Inches between cells when panels carry their own colorbar (bar, ticks and label)."""

SHARED_BAR = 1.0
"""Inches at the right of a shared-scale grid for its single colorbar."""

HEAT_CMAP = "jet"
"""Colour map of heat maps laid over a face (saliency, Grad-CAM)."""


@dataclass
class Panel:
    """One image in a figure.

    image: ``(H, W)`` array shown in ``cmap`` (grey faces by default).
    overlay: optional ``(H, W)`` heat map drawn over the image in ``HEAT_CMAP``
    with transparency ``alpha``; the colorbar then describes the overlay.
    vmin, vmax: the colour range of what the colorbar describes (default: its
    min and max). colorbar: draw one (ignored in a shared-scale grid).
    """
    image: np.ndarray
    title: str = ""
    cmap: str = "gray"
    overlay: np.ndarray = None
    alpha: float = 0.5
    vmin: float = None
    vmax: float = None
    colorbar: bool = True
    label: str = ""

    def __post_init__(self):
        self.image = to_numpy(self.image)
        self.overlay = to_numpy(self.overlay)

    def scaled(self):
        """The array the colour scale describes: the overlay if any, else the image."""
        return np.asarray(self.overlay if self.overlay is not None else self.image, dtype=np.float64)


def _as_rows(panels, ncols):
    """A flat list of panels becomes rows of ``ncols``; rows of panels stay as they are."""
    if panels and isinstance(panels[0], Panel):
        ncols = ncols or int(np.ceil(np.sqrt(len(panels))))
        return [panels[i:i + ncols] for i in range(0, len(panels), ncols)]
    return [list(r) for r in panels]


def panel_grid(panels, ncols=None, suptitle="", shared=False, shared_label="", panel_inches=PANEL_INCHES):
    """A ``matplotlib.figure.Figure`` laying out ``panels`` in a grid.

    panels: a flat list of Panel (wrapped into rows of ``ncols``, default about
    sqrt(n)) or a list of rows (lists of Panel or None for an empty cell).
    shared: one colour range (min and max over all panels) and one colorbar
    labelled ``shared_label`` for the whole grid. panel_inches: size of a cell.

    The layout is computed in inches (no layout engine, which costs more than
    the drawing): each cell is a square image with its title above and, when
    it has one, its colorbar in the gap to its right.
    """
    Figure, _ = matplotlib_figure_classes()
    rows = _as_rows(panels, ncols)
    nrows, ncols = len(rows), max(len(r) for r in rows)
    cells = [p for r in rows for p in r if p is not None]
    if shared:
        lo = min(float(np.nanmin(p.scaled())) for p in cells)
        hi = max(float(np.nanmax(p.scaled())) for p in cells)
    bars = not shared and any(p.colorbar for p in cells)
    gap = BAR_GAP if bars else 0.12                       # inches between cells, across
    title_h, top_h = 0.32, (0.45 if suptitle else 0.1)    # inches above each row, above all
    right_h = SHARED_BAR if shared else gap
    width = 0.1 + ncols * panel_inches + (ncols - 1) * gap + right_h
    height = top_h + nrows * (panel_inches + title_h) + 0.05
    fig = Figure(figsize=(width, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=dict(
        left=0.1 / width, right=1 - right_h / width, bottom=0.05 / height, top=1 - (top_h + title_h) / height,
        wspace=gap / panel_inches, hspace=title_h / panel_inches))
    mappable = None
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.set_axis_off()
            panel = row[c] if c < len(row) else None
            if panel is None:
                continue
            vmin, vmax = (lo, hi) if shared else (panel.vmin, panel.vmax)
            mappable = _draw(ax, panel, vmin, vmax)
            if panel.colorbar and not shared:
                _colorbar(fig, mappable, ax.inset_axes([1.04, 0.0, 0.06, 1.0]), panel.label, 6)
    if shared and mappable is not None:
        bottom, top = axes[-1][0].get_position().y0, axes[0][0].get_position().y1
        cax = fig.add_axes([1 - (SHARED_BAR - 0.15) / width, bottom, 0.12 / width, top - bottom])
        _colorbar(fig, mappable, cax, shared_label, 7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=10, y=1 - 0.12 / height, va="top")
    return fig


def _colorbar(fig, mappable, cax, label, size):
    bar = fig.colorbar(mappable, cax=cax)
    bar.ax.tick_params(labelsize=size)
    if label:
        bar.set_label(label, fontsize=size + 1)
    return bar


def _draw(ax, panel, vmin, vmax):
    """Draw one panel on ``ax``; return the image whose colours the colorbar explains."""
    if panel.overlay is None:
        shown = ax.imshow(np.asarray(panel.image), cmap=panel.cmap, vmin=vmin, vmax=vmax,
                          interpolation="nearest")
    else:
        ax.imshow(np.asarray(panel.image), cmap=panel.cmap, interpolation="nearest")
        shown = ax.imshow(np.asarray(panel.overlay), cmap=HEAT_CMAP, alpha=panel.alpha,
                          vmin=vmin, vmax=vmax, interpolation="bilinear")
    if panel.title:
        ax.set_title(panel.title, fontsize=7)
    return shown


def save_figure(fig, path, dpi=110):
    """Write ``fig`` as a PNG at ``path`` (folders created) and return the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    fig.clear()
    return path


def face_panel(face, title="", colorbar=False):
    """A grey 48x48 face (0..255 pixel values, host or device) as a Panel on a fixed 0..255 scale."""
    return Panel(face, title=title, vmin=0, vmax=255, colorbar=colorbar)
