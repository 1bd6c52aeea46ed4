# What a first-time user of direct mode trips over (issue 16): label
# --slot loads a library cartridge; an empty library drive says how; list
# shows each part's bytes; the dump line counts its blocks; restore --to
# makes a missing directory and refuses a non-empty one without --force;
# restore without --log finds a dump on any cartridge of the library;
# --path takes the path as the user knows it.
. "$(dirname "$0")/lib.sh"

"$VTAPE" new-library lib --slots 3 --drives 1 --capacity 256M \
	--barcode-prefix FU >/dev/null
D=vtape:lib/drive0

# An empty drive: the refusal names --slot.
expect_fail "no cartridge in the drive: load one with --slot N" \
	"$ENGINE" label --device $D --label FU00001
expect_fail "has no slot 9" "$ENGINE" label --device $D --label X --slot 9
expect_fail "is in no library" "$ENGINE" label --device null: --label X --slot 1

"$ENGINE" label --device $D --label FU00001 --slot 1 >/dev/null 2>&1 ||
	fail "label --slot 1"
"$VTAPE" list lib | grep -q "^drive0 *FU00001" || fail "slot 1 not in the drive"

mkdir -p src/a/b other
echo one >src/a/b/f
# A socket in the tree (ssh, gpg-agent) is left out, as tar does.
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('src/a/sock')" ||
	fail "no socket made"
head -c 300000 /dev/urandom >src/big
echo two >other/g
"$ENGINE" dump --device $D --entity first --source "dir:$T/src" --log d.log \
	>dump.out 2>&1 || { cat dump.out; fail "dump first (with a socket)"; }
grep -q "a/sock: socket ignored" dump.out || fail "the socket was not named"

# The dump line counts its blocks as its part lines do.
pb=$(sed -n 's/^part entity=first .* blocks=\([0-9]*\) .*/\1/p' d.log)
db=$(sed -n 's/^dump entity=first .* blocks=\([0-9]*\) .*/\1/p' d.log)
[ -n "$pb" ] && [ "$pb" -gt 0 ] && [ "$db" = "$pb" ] ||
	fail "dump line blocks=$db, part lines $pb"
ok "the dump line says blocks=$db"

# list: the part row has its bytes and blocks.
bytes=$(sed -n 's/^part entity=first .* bytes=\([0-9]*\) .*/\1/p' d.log)
"$ENGINE" list --device $D >list.txt
awk -v b="$bytes" -v n="$pb" '$2 == "part" && $7 == b && $8 == n { f = 1 }
	END { exit !f }' list.txt || { cat list.txt; fail "list part row lacks bytes"; }
ok "list's part row: $bytes bytes in $pb blocks"

# label --slot 2 puts slot 1's cartridge back first.
"$ENGINE" label --device $D --label FU00002 --slot 2 >/dev/null 2>&1 ||
	fail "label --slot 2 over a full drive"
"$VTAPE" list lib | grep -q "^slot1 *FU00001" || fail "FU00001 not back in slot 1"
"$ENGINE" dump --device $D --entity second --source "dir:$T/other" --log d.log \
	>/dev/null 2>&1 || fail "dump second"
ok "label --slot N loads the slot, the drive's cartridge back first"

# Without --log: the library's cartridges are read; first is on FU00001,
# which is not in the drive.
"$ENGINE" restore --device $D --entity first --to "$T/r/new/deep" >out.txt 2>&1 ||
	{ cat out.txt; fail "restore without --log from another cartridge"; }
cmp src/a/b/f r/new/deep/a/b/f && cmp src/big r/new/deep/big ||
	fail "restored tree differs"
ok "restore without --log found the dump on another cartridge; --to made r/new/deep"
expect_fail "no complete dump of nosuch in the headers of every cartridge" \
	"$ENGINE" restore --device $D --entity nosuch --to "$T/r2"

# A non-empty target: refused, untouched; --force restores over it.
mkdir keep && echo mine >keep/mine
expect_fail "keep is not empty (1 entry, e.g. mine).*--force" \
	"$ENGINE" restore --device $D --entity second --log d.log --to "$T/keep"
[ ! -e keep/g ] && [ ! -e keep/.abs-restore-INCOMPLETE ] ||
	fail "a refused restore wrote into keep"
"$ENGINE" restore --device $D --entity second --log d.log --to "$T/keep" \
	--force >/dev/null 2>&1 || fail "restore --force"
cmp other/g keep/g && cmp keep/mine - <<EOF || fail "--force restore"
mine
EOF
ok "--force restores over a non-empty target"

# --path as the user knows it: relative, ./, or the source's absolute path.
for p in a/b/f ./a/b/f "$T/src/a/b/f" "a//b/f" "$T/src//a/b/f"; do
	rm -rf p
	"$ENGINE" restore --device $D --entity first --log d.log --to "$T/p" \
		--path "$p" >/dev/null 2>&1 || fail "--path $p"
	cmp src/a/b/f p/a/b/f || fail "--path $p restored the wrong thing"
done
ok "--path a/b/f, ./a/b/f and $T/src/a/b/f are the same entry"
expect_fail "not a path inside the dump (to restore it whole, leave --path out)" \
	"$ENGINE" restore --device $D --entity first --log d.log --to "$T/p2" --path ""
expect_fail "not a path inside the dump (to restore it whole" \
	"$ENGINE" restore --device $D --entity first --log d.log --to "$T/p2" --path /

