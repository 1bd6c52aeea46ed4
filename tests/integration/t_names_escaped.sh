# File names from a dumped tree reach the operator's terminal escaped
# (hostile15 H4): a name with an OSC title sequence, BEL, a colour CSI and
# an 8-bit CSI (U+009B) is printed as \xNN in the dump's warning (a socket
# left out), the restore's refusal and error messages, and the restore's
# marker file; the file itself is restored under its exact name.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || skip "no python3 (to make a socket)"

BAD=$(printf 's\033]2;PWNED\007\033[31mRED\302\233x')
ESC='s\\x1b]2;PWNED\\x07\\x1b\[31mRED\\xc2\\x9bx'
# raw FILE: FILE holds a control byte (newlines and tabs aside) or a C1.
raw() { tr -d '\n\t' <"$1" | LC_ALL=C grep -q '[[:cntrl:]]' ||
	LC_ALL=C grep -q "$(printf '\302\233')" "$1"; }

mkdir src
printf 'data\n' >"src/$BAD.txt"
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "src/$BAD.sock"
"$VTAPE" new-cartridge c --barcode N00001 --capacity 64M >/dev/null
"$ENGINE" label --device "vtape:$T/c" --label N00001 >/dev/null
"$ENGINE" dump --device "vtape:$T/c" --entity n --source "dir:$T/src" --log d.log \
	>out.txt 2>err.txt || { cat err.txt; fail "dump"; }
grep -q "$ESC.sock" err.txt || { cat -v err.txt; fail "the socket's warning does not name it escaped"; }
! raw err.txt || { cat -v err.txt; fail "the dump printed a control byte"; }
ok "dump: the socket left out is named escaped"

"$ENGINE" restore --device "vtape:$T/c" --entity n --log d.log --to "$T/r" >out.txt 2>err.txt ||
	{ cat err.txt; fail "restore"; }
[ "$(cat "r/$BAD.txt")" = data ] || fail "the file is not restored under its own name"
! raw err.txt && ! raw out.txt || { cat -v err.txt out.txt; fail "restore printed a control byte"; }
ok "restore: the file keeps its exact name"

# A crafted archive: an entry with such a name outside the target (refused),
# then a damaged block: the refusal, the error and the marker escape it.
mkdir w && printf 'x\n' >"w/$BAD"
tar -cf a.tar -C w . --transform "s|^\./|../|"
head -c 3000000 /dev/urandom >w/big
tar -rf a.tar -C w big
"$ENGINE" dump --device "vtape:$T/c" --entity a --source "cmd:cat $T/a.tar" --log d.log \
	--block-size 262144 >/dev/null 2>&1 || fail "dump of the crafted archive"
set +e
"$ENGINE" restore --device "vtape:$T/c" --entity a --log d.log --extract --to "$T/ra" \
	>out.txt 2>err.txt
set -e
grep -q "refused: \.\./$ESC" err.txt || { cat -v err.txt; fail "the refusal does not name it escaped"; }
! raw err.txt || { cat -v err.txt; fail "the refusal printed a control byte"; }
grep -q "^REFUSED \.\./$ESC" ra/.abs-restore-INCOMPLETE ||
	{ cat -v ra/.abs-restore-INCOMPLETE; fail "the marker does not list it escaped"; }
! raw ra/.abs-restore-INCOMPLETE || { cat -v ra/.abs-restore-INCOMPLETE; fail "the marker holds a control byte"; }
ok "restore of a crafted archive: the refused name escaped in messages and marker"
