"""The strict backend: NumPy computing under CuPy's rules, so CI catches device mistakes without a GPU."""
import copy

import numpy as np
import pytest

from minicnn import backend
from minicnn.errors import BackendError
from minicnn.testing import cupy_api, strict, syncs
from minicnn.testing.strict import HostArrayError

xs = strict


@pytest.fixture
def a():
    return xs.asarray(np.arange(12, dtype=np.float32).reshape(3, 4))


# -- no implicit host conversion ------------------------------------------------------------

def test_device_arrays_refuse_implicit_conversion_to_numpy_as_cupy_does(a):
    host = np.zeros((3, 4), np.float32)
    for convert in (lambda: np.asarray(a), lambda: np.array(a), lambda: np.testing.assert_allclose(a, 0),
                    lambda: host.__setitem__(Ellipsis, a)):
        with pytest.raises(TypeError, match="Implicit conversion"):
            convert()
    np.testing.assert_array_equal(backend.to_numpy(a), np.arange(12).reshape(3, 4))


@pytest.mark.parametrize("mix", [lambda a, h: a + h, lambda a, h: h * a, lambda a, h: xs.maximum(a, h),
                                 lambda a, h: xs.concatenate([a, h]), lambda a, h: a[h.astype(int)[0, :2]],
                                 lambda a, h: a.__setitem__(Ellipsis, h), lambda a, h: xs.where(a > 0, a, h)])
def test_host_arrays_mixed_into_device_operations_raise(a, mix):
    with pytest.raises(HostArrayError, match="to_device"):
        mix(a, np.ones((3, 4), np.float32))


def test_scalars_mix_freely_and_to_device_is_the_way_in(a):
    b = a * 2 + np.float32(1) - 0.5
    b[0, 0] = 7
    b += xs.asarray(np.ones((3, 4), np.float32))
    assert type(b) is strict.StrictArray and b.dtype == np.float32
    assert backend.to_numpy(b)[0, 0] == 8.0


# -- CuPy's names only ------------------------------------------------------------------------

def test_only_names_cupy_has_exist_on_the_module_and_on_arrays(a):
    assert xs.float32 is np.float32 and callable(xs.einsum) and xs.newaxis is None
    with pytest.raises(AttributeError, match="CuPy 13/14 does not"):
        xs.acos          # NumPy 2 alias that CuPy 13 lacks
    with pytest.raises(AttributeError, match="cupy.ndarray has no attribute 'setflags'"):
        a.setflags
    served = {name for name in dir(xs) if not name.startswith("_") and hasattr(np, name)}
    assert served <= cupy_api.names("cupy")         # nothing NumPy has slips through unless CuPy has it


def test_numpy_functions_on_device_arrays_dispatch_to_cupys_or_raise(a):
    total = np.sum(a)
    assert type(total) is strict.StrictArray and total.shape == ()
    assert type(np.linalg.norm(a)) is strict.StrictArray
    with pytest.raises(TypeError, match="CuPy has no cupy.lib.stride_tricks.sliding_window_view"):
        np.lib.stride_tricks.sliding_window_view(a, 2)


def test_the_pinned_api_lists_every_section_the_backend_uses():
    assert cupy_api.sections() == ["cupy", "cupy.lib.stride_tricks", "cupy.linalg", "cupy.ndarray", "cupy.random",
                                   "cupy.random.BitGenerator", "cupy.random.Generator"]
    assert {"einsum", "tensordot", "take_along_axis", "asnumpy"} <= cupy_api.names("cupy")
    assert "normal" not in cupy_api.names("cupy.random.Generator")


# -- values stay on the device --------------------------------------------------------------

def test_reductions_and_scalar_indexing_return_0d_device_arrays(a):
    for value in (a.sum(), a.max(), a.argmax(), a[1, 2], xs.mean(a), (a == a).all()):
        assert type(value) is strict.StrictArray and value.shape == ()


def test_out_of_bounds_integer_indices_wrap_around_as_on_cupy():
    labels = xs.asarray(np.array([0, 4, -1]))
    np.testing.assert_array_equal(backend.to_numpy(xs.arange(4)[labels]), [0, 0, 3])


def test_views_share_memory_like_device_views(a):
    v = a[1:, ::2]
    v[...] = -1
    assert backend.to_numpy(a)[2, 2] == -1
    assert backend.to_numpy(copy.deepcopy(a)).tolist() == backend.to_numpy(a).tolist()


# -- random numbers: CuPy's Generator API ---------------------------------------------------

def test_generators_offer_cupys_methods_only_and_draw_device_arrays():
    rng = xs.random.default_rng(0)
    assert isinstance(rng.bit_generator, xs.random.XORWOW)
    draws = rng.random((2, 3), dtype=np.float32)
    assert type(draws) is strict.StrictArray and draws.dtype == np.float32
    assert rng.standard_normal().shape == ()
    for missing in ("normal", "permutation", "choice", "shuffle", "spawn"):
        assert not hasattr(rng, missing)


def test_counter_based_philox_generators_are_reproducible_from_their_seed():
    seed = np.random.SeedSequence([3, 1, 4])
    draws = [xs.random.Generator(xs.random.Philox4x3210(seed, size=1 << 14)).random(5) for _ in range(2)]
    np.testing.assert_array_equal(*map(backend.to_numpy, draws))
    with pytest.raises(TypeError, match="size"):
        xs.random.MRG32k3a(0, size=1.5)
    first = backend.to_numpy(backend.counter_rng((7, 2), 5, xs).random(4))
    np.testing.assert_array_equal(first, backend.to_numpy(backend.counter_rng((7, 2), 5, xs).random(4)))
    assert not np.array_equal(first, backend.to_numpy(backend.counter_rng((7, 2), 6, xs).random(4)))


# -- host synchronisations -------------------------------------------------------------------

def test_every_host_read_and_data_dependent_size_is_counted_per_call_site(a):
    with syncs.count_syncs() as log:
        float(a.sum()), int(a[0, 0]), bool(a[0, 0] > 1), a[0, 1].item(), backend.to_numpy(a), f"{a.max():.1f}"
        a[a > 3], xs.nonzero(a), xs.unique(a), xs.argwhere(a), xs.where(a > 2)
    kinds = {kind for (_, kind) in log.counts}
    assert kinds == {"float", "int", "bool", "item", "get", "format", "mask indexing", "nonzero", "unique",
                     "argwhere", "where"}
    assert log.total() == 11 and log.at("test_strict_backend.py") == 11
    with syncs.count_syncs() as quiet:
        b = (a * 2).sum(axis=0) + xs.where(a > 2, a, 0).mean()
        b.shape, len(a)
    assert quiet.total() == 0


def test_in_raise_mode_a_host_read_fails_at_its_line_but_printing_still_works(a):
    with syncs.forbid_syncs():
        with pytest.raises(syncs.HostSyncError, match=r"\(float\) at tests/test_strict_backend.py:\d+"):
            float(a.sum())
        assert "StrictArray(" in repr(a)
    assert syncs.current_mode() == "count"


# -- the backend module knows it ------------------------------------------------------------------

def test_the_backend_module_selects_names_and_moves_strict_arrays(monkeypatch, a):
    assert backend.set_backend("strict") is xs and backend.backend_name() == "strict"
    assert backend.xp_of(a, None, 2.0) is xs and not backend.is_host(xs)
    with pytest.raises(BackendError, match="numpy and strict mixed"):
        backend.xp_of(a, np.zeros(2))
    host = backend.to_numpy(backend.to_device(np.ones(3), xs, dtype=np.float32))
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    monkeypatch.setenv("MINICNN_BACKEND", "strict")
    monkeypatch.setattr(backend, "_current", None)
    assert backend.get_backend() is xs
    assert backend.device_name(xs).startswith("strict") and backend.device_memory(xs) is None


def test_cupy_is_available_only_when_every_library_it_needs_loads(monkeypatch):
    monkeypatch.setattr(backend, "cupy_probe", lambda: {"cupy": "14.2", "gpu": "H200", "cublas": "ok",
                                                        "curand": "ok", "nvrtc": "error: cannot load libnvrtc"})
    assert not backend.cupy_available()
    monkeypatch.setattr(backend, "cupy_probe", lambda: {"cupy": "14.2", "gpu": "H200", "cublas": "ok",
                                                        "curand": "ok", "nvrtc": "ok"})
    assert backend.cupy_available()
