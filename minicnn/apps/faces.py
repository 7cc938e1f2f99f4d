"""From any photo to FER-2013-style inputs: read, find faces, crop, 48x48 grey.

FER-2013 faces are 48x48 grayscale crops (pixel values 0..255) roughly from
the eyebrows' top to the chin. A photo of any size, colour or grayscale,
becomes such inputs in three steps:

1. ``read_image(path)`` -> ``(H, W, 3)`` uint8 RGB (EXIF rotation applied) and
   ``to_gray(rgb)`` -> ``(H, W)`` float64 luminance in [0, 1].
2. ``detect_faces(gray)`` -> ``[Box, ...]``: scikit-image's bundled LBP
   frontal-face cascade, run on a copy scaled to at most ``DETECT_SIDE``
   pixels on its shorter side (the cascade is both faster and less prone to
   false alarms there), overlapping hits merged, boxes mapped back to the
   photo's pixels. ``whole_image_box(gray)`` is the "no detection" box.
3. ``crop_face(gray, box)`` -> ``(48, 48)`` float32 in 0..255: the box grown by
   a margin on each side (edge pixels repeat where it leaves the photo),
   anti-aliased down to 48x48.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..extras import require

FACE_SIZE = 48
"""Side of the square grayscale input the models take."""

DETECT_SIDE = 640
"""Photos whose shorter side is larger are scaled down to it for detection."""


@dataclass(frozen=True)
class Box:
    """A face's square (or, for a whole image, rectangular) box in photo pixels."""
    top: int
    left: int
    height: int
    width: int

    def as_dict(self):
        return {"top": self.top, "left": self.left, "height": self.height, "width": self.width}


def read_image(path):
    """The photo at ``path`` as an ``(H, W, 3)`` uint8 RGB array.

    Any format Pillow reads (JPEG, PNG, BMP, GIF, TIFF, WebP, ...), colour or
    grayscale, 16-bit grey scaled to 8 bits; EXIF orientation is applied so
    phone photos stand upright. Raises DataError with one line when the file
    is missing, not an image, or larger than ``minicnn.data.imagefile.MAX_PIXELS``
    (checked before decoding).
    """
    from ..data.imagefile import decode_image

    path = Path(path)
    if not path.is_file():
        raise DataError(f"image {path} does not exist: give the path of a photo (JPEG, PNG, ...)")
    return decode_image(path, str(path), mode="RGB", upright=True)


def to_gray(rgb):
    """``(H, W, 3)`` uint8 RGB (or ``(H, W)`` grey) -> ``(H, W)`` float64 in [0, 1].

    Luminance Y = 0.2125 R + 0.7154 G + 0.0721 B (scikit-image's rgb2gray).
    """
    rgb2gray = require("skimage.color", "converting photos to grey").rgb2gray

    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return rgb.astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    return rgb2gray(rgb)


def _cascade():
    cascade_file = require("skimage.data", "face detection").lbp_frontal_face_cascade_filename()
    return require("skimage.feature", "face detection").Cascade(cascade_file)


def _overlap(a, b):
    """Intersection area over the smaller box's area (1 when one holds the other)."""
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    if h <= 0 or w <= 0:
        return 0.0
    return h * w / min(a.height * a.width, b.height * b.width)


def merge_overlapping(boxes, threshold=0.5):
    """Keep the largest of boxes that overlap by more than ``threshold``.

    The cascade can report one face twice at neighbouring scales; the overlap is
    measured relative to the smaller box, so a box nested in a bigger one goes.
    """
    kept = []
    for box in sorted(boxes, key=lambda b: b.height * b.width, reverse=True):
        if all(_overlap(box, k) <= threshold for k in kept):
            kept.append(box)
    return kept


def detect_faces(gray, min_face=0.1, min_neighbors=8, scale_factor=1.1):
    """Frontal faces in a grayscale photo, as Boxes in its own pixels.

    gray: ``(H, W)`` float in [0, 1]. min_face: the smallest face searched for,
    as a fraction of the photo's shorter side (at least 24 pixels after the
    detection rescale); lower it (e.g. 0.05) for group photos with small faces.
    min_neighbors: how many overlapping cascade hits a face needs (higher:
    fewer false alarms, more missed faces). scale_factor: step between the
    window sizes searched. Boxes are returned left to right, then top to bottom.
    """
    rescale = require("skimage.transform", "face detection").rescale

    if not 0 < min_face <= 1:
        raise DataError(f"min_face={min_face} must be a fraction of the photo's shorter side in (0, 1]")
    gray = np.asarray(gray, dtype=np.float64)
    short = min(gray.shape)
    scale = min(1.0, DETECT_SIDE / short)
    small = rescale(gray, scale, anti_aliasing=True) if scale < 1 else gray
    side = max(24, int(round(min_face * min(small.shape))))
    if side > min(small.shape):
        return []
    hits = _cascade().detect_multi_scale(
        img=small, scale_factor=scale_factor, step_ratio=1, min_size=(side, side),
        max_size=small.shape, min_neighbor_number=min_neighbors)
    boxes = [Box(int(round(h["r"] / scale)), int(round(h["c"] / scale)),
                 int(round(h["height"] / scale)), int(round(h["width"] / scale))) for h in hits]
    return sorted(merge_overlapping(boxes), key=lambda b: (b.left, b.top))


def whole_image_box(gray):
    """The box covering the whole photo (``--no-detect``)."""
    h, w = np.shape(gray)[:2]
    return Box(0, 0, h, w)


def crop_face(gray, box, margin=0.15, size=FACE_SIZE):
    """``(size, size)`` float32 face in 0..255 from a grayscale photo in [0, 1].

    size: an int or an (H, W) pair (a model's input size).

    The box grows by ``margin`` times its size on every side (cascade boxes are
    tighter than FER-2013's crops, which include forehead and chin); where it
    leaves the photo the edge pixels repeat. The crop is then resized to
    ``size`` x ``size`` with anti-aliasing. A whole-image box is used as is.
    """
    resize = require("skimage.transform", "cropping faces").resize

    gray = np.asarray(gray, dtype=np.float64)
    if box == whole_image_box(gray):
        patch = gray
    else:
        dy, dx = int(round(margin * box.height)), int(round(margin * box.width))
        top, left = box.top - dy, box.left - dx
        bottom, right = box.top + box.height + dy, box.left + box.width + dx
        pad = max(0, -top, -left, bottom - gray.shape[0], right - gray.shape[1])
        padded = np.pad(gray, pad, mode="edge") if pad else gray
        patch = padded[top + pad:bottom + pad, left + pad:right + pad]
    shape = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
    face = resize(patch, shape, anti_aliasing=True, preserve_range=True)
    return (np.clip(face, 0, 1) * 255).astype(np.float32)


def faces_in_photo(path, detect=True, margin=0.15, size=FACE_SIZE, **detect_kw):
    """Read a photo and return ``(rgb, boxes, faces)``.

    faces: ``(F, H, W)`` float32 in 0..255, one per box (``size`` as in ``crop_face``). With ``detect``
    false the whole photo is one face. Raises DataError when no face is found.
    """
    rgb = read_image(path)
    gray = to_gray(rgb)
    boxes = detect_faces(gray, **detect_kw) if detect else [whole_image_box(gray)]
    if not boxes:
        raise DataError(f"no face found in {path}: use a photo with a frontal face, lower "
                        "--min-face for small faces, or --no-detect if the image is already a face")
    faces = np.stack([crop_face(gray, b, margin=margin, size=size) for b in boxes])
    return rgb, boxes, faces
