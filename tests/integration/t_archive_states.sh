# The archiver's states and the next cartridge (docs/QUEUE.md, issue 18):
# its status passes through waiting, running, load-media and unloading as
# they happen, and names the cartridge it is about to load before the load
# begins, so the operator can write the sticker: on a drive the operator
# fills (the label --autolabel will give the blank cartridge asked for)
# and in a library (the label of the slot's barcode). A library whose
# cartridges fill one after another is walked on from the slot of the
# cartridge that filled, never from slot 1 again.
. "$(dirname "$0")/lib.sh"
Q="$ABS_BIN/abs-queue"
export ABS_RUN_DIR="$T"

# wait_for PATTERN FILE: bounded (120 s), not counted in polls.
wait_for() {
	end=$(( $(date +%s) + 120 ))
	until grep -q -- "$1" "$2" 2>/dev/null; do
		[ "$(date +%s)" -lt "$end" ] || { cat "$2" >&2; fail "no '$1' in $2"; }
		sleep 0.1
	done
}
# before FILE A B: the first line matching A comes before the first matching B.
before() {
	a=$(grep -n -m1 -- "$2" "$1" | cut -d: -f1)
	b=$(grep -n -m1 -- "$3" "$1" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] ||
		{ cat "$1" >&2; fail "'$2' (line ${a:-none}) not before '$3' (line ${b:-none})"; }
}

# 1. A drive the operator fills: the archive crosses onto a blank cartridge.
"$VTAPE" new-cartridge ca --barcode OPA --capacity 12M --early-warning 1M >/dev/null
"$VTAPE" new-cartridge cb --barcode OPB --capacity 40M --early-warning 1M >/dev/null
mkdir drv && ln -s ../ca drv/tape
"$ENGINE" label --device vtape:drv --label O00001 >/dev/null
mkdir data
for i in 1 2 3 4 5; do head -c 2000000 /dev/urandom >data/o$i.dat; done
"$Q" add q1 data/o1.dat data/o2.dat data/o3.dat data/o4.dat data/o5.dat
"$ENGINE" archive --device vtape:drv --queue q1 --done d1 --once --verbose \
	--autolabel 'O%05d' --mount-timeout 300 >a1.out 2>a1.err &
pid=$!
PIDS="$PIDS $pid"
wait_for 'MOUNT REQUEST' a1.err
# While it waits for the cartridge: load-media, and the label to write on it.
jq -e '.state == "load-media" and .next == "O00002" and .label == "O00001" and
	(.messages | map(select(test("next cartridge: O00002"))) | length) == 1' \
	q1/.archive-status.json >/dev/null ||
	{ cat q1/.archive-status.json; fail "status while the cartridge is asked for"; }
rm drv/tape && ln -s ../cb drv/tape
"$ENGINE" mounted --device vtape:drv
wait $pid || { cat a1.err a1.out; fail "archive across an operator's mount"; }
grep -q "^archive: 5 archived" a1.out || { cat a1.out; fail "five archived"; }
jq -e 'select(.parts[-1].label == "O00002")' d1/*.json >/dev/null ||
	fail "no file on the blank cartridge labelled O00002"
# The states in the order they happened (--verbose logs each).
before a1.err 'state running' 'next cartridge: O00002'
before a1.err 'next cartridge: O00002' 'state unloading'
before a1.err 'state unloading' 'MOUNT REQUEST'
before a1.err 'MOUNT REQUEST' 'cartridge O00002 loaded'
before a1.err 'labelled blank cartridge in the drive as O00002' 'cartridge O00002 loaded'
sed -n '/cartridge O00002 loaded/,$p' a1.err | grep -q 'state running' ||
	{ cat a1.err; fail "running again on O00002"; }
sed -n '/cartridge O00002 loaded/,$p' a1.err | grep 'state ' | tail -3 |
	tr '\n' ' ' | grep -q 'state unloading.*state waiting.*state stopped' ||
	{ cat a1.err; fail "unloading, waiting, stopped at the end"; }
jq -e '.state == "stopped" and .label == "O00002" and .next == ""' \
	q1/.archive-status.json >/dev/null || { cat q1/.archive-status.json; fail "final status"; }
ok "operator's drive: load-media names O00002 before it is mounted; states in order"

# 2. A library, its drive empty, blank cartridges with barcodes: each
# cartridge is named (by its barcode's label) before it is loaded, and
# after one fills the next slot is loaded, not slot 1 again.
"$VTAPE" new-library lib --slots 5 --drives 1 --capacity 10M --early-warning 1M \
	--barcode-prefix L >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do head -c 1500000 /dev/urandom >data/l$i.dat; done
for i in 1 2 3 4 5 6 7 8 9 10; do "$Q" add q2 data/l$i.dat; done
"$ENGINE" archive --device vtape:lib/drive0 --queue q2 --done d2 --once --verbose \
	>a2.out 2>a2.err || { cat a2.err; fail "archive on the library"; }
grep -q "^archive: 10 archived" a2.out || { cat a2.out a2.err; fail "ten archived"; }
loaded=$(grep -o 'changer loaded [A-Z0-9]* (label [A-Z0-9]*) from slot [0-9]*' a2.err |
	awk '{ print $5 }' | tr -d ')' | tr '\n' ' ')
case $loaded in
"L00001 L00002 L00003 "*) ;;
*) cat a2.err; fail "loads in slot order, each once: $loaded" ;;
esac
for l in $loaded; do
	before a2.err "next cartridge: $l (slot" "changer loaded .*(label $l)"
done
[ "$(grep -c 'changer loaded' a2.err)" = "$(echo $loaded | wc -w)" ] || fail "a load per cartridge"
! grep -q 'refused' a2.err || { cat a2.err; fail "a full cartridge was loaded again"; }
n=$(jq -r '.parts[].label' d2/*.json | sort -u | wc -l)
[ "$n" -ge 3 ] || fail "the archive spans $n cartridges, not 3 or more"
ok "library: $(echo $loaded | wc -w) cartridges, each named before its load, in slot order"

# 3. Once more on the same library: the cartridge in the drive is written
# on; after it fills, the walk goes on from its slot.
for i in 11 12 13 14; do head -c 1500000 /dev/urandom >data/l$i.dat; "$Q" add q2 data/l$i.dat; done
"$ENGINE" archive --device vtape:lib/drive0 --queue q2 --done d2 --once --verbose \
	>a3.out 2>a3.err || { cat a3.err; fail "second archive on the library"; }
grep -q "^archive: 4 archived" a3.out || { cat a3.out a3.err; fail "four archived"; }
! grep -q 'refused' a3.err || { cat a3.err; fail "a full cartridge was loaded again"; }
grep -o 'changer loaded [A-Z0-9]*' a3.err | while read -r _ _ bc; do
	case " $loaded " in *" $bc "*) fail "$bc loaded again" ;; esac
done
ok "a second run goes on from the cartridge in the drive"
