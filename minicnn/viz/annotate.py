"""Draw face boxes and their predicted emotions on a photo (``minicnn predict --annotate``)."""
from pathlib import Path

import numpy as np

from ..backend import to_numpy
from ..extras import require

BOX_COLOURS = ((230, 57, 70), (29, 120, 230), (46, 160, 67), (244, 162, 38), (142, 68, 173))
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""File endings an annotated photo can be written as (the format follows the ending)."""


def annotate(rgb, boxes, labels, path):
    """Write the photo ``rgb`` (H, W, 3) uint8 with each box and its label drawn, as ``path``.

    boxes: ``minicnn.apps.faces.Box`` objects; labels: one text per box (e.g.
    "Happy 0.61"). Line width and font size follow the photo's size. The
    format follows the suffix of ``path`` (PNG, JPEG, ...). Returns the Path.
    """
    Image, ImageDraw, ImageFont = (require(f"PIL.{name}", "drawing on photos")
                                   for name in ("Image", "ImageDraw", "ImageFont"))

    image = Image.fromarray(np.asarray(to_numpy(rgb), dtype=np.uint8))
    draw = ImageDraw.Draw(image)
    side = min(image.size)
    width = max(2, side // 200)
    font = ImageFont.load_default(size=max(12, side // 30))
    for i, (box, text) in enumerate(zip(boxes, labels)):
        colour = BOX_COLOURS[i % len(BOX_COLOURS)]
        draw.rectangle([box.left, box.top, box.left + box.width - 1, box.top + box.height - 1],
                       outline=colour, width=width)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        th, tw = bottom - top + 2 * width, right - left + 2 * width
        y = box.top - th if box.top - th >= 0 else box.top + box.height  # above the box, else below
        y = min(y, image.size[1] - th)
        draw.rectangle([box.left, y, box.left + tw, y + th], fill=colour)
        draw.text((box.left + width - left, y + width - top), text, fill=(255, 255, 255), font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
