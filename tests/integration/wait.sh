# Waits bounded by time, not by a count of polls: on a loaded machine each
# poll takes longer, and a count of 300 ran out before abs-ctld had
# answered (t_recover's "timed out: ctl --json status ... writing").
# Sourced by lib.sh, and by the campaign scripts that do not use lib.sh.
# ABS_WAIT_SECS sets the default bound (300 s).
WAIT_SECS=${ABS_WAIT_SECS:-300}

# deadline [SECS]: the time (date +%s) SECS seconds from now (WAIT_SECS).
deadline() { echo $(($(date +%s) + ${1:-$WAIT_SECS})); }

# before DEADLINE: true until that time has come.
before() { [ "$(date +%s)" -lt "$1" ]; }

# poll_until CONDITION [SECS]: eval the shell CONDITION every 0.1 s until
# it holds; false if it still does not after SECS seconds (WAIT_SECS).
poll_until() {
	_pu_end=$(deadline "${2:-}")
	until eval "$1"; do
		before "$_pu_end" || return 1
		sleep 0.1
	done
}
