#!/usr/bin/env bash
# Installs configurable-http-proxy, the proxy JupyterHub puts in front of the students' servers
# (npm; nodejs and npm from Debian when missing). JupyterHub itself: pip install 'tfcourse[hub]'.
# Students' servers run the course's Python as the students: when that interpreter lies under
# a private folder (pyenv under /root), its folders are made traversable (o+x, not readable).
# Each part does nothing when already done.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
PYTHON="${1:-$(dirname "$0")/../.venv/bin/python}"
if [ -e "$PYTHON" ]; then
    dir="$(dirname "$(readlink -f "$PYTHON")")"
    while [ "$dir" != "/" ]; do
        if [ "$(stat -c %A "$dir" | cut -c10)" != "x" ]; then
            echo "install_hub.sh: chmod o+x $dir (students run $(readlink -f "$PYTHON"))"
            $SUDO chmod o+x "$dir"
        fi
        dir="$(dirname "$dir")"
    done
fi
if command -v configurable-http-proxy >/dev/null 2>&1; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends nodejs npm
fi
$SUDO npm install -g configurable-http-proxy@4
