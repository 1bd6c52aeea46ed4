# Sourced after lib.sh: hosts as network namespaces. Three hosts A, B and
# C, each a namespace with its own loopback and one interface eth0, joined
# by veth pairs to a bridge in a fourth namespace (the switch). Addresses
# are the test's own (10.47.0.0/24: A .1, B .2, C .3), inside its
# namespaces only; the host's own interfaces and routes are never touched
# (every veth is created inside a namespace, its peer moved straight into
# another). Names carry the test's PID (abs<PID>a, abs<PID>b, abs<PID>c,
# abs<PID>s), so that tests side by side never meet, and are deleted at
# exit, failure included; namespaces of a test that was killed -9 (its PID
# gone) are deleted by the next test that starts.
#
#   netns_up                  create the hosts (skip: not root, no ip/veth)
#   on A|B|C CMD...           run CMD in that host, in the foreground
#   bg_on A|B|C CMD...        start CMD in that host in the background: its
#                             PID in BG_PID (ip netns exec execs it) and
#                             in PIDS
#   host_ip A|B|C             its address
#   named_on / bg_named_on A|B|C CMD...   on / bg_on, CMD seeing the
#                             test's hosts file $NETNS_HOSTS_FILE as
#                             /etc/hosts (names for the hosts' addresses)
#   link_down B / link_up B   cut / restore that host's cable at the switch
#                             (neither end notices: a partition, as a
#                             switch or a router failing makes one)
#   netns_down                delete them (also run by the EXIT trap)
NETNS_ID="abs$$"
NETNS_HOSTS="a b c"
NETNS_UP=""

host_ip() {
	case $1 in
	A | a) echo 10.47.0.1 ;;
	B | b) echo 10.47.0.2 ;;
	C | c) echo 10.47.0.3 ;;
	*) fail "host_ip: no host $1" ;;
	esac
}

# The namespace of host A, B or C (S: the switch).
ns_of() { echo "$NETNS_ID$(echo "$1" | tr 'ABCS' 'abcs')"; }

# (Their variables are prefixed: a shell has no local ones, and callers
# name theirs h, n, p.)
on() {
	_ns_on=$(ns_of "$1")
	shift
	ip netns exec "$_ns_on" "$@"
}
bg_on() {
	_ns_on=$(ns_of "$1")
	shift
	ip netns exec "$_ns_on" "$@" &
	BG_PID=$!
	PIDS="$PIDS $BG_PID"
}

# The hosts file named_on gives a command (the test writes it). A bind
# mount over /etc/hosts in the mount namespace ip netns exec makes for each
# command (its mounts propagate nowhere): the machine's /etc/hosts is
# neither read nor changed, and nothing is written under /etc/netns.
NETNS_HOSTS_FILE="$T/hosts"
named_on() {
	_ns_on=$1
	shift
	on "$_ns_on" sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$NETNS_HOSTS_FILE" "$@"
}
bg_named_on() {
	_ns_on=$1
	shift
	bg_on "$_ns_on" sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$NETNS_HOSTS_FILE" "$@"
}

link_down() { ip -n "$(ns_of S)" link set "v$(echo "$1" | tr 'ABC' 'abc')" down; }
link_up() {
	ip -n "$(ns_of S)" link set "v$(echo "$1" | tr 'ABC' 'abc')" up
	_ns_end=$(deadline)
	until netns_ready; do
		before "$_ns_end" || fail "host $1's cable did not come back up"
		sleep 0.1
	done
}

# ns_del NAME: whatever still runs in it (by PID: ip netns pids), then it.
ns_del() {
	for _ns_p in $(ip netns pids "$1" 2>/dev/null); do
		kill "$_ns_p" 2>/dev/null || true
		kill -CONT "$_ns_p" 2>/dev/null || true
	done
	ip netns del "$1" 2>/dev/null || true
}

netns_down() {
	[ -n "$NETNS_UP" ] || return 0
	for _ns_h in $NETNS_HOSTS s; do
		ns_del "$NETNS_ID$_ns_h"
	done
	NETNS_UP=""
}

# Namespaces left by a test killed -9: abs<PID><host> whose PID is gone.
netns_sweep() {
	for _ns_n in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $_ns_n in
		abs[0-9]*[abcs]) ;;
		*) continue ;;
		esac
		_ns_p=${_ns_n#abs}
		_ns_p=${_ns_p%?}
		case $_ns_p in *[!0-9]*) continue ;; esac
		[ "$_ns_p" != "$$" ] || continue
		kill -0 "$_ns_p" 2>/dev/null && continue
		ns_del "$_ns_n"
	done
}

# Every host's eth0 has carrier, every switch port forwards.
netns_ready() {
	[ "$(bridge -n "$(ns_of S)" link show 2>/dev/null | grep -c 'state forwarding')" = 3 ] || return 1
	for _ns_h in $NETNS_HOSTS; do
		ip -n "$NETNS_ID$_ns_h" link show eth0 | grep -q 'LOWER_UP' || return 1
	done
}

netns_up() {
	[ "$(id -u)" = 0 ] || skip "network namespaces need root"
	command -v ip >/dev/null || skip "no ip(8) (iproute2)"
	netns_sweep
	# Deleted before lib.sh's cleanup removes $T (processes first: they
	# were started with their PIDs in PIDS).
	trap 'netns_cleanup' EXIT
	ip netns add "$(ns_of S)" || skip "ip netns add failed (no network namespaces here)"
	NETNS_UP=1
	ip -n "$(ns_of S)" link add br0 type bridge forward_delay 0 ||
		skip "no bridge in this kernel"
	ip -n "$(ns_of S)" link set br0 up
	for _ns_h in $NETNS_HOSTS; do
		_ns_H=$(echo "$_ns_h" | tr abc ABC)
		ip netns add "$NETNS_ID$_ns_h" || fail "ip netns add $NETNS_ID$_ns_h"
		ip -n "$(ns_of S)" link add "v$_ns_h" type veth peer name eth0 netns "$NETNS_ID$_ns_h" ||
			skip "no veth in this kernel"
		ip -n "$(ns_of S)" link set "v$_ns_h" master br0
		ip -n "$(ns_of S)" link set "v$_ns_h" up
		ip -n "$NETNS_ID$_ns_h" link set lo up
		ip -n "$NETNS_ID$_ns_h" addr add "$(host_ip "$_ns_H")/24" dev eth0
		ip -n "$NETNS_ID$_ns_h" link set eth0 up
	done
	# Up means every cable is up at both ends and every switch port
	# forwards (a wait for that state, bounded by time).
	_ns_end=$(deadline)
	until netns_ready; do
		before "$_ns_end" || { bridge -n "$(ns_of S)" link show >&2; fail "the switch's ports did not come up"; }
		sleep 0.1
	done
	ok "hosts A $(host_ip A), B $(host_ip B), C $(host_ip C) (namespaces $NETNS_ID*)"
}

netns_cleanup() {
	for _ns_p in $PIDS; do kill "$_ns_p" 2>/dev/null || true; kill -CONT "$_ns_p" 2>/dev/null || true; done
	netns_down
	cleanup
}
