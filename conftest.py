"""pytest settings for running the notebooks with nbval: `pytest --nbval-lax` (what CI runs).

At the repository's root, not in notebooks/: that folder is what students open in JupyterLab,
and a test file there is noise to them. pytest reads this file for everything under the root,
the notebooks included; for other tests the hooks below do nothing.

* TFCOURSE_SMOKE=1 unless the caller set it: the kernels nbval starts inherit this
  process's environment, so every notebook's `course_params` picks its small values.
  Run `TFCOURSE_SMOKE=0 pytest --nbval-lax notebooks/` to check the full course run.
* PYTHONPATH starts with this checkout, so the kernels import this tree's tfcourse
  even where another copy is installed.
* The kernel is the interpreter running pytest (--nbval-current-env), and each cell
  gets CELL_TIMEOUT_S unless --nbval-cell-timeout is given; after a time-out the notebook's
  remaining cells fail (nbval alone would turn them into xfails that count for nothing).
"""

import os
import pathlib

import nbval.plugin
import pytest

REPO = pathlib.Path(__file__).resolve().parent
CELL_TIMEOUT_S = 120.0


def pytest_configure(config):
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return  # plain `pytest`: leave the environment of the other tests alone
    os.environ.setdefault("TFCOURSE_SMOKE", "1")
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    arguments = " ".join(config.invocation_params.args)
    if "--nbval-cell-timeout" not in arguments:
        option.nbval_cell_timeout = CELL_TIMEOUT_S
    if not option.nbval_kernel_name:
        option.nbval_current_env = True


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item):
    """A cell after one that timed out fails instead of running as nbval's non-strict xfail.

    nbval interrupts a cell that exceeds the time-out and marks every later cell of that
    notebook xfail, so their asserts and output checks no longer count; the kernel state
    they expect is missing anyway, so the notebook fails here, naming the reason.
    """
    if getattr(item.parent, "timed_out", False) and isinstance(item, nbval.plugin.IPyNbCell):
        pytest.fail(f"an earlier cell of {item.parent.path.name} timed out: this cell's checks did not run",
                    pytrace=False)
