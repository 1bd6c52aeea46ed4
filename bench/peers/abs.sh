# ABS in the peers bench (sourced by bench/peers/run.sh): abs-engine in
# direct mode, and the same dumps through abs-ctld and a media server
# (abs-engine serve), each on a vtape library of its own in the work dir.
# Defaults throughout: 1 MiB blocks, XXH3-128 and CRC32C, spot verification
# of 1%, a file index with each dump, no compression.

# abs_setup: a library of 4 cartridges, one in the drive, labelled.
abs_setup() {
	D=$W/abs
	rm -rf "$D"
	mkdir -p "$D"
	"$ABS_BIN/abs-vtape" new-library "$D/lib" --slots 4 --drives 1 \
		--capacity 64G >/dev/null
	"$ABS_BIN/abs-vtape" load "$D/lib" --slot 1 --drive 0 >/dev/null
	"$ABS_BIN/abs-engine" label --device "vtape:$D/lib/drive0" --label P00001 >/dev/null
}

abs_full() {
	in_cg "$ABS_BIN/abs-engine" dump --device "vtape:$D/lib/drive0" --entity tree \
		--source "dir:$TREE" --log "$D/d.log"
}

abs_incr() {
	in_cg "$ABS_BIN/abs-engine" dump --device "vtape:$D/lib/drive0" --entity tree \
		--source "dir:$TREE" --log "$D/d.log" --level 1
}

# abs_restore DIR: the newest chain (the full, or the full and the
# incremental) into DIR.
abs_restore() {
	in_cg "$ABS_BIN/abs-engine" restore --device "vtape:$D/lib/drive0" --entity tree \
		--log "$D/d.log" --to "$1"
}

abs_tape() { tape_bytes "$D/lib"; }
abs_teardown() { rm -rf "$D"; }

# Through abs-ctld: the daemon and the media server start in the system's
# cgroup; the jobs are asked for with abs-ctl (in the cgroup too) and
# waited for by a poll outside it (the bench's, not the system's, cost).
ctld_setup() {
	D=$W/ctld
	rm -rf "$D"
	mkdir -p "$D"
	"$ABS_BIN/abs-vtape" new-library "$D/lib" --slots 4 --drives 1 \
		--capacity 64G --barcode-prefix P >/dev/null
	export ABS_RUN_DIR="$D" ABS_CTL_SOCKET="$D/ctld.sock"
	cg_spawn "$D/ctld.pid" "$ABS_BIN/abs-ctld" --socket "$D/ctld.sock" \
		--db "$D/catalog.db" --foreground 2>>"$D/ctld.log"
	wait_until '[ -S "$D/ctld.sock" ]' || return 1
	cg_spawn "$D/serve.pid" "$ABS_BIN/abs-engine" serve --control "$D/ctld.sock" \
		--drive lib0 --device "vtape:$D/lib/drive0" --log "$D/journal.log" \
		2>>"$D/engine.log"
	wait_until '"$ABS_BIN/abs-ctl" --json status 2>/dev/null | grep -q "\"idle\""' ||
		return 1
	"$ABS_BIN/abs-ctl" tape-add default P00001 P00002 P00003 P00004 >/dev/null
	"$ABS_BIN/abs-ctl" entity-add tree "dir:$TREE" >/dev/null
}

# wait_until COND: poll COND every 0.1 s for up to 10 minutes.
wait_until() {
	_i=0
	until eval "$1"; do
		_i=$((_i + 1))
		[ $_i -lt 6000 ] || { echo "peers: timed out: $1" >&2; return 1; }
		sleep 0.1
	done
}

# ctld_job JSON-KEY ARGS...: ask abs-ctl for a job, wait for its end.
ctld_job() {
	_k=$1
	shift
	_j=$(in_cg "$ABS_BIN/abs-ctl" --json "$@" | tr -d ' \n' |
		sed -n "s/.*\"$_k\":\[*\([0-9]*\).*/\1/p")
	[ -n "$_j" ] || { echo "peers: abs-ctl $*: no job" >&2; return 1; }
	wait_until "ctld_done $_j"
	[ "$(ctld_state "$_j")" = "done" ] || {
		echo "peers: job $_j ($*): $(ctld_state "$_j")" >&2
		tail -n 20 "$D/engine.log" >&2
		return 1
	}
}
ctld_state() {
	"$ABS_BIN/abs-ctl" --json jobs --count 50 | tr -d ' \n' | tr '{' '\n' |
		grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p'
}
ctld_done() {
	case $(ctld_state "$1") in "done"|failed|aborted) return 0 ;; esac
	return 1
}

ctld_full() { ctld_job jobs dump lib0 tree --level 0; }
ctld_incr() { ctld_job jobs dump lib0 tree --level 1; }
ctld_restore() { ctld_job job restore tree --to "$1" --drive lib0; }
ctld_tape() { tape_bytes "$D/lib"; }

ctld_teardown() {
	for f in serve ctld; do
		[ -f "$D/$f.pid" ] && kill "$(cat "$D/$f.pid")" 2>/dev/null || true
	done
	sleep 0.5
	unset ABS_RUN_DIR ABS_CTL_SOCKET
	rm -rf "$D"
}
