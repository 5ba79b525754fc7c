#!/bin/sh
# Grid Engine's DRMAA v1 library on the one-host Grid Engine cell of tests/infra/gridengine.sh.
#
#   eval "$(tests/infra/libdrmaa.sh)"   # SGE_ROOT, SGE_CELL and DRMAA_LIBRARY_PATH for --backend libdrmaa
#
# Idempotent: starts the cell (gridengine.sh) and installs Debian's gridengine-drmaa1.0 when it is missing, and
# libjemalloc2, which the library's agent preloads (the library cannot be loaded into a running process
# otherwise). The Python side (the drmaa package) comes with `pip install -e '.[test]'`. Needs root.
# Everything but the final `export` lines goes to stderr so that the output can be eval'ed.
set -eu

LIB=/usr/lib/gridengine-drmaa/lib/libdrmaa.so.1.0
say() { echo "libdrmaa.sh: $*" >&2; }
die() { say "$*"; exit 1; }

env=$(sh "$(dirname "$0")/gridengine.sh") || die "the Grid Engine cell did not start"
if [ ! -e "$LIB" ] || ! ls /usr/lib/*-linux-gnu/libjemalloc.so.2 /lib/*-linux-gnu/libjemalloc.so.2 >/dev/null 2>&1; then
    say "installing gridengine-drmaa1.0 and libjemalloc2"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends gridengine-drmaa1.0 libjemalloc2 >&2 \
        || { apt-get -o DPkg::Lock::Timeout=900 update >&2 \
             && apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends gridengine-drmaa1.0 \
                libjemalloc2 >&2; }
fi
[ -e "$LIB" ] || die "gridengine-drmaa1.0 did not install $LIB"
printf '%s\n' "$env"
echo "export DRMAA_LIBRARY_PATH=$LIB"
