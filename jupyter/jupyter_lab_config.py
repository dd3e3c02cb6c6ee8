"""JupyterLab settings of the course: `jupyter lab --config=jupyter/jupyter_lab_config.py notebooks/...`.

The course's default settings (jupyter/lab-settings/overrides.json) turn off the "Would you like
to receive official Jupyter news?" pop-up and the update check: the first covers the lesson in
every notebook a student opens, the second needs a network. A student can still change both
in Settings; these are defaults, not locks.
"""

import os

c = get_config()  # noqa: F821 - provided by Jupyter when it reads this file
c.LabApp.app_settings_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab-settings")
