#!/usr/bin/env bash
# Builds the tfcourse image (Containerfile) with podman, and says which image it is on stdout's last line.
#
#   scripts/build_image.sh                  # tfcourse:<version>, CPU, on python:3.11-slim
#   scripts/build_image.sh --gpu            # tfcourse:<version>-gpu on tensorflow/tensorflow:<tf>-gpu (untested here)
#   scripts/build_image.sh --tag me/tfcourse:1 --base debian-python:latest --pypi
#
# An image whose org.tfcourse.inputs label equals the hash of this build's inputs (the files the
# build reads, the base, the TensorFlow package) is reused as it is. When the base cannot be
# pulled (no registry reachable), a Debian base with Python is made with debootstrap and
# imported. The course's dependencies come from a wheelhouse that the host's pip fills (its
# cache and CA settings apply; mounted read-only into the build, not copied), or with --pypi
# from PyPI inside the build, trusting $PIP_CERT's CA bundle passed as a build secret.
# Logs: ${XDG_CACHE_HOME:-~/.cache}/tfcourse/. Errors are one line on stderr, exit 1 (2: misuse).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build_image.sh: $1" >&2; exit "${2:-1}"; }

VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' tfcourse/__init__.py)
TF_VERSION=2.21.0
LOCAL_BASE=localhost/tfcourse-base:bookworm
BASE=docker.io/library/python:3.11-slim
BASE_GIVEN=0
TAG=""
GPU=0
SOURCE=wheels
PYTHON=${PYTHON:-python3}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tfcourse
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) TAG=${2:?}; shift 2 ;;
        --base) BASE=${2:?}; BASE_GIVEN=1; shift 2 ;;
        --gpu) GPU=1; shift ;;
        --pypi) SOURCE=pypi; shift ;;
        -h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) die "unknown option $1; expected --tag NAME, --base IMAGE, --gpu, --pypi" 2 ;;
    esac
done
command -v podman >/dev/null || die "no container engine: podman is not installed (scripts/install_container.sh installs it)"
if [ "$GPU" = 1 ]; then
    [ "$BASE_GIVEN" = 1 ] || BASE=docker.io/tensorflow/tensorflow:$TF_VERSION-gpu
    TAG=${TAG:-tfcourse:$VERSION-gpu}
    TF_PACKAGE=tensorflow
    BUILD_ARGS=(--build-arg VENV_OPTIONS=--system-site-packages)
    SOURCE=pypi  # the GPU base brings its own Python and TensorFlow; pip adds only the rest
else
    TAG=${TAG:-tfcourse:$VERSION}
    TF_PACKAGE=tensorflow-cpu
    BUILD_ARGS=()
fi
# A name the engine refuses is reported before minutes of building ("invalid reference format").
refused=$(podman image exists "$TAG" 2>&1) || [ -z "$refused" ] || die "podman refuses the image name '$TAG': ${refused#Error: }" 2
mkdir -p "$CACHE"
# The dependency list keys the cache of the image's big layer: rebuilt only when it changes.
mapfile -t REQUIREMENTS < <("$PYTHON" scripts/image_requirements.py "$TF_PACKAGE" pyproject.toml)
BUILD_ARGS+=(--build-arg "REQUIREMENTS=${REQUIREMENTS[*]}")

# The base: present, else pulled, else (the default base only) made here with debootstrap.
if ! podman image exists "$BASE"; then
    if ! podman pull -q "$BASE" >"$CACHE/pull.log" 2>&1; then
        [ "$BASE_GIVEN" = 0 ] && [ "$GPU" = 0 ] || die "cannot pull the base image $BASE; see $CACHE/pull.log"
        BASE=$LOCAL_BASE
        if ! podman image exists "$BASE"; then
            command -v debootstrap >/dev/null || die "no registry reachable and no debootstrap to make a base (scripts/install_container.sh installs it)"
            echo "no registry reachable: making $BASE with debootstrap (log: $CACHE/base-build.log)" >&2
            rootfs=$(mktemp -d)
            trap 'rm -rf "$rootfs"' EXIT
            { debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" \
                  "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
              && rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
                        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
              && tar -C "$rootfs" -c . | podman import -q - "$BASE"; } >"$CACHE/base-build.log" 2>&1 \
                || die "the base image build failed; see $CACHE/base-build.log"
            rm -rf "$rootfs"
        fi
    fi
fi

# Everything the build reads, hashed: same inputs, same image.
INPUTS=$( { find Containerfile .dockerignore pyproject.toml setup.py README.md LICENSE \
                 tfcourse data/mnist -type f -not -path '*/__pycache__/*' -not -path 'tfcourse/_data/*' \
                 -print0 | sort -z | xargs -0 sha256sum
            echo "$BASE $(podman image inspect --format '{{.Id}}' "$BASE") ${BUILD_ARGS[*]}"; } | sha256sum | cut -c1-16)
if [ "$(podman image inspect --format '{{index .Labels "org.tfcourse.inputs"}}' "$TAG" 2>/dev/null)" = "$INPUTS" ]; then
    echo "$TAG is up to date (inputs $INPUTS)" >&2
    echo "$TAG"
    exit 0
fi

BUILD=(podman build -f Containerfile -t "$TAG" --network host --build-arg BASE="$BASE" --build-arg VERSION="$VERSION"
       --build-arg INPUTS="$INPUTS" "${BUILD_ARGS[@]}")
# The CA bundle pip trusts goes in as a secret: mounted for the RUN that needs it, never in a layer.
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
    BUILD+=(--secret id=ca,src="$PIP_CERT")
fi
if [ "$SOURCE" = wheels ]; then
    # Same Python and platform as the base (Debian's glibc): the host's pip fills a wheelhouse once.
    image_python=$(podman run --rm --network none --entrypoint python3 "$BASE" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    host_python=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    [ "$image_python" = "$host_python" ] || die "the base has Python $image_python, $PYTHON is $host_python: pass --pypi or PYTHON=python$image_python"
    WHEELS=$CACHE/wheelhouse-py$image_python
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip download -q --only-binary=:all: -d "$WHEELS" "${REQUIREMENTS[@]}" "setuptools>=69" wheel \
        >"$CACHE/wheelhouse.log" 2>&1 || die "filling the wheelhouse failed; see $CACHE/wheelhouse.log"
    BUILD+=(--volume "$WHEELS:/wheels:ro")
fi
echo "building $TAG on $BASE (log: $CACHE/image-build.log)" >&2
"${BUILD[@]}" . >"$CACHE/image-build.log" 2>&1 || die "the image build failed; see $CACHE/image-build.log"
echo "$TAG"
