#!/usr/bin/env bash
# Installs the system programs the tests drive, from Debian's packages (and npm where a
# program ships only there): each part below does nothing when its program is present.
set -euo pipefail
cd "$(dirname "$0")"
bash install_browser.sh   # Chromium + ChromeDriver: JupyterLab, TensorBoard and the site in a real browser
bash install_sandbox.sh   # bubblewrap: `tfcourse grade` confines every submission's kernel
bash install_hub.sh       # configurable-http-proxy (npm) and a Python the students' accounts can run: the class's JupyterHub
