"""The trainer's TensorBoard output read back from the event files (tfcourse.events):
tags, steps, values, the traced graph."""

import pytest
from fake_splits import small_data_sets

from tfcourse import events, training


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    config = training.TrainConfig(hidden1=32, hidden2=16, max_steps=60, steps_per_call=15, summary_every=10,
                                  eval_every=30, lr_schedule="cosine", learning_rate=0.01,
                                  log_dir=str(tmp_path_factory.mktemp("logs")), run_name="tb")
    result = training.train(small_data_sets(), config, progress=False, verbose=False)
    return result, (events.read_scalars(result.run_dir), events.histogram_tags(result.run_dir),
                    events.traced_graph_ops(result.run_dir))


def test_loss_scalars_are_the_logged_losses_at_every_summary_step(run):
    result, (scalars, _, _) = run
    assert result.run_dir.endswith("/tb")
    steps, values = scalars["loss"]
    assert steps.tolist() == [10, 20, 30, 40, 50, 60]
    by_step = dict(zip(result.steps, result.losses))
    for step, value in zip(steps, values):
        assert value == pytest.approx(by_step[step], rel=1e-7)


def test_learning_rate_examples_per_sec_and_accuracy(run):
    result, (scalars, _, _) = run
    rates = dict(zip(*scalars["learning_rate"]))
    assert sorted(rates) == [15, 30, 45, 60]
    assert rates[30] == pytest.approx(0.005, rel=1e-4) and rates[60] == pytest.approx(0.0, abs=1e-9)
    assert all(value > 0 for value in scalars["examples_per_sec"][1])
    assert scalars["accuracy/validation"][0].tolist() == [30, 60]
    assert scalars["accuracy/train"][0].tolist() == [30, 60]
    assert scalars["accuracy/validation"][1][-1] == pytest.approx(result.evaluations["validation"].precision)
    assert scalars["accuracy/train"][1][-1] == pytest.approx(result.evaluations["train"].precision)


def test_histograms_of_weights_and_activations(run):
    _, (_, histograms, _) = run
    assert histograms == sorted([f"weights/{layer}/{kind}" for layer in ("hidden1", "hidden2", "softmax_linear")
                                 for kind in ("weights", "biases")] +
                                [f"activations/{layer}" for layer in ("hidden1", "hidden2", "softmax_linear")])


def test_traced_training_step_graph(run):
    _, (_, _, graphs) = run
    assert list(graphs) == ["train_step"]
    ops = graphs["train_step"]
    # The loop, the forward pass, the gradient and the optimizer update are all in it.
    assert {"While", "MatMul", "Relu", "ReluGrad", "IteratorGetNext", "AssignSubVariableOp"} <= ops
