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
# the machine's cores): each test has its own temp dir, sockets and ports,
# and most of a test's time is waiting on its daemons. The longest start
# first; a line is printed as each test ends.
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
	echo "$res" >"$LOGDIR/$name.res"
}

# The longest tests (minutes under ASan), started first side by side.
LONG="t_campaign t_run t_nightly t_ctld_guard t_kernel t_recover t_crippled
t_rebuild t_crash_ctl t_crash_engine t_control"
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
long() { [ "$JOBS" -gt 1 ] && case " $(echo $LONG) " in *" $1 "*) true ;; *) false ;; esac; }
if [ "$JOBS" -gt 1 ]; then
	for n in $LONG; do
		t="$TOP/tests/integration/$n.sh"
		[ -f "$t" ] && wanted "$n" && start "$n" sh "$t"
	done
fi
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	wanted "$n" && start "$n" "$t"
done
for t in "$TOP"/tests/integration/t_*.sh; do
	n=$(basename "$t" .sh)
	wanted "$n" && ! long "$n" && start "$n" sh "$t"
done
wait
pass=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^pass$')
fail=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^fail$')
skip=$(cat "$LOGDIR"/*.res 2>/dev/null | grep -c '^skip$')
rm -f "$LOGDIR"/*.res
if [ "$fail" -eq 0 ]; then
	rm -rf "$LOGDIR"
else
	echo "logs of the failing tests: $LOGDIR"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
