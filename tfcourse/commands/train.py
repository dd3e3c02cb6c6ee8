"""tfcourse train: the MNIST tutorial's fully_connected_feed, on the TF2 trainer."""

from tfcourse.commands.args import positive_float, positive_int, seed

HELP = "train the MNIST two-hidden-layer network (the tutorial's fully_connected_feed)"


def configure(parser):
    import dataclasses
    import types

    from tfcourse.training.config import OPTIMIZERS, SCHEDULES, TrainConfig

    # The fields' defaults, read without making (and checking) a config: the run's own is checked once.
    defaults = types.SimpleNamespace(**{field.name: field.default for field in dataclasses.fields(TrainConfig)})
    add = parser.add_argument
    add("--learning_rate", "--learning-rate", type=positive_float, default=None,
        help="initial learning rate (default: 0.002 for adam, 0.01 for sgd/momentum as in the tutorial)")
    add("--max_steps", "--max-steps", type=positive_int, default=None,
        help="number of steps to run (overrides --epochs)")
    add("--epochs", type=positive_float, default=defaults.epochs,
        help=f"passes over the training split when --max_steps is not given (default {defaults.epochs})")
    add("--hidden1", type=positive_int, default=defaults.hidden1, help="units in hidden layer 1")
    add("--hidden2", type=positive_int, default=defaults.hidden2, help="units in hidden layer 2")
    add("--batch_size", "--batch-size", type=positive_int, default=defaults.batch_size,
        help="examples per step (global, split over replicas)")
    add("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help="sgd is the tutorial's GradientDescent")
    add("--lr_schedule", "--lr-schedule", choices=SCHEDULES, default=defaults.lr_schedule,
        help=f"learning-rate schedule over the run (default {defaults.lr_schedule}; "
             "the tutorial's is constant)")
    add("--seed", type=seed, default=defaults.seed, help="seeds weights and data order")
    add("--input_data_dir", "--input-data-dir", default=None,
        help="MNIST directory (default: $TFCOURSE_DATA_DIR, then the shipped data/mnist)")
    add("--log_dir", "--log-dir", default=None,
        help="TensorBoard runs and checkpoints go here (default: mnist/logs in your run folder, "
             "see `tfcourse info`)")
    add("--run_name", "--run-name", default=None, help="subdirectory of --log_dir (default: from the flags)")
    add("--fake_data", "--fake-data", action="store_true", help="synthetic data instead of MNIST files")
    add("--resume", action="store_true", help="continue from the run's latest checkpoint")
    add("--checkpoint_every", "--checkpoint-every", type=positive_int, default=defaults.checkpoint_every,
        help="save a checkpoint every N steps (and at the end)")
    add("--keep_checkpoints", "--keep-checkpoints", type=positive_int, default=defaults.keep_checkpoints,
        help="how many recent checkpoints to keep")
    add("--steps_per_call", "--steps-per-call", type=positive_int, default=defaults.steps_per_call,
        help="training steps per compiled call (fewer Python round trips)")
    add("--xla", action="store_true", help="jit-compile the training step with XLA")
    add("--no_progress", "--no-progress", action="store_true", help="no progress bar")
    add("--replicas", type=positive_int, default=None,
        help="synchronous replicas in this process: N GPUs, else N logical CPUs (MirroredStrategy); "
             "under TF_CONFIG (tfcourse launch) every worker is a replica instead")


def resume_command(args):
    """The command line that continues the run `args` describes: `tfcourse train` with `--resume`.

    Rebuilt from the parsed flags (every one that differs from its default), so the hint
    is exact however the command was typed (aliases, abbreviations, `python -m tfcourse`).
    """
    import argparse
    import shlex

    parser = argparse.ArgumentParser(add_help=False)
    configure(parser)
    words = ["tfcourse", "train"]
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.dest == "resume" or value == action.default:
            continue
        flag = action.option_strings[0]  # the underscore spelling, as in the tutorial
        words += [flag] if isinstance(action, argparse._StoreTrueAction) else [flag, str(value)]
    return shlex.join(words + ["--resume"])


def run(args):
    import os
    import sys

    from tfcourse import settings
    from tfcourse.datasets import locate, read_data_sets
    from tfcourse.errors import CourseError
    from tfcourse.training.config import DEFAULT_LEARNING_RATES, TrainConfig

    # Everything checkable is checked before TensorFlow loads: a wrong flag answers at once
    # (the TrainConfig checks itself as it is made).
    if args.input_data_dir and not args.fake_data and not locate.has_mnist(args.input_data_dir):
        where = "does not exist" if not os.path.isdir(args.input_data_dir) else "lacks the four MNIST files"
        raise CourseError(f"--input_data_dir {args.input_data_dir} {where}; "
                          "pass --fake_data or fetch it with 'tfcourse data --download --input_data_dir DIR'")
    config = TrainConfig(
        hidden1=args.hidden1, hidden2=args.hidden2, batch_size=args.batch_size, optimizer=args.optimizer,
        learning_rate=args.learning_rate or DEFAULT_LEARNING_RATES[args.optimizer],
        lr_schedule=args.lr_schedule, max_steps=args.max_steps, epochs=args.epochs, seed=args.seed,
        steps_per_call=args.steps_per_call, xla=args.xla, log_dir=args.log_dir or settings.default_log_dir(),
        run_name=args.run_name, resume=args.resume, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints)
    from tfcourse.distribute import strategies

    # Before any TensorFlow op: logical CPUs and the multi-worker runtime are set up first.
    strategy, chief = strategies.make_strategy(args.replicas)
    data_sets = read_data_sets(args.input_data_dir, fake_data=args.fake_data, seed=args.seed)
    from tfcourse.training import TrainingInterrupted, train

    try:
        result = train(data_sets, config, strategy=strategy, chief=chief, progress=not args.no_progress and chief)
    except TrainingInterrupted as stop:
        print(f"tfcourse train: interrupted at step {stop.step}; saved {stop.checkpoint}; "
              f"resume with: {resume_command(args)}", file=sys.stderr, flush=True)
        return 130
    print(f"test precision@1 {result.test_precision:.4f} after {result.final_step} steps; "
          f"checkpoints: {result.checkpoint_dir}; logs: {result.run_dir} "
          f"(tensorboard --logdir {config.log_dir})", flush=True)
    return 0
