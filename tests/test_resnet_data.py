"""Synthetic on-device batches, MNIST as colour images, and the small ResNet learning MNIST."""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.datasets import read_data_sets
from tfcourse.errors import CourseError
from tfcourse.resnet import inputs, train_step
from tfcourse.resnet import model as resnet_model
from tfcourse.settings import set_seed


def test_mnist_to_rgb_pads_to_32_and_repeats_channels():
    digits = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    images = inputs.mnist_to_rgb(digits, 32).numpy()
    assert images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    np.testing.assert_allclose(images[:, 2:30, 2:30, 1].reshape(3, 784), digits)
    assert images[:, :2].sum() == 0 and images[:, 30:].sum() == 0
    assert inputs.mnist_to_rgb(digits, 16).shape == (3, 16, 16, 3)
    with pytest.raises(CourseError, match="image_size"):
        inputs.mnist_to_rgb(digits, 4)


def test_synthetic_batch_is_reproducible_and_shaped():
    first = inputs.synthetic_batch(8, 24, 7, seed=3)
    again = inputs.synthetic_batch(8, 24, 7, seed=3)
    other = inputs.synthetic_batch(8, 24, 7, seed=4)
    images, labels = first
    assert images.shape == (8, 24, 24, 3) and images.dtype == tf.float32
    assert labels.shape == (8,) and labels.dtype == tf.int32
    assert 0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) < 1
    assert 0 <= int(tf.reduce_min(labels)) and int(tf.reduce_max(labels)) < 7
    np.testing.assert_array_equal(images.numpy(), again[0].numpy())
    assert not np.array_equal(images.numpy(), other[0].numpy())


def test_mnist_dataset_batches():
    data_sets = read_data_sets(fake_data=True)
    images, labels = next(iter(inputs.mnist_dataset(data_sets.train, 16, image_size=32)))
    assert images.shape == (16, 32, 32, 3) and labels.dtype == tf.int32


def test_small_resnet_learns_mnist_with_the_benchmark_step():
    """Test accuracy after 100 steps is 3x chance or more, on any x86-64 CPU.

    oneDNN picks other kernels on other CPUs, so a seeded run is not bit-identical across
    them; the threshold comes from the spread. Measured (accuracy on the first 1000 test
    images / last training loss after 100 steps, seeds 0-5 of both set_seed and the data order):
      AVX-512 kernels (this EPYC): 0.610 0.579 0.628 0.680 0.677 0.721 / 0.62-0.81
      ONEDNN_MAX_CPU_ISA=AVX2:     0.563 0.674 0.578 0.717 0.704 0.668 / 0.60-0.78
    mean 0.650, sd 0.053, min 0.563; an AVX-512+AMX machine gave 0.468 for seed 0 (issue 16).
    Accuracy > 0.3 sits 6.6 sd below the mean and 0.17 below the AMX run; loss < 1.5 against
    ln(10) = 2.30 at chance. A longer run does not tighten it: at 150 steps the same seeds gave
    0.455-0.876, since evaluation this early leans on BatchNorm moving averages still settling.
    Command: a loop over seeds s of set_seed(s); train_on_mnist(small_resnet(image_size=16),
    read_data_sets(), steps=100, batch_size=64, learning_rate=0.05, eval_examples=1000, seed=s),
    run as is and with ONEDNN_MAX_CPU_ISA=AVX2.
    """
    set_seed(0)
    data_sets = read_data_sets()
    net = resnet_model.small_resnet(image_size=16)
    result = train_step.train_on_mnist(net, data_sets, steps=100, batch_size=64, learning_rate=0.05,
                                  eval_examples=1000)
    assert result["steps"] == 100
    assert result["accuracy"] > 0.3, result  # chance is 0.1; the margin: see the docstring
    assert result["loss"] < 1.5
