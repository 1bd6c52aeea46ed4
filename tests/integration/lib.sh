# Shared by the integration tests: a fresh temp dir, helpers, cleanup.
# Sourced; ABS_BIN points at the binaries under test.
set -eu
: "${ABS_BIN:?run through tests/run.sh (ABS_BIN unset)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/abs-it.XXXXXX")
PIDS=""
MOUNTS=""	# file systems a test mounted, unmounted at exit
cleanup() {
	for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	# (SIGCONT: a test that stopped a process must not leave it stopped)
	for p in $PIDS; do kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done
	# Whatever outlives SIGTERM by ABS_CLEANUP_SECS (20) is said and killed
	# with its children: an ASan abs-ctld hung in LeakSanitizer's exit
	# scan (its tracer child waiting, the daemon spinning) once ran on for
	# the rest of make check at 100% of a core.
	_cl_end=$(( $(date +%s) + ${ABS_CLEANUP_SECS:-20} ))
	for p in $PIDS; do
		while kill -0 "$p" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ] &&
			[ "$(date +%s)" -lt "$_cl_end" ]; do sleep 0.1; done
		if kill -0 "$p" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null)" != Z ]; then
			echo "cleanup: PID $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-120)) still running ${ABS_CLEANUP_SECS:-20} s after SIGTERM: killed" >&2
			pkill -KILL -P "$p" 2>/dev/null || true
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	# libfaketime's shared memory and semaphore (krb.sh's KDC with its
	# clock moved), named by its PID; left in /dev/shm when it is killed.
	for p in $PIDS; do rm -f "/dev/shm/faketime_shm_$p" "/dev/shm/sem.faketime_sem_$p"; done
	chmod -R u+rwx "$T" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
# Killed (tests/run.sh's timeout, ^C): exit, so that the EXIT trap cleans up.
trap 'exit 143' TERM HUP
trap 'exit 130' INT
# deadline, before, poll_until: waits bounded by time.
. "${ABS_TOP:-$TOP}/tests/integration/wait.sh"
ENGINE="$ABS_BIN/abs-engine"
VTAPE="$ABS_BIN/abs-vtape"
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
skip() { echo "skip: $*"; exit 77; }

# expect_fail PATTERN CMD...: the command must fail and say PATTERN.
expect_fail() {
	pat=$1
	shift
	if "$@" >"$T/out.txt" 2>&1; then
		cat "$T/out.txt" >&2
		fail "should have failed: $*"
	fi
	grep -q -- "$pat" "$T/out.txt" || { cat "$T/out.txt" >&2; fail "no '$pat' from: $*"; }
	ok "refused: $(tail -n1 "$T/out.txt")"
}

# flip FILE OFFSET: invert one byte, so that it changes whatever it was. A
# fixed byte written over random data is no change 1 time in 256 (the
# flakes "should have failed: verify" and "... restore"). Flipping twice
# undoes it.
flip() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || fail "flip: no byte $2 in $1"
	printf "\\$(printf '%03o' $((b ^ 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
	[ "$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')" = $((b ^ 255)) ] ||
		fail "flip: byte $2 of $1 did not change"
}

# new_lib DIR CAPACITY [EW]: a 4-slot, 2-drive library, slot 1 in drive 0.
new_lib() {
	if [ -n "${3:-}" ]; then
		"$VTAPE" new-library "$1" --slots 4 --drives 2 --capacity "$2" \
			--early-warning "$3" >/dev/null
	else
		"$VTAPE" new-library "$1" --slots 4 --drives 2 --capacity "$2" >/dev/null
	fi
	"$VTAPE" load "$1" --slot 1 --drive 0
}

# Metadata of a tree, one line per entry, comparable across copies.
tree_meta() {
	# A directory's size depends on its history, not its contents.
	(cd "$1" && find . -printf '%p|%y|%m|%U|%G|%s|%Ts|%l\n' |
		awk -F'|' 'BEGIN { OFS = "|" } $2 == "d" { $6 = "-" } { print }' |
		LC_ALL=C sort)
}

# wait_for PATTERN FILE: poll (up to WAIT_SECS) until FILE has a line
# matching.
wait_for() {
	_wf_end=$(deadline)
	until grep -q "$1" "$2" 2>/dev/null; do
		before "$_wf_end" || { cat "$2" >&2; fail "no '$1' in $2"; }
		sleep 0.1
	done
}
