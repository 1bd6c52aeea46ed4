#!/bin/sh
# Randomized end-of-tape campaign: random early-warning and physical-end
# positions, PEW on or off, read-ahead depth 1..32, 1..16 writes in
# flight (completions reported late), blocks 64 KiB..1 MiB,
# pipes and files of random length spanning 1..6 cartridges. Every run must
# restore byte for byte, and the dump log must list exactly the parts that
# are on the tapes. A third of the runs write the stream between two small
# dumps in one run (dump --batch: immediate filemarks, commit points every
# 1..3 dumps and at end of cartridge), and every one of the three must
# restore and be logged exactly as on tape.
# Usage: campaign.sh BUILD RUNS [FIRST_SEED]
set -u
BUILD=$1
RUNS=${2:-200}
# Seeds stay below 2^31 - 1: mawk's srand() clamps larger ones, which
# would make every run the same one.
SEED0=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
BIN=$(cd "$BUILD/bin" && pwd)
base=${TMPDIR:-/tmp}
[ -w /dev/shm ] && base=/dev/shm	# fsyncs cost nothing there
T=$(mktemp -d "$base/abs-campaign.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
head -c 64000000 /dev/urandom >pool.bin
failed=0 spans=0 cut=0 batches=0

# rnd SEED N: a deterministic number in 0..N-1 for this seed and draw.
rnd() { awk -v s="$1" -v n="$2" 'BEGIN { srand(s); print int(rand() * n) }'; }

run=0
while [ $run -lt "$RUNS" ]; do
	seed=$((SEED0 + run))
	run=$((run + 1))
	rm -rf lib d.log out.bin src.bin src.a src.c src.e
	set -- $(awk -v s="$seed" 'BEGIN {
		srand(s)
		split("65536 131072 262144 524288 1048576", B, " ")
		bs = B[1 + int(rand() * 5)]
		depth = 1 + int(rand() * 32)
		queue = rand() < 0.6 ? 1 + int(rand() * 16) : 1
		pew = rand() < 0.5
		pewb = pew ? int(((queue + 3) * bs + 16384 + 1048575) / 1048576) * 1048576 : 0
		ew = rand() < 0.3 ? 1024 : int(rand() * 4 * bs)
		usable = bs * (6 + int(rand() * 24))
		cap = usable + ew + pewb
		carts = 1 + int(rand() * 6)
		len = int((carts - 1) * usable * 0.8 + rand() * usable * 0.9)
		if (len > 60000000) len = 60000000
		src = rand() < 0.7 ? "cmd" : "file"
		print bs, depth, pew, ew, cap, len, src, queue
	}')
	bs=$1 depth=$2 pew=$3 ew=$4 cap=$5 len=$6 src=$7 queue=$8
	what="seed $seed: bs=$bs depth=$depth queue=$queue pew=$pew ew=$ew capacity=$cap length=$len source=$src"
	head -c "$len" pool.bin >src.bin
	# A third of the runs (by a draw of their own, so that a seed keeps
	# its other parameters) dump src.bin between two small dumps in one
	# run (dump --batch): immediate filemarks between them, commit points
	# every 1..3 dumps and at end of cartridge.
	set -- $(awk -v s="$seed" 'BEGIN { srand((s * 17 + 3) % 2000000000)
		print (rand() < 0.34), 1 + int(rand() * 3), int(rand() * 300000),
		    int(rand() * 3000000) }')
	batch=$1 every=$2 alen=$3 clen=$4
	# Cartridges enough for all of it: the two small dumps may need
	# eight more of the smallest (6 blocks of 64 KiB).
	slots=8
	[ "$batch" = 1 ] && slots=24
	"$BIN/abs-vtape" new-library lib --slots "$slots" --drives 1 --capacity "$cap" \
		--early-warning "$ew" >/dev/null &&
	"$BIN/abs-vtape" load lib --slot 1 --drive 0 &&
	"$BIN/abs-engine" label --device vtape:lib/drive0 --label X00001 \
		--block-size "$bs" >/dev/null || { echo "FAIL set-up ($what)"; failed=$((failed + 1)); continue; }
	if [ "$src" = cmd ]; then s="cmd:cat $T/src.bin"; else s="file:$T/src.bin"; fi
	nopew=""
	[ "$pew" = 0 ] && nopew="--no-pew"
	ents=e
	if [ "$batch" = 1 ]; then
		tail -c "$alen" pool.bin >src.a && head -c "$clen" pool.bin >src.c
		cp src.bin src.e
		printf 'a file:%s/src.a\ne %s\nc cmd:cat %s/src.c\n' "$T" "$s" "$T" >batch.txt
		ents="a e c"
		what="$what batch=a,e,c every=$every"
		set -- --batch batch.txt --commit-every "$every"
	else
		set -- --entity e --source "$s"
	fi
	if ! "$BIN/abs-engine" dump --device vtape:lib/drive0 "$@" \
		--log d.log --block-size "$bs" --depth "$depth" --queue "$queue" --autolabel 'X%05d' \
		$nopew --quiet 2>err.txt; then
		echo "FAIL dump ($what): $(tail -n1 err.txt)"
		failed=$((failed + 1))
		continue
	fi
	cp src.bin src.e
	bad=0
	for e in $ents; do
		if ! "$BIN/abs-engine" restore --device vtape:lib/drive0 --entity $e --log d.log \
			--to out.bin --quiet 2>err.txt || ! cmp -s src.$e out.bin; then
			echo "FAIL restore of $e ($what): $(tail -n1 err.txt)"
			bad=1
			break
		fi
		rm -f out.bin
		# The log's parts (label:file) against the part headers on the tapes.
		id=$(sed -n "s/^dump entity=$e .* dump=\([0-9a-f]*\)\$/\1/p" d.log)
		sed -n "s/^part entity=$e .* label=\([^ ]*\) .* file=\([0-9]*\) .*/\1:\2/p" d.log |
			sort >log.parts
		: >tape.parts
		for c in lib/carts/*; do
			[ -f "$c/file000000" ] || continue
			label=$(head -c 4096 "$c/file000000" | tr -d '\000' | sed -n 's/^label=//p')
			for f in "$c"/file[0-9][0-9][0-9][0-9][0-9][0-9]; do
				[ "$(head -c 11 "$f")" = "ABS-PART v1" ] || continue
				head -c 4096 "$f" | tr -d '\000' | grep -q "^dump_id=$id\$" || continue
				n=$(basename "$f" | sed 's/^file0*//; s/^$/0/')
				echo "$label:$n" >>tape.parts
			done
		done
		sort -o tape.parts tape.parts
		if ! cmp -s log.parts tape.parts; then
			echo "FAIL parts of $e ($what): log $(tr '\n' ' ' <log.parts) tape $(tr '\n' ' ' <tape.parts)"
			bad=1
			break
		fi
		[ "$e" = e ] && cp log.parts e.parts
	done
	if [ "$bad" = 1 ]; then
		failed=$((failed + 1))
		continue
	fi
	[ "$batch" = 1 ] && batches=$((batches + 1))
	cp e.parts log.parts
	np=$(wc -l <log.parts)
	[ "$np" -gt 1 ] && spans=$((spans + 1))
	if grep -q 'status=no-trailer' d.log; then
		cut=$((cut + 1))
		if [ "$pew" = 1 ]; then
			echo "FAIL pew ($what): a part lost its trailer although PEW was set"
			failed=$((failed + 1))
			continue
		fi
	fi
done
echo "campaign: $RUNS runs from seed $SEED0, $spans spanned cartridges, $cut hit physical end," \
	"$batches batches of 3 dumps with commit points, $failed failed"
[ "$failed" -eq 0 ]
