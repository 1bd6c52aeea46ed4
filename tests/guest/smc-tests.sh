#!/bin/sh
# Runs inside the Rig B guest (tests/guest/init, abs.target= the host's
# tgt library): the medium changer through the kernel's sg driver. The
# engine's smc:sg: inventory is compared with Debian's mtx (an independent
# client) before and after moves each of them makes; refusals come back
# with their sense; a cartridge the robot loaded is labelled through st.
# Results: "ABS-TEST ok|FAIL NAME ...", listings as "ABS-OUT NAME line".
E=/bin/abs-engine
export ABS_RUN_DIR=/tmp/run
mkdir -p "$ABS_RUN_DIR"
ok() { echo "ABS-TEST ok $*"; }
bad() { echo "ABS-TEST FAIL $*"; }
out() { sed "s/^/ABS-OUT $1 /" "$2"; }

# The changer's sg node: the SCSI device of type 8 (it may come a moment
# after the tape drives).
# (bounded by time: the guest is emulated, on a machine that may be loaded)
SG=
w_end=$(($(date +%s) + 300))
while [ -z "$SG" ] && [ "$(date +%s)" -lt $w_end ]; do
	for t in /sys/class/scsi_generic/sg*/device/type; do
		[ -f "$t" ] && [ "$(cat "$t")" = 8 ] &&
			SG=/dev/$(basename "$(dirname "$(dirname "$t")")")
	done
	[ -n "$SG" ] || sleep 0.1
done
if [ -z "$SG" ]; then
	bad smc-sg-node "no SCSI device of type 8:" \
		"$(cat /sys/class/scsi_generic/sg*/device/type 2>/dev/null | tr '\n' ' ')"
	exit 1
fi
echo "ABS-GUEST changer $SG"
C=smc:sg:$SG

# One line per element, "slot1 TG0001L6" or "drive0 empty", sorted, from
# the engine's table and from mtx status (both number slots from 1 and drives
# from 0 in the changer's address order).
engine_canon() {
	$E changer --device "$C" inventory >/tmp/e.txt || return 1
	awk '$1 == "slot" || $1 == "drive" {
		print $1 $2, ($4 == "full" ? $5 : "empty") }' /tmp/e.txt | sort >"$1"
}
mtx_canon() {
	mtx -f "$SG" status >/tmp/m.txt || return 1
	awk '/^Data Transfer Element/ {
		n = $4; sub(":.*", "", n)
		bc = "empty"
		if ($0 ~ /:Full/) { bc = $0; sub(/.*VolumeTag = */, "", bc); sub(/ *$/, "", bc)
			if (bc == $0) bc = "?" }
		print "drive" n, bc }
	/^ *Storage Element/ && !/IMPORT/ {
		n = $3; sub(":.*", "", n)
		bc = "empty"
		if ($0 ~ /:Full/) { bc = $0; sub(/.*VolumeTag=/, "", bc); sub(/ *$/, "", bc)
			if (bc == $0) bc = "?" }
		print "slot" n, bc }' /tmp/m.txt | sort >"$1"
}
# compare NAME: the engine and mtx agree now.
compare() {
	if engine_canon /tmp/ec && mtx_canon /tmp/mc && [ -s /tmp/ec ] &&
		cmp -s /tmp/ec /tmp/mc; then
		ok "smc-mtx-agree-$1" "$(wc -l </tmp/ec) elements"
	else
		out "$1-engine" /tmp/e.txt
		out "$1-mtx" /tmp/m.txt
		bad "smc-mtx-agree-$1"
	fi
}

if $E changer --device "$C" info >/tmp/info.txt && $E changer --device "$C" \
	--json inventory >/tmp/inv.json; then
	out info /tmp/info.txt
	out json /tmp/inv.json
	ok smc-sg-inventory
else
	out info /tmp/info.txt
	bad smc-sg-inventory
fi
compare start

# The engine moves; mtx sees it.
if $E changer --device "$C" load 2 0 && $E changer --device "$C" move slot:1 slot:7
then ok smc-sg-moves; else bad smc-sg-moves; fi
compare after-engine-moves

# mtx moves; the engine sees it.
if mtx -f "$SG" load 3 1 >/tmp/mtx.out 2>&1 && mtx -f "$SG" transfer 4 8 >>/tmp/mtx.out 2>&1
then ok mtx-moves; else out mtx /tmp/mtx.out; bad mtx-moves; fi
compare after-mtx-moves
$E changer --device "$C" --json inventory >/tmp/inv.json
if grep -q '"type":"drive","num":1,"addr":17,"full":true,"barcode":"TG0003L6"' \
	/tmp/inv.json && grep -q '"type":"drive","num":1,[^}]*"source":3' /tmp/inv.json
then ok smc-sg-source; else out json /tmp/inv.json; bad smc-sg-source; fi

# Refusals through the kernel: source empty, destination full.
$E changer --device "$C" --json load 1 1 >/tmp/r.json
rc=$?
if [ $rc = 1 ] && grep -q '"sense":"3B/0E"' /tmp/r.json; then
	ok smc-sg-refused-source-empty
else
	out r /tmp/r.json
	bad smc-sg-refused-source-empty "rc=$rc"
fi
$E changer --device "$C" --json load 5 0 >/tmp/r.json
rc=$?
if [ $rc = 1 ] && grep -q '"sense":"3B/0D"' /tmp/r.json; then
	ok smc-sg-refused-dest-full
else
	out r /tmp/r.json
	bad smc-sg-refused-dest-full "rc=$rc"
fi

# A second engine waits for the changer (one user at a time), then runs.
$E changer --device "$C" inventory >/tmp/a.txt 2>&1 &
a=$!
$E changer --device "$C" inventory >/tmp/b.txt 2>&1
rb=$?
wait $a
ra=$?
if [ $ra = 0 ] && [ $rb = 0 ]; then ok smc-sg-two-users
else out a /tmp/a.txt; out b /tmp/b.txt; bad smc-sg-two-users "rc=$ra,$rb"; fi

# The cartridge the robot put in drive 0 is the tape behind its st node.
ST=
for d in /sys/class/scsi_tape/nst*; do
	[ -e "$d" ] || continue
	case $(basename "$d") in *[!0-9]) continue ;; esac	# nst0a, nst0l ...
	# The drive LUN 1 is drive element 0 in the host's tgt library.
	lun=$(basename "$(readlink -f "$d/device")" | awk -F: '{ print $4 }')
	[ "$lun" = 1 ] && ST=/dev/$(basename "$d")
done
if [ -n "$ST" ] && $E label --device "st:$ST" --label TG0002 --pool k \
	>/tmp/l.txt 2>&1 && $E list --device "st:$ST" >>/tmp/l.txt 2>&1 &&
	grep -q TG0002 /tmp/l.txt; then
	ok smc-sg-drive-tape "$ST"
else
	out label /tmp/l.txt
	bad smc-sg-drive-tape "st node of LUN 1: ${ST:-none}"
fi
# Unloaded by the engine through the changer; mtx agrees at the end.
if $E changer --device "$C" unload 0 && $E changer --device "$C" unload 1
then ok smc-sg-unload; else bad smc-sg-unload; fi
compare end
