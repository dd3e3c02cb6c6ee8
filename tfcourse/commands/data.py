"""tfcourse data: verify the MNIST files, downloading the missing ones."""

HELP = "verify the MNIST files (download missing ones with --download)"


def configure(parser):
    parser.add_argument("--input_data_dir", "--input-data-dir", default=None,
                        help="MNIST directory (default: $TFCOURSE_DATA_DIR, then data/mnist)")
    parser.add_argument("--download", action="store_true",
                        help="fetch missing files from the public mirrors, verified by SHA-256")


def run(args):
    from tfcourse.datasets import download
    from tfcourse.environment import check_data

    directory, how, status = check_data(args.input_data_dir)
    if args.download and any(s == "missing" for s in status.values()):
        download.maybe_download(directory)
        directory, how, status = check_data(args.input_data_dir)
    print(f"{directory} ({how})")
    for name, state in status.items():
        print(f"  {name:<26}{state}")
    bad = [n for n, s in status.items() if s != "ok"]
    if bad:
        print(f"tfcourse data: {len(bad)} file(s) not ok: {', '.join(bad)}", flush=True)
        return 1
    return 0
