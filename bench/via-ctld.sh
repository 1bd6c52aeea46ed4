#!/bin/sh
# The same full dump of a tree in direct mode (abs-engine dump) and through
# abs-ctld and a media server (abs-ctl dump --wait: done when abs-ctld
# says the job is done, the dump durable on tape and recorded), runs
# interleaved, each onto its own vtape library drive under DIR. Wall: from
# the command (the request) to the end (direct: abs-engine's exit, after
# its dump is durable; through abs-ctld: abs-ctl's exit once the job-wait
# answer comes, sent in the turn of abs-ctld's loop that made the job
# done); CPU: user+sys of abs-engine
# (direct) or of abs-ctld and the media server with their children (from
# /proc, before and after) and of abs-ctl. Medians, and the ratios
# via/direct.
# Usage: bench/via-ctld.sh BUILD [TREE] [RUNS] [DIR] (abs-bench --via-ctld
# [--source dir:TREE] [--runs N] [--dir DIR] runs it). Before each timed
# dump the tree is read into the page cache, untimed (ABS_VIA_NO_WARM=1:
# not).
BUILD=${1:-build}
TREE=${2:-/usr/lib/x86_64-linux-gnu}
RUNS=${3:-3}
DIR=${4:-${TMPDIR:-/var/tmp}}
BIN=$(cd "$BUILD/bin" && pwd) || exit 1
[ -d "$TREE" ] || { echo "via-ctld: $TREE is not a directory" >&2; exit 2; }
W=$(mktemp -d "$DIR/abs-via.XXXXXX") || exit 1
CPID= EPID=
CG=	# the CPU accounting groups' parent, if one could be made
cleanup() {
	[ -n "$EPID" ] && kill "$EPID" 2>/dev/null
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null
	wait 2>/dev/null
	[ -n "$CG" ] && rmdir "$CG/direct" "$CG/via" "$CG" 2>/dev/null
	rm -rf "$W"
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT
cd "$W" || exit 1
die() { echo "via-ctld: $*" >&2; for f in ctld.log engine.log; do [ -f "$f" ] && tail -5 "$f" >&2; done; exit 1; }
now() { date +%s.%N; }
HZ=$(getconf CLK_TCK)
# user+sys of PID and its waited-for children, seconds.
cpu_of() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13 + $14 + $15) / hz }' "/proc/$1/stat"; }
# This shell's children's user+sys so far, seconds (times: the second
# line), into $1 (no subshell: a subshell's times are its own).
kids_cpu() { times >"$W/times.txt"; eval "$1=\$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split(\$i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }' \"\$W/times.txt\")"; }

# CPU to the nanosecond where a cgroup can be made (root; cgroup v2's
# cpu.stat or v1's cpuacct): one group for direct mode, one for abs-ctld,
# the media server and abs-ctl; each holds every process and child of its
# side. Else the clock ticks of /proc and times (10 ms each).
for base in /sys/fs/cgroup /sys/fs/cgroup/cpuacct; do
	[ -n "$CG" ] && break
	if [ -f "$base/cgroup.procs" ] && mkdir "$base/abs-via.$$" 2>/dev/null; then
		CG=$base/abs-via.$$
		if mkdir "$CG/direct" "$CG/via" 2>/dev/null && { [ -f "$CG/via/cpu.stat" ] ||
			[ -f "$CG/via/cpuacct.usage" ]; } &&
			sh -c 'echo $$ >"$0/cgroup.procs"' "$CG/via" 2>/dev/null; then
			:
		else
			rmdir "$CG/direct" "$CG/via" "$CG" 2>/dev/null
			CG=
		fi
	fi
done
CPUFROM="/proc and times (10 ms ticks)"
[ -n "$CG" ] && CPUFROM="the cgroup $CG (ns)"
# cg_cpu GROUP: its processes' CPU so far, seconds.
cg_cpu() {
	if [ -f "$CG/$1/cpu.stat" ]; then
		awk '$1 == "usage_usec" { printf "%.6f\n", $2 / 1e6 }' "$CG/$1/cpu.stat"
	else
		awk '{ printf "%.6f\n", $1 / 1e9 }' "$CG/$1/cpuacct.usage"
	fi
}
# in_cg GROUP CMD...: run CMD in GROUP (its accounting starts with it).
in_cg() { g=$1; shift; sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG/$g" "$@"; }

BYTES=$(find "$TREE" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
FILES=$(find "$TREE" 2>/dev/null | wc -l)
echo "abs-bench --via-ctld: $TREE ($FILES entries, $((BYTES / 1000000)) MB), $RUNS runs each, interleaved, work dir $W, CPU from $CPUFROM, load $(cut -d' ' -f1-3 /proc/loadavg)"

# Direct mode: a library of its own, a cartridge labelled in its drive.
"$BIN/abs-vtape" new-library D --slots 2 --drives 1 --capacity 1T --barcode-prefix D >/dev/null || die "new-library"
"$BIN/abs-vtape" load D --slot 1 --drive 0 >/dev/null || die "load"
"$BIN/abs-engine" label --device "vtape:$W/D/drive0" --label D00001 >/dev/null 2>&1 || die "label"
# Through abs-ctld: another library, its drive served by a media server.
export ABS_CTL_SOCKET="$W/ctld.sock" ABS_RUN_DIR="$W"
"$BIN/abs-vtape" new-library C --slots 2 --drives 1 --capacity 1T --barcode-prefix C >/dev/null || die "new-library"
# One dump, its own commit point as in direct mode: --commit-every 1 (with
# shared commit points a lone job is done at the idle commit point, 2 s
# after it is written).
"$BIN/abs-ctld" --socket "$W/ctld.sock" --db "$W/catalog.db" --foreground \
	--commit-every 1 2>"$W/ctld.log" &
CPID=$!
[ -n "$CG" ] && echo "$CPID" >"$CG/via/cgroup.procs"
i=0; until [ -S "$W/ctld.sock" ]; do i=$((i + 1)); [ $i -lt 300 ] || die "abs-ctld did not start"; sleep 0.05; done
"$BIN/abs-engine" serve --control "$W/ctld.sock" --drive c0 --device "vtape:$W/C/drive0" \
	--log "$W/journal.log" 2>"$W/engine.log" &
EPID=$!
[ -n "$CG" ] && echo "$EPID" >"$CG/via/cgroup.procs"
"$BIN/abs-ctl" tape-add default C00001 C00002 >/dev/null || die "tape-add"
"$BIN/abs-ctl" entity-add e "dir:$TREE" >/dev/null || die "entity-add"
i=0; until "$BIN/abs-ctl" --json status 2>/dev/null | grep -q '"drive":"c0",[^}]*"state":"idle"'; do
	i=$((i + 1)); [ $i -lt 300 ] || die "the media server did not register"; sleep 0.05; done

# Each appends "wall cpu" to $1.
direct() {
	if [ -n "$CG" ]; then
		c0=$(cg_cpu direct); t0=$(now)
		in_cg direct "$BIN/abs-engine" dump --device "vtape:$W/D/drive0" --entity e \
			--source "dir:$TREE" --log "$W/direct.log" --quiet >/dev/null \
			2>>"$W/direct.err" || die "direct dump failed"
		t1=$(now); c1=$(cg_cpu direct)
	else
		t0=$(now); kids_cpu c0
		"$BIN/abs-engine" dump --device "vtape:$W/D/drive0" --entity e --source "dir:$TREE" \
			--log "$W/direct.log" --quiet >/dev/null 2>>"$W/direct.err" || die "direct dump failed"
		kids_cpu c1; t1=$(now)
	fi
	echo "$t0 $t1 $c0 $c1" | awk '{ printf "%.3f %.3f\n", $2 - $1, $4 - $3 }' >>"$1"
}
# abs-ctl: the request, then the wait for the job's end (dump --wait).
ctl() { if [ -n "$CG" ]; then in_cg via "$BIN/abs-ctl" "$@"; else "$BIN/abs-ctl" "$@"; fi; }
via() {
	if [ -n "$CG" ]; then
		c0=$(cg_cpu via)
	else
		c0=$(awk -v a="$(cpu_of $CPID)" -v b="$(cpu_of $EPID)" 'BEGIN { print a + b }')
		kids_cpu k0
	fi
	t0=$(now)
	ctl dump c0 e --wait >"$W/wait.out" 2>&1 || die "abs-ctl dump --wait: $(cat "$W/wait.out")"
	t1=$(now)
	if [ -n "$CG" ]; then
		c1=$(cg_cpu via)
	else
		kids_cpu k1
		# the daemons' CPU and abs-ctl's
		c1=$(awk -v a="$(cpu_of $CPID)" -v b="$(cpu_of $EPID)" -v k0="$k0" -v k1="$k1" 'BEGIN { print a + b + k1 - k0 }')
	fi
	echo "$t0 $t1 $c0 $c1" | awk '{ printf "%.3f %.3f\n", $2 - $1, $4 - $3 }' >>"$1"
}
# One of each first, not counted: caches warm, cartridges labelled.
direct warm.txt
via warm.txt
: >d.txt; : >v.txt
r=1
# The tree read into the page cache before each timed dump (not timed):
# the host may reclaim pages idle for seconds (DAMON here), so "warm"
# is made true for each run rather than assumed.
warm() { [ -n "$ABS_VIA_NO_WARM" ] || find "$TREE" -type f -print0 2>/dev/null | xargs -0 cat >/dev/null 2>&1; }
while [ $r -le "$RUNS" ]; do
	warm; direct d.txt; warm; via v.txt
	d=$(tail -1 d.txt); v=$(tail -1 v.txt)
	echo "  run $r direct ${d% *} s wall ${d#* } s CPU; via abs-ctld ${v% *} s wall ${v#* } s CPU" >&2
	r=$((r + 1))
done
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
dw=$(cut -d' ' -f1 d.txt | med); dc=$(cut -d' ' -f2 d.txt | med)
vw=$(cut -d' ' -f1 v.txt | med); vc=$(cut -d' ' -f2 v.txt | med)
printf '\n%-14s %10s %10s %10s %10s\n' mode "wall s" "CPU s" "MB/s" "CPU s/GB"
awk -v w="$dw" -v c="$dc" -v b="$BYTES" 'BEGIN { printf "%-14s %10.3f %10.3f %10.1f %10.3f\n", "direct", w, c, b / w / 1e6, c / (b / 1e9) }'
awk -v w="$vw" -v c="$vc" -v b="$BYTES" 'BEGIN { printf "%-14s %10.3f %10.3f %10.1f %10.3f\n", "via abs-ctld", w, c, b / w / 1e6, c / (b / 1e9) }'
awk -v dw="$dw" -v dc="$dc" -v vw="$vw" -v vc="$vc" 'BEGIN { printf "\nratios via/direct: wall %.3f, CPU %.3f\n", vw / dw, vc / dc }'
# Each run's pair shares the machine's moment: the median of their ratios.
pw=$(paste -d' ' d.txt v.txt | awk '{ print $3 / $1 }' | med)
pc=$(paste -d' ' d.txt v.txt | awk '{ print $4 / $2 }' | med)
printf 'median of the runs'"'"' ratios via/direct: wall %.3f, CPU %.3f\n' "$pw" "$pc"
