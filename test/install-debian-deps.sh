#!/usr/bin/env bash
# Installs the Debian packages that the demo, the tests or the benchmarks run for real, and
# otherwise leaves the host as it found it:
#   demo   OpenLDAP, Dovecot, Postfix, iproute2/arping, e2fsprogs (the suite the demo runs), python3
#          (the namespace cluster's storage fence, test/fixtures/cluster/storage-fence.py)
#   test   demo + Prometheus (the dashboards are tested against a real one)   [default]
#   bench  test + keepalived, monit and the monitoring plugins (peers measured beside us)
# Only packages that are missing are installed. While apt runs, a policy-rc.d keeps Debian from
# starting its own instances (removed afterwards, and only if this script created it); the
# services of the packages it installed are then left stopped and disabled at boot — the demo
# and the tests run private instances under their own directories. Packages that were already
# installed, and their services, are not touched.
set -euo pipefail
usage() { echo "usage: bash test/install-debian-deps.sh [demo|test|bench]" >&2; }
if [ "$(id -u)" != 0 ]; then echo "install-debian-deps: run as root" >&2; exit 1; fi
set_name=${1:-test}
demo=(slapd ldap-utils dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-ldap dovecot-sieve postfix
      iproute2 iputils-arping iputils-ping perl procps psmisc openssl ca-certificates curl util-linux mount e2fsprogs python3-minimal)
case "$set_name" in
  demo) pkgs=("${demo[@]}") ;;
  test) pkgs=("${demo[@]}" prometheus) ;;
  bench) pkgs=("${demo[@]}" prometheus keepalived monit monitoring-plugins-basic monitoring-plugins-standard) ;;
  -h|--help) usage; exit 0 ;;
  *) usage; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "install-debian-deps: every package of '$set_name' is installed"; exit 0; fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=no
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# pm2-messaging-ha install-debian-deps.sh: no Debian service starts while it installs\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=yes
fi
cleanup() { if [ "$created_policy" = yes ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
echo "install-debian-deps: installing ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# The services of what was just installed: stopped, and not started at the next boot.
declare -A service_of=([slapd]=slapd [dovecot-core]=dovecot [postfix]=postfix [prometheus]=prometheus [keepalived]=keepalived)
for p in "${missing[@]}"; do
  svc=${service_of[$p]:-}
  [ -n "$svc" ] || continue
  if [ -d /run/systemd/system ]; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
  # Without a running systemd, `systemctl disable` still removes the unit's links.
  systemctl disable "$svc" >/dev/null 2>&1 || true
  update-rc.d "$svc" disable >/dev/null 2>&1 || true
  echo "install-debian-deps: $svc installed, left stopped and disabled at boot"
done
echo "install-debian-deps: done"
