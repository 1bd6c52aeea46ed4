#!/bin/sh
# The engine over iSCSI against tgtd, next to the raw libiscsi ceilings (the
# same block size, as many commands in flight), on a private tgtd on
# 127.0.0.1: dumps against the raw writer, restores (to /dev/null, every
# checksum checked) against the raw reader and against the dump rate.
# Usage: bench/iscsi.sh BUILD [MiB] [RUNS]
# ABS_BENCH_BEFORE=OTHER-BUILD: that build's engine restores each dump too
# (right after this one's, same tape), for before/after in one invocation.
# ABS_BENCH_PARAMS ("default tuned") and ABS_BENCH_BLOCKS ("262144
# 1048576") narrow the grid.
BUILD=${1:-build}
BEFORE=${ABS_BENCH_BEFORE:+$(cd "$ABS_BENCH_BEFORE/bin" && pwd)/abs-engine}
MB=${2:-1024}
RUNS=${3:-3}
ABS_BIN=$(cd "$BUILD/bin" && pwd)
export ABS_BIN
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/tgt.sh"
set +e
tgt_start
U="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
head -c $((MB << 20)) /dev/urandom >src.bin
echo "iSCSI to tgtd on 127.0.0.1, $MB MiB per run; medians of $RUNS"
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1/$2; else print "-" }'; }
for params in ${ABS_BENCH_PARAMS:-default tuned}; do
tgt_params $params
for bs in ${ABS_BENCH_BLOCKS:-262144 1048576}; do
	e1="" e8="" r1="" r8="" c1="" c8="" d1="" d8="" b1="" b8=""
	for r in $(seq 1 "$RUNS"); do
		for q in 1 8; do
			rm -f t.img b.log
			tgt_tape 1 "$T/t.img" $((MB * 2 + 64)) >/dev/null
			"$ENGINE" label --device "$U" --label B1 --block-size $bs >/dev/null
			v="$("$ENGINE" dump --device "$U" --entity b --source "file:$T/src.bin" \
				--log b.log --block-size $bs --queue $q --no-verify 2>/dev/null |
				sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')"
			# The same dump back, q reads in flight (every CRC, digests).
			w="$("$ENGINE" restore --device "$U" --entity b --log b.log --stdout \
				--queue $q 2>&1 >/dev/null |
				sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')"
			x=""
			[ -n "$BEFORE" ] && x="$("$BEFORE" restore --device "$U" --entity b \
				--log b.log --stdout 2>&1 >/dev/null |
				sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')"
			[ $q = 1 ] && { e1="$e1 $v"; r1="$r1 $w"; b1="$b1 $x"; } ||
				{ e8="$e8 $v"; r8="$r8 $w"; b8="$b8 $x"; }
			tgtadm_ --mode logicalunit --op delete --tid 1 --lun 1
		done
		for depth in 1 8; do
			rm -f t.img
			tgt_tape 1 "$T/t.img" $((MB * 2 + 64)) >/dev/null
			v=$("$ABS_BIN/abs-iscsi-ceiling" "$U" $bs $depth $((MB << 20)) |
				sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p')
			w=$("$ABS_BIN/abs-iscsi-ceiling" --read "$U" $bs $depth $((MB << 20)) |
				sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p')
			[ $depth = 1 ] && { c1="$c1 $v"; d1="$d1 $w"; } || { c8="$c8 $v"; d8="$d8 $w"; }
			tgtadm_ --mode logicalunit --op delete --tid 1 --lun 1
		done
	done
	me1=$(med $e1) me8=$(med $e8) m1=$(med $c1) m8=$(med $c8)
	mr1=$(med $r1) mr8=$(med $r8) md1=$(med $d1) md8=$(med $d8)
	printf '%-7s block %7d: dump 1 in flight %6.1f MB/s, 8 in flight %6.1f | raw write 1 %6.1f, 8 %6.1f | dump/raw: 1 %s, 8 %s\n' \
		$params $bs "$me1" "$me8" "$m1" "$m8" "$(ratio "$me1" "$m1")" "$(ratio "$me8" "$m8")"
	printf '%-7s block %7d: restore 1 in flight %6.1f MB/s, 8 in flight %6.1f | raw read 1 %6.1f, 8 %6.1f | restore/raw read: 1 %s, 8 %s | restore/dump: 1 %s, 8 %s\n' \
		$params $bs "$mr1" "$mr8" "$md1" "$md8" "$(ratio "$mr1" "$md1")" "$(ratio "$mr8" "$md8")" \
		"$(ratio "$mr1" "$me1")" "$(ratio "$mr8" "$me8")"
	if [ -n "$BEFORE" ]; then
		mb=$(med $b1 $b8)
		printf '%-7s block %7d: before (one read at a time) %6.1f MB/s | restore 8 in flight/before %s | before/dump 8 %s\n' \
			$params $bs "$mb" "$(ratio "$mr8" "$mb")" "$(ratio "$mb" "$me8")"
	fi
done
done
