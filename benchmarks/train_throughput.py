"""Training throughput of the MNIST MLP at batch 100: our faces, the peers, and two floors.

Same MLP (784-128-32-10 by default), same SGD update (learning rate 0.01), the same MNIST
batches in the same order, every face's input built before any clock starts (the one row that
builds its batches inside the clock says so in its name):

  * tfcourse TF2 face: tfcourse.training.Trainer, `--steps_per_call` steps per tf.function call,
    fed by the trainer's own tf.data pipeline (index batches gathered in-graph);
  * Keras model.fit, defaults (one step per call; jit_compile="auto", which Keras resolves
    to off on a machine without a GPU), on that same pre-built tf.data pipeline; each round is
    one fit call, timed from its first batch to its epoch's end (a callback), so fit's per-call
    set-up (its data adapter, a new iterator, callbacks) is outside the clock and measured
    apart: the JSON's "fit_setup_ms" per round;
  * Keras model.fit with `steps_per_execution=--steps_per_call` on the same pipeline;
  * graph/session face: tfcourse.v1, sess.run([train_op, loss], feed_dict=...) per step, fed
    numpy batches built before the clock (the same batches as the floor: the pipeline's first
    100, in order, cycled);
  * graph/session feed_dict + next_batch per step: the tutorial's loop as written, whose
    fill_feed_dict (a permutation, a gather and a cast in DataSet.next_batch) runs inside the
    clock on the DataSet's own shuffle: its own row, so the cost of building batches is seen;
  * op-by-op floor: the same forward, backward and Keras SGD update in a tf.range loop over
    batches already in memory (no input pipeline, no strategy): what TensorFlow's executor
    needs for this step's ops, one after another;
  * compute limit: the step's matmul FLOPs (counted from the traced step's MatMul ops) over the
    matmul rate this CPU reaches in the same round (a short burst of a large square tf.matmul
    loop right after the TF2 face's round: the TF2 face over the compute limit is then a ratio
    of round i against round i like every other).

Also the bare loop of layer 1's forward matmul and its weight gradient (the bulk of the
FLOPs), to show how much of a step is arithmetic and how much is per-op overhead.

Every face runs the same number of steps per round and is credited exactly those; each face's
own step counter (optimizer iterations, global_step) is read before and after and the script
refuses to report a face whose counter disagrees. Every timed region ends on a value the host
has received (a loss or a result element as numpy). Rounds are interleaved (A B C ... A B C),
so a burst of load from another process hits neighbouring faces alike; the statistic of every
ratio is `tfcourse.paired.paired_ratio`: the median of the per-round ratios (face A's round i
over face B's round i), with their range, the rounds A won, and the ratio of best rounds beside
it. Usage:

    python benchmarks/train_throughput.py [--steps 1000] [--rounds 5] [--steps_per_call 100]
        [--intra_op_threads N] [--hidden1 128 --hidden2 32] [--xla] [--json out.json]
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfcourse import (  # noqa: E402
    mnist,
    paired,
    training,
    v1,
)
from tfcourse.datasets import (
    pipeline,  # noqa: E402
    read_data_sets,  # noqa: E402
)
from tfcourse.training import optimizers  # noqa: E402

BATCH, LR, SEED = 100, 0.01, 0
TF2, FIT, FEED = "tfcourse TF2 face", "keras fit", "graph/session feed_dict"
FEED_NEXT_BATCH = "graph/session feed_dict + next_batch per step"
FLOOR, LAYER1, LIMIT = "op-by-op floor (in-graph loop)", "layer 1 forward + weight gradient only", "compute limit"
# (face name, start, end) of every timed region, time.perf_counter(): a test checks no input is built inside.
TIMED = []


class Face:
    """One way of training: run(steps) -> (steps its own counter saw run, a host-side value).

    counter names the variable that counts its steps (None: not a training step). A face whose
    run times itself (fit, from inside) sets `timed_by_itself`; run then also returns its timed
    region's (start, end), and the per-call set-up outside it lands in setup_seconds.
    """

    def __init__(self, name, run, counter):
        self.name, self.run, self.counter = name, run, counter
        self.rates, self.steps_run, self.setup_seconds = [], [], []
        self.timed_by_itself = getattr(run, "timed_by_itself", False)


def tf2_face(data_sets, hidden, steps_per_call, xla):
    config = training.TrainConfig(hidden1=hidden[0], hidden2=hidden[1], batch_size=BATCH, optimizer="sgd",
                                  learning_rate=LR, lr_schedule="constant", max_steps=10**9,
                                  steps_per_call=steps_per_call, xla=xla, seed=SEED)
    trainer = training.Trainer(config, data_sets.train.num_examples)
    iterator = iter(trainer.dataset(data_sets.train))
    trainer.train_steps(iterator, steps_per_call)  # trace and warm up

    def run(steps):
        before = int(trainer.step.numpy())
        for _ in range(steps // steps_per_call):
            losses, _ = trainer.train_steps(iterator, steps_per_call)  # numpy: the host has them
        return int(trainer.step.numpy()) - before, float(losses[-1])

    return run


def keras_fit(data_sets, hidden, steps_per_execution):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(hidden[0], activation="relu"),
                              keras.layers.Dense(hidden[1], activation="relu"), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.SGD(LR), steps_per_execution=steps_per_execution,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # The TF2 face's own pipeline (same batches, same order), built once: fit only iterates it.
    dataset = pipeline.make_dataset(data_sets.train, BATCH, seed=SEED)
    # Trace and warm up; shuffle=False because the pipeline shuffles already.
    model.fit(dataset, steps_per_epoch=steps_per_execution * 2, epochs=1, verbose=0, shuffle=False)

    clock = FitClock()

    def run(steps):
        before = int(model.optimizer.iterations.numpy())
        history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        loss = float(history.history["loss"][-1])
        return int(model.optimizer.iterations.numpy()) - before, loss, (clock.start, clock.end)

    run.jit_compile = model.jit_compile
    run.timed_by_itself = True
    return run


class FitClock(keras.callbacks.Callback):
    """Times one fit call from its first batch to its epoch's end: the steps, not fit's set-up.

    Keras calls on_epoch_end after the last step's logs reached the host (the loss as a number),
    so the region ends on a host value like every other face's.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.start = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.start is None:
            self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.end = time.perf_counter()


def v1_session(hidden):
    """tfcourse.v1's graph in a new Session: (session, the graph's ops, global_step)."""
    graph = tf.Graph()
    with graph.as_default():
        ops = v1.build_graph(BATCH, hidden[0], hidden[1], LR, seed=SEED)
        global_step = next(v for v in tf.compat.v1.global_variables() if v.op.name == "global_step")
        init = tf.compat.v1.global_variables_initializer()
    sess = tf.compat.v1.Session(graph=graph)
    sess.run(init)
    return sess, ops, global_step


def feed_dict_face(images, labels, hidden):
    """sess.run per step fed batches already in memory (numpy [count, B, 784], [count, B])."""
    sess, ops, global_step = v1_session(hidden)
    feeds = [{ops["images"]: image_batch, ops["labels"]: label_batch}
             for image_batch, label_batch in zip(images.numpy(), labels.numpy())]

    def run(steps):
        before = int(sess.run(global_step))
        for i in range(steps):
            _, loss = sess.run([ops["train_op"], ops["loss"]], feed_dict=feeds[i % len(feeds)])
        return int(sess.run(global_step)) - before, float(loss)

    run(20)  # warm up
    return run


def feed_dict_next_batch_face(data_sets, hidden):
    """The tutorial's loop as written: fill_feed_dict (DataSet.next_batch) inside every step."""
    sess, ops, global_step = v1_session(hidden)

    def run(steps):
        before = int(sess.run(global_step))
        for _ in range(steps):
            feed = v1.fill_feed_dict(data_sets.train, ops["images"], ops["labels"])
            _, loss = sess.run([ops["train_op"], ops["loss"]], feed_dict=feed)
        return int(sess.run(global_step)) - before, float(loss)

    run(20)  # warm up
    return run


def batches_in_memory(data_sets, count):
    """The first `count` batches of the trainer's order: float32 [count, B, 784], int32 [count, B]."""
    dataset = pipeline.make_dataset(data_sets.train, BATCH, seed=SEED).take(count)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return tf.constant(np.stack(images)), tf.constant(np.stack(labels))


def sgd_step(model, optimizer, images, labels):
    """Forward, backward and the Keras SGD update on one batch; returns the loss."""
    with tf.GradientTape() as tape:
        loss = mnist.loss(model(images), labels)
    optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
    return loss


def op_by_op_floor(images, labels, hidden, xla=False):
    """The same step in an in-graph loop over in-memory batches; also returns its matmul FLOPs.

    xla: compile the whole loop into one XLA cluster. images[i % count] is a dynamic slice of
    static size [B, 784], so XLA keeps the batch's shape (slicing a flat [N, 784] array with
    [start:start + B] would not: see tfcourse.xla.loop_slice_shapes).
    """
    model = mnist.MLP(hidden[0], hidden[1], seed=SEED)
    optimizer = optimizers.make_optimizer("sgd", LR)
    optimizer.build(model.trainable_variables)
    count = int(images.shape[0])

    @tf.function(jit_compile=xla)
    def loop(num_steps):
        loss = tf.constant(0.0)
        for i in tf.range(num_steps):
            loss = sgd_step(model, optimizer, images[i % count], labels[i % count])
        return loss

    one_step = tf.function(sgd_step).get_concrete_function(model, optimizer, images[0], labels[0])
    loop(tf.constant(2))  # trace and warm up

    def run(steps):
        before = int(optimizer.iterations.numpy())
        loss = float(loop(tf.constant(steps)).numpy())
        return int(optimizer.iterations.numpy()) - before, loss

    return run, matmul_flops(one_step.graph)


def matmul_flops(graph):
    """2 x M x N x K summed over the MatMul ops of a traced graph (static shapes)."""
    total = 0
    for op in graph.get_operations():
        if op.type == "MatMul":
            a, b = (t.shape.as_list() for t in op.inputs)
            rows, inner = (a[1], a[0]) if op.get_attr("transpose_a") else (a[0], a[1])
            cols = b[0] if op.get_attr("transpose_b") else b[1]
            total += 2 * rows * inner * cols
    return total


def layer1_loop(images, hidden1):
    """Layer 1's forward matmul x[B,784]·W[784,h1] and its weight gradient x^T·dy, nothing else.

    dy is the forward result itself and W the gradient, so each iteration depends on the last
    (nothing can be hoisted or pruned); x is scaled to spectral norm 1 so the values stay finite.
    """
    x = images[0].numpy()
    x = tf.constant(x / np.linalg.norm(x, 2))
    start = tf.constant(np.random.RandomState(SEED).standard_normal([784, hidden1]).astype(np.float32))

    @tf.function
    def loop(num_steps):
        weights = start
        for _ in tf.range(num_steps):
            forward = tf.matmul(x, weights)
            weights = tf.matmul(x, forward, transpose_a=True)
        return weights[0, 0]

    loop(tf.constant(2))

    def run(steps):
        loop(tf.constant(steps)).numpy()
        return steps, None

    return run, 4 * BATCH * 784 * hidden1


def matmul_rate_loop(size):
    """A [size, size] float32 matmul chain (times an orthogonal matrix, so values stay finite)."""
    rng = np.random.RandomState(SEED)
    orthogonal, _ = np.linalg.qr(rng.standard_normal([size, size]))
    q = tf.constant(orthogonal.astype(np.float32))
    start = tf.constant(rng.standard_normal([size, size]).astype(np.float32))

    @tf.function
    def loop(num_steps):
        a = start
        for _ in tf.range(num_steps):
            a = tf.matmul(a, q)
        return a[0, 0]

    loop(tf.constant(1))
    return loop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps per timed round (multiple of --steps_per_call)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps_per_call", type=int, default=100,
                        help="TF2 face steps per call, and fit's steps_per_execution in its second run")
    parser.add_argument("--xla", action="store_true",
                        help="also time the TF2 face with an XLA-compiled step, and the floor's loop compiled whole")
    parser.add_argument("--hidden1", type=int, default=128)
    parser.add_argument("--hidden2", type=int, default=32)
    parser.add_argument("--matmul_size", type=int, default=1024, help="side of the square matmul timing the CPU's rate")
    parser.add_argument("--matmul_steps", type=int, default=10, help="matmuls per burst (one burst after every face)")
    parser.add_argument("--intra_op_threads", type=int, default=0,
                        help="threads per op for every face (0: TensorFlow's default, one per core)")
    parser.add_argument("--json", default=None, help="also write every number to this JSON file")
    args = parser.parse_args()
    for name in ("steps", "rounds", "steps_per_call", "hidden1", "hidden2", "matmul_size", "matmul_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.steps % args.steps_per_call:
        parser.error(f"--steps ({args.steps}) must be a multiple of --steps_per_call ({args.steps_per_call})")
    # Must precede the first op; applies to every face alike, so the ratios stay fair.
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    hidden, steps = (args.hidden1, args.hidden2), args.steps
    data_sets = read_data_sets()

    fit_default = keras_fit(data_sets, hidden, 1)
    fit_spe = keras_fit(data_sets, hidden, args.steps_per_call)
    images, labels = batches_in_memory(data_sets, min(steps, 100))
    floor_run, step_flops = op_by_op_floor(images, labels, hidden)
    layer1_run, layer1_flops = layer1_loop(images, hidden[0])
    matmul = matmul_rate_loop(args.matmul_size)
    spe_name = f"keras fit, steps_per_execution={args.steps_per_call}"
    faces = [Face(TF2, tf2_face(data_sets, hidden, args.steps_per_call, xla=False), "trainer.step"),
             Face(FIT, fit_default, "optimizer.iterations"),
             Face(spe_name, fit_spe, "optimizer.iterations"),
             Face(FEED, feed_dict_face(images, labels, hidden), "global_step"),
             Face(FEED_NEXT_BATCH, feed_dict_next_batch_face(data_sets, hidden), "global_step")]
    if args.xla:
        faces.append(Face("tfcourse TF2 face + XLA", tf2_face(data_sets, hidden, args.steps_per_call, xla=True),
                          "trainer.step"))
        faces.append(Face("in-graph loop, one XLA cluster", op_by_op_floor(images, labels, hidden, xla=True)[0],
                          "optimizer.iterations"))
    faces += [Face(FLOOR, floor_run, "optimizer.iterations"),
              Face(LAYER1, layer1_run, None)]  # no update: not a step
    matmul_rates = []  # one burst a round, right after the TF2 face's round
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for face in faces:
            start = time.perf_counter()
            ran, _, *inside = face.run(steps)
            end = time.perf_counter()
            if face.timed_by_itself:
                face.setup_seconds.append((end - start) - (inside[0][1] - inside[0][0]))
                start, end = inside[0]
            TIMED.append((face.name, start, end))
            seconds = end - start
            if ran != steps:
                raise SystemExit(f"{face.name}: ran {ran} steps but would be credited {steps}")
            face.steps_run.append(ran)
            face.rates.append(steps * BATCH / seconds)
            if face.name == TF2:
                start = time.perf_counter()
                matmul(tf.constant(args.matmul_steps)).numpy()
                matmul_rates.append(2 * args.matmul_size**3 * args.matmul_steps / (time.perf_counter() - start))
    load_after = os.getloadavg()

    rates = {face.name: face.rates for face in faces}
    # examples/s if every FLOP of the step ran at the round's large-matmul rate
    rates[LIMIT] = [BATCH * rate / step_flops for rate in matmul_rates]
    pairs = [(TF2, FIT), (TF2, spe_name), (TF2, FEED), (TF2, FEED_NEXT_BATCH), (FEED, FEED_NEXT_BATCH),
             (TF2, FLOOR), (TF2, LIMIT), (LAYER1, FLOOR)]
    if args.xla:
        pairs += [("tfcourse TF2 face + XLA", TF2), ("in-graph loop, one XLA cluster", FLOOR)]
    ratios = {f"{a} / {b}": paired.paired_ratio(rates[a], rates[b]) for a, b in pairs}
    print(f"MLP 784-{hidden[0]}-{hidden[1]}-10, SGD {LR}, batch {BATCH}, {steps} steps per round, {args.rounds} "
          f"interleaved rounds; {os.cpu_count()} CPUs, intra-op threads {args.intra_op_threads or 'default'}, "
          f"TF {tf.__version__}, Keras {keras.__version__} (fit jit_compile={fit_default.jit_compile}); "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    for face in faces:
        print(f"  {face.name:<46}median {statistics.median(face.rates):>9,.0f} examples/s "
              f"(rounds {min(face.rates):,.0f}-{max(face.rates):,.0f}), {face.steps_run[0]} steps run per round")
    print(f"  {LIMIT:<46}median {statistics.median(rates[LIMIT]):>9,.0f} examples/s = {step_flops / 1e6:.1f} "
          f"MFLOP/step (MatMul ops of the traced step) at a median {statistics.median(matmul_rates) / 1e9:.1f} "
          f"GFLOP/s ({args.matmul_size}^2 matmul loop; rounds {min(matmul_rates) / 1e9:.1f}-"
          f"{max(matmul_rates) / 1e9:.1f})")
    for face in faces:
        if face.setup_seconds:
            print(f"  {face.name}: per-call set-up outside its clock, median "
                  f"{1e3 * statistics.median(face.setup_seconds):.1f} ms a call")
    print("Median of per-round ratios (round i against round i), their range, rounds won, ratio of best rounds:")
    for name, ratio in ratios.items():
        print(f"  {name:<72}{paired.describe(ratio)}")
    layer1_ms = [1e3 * BATCH / rate for rate in rates[LAYER1]]
    floor_ms = [1e3 * BATCH / rate for rate in rates[FLOOR]]
    print(f"  layer 1 forward + weight gradient: median {statistics.median(layer1_ms):.3f} ms against a median "
          f"{statistics.median(floor_ms):.3f} ms op-by-op step ({100 * layer1_flops / step_flops:.0f}% of the FLOPs, "
          f"at {layer1_flops / statistics.median(layer1_ms) / 1e6:.0f} GFLOP/s)")
    if args.json:
        report = {"run": paired.run_record(sys.argv, load_before, load_after),
                  "hidden": list(hidden), "batch": BATCH, "steps_per_round": steps, "rounds": args.rounds,
                  "statistic": "median of paired per-round ratios (tfcourse.paired.paired_ratio)",
                  "tensorflow": tf.__version__, "keras": keras.__version__, "cpus": os.cpu_count(),
                  "faces": {face.name: {"counter": face.counter, "steps_credited": [steps] * len(face.rates),
                                        "steps_run": face.steps_run, "examples_per_s": face.rates,
                                        "median": statistics.median(face.rates),
                                        **({"fit_setup_ms": [1e3 * x for x in face.setup_seconds]}
                                           if face.setup_seconds else {})}
                            for face in faces},
                  "step_matmul_flops": step_flops, "layer1_flops": layer1_flops,
                  "matmul_flops_per_s": matmul_rates, "compute_limit_examples_per_s": rates[LIMIT],
                  "ratios": {name: paired.as_dict(ratio) for name, ratio in ratios.items()}}
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
