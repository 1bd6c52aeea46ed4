#!/bin/sh
# Power-cut model for the catalog. This kernel has no device-mapper (no
# dm-flakey, no dm-log-writes), so the disk cannot be cut under a running
# abs-ctld; instead, while abs-ctld runs dump jobs (a media server on a
# vtape library, small cartridges so that dumps span), the catalog's files
# are copied at random instants:
#   crash  abs-ctld is stopped (SIGSTOP) for the copy of catalog.db,
#          catalog.db-wal and catalog.db-shm, then continued: the files as
#          a power cut leaves them when everything written reached the disk;
#   power  the same, without the -shm file, and with the write-ahead log
#          cut at a random byte among the bytes appended since the previous
#          copy (only when no checkpoint wrote the database file in
#          between): the writes a power cut loses, torn frames included.
# (Copies taken without stopping abs-ctld are not a model of any disk: a
# checkpoint between the copy of the database and of its log makes a mix
# that no power cut can.)
# Every copy must open with sqlite3 and with abs-ctld itself (which answers
# a query on it), pass PRAGMA integrity_check and foreign_key_check, and
# show no complete dump whose parts are missing: parts 1..N without gaps,
# offsets adding up, bytes summing to the dump's, and each part, at its
# label and tape file, carries the dump's ID in its header on the tapes.
#
# Usage: crash_powercut.sh BUILD COPIES [SEED]
# The delays and cut points come from SEED (printed); the instants they
# land on depend on the machine's speed. CRASH_KEEP=1 keeps the temp dir.
# Prints one line "crash-powercut: ..."; exits non-zero on any bad copy.
set -u
BUILD=$1
COPIES=${2:-200}
SEED=${3:-$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2000000000 ))}
BIN=$(cd "$BUILD/bin" && pwd)
CTLD=$BIN/abs-ctld CTL=$BIN/abs-ctl ENGINE=$BIN/abs-engine VTAPE=$BIN/abs-vtape
# deadline, before: waits bounded by time.
. "$(dirname "$0")/wait.sh"
T=$(mktemp -d "${TMPDIR:-/tmp}/abs-crash-pc.XXXXXX")
CPID= EPID= LPID=
cleanup() {
	for p in $LPID $EPID $CPID; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
	for p in $LPID $EPID $CPID; do wait "$p" 2>/dev/null; done
	[ -n "${CRASH_KEEP:-}" ] && { echo "kept $T"; return; }
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT
cd "$T" || exit 1
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
mkdir copies
head -c 8000000 /dev/urandom >pool.bin
"$VTAPE" new-library lib --slots 40 --drives 1 --capacity 4M --barcode-prefix P >/dev/null
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--commit-every 3 2>ctld.log &
CPID=$!
w_end=$(deadline)
until "$CTL" whoami >/dev/null 2>&1; do
	before "$w_end" || { echo "FAIL: abs-ctld does not start"; exit 1; }
	sleep 0.1
done
"$CTL" tape-add default $(awk 'BEGIN { for (i = 1; i <= 40; i++) printf "P%05d ", i }') >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal.log" --block-size 65536 2>engine.log &
EPID=$!

# The load: dumps of 0.1..5 MB one after the other (1..3 cartridges each),
# the entity added first, a query now and then. Dump jobs share commit
# points (every 3, abs-ctld --commit-every 3): the next dump starts once
# one is written (uncommitted), and a commit point's lines reach the
# catalog in one transaction for three dumps (docs/NIGHTLY.md).
cat >load.sh <<'EOF'
n=0
while :; do
	n=$((n + 1))
	len=$(( (n * 7919 % 60 + 1) * 100000 ))
	head -c "$len" pool.bin >"src.$n"
	"$CTL" entity-add "p$n" "cmd:cat $PWD/src.$n" >/dev/null 2>&1 || continue
	j=$("$CTL" --json dump lib0 "p$n" 2>/dev/null | sed -n 's/.*"jobs":\[\([0-9]*\).*/\1/p')
	[ -n "$j" ] || { sleep 0.2; continue; }
	i=0
	while [ $i -lt 600 ]; do
		"$CTL" --json jobs --count 3 2>/dev/null | grep -q "\"id\":$j,[^}]*\"state\":\"\(done\|failed\|aborted\|uncommitted\)\"" && break
		i=$((i + 1))
		sleep 0.05
	done
	"$CTL" tapes-for "p$n" >/dev/null 2>&1
done
EOF
CTL=$CTL sh load.sh >load.log 2>&1 &
LPID=$!

# Copy the catalog's files at random instants.
prev_db= prev_wal=0 crash=0 power=0 cuts=0
c=0
while [ "$c" -lt "$COPIES" ]; do
	c=$((c + 1))
	set -- $(awk -v s="$SEED" -v c="$c" 'BEGIN {
		srand(s * 31 + c)
		printf "%.3f %s %.6f\n", rand() * 0.4, rand() < 0.5 ? "crash" : "power", rand()
	}')
	delay=$1 kind=$2 frac=$3
	sleep "$delay"
	d=copies/$c
	mkdir "$d"
	kill -STOP "$CPID"
	for f in catalog.db catalog.db-wal catalog.db-shm catalog.db-journal; do
		[ -f "$f" ] && cp "$f" "$d/"
	done
	kill -CONT "$CPID"
	wal=0
	[ -f "$d/catalog.db-wal" ] && wal=$(stat -c %s "$d/catalog.db-wal")
	db=$(cksum <"$d/catalog.db")
	if [ "$kind" = power ]; then
		power=$((power + 1))
		rm -f "$d/catalog.db-shm"
		# Cut the log among the bytes appended since the last copy, if
		# no checkpoint wrote the database meanwhile.
		if [ "$db" = "$prev_db" ] && [ "$wal" -gt "$prev_wal" ]; then
			cut=$(awk -v a="$prev_wal" -v b="$wal" -v f="$frac" \
				'BEGIN { printf "%d", a + (b - a) * f }')
			truncate -s "$cut" "$d/catalog.db-wal"
			cuts=$((cuts + 1))
			echo "$kind $cut/$wal" >"$d/kind"
		else
			echo "$kind -/$wal" >"$d/kind"
		fi
	else
		crash=$((crash + 1))
		echo "$kind" >"$d/kind"
	fi
	prev_db=$db prev_wal=$wal
	kill -0 "$CPID" 2>/dev/null || { echo "FAIL: abs-ctld died: $(tail -n2 ctld.log)"; exit 1; }
done
kill -9 "$LPID"
wait "$LPID" 2>/dev/null
LPID=

# What is on the tapes: label, tape file, dump ID of every part header.
for cd in lib/carts/*; do
	for f in "$cd"/file[0-9][0-9][0-9][0-9][0-9][0-9]; do
		[ -f "$f" ] || continue
		[ "$(head -c 8 "$f")" = "ABS-PART" ] || continue
		head -c 8192 "$f" | tr -d '\000' | sed -n 's/^label=//p; s/^dump_id=//p' |
			tr '\n' ' '
		basename "$f" | sed 's/^file0*//; s/^$/0/'
	done
done | awk '{ print $2 "|" $3 "|" $1 }' | sort >tape.parts

bad=0 dumps=0
badcopy() { echo "FAIL copy $c ($(cat "copies/$c/kind")): $1"; bad=$((bad + 1)); }
c=0
while [ "$c" -lt "$COPIES" ]; do
	c=$((c + 1))
	d=copies/$c
	q() { sqlite3 -cmd ".timeout 5000" "$d/catalog.db" "$1" 2>&1; }
	r=$(q "PRAGMA integrity_check")
	[ "$r" = ok ] || { badcopy "integrity_check: $r"; continue; }
	r=$(q "PRAGMA foreign_key_check")
	[ -z "$r" ] || badcopy "foreign_key_check: $r"
	# Complete dumps whose parts do not make the whole stream.
	r=$(q "SELECT d.dump_uid FROM dumps d WHERE d.state = 'complete' AND (
		(SELECT count(*) FROM dump_parts p WHERE p.dump_id = d.id) = 0 OR
		(SELECT min(part) FROM dump_parts p WHERE p.dump_id = d.id) != 1 OR
		(SELECT max(part) FROM dump_parts p WHERE p.dump_id = d.id) !=
		(SELECT count(*) FROM dump_parts p WHERE p.dump_id = d.id) OR
		d.bytes IS NOT (SELECT sum(bytes) FROM dump_parts p WHERE p.dump_id = d.id) OR
		EXISTS (SELECT 1 FROM dump_parts p WHERE p.dump_id = d.id AND p.offset !=
			(SELECT coalesce(sum(o.bytes), 0) FROM dump_parts o
			 WHERE o.dump_id = d.id AND o.part < p.part)))")
	[ -z "$r" ] || badcopy "complete dumps with missing or inconsistent parts: $(echo $r)"
	# Each part of a complete dump is on tape where the catalog says.
	q "SELECT t.label || '|' || p.file || '|' || d.dump_uid FROM dumps d
		JOIN dump_parts p ON p.dump_id = d.id JOIN tapes t ON t.id = p.tape_id
		WHERE d.state = 'complete' ORDER BY 1" >cat.parts
	r=$(LC_ALL=C comm -23 cat.parts tape.parts | head -n 3)
	[ -z "$r" ] || badcopy "parts of complete dumps not on the tapes: $(echo $r)"
	dumps=$((dumps + $(q "SELECT count(*) FROM dumps WHERE state = 'complete'")))
	# abs-ctld opens the copy and answers a query on it.
	"$CTLD" --socket "$T/c.sock" --db "$d/catalog.db" --foreground 2>"$d/ctld.log" &
	p=$!
	w_end=$(deadline)
	until "$CTL" --socket "$T/c.sock" tapes >/dev/null 2>&1; do
		kill -0 "$p" 2>/dev/null && before "$w_end" || break
		sleep 0.1
	done
	"$CTL" --socket "$T/c.sock" tapes >/dev/null 2>&1 ||
		badcopy "abs-ctld cannot serve it: $(tail -n1 "$d/ctld.log")"
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
final=$(sqlite3 "$T/catalog.db" "SELECT count(*) FROM dumps WHERE state = 'complete'")
echo "crash-powercut: $COPIES copies from seed $SEED ($crash crash, $power power," \
	"$cuts with the log cut), $dumps complete dumps seen in them ($final at the end)," \
	"$bad bad copies"
[ "$bad" -eq 0 ] && [ "$final" -gt 0 ]
