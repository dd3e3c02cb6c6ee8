#!/usr/bin/env bash
# Collects one notebook from every student (as root):
#   deploy/jupyterhub/collect.sh 03_loss_and_training.ipynb submissions/
# copies /home/<student>/tfcourse/03_loss_and_training.ipynb to submissions/<student>/, the
# layout `tfcourse grade` reads a student's id from. Students of TFCOURSE_HUB_GROUP (default
# tfcourse-students); a student without the notebook is listed on stderr.
set -euo pipefail
GROUP="${TFCOURSE_HUB_GROUP:-tfcourse-students}"
if [ "$#" -ne 2 ]; then
    echo "usage: collect.sh NOTEBOOK.ipynb DESTINATION_FOLDER" >&2
    exit 2
fi
notebook="$1"
destination="$2"
gid="$(getent group "$GROUP" | cut -d: -f3)"
if [ -z "$gid" ]; then
    echo "collect.sh: no group $GROUP; expected the class's group (TFCOURSE_HUB_GROUP)" >&2
    exit 2
fi
members="$( (getent passwd | awk -F: -v gid="$gid" '$4 == gid {print $1}'
             getent group "$GROUP" | cut -d: -f4 | tr ',' '\n') | sort -u | sed '/^$/d')"
count=0
for student in $members; do
    source="$(getent passwd "$student" | cut -d: -f6)/tfcourse/$notebook"
    if [ -f "$source" ]; then
        mkdir -p "$destination/$student"
        cp "$source" "$destination/$student/$notebook"
        count=$((count + 1))
    else
        echo "collect.sh: $student has no $notebook" >&2
    fi
done
echo "collected $notebook from $count students into $destination"
