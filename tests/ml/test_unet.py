"""The U-Net layout (jaxem.ml.unet) against atomai's published parameter count."""
import jax

from jaxem.ml.unet import UNetConfig, count_parameters, init_variables


def test_atomai_parameter_count():
    # atomai Unet(nb_classes=1, nb_filters=16, layers=[1, 2, 2, 3], batch_norm=True): 594,033 parameters
    shapes = jax.eval_shape(lambda k: init_variables(k, UNetConfig(), 16), jax.random.PRNGKey(0))
    assert count_parameters(shapes) == 594_033
