#!/bin/sh
# Restores against dumps on a vtape cartridge (the page cache and this
# machine's disk): one dump of MiB random bytes, then restores of it to
# /dev/null (every CRC32C and both digests checked) with 1 read at a time
# and with the default read-ahead (4, a thread), interleaved, RUNS each;
# medians of wall MB/s and of CPU (user+sys of the engine, from wait4 via
# GNU time) per GB. ABS_BENCH_BEFORE=OTHER-BUILD adds that build's restore
# to each round. Usage: bench/restore.sh BUILD [MiB] [RUNS] [BLOCK]
#
# ABS_BENCH_TREE=DIR: a dir: dump of DIR instead, restored --to a new
# directory (the restore that writes files), 1 read at a time and read
# ahead, interleaved with the earlier build and with GNU tar extracting
# the same tree from a tar file in the page cache (the simplest peer); the
# first restore of each engine is compared with DIR (diff -r, modes,
# owners, mtimes, sizes, allocated blocks). ABS_BENCH_DIR: where the
# cartridge and the restores go (default /var/tmp; /dev/shm leaves the
# disk out). ABS_BENCH_STRACE=1: one more restore each under strace -c
# (write() calls and their mean size).
BUILD=${1:-build}
MB=${2:-512}
RUNS=${3:-5}
BS=${4:-1048576}
E=$(cd "$BUILD/bin" && pwd)/abs-engine
V=$(cd "$BUILD/bin" && pwd)/abs-vtape
B=${ABS_BENCH_BEFORE:+$(cd "$ABS_BENCH_BEFORE/bin" && pwd)/abs-engine}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time"; exit 1; }
D=$(mktemp -d "${ABS_BENCH_DIR:-/var/tmp}/abs-restore-bench.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
if [ -n "$ABS_BENCH_TREE" ]; then
	T=$(cd "$ABS_BENCH_TREE" && pwd) || exit 1
	# A tree's listing to compare restores with: type, mode, owner,
	# mtime (seconds), size of files, link target; then the bytes. The
	# restore makes holes of aligned zeros: a file may take fewer blocks
	# than in DIR, never more (blocks: path and allocated blocks).
	meta() { (cd "$1" && find . -printf '%p %y %m %U %G %s %T@ %l\n' |
		awk '{ sub(/\..*/, "", $7); if ($2 == "d") $6 = "-"; print }' |
		sort); }
	blocks() { (cd "$1" && find . -type f -printf '%p\t%b\n' | sort); }
	meta "$T" >tree.meta
	blocks "$T" >tree.blocks
	"$V" new-cartridge c --barcode R00001 --capacity 64G >/dev/null
	"$E" label --device "vtape:$D/c" --label R00001 --block-size "$BS" >/dev/null
	/usr/bin/time -f "cpu %U %S wall %e" -o t.txt "$E" dump --device "vtape:$D/c" \
		--entity r --source "dir:$T" --log d.log --block-size "$BS" \
		--no-verify >/dev/null 2>&1 || { echo "dump failed"; exit 1; }
	bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' d.log | head -1)
	[ -n "$bytes" ] || bytes=$(du -sb "$T" | cut -f1)
	dump=$(awk -v b="$bytes" '/^cpu/ { printf "%.1f", b / 1e6 / $5 }' t.txt)
	tar -cf tree.tar -C "$T" . && cat tree.tar >/dev/null
	: >runs.txt
	# tone NAME CMD...: one restore into a new r.NAME; wall MB/s, CPU s/GB.
	tone() {
		n=$1
		shift
		rm -rf "r.$n"
		[ "$n" = tar ] && mkdir r.tar
		/usr/bin/time -f "cpu %U %S wall %e" -o t.txt "$@" >/dev/null 2>r.txt ||
			{ cat r.txt; exit 1; }
		awk -v n="$n" -v b="$bytes" '/^cpu/ { printf "%s %.1f %.3f\n", n,
			b / 1e6 / $5, ($2 + $3) / (b / 1e9) }' t.txt >>runs.txt
		if [ ! -e "check.$n" ]; then
			if diff -r --no-dereference "$T" "r.$n" >diff.txt 2>&1 &&
			    meta "r.$n" | diff tree.meta - >>diff.txt &&
			    blocks "r.$n" | join -t "$(printf '\t')" tree.blocks - |
			    awk -F '\t' '$3 > $2 {
				print "more blocks than in the tree:", $0; bad = 1 }
				END { exit bad }' >>diff.txt; then
				echo ok >"check.$n"
			else
				head -5 diff.txt >"check.$n"
			fi
		fi
		rm -rf "r.$n"
	}
	eng() { n=$1 e=$2; shift 2; tone "$n" "$e" restore --device "vtape:$D/c" \
		--entity r --log d.log --to "$D/r.$n" "$@"; }
	for r in $(seq 1 "$RUNS"); do
		eng q1 "$E" --queue 1
		eng q4 "$E" --queue 4
		[ -n "$B" ] && eng before "$B"
		tone tar tar -xpf tree.tar -C r.tar
	done
	echo "dir:$T, $bytes bytes, vtape in $D, block $BS, medians of $RUNS; dump $dump MB/s (one run)"
	for n in before q1 q4 tar; do
		grep -q "^$n " runs.txt || continue
		m=$(awk -v n=$n '$1 == n { print $2 }' runs.txt | med)
		c=$(awk -v n=$n '$1 == n { print $3 }' runs.txt | med)
		printf '%-7s restore %7.1f MB/s, %.3f CPU s/GB, restore/dump %.2f, check %s\n' \
			"$n" "$m" "$c" "$(echo "$m $dump" | awk '{ print $1 / $2 }')" \
			"$(cat "check.$n")"
	done
	if [ -n "$ABS_BENCH_STRACE" ]; then
		for n in before q1; do
			e=$E; [ $n = before ] && e=$B
			[ -n "$e" ] || continue
			rm -rf r.s
			strace -f -c -o s.txt -e trace=write "$e" restore --device \
				"vtape:$D/c" --entity r --log d.log --to "$D/r.s" >/dev/null 2>&1
			w=$(awk '$NF == "write" { print $4 }' s.txt)
			echo "$n: $w write() calls, $(awk -v w="$w" -v b="$bytes" \
				'BEGIN { printf "%.0f", b / w }') bytes each on average"
		done
	fi
	exit 0
fi
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
echo "vtape, $MB MiB, block $BS, medians of $RUNS; dump $dump MB/s (one run)"
for n in before q1 q4; do
	grep -q "^$n " runs.txt || continue
	m=$(awk -v n=$n '$1 == n { print $2 }' runs.txt | med)
	c=$(awk -v n=$n '$1 == n { print $3 }' runs.txt | med)
	printf '%-7s restore %7.1f MB/s, %.3f CPU s/GB, restore/dump %.2f\n' "$n" "$m" "$c" \
		"$(echo "$m $dump" | awk '{ print $1 / $2 }')"
done
