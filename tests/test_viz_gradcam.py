"""Grad-CAM: ReLU(sum_k alpha_k A_k), alpha_k the spatial mean of d score / d A_k, upsampled."""
import numpy as np
import pytest
from skimage.transform import resize as sk_resize

from minicnn.backend import to_numpy
from minicnn.errors import ConfigError
from minicnn.models import Model, parse_spec
from minicnn.viz.gradcam import default_layer, gradcam, gradcam_figure
from viz_models import tiny_classifier, tiny_model


def two_blob_model_and_image(rng, size=16):
    """A face-sized image with a bright blob top-left and a dark blob bottom-right, and a model
    whose class 0 reads only the top-left quadrant of a bright detector and class 1 only the
    bottom-right quadrant of a dark detector (1x1 conv, ReLU, scores)."""
    model = Model(parse_spec("c2k1", input_shape=[1, size, size], n_classes=2), dtype=np.float64).eval()
    h = size // 2
    weights = np.zeros((2, size, size, 2))
    weights[0, :h, :h, 0] = 1.0   # class 0: bright detector, top-left quadrant only
    weights[1, h:, h:, 1] = 1.0   # class 1: dark detector, bottom-right quadrant only
    model.load_state_dict({**model.state_dict(),
                           "conv1.W": np.array([1.0, -1.0]).reshape(2, 1, 1, 1),
                           "conv1.b": np.array([-0.75, 0.25]),  # channel 0 fires above 0.75, channel 1 below 0.25
                           "scores.W": weights.reshape(-1, 2)})
    image = 0.5 + 0.02 * rng.standard_normal((1, 1, size, size))
    image[0, 0, 2:6, 2:6] = 1.0
    image[0, 0, 10:14, 10:14] = 0.0
    return model, image


@pytest.mark.parametrize("cls, quadrant", [(0, (0, 0)), (1, (1, 1))])
def test_gradcam_peaks_in_the_region_the_class_score_reads(rng, cls, quadrant):
    model, image = two_blob_model_and_image(rng)
    cam = gradcam(model, image, cls, layer="relu1")[0]
    q = cam.reshape(2, 8, 2, 8).transpose(0, 2, 1, 3).mean(axis=(2, 3))  # mean per quadrant
    peak = np.unravel_index(cam.argmax(), cam.shape)
    assert (peak[0] // 8, peak[1] // 8) == quadrant
    others = [q[i, j] for i in range(2) for j in range(2) if (i, j) != quadrant]
    assert q[quadrant] > 10 * max(others)


def test_gradcam_is_relu_of_gradient_weighted_maps_upsampled_bilinearly(rng, xp):
    model = tiny_model(size=16, dtype=np.float64, xp=xp)
    x = rng.standard_normal((2, 1, 16, 16))
    layer = "relu2"  # 4 maps of 16x16 before the pool
    result = model.class_gradients(x, np.array([1, 6]), taps=(layer,))
    acts, grads = to_numpy(result.activations[layer]), to_numpy(result.grads[layer])
    expected = np.maximum(np.einsum("nk,nkhw->nhw", grads.mean(axis=(2, 3)), acts), 0)
    np.testing.assert_allclose(gradcam(model, x, np.array([1, 6]), layer), expected, rtol=1e-10, atol=1e-12)
    pooled = gradcam(model, x, 1, "pool2")  # 8x8 maps, resized to the 16x16 input
    assert pooled.shape == (2, 16, 16) and (pooled >= 0).all()
    small = np.maximum(np.einsum("nk,nkhw->nhw", *_alpha_and_maps(model, x, 1, "pool2")), 0)
    np.testing.assert_allclose(pooled, np.stack([sk_resize(s, (16, 16), order=1, mode="edge",
                                                           anti_aliasing=False) for s in small]), atol=1e-10)


def _alpha_and_maps(model, x, cls, layer):
    r = model.class_gradients(x, cls, taps=(layer,))
    return to_numpy(r.grads[layer]).mean(axis=(2, 3)), to_numpy(r.activations[layer])


def test_default_layer_is_the_last_conv_blocks_relu_and_vector_layers_are_refused(rng):
    model = tiny_model(size=16)
    assert default_layer(model) == "relu2"
    with pytest.raises(ConfigError, match="no spatial maps.*relu2"):
        gradcam(model, rng.standard_normal((1, 1, 16, 16)).astype(np.float32), 0, layer="fc1")
    with pytest.raises(ConfigError, match="no layer named"):
        gradcam(model, rng.standard_normal((1, 1, 16, 16)).astype(np.float32), 0, layer="conv9")


def test_gradcam_figure_overlays_one_map_per_class_on_the_face(rng):
    clf = tiny_classifier(size=16)
    fig = gradcam_figure(clf, rng.uniform(0, 255, (16, 16)), classes=[0, 3])
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 3 and len(shown[1].images) == 2  # the face plus the heat map on top
