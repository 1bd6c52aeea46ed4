# What the peers bench's systems share (sourced by bench/peers/run.sh):
# a cgroup v2 per system for its CPU, a sampler of its memory, the tree
# and its known changes, and the check of a restore.
#
# CPU: every process of a system (its daemons too) runs in its own cgroup
# v2 under the machine's cgroup2 mount; a step's CPU is the difference of
# the cgroup's cpu.stat (user_usec + system_usec, which the cgroup core
# keeps whether or not the cpu controller is enabled) across the step, so
# processes that came and went are counted. Memory: where the cgroup has
# memory.peak that would count the page cache the backup reads through;
# the figure here is the largest sum of the processes' proportional set
# sizes (Pss, shared pages split), sampled every 0.1 s (a process shorter
# than that can be missed).

CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
CGS=""		# the cgroups made, removed at exit

# cg_new NAME: CG becomes a new empty cgroup for one system ("" if none
# can be made: then no CPU figure).
cg_new() {
	CG=""
	[ -n "$CG2" ] || return 0
	d="$CG2/abs-peers.$$.$1"
	if mkdir "$d" 2>/dev/null; then
		CG=$d
		CGS="$CGS $d"
	fi
}

# in_cg CMD...: run CMD in the system's cgroup (CG).
in_cg() {
	if [ -n "$CG" ]; then
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"
	else
		"$@"
	fi
}

# cg_spawn PIDFILE CMD...: start CMD (a daemon) in the background in the
# system's cgroup; its PID (the command's own: sh execs it) in PIDFILE.
cg_spawn() {
	_pf=$1
	shift
	if [ -n "$CG" ]; then
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@" &
	else
		"$@" &
	fi
	echo $! >"$_pf"
}

# cg_cpu: the cgroup's user+system microseconds so far.
cg_cpu() {
	[ -n "$CG" ] || { echo 0; return; }
	awk '$1 == "user_usec" || $1 == "system_usec" { s += $2 } END { print s + 0 }' \
		"$CG/cpu.stat"
}

# cg_pss: the sum of Pss (kB) of the cgroup's processes now (one that
# ends while it is read is left out).
cg_pss() {
	[ -n "$CG" ] || { echo 0; return; }
	(cd /proc && sed 's|$|/smaps_rollup|' "$CG/cgroup.procs" |
		xargs -r cat 2>/dev/null) | awk '$1 == "Pss:" { t += $2 } END { print t + 0 }'
}

# cg_kill: end every process left in the system's cgroup (all started by
# this bench for this system) and remove the cgroup.
cg_kill() {
	[ -n "$CG" ] && [ -d "$CG" ] || return 0
	if [ -e "$CG/cgroup.kill" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null || true
	else
		while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$CG/cgroup.procs"
	fi
	i=0
	while [ -s "$CG/cgroup.procs" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	rmdir "$CG" 2>/dev/null || true
}

now() { date +%s.%N; }

# measure SYS STEP CMD...: run CMD (whose processes run in SYS's cgroup,
# through in_cg where they start), record wall s, CPU s, peak Pss MB in
# $RES/SYS.STEP.RUN; CMD's output in $W/SYS.STEP.out. Returns CMD's status.
measure() {
	_sys=$1 _step=$2
	shift 2
	_c0=$(cg_cpu)
	rm -f "$W/pss.stop"
	echo 0 >"$W/pss.peak"
	(
		pk=0
		while [ ! -e "$W/pss.stop" ] && [ -d "$W" ]; do
			v=$(cg_pss)
			[ "${v:-0}" -gt "$pk" ] && pk=$v && echo "$pk" >"$W/pss.peak"
			sleep 0.1
		done
	) &
	_spid=$!
	SAMPLER=$_spid
	_t0=$(now)
	_rc=0
	"$@" >"$W/$_sys.$_step.out" 2>&1 || _rc=$?
	_t1=$(now)
	: >"$W/pss.stop"
	wait "$_spid" 2>/dev/null || true
	# shellcheck disable=SC2034 # (run.sh's cleanup ends a sampler left running)
	SAMPLER=""
	_c1=$(cg_cpu)
	_pk=$(cat "$W/pss.peak")
	echo "$_t0 $_t1 $_c0 $_c1 $_pk" | awk '{ printf "%.3f %.3f %.1f\n",
		$2 - $1, ($4 - $3) / 1e6, $5 / 1024 }' >"$RES/$_sys.$_step.$RUN"
	if [ $_rc -ne 0 ]; then
		echo "peers: $_sys $_step failed ($_rc):" >&2
		tail -n 20 "$W/$_sys.$_step.out" >&2
	fi
	return $_rc
}

# record SYS KEY VALUE: a figure that is not a timing (tape bytes, verdicts).
record() {
	echo "$3" >"$RES/$1.$2.$RUN"
}

# tree_list DIR: one line per entry, sorted: path|type|mode|uid|gid|size|
# mtime|target (a directory's size is its history's: left out), then one
# "links|P1|P2..." line per set of hard links.
tree_list() {
	(cd "$1" && find . -printf '%p|%y|%m|%U|%G|%s|%Ts|%l|%i|%n\n' |
		LC_ALL=C sort | awk -F'|' 'BEGIN { OFS = "|" }
		$2 == "f" && $10 > 1 {
			if (!($9 in g)) order[++n] = $9
			g[$9] = g[$9] "|" $1
			cnt[$9]++
		}
		$2 == "d" { $6 = "-" }
		{ NF = 8; print }
		END { for (i = 1; i <= n; i++)
			if (cnt[order[i]] > 1) print "links" g[order[i]] }')
}

# check_restore SYS STEP WANT GOT: diff -r --no-dereference (contents,
# symlink targets, entries) and the metadata listing (type, mode, owner,
# group, size, mtime, hard links); records "ok" or what differs.
check_restore() {
	_v=ok
	if [ ! -d "$4" ]; then
		_v="nothing restored"
	else
		diff -r --no-dereference "$3" "$4" >"$W/$1.$2.diff" 2>&1 ||
			_v="content: $(wc -l <"$W/$1.$2.diff") lines of diff -r"
		tree_list "$3" >"$W/want.list"
		tree_list "$4" >"$W/got.list"
		if ! cmp -s "$W/want.list" "$W/got.list"; then
			diff "$W/want.list" "$W/got.list" >"$W/$1.$2.meta"
			n=$(grep -c '^>' "$W/$1.$2.meta" || true)
			_m="metadata: $n entries differ"
			[ "$_v" = ok ] && _v=$_m || _v="$_v; $_m"
		fi
	fi
	record "$1" "$2.check" "$_v"
	[ "$_v" = ok ] || { echo "peers: $1 $2: $_v" >&2; sed -n 1,6p "$W/$1.$2.meta" >&2 2>/dev/null || true; }
}

# tape_bytes DIR...: bytes of the files that stand for tapes.
tape_bytes() {
	find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}
