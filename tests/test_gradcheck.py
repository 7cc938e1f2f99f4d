"""The gradient checker: right backward passes pass, wrong ones fail by name, kinks are excused."""
import numpy as np
import pytest

from minicnn.backend import backend_name, to_numpy
from minicnn.commands import main
from minicnn.errors import ConfigError
from minicnn.gradcheck import (GradcheckCase, check_function, check_layer, check_loss, 
                               numerical_gradient)
from minicnn.layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                            maxpool_backward, maxpool_forward, relu_backward, relu_forward, softmax_cross_entropy,
                            spatial_batchnorm_backward, spatial_batchnorm_forward)


def test_numerical_gradient_of_a_scalar_function(xp, rng):
    x = xp.asarray(rng.standard_normal((3, 4)))
    before = to_numpy(x).copy()
    grad = numerical_gradient(lambda: float((x ** 3).sum()), x)
    # Truncation error h^2 * f'''/6 = 1e-10 for x^3 at the default h=1e-5.
    np.testing.assert_allclose(to_numpy(grad), 3 * before ** 2, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(to_numpy(x), before)          # restored exactly


def test_numerical_gradient_contracts_array_outputs_with_dout(xp, rng):
    x = xp.asarray(rng.standard_normal(5))
    dout = xp.asarray(rng.standard_normal(5))
    grad = numerical_gradient(lambda: xp.sin(x), x, dout)
    np.testing.assert_allclose(to_numpy(grad), to_numpy(xp.cos(x) * dout), rtol=1e-8)


def test_numerical_gradient_on_a_subset_of_indices(xp, rng):
    x = xp.asarray(rng.standard_normal((4, 5)))
    grad = numerical_gradient(lambda: float((x ** 2).sum()), x, indices=[0, 7, 19])
    np.testing.assert_allclose(to_numpy(grad), 2 * to_numpy(x).ravel()[[0, 7, 19]], rtol=1e-8)


def test_numerical_gradient_refuses_float32(xp):
    x = xp.ones(3, dtype=xp.float32)
    with pytest.raises(ConfigError, match="x has dtype float32; gradient checks need float64"):
        numerical_gradient(lambda: float(x.sum()), x)


def affine_inputs(xp, rng):
    return dict(x=xp.asarray(rng.standard_normal((4, 3, 2))), w=xp.asarray(rng.standard_normal((6, 5))),
                b=xp.asarray(rng.standard_normal(5)))


def test_a_right_backward_passes_with_one_row_per_input(xp, rng):
    report = check_layer(affine_forward, affine_backward, affine_inputs(xp, rng))
    assert report.passed
    assert [r.name for r in report.rows] == ["x", "w", "b"]
    assert report.row("x").shape == (4, 3, 2) and report.row("x").checked == 24
    text = str(report)
    assert "affine_forward" in text and "PASSED" in text and "max rel err" in text


def test_a_wrong_backward_fails_and_names_the_wrong_input(xp, rng):
    def wrong_backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw * 1.001, db                               # dw off by 0.1 %

    report = check_layer(affine_forward, wrong_backward, affine_inputs(xp, rng))
    assert not report.passed
    assert report.row("x").passed and report.row("b").passed and not report.row("w").passed
    assert report.row("w").max_rel_error > 1e-4
    assert "FAIL" in str(report) and "FAILED" in str(report)


def test_a_gradient_of_the_wrong_shape_fails_with_a_note(xp, rng):
    report = check_layer(affine_forward, lambda d, c: affine_backward(d, c)[:2] + (xp.zeros(4),),
                         affine_inputs(xp, rng))
    assert not report.row("b").passed and "needs (5,)" in report.row("b").note


def test_relu_kinks_are_skipped_and_reported(xp, rng):
    x = rng.standard_normal(30)
    x[:4] = [0.0, 3e-6, -3e-6, 0.0]                              # within h=1e-5 of the kink
    report = check_layer(relu_forward, relu_backward, dict(x=xp.asarray(x)))
    assert report.passed, str(report)
    assert report.row("x").skipped == 4
    assert "kink" in report.row("x").note and "kink" in str(report)


def test_maxpool_ties_are_skipped_as_kinks(xp, rng):
    x = rng.standard_normal((1, 2, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 0, 0] = 5.0                          # a tie in the first window
    report = check_layer(maxpool_forward, maxpool_backward, dict(x=xp.asarray(x)))
    assert report.passed, str(report)
    assert report.row("x").skipped >= 1


def test_a_wrong_backward_is_not_excused_near_kinks(xp, rng):
    x = rng.standard_normal(20)
    x[:2] = [0.0, 1e-6]
    report = check_layer(relu_forward, lambda dout, cache: dout, dict(x=xp.asarray(x)))
    assert not report.passed                                    # negative inputs got gradient


def test_errors_within_rounding_noise_pass_and_are_counted(xp, rng):
    # A large constant makes f(x+h) - f(x-h) lose ~10 digits: n is only good to ~1e-5.
    x = xp.asarray(rng.standard_normal(8))
    report = check_function(lambda: float((x ** 2).sum()) + 1e6, {"x": x}, {"x": 2 * x})
    assert report.passed, str(report)
    assert report.row("x").at_noise > 0
    wrong = check_function(lambda: float((x ** 2).sum()) + 1e6, {"x": x}, {"x": 2.01 * x})
    assert not wrong.passed


def batchnorm_with_beta(xp, beta):
    r = np.random.default_rng(3)
    return (dict(x=xp.asarray(r.standard_normal((8, 2, 16, 16))), gamma=xp.asarray(r.standard_normal(2)),
                 beta=xp.full(2, beta)),
            dict(running_mean=xp.zeros(2), running_var=xp.ones(2), train=True))


def test_large_outputs_do_not_excuse_a_wrong_gradient(xp):
    # Issue 18: with beta = 1e4 every output is about 1e4 and each finite difference
    # carries 1e4 times more rounding; dx off by 0.1 % must still fail.
    def off_by_a_thousandth(dout, cache):
        dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
        return dx * 1.001, dgamma, dbeta

    inputs, config = batchnorm_with_beta(xp, 1e4)
    report = check_layer(spatial_batchnorm_forward, off_by_a_thousandth, inputs, config, max_elements=60)
    assert not report.passed and not report.row("x").passed
    assert report.row("gamma").passed and report.row("beta").passed
    assert report.row("x").dir_rel_error == pytest.approx(5e-4, rel=0.01)    # 1.001 against 1: 1e-3 / 2
    assert "along v the gradient is off" in str(report)


def test_large_outputs_pass_when_the_gradient_is_right_and_the_report_shows_the_noise(xp):
    inputs, config = batchnorm_with_beta(xp, 1e4)
    report = check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward, inputs, config, max_elements=60)
    assert report.passed, str(report)
    x = report.row("x")
    assert x.at_noise > 0                                  # single elements cannot resolve 1e-7 here ...
    assert x.dir_rel_error < 1e-7 < x.dir_noise < 1e-4     # ... the direction can, to better than 1e-4
    assert "along v" in str(report) and "noise" in str(report)


def test_outputs_too_large_for_finite_differences_are_inconclusive_not_passed(xp):
    # beta = 1e8: rounding alone hides relative errors of 1e-2; a right gradient cannot be told
    # from a wrong one, so the row fails and says why.
    inputs, config = batchnorm_with_beta(xp, 1e8)
    report = check_layer(spatial_batchnorm_forward, spatial_batchnorm_backward, inputs, config, max_elements=30)
    assert not report.passed
    for row in report.rows:
        assert not row.passed and row.dir_noise > 1e-4 and "inconclusive" in row.note


def test_a_gradient_that_is_zero_everywhere_is_checked_element_by_element(xp):
    x = xp.asarray(-1 - np.abs(np.random.default_rng(0).standard_normal(10)))     # ReLU's dead side
    report = check_layer(relu_forward, relu_backward, dict(x=x))
    assert report.passed and np.isnan(report.row("x").dir_rel_error)           # nothing to move along
    assert not check_layer(relu_forward, lambda dout, cache: dout, dict(x=x)).passed


def test_a_bias_before_batch_norm_passes_as_zero_within_noise(xp, rng):
    # Batch norm removes any per-feature constant: d/db of bn(x + b) is 0, and the
    # differences find nothing but rounding. The row passes and says so.
    def forward(x, b):
        out, cache, _ = batchnorm_forward(x + b, xp.ones(3), xp.zeros(3), xp.zeros(3), xp.ones(3), True)
        return out, cache

    def backward(dout, cache):
        dx = batchnorm_backward(dout, cache)[0]
        return dx, dx.sum(axis=0)

    report = check_layer(forward, backward, dict(x=xp.asarray(rng.standard_normal((6, 3))), b=xp.zeros(3)))
    assert report.passed, str(report)
    assert "zero within noise" in report.row("b").note
    wrong = check_layer(forward, lambda dout, cache: (backward(dout, cache)[0], xp.ones(3)),
                        dict(x=xp.asarray(rng.standard_normal((6, 3))), b=xp.zeros(3)))
    assert not wrong.row("b").passed


def test_a_gradient_far_smaller_than_the_others_is_held_to_their_floor(xp, rng):
    # d/dt is 1e-7 of d/dx: relative to itself its differences are noisy, relative to the
    # check's largest derivative (SCALE_FLOOR of it) they are exact to ~1e-10: not inconclusive.
    def forward(x, t):
        return x + 1e-7 * t * x * x, (x, t)

    def backward(dout, cache):
        x, t = cache
        return dout * (1 + 2e-7 * t * x), 1e-7 * (dout * x * x).sum(keepdims=True).reshape(1)

    inputs = dict(x=xp.asarray(rng.standard_normal(20)), t=xp.asarray([0.5]))
    report = check_layer(forward, backward, inputs)
    assert report.passed and report.row("t").dir_noise < 1e-4, str(report)
    assert not check_layer(forward, lambda d, c: (backward(d, c)[0], 3 * backward(d, c)[1]), inputs).passed


def test_a_wrong_gradient_in_one_element_fails_element_by_element(xp, rng):
    def one_wrong(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dw = dw.copy()
        dw[2, 3] += 1e-4 * float(abs(dw).max())
        return dx, dw, db

    report = check_layer(affine_forward, one_wrong, affine_inputs(xp, rng))
    assert not report.row("w").passed and report.row("w").worst_index == (2, 3)


def test_inputs_of_size_1e_4_are_stepped_by_a_proportionally_smaller_h(xp, rng):
    # Values 1e-4 apart in a max-pool window: a step of 1e-5 would cross ties
    # everywhere; h scaled by the input's RMS does not, and no element is a kink.
    x = xp.asarray(rng.standard_normal((2, 2, 6, 6)) * 1e-4)
    report = check_layer(maxpool_forward, maxpool_backward, dict(x=x), config=dict(size=3, stride=1))
    assert report.passed and report.row("x").skipped == 0, str(report)


def test_random_subset_mode_checks_only_max_elements(xp, rng):
    inputs = affine_inputs(xp, rng)
    report = check_layer(affine_forward, affine_backward, inputs, max_elements=10, seed=3)
    assert report.passed
    assert [r.checked for r in report.rows] == [10, 10, 5]


def test_check_layer_never_touches_the_callers_arrays(rng):
    inputs = {k: v.astype(np.float32) for k, v in affine_inputs(np, rng).items()}
    before = {k: v.copy() for k, v in inputs.items()}
    assert check_layer(affine_forward, affine_backward, inputs).passed   # float32 is cast to float64
    for k in inputs:
        assert inputs[k].dtype == np.float32
        np.testing.assert_array_equal(inputs[k], before[k])


def test_check_function_checks_any_scalar_function_of_several_arrays(xp, rng):
    params = {"a": xp.asarray(rng.standard_normal(3)), "b": xp.asarray(rng.standard_normal((2, 3)))}

    def f():
        return float(((params["b"] @ params["a"]) ** 2).sum())

    r = params["b"] @ params["a"]
    right = {"a": 2 * params["b"].T @ r, "b": 2 * r[:, None] * params["a"][None, :]}
    assert check_function(f, params, right).passed
    wrong = dict(right, a=right["a"] + 1e-3)
    report = check_function(f, params, wrong)
    assert not report.row("a").passed and report.row("b").passed


def test_check_loss_checks_a_value_and_gradient_function(xp, rng):
    report = check_loss(softmax_cross_entropy, {"scores": xp.asarray(rng.standard_normal((4, 3)))},
                        {"y": xp.asarray([0, 2, 1, 1])})
    assert report.passed and report.rows[0].name == "scores"


def test_backward_returning_the_wrong_number_of_gradients_is_a_config_error(rng):
    with pytest.raises(ConfigError, match="backward returned 2 gradients but grad_names lists 3"):
        check_layer(affine_forward, lambda d, c: affine_backward(d, c)[:2], affine_inputs(np, rng))


def test_cli_checks_every_builtin_layer_and_prints_tables(xp, capsys):
    assert main(["gradcheck", "--max-elements", "40", "--backend", backend_name(xp)]) == 0
    out = capsys.readouterr().out
    for name in ("conv 5x5 stride 2 pad 2", "maxpool 3x3 stride 2", "spatial_batchnorm train",
                 "dropout train", "softmax_cross_entropy", "svm_loss", "concat", "max rel err"):
        assert name in out
    assert "cases passed" in out and "FAILED" not in out


USER_MODULE = '''
import numpy as np
from minicnn.gradcheck import GradcheckCase

def square_forward(x):
    return x * x, x

def square_backward(dout, cache):
    return {factor} * cache * dout

square = GradcheckCase("square", dict(x=np.random.default_rng(0).standard_normal((3, 4))),
                       square_forward, square_backward)

class Cube:
    """Duck-typed protocol: forward, backward and inputs attributes."""
    inputs = dict(x=np.linspace(-1, 1, 5))
    forward = staticmethod(lambda x: (x ** 3, x))
    backward = staticmethod(lambda dout, x: 3 * x ** 2 * dout)
'''


def write_user_module(tmp_path, monkeypatch, name, factor):
    (tmp_path / f"{name}.py").write_text(USER_MODULE.format(factor=factor))
    monkeypatch.syspath_prepend(str(tmp_path))


def test_cli_checks_a_user_layer_given_as_module_colon_name(tmp_path, monkeypatch, capsys):
    write_user_module(tmp_path, monkeypatch, "user_layers_ok", 2)
    assert main(["gradcheck", "user_layers_ok:square", "user_layers_ok:Cube"]) == 0
    out = capsys.readouterr().out
    assert "square" in out and "2 of 2 cases passed" in out


def test_cli_exits_1_when_a_user_layer_is_wrong(tmp_path, monkeypatch, capsys):
    write_user_module(tmp_path, monkeypatch, "user_layers_bad", 3)
    assert main(["gradcheck", "user_layers_bad:square"]) == 1
    assert "FAILED: square" in capsys.readouterr().out


@pytest.mark.parametrize("target, message", [
    ("no_colon_here", "must look like package.module:name"),
    ("no_such_module_xyz:layer", "cannot import no_such_module_xyz"),
    ("minicnn.layers:no_such_layer", "has no 'no_such_layer'"),
])
def test_cli_reports_a_bad_target_in_one_line(capsys, target, message):
    assert main(["gradcheck", target]) == 1
    assert message in capsys.readouterr().err


def test_a_case_runs_on_its_own(rng):
    case = GradcheckCase("relu", dict(x=rng.standard_normal(6)), relu_forward, relu_backward)
    assert case.run().passed
