#!/bin/sh
# Run every unit test binary and integration script against one build.
# Exit codes per test: 0 pass, 77 skip (the test prints why), else fail.
# Prints "PASS/FAIL/SKIP name" lines and "N passed, N failed, N skipped".
#
# Each test runs under timeout(1); running past it is a failure that says
# so. Defaults: 600 s for a unit test, 1200 s for an integration test,
# 3600 s for t_kernel (a QEMU guest in software emulation) and t_campaign
# (200 end-of-tape runs), which take minutes on a loaded machine, more
# under ASan. ABS_TEST_TIMEOUT=SECS sets every test's limit (0: none).
# The logs of failing tests are kept in BUILD/test-logs.*; the last line
# before the summary says where.
BUILD=${1:-build}
ONLY=${2:-}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd) || exit 1
export ABS_BIN="$BUILD/bin" ABS_TOP="$TOP" ABS_BUILD="$BUILD"
# Logs live in the build tree, out of reach of anything that sweeps /tmp.
LOGDIR=$(mktemp -d "$BUILD/test-logs.XXXXXX") || exit 1
pass=0 fail=0 skip=0
TIMEOUT_CMD= tpid=
command -v timeout >/dev/null 2>&1 && TIMEOUT_CMD=timeout
trap '[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null
	echo "interrupted; logs in $LOGDIR"; exit 130' INT TERM

# The time limit of one test in seconds (0: none).
limit_of() {
	if [ -n "${ABS_TEST_TIMEOUT:-}" ]; then
		echo "$ABS_TEST_TIMEOUT"
		return
	fi
	case $1 in
	t_kernel | t_campaign) echo 3600 ;;
	t_*) echo 1200 ;;
	*) echo 600 ;;
	esac
}

run_one() {
	name=$1
	shift
	mkdir -p "$LOGDIR"
	log="$LOGDIR/$name.log"
	limit=$(limit_of "$name")
	start=$(date +%s)
	if [ -n "$TIMEOUT_CMD" ] && [ "$limit" -gt 0 ]; then
		# TERM to the test's process group at the limit, KILL 30 s
		# later. timeout(1) leaves the terminal's process group, so an
		# interrupt of this script is passed on by the trap below.
		timeout -k 30 "$limit" "$@" >"$log" 2>&1 </dev/null &
		tpid=$!
		wait "$tpid"
		rc=$?
		tpid=
	else
		"$@" >"$log" 2>&1 </dev/null
		rc=$?
	fi
	secs=$(( $(date +%s) - start ))
	if [ -n "$TIMEOUT_CMD" ] && [ "$limit" -gt 0 ] &&
	    { [ $rc -eq 124 ] || { [ $rc -eq 137 ] && [ $secs -ge "$limit" ]; }; }; then
		fail=$((fail + 1))
		echo "FAIL $name: timeout after ${limit}s (ABS_TEST_TIMEOUT=SECS to change); log $log; last lines:"
		tail -n 25 "$log" | sed 's/^/    /'
		return
	fi
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)"; rm -f "$log" ;;
	77) skip=$((skip + 1))
	    echo "SKIP $name: $(grep -m1 '^skip:' "$log" | sed 's/^skip: //')"
	    rm -f "$log" ;;
	*) fail=$((fail + 1))
	   echo "FAIL $name (exit $rc, ${secs}s); log $log; last lines:"
	   tail -n 25 "$log" | sed 's/^/    /' ;;
	esac
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "$ONLY" ] && case $n in *$ONLY*) ;; *) continue ;; esac
	run_one "$n" "$t"
done
for t in "$TOP"/tests/integration/t_*.sh; do
	n=$(basename "$t" .sh)
	[ -n "$ONLY" ] && case $n in *$ONLY*) ;; *) continue ;; esac
	run_one "$n" sh "$t"
done
if [ "$fail" -eq 0 ]; then
	rm -rf "$LOGDIR"
else
	echo "logs of the failing tests: $LOGDIR"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
