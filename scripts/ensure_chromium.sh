#!/usr/bin/env bash
# Make sure Debian's chromium is installed: the dashboard's browser test and the screenshot
# scripts drive it through Playwright. Playwright's own browser download is never used (the
# machines reach only the package registries), so the browser comes from apt.
#
#   scripts/ensure_chromium.sh        # no-op when /usr/bin/chromium runs; else apt-get install
set -euo pipefail

CHROMIUM=/usr/bin/chromium

works() { [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; }

if works; then
    exit 0
fi

fail() {
    echo "ensure_chromium: $*" >&2
    echo "ensure_chromium: install Debian's chromium by hand (as root: apt-get update &&" \
        "apt-get install -y chromium), then run the tests again." >&2
    exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
        || fail "$CHROMIUM is missing and installing it needs root (or password-less sudo)"
    SUDO=(sudo -n)
fi

export DEBIAN_FRONTEND=noninteractive
# Other jobs on the machine may hold the dpkg lock for a while: wait for it, not fail.
APT=("${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 -y -q)
install() { "${APT[@]}" install --no-install-recommends chromium >&2; }

echo "ensure_chromium: installing Debian's chromium (apt-get)" >&2
# A fresh machine has no package lists: refresh them only when the install needs it.
if ! install; then
    "${APT[@]}" update >&2 || fail "apt-get update failed (is Debian's registry reachable?)"
    install || fail "apt-get install chromium failed"
fi
works || fail "$CHROMIUM was installed but does not run"
echo "ensure_chromium: $("$CHROMIUM" --version)" >&2
