#!/bin/sh
# A local mail transport agent for the mail tests: `sendmail` that delivers mail for a local user to
# /var/mail/USER and sends nothing off this machine.
#
#   tests/infra/mta.sh [USER]   # prints the mailbox of USER (default drmaa2mail) on stdout
#
# Where no /usr/sbin/sendmail exists, installs Debian's exim4-daemon-light configured for "local delivery only;
# not on a network" (debconf answers given first, so it installs without questions). An exim4 configured
# otherwise is switched to local delivery only. Another MTA that is already there is left as it is. Creates
# USER (no login shell) when it does not exist, and proves delivery with a probe mail to USER within 60 s.
# Idempotent and safe to run concurrently (a lock). Needs root. Everything but the mailbox goes to stderr.
set -eu

USER_NAME=${1:-drmaa2mail}
MAILDIR=/var/mail

say() { echo "mta.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get, useradd)"
mkdir -p /run/lock
exec 9>/run/lock/drmaa2-test-mta.lock
flock -w 900 9 || die "another set-up holds /run/lock/drmaa2-test-mta.lock for too long"

if [ ! -x /usr/sbin/sendmail ]; then
    say "installing exim4-daemon-light (local delivery only)"
    export DEBIAN_FRONTEND=noninteractive
    echo "exim4-config exim4/dc_eximconfig_configtype select local delivery only; not on a network" \
        | debconf-set-selections
    apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends exim4-daemon-light >&2 \
        || { apt-get -o DPkg::Lock::Timeout=600 -q update >&2 \
             && apt-get -o DPkg::Lock::Timeout=600 -q install -y --no-install-recommends exim4-daemon-light >&2; } \
        || die "cannot install exim4-daemon-light"
fi
CONF=/etc/exim4/update-exim4.conf.conf
if [ -f "$CONF" ] && ! grep -q "^dc_eximconfig_configtype='local'" "$CONF"; then
    say "switching exim4 to local delivery only"
    sed -i "s/^dc_eximconfig_configtype=.*/dc_eximconfig_configtype='local'/" "$CONF"
    update-exim4.conf >&2
fi
[ -x /usr/sbin/sendmail ] || die "no /usr/sbin/sendmail after the set-up"

if ! id -u "$USER_NAME" >/dev/null 2>&1; then
    say "creating the mail user $USER_NAME"
    useradd -m -s /usr/sbin/nologin -U "$USER_NAME" >&2  # a home: the local delivery enters it
fi

MAILBOX=$MAILDIR/$USER_NAME
PROBE="drmaa2 mta probe $$.$(date +%s)"
printf 'To: %s\nSubject: %s\n\nprobe\n' "$USER_NAME" "$PROBE" | /usr/sbin/sendmail -t -i \
    || die "sendmail refused the probe mail"
tries=0
until [ -f "$MAILBOX" ] && grep -q "^Subject: $PROBE" "$MAILBOX"; do
    tries=$((tries + 1))
    [ $tries -le 300 ] || die "the probe mail did not reach $MAILBOX within 60 s"
    sleep 0.2
done
say "mail for $USER_NAME arrives in $MAILBOX"
echo "$MAILBOX"
