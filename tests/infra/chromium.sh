#!/bin/sh
# A headless browser for the dashboard's tests: Debian's chromium and its WebDriver (chromium-driver).
#
#   tests/infra/chromium.sh     # prints the path of chromedriver on stdout
#
# Installs both packages when either command is missing (updating the package lists of a fresh machine when the
# first try fails), then proves the browser starts headless (as root chromium needs --no-sandbox).
# Idempotent and safe to run concurrently (a lock). Needs root (or sudo -n). Everything but the path goes to
# stderr.
set -eu

say() { echo "chromium.sh: $*" >&2; }
die() { say "$*"; exit 1; }

SUDO=
if [ "$(id -u)" != 0 ]; then
    sudo -n true 2>/dev/null || die "must run as root or with sudo -n (apt-get)"
    SUDO="sudo -n"
fi
LOCKDIR=/run/lock
[ -w "$LOCKDIR" ] || LOCKDIR=${TMPDIR:-/tmp}
exec 9>"$LOCKDIR/drmaa2-test-chromium.lock"
flock -w 900 9 || die "another set-up holds $LOCKDIR/drmaa2-test-chromium.lock for too long"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "installing chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    APT="$SUDO apt-get -o DPkg::Lock::Timeout=600 -q"
    $APT install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core >&2 \
        || { $APT update >&2 && $APT install -y --no-install-recommends chromium chromium-driver \
             fonts-dejavu-core >&2; } \
        || die "cannot install chromium and chromium-driver"
fi
command -v chromium >/dev/null 2>&1 || die "no chromium after the set-up"
DRIVER=$(command -v chromedriver) || die "no chromedriver after the set-up"

# The probe: chromium prints the DOM of a data: page headless, or says why it cannot start.
PROBE=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --dump-dom 'data:text/html,<p>drmaa2-probe</p>' 2>/dev/null) || die "chromium does not start headless"
case $PROBE in
    *drmaa2-probe*) ;;
    *) die "chromium started but did not render the probe page" ;;
esac
say "chromium $(chromium --version 2>/dev/null | awk '{print $2}') and $DRIVER work headless"
echo "$DRIVER"
