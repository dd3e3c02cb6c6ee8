"""Exercises of notebook 01: a numpy oracle of each pipeline's promise, other right answers (other
chains and idioms), wrong answers no catalogue names, and the small-shuffle-buffer hole closed."""

import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tfcourse.exercises import core, nb01


def answer(source, name):
    return core.run_source(textwrap.dedent(source), name, f"<{name} test>")


def test_q1_reference_agrees_with_a_numpy_oracle():
    # Oracle: the examples numpy selects with np.isin, each once, batch sizes from divmod.
    for case in nb01.q1.cases():
        images, labels, digits, batch_size, seed = case.input
        wanted = np.flatnonzero(np.isin(labels, digits))
        batches = [b[0].numpy()[:, 0].astype(int) for b in nb01.q1.reference()(*case.input)]
        assert sorted(np.concatenate(batches).tolist()) == wanted.tolist(), case.label
        full, rest = divmod(len(wanted), batch_size)
        assert [len(b) for b in batches] == [batch_size] * full + ([rest] if rest else []), case.label


Q1_RIGHT = [
    """\
    def digit_batches(images, labels, digits, batch_size, seed):
        keep = np.isin(labels, digits)
        dataset = tf.data.Dataset.from_tensor_slices((images[keep], labels[keep]))
        return dataset.shuffle(buffer_size=len(images), seed=seed).batch(batch_size, drop_remainder=False)
    """,
    """\
    def digit_batches(images, labels, digits, batch_size, seed):
        table = tf.constant([d in digits for d in range(10)])
        return (tf.data.Dataset.from_tensor_slices((images, labels))
                .shuffle(100000, seed=seed)
                .filter(lambda x, y: tf.gather(table, y))
                .batch(batch_size)
                .prefetch(tf.data.AUTOTUNE))
    """,
]


@pytest.mark.parametrize("source", Q1_RIGHT)
def test_q1_other_right_answers_pass(source):
    result = nb01.q1.evaluate(answer(source, "digit_batches"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def digit_batches(images, labels, digits, batch_size, seed):
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        dataset = dataset.filter(lambda x, y: y == digits[0])
        return dataset.shuffle(len(images), seed=seed).batch(batch_size)
    """, "on 300 examples, digits [3, 7], batches of 8: expected each of the 60 examples of those digits once, "
         "got 30 examples"),
    ("""\
    def digit_batches(images, labels, digits, batch_size, seed):
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        dataset = dataset.filter(lambda x, y: tf.reduce_any(tf.equal(y, digits)))
        return dataset.shuffle(len(images), seed=seed).batch(batch_size).take(2)
    """, "got 16 examples"),
])
def test_q1_uncatalogued_wrong_answers_say_what_and_where(source, says):
    result = nb01.q1.evaluate(answer(source, "digit_batches"))
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert says in result.message, result.message


@pytest.mark.parametrize("buffer", [2, 10, 30])
def test_q1_a_small_shuffle_buffer_is_refused(buffer):
    # Issue 21's hole: shuffle(2) passed on 5-12 examples. On a few hundred it shows.
    small = nb01.DIGITS_SOLUTION.replace("shuffle(len(images), seed=seed)", f"shuffle({buffer}, seed=seed)")
    result = nb01.q1.evaluate(answer(small, "digit_batches"))
    assert (result.status, result.mistake) == ("mistake", "small_shuffle_buffer"), result.message


def test_the_buffer_rule_holds_for_uniform_shuffles_of_many_seeds():
    # A uniform shuffle must never look "too small": try 200 numpy permutations of each case size.
    for size in (60, 240, 300):
        for seed in range(200):
            order = np.random.default_rng(seed).permutation(size).tolist()
            assert nb01._shuffle_problem(order, list(range(size))) is None, (size, seed)


def test_q2_reference_agrees_with_a_numpy_oracle():
    for case in nb01.q2.cases():
        images, labels, held_out, batch_size, seed, epochs = case.input
        validation, training = nb01.q2.reference()(*case.input)
        assert np.concatenate([x.numpy()[:, 0] for x, _ in validation]).astype(int).tolist() == list(range(held_out))
        seen = np.concatenate([x.numpy()[:, 0] for x, _ in training]).astype(int)
        assert np.array_equal(np.sort(seen), np.repeat(np.arange(held_out, len(images)), epochs))


Q2_RIGHT = [
    """\
    def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
        validation = tf.data.Dataset.from_tensor_slices((images[:validation_size], labels[:validation_size]))
        training = tf.data.Dataset.from_tensor_slices((images[validation_size:], labels[validation_size:]))
        training = training.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
        return validation.batch(batch_size), training.batch(batch_size).repeat(epochs)
    """,
    """\
    def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
        examples = tf.data.Dataset.from_tensor_slices((images, labels))
        one_epoch = examples.skip(validation_size).shuffle(10 ** 6, seed=seed).batch(batch_size)
        training = tf.data.Dataset.range(epochs).flat_map(lambda _: one_epoch)
        return examples.take(validation_size).batch(batch_size).prefetch(2), training
    """,
]


@pytest.mark.parametrize("source", Q2_RIGHT)
def test_q2_other_right_answers_pass(source):
    result = nb01.q2.evaluate(answer(source, "split_pipelines"))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("source,says", [
    ("""\
    def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
        examples = tf.data.Dataset.from_tensor_slices((images, labels))
        training = examples.skip(validation_size).shuffle(len(images), seed=seed).batch(batch_size).repeat(epochs)
        return examples.take(validation_size + 1).batch(batch_size), training
    """, "on 300 examples, 60 for validation, batches of 16, 2 epochs: expected validation to be examples 0..59 "
         "in order, once, got 61 examples"),
    ("""\
    def split_pipelines(images, labels, validation_size, batch_size, seed, epochs):
        examples = tf.data.Dataset.from_tensor_slices((images, labels))
        training = examples.skip(validation_size).shuffle(len(images), seed=seed).batch(batch_size)
        return examples.take(validation_size).batch(batch_size), training
    """, "expected 2 epochs of 240 training examples, got 240 examples"),
])
def test_q2_uncatalogued_wrong_answers_say_what_and_where(source, says):
    result = nb01.q2.evaluate(answer(source, "split_pipelines"))
    assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT)
    assert says in result.message, result.message


@pytest.mark.parametrize("exercise,right,wrong", [
    (nb01.q3, [430, 430.0, np.int64(430)], [(431, "expected 430, got 431"), (429.5, "whole number")]),
    (nb01.q4, [88, 88.0, np.int32(88)], [(87, "expected 88, got 87"), (88.5, "whole number")]),
])
def test_value_answers_in_any_form(exercise, right, wrong):
    for value in right:
        assert exercise.evaluate(value).status == "passed", value
    for value, says in wrong:
        result = exercise.evaluate(value)
        assert result.status in ("mistake", "error") and says in result.message, result.message


def test_q5_accepts_every_sequence_type_and_refuses_other_sizes():
    # Issue 21's hole: q5 refused numpy arrays.
    expected = [int(b.shape[0]) for b in tf.data.Dataset.range(10).batch(4).repeat(2)]
    for value in (expected, tuple(expected), np.array(expected), tf.constant(expected)):
        assert nb01.q5.evaluate(value).status == "passed", value
    for value, says in [([4, 4, 2, 4, 4], "expected 6 numbers"), ([4, 4, 2, 4, 2, 4], "position 5")]:
        result = nb01.q5.evaluate(value)
        assert (result.status, result.mistake) == ("mistake", core.WRONG_RESULT) and says in result.message
