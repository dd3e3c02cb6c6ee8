"""Notebook 05's exercises, judged against oracles that do not use the reference solutions: a run that
never stops, written here with Keras and a tape, and the checkpoint file read back with
`tf.train.load_checkpoint`. Other right answers must pass; wrong answers no catalogue names are refused
with expected, got and the case."""

import numpy as np
import pytest
from exercise_answers import (
    assert_passes,
    assert_uncatalogued_wrong,
)

from tfcourse.exercises import nb05

# ---------------------------------------------------------------- q1: the resumable loop

def test_q1_reference_matches_a_run_that_never_stopped():
    import keras
    import tensorflow as tf

    from tfcourse import mnist

    for case, expected in zip(nb05.q1.cases(), nb05.q1._expected()):
        total, every, killed_at, seed = case.input
        model, optimizer = mnist.MLP(16, 8), keras.optimizers.SGD(0.1, momentum=0.9)
        for images, labels in nb05._data(seed, total):
            with tf.GradientTape() as tape:
                loss = mnist.loss(model(images), labels)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        for name, value in model.get_weights().items():
            np.testing.assert_allclose(expected.value["weights"][name], value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case.label}: {name}")
        newest = 0 if killed_at is None else killed_at // every * every
        assert expected.value["computed"] == list(range(newest, total)), case.label
        assert expected.value["kept"] == [f"ckpt-{s}" for s in range(every, total + 1, every)][-3:], case.label


@pytest.mark.parametrize("source", [
    # a for loop from the restored step, tf.train.latest_checkpoint, a hand-written tape step
    """\
import keras
from tfcourse import mnist

def train_with_resume(directory, batch, total_steps, checkpoint_every):
    model = mnist.MLP(16, 8)
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    ckpt = tf.train.Checkpoint(step=step, optimizer=optimizer, model=model)
    manager = tf.train.CheckpointManager(ckpt, directory, max_to_keep=3)
    latest = tf.train.latest_checkpoint(directory)
    if latest:
        ckpt.restore(latest).assert_consumed()
    for s in range(int(step), total_steps):
        images, labels = batch(s)
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(images), labels)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        step.assign(s + 1)
        if (s + 1) % checkpoint_every == 0:
            manager.save(checkpoint_number=s + 1)
    return model
""",
    # restore_or_initialize, the step counted by the optimizer's own iterations
    """\
import keras
from tfcourse import mnist
from tfcourse.training import steps

def train_with_resume(directory, batch, total_steps, checkpoint_every):
    model, optimizer = mnist.MLP(16, 8), keras.optimizers.SGD(0.1, momentum=0.9)
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer, step=step),
                                         directory, max_to_keep=3)
    manager.restore_or_initialize()
    while int(step) < total_steps:
        steps.training_step(model, optimizer, *batch(int(step)))
        step.assign(optimizer.iterations)
        if int(step) % checkpoint_every == 0:
            manager.save(checkpoint_number=int(step))
    return model
""",
], ids=["for-loop", "restore_or_initialize"])
def test_q1_other_right_answers_pass(source):
    assert_passes(nb05.q1, source)


@pytest.mark.parametrize("source,shown", [
    # resumes from the oldest kept checkpoint
    (nb05.RESUME_IMPORT + nb05.RESUME_SOLUTION.replace(
        "checkpoint.restore(manager.latest_checkpoint)",
        "checkpoint.restore(manager.checkpoints[0] if manager.checkpoints else None)"), "steps 4..11"),
    # keeps two checkpoints
    (nb05.RESUME_IMPORT + nb05.RESUME_SOLUTION.replace("max_to_keep=3", "max_to_keep=2"), "ckpt-4"),
], ids=["oldest-checkpoint", "keeps-two"])
def test_q1_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source, shown):
    assert_uncatalogued_wrong(nb05.q1, source, "on ", shown)


# ---------------------------------------------------------------- q2: the partial restore

def test_q2_reference_restores_what_the_file_holds_and_nothing_else():
    for case, expected in zip(nb05.q2.cases(), nb05.q2._expected()):
        value = expected.value
        for name in value["after"]:
            want = value["saved"][name] if name.startswith("hidden1/") else value["before"][name]
            np.testing.assert_array_equal(value["after"][name], want, err_msg=f"{case.label}: {name}")
        assert not np.array_equal(value["saved"]["hidden1/weights"], value["before"]["hidden1/weights"])


def test_q2_the_saved_values_are_those_in_the_file(tmp_path):
    import tensorflow as tf

    from tfcourse import mnist

    model = mnist.MLP(16, 8, seed=3)
    path = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    target = mnist.MLP(16, 8, seed=4)
    nb05.q2.reference()(target, path)
    reader = tf.train.load_checkpoint(path)
    for kind in ("weights", "biases"):
        np.testing.assert_array_equal(target.get_weights()[f"hidden1/{kind}"],
                                      reader.get_tensor(f"model/hidden1/{kind}/.ATTRIBUTES/VARIABLE_VALUE"))


@pytest.mark.parametrize("source", [
    # the file read by key, the values assigned
    """\
def restore_hidden1(model, path):
    reader = tf.train.load_checkpoint(path)
    for kind in ("weights", "biases"):
        getattr(model.hidden1, kind).assign(reader.get_tensor(f"model/hidden1/{kind}/.ATTRIBUTES/VARIABLE_VALUE"))
""",
    # the path built down to the two variables
    """\
def restore_hidden1(model, path):
    layer = tf.train.Checkpoint(weights=model.hidden1.weights, biases=model.hidden1.biases)
    status = tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=layer)).restore(path)
    status.expect_partial()
    status.assert_existing_objects_matched()
""",
], ids=["reader", "down-to-variables"])
def test_q2_other_right_answers_pass(source):
    assert_passes(nb05.q2, source)


@pytest.mark.parametrize("source,shown", [
    # the weights only: the biases keep their initial values
    ("""\
def restore_hidden1(model, path):
    layer = tf.train.Checkpoint(weights=model.hidden1.weights)
    tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=layer)).restore(path).expect_partial()
""", "hidden1/biases"),
    # restored, then the biases reset
    ("""\
def restore_hidden1(model, path):
    tf.train.Checkpoint(model=tf.train.Checkpoint(hidden1=model.hidden1)).restore(path).expect_partial()
    model.hidden1.biases.assign(tf.zeros_like(model.hidden1.biases))
""", "hidden1/biases"),
], ids=["weights-only", "biases-reset"])
def test_q2_uncatalogued_wrong_answers_are_refused_with_expected_got_and_case(source, shown):
    assert_uncatalogued_wrong(nb05.q2, source, "on a 784-16-8-10 checkpoint", shown)


# ---------------------------------------------------------------- q3 and q4: predictions

@pytest.mark.parametrize("answer", [
    'kept_checkpoints = ["ckpt-750", "ckpt-600"]\n',
    'kept_checkpoints = np.array(["ckpt-600", "ckpt-750"])\n',  # refused before: arrays were not read
    "kept_checkpoints = np.array([600, 750])\n",
    'kept_checkpoints = ("ckpt-600", 750)\n',
], ids=["list", "array-of-names", "array-of-numbers", "tuple"])
def test_q3_right_answer_in_any_form_passes(answer):
    assert_passes(nb05.q3, answer)


@pytest.mark.parametrize("answer", ['kept_checkpoints = ["ckpt-400", "ckpt-600"]\n',
                                    "kept_checkpoints = np.array([600])\n"], ids=["before-restart", "one"])
def test_q3_plausible_wrong_answers_are_refused_with_both_lists(answer):
    assert_uncatalogued_wrong(nb05.q3, answer, "ckpt-750")


@pytest.mark.parametrize("answer", ["steps_redone = 130\n", "steps_redone = 130.0\n",
                                    "steps_redone = np.int64(1130 - 1000)\n"])
def test_q4_right_count_in_any_form_passes(answer):
    assert_passes(nb05.q4, answer)


@pytest.mark.parametrize("answer", ["steps_redone = 70\n", "steps_redone = 330\n"])
def test_q4_plausible_wrong_counts_are_refused(answer):
    assert_uncatalogued_wrong(nb05.q4, answer, "130")
