"""Model, optimizer, step counter and the compiled multi-step loop, under one tf.distribute strategy.

The default strategy (one device) and MirroredStrategy / MultiWorkerMirroredStrategy all
go through the same code: per-replica batches come from
`strategy.distribute_datasets_from_function`, and `steps_per_call` steps run inside one
tf.function call (so Python overhead does not dominate a small model).
"""

import tensorflow as tf

from tfcourse import mnist, xla
from tfcourse.datasets import pipeline
from tfcourse.training import checkpoints, optimizers


def total_steps(config, num_train_examples):
    """The run's length in steps: config.max_steps, else config.epochs passes over the split."""
    if config.max_steps is not None:
        return int(config.max_steps)
    per_epoch = pipeline.steps_per_epoch(num_train_examples, config.batch_size)
    return max(1, int(round(config.epochs * per_epoch)))


class Trainer:
    """Model, optimizer, step counter and the compiled multi-step loop, under one strategy.

    Args:
      config: TrainConfig.
      num_train_examples: size of the training split (fixes the schedule's length).
      strategy: a tf.distribute.Strategy; default: the current one (a single device).
    """

    def __init__(self, config, num_train_examples, strategy=None):
        self.config = config
        self.strategy = strategy or tf.distribute.get_strategy()
        self.total_steps = total_steps(config, num_train_examples)
        pipeline.check_batch(config.batch_size, num_train_examples, self.strategy.num_replicas_in_sync,
                             split="training")
        with self.strategy.scope():
            self.model = mnist.MLP(config.hidden1, config.hidden2, seed=config.seed)
            schedule = optimizers.make_schedule(config.lr_schedule, config.learning_rate, self.total_steps)
            self.optimizer = optimizers.make_optimizer(config.optimizer, schedule, config.momentum)
            # Build the slots now: a restore then fills them instead of deferring.
            self.optimizer.build(self.model.trainable_variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.checkpoint = checkpoints.make_checkpoint(self.model, self.optimizer, self.step)
        self._grad_fn = tf.function(self._gradients, jit_compile=bool(config.xla))
        self._loop = tf.function(self._train_steps)

    def _gradients(self, images, labels):
        """Forward and backward pass of one replica's batch (the part XLA fuses)."""
        with tf.GradientTape() as tape:
            logits = self.model(images)
            per_example = mnist.per_example_loss(logits, labels)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.config.batch_size)
        grads = tape.gradient(loss, self.model.trainable_variables)
        return loss, grads, mnist.evaluation(logits, labels)

    def _replica_step(self, images, labels):
        loss, grads, correct = self._grad_fn(images, labels)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        return loss, correct

    def _train_steps(self, iterator, num_steps):
        """num_steps training steps in one graph: losses float32 [num_steps], correct int32 []."""
        losses = tf.TensorArray(tf.float32, size=num_steps)
        correct = tf.constant(0, tf.int32)
        for i in tf.range(num_steps):
            per_replica_loss, per_replica_correct = self.strategy.run(self._replica_step, args=next(iterator))
            losses = losses.write(i, self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_loss, axis=None))
            correct += self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_correct, axis=None)
            self.step.assign_add(1)
        return losses.stack(), correct

    def dataset(self, train_set):
        """The distributed training dataset, starting at the current step (resume-exact)."""
        start_step = int(self.step.numpy())

        def dataset_fn(input_context):
            return pipeline.make_dataset(train_set, self.config.batch_size, seed=self.config.seed,
                                         start_step=start_step, input_context=input_context)

        return self.strategy.distribute_datasets_from_function(dataset_fn)

    def train_steps(self, iterator, num_steps):
        """Runs num_steps steps in one call; returns (losses numpy [num_steps], correct int)."""
        losses, correct = self._loop(iterator, tf.constant(num_steps, tf.int32))
        return losses.numpy(), int(correct)

    def xla_functions(self):
        """Names of the functions the traced training loop runs through XLA ([] without config.xla)."""
        return xla.jit_compiled_functions(self._loop)
