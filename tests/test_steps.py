import keras
import numpy as np
import tensorflow as tf

from tfcourse import mnist, settings
from tfcourse.datasets import DataSet, fake_images_and_labels
from tfcourse.training import steps


def test_training_step_is_plain_gradient_descent_and_lowers_the_loss():
    settings.set_seed(0)
    data = DataSet(*fake_images_and_labels(64, seed=0))
    images, labels = data.images, data.labels.astype(np.int32)
    model = mnist.MLP(16, 8, seed=0)
    before = {v.name: v.numpy() for v in model.trainable_variables}
    with tf.GradientTape() as tape:
        expected_loss = mnist.loss(model(images), labels)
    gradients = tape.gradient(expected_loss, model.trainable_variables)

    returned = steps.training_step(model, keras.optimizers.SGD(0.5), images, labels)
    np.testing.assert_allclose(float(returned), float(expected_loss), rtol=1e-6)
    for variable, gradient in zip(model.trainable_variables, gradients):
        np.testing.assert_allclose(variable.numpy(), before[variable.name] - 0.5 * gradient.numpy(), atol=1e-6)

    step, optimizer = tf.function(steps.training_step), keras.optimizers.SGD(0.5)
    losses = [float(step(model, optimizer, images, labels)) for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0]
