# Bash completion (contrib/bash-completion/abs-ctl and abs-engine), sourced
# in bash and asked as bash asks (COMP_WORDS, COMP_CWORD, COMPREPLY)
# against a real abs-ctld and a media server: commands from the request
# table, options of a command, entity, tape, drive, pool and type names
# from the daemon, files where a path goes; with the daemon unreachable,
# quietly nothing. abs-engine's commands and options follow its --help.
. "$(dirname "$0")/lib.sh"
TOP=${ABS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
CTLD="$ABS_BIN/abs-ctld"
CTL="$ABS_BIN/abs-ctl"
command -v bash >/dev/null || skip "bash is needed"
export ABS_CTL_SOCKET="$T/ctld.sock" ABS_RUN_DIR="$T"

"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground 2>"$T/ctld.log" &
PIDS="$PIDS $!"
w_end=$(deadline)
until [ -S "$T/ctld.sock" ]; do before "$w_end" || fail "abs-ctld did not start"; sleep 0.1; done
"$VTAPE" new-library lib --slots 2 --drives 1 --capacity 16M >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive d0 --device "vtape:$T/lib/drive0" \
	2>"$T/engine.log" &
PIDS="$PIDS $!"
w_end=$(deadline)
until "$CTL" --json status | grep -q '"drive":"d0"'; do
	before "$w_end" || fail "d0 did not register"; sleep 0.1
done
"$CTL" pool-add vault >/dev/null
"$CTL" tape-add vault V00001 V00002 >/dev/null
"$CTL" tape-add default A00001 >/dev/null
"$CTL" type-add home --full 7 --incr 1 >/dev/null
"$CTL" entity-add home.ann "dir:$T" --type home >/dev/null
"$CTL" entity-add home.bob "dir:$T" >/dev/null
"$CTL" entity-add vol.x "dir:$T" >/dev/null
mkdir files && : >files/restore.list && : >files/report.html

# comp SCRIPT WORDS...: what bash completes for the last word (the line
# up to the cursor), one a line, sorted.
comp() {
	script=$1
	shift
	PATH="$ABS_BIN:$PATH" bash -c '
		. "$1"; shift
		fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' sh "$TOP/contrib/bash-completion/$script" "$@" |
		sed '/^$/d' | LC_ALL=C sort
}
# expect WANT SCRIPT WORDS...: the completion is exactly WANT (words).
expect() {
	want=$(printf '%s\n' $1 | sed '/^$/d' | LC_ALL=C sort)
	shift
	got=$(comp "$@")
	[ "$got" = "$want" ] || fail "$* -> [$(echo $got)], not [$(echo $want)]"
	ok "$* -> $(echo $got)"
}
# has WORD SCRIPT WORDS...: the completion offers WORD.
has() {
	w=$1
	shift
	comp "$@" | grep -qx -- "$w" || fail "$*: no $w in [$(comp "$@" | tr '\n' ' ')]"
}

expect "status" abs-ctl abs-ctl stat
expect "tape-add tape-state" abs-ctl abs-ctl tape-
expect "home.ann home.bob" abs-ctl abs-ctl restore home
expect "home.ann home.bob vol.x" abs-ctl abs-ctl --json entity ""
expect "d0" abs-ctl abs-ctl restore home.ann --drive ""
expect "d0" abs-ctl abs-ctl mounted ""
expect "V00001 V00002" abs-ctl abs-ctl tape-state V
expect "out-of-service" abs-ctl abs-ctl tape-state V00001 out
expect "default vault" abs-ctl abs-ctl tapes --pool ""
expect "home.ann home.bob vol.x" abs-ctl abs-ctl dump d0 home.ann ""
expect "d0" abs-ctl abs-ctl dump ""
expect "home" abs-ctl abs-ctl entity-type home.ann h
expect "--date --drive" abs-ctl abs-ctl restore home.ann --d
has "--json" abs-ctl abs-ctl restore home.ann --
has "--level-only" abs-ctl abs-ctl restore home.ann --
expect "files/report.html" abs-ctl abs-ctl report --html files/rep
# Shadows: the entity, the place (a path), the drive.
expect "shadow-add shadow-promote shadow-refresh shadow-remove shadows" abs-ctl abs-ctl shadow
expect "home.ann home.bob" abs-ctl abs-ctl shadow-add home
for o in --to --every --drive; do has "$o" abs-ctl abs-ctl shadow-add home.ann --; done
expect "files/report.html files/restore.list" abs-ctl abs-ctl shadow-add home.ann --to files/
expect "d0" abs-ctl abs-ctl shadow-refresh home.ann --drive ""
expect "home.ann home.bob" abs-ctl abs-ctl shadow-promote home
expect "files/restore.list" abs-ctl abs-ctl merge files/res
# Archive jobs: the archive's name, the directories (paths), the drive.
mkdir aq && "$CTL" archive-add arch1 --queue "$T/aq" --done "$T/adone" --drive d0 >/dev/null
expect "archive-add archive-find archive-list archive-remove archive-start archive-stop" abs-ctl abs-ctl archive
expect "arch1" abs-ctl abs-ctl archive-stop ""
expect "arch1" abs-ctl abs-ctl archive-find x --archive a
expect "files/report.html files/restore.list" abs-ctl abs-ctl archive-add a2 --queue files/
expect "d0" abs-ctl abs-ctl archive-add a2 --drive ""
for o in --queue --done --drive --commit-every --commit-secs --no-verify; do has "$o" abs-ctl abs-ctl archive-add a2 --; done
"$CTL" archive-stop arch1 >/dev/null
expect "" abs-ctl abs-ctl status ""
expect "" abs-ctl abs-ctl pool-add ""
# The daemon's names through the --socket the line names.
expect "home.ann home.bob" abs-ctl abs-ctl --socket "$T/ctld.sock" restore home
# Names are data (hostile15 H1): a name holding $(...), backquotes or
# $VAR completes to itself, quoted, and runs nothing.
"$CTL" entity-add 'q$(touch${IFS}'"$T"'/PWNED)' "dir:$T" >/dev/null
"$CTL" entity-add 'q`touch${IFS}'"$T"'/PWNED2`' "dir:$T" >/dev/null
"$CTL" entity-add 'q$HOME' "dir:$T" >/dev/null
want=$(bash -c 'for n in "$@"; do printf "%q\n" "$n"; done' sh 'q$(touch${IFS}'"$T"'/PWNED)' \
	'q`touch${IFS}'"$T"'/PWNED2`' 'q$HOME' | LC_ALL=C sort)
for script in abs-ctl abs-engine; do
	if [ $script = abs-ctl ]; then
		got=$(comp abs-ctl abs-ctl restore q)
	else
		got=$(comp abs-engine abs-engine restore --entity q)
	fi
	[ ! -e "$T/PWNED" ] && [ ! -e "$T/PWNED2" ] || fail "$script completion ran a command from an entity name"
	[ "$got" = "$want" ] || fail "$script: names with \$ and backquotes -> [$got], not [$want]"
done
ok "names with \$(...), backquotes and \$VAR complete quoted and run nothing"
ok "abs-ctl: commands, options, entity, tape, drive, pool and type names"

# Unreachable: nothing, nothing said, no waiting for a timeout.
start=$(date +%s)
out=$(ABS_CTL_SOCKET="$T/none.sock" comp abs-ctl abs-ctl restore "" 2>&1)
[ -z "$out" ] || fail "unreachable abs-ctld: completion said [$out]"
out=$(comp abs-ctl abs-ctl --socket "$T/none.sock" mounted "" 2>&1)
[ -z "$out" ] || fail "unreachable abs-ctld (--socket): completion said [$out]"
# commands need no daemon
ABS_CTL_SOCKET="$T/none.sock" comp abs-ctl abs-ctl resto | grep -qx restore ||
	fail "commands without a daemon"
[ $(($(date +%s) - start)) -lt 20 ] || fail "completion waited on an unreachable daemon"
ok "abs-ctld unreachable: quietly nothing (commands still complete)"

# abs-engine: commands and options from its --help, values by kind.
expect "dump" abs-engine abs-engine du
has "restore" abs-engine abs-engine ""
has "changer" abs-engine abs-engine ""
expect "--compress --compress-threads" abs-engine abs-engine dump --comp
has "--level-only" abs-engine abs-engine restore --device vtape:x --
has "--autolabel" abs-engine abs-engine dump --
comp abs-engine abs-engine label -- | grep -qx -- --autolabel && fail "label offers dump's --autolabel"
expect "inventory info" abs-engine abs-engine changer --device vtape:x in
expect "dir: cmd: file:" abs-engine abs-engine dump --source ""
expect "xxh128 sha256" abs-engine abs-engine dump --digest ""
expect "home.ann home.bob" abs-engine abs-engine restore --entity home
expect "V00001 V00002" abs-engine abs-engine label --label V
expect "vtape:$T/lib" abs-engine abs-engine dump --device "vtape:$T/li"
expect "" abs-engine abs-engine dump --level ""
ok "abs-engine: commands, options per command, devices, sources, names"

# make install puts them where bash-completion looks (what make would run).
make -n -s -C "$TOP" install PREFIX=/usr/x DESTDIR="$T/root" BUILD="$ABS_BUILD" >install.txt 2>&1 ||
	{ cat install.txt >&2; fail "make -n install"; }
for f in abs-ctl abs-engine; do
	grep -q "contrib/bash-completion/$f" install.txt &&
		grep -q "$T/root/usr/x/share/bash-completion/completions/" install.txt ||
		{ cat install.txt >&2; fail "make install does not install the completion of $f"; }
done
ok "make install puts them in PREFIX/share/bash-completion/completions"
