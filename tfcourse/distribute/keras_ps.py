"""A Keras 3 optimizer under asynchronous ParameterServerStrategy: what it loses, what it keeps.

Two workers applying updates to the same ps variables at the same time lose an update when
it is applied as read-then-write (`v.assign(v - step)`: a write landing between another
worker's read and its write is overwritten), not when it is one op on the ps
(`v.assign_sub(step)`, under the variable's lock). Which one does a Keras 3 optimizer do?
Read in keras/src (3.15, TensorFlow backend):

  * `SGD.update_step` calls `self.assign_sub(variable, lr * gradient)`, and the TF backend's
    `TFOptimizer.assign_sub` unwraps a `keras.Variable` to its `tf.Variable` and calls
    `tf.Variable.assign_sub`: the weights get one AssignSubVariableOp each.
  * the optimizer's own step counter, `optimizer.iterations`, is a `keras.Variable`, whose
    `assign_add` is `self.assign(self + value)`: read, then write (an AssignVariableOp).

`keras_sgd_async` runs the experiment: asynchronous SGD with `keras.optimizers.SGD` on a local
1-ps cluster, then checks the softmax biases against the sum of every step the workers sent
(no weight update lost: float rounding) and `optimizer.iterations` against the number of
steps (increments lost when two workers overlap).
"""

import dataclasses
import gc

import numpy as np

from tfcourse import graphs, mnist, settings
from tfcourse.distribute import paramserver
from tfcourse.errors import check_positive_int


@dataclasses.dataclass
class KerasPsResult:
    """One asynchronous run of keras.optimizers.SGD on the ps."""

    steps: int            # updates the workers applied (one per scheduled call)
    iterations: int       # optimizer.iterations at the end: == steps unless increments were lost
    bias_gap: float       # max |final biases - (initial - sum of every step sent)|
    mean_bias_step: float  # mean |one step| on a softmax bias, the size a lost update would leave


def keras_sgd_async(data_sets, num_workers=2, steps=100, batch_size=100, learning_rate=0.1, seed=0,
                    hidden1=128, hidden2=32):
    """Asynchronous SGD of the MLP with keras.optimizers.SGD on a local ps cluster.

    Each scheduled call is one step on whichever worker is free (`strategy.run` holds the
    optimizer's merge point, which a loop inside the call cannot). Connects this process to
    a new cluster, like `paramserver.train_async`.
    Returns:
      KerasPsResult.
    """
    import keras
    import tensorflow as tf

    for name, value in (("num_workers", num_workers), ("steps", steps), ("batch_size", batch_size)):
        check_positive_int(name, value)
    settings.set_seed(seed)
    batches = paramserver.global_batches(data_sets.train.num_examples, batch_size, seed, steps)
    images, labels = data_sets.train.images, data_sets.train.labels.astype(np.int32)
    gc.collect()  # see paramserver.train_async: earlier runs' functions die before connecting
    strategy, coordinator = paramserver.make_ps_strategy(num_workers)
    with strategy.scope():
        model = mnist.MLP(hidden1, hidden2, seed=seed)
        optimizer = keras.optimizers.SGD(learning_rate=learning_rate)
        optimizer.build(model.trainable_variables)
    biases = model.softmax_linear.biases
    bias_index = [v.ref() for v in model.trainable_variables].index(biases.ref())
    initial_biases = biases.numpy()

    @tf.function(input_signature=[tf.TensorSpec([batch_size, mnist.IMAGE_PIXELS], tf.float32),
                                  tf.TensorSpec([batch_size], tf.int32)])
    def worker_step(step_images, step_labels):
        """One SGD step on the ps's variables -> the step it sent for the softmax biases, float32 [10]."""
        def replica_step(step_images, step_labels):
            with tf.GradientTape() as tape:
                loss = mnist.loss(model(step_images), step_labels)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return learning_rate * gradients[bias_index]
        return strategy.run(replica_step, args=(step_images, step_labels))

    sent = [coordinator.schedule(worker_step, args=(tf.constant(images[rows]), tf.constant(labels[rows])))
            for rows in batches]
    coordinator.join()
    bias_steps = np.stack([value.fetch() for value in sent]).astype(np.float64)
    expected = initial_biases - bias_steps.sum(axis=0)
    return KerasPsResult(steps=len(sent), iterations=int(optimizer.iterations.numpy()),
                         bias_gap=float(np.max(np.abs(biases.numpy() - expected))),
                         mean_bias_step=float(np.abs(bias_steps).mean()))


def update_op_counts(hidden1=128, hidden2=32):
    """How keras.optimizers.SGD writes: op counts of one traced `apply_gradients` on the MLP.

    Returns:
      {"AssignSubVariableOp": n, "AssignVariableOp": m, "AssignAddVariableOp": k}: one
      assign_sub per weight tensor, and the read-then-write of `iterations`.
    """
    import keras
    import tensorflow as tf

    model = mnist.MLP(hidden1, hidden2)
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    optimizer.build(model.trainable_variables)

    @tf.function
    def apply(gradients):
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    counts = graphs.op_type_counts(apply.get_concrete_function([tf.zeros_like(v) for v in model.trainable_variables]).graph)
    return {name: counts[name] for name in ("AssignSubVariableOp", "AssignVariableOp", "AssignAddVariableOp")}
