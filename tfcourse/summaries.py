"""TensorBoard output of the trainer, written with tf.summary to log_dir/<run name>.

Tags: loss, learning_rate, examples_per_sec, accuracy/train, accuracy/validation
(scalars; TF2 stores them as tensor summaries), weights/<layer>/<kind> and
activations/<layer> (histograms), and the traced graph of the training step.
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


def _graph_op_types(serialized):
    """Op types in a trace_export record (a RunMetadata), its function library included."""
    run_metadata = tf.compat.v1.RunMetadata()
    run_metadata.ParseFromString(serialized)
    ops = set()
    for function_graph in run_metadata.function_graphs:
        graph = function_graph.pre_optimization_graph
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            ops.update(node.op for node in function.node_def)
    return ops


def read_events(run_dir):
    """Reads a run's event files back with TensorBoard's EventAccumulator.

    TF2 writes scalars as tensor summaries, so they are read with `Tensors(tag)`.
    Returns:
      (scalars {tag: [(step, value)]}, histogram tags [str],
       graphs {tag: set of op types} for traced graphs).
    """
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(str(run_dir), size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    scalars, histograms, graphs = {}, [], {}
    for tag in accumulator.Tags()["tensors"]:
        events = accumulator.Tensors(tag)
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "graph_run_metadata_graph":
            graphs[tag] = _graph_op_types(tf.make_ndarray(events[0].tensor_proto).reshape(-1)[0])
            continue
        values = [tf.make_ndarray(event.tensor_proto) for event in events]
        if all(value.ndim == 0 for value in values):
            scalars[tag] = [(event.step, float(value)) for event, value in zip(events, values)]
        else:
            histograms.append(tag)
    return scalars, sorted(histograms), graphs
