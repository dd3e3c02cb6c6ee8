"""Synthetic on-device batches, MNIST as colour images, and the small ResNet learning MNIST."""

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.datasets import read_data_sets
from tfcourse.errors import CourseError
from tfcourse.resnet import data, model as resnet_model, train
from tfcourse.settings import set_seed


def test_mnist_to_rgb_pads_to_32_and_repeats_channels():
    digits = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    images = data.mnist_to_rgb(digits, 32).numpy()
    assert images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(images[..., 0], images[..., 2])
    np.testing.assert_allclose(images[:, 2:30, 2:30, 1].reshape(3, 784), digits)
    assert images[:, :2].sum() == 0 and images[:, 30:].sum() == 0
    assert data.mnist_to_rgb(digits, 16).shape == (3, 16, 16, 3)
    with pytest.raises(CourseError, match="image_size"):
        data.mnist_to_rgb(digits, 4)


def test_synthetic_batch_is_reproducible_and_shaped():
    first = data.synthetic_batch(8, 24, 7, seed=3)
    again = data.synthetic_batch(8, 24, 7, seed=3)
    other = data.synthetic_batch(8, 24, 7, seed=4)
    images, labels = first
    assert images.shape == (8, 24, 24, 3) and images.dtype == tf.float32
    assert labels.shape == (8,) and labels.dtype == tf.int32
    assert 0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) < 1
    assert 0 <= int(tf.reduce_min(labels)) and int(tf.reduce_max(labels)) < 7
    np.testing.assert_array_equal(images.numpy(), again[0].numpy())
    assert not np.array_equal(images.numpy(), other[0].numpy())


def test_mnist_dataset_batches():
    data_sets = read_data_sets(fake_data=True)
    images, labels = next(iter(data.mnist_dataset(data_sets.train, 16, image_size=32)))
    assert images.shape == (16, 32, 32, 3) and labels.dtype == tf.int32


def test_small_resnet_learns_mnist_with_the_benchmark_step():
    set_seed(0)
    data_sets = read_data_sets()
    net = resnet_model.small_resnet(image_size=16)
    result = train.train_on_mnist(net, data_sets, steps=100, batch_size=64, learning_rate=0.05,
                                  eval_examples=1000)
    assert result["steps"] == 100
    assert result["accuracy"] > 0.5, result  # chance is 0.1
    assert result["loss"] < 1.5
