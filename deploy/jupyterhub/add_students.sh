#!/usr/bin/env bash
# Creates the class's accounts (as root): deploy/jupyterhub/add_students.sh students.txt
# Each line of the file is `username` or `username password`; a missing password is generated.
# Prints `username password` for every account created (hand them out, then delete the output).
# Accounts join the group TFCOURSE_HUB_GROUP (default tfcourse-students), the only one the hub
# lets in; homes are made private (0700) so no student can read another's work or runs.
set -euo pipefail
GROUP="${TFCOURSE_HUB_GROUP:-tfcourse-students}"
if [ "$#" -ne 1 ] || [ ! -f "$1" ]; then
    echo "usage: add_students.sh FILE (one 'username [password]' per line)" >&2
    exit 2
fi
getent group "$GROUP" >/dev/null || groupadd "$GROUP"
while read -r name password _; do
    case "$name" in ""|\#*) continue ;; esac
    if id "$name" >/dev/null 2>&1; then
        echo "add_students.sh: $name exists, left as it is" >&2
        continue
    fi
    useradd --create-home --gid "$GROUP" --shell /bin/bash "$name"
    chmod 700 "$(getent passwd "$name" | cut -d: -f6)"
    password="${password:-$(head -c 12 /dev/urandom | base64 | tr -d '/+=' | head -c 12)}"
    echo "$name:$password" | chpasswd
    echo "$name $password"
done < "$1"
