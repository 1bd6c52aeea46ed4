#!/bin/sh
# make demo: a virtual library in a temp dir, label a cartridge, dump a real
# directory tree, list the tape, restore, compare, report.
set -eu
BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
SRC=${ABS_DEMO_SOURCE:-/usr/share/doc}
T=$(mktemp -d "${TMPDIR:-/tmp}/abs-demo.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

step() { printf '\n== %s\n' "$*"; }
step "virtual library: 4 slots, 1 drive, 4 GiB cartridges (sparse files in $T)"
"$BIN/abs-vtape" new-library lib --slots 4 --drives 1 --capacity 4G --barcode-prefix DEMO
"$BIN/abs-vtape" load lib --slot 1 --drive 0
"$BIN/abs-vtape" list lib

step "label the cartridge in drive 0"
"$BIN/abs-engine" label --device vtape:lib/drive0 --label A00001 --pool demo

step "dump $SRC (pax through libarchive, zstd, CRC32C per block, XXH3-128 of the stream)"
"$BIN/abs-engine" dump --device vtape:lib/drive0 --entity demo.doc \
	--source "dir:$SRC" --compress zstd --log "$T/dump.log" | tee dump.out

step "list the tape"
"$BIN/abs-engine" list --device vtape:lib/drive0

step "the dump log line (grep-able, crippled-mode record)"
grep '^dump ' "$T/dump.log"

step "restore into $T/restore and compare"
"$BIN/abs-engine" restore --device vtape:lib/drive0 --entity demo.doc \
	--log "$T/dump.log" --to "$T/restore" | tee restore.out
verdict=identical
diff -r --no-dereference "$SRC" "$T/restore" >diff.out 2>&1 || verdict="DIFFERENT (see diff)"
[ "$verdict" = identical ] || head -20 diff.out

step "verify every block on tape"
"$BIN/abs-engine" verify --device vtape:lib/drive0

files=$(find "$SRC" | wc -l)
raw=$(sed -n 's/^dumped [^:]*: \([0-9]*\) bytes.*/\1/p' dump.out)
stored=$(sed -n 's/.*(\([0-9]*\) on tape.*/\1/p' dump.out)
drate=$(sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p' dump.out)
rrate=$(sed -n 's/.* s, \([0-9.]*\) MB\/s.*/\1/p' restore.out)
digest=$(sed -n 's/.*; \(xxh128\|sha256\) \([0-9a-f]*\).*/\1 \2/p' dump.out)
cat <<REPORT

== report
source        $SRC ($files files and directories)
bytes         $raw from the source, $stored on tape (zstd)
dump rate     $drate MB/s    restore rate $rrate MB/s
checksums     CRC32C of every block, stream digest $digest
verdict       restore is $verdict to the source
REPORT
[ "$verdict" = identical ]
