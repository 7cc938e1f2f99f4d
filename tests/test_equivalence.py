"""minicnn.equivalence and `minicnn check-backends`: fast paths, references and backends agree."""
import dataclasses

import pytest

from minicnn import layers as L, registry
from minicnn.commands import main
from minicnn.equivalence import DTYPES, TOLERANCE, available_backends, check_backends


def test_numpy_is_always_available_and_unknown_backends_are_left_out():
    found = available_backends()
    assert list(found)[0] == "numpy" and set(found) <= {"numpy", "strict", "cupy"}


def test_every_kind_agrees_on_every_backend_and_dtype():
    table = check_backends()
    assert table.passed, str(table)
    assert [(r.kind, r.path) for r in table.rows if r.path == "reference"] == [("conv", "reference"),
                                                                                ("maxpool", "reference")]
    assert {r.kind for r in table.rows} == set(registry.KINDS)
    for row in table.rows:
        assert set(row.cells) == {(b, d) for b in table.backends for d in DTYPES}


def test_the_baseline_is_the_reference_on_numpy_float64():
    rows = {(r.kind, r.path): r for r in check_backends(["conv", "relu"], ["numpy"]).rows}
    assert rows["conv", "reference"].cells["numpy", "float64"] is None
    assert 0 <= rows["conv", "fast"].cells["numpy", "float64"] <= TOLERANCE["float64"]
    assert rows["relu", "fast"].cells["numpy", "float64"] is None          # no reference: the fast path
    assert 0 < rows["relu", "fast"].cells["numpy", "float32"] <= TOLERANCE["float32"]


def test_a_fast_path_that_differs_from_its_reference_fails(monkeypatch):
    def off_forward(x, w, b, stride=1, pad=0):
        out, cache = L.conv_forward(x, w, b, stride, pad)
        return out * (1 + 1e-6), cache

    monkeypatch.setitem(registry.KINDS, "conv", dataclasses.replace(registry.KINDS["conv"], forward=off_forward))
    table = check_backends(["conv"], ["numpy"])
    rows = {r.path: r for r in table.rows}
    assert not rows["fast"].passed and rows["reference"].passed and not table.passed
    assert rows["fast"].cells["numpy", "float64"] == pytest.approx(1e-6, rel=0.01)
    assert "FAIL" in str(table) and "FAILED" in str(table)


def test_cli_prints_the_table_and_exits_0(capsys):
    assert main(["check-backends", "--kinds", "maxpool,avgpool", "--backends", "numpy"]) == 0
    out = capsys.readouterr().out
    assert "maxpool" in out and "reference" in out and "numpy float32" in out and "PASSED" in out


@pytest.mark.parametrize("args, message", [
    (["--kinds", "conv,nope"], "unknown layer kind 'nope'"),
    (["--backends", "tpu"], "unknown backend 'tpu'"),
])
def test_cli_mistakes_are_one_line(capsys, args, message):
    assert main(["check-backends", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
