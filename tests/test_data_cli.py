"""``minicnn data info`` and ``minicnn data samples``."""
from fer_files import small_dataset, write_csv

from minicnn.commands import main


def test_info_prints_split_sizes_class_counts_and_the_cache(tmp_path, capsys):
    path = write_csv(tmp_path / "f.csv", small_dataset())
    assert main(["data", "info", str(path), "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "train      21" in out and "Disgust" in out and f"cache: {tmp_path / 'c'}" in out


def test_info_on_a_missing_path_is_one_line_and_exit_code_1(tmp_path, capsys):
    assert main(["data", "info", str(tmp_path / "missing.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("minicnn data: error: FER-2013 not found") and "\n" not in err


def test_samples_writes_a_png_grid(tmp_path):
    out = tmp_path / "grid.png"
    assert main(["data", "samples", "--out", str(out), "--per-class", "2"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
