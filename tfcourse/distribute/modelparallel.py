"""Model parallel: the MLP's two hidden layers on different devices, and the Send/Recv between them.

The talk: the master partitions the graph per device and, where an edge crosses devices,
inserts a Send/Recv pair. With hidden1 on device A and hidden2 + the linear layer on device
B, hidden1's activations [batch, hidden1] travel A -> B in the forward pass and their
gradient B -> A in the backward pass. `model_parallel_step` runs one training step in a v1
Session asking for the partition graphs (RunOptions.output_partition_graphs), so the
_Send/_Recv nodes TensorFlow really inserted can be listed. Here the devices are logical
CPUs (the Session's device_count); with GPUs, pass "/gpu:0", "/gpu:1".
"""

import collections

from tfcourse import mnist

Transfer = collections.namedtuple("Transfer", "op tensor_name send_device recv_device")


def _short(device):
    """'/job:localhost/replica:0/task:0/device:CPU:1' -> 'CPU:1'."""
    return device.rsplit("device:", 1)[-1] if device else ""


def model_parallel_step(devices=("/cpu:0", "/cpu:1"), hidden1_units=128, hidden2_units=32, batch_size=100, seed=0):
    """One SGD step of the two-device MLP; returns what each device ran and what crossed.

    Args:
      devices: (device of hidden1, device of hidden2 and softmax_linear).
      batch_size: rows of the random batch fed through the placeholders.
    Returns:
      (ops_per_device, transfers, loss): {"CPU:0": [op types...], ...} of the partition
      graphs, a list of Transfer(op "_Send"/"_Recv", tensor_name, send_device, recv_device),
      and the step's loss (float).
    """
    import numpy as np
    import tensorflow as tf

    weights = mnist.initial_weights(hidden1_units, hidden2_units, seed)
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [None, mnist.IMAGE_PIXELS], name="images")
        labels = tf.compat.v1.placeholder(tf.int32, [None], name="labels")
        variables = {}
        with tf.device(devices[0]):
            for kind in ("weights", "biases"):
                variables[f"hidden1/{kind}"] = tf.compat.v1.Variable(weights[f"hidden1/{kind}"], name=f"hidden1/{kind}")
            hidden1 = tf.nn.relu(tf.matmul(images, variables["hidden1/weights"]) + variables["hidden1/biases"],
                                 name="hidden1_activations")
        with tf.device(devices[1]):
            for name in ("hidden2", "softmax_linear"):
                for kind in ("weights", "biases"):
                    variables[f"{name}/{kind}"] = tf.compat.v1.Variable(weights[f"{name}/{kind}"], name=f"{name}/{kind}")
            hidden2 = tf.nn.relu(tf.matmul(hidden1, variables["hidden2/weights"]) + variables["hidden2/biases"])
            logits = tf.matmul(hidden2, variables["softmax_linear/weights"]) + variables["softmax_linear/biases"]
            loss = mnist.loss(logits, labels)
        # Gradients colocated with their forward ops: each device back-propagates its own
        # layers, so only activations and their gradients cross devices.
        train_op = tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, var_list=list(variables.values()), colocate_gradients_with_ops=True)
        init = tf.compat.v1.global_variables_initializer()
    rng = np.random.RandomState(seed)
    feed = {images: rng.rand(batch_size, mnist.IMAGE_PIXELS).astype(np.float32),
            labels: rng.randint(0, mnist.NUM_CLASSES, batch_size).astype(np.int32)}
    metadata = tf.compat.v1.RunMetadata()
    # A Session can create its own CPU devices (device_count), so this works even after
    # TensorFlow started with a single CPU device.
    num_cpus = 1 + max([int(d.rsplit(":", 1)[1]) for d in devices if "cpu" in d.lower()] or [0])
    config = tf.compat.v1.ConfigProto(device_count={"CPU": num_cpus}, allow_soft_placement=False)
    with tf.compat.v1.Session(graph=graph, config=config) as session:
        session.run(init)
        _, loss_value = session.run([train_op, loss], feed, run_metadata=metadata,
                                    options=tf.compat.v1.RunOptions(output_partition_graphs=True))
    ops_per_device, transfers = {}, []
    for partition in metadata.partition_graphs:
        for node in partition.node:
            ops_per_device.setdefault(_short(node.device), []).append(node.op)
            if node.op in ("_Send", "_Recv"):
                transfers.append(Transfer(node.op, node.attr["tensor_name"].s.decode(),
                                          _short(node.attr["send_device"].s.decode()),
                                          _short(node.attr["recv_device"].s.decode())))
    return ops_per_device, transfers, float(loss_value)


def show_transfers(transfers):
    """Prints one line per cross-device tensor: 'hidden1/Relu:0  CPU:0 -> CPU:1'."""
    for tensor_name in sorted({t.tensor_name for t in transfers}):
        sends = [t for t in transfers if t.tensor_name == tensor_name]
        print(f"{tensor_name:<40} {sends[0].send_device} -> {sends[0].recv_device}")
