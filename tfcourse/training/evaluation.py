"""The tutorial's do_eval: precision@1 over a whole split."""

import dataclasses

import numpy as np
import tensorflow as tf

from tfcourse import mnist

SPLIT_TITLES = {"train": "Training Data Eval:", "validation": "Validation Data Eval:", "test": "Test Data Eval:"}


@dataclasses.dataclass
class Evaluation:
    """do_eval's numbers for one split."""

    num_examples: int
    num_correct: int

    @property
    def precision(self):
        return self.num_correct / self.num_examples if self.num_examples else 0.0

    def __str__(self):
        return (f"Num examples: {self.num_examples}  Num correct: {self.num_correct}  "
                f"Precision @ 1: {self.precision:0.04f}")


def evaluate(model, data_set, batch_size=5000):
    """Counts correct top-1 predictions over a whole split (every example, in order).

    Returns:
      Evaluation(num_examples, num_correct).
    """
    correct = 0
    labels = data_set.labels.astype(np.int32)
    for first in range(0, data_set.num_examples, batch_size):
        correct += int(_eval_step(model, data_set.images[first:first + batch_size], labels[first:first + batch_size]))
    return Evaluation(int(data_set.num_examples), correct)


@tf.function(reduce_retracing=True)
def _eval_step(model, images, labels):
    return mnist.evaluation(model(images), labels)


def do_eval(model, data_set, batch_size=5000, printer=print):
    """The tutorial's do_eval: prints 'Num examples / Num correct / Precision @ 1'; returns precision."""
    result = evaluate(model, data_set, batch_size)
    printer(f"  {result}")
    return result.precision


def evaluate_splits(model, data_sets, say=print):
    """The tutorial's closing evaluation: do_eval of each non-empty split under its title.

    Returns:
      {"train": Evaluation, "validation": ..., "test": ...} for the splits that hold examples.
    """
    evaluations = {}
    for name, title in SPLIT_TITLES.items():
        split = getattr(data_sets, name)
        if split.num_examples:
            say(title)
            evaluations[name] = evaluate(model, split)
            say(f"  {evaluations[name]}")
    return evaluations
