"""Draws the README's pictures from real data, a real training run and real benchmark results.

  PYTHONPATH=. python scripts/make_readme_figures.py [--max_steps 3000] [--out docs/img]
                                                     [--figures digits learning_curve scaling]

docs/img/digits.png          the first 32 training digits of the shipped MNIST, with labels
                             (tfcourse.plots.digit_grid, as notebook 01 shows them);
docs/img/learning_curve.png  loss per step of a `tfcourse.training` run, read back from its
                             TensorBoard event files (tfcourse.events.read_scalars);
docs/img/scaling.png         images/s and parallel efficiency of the small ResNet measured on this
                             machine's CPU (--scaling_results, written by
                             benchmarks/resnet_cpu_scaling.py; the command is recorded next to
                             it), next to the talk's published ResNet-50 numbers on P100 GPUs.
"""

import argparse
import os
import pathlib
import tempfile

import matplotlib

matplotlib.use("Agg")  # files only; no display on CI or a server
import matplotlib.pyplot as plt  # noqa: E402

FIGURES = ("digits", "learning_curve", "scaling")
SCALING_RESULTS = "benchmarks/results/cpu_small_resnet/results.jsonl"


def draw_digits(data_set, path, rows=4, cols=8):
    """Saves a rows x cols grid of digits from `data_set` (.images [N, 784] float32, .labels [N])."""
    from tfcourse import plots

    count = rows * cols
    fig = plots.digit_grid(data_set.images[:count], data_set.labels[:count], columns=cols, rows=rows)
    fig.suptitle("MNIST training digits and their labels", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


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


def draw_scaling(results_path, path):
    """The measured CPU scaling rows next to the talk's P100 table; returns the measured rows."""
    from tfcourse.resnet import report, results, scaling

    measured = [r for r in results.read_results(results_path) if r.get("benchmark") == "resnet_train_synthetic"]
    rows = scaling.scaling_table(scaling.select(measured, model="small"))
    cores = measured[0]["hardware"]["cpu_count"]
    report.plot_scaling(rows, path, label=f"measured here: small ResNet, {cores} shared CPU cores",
                        reference=("the talk: ResNet-50, P100 GPUs, Horovod (published)", scaling.talk_table(), "k^--"),
                        title="Training throughput and parallel efficiency: this machine vs the talk",
                        device_name="replicas (here) / GPUs (talk)", log_images=True, dpi=70)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max_steps", type=int, default=3000, help="training steps for the learning curve")
    parser.add_argument("--out", default="docs/img", help="output directory")
    parser.add_argument("--figures", nargs="+", choices=FIGURES, default=list(FIGURES), help="which to draw")
    parser.add_argument("--scaling_results", default=SCALING_RESULTS,
                        help="JSON-lines benchmark results for scaling.png")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if "digits" in args.figures or "learning_curve" in args.figures:
        from tfcourse.datasets import read_data_sets

        data = read_data_sets()
    if "digits" in args.figures:
        draw_digits(data.train, out / "digits.png")
    if "learning_curve" in args.figures:
        from tfcourse import events, training

        with tempfile.TemporaryDirectory() as log_dir:
            config = training.TrainConfig(max_steps=args.max_steps, log_dir=log_dir, run_name="readme")
            result = training.train(data, config, progress=False, verbose=False)
            steps, losses = events.read_scalars(result.run_dir)["loss"]
        draw_learning_curve(steps, losses, result.test_precision, out / "learning_curve.png")
        print(f"learning curve: {len(steps)} points, loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
              f"test precision@1 {result.test_precision:.4f}")
    if "scaling" in args.figures:
        rows = draw_scaling(args.scaling_results, out / "scaling.png")
        print("scaling: " + ", ".join(f"{r['devices']} ({r['layout']}) {r['images_per_sec']:.0f} images/s "
                                      f"{100 * r['efficiency']:.0f}%" for r in rows))
    for name in args.figures:
        print(f"wrote {out / name}.png ({os.path.getsize(out / (name + '.png')) // 1024} KB)")


if __name__ == "__main__":
    main()
