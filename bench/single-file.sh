#!/bin/sh
# One small file restored from the end of a big dir: dump, against the
# whole dump restored and against the standard tools reading it all
# (dd | tar -x FILE on a vtape cartridge; over iSCSI, where the host has no
# tape device for dd, abs-engine restore --stdout | tar -x FILE), plain
# and zstd, on vtape and on a private tgtd over iSCSI (as bench/iscsi.sh).
# Prints blocks read, bytes read and seconds for each way.
# Usage: bench/single-file.sh BUILD [MiB] [vtape,iscsi] (abs-bench
# --single-file [--size SIZE] [--sinks vtape,iscsi] runs it).
BUILD=${1:-build}
MB=${2:-2048}
SINKS=${3:-vtape,iscsi}
ABS_BIN=$(cd "$BUILD/bin" && pwd)
export ABS_BIN
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/integration/lib.sh"
set +e
BS=1048576
# The tree: 32 files of text-like data (base64 of random bytes: zstd gets
# it to about 3/4), small files among them and zz/last.txt; the small file
# the index puts last in the stream is the one restored.
NF=32
per=$(( (MB << 20) / NF ))
mkdir -p src/data src/zz
i=0
while [ $i -lt $NF ]; do
	head -c $((per * 3 / 4 + 4096)) /dev/urandom | base64 -w 76 | head -c $per \
		>"src/data/f$(printf %02d $i)"
	i=$((i + 1))
done
# Small files among the big ones: the walk goes in directory order, not
# by name, so the one asked for is the small file the index puts last.
i=0
while [ $i -lt $NF ]; do
	head -c 3000 /dev/urandom | base64 >"src/data/s$(printf %02d $i).txt"
	i=$((i + 1))
done
head -c 3000 /dev/urandom | base64 >src/zz/last.txt
WANT=./zz/last.txt
now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
num() { sed -n "s/.*$1 \([0-9]*\).*/\1/p" | tail -n 1; }
row() { printf '%-7s %-5s %-34s %8s %14s %8s\n' "$@"; }
echo "abs-bench --single-file: $MB MiB in $NF files and $((NF + 1)) small ones (about $(wc -c <src/zz/last.txt) bytes each); block $BS"
row sink comp way "blocks" "bytes read" "s"

# one SINK COMP DEVICE: dump, then the three ways to get WANT back.
one() {
	sink=$1 comp=$2 dev=$3
	zarg=
	[ "$comp" = zstd ] && zarg="--compress zstd"
	rm -f d.log && rm -rf d.log.fidx
	t0=$(now)
	# shellcheck disable=SC2086
	"$ENGINE" dump --device "$dev" --entity sf --source "dir:$T/src" --log d.log \
		--block-size $BS $zarg --no-verify >dump.out 2>&1 ||
		{ cat dump.out; echo "dump failed ($sink $comp)"; return 1; }
	t1=$(now)
	stored=$(sed -n 's/^dump .* bytes=\([0-9]*\) .*/\1/p' d.log | tail -n 1)
	row "$sink" "$comp" "dump" "-" "$stored" "$(secs "$t0" "$t1")"
	# The small file last in the stream (the largest raw offset).
	"$ENGINE" find --entity sf './*.txt' --log d.log --json 2>/dev/null |
		sed -n 's/.*"path":"\([^"]*\)".*"raw_offset":\([0-9]*\).*/\2 \1/p' |
		sort -n | tail -n 1 >want.txt
	off=$(cut -d' ' -f1 <want.txt)
	WANT=$(cut -d' ' -f2 <want.txt)
	[ -n "$WANT" ] || WANT=./zz/last.txt
	echo "        ($WANT at raw offset ${off:-?} of the stream, $(awk -v o="${off:-0}" \
		-v t="$MB" 'BEGIN { printf "%.1f", 100 * o / (t * 1048576) }')% in)"
	# The whole dump.
	rm -rf whole
	t0=$(now)
	"$ENGINE" restore --device "$dev" --entity sf --log d.log --level-only \
		--to "$T/whole" >whole.out 2>&1 || { cat whole.out; return 1; }
	t1=$(now)
	cmp -s "src/$WANT" "whole/$WANT" || echo "whole restore: $WANT differs"
	row "" "" "restore (the whole dump)" "$(num 'blocks read' <whole.out)" \
		"$(num 'bytes read' <whole.out)" "$(secs "$t0" "$t1")"
	# The file alone.
	rm -rf one
	t0=$(now)
	"$ENGINE" restore --device "$dev" --entity sf --log d.log --level-only \
		--path "$WANT" --to "$T/one" >one.out 2>&1
	rc=$?
	t1=$(now)
	if [ $rc = 0 ]; then
		cmp -s "src/$WANT" "one/$WANT" || echo "restore --path: $WANT differs"
		row "" "" "restore --path $WANT" "$(num 'blocks read' <one.out)" \
			"$(num 'bytes read' <one.out)" "$(secs "$t0" "$t1")"
	else
		echo "        restore --path failed: $(tail -n 1 one.out)"
	fi
	# The standard tools: everything read, tar keeps the one file.
	rm -rf std && mkdir std
	dec=cat
	[ "$comp" = zstd ] && dec="zstd -dc"
	if [ "$sink" = vtape ]; then
		f=$(sed -n 's/^part .* file=\([0-9]*\) .*/\1/p' d.log | tail -n 1)
		tf=$(printf '%s/file%06d' "$(readlink -f lib/drive0/tape)" "$f")
		t0=$(now)
		dd if="$tf" bs=$BS skip=1 status=none | $dec | tar -xpf - -C std "$WANT"
		t1=$(now)
		by=$(( $(stat -c %s "$tf") - BS ))	# all but the header block
		b=$(( (by + BS - 1) / BS ))
		how="dd | ${dec%% *} | tar -x $WANT"
		[ "$comp" = zstd ] || how="dd | tar -x $WANT"
		row "" "" "$how" "$b" "$by" "$(secs "$t0" "$t1")"
	else
		t0=$(now)
		# (--stdout gives the stream decoded: no zstd -dc here)
		"$ENGINE" restore --device "$dev" --entity sf --log d.log --level-only \
			--stdout 2>std.err | tar -xpf - -C std "$WANT"
		t1=$(now)
		row "" "" "restore --stdout | tar -x $WANT" "$(num 'blocks read' <std.err)" \
			"$(num 'bytes read' <std.err)" "$(secs "$t0" "$t1")"
	fi
	cmp -s "src/$WANT" "std/$WANT" || echo "standard tools: $WANT differs"
}

for sink in $(echo "$SINKS" | tr ',' ' '); do
	for comp in none zstd; do
		case $sink in
		vtape)
			rm -rf lib
			"$VTAPE" new-library lib --slots 2 --drives 1 \
				--capacity $((MB * 2 + 512))M >/dev/null &&
				"$VTAPE" load lib --slot 1 --drive 0 &&
				"$ENGINE" label --device vtape:lib/drive0 --label S00001 \
				--block-size $BS >/dev/null || { echo "vtape set-up failed"; continue; }
			one vtape $comp vtape:lib/drive0 ;;
		iscsi)
			command -v tgtd >/dev/null || { echo "tgtd not installed: no iSCSI rows"; break; }
			[ -n "${TGT_PID:-}" ] || { . "$TOP/tests/integration/tgt.sh"; tgt_start; }
			rm -f t.img
			tgt_tape 1 "$T/t.img" $((MB * 2 + 512)) >/dev/null
			U="iscsi://127.0.0.1:$TGT_PORT/$TGT_IQN/1"
			"$ENGINE" label --device "$U" --label S00002 --block-size $BS >/dev/null ||
				{ echo "iSCSI label failed"; continue; }
			one iscsi $comp "$U"
			tgtadm_ --mode logicalunit --op delete --tid 1 --lun 1 ;;
		esac
	done
done
