"""Decoding image files minicnn did not write: size checked first, 16 bits scaled, every failure one line.

    gray = decode_image(data, "the image train/happy/1.png", size=(48, 48))   # uint8 (48, 48)
    rgb = decode_image("photo.jpg", "photo.jpg", mode="RGB", upright=True)    # uint8 (H, W, 3)

- **Size before pixels.** Opening an image reads only its header, so the
  dimensions are checked before anything is decoded: an image other than
  ``size`` (when given), or larger than ``MAX_PIXELS``, is refused. A file of
  a few kilobytes can declare a gigapixel image (a decompression bomb);
  this check replaces Pillow's own warning for it.
- **16-bit grey** (PNG, TIFF; Pillow modes ``I;16*`` and ``I``) becomes 8 bits
  as ``round(v * 255 / 65535)``, so white stays white and every grey level
  keeps its place (Pillow's own conversion clips every value above 255 to
  white). Values outside 0..65535 and floating-point images (of unknown
  range) are refused.
- **Failures.** Whatever a decoder raises on a damaged or unreadable file
  (Pillow raises many kinds) becomes one ``DataError`` naming the file.
"""
import io
import warnings

import numpy as np

from ..errors import DataError
from ..extras import require

MAX_PIXELS = 100_000_000
"""The largest image decoded, in pixels (100 megapixels: above any camera photo in common use)."""

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def decode_image(source, name, mode="L", size=None, upright=False):
    """The image in ``source`` (a path or the file's bytes) as uint8 ``(H, W)`` (mode "L") or ``(H, W, 3)`` ("RGB").

    name: how messages call the image. size: the required ``(H, W)``, checked
    before decoding. upright: apply the EXIF orientation (phone photos).
    Raises DataError (one line) for an image of another size, one above
    MAX_PIXELS, floating-point pixels, or a file that cannot be read or decoded.
    """
    Image = require("PIL.Image", "decoding images")
    ImageOps = require("PIL.ImageOps", "decoding images")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        with image:
            width, height = image.size
            if size is not None and (height, width) != tuple(size):
                raise DataError(f"{name} is {width}x{height}, expected {size[1]}x{size[0]}")
            if width * height > MAX_PIXELS:
                raise DataError(f"{name} is {width}x{height} pixels, more than the {MAX_PIXELS // 10**6} "
                                "megapixels minicnn decodes (a decompression bomb?): scale it down first")
            if upright:
                image = ImageOps.exif_transpose(image)
            pixels = np.asarray(_eight_bit(image, name).convert(mode))
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file can make a decoder raise almost anything
        if isinstance(exc, Image.DecompressionBombError):
            detail = "it declares too many pixels to decode safely"
        else:
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise DataError(f"cannot decode {name} ({detail}); give an image in a format Pillow reads "
                        "(PNG, JPEG, BMP, TIFF, ...)") from None
    return pixels


def _eight_bit(image, name):
    """``image`` itself, or for 16-bit grey an "L" image of ``round(v * 255 / 65535)``."""
    Image = require("PIL.Image", "decoding images")

    if image.mode == "F":
        raise DataError(f"{name} has floating-point pixels (range unknown): save it as an 8- or 16-bit image")
    if image.mode not in _SIXTEEN_BIT:
        return image
    values = np.asarray(image, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() > 65535):
        raise DataError(f"{name} has pixel values {values.min()}..{values.max()}, outside the 16-bit range "
                        "0..65535: save it as an 8- or 16-bit image")
    return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8))
