"""The parsed-array cache: a second load reads it; a changed source or option misses it."""
import os

from fer_files import assert_same_splits, small_dataset, write_csv, write_layout, zip_layout

from minicnn.data import cache_root, load_fer2013


def test_second_load_reads_the_cache_and_gives_the_same_arrays(tmp_path):
    path = write_csv(tmp_path / "f.csv.gz", small_dataset())
    first = load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    second = load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    assert not first.from_cache and second.from_cache
    assert_same_splits(first, second)
    assert second.source == first.source
    assert len(list((tmp_path / "c").glob("fer2013-*.npz"))) == 1


def test_a_modified_source_file_is_parsed_again(tmp_path):
    path = write_csv(tmp_path / "f.csv", small_dataset(seed=0))
    load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    write_csv(path, small_dataset(seed=5))
    os.utime(path, ns=(1, 1_000_000_000))  # a different mtime even on coarse clocks
    again = load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    assert not again.from_cache
    assert_same_splits(again, small_dataset(seed=5))


def test_loader_options_and_use_cache_false_bypass_the_entry(tmp_path):
    path = write_csv(tmp_path / "f.csv", small_dataset())
    load_fer2013(path, cache_dir=tmp_path / "c", progress=False)
    assert not load_fer2013(path, cache_dir=tmp_path / "c", progress=False, skip_bad_rows=True).from_cache
    assert not load_fer2013(path, cache_dir=tmp_path / "c", progress=False, use_cache=False).from_cache


def test_zip_and_folder_sources_are_cached_too(tmp_path):
    root = write_layout(tmp_path / "faces", small_dataset())
    archive = zip_layout(root, tmp_path / "faces.zip")
    for source in (root, archive):
        load_fer2013(source, cache_dir=tmp_path / "c", progress=False)
        assert load_fer2013(source, cache_dir=tmp_path / "c", progress=False).from_cache


def test_the_cache_folder_comes_from_the_environment_when_not_given(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_CACHE_DIR", str(tmp_path / "envcache"))
    assert cache_root() == tmp_path / "envcache"
    load_fer2013(write_csv(tmp_path / "f.csv", small_dataset()), progress=False)
    assert list((tmp_path / "envcache").glob("fer2013-*.npz"))


def test_default_cache_folder_is_in_the_home_cache(monkeypatch):
    monkeypatch.delenv("MINICNN_CACHE_DIR", raising=False)
    assert cache_root().parts[-2:] == (".cache", "minicnn")
