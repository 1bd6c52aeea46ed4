#!/bin/sh
# make check: -Werror build and tests, the layout check (one test), the same
# build and tests under ASan+UBSan, then each libFuzzer target for a short
# fixed run. One summary line at the end.
#
# The sanitizer and fuzzer builds run beside the plain tests, niced (the
# tests' daemons spend much of their time waiting): their output is shown
# where each pass begins.
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
JOBS=$(nproc 2>/dev/null || echo 2)
# Tests side by side, three per core (tests/run.sh): a test's processes
# keep a fraction of a core busy, the rest of its time is daemons waiting
# on each other and on timers (measured per test in a cpuacct cgroup: the
# 15 longest plain tests used 144 s of CPU in 706 s on a machine at load
# 12; tests/durations' header). Fuzzers one per core.
export ABS_TEST_JOBS="${ABS_TEST_JOBS:-$((JOBS * 3))}"
case $ABS_TEST_JOBS in '' | *[!0-9]* | 0) ABS_TEST_JOBS=1 ;; esac
# What runs where (README, Tests). Seconds are tests/durations' (plain,
# ASan+UBSan), measured side by side three at a time on a loaded machine:
# compare them with each other, not with a clock.
#
# The end-of-tape campaign's slices (random seeds each time): 60 runs in
# the plain pass, 20 under ASan+UBSan, whose runs exercise the same code
# with other numbers; make campaign N=5000 is the long one. The crash
# campaigns' and the library campaign's slices keep their size under
# ASan+UBSan: 24-67 s each there (t_kernel 378, t_nightly 166), fixed
# seeds, and each kill point is a path of its own.
CAMPAIGN_RUNS=${CAMPAIGN_RUNS:-60}
ASAN_CAMPAIGN_RUNS=${ASAN_CAMPAIGN_RUNS:-20}
# The plain pass only: tests whose subject is not ABS's C code, which the
# other tests run under the sanitizers already (plain s, ASan s):
#   t_man          renders the man pages with groff (8, 60)
#   t_report_html  the report as a page in headless Chromium (35, 41);
#                  its C side is fuzz_report_html's and t_nightly's
#                  reports under the sanitizers
#   t_completion   bash completion scripts against abs-ctld (7, 55): the
#                  daemon answers the queries t_control sends; abs-ctl's
#                  own part, --list-names, prints names from those replies
# Every test that runs abs-ctld, a media server or the engine through a
# path of its own stays in both passes, and so does t_ctl_options (2, 36):
# abs-ctl's option parser reads outside input.
ASAN_EXCLUDE=${ASAN_EXCLUDE-t_man t_report_html t_completion}
# The QEMU guest's tests under ASan+UBSan only: the guest runs in software
# emulation (the most CPU of any test: t_kernel 45 s of CPU plain),
# and the engine's st/sg paths are checked there with the sanitizers; a
# plain run would check the same code again without them.
PLAIN_EXCLUDE=${PLAIN_EXCLUDE-t_kernel t_smc_kernel t_device_events}
# ABS_CHECK_ONLY=PATTERN: only the tests and fuzzers whose name has it (the
# builds are whole).
ONLY=${ABS_CHECK_ONLY:-}
pass=0 fail=0 skip=0

# Each pass's time and how busy the machine's CPUs were meanwhile (from
# /proc/stat: whether more lanes would help or the CPUs are the limit).
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat 2>/dev/null; }
phase_start() { t0=$(date +%s); c0=$(cpu_ticks); }
phase_end() {
	set -- $c0 $(cpu_ticks)
	[ $# = 4 ] && [ $(($3 + $4 - $1 - $2)) -gt 0 ] &&
		echo "($(($(date +%s) - t0)) s; CPUs $((100 * ($3 - $1) / ($3 + $4 - $1 - $2)))% busy)"
}

# Fold a run.sh summary line into the totals.
tally() {
	line=$(tail -n 1 "$1")
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
	if [ -z "$p" ]; then fail=$((fail + 1)); return; fi
	pass=$((pass + p)) fail=$((fail + ${f:-0})) skip=$((skip + ${s:-0}))
}

# fuzz_sense's seeds are the canned buffers of tests/data/sense (so they
# cannot drift from them): CHECK CONDITION (0x02), then the buffer's bytes.
sense_seeds() {
	for h in tests/data/sense/*.hex; do
		grep -v '^#' "$h" | head -n 1 | tr -s ' \t' '\n\n' | grep . | {
			printf '\002'
			while read -r b; do printf "\\$(printf %o "0x$b")"; done
		} >"$1/$(basename "$h" .hex)"
	done
}

start=$(date +%s)
out=$(mktemp)
bg=$(mktemp -d)
# The ASan+UBSan build, then the fuzzers' (each one's output and status in
# $bg), at low priority: the first beside the plain tests, the second
# beside those under ASan+UBSan.
other_builds() {
	nice -n 10 make -s -j"$JOBS" WERROR=1 SANITIZE=address,undefined all \
		>"$bg/asan.log" 2>&1
	echo $? >"$bg/rc" && mv "$bg/rc" "$bg/asan.rc"
	nice -n 10 make -s -j"$JOBS" WERROR=1 fuzz >"$bg/fuzz.log" 2>&1
	echo $? >"$bg/rc" && mv "$bg/rc" "$bg/fuzz.rc"
}
# wait_build NAME: until that build has ended (other_builds always ends).
wait_build() {
	[ -e "$bg/$1.rc" ] && return 0
	phase_start
	while [ ! -e "$bg/$1.rc" ] && kill -0 "$bgpid" 2>/dev/null; do sleep 1; done
	echo "(waited for the $1 build $(phase_end))"
}
echo "== build (-Werror)"
if make -s -j"$JOBS" WERROR=1 all; then
	other_builds &
	bgpid=$!
	echo "== tests"
	phase_start
	echo "(under ASan+UBSan only: ${PLAIN_EXCLUDE:-none})"
	ABS_CAMPAIGN_RUNS=$CAMPAIGN_RUNS ABS_TEST_EXCLUDE=$PLAIN_EXCLUDE \
		sh tests/run.sh build "$ONLY" | tee "$out"
	phase_end
	tally "$out"
	echo "== layout"
	if make -s WERROR=1 check-layout; then
		echo "PASS check-layout"
		pass=$((pass + 1))
	else
		echo "FAIL check-layout"
		fail=$((fail + 1))
	fi
else
	echo "FAIL build"
	fail=$((fail + 1))
	other_builds &
	bgpid=$!
fi

echo "== build (ASan+UBSan)"
wait_build asan
cat "$bg/asan.log"
if [ "$(cat "$bg/asan.rc" 2>/dev/null)" = 0 ]; then
	phase_start
	echo "== tests under ASan+UBSan (t_campaign: $ASAN_CAMPAIGN_RUNS runs; plain pass only: ${ASAN_EXCLUDE:-none})"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ABS_CAMPAIGN_RUNS=$ASAN_CAMPAIGN_RUNS ABS_TEST_EXCLUDE=$ASAN_EXCLUDE \
		sh tests/run.sh build-asan "$ONLY" | tee "$out"
	phase_end
	tally "$out"
else
	echo "FAIL sanitizer build"
	fail=$((fail + 1))
fi

echo "== fuzz (libFuzzer, short fixed runs)"
# fuzz_one TARGET RESULTS: one short run; its line printed, pass or fail
# left in RESULTS/NAME.
fuzz_one() {
	f=$1
	n=$(basename "$f")
	corpus=$(mktemp -d)
	seeds="$TOP/tests/fuzz/seeds/$n"
	[ -d "$seeds" ] || seeds=
	if [ "$n" = fuzz_sense ]; then
		mkdir "$corpus.seeds"
		sense_seeds "$corpus.seeds"
		seeds="$seeds $corpus.seeds"
	fi
	runs=20000
	[ "$n" = fuzz_vtape ] && runs=1500
	# shellcheck disable=SC2086
	if "$f" -runs=$runs -max_total_time=60 -timeout=10 \
		-artifact_prefix="$corpus/" "$corpus" \
		$seeds >"$corpus.log" 2>&1; then
		echo "PASS $n ($runs runs)" >"$corpus.rep"
		echo pass >"$2/$n"
	else
		{ echo "FAIL $n; last lines:"
		  tail -n 20 "$corpus.log" | sed 's/^/    /'; } >"$corpus.rep"
		echo fail >"$2/$n"
	fi
	cat "$corpus.rep"
	rm -rf "$corpus" "$corpus.log" "$corpus.seeds" "$corpus.rep"
}
wait_build fuzz
wait "$bgpid"
cat "$bg/fuzz.log"
if [ "$(cat "$bg/fuzz.rc" 2>/dev/null)" = 0 ]; then
	res=$(mktemp -d)
	# One per core (they use a whole one): a token per free lane in a FIFO.
	mkfifo "$res/.lanes" && exec 3<>"$res/.lanes" && rm -f "$res/.lanes"
	i=0
	while [ $i -lt "$JOBS" ]; do echo >&3; i=$((i + 1)); done
	phase_start
	for f in build/fuzz/fuzz_*; do
		case $f in *"$ONLY"*) ;; *) continue ;; esac
		read -r _ <&3
		{ fuzz_one "$f" "$res" 3>&-; echo >&3; } &
	done
	wait
	exec 3>&-
	phase_end
	p=$(cat "$res"/* 2>/dev/null | grep -c '^pass$')
	f=$(cat "$res"/* 2>/dev/null | grep -c '^fail$')
	pass=$((pass + p)) fail=$((fail + f))
	rm -rf "$res"
else
	echo "FAIL fuzz build"
	fail=$((fail + 1))
fi
rm -rf "$out" "$bg"
echo "make check took $(($(date +%s) - start)) s"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
