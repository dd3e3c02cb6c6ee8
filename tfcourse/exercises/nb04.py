"""Exercises of notebook 04 (graph and session): top-k evaluation, training one layer, two predictions, a restore to repair.

    from tfcourse.exercises import nb04 as ex
"""

import os
import re
import tempfile

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
    compare_values,
)

HIDDEN = (16, 8)  # a small network keeps every check fast
LEARNING_RATE = 0.1


def _weights(seed):
    from tfcourse import mnist

    return mnist.initial_weights(*HIDDEN, seed=seed)


def _ranked_batch(rng, weights, batch, right_share=None):
    """Images, and labels at a random rank of the network's own logits (0: its top prediction, 9: its last).

    The ranks are drawn anew per case, so how many labels lie in the top k differs from case to case and
    from any fixed fraction of the batch. `right_share`: about this share gets rank 0 (right at top-1)."""
    from tfcourse import mnist

    images = rng.uniform(size=[batch, 784]).astype(np.float32)
    order = np.argsort(-mnist.MLP(*HIDDEN, weights=weights)(images).numpy(), axis=1)
    ranks = rng.integers(0, 10, size=batch)
    if right_share is not None:
        ranks = np.where(rng.random(batch) < right_share, 0, rng.integers(1, 10, size=batch))
    return images, order[np.arange(batch), ranks].astype(np.int32)


def _errors_all(pattern):
    """A detector: every case raised an error whose message matches `pattern`."""
    return lambda outcomes: all(o.error is not None and re.search(pattern, str(o.error)) for o in outcomes)


_CANNOT_FEED = re.compile(r"Cannot feed value of shape \(([^)]*)\) for Tensor \S+, which has shape '?\(([^)]*)\)")


def _feed_ranks(outcome):
    """(rank of the value fed, rank of the placeholder) from a 'Cannot feed value' error, or None."""
    match = _CANNOT_FEED.search(str(outcome.error or ""))
    if not match:
        return None
    fed, wanted = (len([size for size in group.split(",") if size.strip()]) for group in match.groups())
    return fed, wanted


def _fed_to_the_wrong_placeholder(outcomes):
    """Every case failed feeding a value of another rank than its placeholder's (labels for images)."""
    ranks = [_feed_ranks(o) for o in outcomes]
    return all(r is not None and r[0] != r[1] for r in ranks)


def _fixed_batch_size(outcomes):
    """Some case failed, and every failure fed a value of the placeholder's rank but another batch size."""
    ranks = [_feed_ranks(o) for o in outcomes if o.error is not None]
    return bool(ranks) and all(r is not None and r[0] == r[1] for r in ranks)


# ---------------------------------------------------------------- q1: top-k evaluation with feed_dict

TOP_K_SOLUTION = '''\
def count_top_k(sess, ops, images, labels, k):
    """How many examples of the batch have their label among the k largest logits, as an int."""
    in_top_k = tf.math.in_top_k(targets=ops["labels"], predictions=ops["logits"], k=k)  # bool [batch]
    count = tf.reduce_sum(tf.cast(in_top_k, tf.int32))
    return int(sess.run(count, feed_dict={ops["images"]: images, ops["labels"]: labels}))
'''


def _top_k_cases():
    rng = np.random.default_rng(4)
    weights = _weights(seed=4)
    return [Case(label, (weights,) + _ranked_batch(rng, weights, batch) + (k,))
            for label, batch, k in (("a batch of 30, k=3", 30, 3), ("a last partial batch of 7, k=1", 7, 1),
                                    ("a batch of 1, k=5", 1, 5), ("a batch of 12, k=2", 12, 2))]


def _run_top_k(function, case_input):
    """Builds the lesson's graph (batch of any size) from the case's weights, runs `function` in a session."""
    import tensorflow as tf

    from tfcourse import v1

    weights, images, labels, k = case_input
    with tf.Graph().as_default():
        ops = v1.build_graph(None, *HIDDEN, LEARNING_RATE, weights=weights)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            before = sess.run(tf.compat.v1.trainable_variables())
            count = function(sess, ops, images, labels, k)
            after = sess.run(tf.compat.v1.trainable_variables())
    trained = any(not np.array_equal(a, b) for a, b in zip(before, after))
    return {"count": count, "trained": trained, "batch": len(labels)}


def _compare_counts(expected, got):
    if got["trained"]:
        return "running your function changed the network's weights"
    try:
        return compare_values(expected["count"], got["count"], rtol=0, atol=0)
    except AnswerError as wrong:
        raise AnswerError(f"`count_top_k` must return the number of examples: {wrong}") from None


def _fraction(outcomes):
    return all(o.error is None and not o.value["trained"] for o in outcomes) and all(
        np.isclose(float(o.value["count"]) * o.value["batch"], e.value["count"])
        for o, e in zip(outcomes, q1._expected()))


q1 = FunctionExercise(
    "nb04.q1", "count_top_k", "top-k evaluation with feed_dict",
    prompt=(
        "Precision@1 asks whether the label is the network's *first* choice; precision@k asks whether it is among "
        "its k first. The check builds the lesson's graph with `ops = v1.build_graph(None, 16, 8, 0.1, "
        "weights=...)` (`ops[\"images\"]` and `ops[\"labels\"]` are the placeholders, `ops[\"logits\"]` the "
        "logits), opens a `tf.compat.v1.Session`, runs the init op, and calls your "
        "`count_top_k(sess, ops, images, labels, k)` with that graph as the default graph. Add the ops that count "
        "the examples whose label is among the `k` largest logits, run them with a `feed_dict`, and return the "
        "count as a Python `int`. Evaluating must not train."),
    skeleton='''\
def count_top_k(sess, ops, images, labels, k):
    """How many examples of the batch have their label among the k largest logits, as an int."""
    ...
''',
    solution=TOP_K_SOLUTION,
    hints=[
        "`evaluation` in the lesson counts top-1 hits with `tf.math.in_top_k(..., k=1)`; ops added now go into the "
        "default graph, the session's, and can be run at once.",
        "`tf.math.in_top_k(targets=ops[\"labels\"], predictions=ops[\"logits\"], k=k)` gives one bool per "
        "example; cast to int32 and `tf.reduce_sum` to count them.",
        "`sess.run(count, feed_dict={ops[\"images\"]: images, ops[\"labels\"]: labels})`, then `int(...)`.",
    ],
    mistakes=[
        Mistake("evaluated_train_op",
                "your evaluation trained the network: fetching `train_op` applies a gradient step. Fetch only what "
                "you count; the session then prunes the gradient and update ops away.",
                TOP_K_SOLUTION.replace("return int(sess.run(count, feed_dict=",
                                       "return int(sess.run([ops[\"train_op\"], count], feed_dict=")
                .replace("labels}))", "labels})[1])"),
                detect=lambda outcomes: any(o.error is None and o.value["trained"] for o in outcomes)),
        Mistake("top_1_not_top_k",
                "you counted the top-1 hits (`eval_correct`, or `k=1`) whatever `k` is: pass `k=k` to "
                "`tf.math.in_top_k`.",
                TOP_K_SOLUTION.replace("k=k)", "k=1)")),
        Mistake("fed_the_wrong_placeholder",
                "TensorFlow cannot feed a value of that shape: you gave the labels to the images placeholder (or "
                "the other way round). Key the feed_dict by the placeholders: "
                "`{ops[\"images\"]: images, ops[\"labels\"]: labels}`.",
                TOP_K_SOLUTION.replace('{ops["images"]: images, ops["labels"]: labels}',
                                       '{ops["images"]: labels, ops["labels"]: images}'),
                detect=_fed_to_the_wrong_placeholder),
        Mistake("placeholder_not_fed",
                "a placeholder got no value: `in_top_k` needs the logits (from the images) and the labels, so feed "
                "both `ops[\"images\"]` and `ops[\"labels\"]`.",
                TOP_K_SOLUTION.replace(', ops["labels"]: labels}', "}"),
                detect=_errors_all("must feed a value for placeholder")),
        Mistake("fraction_not_count",
                "you returned the fraction of the batch; return the count (precision@k is the count divided by "
                "the number of examples, as `do_eval` does over a whole split).",
                TOP_K_SOLUTION.replace("labels}))", "labels})) / len(images)"),
                detect=_fraction),
    ],
    cases=_top_k_cases, run=_run_top_k, compare=_compare_counts,
)

# ---------------------------------------------------------------- q2: train the last layer only

TRAIN_IMPORT = "from tfcourse import v1\n\n"
TRAIN_SOLUTION = '''\
def train_last_layer(batches, weights, learning_rate):
    """Gradient descent on the softmax_linear layer only, one step per (images, labels) of `batches`.

    Returns (the loss of every step, as fetched with its train_op; the final value of global_step).
    """
    with tf.Graph().as_default():
        images_placeholder = tf.compat.v1.placeholder(tf.float32, shape=(None, 784))
        labels_placeholder = tf.compat.v1.placeholder(tf.int32, shape=(None,))
        logits = v1.inference(images_placeholder, 16, 8, weights=weights)
        loss = v1.loss(logits, labels_placeholder)
        global_step = tf.compat.v1.Variable(0, name="global_step", trainable=False)
        last_layer = tf.compat.v1.trainable_variables(scope="softmax_linear")
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
        train_op = optimizer.minimize(loss, global_step=global_step, var_list=last_layer)
        init = tf.compat.v1.global_variables_initializer()
        with tf.compat.v1.Session() as sess:
            sess.run(init)
            losses = []
            for images, labels in batches:
                feed_dict = {images_placeholder: images, labels_placeholder: labels}
                _, loss_value = sess.run([train_op, loss], feed_dict=feed_dict)
                losses.append(float(loss_value))
            return losses, int(sess.run(global_step))
'''
TRAIN_RATE = 0.5  # large enough that a step of the hidden layers shows in the next losses


def _train_cases():
    rng = np.random.default_rng(6)

    def batches(sizes):
        return [(rng.uniform(size=[size, 784]).astype(np.float32), rng.integers(0, 10, size).astype(np.int32))
                for size in sizes]

    return [Case("4 batches of 5, the last one partial (3)", (batches([5, 5, 5, 3]), _weights(seed=6), TRAIN_RATE)),
            Case("2 batches of 1", (batches([1, 1]), _weights(seed=7), TRAIN_RATE))]


def _run_training(function, case_input):
    result = function(*case_input)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise AnswerError(f"expected a pair `(losses, global_step)`, got {type(result).__name__}")
    losses, global_step = result
    return {"losses": losses, "global_step": global_step, "num_batches": len(case_input[0])}


def _compare_training(expected, got):
    try:
        difference = compare_values(expected["losses"], got["losses"], rtol=1e-4)
    except AnswerError as wrong:
        raise AnswerError(f"the losses (one per step): {wrong}") from None
    if difference:
        return f"the losses, step by step: {difference}"
    try:
        difference = compare_values(expected["global_step"], got["global_step"], rtol=0, atol=0)
    except AnswerError as wrong:
        raise AnswerError(f"global_step: {wrong}") from None
    return f"global_step: {difference}" if difference else None


def _losses_right(outcomes, expected):
    return all(o.error is None and compare_values(e.value["losses"], o.value["losses"], rtol=1e-4) is None
               for o, e in zip(outcomes, expected))


def _step_not_counted(outcomes):
    return _losses_right(outcomes, q2._expected()) and all(int(o.value["global_step"]) == 0 for o in outcomes)


def _never_trained(outcomes):
    """global_step stayed 0 and the losses are those of the initial weights (not the reference's)."""
    return all(o.error is None and int(o.value["global_step"]) == 0 for o in outcomes) \
        and not _losses_right(outcomes, q2._expected())


q2 = FunctionExercise(
    "nb04.q2", "train_last_layer", "train the last layer only",
    prompt=(
        "Fine-tuning often trains only the last layer of a network and keeps the others frozen. Write "
        "`train_last_layer(batches, weights, learning_rate)` in the graph/session style, without `v1.training` or "
        "`v1.build_graph`: in a new `tf.Graph`, make the two **placeholders** (any batch size), the logits "
        "`v1.inference(images_placeholder, 16, 8, weights=weights)` and `loss = v1.loss(logits, "
        "labels_placeholder)`, a `global_step` variable (not trainable) and a `GradientDescentOptimizer` whose "
        "`minimize` increments it and updates **only the variables of the `softmax_linear` layer**. In a "
        "`Session`, initialise, then for each `(images, labels)` of `batches` run the train op and the loss "
        "together. Return `(losses, global_step)`: the list of loss values and the final step count."),
    skeleton=TRAIN_IMPORT + '''\
def train_last_layer(batches, weights, learning_rate):
    """Gradient descent on the softmax_linear layer only, one step per (images, labels) of `batches`.

    Returns (the loss of every step, as fetched with its train_op; the final value of global_step).
    """
    ...
''',
    solution=TRAIN_IMPORT + TRAIN_SOLUTION,
    hints=[
        "Build everything inside `with tf.Graph().as_default():`, then open `tf.compat.v1.Session()` in it. "
        "Placeholders with shape `(None, 784)` and `(None,)` take any batch size.",
        "`optimizer.minimize(loss, global_step=global_step, var_list=...)`: `var_list` limits the update to the "
        "listed variables; `tf.compat.v1.trainable_variables(scope=\"softmax_linear\")` lists that layer's two.",
        "Run `tf.compat.v1.global_variables_initializer()` once, before the loop; in the loop, "
        "`_, loss_value = sess.run([train_op, loss], feed_dict={...})`.",
    ],
    mistakes=[
        Mistake("trained_every_layer",
                "your train op updates every layer: from the second step on, the losses are those of a network "
                "whose hidden layers moved too. Pass `var_list=` the `softmax_linear` variables to `minimize`.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace(", var_list=last_layer)", ")")),
        Mistake("init_not_run",
                "the variables were never initialised: in a session, run `tf.compat.v1.global_variables_initializer()` "
                "once before the first step.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace("            sess.run(init)\n", ""),
                detect=_errors_all("Could not find variable|uninitialized")),
        Mistake("placeholder_fixed_batch_size",
                "your placeholders have a fixed batch size, so a batch of another size (the last, partial one) "
                "cannot be fed. Give them the shape `(None, 784)` and `(None,)`.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace("shape=(None, 784)", "shape=(5, 784)")
                .replace("shape=(None,)", "shape=(5,)"),
                detect=_fixed_batch_size),
        Mistake("global_step_not_incremented",
                "the losses are right but `global_step` stayed 0: pass it to the optimizer, "
                "`optimizer.minimize(loss, global_step=global_step, ...)`, which adds 1 per step.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace("optimizer.minimize(loss, global_step=global_step, ",
                                                      "optimizer.minimize(loss, "),
                detect=_step_not_counted),
        Mistake("train_op_not_run",
                "nothing was trained: fetching only the loss runs the forward pass. Fetch the train op too, "
                "`sess.run([train_op, loss], feed_dict=...)`.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace("_, loss_value = sess.run([train_op, loss], feed_dict=feed_dict)",
                                                      "loss_value = sess.run(loss, feed_dict=feed_dict)"),
                detect=_never_trained),
        Mistake("init_inside_loop",
                "running the init op inside the loop resets every variable, the weights and global_step included, "
                "before each step: run it once, before the loop.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace(
                    "                feed_dict = {images_placeholder",
                    "                sess.run(init)\n                feed_dict = {images_placeholder")),
        Mistake("loss_fetched_after_the_step",
                "your losses come one step late: fetching the loss in a second `sess.run`, after the train op, "
                "computes it with the updated weights. Fetch both in one run: `sess.run([train_op, loss], ...)`.",
                TRAIN_IMPORT + TRAIN_SOLUTION.replace(
                    "_, loss_value = sess.run([train_op, loss], feed_dict=feed_dict)",
                    "sess.run(train_op, feed_dict=feed_dict)\n"
                    "                loss_value = sess.run(loss, feed_dict=feed_dict)")),
    ],
    cases=_train_cases, run=_run_training, compare=_compare_training,
)

# ---------------------------------------------------------------- q3 and q4: what one session computes

SNIPPET = '''\
sess.run(init)
for step in range(6):
    _, loss_value = sess.run([train_op, loss], feed_dict=feed_dict)
    if step % 2 == 1:
        correct = sess.run(eval_correct, feed_dict=feed_dict)
final_loss = sess.run(loss, feed_dict=feed_dict)
'''


def _run_snippet():
    """Runs SNIPPET on the lesson's graph with a counter that counts every computation of the loss."""
    import tensorflow as tf

    from tfcourse import v1

    rng = np.random.default_rng(8)
    with tf.Graph().as_default():
        images_placeholder, labels_placeholder = v1.placeholder_inputs(4)
        logits = v1.inference(images_placeholder, *HIDDEN)
        computed = tf.compat.v1.Variable(0, name="loss_computations", trainable=False)
        # The identity carries the counter's increment: it runs each time the loss is computed.
        with tf.control_dependencies([computed.assign_add(1)]):
            loss = tf.identity(v1.loss(logits, labels_placeholder))
        global_step = tf.compat.v1.Variable(0, name="global_step", trainable=False)
        train_op = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE).minimize(loss, global_step=global_step)
        eval_correct = v1.evaluation(logits, labels_placeholder)
        init = tf.compat.v1.global_variables_initializer()
        feed_dict = {images_placeholder: rng.uniform(size=[4, 784]).astype(np.float32),
                     labels_placeholder: np.array([0, 9, 3, 9], np.int32)}
        with tf.compat.v1.Session() as sess:
            namespace = {"sess": sess, "init": init, "train_op": train_op, "loss": loss,
                         "eval_correct": eval_correct, "feed_dict": feed_dict}
            exec(SNIPPET, namespace)  # noqa: S102 - the course's own snippet, shown in the prompt
            return {"global_step": int(sess.run(global_step)), "loss_computations": int(sess.run(computed))}


q3 = ValueExercise(
    "nb04.q3", "final_global_step", "predict global_step",
    prompt=(
        "In a session of the lesson's graph (`train_op` from `v1.training`, which increments `global_step`), this "
        "runs:\n\n```python\n" + SNIPPET + "```\n\nWhat is the value of `global_step` at the end? Set "
        "`final_global_step` to your prediction; the check runs it."),
    skeleton="final_global_step = ...\n",
    solution="final_global_step = 6  # one per run of train_op; fetching loss or eval_correct trains nothing\n",
    hints=["Which `sess.run` calls include `train_op`?",
           "`global_step` grows by one each time `train_op` runs, whatever else is fetched with it."],
    mistakes=[
        Mistake("counted_every_run",
                "not every `sess.run` is a step: only the runs that fetch `train_op` increment `global_step`; "
                "fetching `eval_correct` or `loss` alone trains nothing.",
                "final_global_step = 10\n", detect=answered(10, 11)),
        Mistake("last_loop_index",
                "5 is the last value of `step` in the loop; `global_step` counts the runs of `train_op`, which "
                "started at 0 and ran once per iteration.",
                "final_global_step = 5\n", detect=answered(5)),
        Mistake("final_loss_counted",
                "the last `sess.run(loss, ...)` does not fetch `train_op`: it computes the loss and trains nothing.",
                "final_global_step = 7\n", detect=answered(7)),
    ],
    expected=lambda: _run_snippet()["global_step"],
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
    explain=lambda value: f"running it, `global_step` ends at {value}.",
)

q4 = ValueExercise(
    "nb04.q4", "loss_computations", "predict how often the loss is computed",
    prompt=(
        "Same code as in q3:\n\n```python\n" + SNIPPET + "```\n\nHow many times does the session compute the "
        "`loss` op? Set `loss_computations` to your prediction; the check runs it with a counter attached to the "
        "loss."),
    skeleton="loss_computations = ...\n",
    solution=("loss_computations = 6 + 1  # once per [train_op, loss] run (shared by both fetches), "
              "once at the end; eval_correct does not need it\n"),
    hints=["In one `sess.run`, every op the fetches need runs once, even if two fetches need it.",
           "Does `eval_correct` need the loss? The session runs only what the fetches depend on."],
    mistakes=[
        Mistake("computed_twice_per_step",
                "in one `sess.run([train_op, loss], ...)` the loss is computed once: the gradient and the fetched "
                "value share it (both fetches need the same op, which runs once per run).",
                "loss_computations = 13\n", detect=answered(13)),
        Mistake("evaluation_computes_loss",
                "`eval_correct` needs the logits, not the loss: the session prunes the loss away when only "
                "`eval_correct` is fetched.",
                "loss_computations = 10\n", detect=answered(10)),
        Mistake("forgot_the_last_run",
                "the last line, `sess.run(loss, ...)`, computes the loss once more.",
                "loss_computations = 6\n", detect=answered(6)),
    ],
    expected=lambda: _run_snippet()["loss_computations"],
    compare=lambda expected, got: compare_values(expected, got, rtol=0, atol=0),
    explain=lambda value: f"the counter says the loss was computed {value} times.",
)

# ---------------------------------------------------------------- q5: repair a restore

RESTORE_IMPORT = "from tfcourse import v1\n\n"
RESTORE_BROKEN = '''\
def evaluate_checkpoint(path, images, labels):
    """How many of `images` the 784-16-8-10 network saved at `path` classifies right, as an int."""
    with tf.Graph().as_default():
        ops = v1.build_graph(None, 16, 8, 0.1)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            saver.restore(sess, path)
            sess.run(tf.compat.v1.global_variables_initializer())
            return int(sess.run(ops["eval_correct"], {ops["images"]: images, ops["labels"]: labels}))
'''
RESTORE_SOLUTION = RESTORE_BROKEN.replace(
    "            sess.run(tf.compat.v1.global_variables_initializer())\n", "")


def _restore_cases():
    return [Case("a checkpoint after 30 steps, a batch of 40", (21, 30, 40)),
            Case("a checkpoint after 5 steps, a batch of 9", (22, 5, 9))]


def _saved_run(seed, num_steps, directory):
    """Trains the lesson's graph from seed `seed`'s weights for `num_steps` steps, saves it with a Saver.

    Returns (the checkpoint's path, the trained weights as numpy arrays)."""
    import tensorflow as tf

    from tfcourse import v1

    rng = np.random.default_rng(seed)
    initial = _weights(seed)
    with tf.Graph().as_default():
        ops = v1.build_graph(None, *HIDDEN, 0.5, weights=initial)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for _ in range(num_steps):
                feed = {ops["images"]: rng.uniform(size=[20, 784]).astype(np.float32),
                        ops["labels"]: rng.integers(0, 10, 20).astype(np.int32)}
                sess.run(ops["train_op"], feed)
            names = [v.op.name for v in tf.compat.v1.trainable_variables()]
            trained = dict(zip(names, sess.run(tf.compat.v1.trainable_variables())))
            path = saver.save(sess, os.path.join(directory, "model.ckpt"), global_step=num_steps)
    return path, trained


def _run_restore(function, case_input):
    seed, num_steps, batch = case_input
    with tempfile.TemporaryDirectory() as directory:
        path, trained = _saved_run(seed, num_steps, directory)
        images, labels = _ranked_batch(np.random.default_rng(seed + 100), trained, batch, right_share=0.6)
        return {"count": function(path, images, labels), "trained": False, "batch": batch}


q5 = FunctionExercise(
    "nb04.q5", "evaluate_checkpoint", "repair a restore",
    prompt=(
        "This function should count how many images the network saved at `path` (a `Saver` checkpoint of the "
        "lesson's graph, 16 and 8 hidden units, written after some training) classifies right. It runs, but "
        "its counts are those of an untrained network:\n\n```python\n" + RESTORE_IMPORT + RESTORE_BROKEN
        + "```\n\nWrite the repaired function below (same name and arguments)."),
    skeleton=RESTORE_IMPORT + '''\
def evaluate_checkpoint(path, images, labels):
    """How many of `images` the 784-16-8-10 network saved at `path` classifies right, as an int."""
    ...  # the function above, repaired
''',
    solution=RESTORE_IMPORT + RESTORE_SOLUTION,
    hints=[
        "What value does each variable hold just before `eval_correct` runs, and which line gave it that value?",
        "`saver.restore(sess, path)` assigns every variable its saved value; the initializer assigns every "
        "variable its initial value. The last one to run wins.",
        "A restored session needs no initializer at all: delete that line (or run it before the restore).",
    ],
    mistakes=[
        Mistake("initialized_after_restore",
                "your counts are still those of the initial weights: the initializer that runs after "
                "`saver.restore` overwrites every restored value. Restore last, or drop the initializer.",
                RESTORE_IMPORT + RESTORE_BROKEN),
        Mistake("nothing_restored",
                "the variables hold no value: without the restore (and without the initializer) a session's "
                "variables are uninitialised. Keep `saver.restore(sess, path)`: it gives every variable its value.",
                RESTORE_IMPORT + RESTORE_SOLUTION.replace("            saver.restore(sess, path)\n", ""),
                detect=_errors_all("uninitialized|Could not find variable|not initialized")),
    ],
    cases=_restore_cases, run=_run_restore, compare=_compare_counts,
)

EXERCISES = [q1, q2, q3, q4, q5]
