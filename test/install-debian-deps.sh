#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real: OpenLDAP, Dovecot, Postfix,
# iproute2/arping. Debian's own instances of these daemons are never started (policy-rc.d) and
# never configured: the sandbox suite runs private instances under its own directory.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "install-debian-deps: run as root" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# installed by pm2-messaging-ha tests: keep Debian services stopped\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  slapd ldap-utils dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-ldap postfix \
  iproute2 iputils-arping perl procps psmisc openssl ca-certificates curl util-linux mount e2fsprogs keepalived \
  monitoring-plugins-basic monitoring-plugins-standard prometheus >/dev/null
echo "install-debian-deps: done"
