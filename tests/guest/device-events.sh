#!/bin/sh
# Runs inside the Rig B guest (tests/guest/init) for t_device_events: an
# abs-ctld and a media server on the kernel's sg node of tape LUN 1; the
# SCSI device is deleted (sysfs delete) and rescanned, and the media
# server must notice both from the kernel's uevents, report them, and
# refuse to start a job while the node is gone. Results: "ABS-TEST ok|FAIL
# NAME" on the console.
E=/bin/abs-engine
export ABS_RUN_DIR=/tmp/run ABS_CTL_SOCKET=/tmp/ctld.sock
mkdir -p "$ABS_RUN_DIR"
ok() { echo "ABS-TEST ok $*"; }
bad() { echo "ABS-TEST FAIL $*"; }
# Waits are bounded by time (300 s), not by a count of polls: the guest
# runs in software emulation on a machine that may be loaded.
deadline() { echo $(($(date +%s) + 300)); }
before() { [ "$(date +%s)" -lt "$1" ]; }
# wait_grep PATTERN FILE: up to 300 s.
wait_grep() {
	w_end=$(deadline)
	until grep -q "$1" "$2" 2>/dev/null; do
		before "$w_end" || return 1
		sleep 0.1
	done
}

/bin/abs-ctld --socket /tmp/ctld.sock --db /tmp/catalog.db --foreground \
	2>/tmp/ctld.log &
w_end=$(deadline)
while [ ! -S /tmp/ctld.sock ] && before "$w_end"; do sleep 0.1; done
[ -S /tmp/ctld.sock ] || { cat /tmp/ctld.log; bad abs-ctld-start; exit 1; }
/bin/abs-ctl tape-add default U00001 >/dev/null
head -c 100000 /dev/urandom >/tmp/u
/bin/abs-ctl entity-add vol.u "file:/tmp/u" >/dev/null

SGN=$(ls /sys/class/scsi_tape/nst0/device/scsi_generic)
SG=/dev/$SGN
HCTL=$(basename "$(readlink -f /sys/class/scsi_tape/nst0/device)")
HOST=${HCTL%%:*}
echo "ABS-INFO nst0 is $SG, SCSI device $HCTL"
$E serve --control /tmp/ctld.sock --drive g0 --device "sg:$SG" \
	--log /tmp/journal.log 2>/tmp/engine.log &
epid=$!
wait_grep "serving drive g0" /tmp/engine.log || { cat /tmp/engine.log; bad serve; exit 1; }

# The SCSI device goes away: its sg node is removed.
echo 1 >"/sys/class/scsi_device/$HCTL/device/delete"
if wait_grep "device node $SG is gone (kernel: remove" /tmp/engine.log; then
	ok device-gone-noticed
else
	cat /tmp/engine.log
	bad device-gone-noticed
fi
# abs-ctld heard it (engine-event device), or said it takes no such event.
grep "device" /tmp/ctld.log | tail -n 3
# No job starts on it: the job fails at once, saying why.
j=$(/bin/abs-ctl --json dump g0 vol.u | sed -n 's/.*"jobs":\[\([0-9]*\)\].*/\1/p')
w_end=$(deadline)
until /bin/abs-ctl --json jobs | grep -q "\"id\":$j,[^}]*\"state\":\"failed\"" ||
	! before "$w_end"; do sleep 0.1; done
/bin/abs-ctl --json jobs | tr '{' '\n' | grep "\"id\":$j," | head -n 1
if /bin/abs-ctl --json jobs | tr '{' '\n' | grep "\"id\":$j," |
	grep -q "is gone (removed, not added back): no job is started"; then
	ok no-job-on-gone-device
else
	cat /tmp/engine.log
	bad no-job-on-gone-device
fi

# Rescanned: the device and its node come back.
echo "- - -" >"/sys/class/scsi_host/host$HOST/scan"
w_end=$(deadline)
while [ ! -e /sys/class/scsi_tape/nst0 ] && before "$w_end"; do sleep 0.1; done
echo "ABS-INFO after the rescan nst0's sg node is /dev/$(ls /sys/class/scsi_tape/nst0/device/scsi_generic 2>/dev/null)"
if wait_grep "device node $SG is back (kernel: add" /tmp/engine.log; then
	ok device-back-noticed
else
	cat /tmp/engine.log
	bad device-back-noticed
fi
kill $epid
grep "device node" /tmp/engine.log
exit 0
