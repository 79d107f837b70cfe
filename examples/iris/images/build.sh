#!/bin/sh
# The iris example's container image, built without a registry: a Debian bookworm minbase root
# filesystem (debootstrap) with python3, scikit-learn and numpy, imported with `docker import`.
#
#   examples/iris/images/build.sh [TAG]       # build (or reuse) the rootfs, import it as TAG
#   examples/iris/images/build.sh --tarball   # only build (or reuse) the rootfs; print its path
#
# TAG defaults to reefline-iris:bookworm. The rootfs tarball is cached in
# ${REEFLINE_IMAGE_CACHE:-$HOME/.cache/reefline} (delete it to rebuild from the mirror, ~2 min).
# Needs root (debootstrap), a Debian mirror (DEBIAN_MIRROR, default deb.debian.org) and, to
# import, the docker CLI reaching an engine (DOCKER_HOST or the default socket).
set -eu

cache="${REEFLINE_IMAGE_CACHE:-$HOME/.cache/reefline}"
tarball="$cache/iris-rootfs-bookworm.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python-is-python3: the steps' scripts say `python`, as in the local variant.
packages="python3,python-is-python3,python3-sklearn,python3-numpy"

build_rootfs() {
    [ -s "$tarball" ] && return 0
    mkdir -p "$cache"
    rootfs="$(mktemp -d "$cache/iris-rootfs.XXXXXX")"
    trap 'rm -rf "$rootfs" "$tarball.part"' EXIT
    debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >&2
    # Not needed at run time: package caches and lists (~100 MB), and a /workspace to mount on.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    mkdir -p "$rootfs/workspace"
    tar -C "$rootfs" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
    trap - EXIT
}

build_rootfs
if [ "${1:-}" = "--tarball" ]; then
    echo "$tarball"
    exit 0
fi
tag="${1:-reefline-iris:bookworm}"
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
    --change 'WORKDIR /workspace' \
    --change 'CMD ["/bin/sh"]' \
    "$tarball" "$tag" >/dev/null
echo "$tag"
