"""Exercises of notebook 02 (the inference graph): a layer's variables, the forward pass, two counts.

    from tfcourse.exercises import nb02 as ex
"""

import numpy as np

from tfcourse.exercises.core import (
    AnswerError,
    Case,
    FunctionExercise,
    Mistake,
    ValueExercise,
    answered,
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
    dtypes = [getattr(getattr(v, "dtype", None), "name", type(v).__name__) for v in result]
    weights, biases = (_as_array(v, name) for v, name in zip(result, ("weights", "biases")))
    return {"fan_in": fan_in, "fan_out": fan_out, "dtypes": dtypes,
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
    if got["dtypes"] != ["float32", "float32"]:
        return f"weights and biases of dtypes {got['dtypes']}, expected float32 both (what the images are)"
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
        "the lesson starts them: `weights` of shape `[fan_in, fan_out]` drawn from a **truncated normal** whose "
        "`stddev` parameter is `1 / sqrt(fan_in)` (`tf.random.truncated_normal`, `seed=seed`; cut at two stddevs, "
        "its measured spread is about `0.88 / sqrt(fan_in)`, as section 1 found), and `biases` of shape "
        "`[fan_out]`, all zero. Both must be float32 `tf.Variable`s. The check judges the values by their "
        "statistics."),
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
        Mistake("float64_variables",
                "your variables are float64 (numpy's default, e.g. from `np.random` or `np.zeros`): the images "
                "are float32 and `tf.matmul` refuses to mix the two. Make both float32.",
                LAYER_SOLUTION.replace("tf.zeros([fan_out])", "tf.zeros([fan_out], tf.float64)").replace(
                    "seed=seed)", "seed=seed, dtype=tf.float64)"),
                detect=lambda outcomes: all(o.error is None and "float64" in o.value["dtypes"] for o in outcomes)),
    ],
    cases=_layer_cases, run=_layer_properties, compare=_compare_layers,
)

# ---------------------------------------------------------------- q2: the forward pass

INFERENCE_SOLUTION = '''\
def deep_inference(images, layers):
    \"\"\"images float32 [batch, 784] -> logits [batch, 10]; layers: [(weights, biases), ...], any number.\"\"\"
    outputs = images
    for weights, biases in layers[:-1]:
        outputs = tf.nn.relu(tf.matmul(outputs, weights) + biases)
    weights, biases = layers[-1]
    return tf.matmul(outputs, weights) + biases
'''


def _inference_cases():
    rng = np.random.default_rng(2)

    def case(label, batch, sizes):
        layers = [(rng.normal(0, 1 / np.sqrt(fan_in), [fan_in, fan_out]).astype(np.float32),
                   rng.normal(0, 0.5, [fan_out]).astype(np.float32))  # non-zero biases, as trained ones are
                  for fan_in, fan_out in zip(sizes[:-1], sizes[1:])]
        return Case(label, (rng.uniform(size=[batch, sizes[0]]).astype(np.float32), layers))

    return [case("a batch of 4 through 784-16-8-10 (two hidden layers)", 4, [784, 16, 8, 10]),
            case("a batch of 3 through 784-32-16-16-12-10 (four hidden layers)", 3, [784, 32, 16, 16, 12, 10]),
            case("a batch of 5 through 784-20-10 (one hidden layer)", 5, [784, 20, 10]),
            case("a batch of 2 through 784-10 (no hidden layer: logistic regression)", 2, [784, 10])]


def _matmul_shapes_wrong(outcomes):
    return all(o.error is not None and "Matrix size-incompatible" in str(o.error) for o in outcomes)


q2 = FunctionExercise(
    "nb02.q2", "deep_inference", "an inference graph of any depth",
    prompt=(
        "Section 2's `forward` has exactly two hidden layers. Write `deep_inference(images, layers)` for **any "
        "number** of layers: `layers` is a list of `(weights, biases)` pairs, `weights` `[fan_in, fan_out]` and "
        "`biases` `[fan_out]`, the first taking the 784 pixels, the last giving the 10 **logits**. Every layer "
        "but the last is `relu(inputs @ W + b)`; the last has no ReLU. A list of one pair is a network without "
        "hidden layers. `images` is float32 `[batch, 784]`. Use `tf.matmul` and `tf.nn.relu`."),
    skeleton='''\
def deep_inference(images, layers):
    \"\"\"images float32 [batch, 784] -> logits [batch, 10]; layers: [(weights, biases), ...], any number.\"\"\"
    ...
''',
    solution=INFERENCE_SOLUTION,
    hints=[
        "A loop: the output of each layer is the input of the next.",
        "Loop over `layers[:-1]` with `outputs = tf.nn.relu(tf.matmul(outputs, weights) + biases)`, starting "
        "from `outputs = images`; then apply the last pair without the ReLU.",
    ],
    mistakes=[
        Mistake("forgot_relu",
                "you left out the ReLUs: without them the layers collapse into one linear map. Apply "
                "`tf.nn.relu` to every hidden layer.",
                INFERENCE_SOLUTION.replace("tf.nn.relu(", "(")),
        Mistake("relu_on_logits",
                "you applied a ReLU to the logits too: logits may be negative (they are scores before softmax). "
                "Only the hidden layers get `tf.nn.relu`.",
                INFERENCE_SOLUTION.replace("return tf.matmul(outputs, weights) + biases",
                                           "return tf.nn.relu(tf.matmul(outputs, weights) + biases)")),
        Mistake("softmax_on_logits",
                "you returned probabilities (`tf.nn.softmax`); inference returns the raw logits, and the loss "
                "applies the softmax itself.",
                INFERENCE_SOLUTION.replace("return tf.matmul(outputs, weights) + biases",
                                           "return tf.nn.softmax(tf.matmul(outputs, weights) + biases)")),
        Mistake("no_biases",
                "you left out the biases: every layer is `tf.matmul(inputs, weights) + biases`.",
                INFERENCE_SOLUTION.replace(" + biases", "")),
        Mistake("weights_transposed",
                "`tf.matmul` says the shapes do not fit: inputs are `[batch, fan_in]` and weights "
                "`[fan_in, fan_out]`, so multiply `tf.matmul(inputs, weights)`, inputs first, without transposing.",
                INFERENCE_SOLUTION.replace("tf.matmul(outputs, weights)", "tf.matmul(weights, outputs)"),
                detect=lambda outcomes: all(o.error is not None for o in outcomes)
                and _matmul_shapes_wrong(outcomes[:1])),
    ],
    cases=_inference_cases,
)

# ---------------------------------------------------------------- q3: how many parameters?


def _parameter_count():
    from tfcourse import mnist

    model = mnist.MLP(256, 64)
    return sum(int(np.prod(variable.shape)) for variable in model.trainable_variables)


q3 = ValueExercise(
    "nb02.q3", "num_parameters", "how many parameters?",
    prompt=(
        "Section 3 counted the parameters of the course's 784-128-32-10 network. A wider one, **784-256-64-10**: "
        "how many parameters (numbers that training changes) does it have? Set `num_parameters` to the number: "
        "compute it from the layer sizes. The check counts the entries of "
        "`mnist.MLP(256, 64).trainable_variables`."),
    skeleton="num_parameters = ...\n",
    solution="num_parameters = (784 * 256 + 256) + (256 * 64 + 64) + (64 * 10 + 10)\n",
    hints=["Each layer has `fan_in x fan_out` weights and `fan_out` biases.",
           "The three layers are 784 x 256, 256 x 64 and 64 x 10; add their weights and biases."],
    mistakes=[
        Mistake("forgot_biases",
                "you counted the weights only: each layer also has one bias per output unit (256 + 64 + 10 more).",
                "num_parameters = 784 * 256 + 256 * 64 + 64 * 10\n", detect=answered(217728)),
        Mistake("forgot_output_layer",
                "you left out the last layer, 64 x 10 weights plus 10 biases: it has parameters too.",
                "num_parameters = (784 * 256 + 256) + (256 * 64 + 64)\n", detect=answered(217408)),
        Mistake("counted_units",
                "that counts the units (the sizes of the layers); parameters are the connections between them: "
                "`fan_in x fan_out` weights plus `fan_out` biases per layer.",
                "num_parameters = 784 + 256 + 64 + 10\n", detect=answered(1114)),
    ],
    expected=_parameter_count,
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
    expected=_deeper_step_matmuls,
    explain=lambda count: f"tracing it gives {count} MatMul ops: 4 forward, 4 weight gradients, 3 input gradients.",
)

EXERCISES = [q1, q2, q3, q4]
