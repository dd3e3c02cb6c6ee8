"""A TF2 custom training loop a student writes against tfcourse's public pieces.

The model, loss and evaluation come from `tfcourse.mnist` and the data from
`tfcourse.datasets`; only the loop itself (GradientTape + optimizer) is written here.

  python examples/custom_loop.py --max_steps 2000
"""

import argparse

import tensorflow as tf

from tfcourse import mnist, settings
from tfcourse.datasets import read_data_sets
from tfcourse.datasets.pipeline import make_dataset


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max_steps", type=int, default=2000, help="training steps")
    parser.add_argument("--batch_size", type=int, default=100, help="images per step")
    parser.add_argument("--learning_rate", type=float, default=0.1, help="SGD learning rate")
    parser.add_argument("--fake_data", action="store_true", help="use synthetic data (quick checks)")
    parser.add_argument("--seed", type=int, default=0, help="seeds data order and weights")
    return parser.parse_args(argv)


def precision_at_1(model, data_set, batch_size=5000):
    """Top-1 precision of `model` over a whole DataSet, using the library's `evaluation`."""
    correct = 0
    for start in range(0, data_set.num_examples, batch_size):
        images = data_set.images[start:start + batch_size]
        labels = data_set.labels[start:start + batch_size]
        correct += int(mnist.evaluation(model(images), labels))
    return correct / data_set.num_examples


def main(argv=None):
    args = parse_args(argv)
    settings.set_seed(args.seed)
    data = read_data_sets(fake_data=args.fake_data, seed=args.seed)
    model = mnist.MLP(hidden1_units=128, hidden2_units=32, seed=args.seed)
    optimizer = tf.keras.optimizers.SGD(args.learning_rate)
    batches = make_dataset(data.train, args.batch_size, seed=args.seed)

    # tf.function turns the Python step into one graph, as sess.run did in the v1 tutorial.
    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = mnist.loss(model(images), labels)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    for step, (images, labels) in enumerate(batches.take(args.max_steps), start=1):
        loss = train_step(images, labels)
        if step % 500 == 0 or step == args.max_steps:
            print(f"step {step}: loss = {float(loss):.4f}")
    print(f"validation precision@1 = {precision_at_1(model, data.validation):.4f}")
    print(f"test precision@1 = {precision_at_1(model, data.test):.4f}")


if __name__ == "__main__":
    main()
