#!/usr/bin/env bash
# Local base images for machines that cannot pull from Docker Hub (CI does this):
#   ytmetrics-base:bookworm      Debian bookworm (debootstrap from Debian's mirror) with
#                                python3.11, venv and pip: deploy/Dockerfile's BASE_IMAGE
#   ytmetrics-postgres:bookworm  the same base with Debian's PostgreSQL (deploy/base-image/
#                                postgres.Dockerfile): compose's YTMETRICS_POSTGRES_IMAGE
# Each is built once: an image that exists is kept (--force rebuilds). Needs root, a running
# docker engine and debootstrap (apt-get install debootstrap).
#
#   deploy/base-image/build.sh [--force]
set -euo pipefail
cd "$(dirname "$0")"

BASE=${YTMETRICS_BASE_IMAGE:-ytmetrics-base:bookworm}
POSTGRES=${YTMETRICS_POSTGRES_IMAGE:-ytmetrics-postgres:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
FORCE=${1:-}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

if [[ $FORCE == --force ]] || ! exists "$BASE"; then
    root=$(mktemp -d /var/tmp/ytmetrics-base.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    echo "debootstrap bookworm into $root (about 2 minutes)"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
        bookworm "$root" "$MIRROR" >"$root.log" 2>&1 || { tail -30 "$root.log"; exit 1; }
    rm -f "$root.log"
    # Certificate authorities this machine trusts beyond Debian's (a proxy's), so that pip and
    # apt inside builds reach the registries the way the host does.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >/dev/null
    fi
    # pip (also a virtualenv's own) verifies with the system's bundle
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$MIRROR" "$MIRROR" \
        >"$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["python3"]' \
        - "$BASE" >/dev/null
    rm -rf "$root"
    trap - EXIT
    echo "built $BASE"
else
    echo "$BASE exists"
fi

if [[ $FORCE == --force ]] || ! exists "$POSTGRES"; then
    docker build --network host --build-arg "BASE_IMAGE=$BASE" -t "$POSTGRES" \
        -f postgres.Dockerfile . >/tmp/ytmetrics-postgres-build.log 2>&1 \
        || { tail -30 /tmp/ytmetrics-postgres-build.log; exit 1; }
    echo "built $POSTGRES"
else
    echo "$POSTGRES exists"
fi
