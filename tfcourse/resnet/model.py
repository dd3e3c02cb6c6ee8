"""ResNet-50 v1.5 in plain Keras 3, and a small variant of the same code for CPU and CI.

v1.5 (the variant NVIDIA, MLPerf and the TensorFlow official models train) differs from the
2015 paper's v1 in one place: a block that halves the resolution puts stride 2 on its 3x3
convolution instead of its first 1x1, so no input pixel is skipped. The parameter count is
unchanged (25,557,032 trainable for 1000 classes); only the FLOPs and accuracy move a little.

Convolutions carry no bias: the BatchNormalization after each one has its own offset (beta),
so a bias would be a redundant parameter. keras.applications.ResNet50 keeps those biases,
which is the whole of the difference between its count and ours (tests/test_resnet_model.py).
"""

import dataclasses
import math

import keras
from keras import layers

from tfcourse.errors import CourseError, check_positive_int

# Values from the TensorFlow official ResNet: a smaller BN momentum than Keras' 0.99 so the
# moving statistics settle within a short benchmark or a CI run.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@dataclasses.dataclass(frozen=True)
class ResNetConfig:
    """The shape of a ResNet: which blocks, how wide, what input.

    blocks_per_stage: bottleneck blocks in each stage; ResNet-50 is (3, 4, 6, 3).
    base_filters: 1x1/3x3 width of the first stage (64); each later stage doubles it and
      a block's output is 4x its width.
    image_size: height = width of the input images.
    num_classes: logits per example.
    stem: "imagenet" = 7x7/2 conv + 3x3/2 max-pool (224 -> 56); "small" = one 3x3/1 conv,
      for 32x32 inputs where the ImageNet stem would leave too few pixels.
    """

    blocks_per_stage: tuple = (3, 4, 6, 3)
    base_filters: int = 64
    image_size: int = 224
    num_classes: int = 1000
    stem: str = "imagenet"

    def __post_init__(self):
        if not self.blocks_per_stage or any(int(b) < 1 for b in self.blocks_per_stage):
            raise CourseError(f"blocks_per_stage must be positive integers, got {self.blocks_per_stage!r}")
        for name in ("base_filters", "image_size", "num_classes"):
            check_positive_int(name, getattr(self, name))
        if self.stem not in ("imagenet", "small"):
            raise CourseError(f"stem must be 'imagenet' or 'small', got {self.stem!r}")
        # Every stage after the first halves the resolution; the stem divides by 4 or 1.
        shrink = (4 if self.stem == "imagenet" else 1) * 2 ** (len(self.blocks_per_stage) - 1)
        if self.image_size < shrink:
            raise CourseError(f"image_size {self.image_size} is too small for this net: "
                              f"expected at least {shrink} pixels")


RESNET50 = ResNetConfig()
# Two stages of one block, 16/32 wide, 32x32 input: 30,874 parameters, ~65 ms a batch-32 step on 2 CPU cores,
# yet every piece of ResNet-50 (stem, strided bottleneck, projection shortcut) is exercised.
SMALL = ResNetConfig(blocks_per_stage=(1, 1), base_filters=16, image_size=32, num_classes=10, stem="small")


def conv_bn(x, filters, kernel_size, strides=1, relu=True, name=None):
    """Conv (no bias) -> BatchNorm -> optional ReLU: the unit every ResNet layer is made of."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=f"{name}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def bottleneck_block(x, filters, strides=1, name="block"):
    """One v1.5 bottleneck: 1x1 (reduce) -> 3x3 (stride here) -> 1x1 (expand to 4x), plus shortcut.

    Args:
      x: [B, H, W, C] feature map.
      filters: width of the 1x1 and 3x3 convolutions; the output has 4 * filters channels.
      strides: 2 in the first block of stages 2-4 (halves H and W), else 1.
    Returns:
      [B, H / strides, W / strides, 4 * filters].
    """
    shortcut = x
    if strides != 1 or x.shape[-1] != 4 * filters:
        # Projection shortcut: only where the shape changes, so the identity path stays free.
        shortcut = conv_bn(x, 4 * filters, 1, strides=strides, relu=False, name=f"{name}_proj")
    x = conv_bn(x, filters, 1, name=f"{name}_1")
    x = conv_bn(x, filters, 3, strides=strides, name=f"{name}_2")
    x = conv_bn(x, 4 * filters, 1, relu=False, name=f"{name}_3")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.ReLU(name=f"{name}_out")(x)


def stem(x, config):
    """The layers before the first stage: [B, S, S, 3] -> [B, S/4, S/4, F] (imagenet) or [B, S, S, F]."""
    if config.stem == "small":
        return conv_bn(x, config.base_filters, 3, name="stem")
    x = conv_bn(x, config.base_filters, 7, strides=2, name="stem")
    return layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)


def resnet(config=RESNET50, name=None):
    """Builds a bottleneck ResNet as a functional keras.Model.

    Input: images [B, S, S, 3] (float; any scaling, the first BN normalises).
    Output: logits [B, num_classes] float32 even under a mixed policy, because softmax and
    the loss lose precision in float16/bfloat16.
    """
    inputs = keras.Input((config.image_size, config.image_size, 3), name="images")
    x = stem(inputs, config)
    for stage, num_blocks in enumerate(config.blocks_per_stage):
        filters = config.base_filters * 2 ** stage
        for block in range(num_blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = bottleneck_block(x, filters, strides, name=f"stage{stage + 1}_block{block + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = layers.Dense(config.num_classes, dtype="float32", name="logits")(x)
    return keras.Model(inputs, logits, name=name or ("resnet50" if config == RESNET50 else "resnet_small"))


def resnet50(num_classes=1000, image_size=224):
    """ResNet-50 v1.5: blocks (3, 4, 6, 3), 64 base filters, ImageNet stem."""
    return resnet(dataclasses.replace(RESNET50, num_classes=num_classes, image_size=image_size))


def small_resnet(num_classes=10, image_size=32, blocks_per_stage=(1, 1), base_filters=16):
    """The CPU/CI variant: same blocks, fewer and narrower, 3x3 stem for small images."""
    return resnet(ResNetConfig(blocks_per_stage=tuple(blocks_per_stage), base_filters=base_filters,
                               image_size=image_size, num_classes=num_classes, stem="small"))


def trainable_parameter_count(model):
    """Number of trainable scalars (what papers quote; BN moving statistics excluded)."""
    return int(sum(math.prod(v.shape) for v in model.trainable_weights))


def gradient_bytes(model, bytes_per_value=4):
    """Bytes of one full gradient, i.e. what each step's all-reduce moves (float32: 4 per value)."""
    return trainable_parameter_count(model) * bytes_per_value
