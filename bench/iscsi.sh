#!/bin/sh
# The engine over iSCSI against tgtd, next to the raw libiscsi ceiling (the
# same block size, several WRITEs in flight), on a private tgtd on
# 127.0.0.1. Usage: bench/iscsi.sh BUILD [MiB] [RUNS]
BUILD=${1:-build}
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
for params in default tuned; do
tgt_params $params
for bs in 262144 1048576; do
	e1="" e8="" c1="" c8=""
	for r in $(seq 1 "$RUNS"); do
		for q in 1 8; do
			rm -f t.img
			tgt_tape 1 "$T/t.img" $((MB * 2 + 64)) >/dev/null
			"$ENGINE" label --device "$U" --label B1 --block-size $bs >/dev/null
			v="$("$ENGINE" dump --device "$U" --entity b --source "file:$T/src.bin" \
				--log b.log --block-size $bs --queue $q --no-verify 2>/dev/null |
				sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p')"
			[ $q = 1 ] && e1="$e1 $v" || e8="$e8 $v"
			tgtadm_ --mode logicalunit --op delete --tid 1 --lun 1
		done
		for depth in 1 8; do
			rm -f t.img
			tgt_tape 1 "$T/t.img" $((MB * 2 + 64)) >/dev/null
			v=$("$ABS_BIN/abs-iscsi-ceiling" "$U" $bs $depth $((MB << 20)) |
				sed -n 's/.*: \([0-9.]*\) MB\/s.*/\1/p')
			[ $depth = 1 ] && c1="$c1 $v" || c8="$c8 $v"
			tgtadm_ --mode logicalunit --op delete --tid 1 --lun 1
		done
	done
	med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
	me1=$(med $e1) me8=$(med $e8) m1=$(med $c1) m8=$(med $c8)
	printf '%-7s block %7d: engine 1 in flight %6.1f MB/s, 8 in flight %6.1f | raw 1 in flight %6.1f, 8 in flight %6.1f | engine/raw: 1 %.2f, 8 %.2f\n' \
		$params $bs "$me1" "$me8" "$m1" "$m8" "$(echo "$me1 $m1" | awk '{print $1/$2}')" \
		"$(echo "$me8 $m8" | awk '{print $1/$2}')"
done
done
