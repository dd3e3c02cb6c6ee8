"""ResNet-50 v1.5 and the small variant: parameter counts, structure, shapes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfcourse.errors import CourseError
from tfcourse.resnet import model as resnet_model


def _conv_kernel_shapes(model):
    return sorted(tuple(layer.kernel.shape) for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def test_resnet50_has_25557032_parameters_like_keras_applications():
    ours = resnet_model.resnet50()
    assert resnet_model.trainable_parameter_count(ours) == 25_557_032
    assert ours.output_shape == (None, 1000)
    reference = keras.applications.ResNet50(weights=None)
    # keras.applications keeps a bias in every conv (redundant before BatchNorm); without
    # those, its trainable count and every conv kernel must be ours exactly.
    conv_biases = sum(int(np.prod(layer.bias.shape)) for layer in reference.layers
                      if isinstance(layer, keras.layers.Conv2D) and layer.use_bias)
    reference_trainable = sum(int(np.prod(v.shape)) for v in reference.trainable_weights)
    assert reference_trainable - conv_biases == 25_557_032
    assert _conv_kernel_shapes(ours) == _conv_kernel_shapes(reference)
    assert resnet_model.gradient_bytes(ours) == 4 * 25_557_032


def test_v1_5_puts_the_stride_on_the_3x3_convolution():
    net = resnet_model.resnet50(num_classes=10, image_size=64)
    for stage in (2, 3, 4):
        first = f"stage{stage}_block1"
        assert net.get_layer(f"{first}_1_conv").strides == (1, 1)
        assert net.get_layer(f"{first}_2_conv").strides == (2, 2)
        assert net.get_layer(f"{first}_2_conv").kernel_size == (3, 3)
        assert net.get_layer(f"{first}_proj_conv").strides == (2, 2)
    assert net.get_layer("stage4_block3_out").output.shape[1:] == (2, 2, 2048)


def test_small_variant_shapes_and_forward_pass():
    net = resnet_model.small_resnet()
    assert net.input_shape == (None, 32, 32, 3)
    assert net.get_layer("stage1_block1_out").output.shape[1:] == (32, 32, 64)
    assert net.get_layer("stage2_block1_out").output.shape[1:] == (16, 16, 128)
    logits = net(np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32), training=False)
    assert tuple(logits.shape) == (4, 10)
    assert logits.dtype == tf.float32
    assert 10_000 < resnet_model.trainable_parameter_count(net) < 200_000

    deeper = resnet_model.small_resnet(num_classes=5, image_size=16, blocks_per_stage=(2, 1, 1), base_filters=8)
    assert deeper.output_shape == (None, 5)
    assert deeper.get_layer("stage3_block1_out").output.shape[1:] == (4, 4, 128)


def test_mixed_policy_keeps_float32_logits():
    from tfcourse.resnet import train_step

    with train_step.dtype_policy("mixed_bfloat16"):
        net = resnet_model.small_resnet(image_size=16)
    assert keras.config.dtype_policy().name == "float32"  # restored afterwards
    assert net.get_layer("stage1_block1_1_conv").compute_dtype == "bfloat16"
    assert net(np.zeros((2, 16, 16, 3), np.float32)).dtype == tf.float32


@pytest.mark.parametrize("bad", [dict(image_size=1), dict(blocks_per_stage=()), dict(base_filters=0),
                                 dict(num_classes=2.5)])
def test_bad_configurations_say_what_was_expected(bad):
    with pytest.raises(CourseError, match="expected|must be"):
        resnet_model.small_resnet(**bad)
