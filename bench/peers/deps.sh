#!/bin/sh
# The peers abs-bench --peers runs (tools/deps.sh peers calls this): Debian's
# Amanda 3.5.1 and Bacula 9.6.7 with its SQLite catalog. Only the bench
# installs them. Installing must leave no daemon running and nothing in
# /var/lib/bacula: the bench brings its own configuration, catalog and
# daemons up in a temporary directory and takes them down by PID.
set -e
PKGS="amanda-server amanda-client bacula-director-sqlite3 bacula-director
bacula-sd bacula-fd bacula-console sqlite3"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing the peers:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# dbconfig-common would create a catalog in /var/lib/bacula and ask about
# it: say no, the bench makes its own.
echo "bacula-director-sqlite3 bacula-director-sqlite3/dbconfig-install boolean false" |
	$SUDO debconf-set-selections
# Debian starts bacula's three daemons on install: a policy-rc.d that says
# no (101) for the time of the install, unless the machine has one.
pol=/usr/sbin/policy-rc.d
ours=""
if [ ! -e $pol ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee $pol >/dev/null
	$SUDO chmod 755 $pol
	ours=1
fi
rc=0
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq -o Dpkg::Options::=--force-confdef \
	-o Dpkg::Options::=--force-confold $missing >/dev/null || rc=$?
[ -n "$ours" ] && $SUDO rm -f $pol
# Where systemd runs, a service enabled now would start at the next boot.
if [ -d /run/systemd/system ]; then
	for s in bacula-director bacula-sd bacula-fd amanda.socket; do
		$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
fi
exit $rc
