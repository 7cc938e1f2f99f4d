"""The Kaggle FER-2013 CSV: columns ``emotion,pixels,Usage``, plain, .gz or .xz.

``emotion`` is the label 0..6, ``pixels`` 2304 space-separated integers 0..255
(a 48x48 face, row-major), ``Usage`` one of Training / PublicTest / PrivateTest,
which become the train / val / test splits (the paper's test set is PrivateTest).

Parsing avoids a Python split per row: the pixel strings are joined and read by
``numpy.fromstring``, a few thousand rows per call, as int64 (which saturates
where int32 would wrap around: 4294967301 must not become 5), into the uint8
images; per-row checks (token counts, stray characters)
use C-level string methods and one vectorized byte scan, and only rows that
look wrong are examined one by one. Bad rows are reported by their 1-based line
in the file (line 1 is the header).
"""
import lzma
import warnings
import zlib

import numpy as np

from ..errors import DataError
from ..extras import require
from .splits import IMAGE_SHAPE, N_CLASSES, SPLIT_NAMES, Split

COLUMNS = ("emotion", "pixels", "Usage")
USAGES = {"Training": 0, "PublicTest": 1, "PrivateTest": 2}
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]


def read_csv(path, skip_bad_rows=False):
    """Parse the CSV at ``path`` into ``{"train"|"val"|"test": Split}``.

    Raises DataError (one line, naming the line of the file) for a wrong header,
    a label outside 0..6, an unknown Usage, a non-number pixel or a pixel count
    other than 2304; with ``skip_bad_rows`` those rows are dropped instead and a
    warning says how many.
    """
    frame = _read_frame(path)
    labels, label_bad = _parse_labels(frame["emotion"].tolist())
    usage = frame["Usage"].str.strip().map(USAGES)
    pixels = frame["pixels"].tolist()
    problems = {}
    for i in np.flatnonzero(label_bad):
        problems.setdefault(i, f"emotion {frame['emotion'].iat[i]!r} is not a label 0..{N_CLASSES - 1}")
    for i in np.flatnonzero(usage.isna().to_numpy()):
        problems.setdefault(i, f"Usage {frame['Usage'].iat[i]!r} is not one of {', '.join(USAGES)}")
    pixel_ok = np.ones(len(frame), dtype=bool)
    for i, problem in _pixel_format_problems(pixels).items():
        pixel_ok[i] = False
        problems.setdefault(i, problem)
    parsed = np.flatnonzero(pixel_ok)
    images, too_large = _parse_pixels([pixels[i] for i in parsed])
    for j in too_large:
        largest = max(int(token) for token in pixels[parsed[j]].split())   # exact, however long
        problems.setdefault(parsed[j], f"pixel value {largest} is outside 0..255")
    keep = np.ones(len(frame), dtype=bool)
    if problems:
        first = min(problems)
        if not skip_bad_rows:
            raise DataError(f"{path}: line {first + 2}: {problems[first]} "
                            "(fix the row, or pass skip_bad_rows=True to skip bad rows)")
        keep[list(problems)] = False
        warnings.warn(f"{path}: skipped {len(problems)} bad row(s); the first, line {first + 2}: "
                      f"{problems[first]}", stacklevel=3)
    images = images[keep[parsed]].reshape(-1, *IMAGE_SHAPE)
    split_of = usage.to_numpy()[keep].astype(np.int64)
    labels = labels[keep]
    return {name: Split(images[split_of == k], labels[split_of == k])
            for k, name in enumerate(SPLIT_NAMES)}


def _read_frame(path):
    pd = require("pandas", "reading the Kaggle CSV")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; expected a CSV with columns {', '.join(COLUMNS)}") from None
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError, ValueError, lzma.LZMAError,
            zlib.error) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable CSV ({detail})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: found columns {', '.join(frame.columns)}; expected {', '.join(COLUMNS)} "
                        f"(missing {', '.join(missing)})")
    return frame


def _parse_labels(texts):
    """Labels int64 (N,) and a bool mask of entries that are not an integer 0..6."""
    pd = require("pandas", "reading the Kaggle CSV")
    values = pd.to_numeric(pd.Series(texts, dtype=str).str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < 0) | (values >= N_CLASSES)
    return np.where(bad, 0, values).astype(np.int64), bad


def _pixel_format_problems(pixels):
    """{row index: problem} for rows whose pixel field is not 2304 non-negative integers.

    A row with exactly 2303 single spaces, none leading or trailing, holds exactly
    2304 tokens; only rows failing that quick test are split to count their values.
    """
    problems = {}
    lengths = np.fromiter((len(s) for s in pixels), dtype=np.int64, count=len(pixels))
    ends = np.cumsum(lengths + 1) - 1  # position of the separator after each row
    raw = np.frombuffer(" ".join(pixels).encode("ascii", "replace"), dtype=np.uint8)
    stray = np.flatnonzero((raw != 32) & ((raw < 48) | (raw > 57)))
    for row in np.unique(np.searchsorted(ends, stray)):
        bad_char = next(c for c in pixels[row] if not (c == " " or "0" <= c <= "9"))
        problems[int(row)] = f"pixels contain {bad_char!r}, not a number"
    for row, s in enumerate(pixels):
        if row in problems or (s.count(" ") == N_PIXELS - 1 and "  " not in s
                               and not s.startswith(" ") and not s.endswith(" ")):
            continue
        count = len(s.split())
        if count != N_PIXELS:
            problems[row] = f"{count} pixel values, expected {N_PIXELS} (48x48)"
    return problems


def _parse_pixels(pixels, chunk=2048):
    """uint8 (N, 2304) from N strings of 2304 non-negative integers, and the rows holding a value above 255.

    Read ``chunk`` rows at a time as int64: a value too large for it saturates
    at its maximum instead of wrapping around, so it cannot pass as 0..255.
    The rows listed hold wrapped bytes and must not be used.
    """
    images = np.empty((len(pixels), N_PIXELS), dtype=np.uint8)
    too_large = []
    for start in range(0, len(pixels), chunk):
        values = np.fromstring(" ".join(pixels[start:start + chunk]), dtype=np.int64, sep=" ").reshape(-1, N_PIXELS)
        too_large.extend(start + np.flatnonzero((values > 255).any(axis=1)))
        images[start:start + len(values)] = values
    return images, too_large
