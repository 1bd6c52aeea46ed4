#!/bin/sh
# Restores against dumps on a vtape cartridge (the page cache and this
# machine's disk): one dump of MiB random bytes, then restores of it to
# /dev/null (every CRC32C and both digests checked) with 1 read at a time
# and with the default read-ahead (4, a thread), interleaved, RUNS each;
# medians of wall MB/s and of CPU (user+sys of the engine, from wait4 via
# GNU time) per GB. ABS_BENCH_BEFORE=OTHER-BUILD adds that build's restore
# to each round. Usage: bench/restore.sh BUILD [MiB] [RUNS] [BLOCK]
BUILD=${1:-build}
MB=${2:-512}
RUNS=${3:-5}
BS=${4:-1048576}
E=$(cd "$BUILD/bin" && pwd)/abs-engine
V=$(cd "$BUILD/bin" && pwd)/abs-vtape
B=${ABS_BENCH_BEFORE:+$(cd "$ABS_BENCH_BEFORE/bin" && pwd)/abs-engine}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time"; exit 1; }
D=$(mktemp -d /var/tmp/abs-restore-bench.XXXXXX) || exit 1
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1
head -c $((MB << 20)) /dev/urandom >src.bin
"$V" new-cartridge c --barcode R00001 --capacity $((MB * 2 + 64))M >/dev/null
"$E" label --device "vtape:$D/c" --label R00001 --block-size "$BS" >/dev/null
dump=$("$E" dump --device "vtape:$D/c" --entity r --source "file:$D/src.bin" \
	--log d.log --block-size "$BS" --no-verify 2>/dev/null |
	sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')
# one NAME ENGINE [OPTIONS...]: wall MB/s and CPU s/GB of one restore.
one() {
	n=$1 eng=$2
	shift 2
	/usr/bin/time -f "cpu %U %S" -o t.txt "$eng" restore --device "vtape:$D/c" \
		--entity r --log d.log --stdout "$@" >/dev/null 2>r.txt || { cat r.txt; exit 1; }
	mbs=$(sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p' r.txt)
	cpu=$(awk -v mb="$MB" '/^cpu/ { printf "%.3f", ($2 + $3) / (mb * 1048576 / 1e9) }' t.txt)
	echo "$n $mbs $cpu" >>runs.txt
}
: >runs.txt
for r in $(seq 1 "$RUNS"); do
	one q1 "$E" --queue 1
	one q4 "$E"
	[ -n "$B" ] && one before "$B"
done
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "vtape, $MB MiB, block $BS, medians of $RUNS; dump $dump MB/s (one run)"
for n in before q1 q4; do
	grep -q "^$n " runs.txt || continue
	m=$(awk -v n=$n '$1 == n { print $2 }' runs.txt | med)
	c=$(awk -v n=$n '$1 == n { print $3 }' runs.txt | med)
	printf '%-7s restore %7.1f MB/s, %.3f CPU s/GB, restore/dump %.2f\n' "$n" "$m" "$c" \
		"$(echo "$m $dump" | awk '{ print $1 / $2 }')"
done
