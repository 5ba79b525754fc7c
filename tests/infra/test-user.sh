#!/bin/sh
# An unprivileged user to run drmaa2 as its users do (tests/process/), and a Python environment that user can run.
#
#   tests/infra/test-user.sh VENV REQUIREMENT...   # prints the venv's python on stdout
#
# Creates the user drmaa2test (`useradd -m`, its own group, no password) when it does not exist, and VENV (under
# /var/lib/drmaa2-test/user, readable by everyone, written by root only) with the REQUIREMENTs installed, when it
# is not complete yet. The venv's interpreter is a system Python >= 3.11 that the user can run: the test
# runner's own may live under /root (0700). The tests run the source tree from a copy they make themselves.
# Idempotent and safe to run concurrently (a lock). Needs root. Everything but the python's path goes to stderr.
set -eu

USER_NAME=${DRMAA2_TEST_USER:-drmaa2test}
STATE=${DRMAA2_TEST_STATE:-/var/lib/drmaa2-test}/user

say() { echo "test-user.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (useradd)"
[ $# -ge 1 ] || die "usage: $0 VENV REQUIREMENT..."
VENV=$1
shift
case $VENV in "$STATE"/*) ;; *) die "VENV must be under $STATE" ;; esac
mkdir -p /run/lock
exec 9>/run/lock/drmaa2-test-user.lock
flock -w 900 9 || die "another set-up holds /run/lock/drmaa2-test-user.lock for too long"

if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    say "creating the user $USER_NAME"
    useradd -m -U -s /bin/sh "$USER_NAME" >&2
fi
install -d -m 0755 "$STATE"

if [ ! -e "$VENV/.complete" ]; then
    python=
    for candidate in /usr/local/bin/python3 /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 \
        /usr/bin/python3.11; do
        [ -x "$candidate" ] || continue
        if setpriv --reuid="$USER_NAME" --regid="$USER_NAME" --init-groups -- "$candidate" -c \
            'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            python=$candidate
            break
        fi
    done
    [ -n "$python" ] || die "no Python >= 3.11 with venv that $USER_NAME can run"
    say "building $VENV with $python"
    rm -rf "$VENV"
    "$python" -m venv "$VENV" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2
    chmod -R a+rX "$VENV"
    touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
