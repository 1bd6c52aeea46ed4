#!/bin/sh
# Install the Debian packages ABS builds and tests with, only those missing.
# `deps.sh peers`: only the peers abs-bench --peers compares ABS with
# (Amanda, Bacula); make check never needs them.
set -e
if [ "${1:-}" = peers ]; then
	exec sh "$(dirname "$0")/../bench/peers/deps.sh"
fi
PKGS="build-essential pkg-config clang liburing-dev libsgutils2-dev
libarchive-dev libzstd-dev libssl-dev libxxhash-dev xxhash
libiscsi-dev libiscsi-bin tgt zstd mbuffer tar coreutils
qemu-system-x86 busybox-static kmod cpio
libsqlite3-dev libjansson-dev sqlite3 libcap-dev jq
libncurses-dev tmux
libkrb5-dev krb5-kdc krb5-admin-server krb5-user faketime
chromium man-db bash-completion"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing >/dev/null
