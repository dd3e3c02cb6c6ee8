"""tfcourse info: versions, devices, XLA and data checksums."""

HELP = "print the environment report (paste it into bug reports)"


def configure(parser):
    parser.add_argument("--input_data_dir", "--input-data-dir", default=None,
                        help="MNIST directory to check (default: $TFCOURSE_DATA_DIR, then data/mnist)")


def run(args):
    from tfcourse.environment import environment_report

    print("\n".join(environment_report(args.input_data_dir)))
    return 0
