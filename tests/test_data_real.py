"""The real FER-2013 files (skipped unless MINICNN_FER2013 names their folder).

Each file is parsed once per module into a temporary cache; the CSV takes about
15 s, the zip about 5 s, the tar.xz about 10 s.
"""
import numpy as np
import pytest

from minicnn.data import fingerprint, load_fer2013

# Per-class counts of the canonical release (data README), classes 0 Angry .. 6 Neutral.
COUNTS = {
    "train": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "val": [467, 56, 496, 895, 653, 415, 607],
    "test": [491, 55, 528, 879, 594, 416, 626],
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fer-cache")


def _load(path, cache_dir):
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    return load_fer2013(path, cache_dir=cache_dir, progress=False)


@pytest.fixture(scope="module")
def from_csv(fer2013_path, cache_dir):
    return _load(fer2013_path / "fer2013.csv.xz", cache_dir)


@pytest.fixture(scope="module")
def from_zip(fer2013_path, cache_dir):
    return _load(fer2013_path / "fer2013-images.zip", cache_dir)


@pytest.fixture(scope="module")
def from_tar(fer2013_path, cache_dir):
    return _load(fer2013_path / "fer2013-images.tar.xz", cache_dir)


@pytest.mark.parametrize("which", ["from_csv", "from_zip", "from_tar"])
def test_split_sizes_and_class_counts_match_the_canonical_release(request, which):
    ds = request.getfixturevalue(which)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (28709, 3589, 3589)
    for name, counts in COUNTS.items():
        np.testing.assert_array_equal(getattr(ds, name).class_counts(), counts)
        assert getattr(ds, name).images.shape[1:] == (48, 48)


@pytest.mark.parametrize("which", ["from_zip", "from_tar"])
def test_csv_zip_and_tar_give_identical_labels_and_pixels(request, from_csv, which):
    # Pillow's decoding of the archives' JPEGs reproduces the CSV exactly (0 grey levels apart).
    images = request.getfixturevalue(which)
    for name in ("train", "val", "test"):
        a, b = getattr(from_csv, name), getattr(images, name)
        np.testing.assert_array_equal(a.labels, b.labels)
        difference = np.abs(a.images.astype(np.int16) - b.images)
        assert difference.max() == 0, f"{name}: {np.count_nonzero(difference)} pixels differ"


def test_csv_and_zip_have_one_fingerprint_the_one_the_committed_results_record(from_csv, from_zip):
    import json
    from pathlib import Path
    results = Path(__file__).resolve().parents[1] / "results"
    recorded = {json.loads(p.read_text())["data"]["fingerprint"] for p in results.glob("*/metrics.json")}
    assert fingerprint(from_csv) == fingerprint(from_zip)
    assert recorded <= {fingerprint(from_csv)}


def test_a_second_load_of_the_csv_comes_from_the_cache(from_csv, fer2013_path, cache_dir):
    again = load_fer2013(fer2013_path / "fer2013.csv.xz", cache_dir=cache_dir, progress=False)
    assert again.from_cache and not from_csv.from_cache
    np.testing.assert_array_equal(again.test.images, from_csv.test.images)
