"""Notebook 06's exercises against independent oracles, other right answers and uncatalogued wrong ones.

The oracles read event files with `tf.compat.v1.train.summary_iterator` (not the checker's
EventAccumulator) and compute gradients in numpy; the other answers are written the way a
student might, not the way the reference is.
"""

import glob
import os
import tempfile
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcourse import mnist
from tfcourse.exercises import core, nb06


def evaluate(exercise, source):
    return exercise.evaluate(core.run_source(textwrap.dedent(source), exercise.answer, f"<{exercise.id} test>"))


def assert_mistake_shows(result, *texts):
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT), result.message
    assert "\n" not in result.message
    for text in texts:
        assert text in result.message, result.message


def summary_iterator_events(folder):
    """{tag: [(step, numpy value)]} of every event file in `folder`, read record by record."""
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append((event.step, tf.make_ndarray(value.tensor)))
    return found


# ---------------------------------------------------------------- q1

def test_q1_reference_writes_exactly_the_runs_it_is_given():
    # Oracle: the runs themselves (float32 on disk), read back record by record.
    reference = nb06.q1.reference()
    for case in nb06.q1.cases():
        with tempfile.TemporaryDirectory() as log_dir:
            returned = reference(log_dir, case.input)
            for name, (steps, losses) in case.input.items():
                on_disk = summary_iterator_events(os.path.join(log_dir, name)).get("loss", [])
                assert [step for step, _ in on_disk] == steps, (case.label, name)
                np.testing.assert_allclose([float(value) for _, value in on_disk], np.float32(losses), rtol=1e-7)
                assert returned[name] == [(step, float(np.float32(loss))) for step, loss in zip(steps, losses)]
            assert glob.glob(os.path.join(log_dir, "events.out.tfevents.*")) == []  # nothing outside the runs


Q1_RIGHT = {
    "a writer per step, read record by record": """\
        import glob
        import os

        def log_runs(log_dir, runs):
            result = {}
            for name, (steps, losses) in runs.items():
                folder = os.path.join(log_dir, name)
                writer = tf.summary.create_file_writer(folder)
                for step, loss in zip(steps, losses):
                    with writer.as_default(step=step):
                        tf.summary.scalar("loss", loss)
                writer.flush()
                pairs = []
                for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
                    for event in tf.compat.v1.train.summary_iterator(path):
                        pairs += [(event.step, float(tf.make_ndarray(v.tensor))) for v in event.summary.value
                                  if v.tag == "loss"]
                result[name] = pairs
            return result
        """,
    "TensorBoard's multiplexer over every run at once": """\
        import os
        from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer

        def log_runs(log_dir, runs):
            for name in runs:
                writer = tf.summary.create_file_writer(f"{log_dir}/{name}", max_queue=1000)
                steps, losses = runs[name]
                with writer.as_default():
                    for i in range(len(steps)):
                        tf.summary.scalar("loss", data=losses[i], step=steps[i])
                writer.close()
            reader = multiplexer.EventMultiplexer(tensor_size_guidance={"scalars": 0})
            reader.AddRunsFromDirectory(log_dir)
            reader.Reload()
            return {name: [(e.step, tf.make_ndarray(e.tensor_proto).item()) for e in reader.Tensors(name, "loss")]
                    if "loss" in reader.Runs().get(name, {}).get("tensors", []) else [] for name in runs}
        """,
}


@pytest.mark.parametrize("name", sorted(Q1_RIGHT))
def test_q1_other_right_answers_pass(name):
    result = evaluate(nb06.q1, Q1_RIGHT[name])
    assert result.status == "passed", result.message


def test_q1_an_answer_that_writes_nothing_is_refused():
    # The hole of issue 21: the pairs returned without a file written passed.
    result = evaluate(nb06.q1, """\
        def log_runs(log_dir, runs):
            return {name: list(zip(steps, losses)) for name, (steps, losses) in runs.items()}
        """)
    assert (result.status, result.mistake) == ("mistake", "returned_without_writing"), result.message


def test_q1_uncatalogued_wrong_answers_show_expected_got_and_where():
    tag_typo = nb06.RUNS_SOLUTION.replace('tf.summary.scalar("loss"', 'tf.summary.scalar("Loss"')
    assert_mistake_shows(evaluate(nb06.q1, tag_typo), "on runs adam and sgd", "adam/ should hold [(10, 2.3)",
                         "it holds no `loss` events")
    step_shifted = nb06.RUNS_SOLUTION.replace("loss, step=step)", "loss, step=step + 1)")
    assert_mistake_shows(evaluate(nb06.q1, step_shifted), "on runs adam and sgd", "adam/ should hold [(10, 2.3)",
                         "it holds [(11, 2.3)")


# ---------------------------------------------------------------- q2

def numpy_gradients(model, images, labels):
    """Gradients of the mean softmax cross-entropy of mnist.MLP, by hand (backpropagation in numpy)."""
    weights = model.get_weights()
    h1_in = images @ weights["hidden1/weights"] + weights["hidden1/biases"]
    h1 = np.maximum(h1_in, 0)
    h2_in = h1 @ weights["hidden2/weights"] + weights["hidden2/biases"]
    h2 = np.maximum(h2_in, 0)
    logits = h2 @ weights["softmax_linear/weights"] + weights["softmax_linear/biases"]
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    d_logits = (probabilities - np.eye(10)[labels]) / len(labels)
    d_h2 = (d_logits @ weights["softmax_linear/weights"].T) * (h2_in > 0)
    d_h1 = (d_h2 @ weights["hidden2/weights"].T) * (h1_in > 0)
    return {"softmax_linear/weights": h2.T @ d_logits, "softmax_linear/biases": d_logits.sum(0),
            "hidden2/weights": h1.T @ d_h2, "hidden2/biases": d_h2.sum(0),
            "hidden1/weights": images.T @ d_h1, "hidden1/biases": d_h1.sum(0)}


def test_q2_reference_histograms_span_the_numpy_gradients():
    reference = nb06.q2.reference()
    rng = np.random.default_rng(5)
    model = mnist.MLP(16, 8, seed=4)
    images = rng.uniform(size=[12, 784]).astype(np.float32)
    labels = rng.integers(0, 10, 12).astype(np.int32)
    expected = numpy_gradients(model, images.astype(np.float64), labels)
    with tempfile.TemporaryDirectory() as log_dir:
        reference(log_dir, model, images, labels, 9)
        found = summary_iterator_events(log_dir)
    assert sorted(found) == sorted(f"gradients/{name}" for name in expected)
    for name, gradient in expected.items():
        [(step, histogram)] = found[f"gradients/{name}"]
        assert step == 9 and histogram[:, 2].sum() == gradient.size
        np.testing.assert_allclose([histogram[0, 0], histogram[-1, 1]], [gradient.min(), gradient.max()],
                                   rtol=1e-4, atol=1e-7, err_msg=name)


Q2_RIGHT = {
    "tf.nn's sparse cross-entropy, 7 buckets, flush": """\
        def write_gradient_histograms(log_dir, model, images, labels, step):
            variables = model.trainable_variables
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                                     logits=model(images)))
            writer = tf.summary.create_file_writer(log_dir)
            with writer.as_default():
                for v, g in zip(variables, tape.gradient(loss, variables)):
                    tf.summary.histogram("gradients/" + v.name[:-2], g, step=step, buckets=7)
            writer.flush()
        """,
    "Keras's loss, gradients one by one with a persistent tape": """\
        import keras

        def write_gradient_histograms(log_dir, model, images, labels, step):
            cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            with tf.GradientTape(persistent=True) as tape:
                loss = cross_entropy(labels, model(images))
            writer = tf.summary.create_file_writer(log_dir)
            tf.summary.experimental.set_step(step)
            with writer.as_default():
                for variable in model.trainable_variables:
                    name = variable.name.replace(":0", "")
                    tf.summary.histogram(f"gradients/{name}", tape.gradient(loss, variable))
            writer.close()
            del tape
        """,
}


@pytest.mark.parametrize("name", sorted(Q2_RIGHT))
def test_q2_other_right_answers_pass(name):
    result = evaluate(nb06.q2, Q2_RIGHT[name])
    assert result.status == "passed", result.message


def test_q2_uncatalogued_wrong_answers_show_expected_got_and_where():
    # The gradients of the logits (summed), not of the loss.
    of_logits = nb06.GRADIENTS_SOLUTION.replace("    with tf.GradientTape() as tape:\n        batch_loss = mnist.loss(model(images), labels)\n",
                                  "    with tf.GradientTape() as tape:\n        batch_loss = model(images)\n")
    assert_mistake_shows(evaluate(nb06.q2, of_logits), "on an MLP(16, 8), a batch of 20, step 3",
                         "`gradients/hidden1/biases`: expected 16 values in [", "got 16 in [")
    step_late = nb06.GRADIENTS_SOLUTION.replace("as_default(step=step)", "as_default(step=step + 1)")
    assert_mistake_shows(evaluate(nb06.q2, step_late), "on an MLP(16, 8)", "expected step 3, got 4")


# ---------------------------------------------------------------- q3 and q4: values

@pytest.mark.parametrize("answer", ["13", "13.0", "np.int64(13)", "np.array(13.0)"])
def test_q3_the_right_count_passes_in_every_numeric_form(answer):
    # 13.0 (what `100 / 10 + 3` gives) was refused before (issue 21).
    result = evaluate(nb06.q3, f"scalar_events = {answer}\n")
    assert result.status == "passed", result.message


def test_q3_wrong_counts_are_told_what_running_gives():
    assert_mistake_shows(evaluate(nb06.q3, "scalar_events = 12\n"), "counts 13 scalar events, you answered 12")
    assert_mistake_shows(evaluate(nb06.q3, "scalar_events = 16\n"), "you answered 16")
    result = evaluate(nb06.q3, "scalar_events = 13.5\n")
    assert result.status == "error" and "got 13.5: a count has no fractional part" in result.message


def test_q4_expected_pair_follows_the_documented_queue_rule():
    # Oracle: tf.summary.create_file_writer's documented rule, "flush once the queue gets bigger than
    # max_queue", and the end of `as_default()`, read back record by record.
    queue, events = nb06.QUEUE_SIZE, nb06.QUEUE_EVENTS
    assert nb06.q4._expected()[0].value == (events // (queue + 1) * (queue + 1), events)
    with tempfile.TemporaryDirectory() as log_dir:
        writer = tf.summary.create_file_writer(log_dir, max_queue=queue)
        with writer.as_default():
            for step in range(events):
                tf.summary.scalar("loss", 1.0, step=step)
            inside = len(summary_iterator_events(log_dir).get("loss", []))
        outside = len(summary_iterator_events(log_dir).get("loss", []))
        writer.close()
    assert (inside, outside) == nb06.q4._expected()[0].value


@pytest.mark.parametrize("answer", ["(10, 13)", "[10, 13]", "np.array([10, 13])", "(10.0, np.int64(13))"])
def test_q4_the_right_pair_passes_in_every_form(answer):
    result = evaluate(nb06.q4, f"predicted_counts = {answer}\n")
    assert result.status == "passed", result.message


def test_q4_wrong_pairs_are_told_what_running_gives():
    assert_mistake_shows(evaluate(nb06.q4, "predicted_counts = (5, 13)\n"),
                         "running it gives (10, 13), you predicted (5, 13)")
    assert_mistake_shows(evaluate(nb06.q4, "predicted_counts = (10, 12)\n"), "you predicted (10, 12)")
    assert evaluate(nb06.q4, "predicted_counts = 13\n").status == "error"


# ---------------------------------------------------------------- q5

def raw_matmul_events(logdir):
    """Oracle: MatMul events in the profiler's XSpace protobuf, read without tfcourse.profiling."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    [path] = glob.glob(os.path.join(logdir, "plugins", "profile", "*", "*.xplane.pb"))
    space = xplane_pb2.XSpace()
    with open(path, "rb") as file:
        space.ParseFromString(file.read())
    [host] = [plane for plane in space.planes if plane.name == "/host:CPU"]
    names = {key: meta.name for key, meta in host.event_metadata.items()}
    return sum(1 for line in host.lines for event in line.events
               if ":" in names[event.metadata_id] and "MatMul" in names[event.metadata_id].rsplit(":", 1)[1])


def test_q5_reference_trace_holds_one_matmul_per_call_and_returns_what_it_holds():
    reference = nb06.q5.reference()
    for kind, calls in [("one_layer", 4), ("two_layers", 2)]:
        function, matmuls = nb06._traced_function(kind)
        with tempfile.TemporaryDirectory() as logdir:
            counts = reference(function, logdir, calls)
            assert raw_matmul_events(logdir) == calls * matmuls
        assert sum(count for op, count in counts.items() if "MatMul" in op) == calls * matmuls


Q5_RIGHT = {
    "the Profile context manager, os.walk, a Counter of op events": """\
        import collections
        import os

        from tfcourse import profiling

        def count_profiled_ops(function, logdir, calls):
            function()
            with tf.profiler.experimental.Profile(logdir):
                for _ in range(calls):
                    function()
            paths = [os.path.join(root, name) for root, _, names in os.walk(logdir) for name in names
                     if name.endswith(".xplane.pb")]
            events = profiling.op_events(profiling.read_xspace(paths[0]))
            return dict(collections.Counter(op_type for _, op_type, _, _ in events))
        """,
    "the course's profiling.trace after a warm-up, counts as numpy ints": """\
        import numpy as np
        from tfcourse import profiling

        def count_profiled_ops(function, logdir, calls):
            function()
            path = profiling.trace(function, logdir, calls=calls)
            return {row.op_type: np.int64(row.count) for row in profiling.op_table(path)}
        """,
}


@pytest.mark.parametrize("name", sorted(Q5_RIGHT))
def test_q5_other_right_answers_pass(name):
    result = evaluate(nb06.q5, Q5_RIGHT[name])
    assert result.status == "passed", result.message


def test_q5_uncatalogued_wrong_answers_show_expected_got_and_where():
    one_short = nb06.PROFILE_SOLUTION.replace("for _ in range(calls):", "for _ in range(calls - 1):")
    assert_mistake_shows(evaluate(nb06.q5, one_short), "on relu(x @ w), 3 calls",
                         "your trace holds 2 matrix multiplications; 3 calls of this function run 3")
    per_call = nb06.PROFILE_SOLUTION.replace("row.op_type: row.count for row", "row.op_type: row.count // calls for row")
    assert_mistake_shows(evaluate(nb06.q5, per_call), "on relu(x @ w), 3 calls",
                         "you returned other counts than your trace file holds: ", " 1 returned, 3 in the file")
