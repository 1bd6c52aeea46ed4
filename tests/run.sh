#!/bin/sh
# Run every unit test binary and integration script against one build.
# Exit codes per test: 0 pass, 77 skip (the test prints why), else fail.
# Prints "PASS/FAIL/SKIP name" lines and "N passed, N failed, N skipped".
#
# Each test runs under timeout(1); running past it is a failure that says
# so. Defaults: 600 s for a unit test, 1200 s for an integration test,
# 3600 s for t_kernel (a QEMU guest in software emulation) and t_campaign
# (end-of-tape runs, 60 by default), which take minutes on a loaded
# machine, more under ASan. ABS_TEST_TIMEOUT=SECS sets every test's limit (0: none).
# The logs of failing tests are kept in BUILD/test-logs.*; the last line
# before the summary says where.
#
# ABS_TEST_EXCLUDE="NAME..." leaves those tests out of this run (make
# check runs the tests of documents in the plain pass only).
#
# ABS_TEST_JOBS=N runs N tests side by side (1 unless set; make check sets
# three per core): each test has its own temp dir, sockets and ports,
# and most of a test's time is waiting on its daemons. The longest start
# first, by the times measured in tests/durations (plain and ASan+UBSan
# columns; a test not listed there counts as a minute); a line is printed
# as each test ends, with its time, and the 15 slowest before the summary.
# Each run leaves its times in BUILD/test-times ("NAME SECS"), from which
# tests/durations is updated by hand (its header says how).
BUILD=${1:-build}
ONLY=${2:-}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd) || exit 1
export ABS_BIN="$BUILD/bin" ABS_TOP="$TOP" ABS_BUILD="$BUILD"
# Logs live in the build tree, out of reach of anything that sweeps /tmp.
LOGDIR=$(mktemp -d "$BUILD/test-logs.XXXXXX") || exit 1
JOBS=${ABS_TEST_JOBS:-1}
case $JOBS in '' | *[!0-9]* | 0) JOBS=1 ;; esac
TIMEOUT_CMD= tpid= lanes=
command -v timeout >/dev/null 2>&1 && TIMEOUT_CMD=timeout
trap '[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null
	for l in $lanes; do kill -TERM "$l" 2>/dev/null; done
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

# run_one NAME CMD...: runs the test, prints its line (and a failure's
# last lines) at once, and leaves its result in LOGDIR/NAME.res.
run_one() {
	name=$1
	shift
	mkdir -p "$LOGDIR"
	log="$LOGDIR/$name.log"
	rep="$LOGDIR/$name.rep"
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
		res=fail
		{ echo "FAIL $name: timeout after ${limit}s (ABS_TEST_TIMEOUT=SECS to change); log $log; last lines:"
		  tail -n 25 "$log" | sed 's/^/    /'; } >"$rep"
	else
		case $rc in
		0) res=pass; echo "PASS $name (${secs}s)" >"$rep"; rm -f "$log" ;;
		77) res=skip
		    echo "SKIP $name: $(grep -m1 '^skip:' "$log" | sed 's/^skip: //')" >"$rep"
		    rm -f "$log" ;;
		*) res=fail
		   { echo "FAIL $name (exit $rc, ${secs}s); log $log; last lines:"
		     tail -n 25 "$log" | sed 's/^/    /'; } >"$rep" ;;
		esac
	fi
	# One write: side by side tests' lines do not interleave.
	cat "$rep"
	rm -f "$rep"
	echo "$name $secs" >"$LOGDIR/$name.time"
	echo "$res" >"$LOGDIR/$name.res"
}

# How long each test took when last measured (tests/durations: NAME,
# plain seconds, ASan+UBSan seconds), for this build's kind; 60 for a
# test not listed.
col=2
grep -q -- '-fsanitize' "$BUILD/.flags" 2>/dev/null && col=3
durations() {
	awk -v f="$TOP/tests/durations" -v col="$col" 'BEGIN {
		while ((getline l <f) > 0)
			if (split(l, a) >= 3 && a[col] ~ /^[0-9]+$/) d[a[1]] = a[col]
	}
	{ print ($1 in d ? d[$1] : 60), $1 }'
}
# start NAME CMD...: run_one now, or in a lane once one of JOBS is free.
start() {
	if [ "$JOBS" -le 1 ]; then
		run_one "$@"
		return
	fi
	read -r _ <&3
	( trap '[ -n "$tpid" ] && kill -TERM "$tpid" 2>/dev/null; exit 143' TERM
	  run_one "$@" 3>&-
	  echo >&3 ) &
	lanes="$lanes $!"
}
if [ "$JOBS" -gt 1 ]; then
	# A token per free lane in a FIFO held open by this shell.
	mkfifo "$LOGDIR/.lanes" && exec 3<>"$LOGDIR/.lanes" && rm -f "$LOGDIR/.lanes" ||
		exit 1
	i=0
	while [ $i -lt "$JOBS" ]; do echo >&3; i=$((i + 1)); done
fi

EXCLUDE=" $(echo ${ABS_TEST_EXCLUDE:-}) "
wanted() {
	case $EXCLUDE in *" $1 "*) return 1 ;; esac
	[ -z "$ONLY" ] || case $1 in *$ONLY*) true ;; *) false ;; esac
}
# Every wanted test, the longest first.
{
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] && basename "$t"
	done
	for t in "$TOP"/tests/integration/t_*.sh; do
		basename "$t" .sh
	done
} | durations | sort -k1,1nr -k2,2 >"$LOGDIR/.order"
while read -r _ n; do
	wanted "$n" || continue
	case $n in
	test_*) start "$n" "$BUILD/tests/$n" ;;
	*) start "$n" sh "$TOP/tests/integration/$n.sh" ;;
	esac
done <"$LOGDIR/.order"
wait
pass=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^pass$')
fail=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^fail$')
skip=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^skip$')
rm -f "$LOGDIR"/*.res "$LOGDIR/.order"
# The slowest, and every time for tests/durations.
cat "$LOGDIR"/*.time 2>/dev/null | sort -k2,2nr >"$BUILD/test-times"
rm -f "$LOGDIR"/*.time
if [ "$(wc -l <"$BUILD/test-times")" -gt 1 ]; then
	echo "slowest tests (s):"
	head -n 15 "$BUILD/test-times" | awk '{ printf "%6d  %s\n", $2, $1 }'
fi
if [ "$fail" -eq 0 ]; then
	rm -rf "$LOGDIR"
else
	echo "logs of the failing tests: $LOGDIR"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
