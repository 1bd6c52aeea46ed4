#!/bin/sh
# The kernel path's throughput in the Rig B guest (QEMU software emulation,
# so only ratios between tools in the same guest mean anything): dd to
# /dev/nst0 vs the engine on st: and sg:. Usage: bench/guest.sh BUILD [MiB]
BUILD=${1:-build}
MB=${2:-128}
ABS_BIN=$(cd "$BUILD/bin" && pwd)
ABS_TOP=$(cd "$(dirname "$0")/.." && pwd)
export ABS_BIN ABS_TOP
. "$ABS_TOP/tests/integration/lib.sh"
. "$ABS_TOP/tests/integration/tgt.sh"
. "$ABS_TOP/tests/guest/guest.sh"
set +e
guest_host_tools && guest_prepare || { echo "guest bench: no guest (qemu or packages missing)"; exit 0; }
tgt_start
tgt_tape 1 "$T/t1.img" $((MB * 4 + 64)) >/dev/null
guest_initrd "$T/initrd.gz" "$ABS_TOP/bench/guest-bench.sh" "$ENGINE" || exit 1
GUEST_APPEND="abs.mb=$MB" guest_boot "$T/initrd.gz" "$T/console.log" "$TGT_PORT" &
wait $!
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "Rig B guest (TCG), $MB MiB per run, 1 MiB blocks, medians of 3:"
dd=$(med $(tr -d '\r' <"$T/console.log" | sed -n 's/^ABS-BENCH dd-nst0 //p'))
for t in dd-nst0 engine-st engine-sg-q1 engine-sg-q8; do
	m=$(med $(tr -d '\r' <"$T/console.log" | sed -n "s/^ABS-BENCH $t //p"))
	printf '  %-14s %6s MB/s  (%s of dd)\n' "$t" "$m" "$(awk -v a="$m" -v b="$dd" 'BEGIN { if (b > 0) printf "%.2f", a / b }')"
done
