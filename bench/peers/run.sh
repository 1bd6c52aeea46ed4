#!/bin/sh
# The peers users would pick instead (abs-bench --peers, make bench-peers):
# the same full backup, full restore, incremental and restore of the chain
# of one tree by ABS (abs-engine direct, and through abs-ctld and a media
# server), Amanda and Bacula, each set up in a work directory that is
# removed after; every restore checked against the tree (diff -r
# --no-dereference, and type, mode, owner, group, size, mtime, symlink
# target and hard links of every entry). Prints wall seconds, CPU seconds
# of all the system's processes (its daemons too: a cgroup v2 each), peak
# memory (sum of Pss), tape bytes, medians of the runs and ratios to ABS.
#
# Usage: bench/peers/run.sh BUILD [--tree DIR] [--runs N]
#        [--systems abs,ctld,amanda,bacula] [--results DIR] [--dir DIR]
# Without --tree: a copy of /usr/lib/x86_64-linux-gnu and /usr/share/doc
# (about 1.5 GB in 15,000 entries). The work dir is under --dir, else
# /dev/shm when it has 8 GiB free, else $TMPDIR or /var/tmp. Needs root (Amanda runs as the backup
# user, Bacula's File daemon reads and restores owners as root, cgroups).
set -u
BUILD=${1:?usage: run.sh BUILD [--tree DIR] [--runs N] [--systems LIST] [--results DIR]}
shift
TOP=$(cd "$(dirname "$0")/../.." && pwd)
ABS_BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd) ||
	{ echo "peers: no $BUILD/bin (make first)" >&2; exit 2; }
SRC="" RUNS=3 SYSTEMS="abs,ctld,amanda,bacula" RESULTS="" BASE=""
while [ $# -gt 0 ]; do
	case $1 in
	--tree) SRC=${2:?--tree DIR}; shift ;;
	--runs) RUNS=${2:?--runs N}; shift ;;
	--systems) SYSTEMS=${2:?--systems abs,ctld,amanda,bacula}; shift ;;
	--results) RESULTS=${2:?--results DIR}; shift ;;
	--dir) BASE=${2:?--dir DIR}; shift ;;
	*) echo "peers: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
case $RUNS in ''|*[!0-9]*|0) echo "peers: --runs takes a number from 1" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "peers: run as root (Amanda's backup user, Bacula's File daemon, cgroups)" >&2; exit 2; }
if [ -n "$SRC" ]; then
	[ -d "$SRC" ] || { echo "peers: --tree $SRC: not a directory" >&2; exit 2; }
	SRC=$(cd "$SRC" && pwd)
fi

# The peers: installed by tools/deps.sh peers if missing; a system whose
# programs are still missing is left out.
sh "$TOP/tools/deps.sh" peers || echo "peers: could not install every peer" >&2
have_all() { for p in "$@"; do command -v "$p" >/dev/null 2>&1 || return 1; done; }
SYS=""
for sy in $(echo "$SYSTEMS" | tr ',' ' '); do
	case $sy in
	abs|ctld) SYS="$SYS $sy" ;;
	amanda) if have_all amdump amfetchdump amadmin runuser && id backup >/dev/null 2>&1; then
			SYS="$SYS $sy"
		else echo "peers: Amanda is not installed, left out" >&2; fi ;;
	bacula) if have_all bacula-dir bacula-sd bacula-fd bconsole sqlite3; then
			SYS="$SYS $sy"
		else echo "peers: Bacula is not installed, left out" >&2; fi ;;
	*) echo "peers: no system $sy (abs, ctld, amanda, bacula)" >&2; exit 2 ;;
	esac
done
[ -n "$SYS" ] || exit 2

# The work dir (tree, tapes, restores: about 3.3 times the tree at once)
# on tmpfs where there is room, so that the host's disk writeback (other
# users of the machine) does not drown the systems' own costs; every
# system's tapes are in the same place.
if [ -z "$BASE" ]; then
	BASE=${TMPDIR:-/var/tmp}
	[ "$(df -P -k /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')" -gt 8388608 ] 2>/dev/null &&
		BASE=/dev/shm
fi
W=$(mktemp -d "$BASE/abs-peers.XXXXXX") || exit 1
chmod 755 "$W"		# Amanda's backup user reads its configuration here
RES=$W/res
mkdir -p "$RES"
. "$TOP/bench/peers/common.sh"
. "$TOP/bench/peers/abs.sh"
. "$TOP/bench/peers/amanda.sh"
. "$TOP/bench/peers/bacula.sh"

# Each system's state (D, CG) is kept per system between its steps.
save() { eval "D_$1=\$D CG_$1=\$CG"; }
use() { eval "D=\$D_$1 CG=\$CG_$1"; }
LIVE=""		# systems set up and not torn down
SAMPLER=""
cleanup() {
	set +u
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	for sy in $LIVE; do
		use "$sy"
		"${sy}_teardown" >/dev/null 2>&1 || true
		cg_kill
	done
	for c in $CGS; do [ -d "$c" ] && CG=$c && cg_kill; done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 143' TERM HUP
trap 'exit 130' INT

# The tree: copied afresh from the source for each system and run (the
# incremental changes it).
copy_tree() {
	rm -rf "$TREE"
	if [ -n "$SRC" ]; then
		cp -a "$SRC" "$TREE"
	else
		mkdir "$TREE"
		cp -a /usr/lib/x86_64-linux-gnu "$TREE/lib"
		cp -a /usr/share/doc "$TREE/doc"
	fi
}
TREE=$W/tree
copy_tree
FRESH=1
CHANGES=""
entries=$(find "$TREE" | wc -l)
# (hard links counted once)
bytes=$(find "$TREE" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }')
echo "abs-bench --peers: ${SRC:-/usr/lib/x86_64-linux-gnu + /usr/share/doc}: $entries entries, $bytes bytes of files; $RUNS runs; systems:$SYS; work dir $W"

# change_tree: the incremental's known changes, the same bytes for every
# system of a run: every 50th regular file (in name order) gets 4 KiB
# appended, every 199th is deleted, the first directory two levels down is
# renamed, and a new directory of 16 files of 256 KiB is added.
change_tree() {
	(cd "$TREE" && find . -type f | LC_ALL=C sort) >"$W/files"
	awk 'NR % 50 == 0' "$W/files" | while read -r f; do
		cat "$W/blob" >>"$TREE/$f"
	done
	awk 'NR % 199 == 7' "$W/files" | while read -r f; do rm -f "$TREE/$f"; done
	d=$(cd "$TREE" && find . -mindepth 2 -type d | LC_ALL=C sort | awk 'NR == 1')
	[ -n "$d" ] && mv "$TREE/$d" "$TREE/$d.renamed"
	mkdir "$TREE/peers-new"
	i=0
	while [ $i -lt 16 ]; do
		cp "$W/new$i" "$TREE/peers-new/f$i"
		i=$((i + 1))
	done
	CHANGES="$(awk 'NR % 50 == 0' "$W/files" | wc -l) files grown by 4 KiB, $(awk 'NR % 199 == 7' "$W/files" | wc -l) deleted, ${d:-no directory} renamed, 16 new files of 256 KiB"
}

# step SYS STEP [DIR]: one measured step of one system.
step() {
	_s=$1 _st=$2
	use "$_s"
	_r=0
	case $_st in
	full|incr) measure "$_s" "$_st" "${_s}_$_st" || _r=1 ;;
	restore|restore-chain)
		rm -rf "$3"
		if measure "$_s" "$_st" "${_s}_restore" "$3"; then
			check_restore "$_s" "$_st" "$TREE" "$3"
		else
			_r=1
		fi
		rm -rf "$3" ;;
	esac
	[ $_r -eq 0 ] || record "$_s" "$_st.check" "failed"
	case $_st in
	full) record "$_s" tape-full "$("${_s}_tape")" ;;
	incr) record "$_s" tape-incr "$(( $("${_s}_tape") - $(cat "$RES/$_s.tape-full.$RUN") ))" ;;
	esac
	save "$_s"
	return $_r
}

RUN=1
while [ $RUN -le "$RUNS" ]; do
	head -c 4096 /dev/urandom >"$W/blob"
	i=0
	while [ $i -lt 16 ]; do
		head -c 262144 /dev/urandom >"$W/new$i"
		i=$((i + 1))
	done
	# Each run starts with another system.
	set -- $SYS
	k=$(( (RUN - 1) % $# ))
	order=""
	i=0
	for sy in "$@"; do [ $i -ge $k ] && order="$order $sy"; i=$((i + 1)); done
	i=0
	for sy in "$@"; do [ $i -lt $k ] && order="$order $sy"; i=$((i + 1)); done
	echo "run $RUN:$order"
	# One system at a time, from its own fresh copy of the tree: full,
	# restore, the changes, incremental, restore of the chain.
	for sy in $order; do
		if [ -n "$FRESH" ]; then FRESH=""; else copy_tree; fi
		cg_new "$sy.$RUN"
		D=""
		save "$sy"
		LIVE=$sy
		if ! "${sy}_setup" >"$W/$sy.setup.out" 2>&1; then
			echo "peers: $sy: setup failed:" >&2
			tail -n 20 "$W/$sy.setup.out" >&2
		else
			save "$sy"
			if step "$sy" full && step "$sy" restore "$W/r-$sy"; then
				sleep 1		# the changes a second after the full began
				change_tree
				sleep 1
				step "$sy" incr && step "$sy" restore-chain "$W/r-$sy"
			fi
		fi
		use "$sy"
		mkdir -p "$W/logs/$RUN"
		for f in "$W/$sy".*.out "$W/$sy".*.diff "$W/$sy".*.meta; do
			[ -f "$f" ] && head -c 1000000 "$f" >"$W/logs/$RUN/${f##*/}"
		done
		[ "$sy" = amanda ] && [ -d "$D/state/log" ] && cp -r "$D/state/log" "$W/logs/$RUN/amanda-log"
		[ "$sy" = bacula ] && [ -f "$D/work/log" ] && cp "$D/work/log" "$W/logs/$RUN/bacula-log"
		"${sy}_teardown" >/dev/null 2>&1
		cg_kill
		LIVE=""
	done
	echo "changes: $CHANGES"
	for sy in $order; do
		printf '  %-7s' "$sy"
		for st in full restore incr restore-chain; do
			f=$RES/$sy.$st.$RUN
			if [ -f "$f" ]; then
				read -r w c m <"$f"
				printf ' %s %s s %s CPU s %s MB' "$st" "$w" "$c" "$m"
			else
				printf ' %s -' "$st"
			fi
			c=$(cat "$RES/$sy.$st.check.$RUN" 2>/dev/null || true)
			[ -n "$c" ] && [ "$c" != ok ] && printf ' (%s)' "$c"
			printf ';'
		done
		echo
	done
	RUN=$((RUN + 1))
done

# The table: medians over the runs.
sh "$TOP/bench/peers/report.sh" "$RES" "$RUNS" "$SYS" "$entries" "$bytes" >"$W/report.md"
cat "$W/report.md"
if [ -n "$RESULTS" ]; then
	mkdir -p "$RESULTS"
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	cp "$W/report.md" "$RESULTS/peers-$stamp.md"
	[ -f "$W/report.svg" ] && cp "$W/report.svg" "$RESULTS/peers-$stamp.svg"
	# The raw figures and what each system said (its logs, the diffs).
	(cd "$W" && tar -cf "$RESULTS/peers-$stamp.raw.tar" res logs)
	echo "results: $RESULTS/peers-$stamp.md"
fi
