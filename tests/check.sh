#!/bin/sh
# make check: -Werror build and tests, the layout check (one test), the same
# build and tests under ASan+UBSan, then each libFuzzer target for a short
# fixed run. One summary line at the end.
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
JOBS=$(nproc 2>/dev/null || echo 2)
# Tests and fuzzers side by side, one per core (tests/run.sh).
export ABS_TEST_JOBS="${ABS_TEST_JOBS:-$JOBS}"
case $ABS_TEST_JOBS in '' | *[!0-9]* | 0) ABS_TEST_JOBS=1 ;; esac
# The end-of-tape campaign's slice under ASan+UBSan: its runs exercise the
# same code with other numbers, and the plain pass runs all 200 (make
# campaign N=... for a long one).
ASAN_CAMPAIGN_RUNS=${ASAN_CAMPAIGN_RUNS:-40}
pass=0 fail=0 skip=0

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

out=$(mktemp)
echo "== build (-Werror)"
if make -s -j"$JOBS" WERROR=1 all; then
	echo "== tests"
	sh tests/run.sh build | tee "$out"
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
fi

echo "== build (ASan+UBSan)"
if make -s -j"$JOBS" WERROR=1 SANITIZE=address,undefined all; then
	echo "== tests under ASan+UBSan (t_campaign: $ASAN_CAMPAIGN_RUNS runs)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ABS_CAMPAIGN_RUNS=$ASAN_CAMPAIGN_RUNS \
		sh tests/run.sh build-asan | tee "$out"
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
if make -s -j"$JOBS" fuzz; then
	res=$(mktemp -d)
	# ABS_TEST_JOBS side by side: a token per free lane in a FIFO.
	mkfifo "$res/.lanes" && exec 3<>"$res/.lanes" && rm -f "$res/.lanes"
	i=0
	while [ $i -lt "$ABS_TEST_JOBS" ]; do echo >&3; i=$((i + 1)); done
	for f in build/fuzz/fuzz_*; do
		read -r _ <&3
		{ fuzz_one "$f" "$res" 3>&-; echo >&3; } &
	done
	wait
	exec 3>&-
	p=$(cat "$res"/* | grep -c '^pass$')
	f=$(cat "$res"/* | grep -c '^fail$')
	pass=$((pass + p)) fail=$((fail + f))
	rm -rf "$res"
else
	echo "FAIL fuzz build"
	fail=$((fail + 1))
fi
rm -f "$out"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
