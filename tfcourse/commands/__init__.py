"""One module per `tfcourse` subcommand: HELP, configure(parser), run(args) -> exit code.

Modules import TensorFlow inside `run`, so `tfcourse --help` answers instantly.
"""

NAMES = ("info", "data", "train", "bench", "launch", "tensorboard", "grade", "site")
