#!/bin/sh
# Run every unit test binary and integration script against one build.
# Exit codes per test: 0 pass, 77 skip (the test prints why), else fail.
# Prints "PASS/FAIL/SKIP name" lines and "N passed, N failed, N skipped".
BUILD=${1:-build}
ONLY=${2:-}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd) || exit 1
export ABS_BIN="$BUILD/bin" ABS_TOP="$TOP" ABS_BUILD="$BUILD"
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/abs-tests.XXXXXX")
pass=0 fail=0 skip=0

run_one() {
	name=$1
	shift
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
	77) skip=$((skip + 1))
	    echo "SKIP $name: $(grep -m1 '^skip:' "$log" | sed 's/^skip: //')" ;;
	*) fail=$((fail + 1)); echo "FAIL $name (exit $rc, ${secs}s); last lines:"
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
rm -rf "$LOGDIR"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
