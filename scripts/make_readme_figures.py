"""Draws the README's pictures from real data and a real training run.

  PYTHONPATH=. python scripts/make_readme_figures.py [--max_steps 3000] [--out docs/img]

docs/img/digits.png          the first 32 training digits of the shipped MNIST, with labels;
docs/img/learning_curve.png  loss per step of a `tfcourse.train` run, read back from its
                             TensorBoard event files with tensorboard's EventAccumulator;
docs/img/scaling.png         not drawn yet: the ResNet scaling lab (branch `resnet`) has no
                             chart function on this branch (see the note printed at the end).
"""

import argparse
import os
import pathlib
import tempfile

import matplotlib

matplotlib.use("Agg")  # files only; no display on CI or a server
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def draw_digits(data_set, path, rows=4, cols=8):
    """Saves a rows x cols grid of 28x28 digits from `data_set` (.images [N, 784] float32)."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05))
    for ax, image, label in zip(axes.flat, data_set.images, data_set.labels):
        ax.imshow(image.reshape(28, 28), cmap="gray_r")
        ax.set_title(str(int(label)), fontsize=9)
        ax.axis("off")
    fig.suptitle("MNIST training digits and their labels", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def read_scalars(run_dir, tag):
    """(steps, values) of scalar `tag` in a run's event files; TF2 writes scalars as tensors."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    import tensorflow as tf

    accumulator = EventAccumulator(str(run_dir), size_guidance={"tensors": 0, "scalars": 0})
    accumulator.Reload()
    if tag in accumulator.Tags()["tensors"]:
        events = accumulator.Tensors(tag)
        return (np.array([e.step for e in events]),
                np.array([float(tf.make_ndarray(e.tensor_proto)) for e in events]))
    events = accumulator.Scalars(tag)
    return np.array([e.step for e in events]), np.array([e.value for e in events])


def draw_learning_curve(steps, losses, test_precision, path):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(steps, losses, lw=1, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("cross-entropy loss (log scale)")
    ax.set_title(f"tfcourse train: MLP 128x32 on MNIST, test precision@1 = {test_precision:.4f}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max_steps", type=int, default=3000, help="training steps for the learning curve")
    parser.add_argument("--out", default="docs/img", help="output directory")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from tfcourse import train
    from tfcourse.datasets import read_data_sets

    data = read_data_sets()
    draw_digits(data.train, out / "digits.png")
    with tempfile.TemporaryDirectory() as log_dir:
        config = train.TrainConfig(max_steps=args.max_steps, log_dir=log_dir, run_name="readme")
        result = train.train(data, config, progress=False, verbose=False)
        steps, losses = read_scalars(result.run_dir, "loss")
        draw_learning_curve(steps, losses, result.test_precision, out / "learning_curve.png")
    for name in ("digits.png", "learning_curve.png"):
        print(f"wrote {out / name} ({os.path.getsize(out / name) // 1024} KB)")
    print(f"learning curve: {len(steps)} points, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"test precision@1 {result.test_precision:.4f}")
    print("scaling.png: not drawn; needs the resnet lab's chart function (branch `resnet`).")


if __name__ == "__main__":
    main()
