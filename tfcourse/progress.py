"""Progress bars that read well on a terminal and in a log file.

On a terminal (or in Jupyter) tqdm redraws its bar in place with carriage returns. Written to a
file or a pipe (CI, `tfcourse train > log 2>&1`, a batch job) those redraws pile up into
hundreds of updates on one line; there the bar prints a plain line every LOG_INTERVAL_S instead.
"""

import sys

LOG_INTERVAL_S = 5.0


def is_live(stream):
    """True where a redrawn bar displays well: a terminal, or a Jupyter kernel's output stream."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or type(stream).__module__.startswith("ipykernel")


class _Lines:
    """A file for tqdm that turns each in-place redraw into one line of its own."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace("\r", "").rstrip()
        if text:  # tqdm also writes bare "\r"/"\n" and padding to erase the previous draw
            self.stream.write(text + "\n")

    def flush(self):
        self.stream.flush()


def bar(total, initial=0, enabled=True, stream=None, **options):
    """A tqdm bar of `total` steps on `stream` (default stderr), redrawn or as periodic lines.

    Set postfixes with `set_postfix(..., refresh=False)`: a refresh would print a line per call.
    """
    # The text bar everywhere: tqdm.auto wants ipywidgets in a notebook and warns without it.
    from tqdm import tqdm

    stream = stream or sys.stderr
    if enabled and not is_live(stream):
        # ascii: no Unicode blocks in a log; a fixed width, since a pipe has none to adapt to.
        options.update(file=_Lines(stream), mininterval=LOG_INTERVAL_S, ascii=True, ncols=100)
    else:
        options.update(file=stream, dynamic_ncols=True)
    return tqdm(total=total, initial=initial, unit="step", disable=not enabled, **options)
