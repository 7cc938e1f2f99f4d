"""The layer registry: every kind complete, options unique, PyTorch counterparts that exist."""
import importlib

import pytest

from minicnn import models, registry
from minicnn.errors import ConfigError


@pytest.mark.parametrize("name", list(registry.KINDS))
def test_every_registered_kind_has_gradient_check_cases_that_pass(name):
    kind = registry.get(name)
    cases = kind.cases(__import__("numpy").random.default_rng(0))
    assert cases, f"{name} has no gradient-check cases"
    for case in cases:
        report = case.run(max_elements=30)
        assert report.passed, str(report)


@pytest.mark.parametrize("name", list(registry.KINDS))
def test_every_registered_kind_names_a_pytorch_counterpart(name):
    assert registry.get(name).torch.startswith("torch.")


@pytest.mark.parametrize("name", list(registry.KINDS))
def test_the_pytorch_counterpart_exists_where_pytorch_is_installed(name):
    pytest.importorskip("torch")
    module, _, attr = registry.get(name).torch.rpartition(".")
    assert hasattr(importlib.import_module(module), attr), registry.get(name).torch


def test_every_grammar_option_builds_a_layer_through_its_kind():
    for block in ("conv", "fc"):
        for opt in registry.options(block):
            assert registry.option_kind(opt).make is not None, opt


def test_a_second_registration_of_a_name_key_or_token_is_refused():
    kind = registry.get("dropout")
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register(kind)
    clash = registry.LayerKind("dropout2", "", kind.forward, kind.backward, "torch.nn.Dropout", kind.cases,
                               kind.make, (registry.Option("fc", "drop", "d", "prob", registry.DROPOUT, "x{i}"),))
    with pytest.raises(ConfigError, match="already taken"):
        registry.register(clash)
    assert "dropout2" not in registry.KINDS


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: affine, conv"):
        registry.get("nope")


def test_unknown_spec_options_list_every_registered_token():
    with pytest.raises(ConfigError, match="unknown option 'zz'") as caught:
        models.parse_spec("c8-zz")
    for opt in registry.options("conv"):
        assert opt.token in str(caught.value).split("known: ")[1]


def test_an_option_at_its_absent_value_is_dropped_from_the_normalized_config():
    cfg = models.normalize_config({"conv": [{"filters": 4, "bn": False, "dropout": 0.0, "pool": None}],
                                   "fc": [{"units": 3, "dropout": 0}]})
    assert cfg["conv"] == [{"filters": 4, "kernel": 3, "stride": 1, "pad": "same"}]
    assert cfg["fc"] == [{"units": 3}]
