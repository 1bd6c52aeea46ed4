# A library drive as the engine sees it. Direct mode: --changer URI
# [--drive-element N] on every command that opens the drive, through the
# changer API; a drive element the changer lacks, one whose identifier is
# not the device's serial, or a serial no drive has, is refused, never
# guessed (a path that names no library is the operator's). The barcode is the sticker label: a
# blank cartridge is labelled with its barcode less the LTO media suffix
# (not from --autolabel), a cartridge whose tape says otherwise is refused
# with both names and never written, and cleaning cartridges (CLN, or
# --clean-prefix) are never loaded, written or labelled. Then a media
# server on that drive under a real abs-ctld: its serial offered at
# registration, a wrong-sticker cartridge the catalog chose refused
# (mount-rejected: wrong-tape, both names) and another one taken, and the
# drive's TapeAlert flags reported after the job.
. "$(dirname "$0")/lib.sh"
export ABS_RUN_DIR="$T"

# A library whose cartridges carry LTO-6 barcodes, one of them a cleaning
# cartridge: slot 1 blank, 2 cleaning, 3 labelled WRONG03 (its tape says
# another name than its sticker), 4 and 5 blank.
mklib() {
	"$VTAPE" new-library "$1" --slots 5 --drives 2 --capacity 8M \
		--early-warning 1M --barcode-prefix Q >/dev/null
	for x in 1:A00001L6 2:"${2:-CLN001L1}" 3:A00003L6 4:A00004L6 5:A00005L6; do
		s=${x%%:*} b=${x#*:}
		rm -rf "$1/carts/Q0000$s"
		"$VTAPE" new-cartridge "$1/carts/$b" --barcode "$b" --capacity 8M \
			--early-warning 1M >/dev/null
		ln -sfn "carts/$b" "$1/slot$s"
	done
	"$ENGINE" label --device "vtape:$1/carts/A00003L6" --label WRONG03 >/dev/null
	"$VTAPE" check "$1" >/dev/null || fail "$1 does not check clean"
}
# sum CART: what the cartridge holds (its files), to prove it unwritten.
sum() { (cd "$1" && ls -l; cat ./file* 2>/dev/null) | md5sum; }

mklib lib
ln -s lib/drive1 tapedev	# drive 1, by a path that names no library
P="vtape:$T/tapedev"
D="vtape:$T/lib/drive1"
head -c 12000000 /dev/urandom >s.bin
clean_before=$(sum lib/carts/CLN001L1)
wrong_before=$(sum lib/carts/A00003L6)

# The path alone: no library, the operator would be asked.
expect_fail "no cartridge in the drive" "$ENGINE" dump --device "$P" --entity e0 \
	--source "file:$T/s.bin" --log x.log --mount-timeout 1
# A drive element the changer does not have; --drive-element alone.
expect_fail "has no drive 7" "$ENGINE" dump --device "$D" --changer "vtape:$T/lib" \
	--drive-element 7 --entity e0 --source "file:$T/s.bin" --log x.log
expect_fail "give --changer too" "$ENGINE" dump --device "$D" --drive-element 1 \
	--entity e0 --source "file:$T/s.bin" --log x.log
expect_fail "changer vtape:$T/nolib" "$ENGINE" dump --device "$D" \
	--changer "vtape:$T/nolib" --drive-element 0 --entity e0 \
	--source "file:$T/s.bin" --log x.log
! grep -q '^part ' x.log 2>/dev/null || fail "a refused configuration wrote a part"
ok "the drive's element is checked in the changer before anything moves"

# Without --drive-element the drive is the one whose identifier (DVCID)
# is the device's serial; a changer without identifiers, or none that
# matches, is refused and says to give --drive-element: never a guess.
"$ENGINE" status --device "vtape:$T/lib/drive1" --changer "vtape:$T/lib" \
	--verbose >guess.out 2>&1 || true
grep -q "vtape:$T/lib/drive1 is drive 1 of changer" guess.out ||
	{ cat guess.out; fail "drive 1 not found by its serial"; }
expect_fail "is no drive of changer vtape:$T/lib (drives: 0=.*D0, 1=.*D1): say which with --drive-element N" \
	"$ENGINE" status --device "$P" --changer "vtape:$T/lib"
# --drive-element against the drive's own serial (hostile14 K1): where both
# say who the drive is they must agree.
expect_fail "drive-element 0 names drive .*D0 of changer vtape:$T/lib, but $D is .*D1: it is drive 1" \
	"$ENGINE" dump --device "$D" --changer "vtape:$T/lib" --drive-element 0 \
	--entity e0 --source "file:$T/s.bin" --log x.log
expect_fail "drive-element 1 names drive .*D1 of changer vtape:$T/lib, but $P is VTAPE0" \
	"$ENGINE" dump --device "$P" --changer "vtape:$T/lib" --drive-element 1 \
	--entity e0 --source "file:$T/s.bin" --log x.log
! grep -q '^part ' x.log 2>/dev/null || fail "a refused drive element wrote a part"
ok "the drive found by its serial among the changer's identifiers; a serial none has, or an element that is another drive, refused"

# A dump through the changer: slot 1 is labelled A00001 from its barcode
# (--autolabel names no library cartridge), the cleaning cartridge is
# never loaded, WRONG03 is refused with both names, the dump goes on A00004.
"$ENGINE" dump --device "$D" --changer "vtape:$T/lib" --drive-element 1 \
	--entity e1 --source "file:$T/s.bin" --log d.log --block-size 64K \
	--autolabel 'X%05d' --verbose >e1.out 2>e1.err || { cat e1.err; fail "dump e1"; }
grep -q '^part entity=e1 .*label=A00001 .*part=1 ' d.log ||
	{ cat d.log e1.err; fail "the blank cartridge A00001L6 was not labelled A00001"; }
! grep -q 'label=X0' d.log || fail "--autolabel named a library cartridge"
[ "$(grep -c '^part entity=e1 ' d.log)" -ge 2 ] || fail "e1 did not span cartridges"
grep -q 'wrong-tape: the cartridge of barcode A00003L6 holds tape WRONG03' e1.err ||
	{ cat e1.err; fail "WRONG03 not refused with both names"; }
grep -q '^part entity=e1 .*label=A00004 ' d.log || { cat d.log; fail "e1 did not go on to A00004"; }
! grep -q 'label=WRONG03\|label=CLN' d.log || fail "a refused cartridge got a part"
[ "$clean_before" = "$(sum lib/carts/CLN001L1)" ] || fail "the cleaning cartridge was written"
[ "$wrong_before" = "$(sum lib/carts/A00003L6)" ] || fail "the wrong-sticker cartridge was written"
! grep -q 'CLN001L1' e1.err || { cat e1.err; fail "the cleaning cartridge was loaded"; }
"$VTAPE" list lib | grep -q '^slot2 *CLN001L1' || fail "the cleaning cartridge left its slot"
ok "dump through --changer: labelled from barcodes, CLN never loaded, WRONG03 refused and unwritten"

# Restore through the changer: the cartridges are fetched by their barcodes.
"$VTAPE" unload lib --drive 1 2>/dev/null || true
"$ENGINE" restore --device "$D" --changer "vtape:$T/lib" --drive-element 1 \
	--entity e1 --log d.log --stdout 2>r1.err | cmp - s.bin ||
	{ cat r1.err; fail "restore of e1 through the changer differs"; }
ok "restore through --changer fetches the cartridges by barcode"
"$VTAPE" check lib >/dev/null || fail "lib does not check clean"

# abs-engine label on a library drive: never a cleaning cartridge; a label
# its sticker does not give is warned of (a changer will refuse it).
"$VTAPE" unload lib --drive 1 2>/dev/null || true
"$VTAPE" load lib --slot 2 --drive 0
expect_fail "the drive holds cleaning cartridge CLN001L1: never labelled" \
	"$ENGINE" label --device "vtape:$T/lib/drive0" --label CLN001
"$VTAPE" unload lib --drive 0
[ "$clean_before" = "$(sum lib/carts/CLN001L1)" ] || fail "the cleaning cartridge was labelled"
"$VTAPE" load lib --slot 5 --drive 0
"$ENGINE" label --device "vtape:$T/lib/drive0" --label OTHER5 >/dev/null 2>l5.err ||
	{ cat l5.err; fail "label OTHER5"; }
grep -q "barcode is A00005L6: a changer refuses it labelled OTHER5 (its label is its barcode: A00005)" l5.err ||
	{ cat l5.err; fail "no warning of a label the sticker does not give"; }
"$VTAPE" unload lib --drive 0
ok "abs-engine label: a cleaning cartridge refused, a label against the sticker warned of"

# --clean-prefix: another prefix's cartridges are the cleaning ones.
mklib lib2 CLX001L1
clx_before=$(sum lib2/carts/CLX001L1)
"$ENGINE" dump --device "vtape:$T/lib2/drive0" --changer "vtape:$T/lib2" \
	--drive-element 0 --clean-prefix CLX --entity e2 --source "file:$T/s.bin" \
	--log d2.log --block-size 64K >e2.out 2>e2.err || { cat e2.err; fail "dump e2"; }
[ "$clx_before" = "$(sum lib2/carts/CLX001L1)" ] || fail "the CLX cleaning cartridge was written"
! grep -q 'label=CLX' d2.log || fail "a CLX cartridge got a part"
expect_fail "cleaning prefix" "$ENGINE" dump --device "vtape:$T/lib2/drive0" \
	--changer "vtape:$T/lib2" --drive-element 0 --clean-prefix 'C X' --entity e3 \
	--source "file:$T/s.bin" --log d3.log
ok "--clean-prefix CLX: CLX001L1 never written"

# ---- a media server on that drive, under a real abs-ctld ----
mklib lib3
wrong3=$(sum lib3/carts/A00003L6)
CTLD="$ABS_BIN/abs-ctld" CTL="$ABS_BIN/abs-ctl"
export ABS_CTL_SOCKET="$T/ctld.sock"
"$CTLD" --socket "$T/ctld.sock" --db "$T/catalog.db" --foreground \
	--exception-cmd "cat >>$T/exceptions.txt" 2>"$T/ctld.log" &
CPID=$!
PIDS="$PIDS $CPID"
wait_for_sock() { w_end=$(deadline); until [ -S "$T/ctld.sock" ]; do before "$w_end" || fail "no socket"; sleep 0.1; done; }
wait_for_sock
# The catalog's tapes are the stickers' labels; it asks for A00003 first.
"$CTL" tape-add default A00003 A00004 >/dev/null
head -c 3000000 s.bin >small.bin
"$CTL" entity-add vol.e4 "file:$T/small.bin" >/dev/null
# TapeAlert 20 (clean now) on the cartridge the job ends on.
"$VTAPE" inject lib3/carts/A00004L6 --tapealert 20 >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive d3 --device "vtape:$T/lib3/drive0" \
	--changer "vtape:$T/lib3" --drive-element 0 --log "$T/journal-d3.log" \
	--block-size 64K 2>"$T/engine-d3.log" &
E3=$!
PIDS="$PIDS $E3"
poll() {
	w_end=$(deadline)
	until eval "$1"; do
		before "$w_end" || { tail -n 25 "$T"/engine-*.log "$T"/ctld*.log >&2; fail "timed out: $1"; }
		sleep 0.1
	done
}
poll '"$CTL" --json status | grep -q "\"drive\":\"d3\",[^}]*\"state\":\"idle\""'
kill -0 "$E3" || { cat engine-d3.log; fail "the media server died"; }
ok "media server registered"

j=$("$CTL" --json dump d3 vol.e4 | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
[ -n "$j" ] || fail "no dump job"
jstate() { "$CTL" --json jobs | tr '{' '\n' | grep "\"id\":$1," | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
poll 'case $(jstate $j) in done|failed|aborted) true;; *) false;; esac'
[ "$(jstate "$j")" = done ] || { cat engine-d3.log; fail "job $j: $(jstate "$j")"; }
grep -q 'wrong-tape: the cartridge of barcode A00003L6 holds tape WRONG03' engine-d3.log ||
	{ cat engine-d3.log; fail "the media server did not refuse WRONG03"; }
grep -q 'cartridge refused: wrong-tape: .*A00003L6.*WRONG03' ctld.log ||
	{ cat ctld.log; fail "abs-ctld did not hear mount-rejected with both names"; }
"$CTL" --json errors --label A00003 | grep -q '"kind":"unavailable"' ||
	fail "A00003 not recorded unavailable"
[ "$wrong3" = "$(sum lib3/carts/A00003L6)" ] || fail "WRONG03 was written under abs-ctld"
"$CTL" tapes | grep -q '^A00004 ' || fail "A00004 not in the catalog"
ok "under abs-ctld: WRONG03 refused (mount-rejected, both names), the dump on A00004"
poll 'grep -q "TapeAlert flags 0x0000000000080000 (cartridge A00004)" engine-d3.log'
ok "TapeAlert flag 20 read after the job and reported"

# A media server whose device node is gone starts no job on it: the job
# fails at once, saying so (the node here is a stand-in file; the kernel's
# uevents for a real one are t_device_events, in the QEMU guest).
: >fakesg
"$CTL" entity-add vol.g "file:$T/small.bin" >/dev/null
"$ENGINE" serve --control "$T/ctld.sock" --drive g0 --device "sg:$T/fakesg" \
	--log "$T/journal-g0.log" 2>"$T/engine-g0.log" &
EG=$!
PIDS="$PIDS $EG"
poll '"$CTL" --json status | grep -q "\"drive\":\"g0\",[^}]*\"state\":\"idle\""'
rm fakesg
j=$("$CTL" --json dump g0 vol.g | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
poll 'case $(jstate $j) in done|failed|aborted) true;; *) false;; esac'
"$CTL" --json jobs | tr '{' '\n' | grep "\"id\":$j," |
	grep -q "device node $T/fakesg of drive g0 is gone (removed, not added back): no job is started" ||
	{ "$CTL" --json jobs; cat engine-g0.log; fail "a job was started on a gone node, or not said why"; }
grep -q "device node $T/fakesg is gone" engine-g0.log || fail "the media server did not say the node is gone"
: >fakesg
"$CTL" dump g0 vol.g >/dev/null
poll 'grep -q "device node $T/fakesg is back" engine-g0.log'
ok "no job on a gone device node; gone and back reported"

# ---- a library abs-ctld's robot works: the media server moves nothing ----
# Attached by the serial the media server reported; every cartridge comes
# through mount-request and the robot's mounted (with its barcode); the
# drive is unloaded on the robot's request; WRONG03 refused, never
# written; the cleaning cartridge never offered; TapeAlert 20 makes
# abs-ctld clean the drive, the media server unloading the cleaning
# cartridge when asked.
mklib libr
wrongr=$(sum libr/carts/A00003L6)
cleanr=$(sum libr/carts/CLN001L1)
export ABS_CTL_SOCKET="$T/ctld2.sock"
mkdir c2
"$CTLD" --socket "$T/ctld2.sock" --db "$T/c2/catalog.db" --foreground \
	--changer-cmd "$ENGINE changer" 2>"$T/ctld2.log" &
PIDS="$PIDS $!"
w_end=$(deadline); until "$CTL" status >/dev/null 2>&1; do before "$w_end" || fail "no abs-ctld 2"; sleep 0.1; done
"$CTL" tape-add default A00001 A00003 A00004 A00005 >/dev/null
"$CTL" library-add libr --changer "vtape:$T/libr" >/dev/null || fail "library-add"
"$CTL" entity-add vol.r "file:$T/s.bin" >/dev/null
"$ENGINE" serve --control "$T/ctld2.sock" --drive r0 --device "vtape:$T/libr/drive0" \
	--log "$T/journal-r0.log" --block-size 64K --verbose 2>"$T/engine-r0.log" &
PIDS="$PIDS $!"
poll '"$CTL" --json status | grep -q "\"drive\":\"r0\",[^}]*\"state\":\"idle\""'
# library-add's first inventory runs on its own: the drive's serial is in
# it only once it is done (a media server can register first).
poll '"$CTL" --json libraries | grep -q "\"last_inventory\":\""'
"$CTL" library-drive libr r0 >attach.txt || { cat attach.txt ctld2.log; fail "library-drive by serial"; }
poll 'grep -q "drive r0 is drive 0 of library libr" engine-r0.log'
ok "attached by the serial it registered with; told so while registered"

jr=$("$CTL" --json dump r0 vol.r | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
poll 'case $(jstate $jr) in done|failed|aborted) true;; *) false;; esac'
[ "$(jstate "$jr")" = done ] || { cat engine-r0.log; tail -n 30 ctld2.log; fail "job $jr: $(jstate "$jr")"; }
! grep -q "changer loaded\|the library's changer chooses" engine-r0.log ||
	{ cat engine-r0.log; fail "the media server moved a cartridge itself"; }
[ "$(grep -c '^part entity=vol.r ' journal-r0.log)" -ge 2 ] || fail "vol.r did not span cartridges"
grep -q "unloaded for abs-ctld's robot" engine-r0.log ||
	{ cat engine-r0.log; fail "the drive was never unloaded on the robot's request"; }
[ "$wrongr" = "$(sum libr/carts/A00003L6)" ] || fail "WRONG03 was written"
[ "$cleanr" = "$(sum libr/carts/CLN001L1)" ] || fail "the cleaning cartridge was written"
! grep -q 'label=WRONG03\|label=CLN' journal-r0.log || fail "a refused cartridge got a part"
if grep -q "wrong-tape: the cartridge of barcode A00003L6" engine-r0.log; then
	"$CTL" --json errors | grep -q '"kind":"wrong-tape"' || fail "wrong-tape not recorded"
	ok "A00003 was offered: refused (wrong-tape), marked, another taken"
fi
ok "a dump across cartridges the robot changed, the drive unloaded when asked"

# The drive asks for cleaning (TapeAlert 20) at the restore's end.
for c in libr/carts/A0000*; do "$VTAPE" inject "$c" --tapealert 20 >/dev/null; done
jr=$("$CTL" --json restore vol.r --to "$T/r.out" --drive r0 | sed -n 's/.*"jobs*":\[*\([0-9]*\).*/\1/p')
[ -n "$jr" ] || fail "no restore job"
poll 'case $(jstate $jr) in done|failed|aborted) true;; *) false;; esac'
[ "$(jstate "$jr")" = done ] || { cat engine-r0.log; tail -n 30 ctld2.log; fail "restore job $jr: $(jstate "$jr")"; }
cmp -s r.out s.bin || fail "the restore through the robot differs"
! grep -q "changer loaded" engine-r0.log || fail "the media server moved a cartridge itself"
ok "restore: the robot fetched the cartridges"
poll 'grep -q "drive r0 cleaned with CLN001L1" ctld2.log'
[ "$cleanr" = "$(sum libr/carts/CLN001L1)" ] || fail "the cleaning cartridge was written"
[ "$(grep -c "unloaded for abs-ctld's robot" engine-r0.log)" -ge 2 ] ||
	fail "the cleaning cartridge was not unloaded by the media server"
"$VTAPE" list libr | grep -q '^slot2 *CLN001L1' || fail "the cleaning cartridge is not back in slot 2"
ok "TapeAlert 20 after the restore: abs-ctld cleaned the drive, the media server unloaded CLN001L1 when asked"

# A cartridge whose tape is not what the catalog says (written in the
# catalog, blank on tape: swapped behind its back) is refused once and
# the catalog picks another; never asked for again in a tight loop
# (hostile14 K7).
w=$(sed -n 's/^part .*label=\(A0000[0-9]\) .*/\1/p' journal-r0.log | tail -n 1)
[ -n "$w" ] || fail "no written cartridge"
blank=$(for b in A00004 A00005; do grep -q "label=$b " journal-r0.log || { echo $b; break; }; done)
[ -n "$blank" ] || skip "no blank cartridge left to swap"
"$VTAPE" list libr | grep -q "^drive" && "$VTAPE" unload libr --drive 0 2>/dev/null || true
mkdir swap && mv libr/carts/${w}L6/file* swap/ 2>/dev/null || true
"$CTL" entity-add vol.k7 "file:$T/small.bin" >/dev/null
jk=$("$CTL" --json dump r0 vol.k7 | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
poll 'case $(jstate $jk) in done|failed|aborted) true;; *) false;; esac'
n=$(grep -c "cartridge refused: the cartridge is blank, but the catalog has $w" ctld2.log || true)
[ "$n" -le 2 ] || fail "$w refused $n times (a loop)"
ok "$w, blank behind the catalog's back: refused $n time(s), job $jk $(jstate "$jk")"
