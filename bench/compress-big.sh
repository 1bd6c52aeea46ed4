#!/bin/sh
# Compression on every core with the fixed costs small beside the work
# (issue 15 §4): /usr/share/doc as one tar, four times over (about 600 MB),
# in /dev/shm; the engine with --compress-threads 0 (its own thread) and 2,
# zstd --single-thread and -T0, at level L, interleaved, RUNS rounds;
# medians of MB/s (ABS_BENCH_DIR: where, default /dev/shm). Usage: bench/compress-big.sh BUILD [L] [RUNS]
B=${1:-build}; L=${2:-3}; RUNS=${3:-5}
W=$(mktemp -d "${ABS_BENCH_DIR:-/dev/shm}/c600.XXXX") || exit 1; trap 'rm -rf "$W"' EXIT
tar -cf "$W/one.tar" -C /usr/share doc 2>/dev/null; cat "$W/one.tar" "$W/one.tar" "$W/one.tar" "$W/one.tar" > "$W/src.tar"; rm "$W/one.tar"
SZ=$(stat -c %s "$W/src.tar")
t() { /usr/bin/time -f '%e %U %S' -o "$W/t" "$@" >/dev/null 2>&1; awk -v sz=$SZ '{ printf "%.1f MB/s %.3f CPU s/GB\n", sz/$1/1e6, ($2+$3)/(sz/1e9) }' "$W/t"; }
echo "§4 600 MB ($SZ bytes), level $L, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq $RUNS); do
 for n in 0 2; do printf 'T%s ' $n; t "$B/bin/abs-engine" dump --device null: --entity c --source "file:$W/src.tar" --log "$W/l" --quiet --compress zstd:$L --compress-threads $n; done
 printf 'zstd-single '; t zstd -q -$L --single-thread -c "$W/src.tar"
 printf 'zstd-T0 '; t zstd -q -$L -T0 -c "$W/src.tar"
done | tee "$W/out"
for k in T0 T2 zstd-single zstd-T0; do grep "^$k " "$W/out" | awk '{print $2}' | sort -n | awk -v k=$k '{v[NR]=$1} END {print k, "median", v[int((NR+1)/2)], "MB/s"}'; done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
