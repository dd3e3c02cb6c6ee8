"""Exercises of notebook 02 (the inference graph): a layer's variables, the forward pass, two counts.

    from tfcourse.exercises import nb02 as ex
"""

import re

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

# A truncated normal cut at two standard deviations has a standard deviation of 0.8796 times
# the untruncated one: measured stds are compared with this.
TRUNCATED_STD = 0.8796

# ---------------------------------------------------------------- q1: one layer's variables

LAYER_SOLUTION = '''\
def init_layer(fan_in, fan_out, seed):
    """The variables of one layer: weights float32 [fan_in, fan_out], biases float32 [fan_out]."""
    weights = tf.Variable(
        tf.random.truncated_normal([fan_in, fan_out], stddev=1.0 / np.sqrt(fan_in), seed=seed), name="weights")
    biases = tf.Variable(tf.zeros([fan_out]), name="biases")
    return weights, biases
'''


def _layer_cases():
    return [Case("the first layer (784 x 128)", (784, 128, 0)),
            Case("the second layer (128 x 32)", (128, 32, 1)),
            Case("a layer with a single unit (32 x 1)", (32, 1, 2))]


def _as_array(value, what):
    try:
        array = np.asarray(value, dtype=np.float64)
    except Exception:  # not a tensor, variable or array: say what it was
        raise AnswerError(f"expected {what} to be a tensor or variable, got {type(value).__name__}") from None
    return array


def _layer_properties(function, case_input):
    """What the check judges of (weights, biases): shapes, kind, and the weights' spread."""
    import tensorflow as tf

    fan_in, fan_out, seed = case_input
    result = function(fan_in, fan_out, seed)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise AnswerError(f"expected a pair `(weights, biases)`, got {type(result).__name__}")
    weights, biases = (_as_array(v, name) for v, name in zip(result, ("weights", "biases")))
    return {"fan_in": fan_in, "fan_out": fan_out,
            "variables": all(isinstance(v, tf.Variable) for v in result),
            "weights_shape": list(weights.shape), "biases_shape": list(biases.shape),
            # In units of the tutorial's stddev 1/sqrt(fan_in): the largest |w| (<= 2 when
            # truncated at two stddevs) and the measured std (about 0.88).
            "largest": float(np.abs(weights).max() * np.sqrt(fan_in)) if weights.size else 0.0,
            "std": float(weights.std() * np.sqrt(fan_in)) if weights.size else 0.0,
            "size": int(weights.size), "biases_zero": bool(np.all(biases == 0))}


def _std_tolerance(size):
    # Six standard errors of a sample std (about std / sqrt(2 n)): holds for any seed.
    return 6 * TRUNCATED_STD / np.sqrt(2 * max(size, 1))


def _compare_layers(expected, got):
    fan_in = expected["fan_in"]
    if got["weights_shape"] != expected["weights_shape"]:
        return f"weights of shape {got['weights_shape']}, expected [fan_in, fan_out] = {expected['weights_shape']}"
    if got["biases_shape"] != expected["biases_shape"]:
        return f"biases of shape {got['biases_shape']}, expected [fan_out] = {expected['biases_shape']}"
    if not got["biases_zero"]:
        return "the biases are not all zero"
    if got["largest"] > 2 * (1 + 1e-5):
        return (f"a weight of {got['largest'] / np.sqrt(fan_in):.4f}, beyond two standard deviations "
                f"(2 / sqrt({fan_in}) = {2 / np.sqrt(fan_in):.4f})")
    if abs(got["std"] - TRUNCATED_STD) > _std_tolerance(got["size"]):
        return (f"the weights' standard deviation is {got['std'] / np.sqrt(fan_in):.4f}, expected about "
                f"{TRUNCATED_STD / np.sqrt(fan_in):.4f} (a truncated normal of stddev 1 / sqrt({fan_in}))")
    if not got["variables"]:
        return "the weights and biases are not `tf.Variable`s"
    return None


def _on_first_layer(test):
    """A detector judging the big first layer, where the statistics are sharp."""
    return lambda outcomes: outcomes[0].error is None and test(outcomes[0].value)


def _transposed(outcomes):
    return all(o.error is None and o.value["weights_shape"] == [o.value["fan_out"], o.value["fan_in"]]
               for o in outcomes) and any(o.value["fan_in"] != o.value["fan_out"] for o in outcomes)


def _std_in_units_of(value, fan):
    """The measured std in units of 1 / sqrt(fan)."""
    return value["std"] / np.sqrt(value["fan_in"]) * np.sqrt(fan)


q1 = FunctionExercise(
    "nb02.q1", "init_layer", "a layer's variables",
    prompt=(
        "Write `init_layer(fan_in, fan_out, seed)`, returning the two variables of one fully connected layer as "
        "the lesson starts them: `weights` of shape `[fan_in, fan_out]` drawn from a **truncated normal** with "
        "standard deviation `1 / sqrt(fan_in)` (`tf.random.truncated_normal`, `seed=seed`), and `biases` of shape "
        "`[fan_out]`, all zero. Both must be `tf.Variable`s. The check judges the values by their statistics."),
    skeleton='''\
def init_layer(fan_in, fan_out, seed):
    """The variables of one layer: weights float32 [fan_in, fan_out], biases float32 [fan_out]."""
    ...
''',
    solution=LAYER_SOLUTION,
    hints=[
        "The weights connect every input to every output: `fan_in` rows, `fan_out` columns.",
        "`tf.random.truncated_normal(shape, stddev=..., seed=seed)` redraws anything beyond two standard "
        "deviations; the standard deviation is `1.0 / np.sqrt(fan_in)`.",
        "Wrap both in `tf.Variable(...)`; the biases are `tf.zeros([fan_out])`.",
    ],
    mistakes=[
        Mistake("transposed_weights",
                "your weights are `[fan_out, fan_in]`: the lesson computes `inputs @ weights` with inputs "
                "`[batch, fan_in]`, so the weights are `[fan_in, fan_out]`.",
                LAYER_SOLUTION.replace("[fan_in, fan_out]", "[fan_out, fan_in]"), detect=_transposed),
        Mistake("zero_weights",
                "all your weights are zero: then every unit of the layer computes the same thing and gets the "
                "same gradient, so they never become different. Draw them from a truncated normal.",
                LAYER_SOLUTION.replace(
                    "tf.random.truncated_normal([fan_in, fan_out], stddev=1.0 / np.sqrt(fan_in), seed=seed)",
                    "tf.zeros([fan_in, fan_out])"),
                detect=lambda outcomes: all(o.error is None and o.value["largest"] == 0 for o in outcomes)),
        Mistake("unit_stddev",
                "your weights have standard deviation 1 (the default of `truncated_normal`): with 784 inputs, each "
                "unit's input then starts about 28 times too large. Pass `stddev=1.0 / np.sqrt(fan_in)`.",
                LAYER_SOLUTION.replace(", stddev=1.0 / np.sqrt(fan_in)", ""),
                detect=_on_first_layer(lambda v: abs(_std_in_units_of(v, 1) - TRUNCATED_STD) < 0.03)),
        Mistake("stddev_from_fan_out",
                "your standard deviation is `1 / sqrt(fan_out)`; the lesson scales by the number of *inputs* "
                "of a unit: `stddev=1.0 / np.sqrt(fan_in)`.",
                LAYER_SOLUTION.replace("stddev=1.0 / np.sqrt(fan_in)", "stddev=1.0 / np.sqrt(fan_out)"),
                detect=_on_first_layer(
                    lambda v: abs(_std_in_units_of(v, v["fan_out"]) - TRUNCATED_STD) < 0.03)),
        Mistake("normal_not_truncated",
                "some of your weights lie beyond two standard deviations: `tf.random.normal` is not truncated. "
                "Use `tf.random.truncated_normal`, which redraws those.",
                LAYER_SOLUTION.replace("tf.random.truncated_normal", "tf.random.normal"),
                detect=_on_first_layer(lambda v: v["largest"] > 2 and abs(v["std"] - 1) < 0.03)),
        Mistake("biases_not_zero",
                "your biases are not zero: the lesson starts them at `tf.zeros([fan_out])` (the random weights "
                "already make the units different).",
                LAYER_SOLUTION.replace("tf.zeros([fan_out])",
                                       "tf.random.truncated_normal([fan_out], stddev=1.0 / np.sqrt(fan_in))"),
                detect=lambda outcomes: all(o.error is None and not o.value["biases_zero"] for o in outcomes)),
        Mistake("not_variables",
                "the values are right, but return `tf.Variable`s: variables keep their values between steps and "
                "training changes them in place; a tensor is a constant.",
                LAYER_SOLUTION.replace("weights = tf.Variable(\n        tf.random", "weights = (\n        tf.random")
                .replace(', name="weights")', ")").replace('tf.Variable(tf.zeros([fan_out]), name="biases")',
                                                          "tf.zeros([fan_out])"),
                detect=lambda outcomes: all(o.error is None and not o.value["variables"] for o in outcomes)),
    ],
    cases=_layer_cases, run=_layer_properties, compare=_compare_layers,
)

# ---------------------------------------------------------------- q2: the forward pass

INFERENCE_SOLUTION = '''\
def my_inference(images, weights):
    """images float32 [batch, 784] -> logits float32 [batch, 10]; weights: {"hidden1/weights": [784, h1], ...}."""
    hidden1 = tf.nn.relu(tf.matmul(images, weights["hidden1/weights"]) + weights["hidden1/biases"])
    hidden2 = tf.nn.relu(tf.matmul(hidden1, weights["hidden2/weights"]) + weights["hidden2/biases"])
    return tf.matmul(hidden2, weights["softmax_linear/weights"]) + weights["softmax_linear/biases"]
'''


def _inference_cases():
    from tfcourse import mnist

    rng = np.random.default_rng(2)

    def case(label, batch, hidden1, hidden2, seed):
        weights = mnist.initial_weights(hidden1, hidden2, seed=seed)
        # Non-zero biases (trained ones are), so an answer that leaves them out is seen.
        weights = {name: value if name.endswith("weights") else rng.normal(0, 0.5, value.shape).astype(np.float32)
                   for name, value in weights.items()}
        images = rng.uniform(size=[batch, 784]).astype(np.float32)
        return Case(label, (images, weights))

    return [case("a batch of 4 (784-16-8-10)", 4, 16, 8, 0),
            case("a batch of 1", 1, 16, 8, 1),
            case("a last partial batch of 7 (784-32-16-10)", 7, 32, 16, 2)]


def _matmul_shapes_wrong(outcomes):
    return all(o.error is not None and "Matrix size-incompatible" in str(o.error) for o in outcomes)


q2 = FunctionExercise(
    "nb02.q2", "my_inference", "the forward pass",
    prompt=(
        "Write `my_inference(images, weights)`, the inference graph of the lesson: two hidden layers "
        "`relu(inputs @ W + b)`, then the linear layer giving the 10 **logits**. `images` is float32 "
        "`[batch, 784]`; `weights` is a dict like `mnist.initial_weights` returns: `weights[\"hidden1/weights\"]` "
        "`[784, h1]`, `weights[\"hidden1/biases\"]` `[h1]`, then `hidden2/...` and `softmax_linear/...`. "
        "Use `tf.matmul` and `tf.nn.relu`."),
    skeleton='''\
def my_inference(images, weights):
    """images float32 [batch, 784] -> logits float32 [batch, 10]; weights: {"hidden1/weights": [784, h1], ...}."""
    ...
''',
    solution=INFERENCE_SOLUTION,
    hints=[
        "Three layers, each `tf.matmul(inputs, weights[...]) + biases`; the output of one is the input of the next.",
        "The two hidden layers go through `tf.nn.relu`; the last layer does not: its outputs are the logits.",
        "`hidden1 = tf.nn.relu(tf.matmul(images, weights[\"hidden1/weights\"]) + weights[\"hidden1/biases\"])`, "
        "the same for `hidden2` from `hidden1`, and the logits from `hidden2` without the ReLU.",
    ],
    mistakes=[
        Mistake("forgot_relu",
                "you left out the ReLUs: without them the three layers collapse into one linear map. Apply "
                "`tf.nn.relu` to both hidden layers.",
                INFERENCE_SOLUTION.replace("tf.nn.relu(", "(")),
        Mistake("relu_on_logits",
                "you applied a ReLU to the logits too: logits may be negative (they are scores before softmax). "
                "Only the two hidden layers get `tf.nn.relu`.",
                INFERENCE_SOLUTION.replace("    return tf.matmul(hidden2, weights[\"softmax_linear/weights\"]) + "
                                           "weights[\"softmax_linear/biases\"]",
                                           "    return tf.nn.relu(tf.matmul(hidden2, weights[\"softmax_linear/"
                                           "weights\"]) + weights[\"softmax_linear/biases\"])")),
        Mistake("softmax_on_logits",
                "you returned probabilities (`tf.nn.softmax`); inference returns the raw logits, and the loss "
                "applies the softmax itself.",
                INFERENCE_SOLUTION.replace("    return tf.matmul(hidden2, weights[\"softmax_linear/weights\"]) + "
                                           "weights[\"softmax_linear/biases\"]",
                                           "    return tf.nn.softmax(tf.matmul(hidden2, weights[\"softmax_linear/"
                                           "weights\"]) + weights[\"softmax_linear/biases\"])")),
        Mistake("no_biases",
                "you left out the biases: every layer is `tf.matmul(inputs, weights) + biases`.",
                re.sub(r' \+ weights\["\w+/biases"\]', "", INFERENCE_SOLUTION)),
        Mistake("weights_transposed",
                "`tf.matmul` says the shapes do not fit: inputs are `[batch, fan_in]` and weights "
                "`[fan_in, fan_out]`, so multiply `tf.matmul(inputs, weights)`, inputs first, without transposing.",
                INFERENCE_SOLUTION.replace("tf.matmul(images, weights[\"hidden1/weights\"])",
                                           "tf.matmul(images, weights[\"hidden1/weights\"], transpose_b=True)"),
                detect=_matmul_shapes_wrong),
    ],
    cases=_inference_cases,
)

# ---------------------------------------------------------------- q3: how many parameters?


def _parameter_count():
    from tfcourse import mnist

    model = mnist.MLP(128, 32)
    return sum(int(np.prod(variable.shape)) for variable in model.trainable_variables)


def _exact(expected, got):
    return compare_values(expected, got, rtol=0, atol=0)


q3 = ValueExercise(
    "nb02.q3", "num_parameters", "how many parameters?",
    prompt=(
        "How many parameters (numbers that training changes) does the 784-128-32-10 network have? Set "
        "`num_parameters` to the number: compute it from the layer sizes, without looking at the model. The "
        "check counts the entries of `mnist.MLP(128, 32).trainable_variables`."),
    skeleton="num_parameters = ...\n",
    solution="num_parameters = (784 * 128 + 128) + (128 * 32 + 32) + (32 * 10 + 10)\n",
    hints=["Each layer has `fan_in x fan_out` weights and `fan_out` biases.",
           "The three layers are 784 x 128, 128 x 32 and 32 x 10; add their weights and biases."],
    mistakes=[
        Mistake("forgot_biases",
                "you counted the weights only: each layer also has one bias per output unit (128 + 32 + 10 more).",
                "num_parameters = 784 * 128 + 128 * 32 + 32 * 10\n", detect=answered(104768)),
        Mistake("forgot_output_layer",
                "you left out the last layer, 32 x 10 weights plus 10 biases: it has parameters too.",
                "num_parameters = (784 * 128 + 128) + (128 * 32 + 32)\n", detect=answered(104608)),
        Mistake("counted_units",
                "that counts the units (the sizes of the layers); parameters are the connections between them: "
                "`fan_in x fan_out` weights plus `fan_out` biases per layer.",
                "num_parameters = 784 + 128 + 32 + 10\n", detect=answered(954)),
    ],
    expected=_parameter_count, compare=_exact,
    explain=lambda count: f"the model's variables hold {count:,} numbers, almost all in the first layer.",
)

# ---------------------------------------------------------------- q4: predict the MatMuls of a deeper step


def _deeper_step_matmuls():
    """Traces one training step of a 784-64-32-16-10 network and counts its MatMul ops."""
    import keras
    import tensorflow as tf

    from tfcourse import graphs, mnist
    from tfcourse.training import steps

    sizes = [784, 64, 32, 16, 10]

    class DeeperMLP(tf.Module):
        def __init__(self):
            super().__init__(name="deeper")
            self.layers = [mnist.Dense(tf.random.stateless_truncated_normal([fan_in, fan_out], seed=[0, index]),
                                       tf.zeros([fan_out]), f"layer{index}")
                           for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

        def __call__(self, images):
            outputs = images
            for layer in self.layers[:-1]:
                outputs = tf.nn.relu(layer(outputs))
            return self.layers[-1](outputs)

    model, optimizer = DeeperMLP(), keras.optimizers.SGD(0.01)
    graph = graphs.trace_graph(lambda images, labels: steps.training_step(model, optimizer, images, labels),
                               tf.TensorSpec([None, 784], tf.float32), tf.TensorSpec([None], tf.int32))
    return graphs.op_type_counts(graph)["MatMul"]


q4 = ValueExercise(
    "nb02.q4", "predicted_matmuls", "predict the MatMuls of a deeper training step",
    prompt=(
        "The lesson's training step has 8 `MatMul` ops: 3 forward, and backward one for each layer's weight "
        "gradient plus one for each layer's input gradient, except the first layer's input (the images). Now "
        "take a network with **three** hidden layers, 784-64-32-16-10, same step: how many `MatMul` ops does its "
        "graph have? Set `predicted_matmuls` to your prediction; the check traces the step and counts."),
    skeleton="predicted_matmuls = ...\n",
    solution="predicted_matmuls = 4 + 4 + 3  # forward, weight gradients, input gradients (not the images')\n",
    hints=["Four layers: how many forward `MatMul`s?",
           "Backward: each of the 4 layers needs its weights' gradient; only layers 2-4 need their input's gradient."],
    mistakes=[
        Mistake("forward_only",
                "that counts the forward pass only; the backward pass adds `MatMul`s for the gradients.",
                "predicted_matmuls = 4\n", detect=answered(4)),
        Mistake("one_backward_matmul_per_layer",
                "the backward pass needs two `MatMul`s per layer (weight gradient and input gradient), only the "
                "first layer's input gradient is skipped (images need none). (8 was the 3-layer network's count.)",
                "predicted_matmuls = 8\n", detect=answered(8)),
        Mistake("images_gradient_counted",
                "close: the images are not variables, so no gradient is computed for them and the first layer "
                "needs one backward `MatMul`, not two.",
                "predicted_matmuls = 12\n", detect=answered(12)),
    ],
    expected=_deeper_step_matmuls, compare=_exact,
    explain=lambda count: f"tracing it gives {count} MatMul ops: 4 forward, 4 weight gradients, 3 input gradients.",
)

EXERCISES = [q1, q2, q3, q4]
