#!/usr/bin/env bash
# Starts the class's JupyterHub (as root): deploy/jupyterhub/start.sh
# Settings: the TFCOURSE_HUB_* variables described in jupyterhub_config.py and docs/teaching.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# The Python with tfcourse[hub] installed: the checkout's .venv, else python3 on PATH.
DEFAULT_PYTHON="$HERE/../../.venv/bin/python"
[ -x "$DEFAULT_PYTHON" ] || DEFAULT_PYTHON="$(command -v python3)"
PYTHON="${TFCOURSE_HUB_PYTHON:-$DEFAULT_PYTHON}"
if [ "$(id -u)" -ne 0 ]; then
    echo "start.sh: run as root: the hub checks students' passwords and starts their servers as them" >&2
    exit 2
fi
# The students' servers run this Python as the students: it must be reachable by them.
if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$(readlink -f "$PYTHON")"; then
    echo "start.sh: students cannot run $(readlink -f "$PYTHON"); run scripts/install_hub.sh $PYTHON" >&2
    exit 2
fi
cd "${TFCOURSE_HUB_STATE:-/var/lib/tfcourse-hub}" 2>/dev/null || cd /tmp
exec "$PYTHON" -m jupyterhub -f "$HERE/jupyterhub_config.py" "$@"
