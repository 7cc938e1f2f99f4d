"""Specification of minicnn.optim: update math, in-place updates, state round trips."""
import numpy as np
import pytest

from minicnn import backend
from minicnn.errors import ConfigError, ShapeError
from minicnn.optim import (SGD, Adam, RMSprop, make_optimizer, 
                           optimizer_from_state)


def run_steps(opt, xp, w0, grads):
    """Apply ``opt`` to one parameter "w" starting at ``w0``; return host values after each step."""
    params = {"w": xp.asarray(w0, dtype=xp.float64)}
    out = []
    for g in grads:
        opt.step(params, {"w": xp.asarray(g, dtype=xp.float64)})
        out.append(backend.to_numpy(params["w"]).copy())
    return out


def test_plain_sgd_steps_against_the_gradient(xp):
    # w = [1, -2]; g1 = [0.5, 1]: w -= 0.1 * g1 -> [0.95, -2.1]
    #              g2 = [-1, 2]:  w -= 0.1 * g2 -> [1.05, -2.3]
    w1, w2 = run_steps(SGD(lr=0.1), xp, [1.0, -2.0], [[0.5, 1.0], [-1.0, 2.0]])
    np.testing.assert_allclose(w1, [0.95, -2.1])
    np.testing.assert_allclose(w2, [1.05, -2.3])


def test_momentum_accumulates_a_velocity(xp):
    # mu = 0.9, lr = 0.1, w = 1
    # g = 1:  v = -0.1                      w = 0.9
    # g = 1:  v = 0.9 * -0.1 - 0.1 = -0.19  w = 0.71
    # g = -2: v = 0.9 * -0.19 + 0.2 = 0.029 w = 0.739
    ws = run_steps(SGD(lr=0.1, momentum=0.9), xp, [1.0], [[1.0], [1.0], [-2.0]])
    np.testing.assert_allclose(np.concatenate(ws), [0.9, 0.71, 0.739])


def test_nesterov_uses_the_lookahead_rewrite(xp):
    # mu = 0.9, lr = 0.1, w = 1; v = mu v - lr g; w += mu v - lr g
    # g = 1: v = -0.1   w = 1 - 0.09 - 0.1 = 0.81
    # g = 1: v = -0.19  w = 0.81 - 0.171 - 0.1 = 0.539
    # (cs231n form: w += -mu v_prev + (1 + mu) v = 0.09 - 0.361 = -0.271 -> 0.539)
    ws = run_steps(SGD(lr=0.1, momentum=0.9, nesterov=True), xp, [1.0], [[1.0], [1.0]])
    np.testing.assert_allclose(np.concatenate(ws), [0.81, 0.539])


def test_the_cs231n_velocity_keeps_the_old_learning_rate_and_pytorchs_does_not(xp):
    # mu = 0.9, g = 1 twice, lr 1 then 0.1, w = 0
    # cs231n:  v = -1, w = -1;  v = 0.9 * -1 - 0.1 * 1 = -1.0,  w = -2.0   (the old rate lingers)
    # pytorch: b = 1,  w = -1;  b = 0.9 * 1 + 1 = 1.9, w = -1 - 0.1 * 1.9 = -1.19
    for form, second in (("cs231n", -2.0), ("pytorch", -1.19)):
        opt, params = SGD(lr=1.0, momentum=0.9, form=form), {"w": xp.zeros(1)}
        opt.step(params, {"w": xp.ones(1)})
        opt.lr = 0.1
        opt.step(params, {"w": xp.ones(1)})
        np.testing.assert_allclose(backend.to_numpy(params["w"]), [second], err_msg=form)


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_the_two_forms_agree_at_a_constant_learning_rate(xp, rng, name):
    grads = rng.normal(size=(6, 5))
    ours = [run_steps(make_optimizer(name, lr=0.05, form=form), xp, np.ones(5), grads)
            for form in ("cs231n", "pytorch")]
    np.testing.assert_allclose(ours[0], ours[1], rtol=1e-12)


def test_rmsprop_divides_by_running_rms(xp):
    # lr = 0.01, decay = 0.9, w = 1
    # g = 2: c = 0.1 * 4 = 0.4          w = 1 - 0.02 / sqrt(0.4)       = 0.96837722
    # g = 2: c = 0.9 * 0.4 + 0.4 = 0.76 w = 0.96837722 - 0.02 / sqrt(0.76) = 0.94543565
    ws = run_steps(RMSprop(lr=0.01, decay=0.9), xp, [1.0], [[2.0], [2.0]])
    np.testing.assert_allclose(np.concatenate(ws), [0.96837722, 0.94543565], rtol=1e-7)


def test_adam_bias_corrected_steps(xp):
    # lr = 0.1, b1 = 0.9, b2 = 0.999, w = 1
    # g = 2:  m = 0.2, v = 0.004; m_hat = 2, v_hat = 4;      w = 1 - 0.1 * 2 / 2 = 0.9
    # g = -1: m = 0.08, v = 0.004996; m_hat = 0.08 / 0.19 = 0.42105263,
    #         v_hat = 0.004996 / 0.001999 = 2.49924962, sqrt = 1.58090152
    #         w = 0.9 - 0.1 * 0.42105263 / 1.58090152 = 0.87336630
    ws = run_steps(Adam(lr=0.1), xp, [1.0], [[2.0], [-1.0]])
    np.testing.assert_allclose(np.concatenate(ws), [0.9, 0.87336630], rtol=1e-7)


def test_adam_first_step_is_lr_times_sign_of_gradient(xp, rng):
    g = rng.normal(size=(4, 5)) * 10.0 ** rng.integers(-3, 3, size=(4, 5))
    (w1,) = run_steps(Adam(lr=0.01), xp, np.zeros((4, 5)), [g])
    np.testing.assert_allclose(w1, -0.01 * np.sign(g), rtol=1e-4)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam"])
def test_update_is_in_place_and_keeps_float32(xp, rng, name):
    params = {"W": xp.asarray(rng.normal(size=(3, 4)), dtype=xp.float32),
              "b": xp.zeros(4, dtype=xp.float32)}
    before = {k: v.copy() for k, v in params.items()}
    arrays = dict(params)
    opt = make_optimizer(name, lr=0.1)
    for _ in range(2):
        opt.step(params, {k: xp.asarray(rng.normal(size=v.shape), dtype=xp.float32)
                          for k, v in params.items()})
    for k in params:
        assert params[k] is arrays[k]
        assert params[k].dtype == xp.float32
        assert not xp.array_equal(params[k], before[k])


def test_parameters_without_gradient_are_left_alone(xp):
    params = {"W": xp.ones(3), "frozen": xp.ones(3)}
    make_optimizer("adam", lr=0.1).step(params, {"W": xp.ones(3)})
    assert backend.to_numpy(params["frozen"]).tolist() == [1.0, 1.0, 1.0]
    assert backend.to_numpy(params["W"]).tolist() != [1.0, 1.0, 1.0]


@pytest.mark.parametrize("name,kwargs", [
    ("sgd", {}), ("momentum", {"momentum": 0.8}), ("nesterov", {}), ("nesterov", {"form": "pytorch"}),
    ("rmsprop", {"decay": 0.9}), ("adam", {"beta1": 0.8, "beta2": 0.99})])
def test_state_round_trip_through_npz_continues_identically(xp, rng, tmp_path, name, kwargs):
    shapes = {"conv1.W": (2, 1, 3, 3), "conv1.b": (2,), "fc/W": (5, 3)}
    w0 = {k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}
    grads = [{k: xp.asarray(rng.normal(size=s), dtype=xp.float32) for k, s in shapes.items()}
             for _ in range(3)]

    ref = {k: xp.asarray(v) for k, v in w0.items()}
    opt = make_optimizer(name, lr=0.05, **kwargs)
    for g in grads:
        opt.step(ref, g)

    params = {k: xp.asarray(v) for k, v in w0.items()}
    first = make_optimizer(name, lr=0.05, **kwargs)
    for g in grads[:2]:
        first.step(params, g)
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    with np.load(tmp_path / "opt.npz") as f:
        resumed = optimizer_from_state(dict(f))
    assert type(resumed) is type(first) and repr(resumed) == repr(first)
    resumed.step(params, grads[2])
    for k in shapes:
        assert params[k].dtype == xp.float32
        np.testing.assert_array_equal(backend.to_numpy(params[k]), backend.to_numpy(ref[k]))


def test_state_dict_is_flat_with_host_arrays(xp):
    opt = make_optimizer("adam", lr=0.1)
    opt.step({"a.W": xp.ones(2)}, {"a.W": xp.ones(2)})
    state = opt.state_dict()
    assert state["name"] == "adam" and state["t"] == 1 and state["lr"] == 0.1
    assert isinstance(state["m/a.W"], np.ndarray) and isinstance(state["v/a.W"], np.ndarray)


def test_schedules_may_change_lr_between_steps(xp):
    opt = SGD(lr=1.0)
    params = {"w": xp.zeros(1)}
    opt.step(params, {"w": xp.ones(1)})
    opt.lr = 0.5
    opt.step(params, {"w": xp.ones(1)})
    assert backend.to_numpy(params["w"]).tolist() == [-1.5]


@pytest.mark.parametrize("name,lr", [("sgd", 0.05), ("momentum", 0.01), ("nesterov", 0.01),
                                     ("rmsprop", 0.01), ("adam", 0.05)])
def test_minimizes_a_quadratic(xp, rng, name, lr):
    # f(w) = 0.5 * sum(a * (w - c)**2), gradient a * (w - c), curvatures 1..10
    a = xp.asarray(rng.uniform(1, 10, size=20))
    c = xp.asarray(rng.normal(size=20))
    params = {"w": xp.zeros(20)}
    opt = make_optimizer(name, lr=lr)
    for _ in range(400):
        opt.step(params, {"w": a * (params["w"] - c)})
    assert float(xp.abs(params["w"] - c).max()) < 1e-2


def test_matches_pytorch_on_random_steps(rng):
    torch = pytest.importorskip("torch")
    cases = [("sgd", {}, torch.optim.SGD, {}),
             ("momentum", {}, torch.optim.SGD, {"momentum": 0.9}),
             ("nesterov", {}, torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
             ("rmsprop", {"decay": 0.9}, torch.optim.RMSprop, {"alpha": 0.9}),
             ("adam", {}, torch.optim.Adam, {})]
    w0 = rng.normal(size=(3, 4))
    grads = rng.normal(size=(5, 3, 4))
    for name, ours_kw, torch_cls, torch_kw in cases:
        params = {"w": w0.copy()}
        opt = make_optimizer(name, lr=0.01, **ours_kw)
        tw = torch.tensor(w0.copy(), requires_grad=True)
        topt = torch_cls([tw], lr=0.01, **torch_kw)
        for g in grads:
            opt.step(params, {"w": g})
            tw.grad = torch.tensor(g)
            topt.step()
        np.testing.assert_allclose(params["w"], tw.detach().numpy(), rtol=1e-6, atol=1e-9,
                                   err_msg=name)


@pytest.mark.parametrize("nesterov", [False, True])
def test_pytorch_form_matches_torch_sgd_under_a_changing_learning_rate(rng, nesterov):
    torch = pytest.importorskip("torch")
    w0, grads = rng.normal(size=(3, 4)), rng.normal(size=(8, 3, 4))
    rates = [0.1, 0.1, 0.05, 0.05, 0.01, 0.3, 0.3, 0.001]            # a schedule, however odd
    params = {"w": w0.copy()}
    opt = make_optimizer("nesterov" if nesterov else "momentum", lr=rates[0], momentum=0.8, form="pytorch")
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.SGD([tw], lr=rates[0], momentum=0.8, nesterov=nesterov)
    cs231n = {"w": w0.copy()}
    other = make_optimizer("nesterov" if nesterov else "momentum", lr=rates[0], momentum=0.8)
    for lr, g in zip(rates, grads):
        opt.lr = other.lr = topt.param_groups[0]["lr"] = lr
        opt.step(params, {"w": g})
        other.step(cs231n, {"w": g})
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(params["w"], tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert np.abs(cs231n["w"] - tw.detach().numpy()).max() > 1e-2     # the default form differs here


@pytest.mark.parametrize("call,match", [
    (lambda: make_optimizer("momentum", lr=0.1, form="keras"), "form must be one of cs231n, pytorch"),
    (lambda: make_optimizer("adagrad", lr=0.1), "choose one of sgd, momentum, nesterov, rmsprop, adam"),
    (lambda: make_optimizer("adam"), "lr"),
    (lambda: make_optimizer("adam", lr=0.1, momentum=0.9), "does not take momentum"),
    (lambda: make_optimizer("sgd", lr=-1), r"lr must be in \(0, inf\), got -1"),
    (lambda: make_optimizer("momentum", lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: SGD(0.1, nesterov=True), "nesterov=True needs momentum"),
    (lambda: Adam(0.1, beta2="x"), "beta2 must be a number"),
    (lambda: RMSprop(0.1, eps=0), r"eps must be in \(0, inf\)"),
    (lambda: optimizer_from_state({"name": "lbfgs"}), "expected a state_dict"),
    (lambda: Adam(0.1).load_state_dict(SGD(0.1).state_dict()), "optimizer_from_state"),
])
def test_bad_configs_raise_config_error(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


def test_gradient_errors_name_the_parameter(xp):
    opt = make_optimizer("momentum", lr=0.1)
    with pytest.raises(ShapeError, match=r"'W' has shape \(2,\) but the parameter has \(3,\)"):
        opt.step({"W": xp.zeros(3)}, {"W": xp.zeros(2)})
    with pytest.raises(ConfigError, match="'V' has no parameter"):
        opt.step({"W": xp.zeros(3)}, {"V": xp.zeros(3)})


def test_loaded_state_of_another_shape_is_a_shape_error(xp):
    opt = make_optimizer("adam", lr=0.1)
    opt.step({"W": xp.zeros(3)}, {"W": xp.ones(3)})
    other = optimizer_from_state(opt.state_dict())
    with pytest.raises(ShapeError, match="m/W has shape"):
        other.step({"W": xp.zeros(4)}, {"W": xp.ones(4)})


def test_a_rejected_step_changes_nothing(xp):
    opt = make_optimizer("adam", lr=0.1)
    params = {"a": xp.ones(2), "b": xp.ones(3)}
    with pytest.raises(ShapeError):
        opt.step(params, {"a": xp.ones(2), "b": xp.ones(4)})
    assert opt.t == 0 and backend.to_numpy(params["a"]).tolist() == [1.0, 1.0]


def test_loading_state_made_with_other_hyper_parameters_is_a_config_error():
    state = make_optimizer("momentum", lr=0.1, momentum=0.8).state_dict()
    with pytest.raises(ConfigError, match="momentum=0.8"):
        make_optimizer("momentum", lr=0.1).load_state_dict(state)


@pytest.mark.parametrize("name", ["sgd", "nesterov", "rmsprop", "adam"])
def test_updates_by_blocks_on_threads_equal_whole_array_updates(monkeypatch, xp, rng, name):
    """Updates are element-wise: cut into tiny blocks on two threads they give the same numbers, and a
    parameter that is a strided view is still updated in place."""
    from minicnn.layers import _parallel
    w0 = rng.standard_normal((7, 11)).astype(np.float32)
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(3)]

    def run(block_bytes, threads, strided):
        monkeypatch.setattr(_parallel, "BLOCK_BYTES", block_bytes)
        _parallel.set_host_threads(threads)
        try:
            spread = np.zeros((7, 22), dtype=np.float32)
            spread[:, ::2] = w0
            opt = make_optimizer(name, lr=0.01)
            params = {"w": xp.asarray(spread)[:, ::2] if strided else xp.asarray(w0.copy())}
            for g in grads:
                opt.step(params, {"w": xp.asarray(g)})
            return backend.to_numpy(params["w"])
        finally:
            _parallel.set_host_threads(None)
    whole = run(2 ** 40, 1, False)
    np.testing.assert_array_equal(run(40, 2, False), whole)
    np.testing.assert_array_equal(run(40, 2, True), whole)
