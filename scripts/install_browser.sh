#!/usr/bin/env bash
# Installs the headless browser the JupyterLab browser test drives (Debian packages, no
# browser downloads through Playwright). Does nothing when /usr/bin/chromium is present.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core
