"""tfcourse tensorboard: serve a training run's event files on 127.0.0.1."""

from tfcourse.commands.args import notebook_number, port

HELP = "serve TensorBoard for a log directory (bound to 127.0.0.1 unless --host says otherwise)"


def notebook_log_dir(number):
    """The folder notebook `number` ("06") writes its runs into: `<run folder>/notebook06`
    (the name `settings.notebook_dir` gives it)."""
    import os

    from tfcourse import settings

    return os.path.join(settings.runs_dir(), f"notebook{number}")


def configure(parser):
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--logdir", "--log_dir", "--log-dir", dest="logdir", default=None,
                       help="directory holding one sub-directory of event files per run "
                            "(the --log_dir given to `tfcourse train`; default: its default)")
    where.add_argument("--notebook", type=notebook_number, default=None,
                       help="serve what notebook NN wrote (e.g. 06: the notebook06 folder of your run folder)")
    parser.add_argument("--port", type=port, default=6006,
                        help="port to listen on; 0 picks a free one (default: 6006)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to bind (default: 127.0.0.1, this machine only; "
                             "0.0.0.0 shares the dashboard with your network)")


def run(args):
    import os
    import time

    from tfcourse import settings, tensorboard_server
    from tfcourse.errors import CourseError

    if args.notebook:
        args.logdir = notebook_log_dir(args.notebook)
        if not os.path.isdir(args.logdir):
            raise CourseError(f"notebook {args.notebook} has written nothing yet ({args.logdir} does not exist); "
                              "run the notebook first")
    args.logdir = args.logdir or settings.default_log_dir()
    if not os.path.isdir(args.logdir):
        raise CourseError(f"log directory {args.logdir!r} does not exist; expected the --log_dir "
                          "a `tfcourse train` run wrote to")
    try:
        server = tensorboard_server.start(args.logdir, host=args.host, port=args.port)
    except RuntimeError as e:
        raise CourseError(str(e)) from None
    print(f"TensorBoard serving {args.logdir} at {server.url} (Ctrl+C stops it)", flush=True)
    try:
        while server.process.poll() is None:
            time.sleep(0.5)
    finally:
        server.stop()
    return server.process.returncode or 0
