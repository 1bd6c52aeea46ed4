# Least privilege (common/priv.c, README "Privileges"): the capability
# sets, uid and no_new_privs of a running abs-ctld started as root with
# --user (a user this test creates and deletes), of media servers (serve:
# idle, during a dump job, during a restore job; direct mode: dump and
# restore in progress), of cmd: sources (which cannot open the cartridge)
# and of abs-ctld's exception command, read from /proc/PID/status, are
# exactly the documented ones. A tree with a mode-000 file, a private
# directory, a setgid file, a device node and a file with file
# capabilities, owned by another user, is dumped and restored with its
# owners. A user's own run on a vtape of their own works, with no
# capability code failing.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (creates a user, runs abs-ctld --user)"
command -v useradd >/dev/null && command -v userdel >/dev/null ||
	skip "no useradd/userdel"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
chmod 755 "$T"

# A system user of our own, removed at the end (after its processes).
U="absprv$$"
useradd -r -M -U -d /nonexistent -s /usr/sbin/nologin "$U" || fail "useradd $U"
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	userdel "$U" 2>/dev/null || true
	getent group "$U" >/dev/null 2>&1 && groupdel "$U" 2>/dev/null
	chmod -R u+rwx "$T" 2>/dev/null || true
	rm -rf "$T"
}
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
as_user() { setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups "$@"; }

# Capability numbers (linux/capability.h) and the documented sets.
bit() { echo $((1 << $1)); }
CHOWN=$(bit 0) DAC_OVERRIDE=$(bit 1) DAC_READ_SEARCH=$(bit 2) FOWNER=$(bit 3)
FSETID=$(bit 4) SETGID=$(bit 6) SETUID=$(bit 7) LINUX_IMMUTABLE=$(bit 9)
IPC_LOCK=$(bit 14) SYS_ADMIN=$(bit 21) MKNOD=$(bit 27) SETFCAP=$(bit 31)
DUMP=$((DAC_READ_SEARCH | IPC_LOCK))
HIDE=$SYS_ADMIN		# permitted only: a cmd: child hides the tapes with it
RESTORE=$((CHOWN | DAC_OVERRIDE | FOWNER | FSETID | MKNOD | SETFCAP | LINUX_IMMUTABLE))
SETID=$((SETUID | SETGID))
# What this shell may hand on (a container may lack some).
MYPRM=$((0x$(sed -n 's/^CapPrm:[[:space:]]*//p' /proc/$$/status)))
MYBND=$((0x$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/$$/status)))

# The compared lines of a status file, one string.
caps_of() {
	awk '$1 == "Uid:" { printf "Uid:%s,%s,%s,%s ", $2, $3, $4, $5 }
	     $1 ~ /^Cap(Inh|Prm|Eff|Bnd|Amb):$/ || $1 == "NoNewPrivs:" {
		printf "%s%s ", $1, $2 }
	     END { print "" }' "$1"
}
# want UID INH PRM EFF BND AMB NNP: the string caps_of should give.
want() {
	printf 'Uid:%s,%s,%s,%s CapInh:%016x CapPrm:%016x CapEff:%016x CapBnd:%016x CapAmb:%016x NoNewPrivs:%s \n' \
		"$1" "$1" "$1" "$1" "$2" "$3" "$4" "$5" "$6" "$7"
}
# check WHAT STATUSFILE EXPECTED
check() {
	got=$(caps_of "$2")
	exp=$3
	if [ "$got" != "$exp" ]; then
		for s in Prm Eff Bnd; do
			v=$(sed -n "s/^Cap$s:[[:space:]]*//p" "$2")
			echo "  Cap$s: $(capsh --decode="$v" 2>/dev/null || echo "$v")" >&2
		done
		fail "$1: got  $got
          want $exp"
	fi
	ok "$1: $got"
}
# snap PID FILE: a copy of a live process's status.
snap() { cat "/proc/$1/status" >"$2" || fail "no process $1"; }
wait_for() {
	w_end=$(deadline)
	until eval "$1"; do
		before "$w_end" || fail "timed out: $1"
		sleep 0.1
	done
}

# A tree owned by another user: mode 000, a private directory, setgid,
# a device node, file capabilities (if setcap is here).
tree="$T/tree"
mkdir -p "$tree/priv" "$tree/ro"
echo secret >"$tree/mode000"
echo inside >"$tree/priv/f"
echo x >"$tree/ro/x"
echo g >"$tree/setgid"
mknod "$tree/null" c 1 3
chown -R "$U:$U" "$tree/mode000" "$tree/priv" "$tree/ro" "$tree/setgid" "$tree/null"
chmod 000 "$tree/mode000" "$tree/ro/x"
chmod 700 "$tree/priv"
chmod 600 "$tree/priv/f"
chmod 500 "$tree/ro"
chmod 2750 "$tree/setgid"
HAVE_SETCAP=
if command -v setcap >/dev/null && command -v getcap >/dev/null &&
    cp /bin/true "$tree/capfile" && setcap cap_net_raw+ep "$tree/capfile" 2>/dev/null; then
	HAVE_SETCAP=1
fi
# check_tree OUT: the restore has every entry with its owner and mode.
check_tree() {
	tree_meta "$tree" >"$T/meta.src"
	tree_meta "$1" >"$T/meta.out"
	diff "$T/meta.src" "$T/meta.out" || fail "$1: owners, modes or entries differ"
	[ "$(cat "$1/mode000")" = secret ] && [ "$(cat "$1/priv/f")" = inside ] ||
		fail "$1: contents differ"
	if [ -n "$HAVE_SETCAP" ]; then
		getcap "$1/capfile" | grep -q cap_net_raw || fail "$1: file capability lost"
	fi
	ok "$1: every entry with its owner, mode$([ -n "$HAVE_SETCAP" ] && echo ', file capability')"
}

# The cmd: probe: its own status, the engine's (its parent), its fds and
# an attempt to open for writing every path in $P/targets (the files of the
# cartridges and the tape nodes, listed from outside: inside, the
# cartridges' directories are hidden); then some data.
P="$T/probe"
mkdir -m 1777 "$P"
cat >"$P/probe.sh" <<EOF
tag=\$1
grep -E '^(Uid|Cap|NoNewPrivs)' /proc/self/status >"$P/\$tag.self"
ls -l /proc/\$\$/fd/ >"$P/\$tag.fds" 2>&1
: >"$P/\$tag.open"
# Each target directly, and through every process's root this /proc shows
# (a capability-less root process's /proc/PID/root would lead around a
# mount namespace; the source's /proc shows only its own processes).
while read -r f; do
	for r in "" /proc/[0-9]*/root; do
		[ -n "\$r" ] && [ ! -e "\$r/" ] && continue
		if [ -c "\$r\$f" ] && [ "\$(stat -c %t:%T "\$r\$f")" = 1:3 ]; then
			echo "null \$r\$f" >>"$P/\$tag.open"
		elif ( : >>"\$r\$f" ) 2>>"$P/\$tag.open"; then
			echo "opened \$r\$f" >>"$P/\$tag.open"
		fi
	done
done <"$P/targets"
ls -d /proc/[0-9]* >"$P/\$tag.procs" 2>&1
# The engine is looked at from outside while the source runs.
: >"$P/\$tag.ready"
until [ -e "$P/\$tag.go" ]; do sleep 0.05; done
head -c 3000000 /dev/zero
EOF
chmod 755 "$P/probe.sh"

# --- abs-ctld --user: its user, no capability in any set --------------------
export ABS_CTL_SOCKET="$T/run/ctld.sock"
"$CTLD" --user "$U" --socket "$T/run/ctld.sock" --db "$T/state/catalog.db" \
	--foreground --exception-cmd "grep -E '^(Uid|Cap|NoNewPrivs)' /proc/self/status >$T/state/exception.status" \
	2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for '[ -S "$T/run/ctld.sock" ]'
snap "$CPID" "$T/ctld.status"
check "abs-ctld --user $U" "$T/ctld.status" "$(want "$UID_U" 0 0 0 0 0 1)"
[ "$(stat -c %U "$T/state")/$(stat -c %U "$T/state/catalog.db")/$(stat -c %U "$T/run/ctld.sock")" = "$U/$U/$U" ] ||
	fail "abs-ctld's directories, catalog and socket are not $U's"
"$CTL" tape-add default A00001 >/dev/null
"$CTL" unavailable A00001 >/dev/null
wait_for '[ -s "$T/state/exception.status" ]'
check "abs-ctld's exception command" "$T/state/exception.status" "$(want "$UID_U" 0 0 0 0 0 1)"
expect_fail "no user" "$CTLD" --user "nosuchuser$$" --socket "$T/x.sock" --db "$T/x.db" --foreground
expect_fail "only root can become" as_user "$CTLD" --user root --socket "$T/x.sock" --db "$T/x.db" --foreground

# --- abs-engine serve as root, cmd: sources as $U ---------------------------
"$VTAPE" new-library man --slots 2 --drives 1 --capacity 64M --barcode-prefix A >/dev/null
ln -s man/drive0 manual	# a drive whose cartridges the "operator" changes
"$CTL" entity-add prv.cmd "cmd:sh $P/probe.sh serve" >/dev/null
"$CTL" entity-add prv.tree "dir:$tree" >/dev/null
# The socket is $U's (0660): the media server is in its group, as the
# unit's SupplementaryGroups=abs does.
setpriv --groups "$GID_U" "$ENGINE" serve --control "$T/run/ctld.sock" --drive man0 \
	--device "vtape:$T/manual" --log "$T/journal.log" --cmd-user "$U" \
	2>"$T/engine.log" &
EPID=$!
PIDS="$PIDS $EPID"
status_has() { "$CTL" --json status | grep -q "$1"; }
job_state() { "$CTL" --json jobs | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
job_over() { case $(job_state "$1") in done|failed|aborted) true;; *) false;; esac; }
wait_job() {
	w_end=$(deadline)
	until job_over "$1"; do
		before "$w_end" || { "$CTL" status >&2; cat "$T/engine.log" >&2; fail "job $1 does not end"; }
		sleep 0.1
	done
	[ "$(job_state "$1")" = done ] || { cat "$T/engine.log" >&2; fail "job $1: $(job_state "$1")"; }
}
wait_for 'status_has "\"drive\":\"man0\",[^}]*\"state\":\"idle\""'
SRV=$(((DUMP | RESTORE | SETID | HIDE) & MYPRM))
snap "$EPID" "$T/serve-idle.status"
check "serve, idle" "$T/serve-idle.status" "$(want 0 0 "$SRV" 0 "$SRV" 0 1)"

# targets DIR: the files under DIR (the engine's cartridges) and tape nodes.
targets() { { find "$1" -type f -print; ls /dev/sg[0-9]* /dev/nst[0-9]* 2>/dev/null || true; } >"$P/targets"; }
j=$("$CTL" --json dump man0 prv.cmd | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_for 'status_has "\"wants\":\"A00001\""'
"$VTAPE" load man --slot 1 --drive 0
targets "$T/man/carts"
"$CTL" mounted man0 >/dev/null
wait_for '[ -e "$P/serve.ready" ]'
snap "$EPID" "$P/serve.engine"
: >"$P/serve.go"
wait_job "$j"
check "serve during a dump job" "$P/serve.engine" "$(want 0 0 "$SRV" $((DUMP & MYPRM)) "$SRV" 0 1)"
check "cmd: source of serve (--cmd-user $U)" "$P/serve.self" "$(want "$UID_U" 0 0 0 "$SRV" 0 1)"
grep -q . "$P/serve.open" || fail "the probe found no cartridge file to try"
! grep -q '^opened' "$P/serve.open" || fail "cmd: source opened the tape: $(cat "$P/serve.open")"
grep -q 'Permission denied' "$P/serve.open" || fail "not EACCES: $(cat "$P/serve.open")"
ok "cmd: source cannot open the cartridge: $(grep -c 'Permission denied' "$P/serve.open") refusals"
grep -q "$T/man" "$P/serve.fds" && fail "cmd: source inherited a cartridge fd: $(cat "$P/serve.fds")"

j=$("$CTL" --json dump man0 prv.tree | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
# The engine may ask for the cartridge again for a new job.
wait_for 'job_over "$j" || status_has "\"wants\":\"A00001\""'
if ! job_over "$j"; then
	"$VTAPE" load man --slot 1 --drive 0 2>/dev/null || true
	"$CTL" mounted man0 >/dev/null
fi
wait_job "$j"
"$VTAPE" unload man --drive 0
j=$("$CTL" --json restore prv.tree --to "$T/serve-out" --drive man0 | sed -n 's/.*"job":\([0-9]*\).*/\1/p')
wait_for 'status_has "\"wants\":\"A00001\""'
snap "$EPID" "$T/serve-restore.status"
"$VTAPE" load man --slot 1 --drive 0
"$CTL" mounted man0 >/dev/null
wait_job "$j"
check "serve during a restore job" "$T/serve-restore.status" \
	"$(want 0 0 "$SRV" $((RESTORE & MYPRM)) "$SRV" 0 1)"
check_tree "$T/serve-out"
snap "$EPID" "$T/serve-after.status"
check "serve after its jobs" "$T/serve-after.status" "$(want 0 0 "$SRV" 0 "$SRV" 0 1)"

# --- direct mode as root: dump, restore ------------------------------------
"$VTAPE" new-cartridge cart --barcode D1 --capacity 64M >/dev/null
"$ENGINE" label --device "vtape:$T/cart" --label D00001 >/dev/null
targets "$T/cart"
# A root process without capabilities (as abs-ctld without --user, or an
# abs-engine list, is): its /proc/PID/root must not lead the source around.
setpriv --bounding-set -all sleep 600 &
ANCHOR=$!
PIDS="$PIDS $ANCHOR"
"$ENGINE" dump --device "vtape:$T/cart" --entity prv.cmd --source "cmd:sh $P/probe.sh direct" \
	--log dump.log --quiet &
DPID=$!
wait_for '[ -e "$P/direct.ready" ]'
snap "$DPID" "$P/direct.engine"
[ -e "/proc/$ANCHOR/root$T/cart/cart.conf" ] || fail "the anchor's root does not show the cartridge"
: >"$P/direct.go"
wait "$DPID" || fail "the direct dump of the probe failed"
kill "$ANCHOR" 2>/dev/null || true
check "abs-engine dump during its dump" "$P/direct.engine" \
	"$(want 0 0 $(((DUMP | HIDE) & MYPRM)) $((DUMP & MYPRM)) $(((DUMP | HIDE) & MYPRM)) 0 1)"
check "cmd: source of a dump (the engine's uid)" "$P/direct.self" \
	"$(want 0 0 0 0 $(((DUMP | HIDE) & MYPRM)) 0 1)"
# Root's uid without capabilities could still write root's files: the
# cartridges and tape nodes are hidden from it.
grep -q "$T/cart/" "$P/targets" || fail "no cartridge file listed to try"
! grep -q '^opened' "$P/direct.open" || fail "cmd: source (uid 0) opened the tape: $(cat "$P/direct.open")"
grep -q 'Permission denied' "$P/direct.open" || fail "not EACCES: $(cat "$P/direct.open")"
! grep -q "^null .*$T" "$P/direct.open" || fail "a cartridge file is a device node: $(cat "$P/direct.open")"
grep -q "^/proc/1$" "$P/direct.procs" && ! grep -q "^/proc/$ANCHOR$" "$P/direct.procs" ||
	fail "the source's /proc shows other processes: $(tr '\n' ' ' <"$P/direct.procs")"
ok "cmd: source as the engine's uid 0 cannot open the cartridge ($(grep -c 'Permission denied' "$P/direct.open") refusals) nor a tape node ($(grep -c '^null ' "$P/direct.open") hidden)"
grep -q "$T/cart" "$P/direct.fds" && fail "cmd: source inherited a cartridge fd: $(cat "$P/direct.fds")"
ok "cmd: source has no cartridge fd"
"$ENGINE" dump --device "vtape:$T/cart" --entity prv.tree --source "dir:$tree" --log dump.log --quiet
"$ENGINE" restore --device "vtape:$T/cart" --entity prv.tree --log dump.log --to "$T/direct-out" --quiet
check_tree "$T/direct-out"
# A restore in progress: it blocks on a full pipe nobody reads yet.
mkfifo rfifo
( exec <rfifo; head -c 1 >/dev/null; : >rstarted; until [ -e rgo ]; do sleep 0.1; done; cat >/dev/null ) &
RD=$!
"$ENGINE" restore --device "vtape:$T/cart" --entity prv.cmd --log dump.log --stdout --quiet >rfifo &
RPID=$!
PIDS="$PIDS $RPID $RD"
wait_for '[ -e rstarted ]'
snap "$RPID" "$T/restore.status"
: >rgo
wait "$RPID" || fail "restore --stdout failed"
check "abs-engine restore during its restore" "$T/restore.status" \
	"$(want 0 0 $((RESTORE & MYPRM)) $((RESTORE & MYPRM)) $((RESTORE & MYPRM)) 0 1)"
"$ENGINE" list --device "vtape:$T/cart" >/dev/null

# --- a user's own run: nothing to drop, nothing fails ----------------------
install -d -o "$U" -g "$U" "$T/user"
as_user "$VTAPE" new-cartridge "$T/user/cart" --barcode U1 --capacity 64M >/dev/null
as_user "$ENGINE" label --device "vtape:$T/user/cart" --label U00001 >/dev/null
setpriv --reuid="$UID_U" --regid="$GID_U" --clear-groups "$ENGINE" dump --device "vtape:$T/user/cart" --entity prv.cmd \
	--source "cmd:sh $P/probe.sh user" --log "$T/user/dump.log" --quiet &
UPID=$!
wait_for '[ -e "$P/user.ready" ]'
snap "$UPID" "$P/user.engine"
: >"$P/user.go"
wait "$UPID" || fail "a user's dump of the probe failed"
check "a user's abs-engine dump (bounding set as it was)" "$P/user.engine" \
	"$(want "$UID_U" 0 0 0 "$MYBND" 0 1)"
check "its cmd: source" "$P/user.self" "$(want "$UID_U" 0 0 0 "$MYBND" 0 1)"
as_user "$ENGINE" restore --device "vtape:$T/user/cart" --entity prv.cmd \
	--log "$T/user/dump.log" --stdout --quiet | cmp -s - "$(head -c 3000000 /dev/zero >zeros; echo zeros)" ||
	fail "a user's restore differs"
ok "a user's own dump and restore on their own vtape"
expect_fail "only root can run commands as another user" as_user "$ENGINE" dump \
	--device "vtape:$T/user/cart" --entity x --source "cmd:true" --log "$T/user/dump.log" --cmd-user root
