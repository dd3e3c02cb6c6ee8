"""TensorBoard output of the trainer, written with tf.summary to log_dir/<run name>.

Tags: loss, learning_rate, examples_per_sec, accuracy/train, accuracy/validation
(scalars; TF2 stores them as tensor summaries), weights/<layer>/<kind> and
activations/<layer> (histograms), and the traced graph of the training step.
Reading them back is `tfcourse.events`' job (read_scalars, histogram_tags, traced_graph_ops).
"""

import tensorflow as tf


class Summaries:
    """One run's event-file writer; `enabled=False` makes every method a no-op (non-chief workers)."""

    def __init__(self, run_dir, enabled=True):
        self.run_dir = str(run_dir)
        self.enabled = enabled
        self._writer = tf.summary.create_file_writer(self.run_dir) if enabled else None

    def scalars(self, step, values):
        """Writes {tag: float} at `step`."""
        if not self.enabled:
            return
        with self._writer.as_default(step=int(step)):
            for tag, value in values.items():
                tf.summary.scalar(tag, value)

    def histograms(self, step, model, images):
        """Histograms of every weight and of each layer's activations on `images` [B, 784]."""
        if not self.enabled:
            return
        with self._writer.as_default(step=int(step)):
            for variable in model.trainable_variables:
                tf.summary.histogram(f"weights/{variable.name.split(':')[0]}", variable)
            for layer, values in model.activations(images).items():
                tf.summary.histogram(f"activations/{layer}", values)

    def trace_on(self):
        """Starts recording the graphs tf.function traces (call before the first step)."""
        if self.enabled:
            tf.summary.trace_on(graph=True, profiler=False)

    def trace_export(self, name, step=0):
        """Writes the graph recorded since trace_on, shown in TensorBoard's Graphs tab."""
        if not self.enabled:
            return
        with self._writer.as_default():
            tf.summary.trace_export(name=name, step=step)

    def flush(self):
        if self.enabled:
            self._writer.flush()

    def close(self):
        if self.enabled:
            self._writer.close()
