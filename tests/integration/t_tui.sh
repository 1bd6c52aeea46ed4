# The full-screen console (abs-ctl tui, docs/TUI.md) under tmux, 80x24,
# against a real abs-ctld with two media servers: lib0 on a vtape library
# drive (the engine loads what the catalog names; the library is known to
# abs-ctld, so its inventory says where cartridges are) and man0 whose
# cartridges an operator changes by hand. Through the console's keys only:
# the drives screen shows a mount request of man0 and answers it
# (mounted) and the dump completes; an entity is found by search, one of
# its dumps restored to a path on a drive (the confirmation names the tape
# and where it is) and the job watched to done, the trees compared; the
# report, tapes and errors screens, a resize; a user with the retrieval
# role alone (another uid) is not offered the operator's actions (mounted,
# abort, tape states) and is refused them, but reaches the restore form;
# unavailable answered from the console shows in the errors per week;
# SIGTERM, and abs-ctld killed under a running console: each exits saying
# why and the terminal is given back (the shell prompt, echo and canonical
# mode, no alternate screen, the cursor shown).
# No timing thresholds: every wait is for a screen's contents or a state,
# and its bound (ABS_TUI_WAIT seconds, 300) only ends a test that hangs.
# ABS_TUI_SHOTS=DIR keeps the screens (docs/TUI.md's).
. "$(dirname "$0")/lib.sh"
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
export ABS_RUN_DIR="$T" ABS_CTL_SOCKET="$T/ctld.sock"
command -v tmux >/dev/null 2>&1 || skip "tmux is needed (tools/deps.sh installs it)"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is needed to look into the catalog"
chmod 755 "$T"

# Our own tmux server, its socket in the test's directory (removed with
# it, not left in /tmp/tmux-UID), killed at the end.
tm() { tmux -S "$T/tmux.sock" -f /dev/null "$@"; }
cleanup_tui() {
	tm kill-server 2>/dev/null || true
	cleanup
}
trap cleanup_tui EXIT

WAIT=${ABS_TUI_WAIT:-300}
until_ok() {
	end=$(($(date +%s) + WAIT))
	until eval "$1"; do
		[ "$(date +%s)" -lt $end ] || fail "timed out ($WAIT s): $1"
		sleep 0.1
	done
}
screen() { tm capture-pane -p -t "$1"; }
# wait_screen WINDOW PATTERN: until the window shows PATTERN (grep -E).
wait_screen() {
	end=$(($(date +%s) + WAIT))
	until screen "$1" | grep -Eq -- "$2"; do
		[ "$(date +%s)" -lt $end ] || { screen "$1" >&2; fail "the screen of $1 never showed '$2' ($WAIT s)"; }
		sleep 0.1
	done
}
keys() { w=$1; shift; tm send-keys -t "$w" "$@"; }
# shot WINDOW NAME: ABS_TUI_SHOTS=DIR keeps the screen (docs/TUI.md's).
shot() { [ -z "${ABS_TUI_SHOTS:-}" ] || screen "$1" >"$ABS_TUI_SHOTS/$2.txt"; }
job_state() { "$CTL" --json jobs --count 100 | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
until_ok '[ -S "$T/ctld.sock" ]'
chmod 666 "$T/ctld.sock"	# the retrieval user's console
"$CTL" pool-add manual >/dev/null
"$CTL" tape-add default K00001 K00002 K00003 >/dev/null
"$CTL" tape-add manual B00001 >/dev/null
"$CTL" acl-set 65534 retrieval >/dev/null

"$VTAPE" new-library lib --slots 3 --drives 1 --capacity 64M --barcode-prefix K >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive lib0 --device "vtape:$T/lib/drive0" \
	--log "$T/journal-lib0.log" 2>"$T/engine-lib0.log" &
PIDS="$PIDS $!"
# man0: a library drive reached through a path the engine does not take
# for a library, so that an operator is asked for each cartridge.
"$VTAPE" new-library man --slots 2 --drives 1 --capacity 64M --barcode-prefix B >/dev/null
"$VTAPE" unload man --drive 0 >/dev/null 2>&1 || true
ln -s man/drive0 manual
"$ENGINE" serve --control "$T/ctld.sock" --drive man0 --device "vtape:$T/manual" \
	--log "$T/journal-man0.log" 2>"$T/engine-man0.log" &
PIDS="$PIDS $!"
until_ok '[ "$("$CTL" status | grep -c " idle ")" = 2 ]'

mkdir -p src/sub
echo one >src/a.txt
head -c 300000 /dev/urandom >src/sub/b.bin
echo kept >src/keep.txt
"$CTL" entity-add home "dir:$T/src" >/dev/null
"$CTL" entity-add other "dir:$T/src" --pool manual >/dev/null
j=$("$CTL" --json dump lib0 home | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
until_ok 'case $(job_state $j) in done|failed|aborted) true;; *) false;; esac'
[ "$(job_state "$j")" = done ] || { tail engine-lib0.log >&2; fail "dump of home: $(job_state "$j")"; }
# The library known to abs-ctld after the dump: its inventory says where
# K00001 is (no drive attached: lib0's media server loads its own).
"$CTL" library-add lib --changer "vtape:$T/lib" >/dev/null
until_ok '"$CTL" --json tapes-where | grep -q "\"where\":\"drive 0 of lib"'
ok "set up: two media servers, home dumped on lib0"

# The console of root (admin), in an 80x24 terminal.
tm new-session -d -x 80 -y 24 -s op "env PS1='prompt\$ ' sh"
PIDS="$PIDS $(tm display -p -t op '#{pid}')"
keys op "$CTL tui; echo TUI-EXIT=\$?" Enter
wait_screen op "ABS console: menu"
wait_screen op "uid 0: .*admin"
shot op menu
keys op 1
wait_screen op "^lib0 +idle"
wait_screen op "^man0 +idle"
keys op '?'
wait_screen op "mounted: the cartridge asked for"
shot op help
keys op q
wait_screen op "^DRIVE +STATE"
ok "the drives screen: both drives idle; ? shows its keys"

# A mount request: other's pool is on man0's cartridges only.
j=$("$CTL" --json dump man0 other | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_screen op "MOUNT REQUEST: B00001 for man0"
shot op drives-mount
"$VTAPE" load man --slot 1 --drive 0 >/dev/null
# Select man0 (the drives by name: the second) and answer.
keys op Home Down
keys op m
wait_screen op "told abs-ctld: B00001 is in man0"
until_ok 'case $(job_state $j) in done|failed|aborted) true;; *) false;; esac'
[ "$(job_state "$j")" = done ] || { tail engine-man0.log >&2; fail "dump of other: $(job_state "$j")"; }
wait_screen op "^ *$j dump +done +other"
"$VTAPE" unload man --drive 0 >/dev/null	# the next dump asks again
ok "a mount request stood out and was answered from the console; the dump ended done"

# A dump in progress: bytes, rate, ETA and a progress bar against the
# entity's last dump (16 MiB). The engine reports progress as blocks (1 MiB)
# come, at most once a second: the source gives a block, then one more at
# a time more than a second apart until the test has seen the progress on
# screen (at most 12 MiB, short of the estimate, so an ETA remains), then
# trickles less than a block until GO. However fast or loaded the machine,
# a report comes within two blocks of the engine's starting to copy them.
cat >gen.sh <<EOS
#!/bin/sh
blk() { head -c 1048576 /dev/urandom; }
if [ -e "$T/SLOW" ]; then
	blk
	n=1
	while [ ! -e "$T/SEEN" ] && [ \$n -lt 12 ]; do sleep 1.1; blk; n=\$((n + 1)); done
	while [ ! -e "$T/GO" ]; do head -c 1000 /dev/urandom; sleep 0.2; done
	blk
else
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do blk; done
fi
EOS
chmod +x gen.sh
"$CTL" entity-add slow "cmd:$T/gen.sh" >/dev/null
j=$("$CTL" --json dump lib0 slow | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
until_ok 'case $(job_state $j) in done|failed|aborted) true;; *) false;; esac'
: >SLOW
j=$("$CTL" --json dump lib0 slow | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
wait_screen op "^lib0 +writing +$j slow +[0-9.]+ MB +[0-9.]+ [kM]B/s +[0-9]+:[0-9]+"
: >SEEN
wait_screen op "^ +\[#+-*\] +[0-9]+%"
shot op drives-progress
: >GO
wait_screen op "^ *$j dump +done +slow"
ok "a dump in progress: bytes, rate, ETA and its progress bar; then done"

# The other screens answer at 80x24, and after a resize.
keys op q 5
wait_screen op "ABS console: nightly report"
wait_screen op "night 20[0-9-]+ +\[: the night before"
shot op report
keys op q 3
wait_screen op "^K00001 +default .* drive 0 of lib"
wait_screen op "^B00001 +manual"
shot op tapes
keys op q 4
wait_screen op "ABS console: errors per week"
tm resize-window -t op -x 100 -y 30
wait_screen op "DRIVES"
[ "$(screen op | wc -l)" = 30 ] || fail "not redrawn at 100x30"
tm resize-window -t op -x 30 -y 6
wait_screen op "too small"
tm resize-window -t op -x 80 -y 24
wait_screen op "DRIVES"
keys op q
wait_screen op "1  Drives and jobs"
ok "report, tapes and errors screens; a resize redrawn"

# An entity found by search, its dump restored to a path: the
# confirmation names the tape, the job is watched to its end.
keys op 2
wait_screen op "ABS console: entities"
keys op /
keys op -l home
keys op Enter
wait_screen op "filter: home"
wait_screen op "chain [0-9a-f]+: 1 dump to 20[-0-9T:]+Z, restorable"
wait_screen op "^home +default +- +- +20[0-9]{2}-[0-9]{2}-[0-9]{2} +- +ok"
shot op entities
keys op Enter
wait_screen op "dumps of home, newest first"
wait_screen op "^  20[0-9-]+T[0-9:]+Z +0 +complete .* yes"
shot op dumps
keys op Home Enter
wait_screen op "Restore home as of 20"
keys op Home Down Enter
wait_screen op "to the path \(absolute"
keys op -l "$T/r1"
keys op Enter
wait_screen op "to the path +$T/r1"
keys op Down Down Enter
wait_screen op "on the drive \(empty"
keys op -l lib0
keys op Enter
wait_screen op "on the drive +lib0"
shot op restore-form
keys op End Enter
wait_screen op "Tapes it asks for, in order:"
screen op | grep -Eq "K00001 +drive 0 of lib" || { screen op >&2; fail "the confirmation does not say K00001 is in drive 0 of lib"; }
shot op restore-confirm
screen op | grep -q "It reads 1 dump:" || { screen op >&2; fail "the confirmation does not say what it reads"; }
keys op y
wait_screen op "restore job [0-9]+ of home queued"
wait_screen op "ABS console: drives and jobs"
wait_screen op "^ +[0-9]+ restore +done +home"
shot op drives-restored
diff -r src r1 >/dev/null || { diff -r src r1 >&2; fail "the restored tree differs"; }
ok "entity found by search; a dump restored to a path, the tape named first, the job watched to done; the trees match"
keys op q
wait_screen op "dumps of home"
keys op q q
wait_screen op "1  Drives and jobs"

# A retrieval user: no operator actions offered, and refused if tried.
"$CTL" --json dump man0 other >/dev/null	# waits for a cartridge again
until_ok '"$CTL" --json status | grep -q "\"wants\":\"B00001\""'
tm new-session -d -x 80 -y 24 -s ret "env PS1='prompt\$ ' sh"
keys ret "setpriv --reuid=65534 --regid=65534 --clear-groups $CTL tui; echo TUI-EXIT=\$?" Enter
wait_screen ret "uid 65534: retrieval"
wait_screen ret "operator's: mount answers"
keys ret 1
wait_screen ret "^man0"
screen ret | grep -q "m: mounted" && fail "the retrieval user is offered mounted"
keys ret Home Down m
wait_screen ret "not allowed: mounted needs operator"
keys ret a
wait_screen ret "not allowed: abort needs operator"
keys ret q 3
wait_screen ret "^K00001 "
keys ret s
wait_screen ret "not allowed: tape-state needs operator"
keys ret q 2 Enter
wait_screen ret "dumps of home"
keys ret Enter
wait_screen ret "Restore home as of"
shot ret retrieval-restore
"$CTL" --json status | grep -q '"wants":"' || fail "a retrieval user's key answered the mount request"
keys ret Q
wait_screen ret "TUI-EXIT=0"
ok "a retrieval user is not offered mounted, abort or tape states, and is refused them"

# The operator says B00001 cannot be found: an error event, in the
# errors screen's week.
keys op 1
wait_screen op "MOUNT REQUEST: B00001 for man0"
keys op Home Down u
wait_screen op "Cartridge B00001 cannot be found"
keys op y
wait_screen op "told abs-ctld: B00001 is unavailable"
keys op q 4
wait_screen op "^  B00001 +.*#"
wait_screen op "^  man0 +.*#"
shot op errors
keys op q
ok "unavailable answered from the console; the errors screen shows the week's error of man0 and B00001"

# A console stopped by a signal gives the terminal back too.
tm new-session -d -x 80 -y 24 -s sig "env PS1='prompt\$ ' sh"
keys sig "sh -c 'echo \$\$ >$T/tui.pid; exec $CTL tui'; echo TUI-EXIT=\$?" Enter
wait_screen sig "ABS console: menu"
kill -TERM "$(cat "$T/tui.pid")"
wait_screen sig "TUI-EXIT=143"
screen sig | grep -q "abs-ctl tui: stopped by signal 15" || { screen sig >&2; fail "no message after SIGTERM"; }
[ "$(tm display -p -t sig '#{alternate_on}')" = 0 ] || fail "SIGTERM: still on the alternate screen"
ok "SIGTERM: the console exits 143 saying so, the terminal back"

# abs-ctld dies under a running console: a clear message, the terminal back.
keys op 1
wait_screen op "^DRIVE +STATE"
kill "$CPID"
wait "$CPID" 2>/dev/null || true
wait_screen op "TUI-EXIT=3"
screen op | grep -q "abs-ctl tui: lost abs-ctld" || { screen op >&2; fail "no message after abs-ctld died"; }
[ "$(tm display -p -t op '#{alternate_on}')" = 0 ] || fail "still on the alternate screen"
[ "$(tm display -p -t op '#{cursor_flag}')" = 1 ] || fail "the cursor is still hidden"
keys op "stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo | tr '\n' ' '; echo STTY" Enter
wait_screen op "icanon echo STTY|echo icanon STTY"
screen op | grep -q '^prompt\$' || fail "no shell prompt after the console"
shot op daemon-gone
ok "abs-ctld killed: the console exits 3 saying so; prompt, echo, canonical mode, cursor back"
