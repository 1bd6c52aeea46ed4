#!/bin/sh
# Runs inside the Rig B guest (tests/guest/init). tgtd on the host gives
# three tape LUNs: 1 (/dev/nst0) for st:, 2 (/dev/nst1) for sg:, 3
# (/dev/nst2, small) for a spanning dump whose second cartridge the host
# swaps in when asked on the console. Results go to the console as
# "ABS-TEST ok|FAIL NAME ...", raw sense as "ABS-SENSE NAME hex...".
E=/bin/abs-engine
export ABS_RUN_DIR=/tmp/run
mkdir -p "$ABS_RUN_DIR"
ok() { echo "ABS-TEST ok $*"; }
bad() { echo "ABS-TEST FAIL $*"; }
sg_of() { ls "/sys/class/scsi_tape/$1/device/scsi_generic"; }
must() { "$@" || { echo "ABS-STEP failed: $*"; return 1; }; }

# Raw sense from the kernel path, for tests/data/sense.
sense() {
	name=$1
	shift
	sg_raw -v -o /tmp/sense.data "$@" >/tmp/sense.out 2>&1
	hex=$(sed -n '/Raw sense data/,/^ *$/p' /tmp/sense.out | grep -v 'Raw sense' |
		tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	echo "ABS-SENSE $name $hex"
}

SG1=/dev/$(sg_of nst0)
SG2=/dev/$(sg_of nst1)
sense unit-attention-login "$SG1" 00 00 00 00 00 00
sense blank-check-eod "$SG1" -r 65536 08 00 01 00 00 00

# st: label, a tree and a command dump, list, restore, verify.
ST=st:/dev/nst0
head -c 3000000 /dev/urandom >/tmp/x
mkdir -p /tmp/tree && cp -a /lib/modules /bin/abs-engine /tmp/tree/ &&
	ln -s abs-engine /tmp/tree/link
if must $E label --device $ST --label K00001 --pool k &&
	must $E dump --device $ST --entity tree --source dir:/tmp/tree --log /tmp/d.log \
		--block-size 256K &&
	must $E dump --device $ST --entity x --source "cmd:cat /tmp/x" --log /tmp/d.log \
		--compress zstd &&
	must $E list --device $ST >/tmp/list.txt && cat /tmp/list.txt &&
	must [ "$(grep -c '^[0-9]* *part ' /tmp/list.txt)" = 2 ] &&
	$E restore --device $ST --entity x --log /tmp/d.log --stdout >/tmp/x.out &&
	must cmp /tmp/x.out /tmp/x &&
	mkdir /tmp/out &&
	must $E restore --device $ST --entity tree --log /tmp/d.log --to /tmp/out &&
	must diff -r /tmp/tree /tmp/out/ &&
	must $E verify --device $ST; then
	ok st-label-dump-restore-verify
else
	bad st-label-dump-restore-verify
fi
mt-st -f /dev/nst0 rewind
# Reading the label's file with exact length, then over its filemark.
sg_raw -r 4096 "$SG1" 08 00 00 10 00 00 >/dev/null 2>&1
sense read-over-filemark "$SG1" -r 4096 08 00 00 10 00 00
mt-st -f /dev/nst0 rewind

# sg: the asynchronous data path (writes queued through io_uring).
SG=sg:$SG2
# 8 MB: 16 blocks of 512 KiB, twice the 8 writes in flight; each MB is
# read again at four depths below, in software emulation (the most time
# of any test; 20 MB took t_kernel 190 s plain, 380 s under ASan).
head -c 8000000 /dev/urandom >/tmp/y
if $E label --device $SG --label K00002 --pool k &&
	$E dump --device $SG --entity y --source "file:/tmp/y" --log /tmp/d.log \
		--queue 8 --block-size 512K 2>/tmp/sg.err &&
	$E restore --device $SG --entity y --log /tmp/d.log --stdout | cmp - /tmp/y &&
	$E verify --device $SG &&
	$E status --device $SG --json >/tmp/status.json &&
	grep -q '"vendor"' /tmp/status.json; then
	ok sg-queued-dump-restore-verify
else
	cat /tmp/sg.err
	bad sg-queued-dump-restore-verify
fi

# Restores that stream (issue 15): queued reads on both kernel paths. A
# dump after y on the sg drive, x and tree on st: each restore, at depths
# from 1 to 16, must stop at its own part's filemark and read its bytes.
head -c 5000000 /dev/urandom >/tmp/w
queued_reads() {
	must $E dump --device $SG --entity w --source "file:/tmp/w" --log /tmp/d.log \
		--block-size 256K || return 1
	for q in 1 2 8 16; do
		must $E restore --device $SG --entity y --log /tmp/d.log --stdout \
			--queue $q >/tmp/q.out && must cmp /tmp/q.out /tmp/y || return 1
		must $E restore --device $SG --entity w --log /tmp/d.log --stdout \
			--queue $q >/tmp/q.out && must cmp /tmp/q.out /tmp/w || return 1
		must $E restore --device $ST --entity x --log /tmp/d.log --stdout \
			--queue $q >/tmp/q.out && must cmp /tmp/q.out /tmp/x || return 1
	done
	must $E verify --device $SG --queue 16 && must $E verify --device $ST --queue 4
}
if queued_reads; then
	ok read-queue-kernel
else
	bad read-queue-kernel
fi

# One engine per drive (issue 11): while a dump holds st:/dev/nst0, the same
# drive's sg node and its rewinding st node are refused, naming the holder.
mkfifo /tmp/hold.fifo
exec 3<>/tmp/hold.fifo
$E dump --device $ST --entity held --source "cmd:cat /tmp/hold.fifo" --log /tmp/h.log \
	2>/tmp/held.err 3>&- &
hpid=$!
w_end=$(($(date +%s) + 300))	# bounded by time: the guest is emulated
until grep -qs "pid=$hpid " "$ABS_RUN_DIR"/abs-lock.scsi-* || [ "$(date +%s)" -ge $w_end ]; do
	sleep 0.1
done
$E status --device "sg:$SG1" >/tmp/busy1.out 2>&1
r1=$?
$E list --device st:/dev/st0 >/tmp/busy2.out 2>&1
r2=$?
cat /tmp/x >&3
exec 3>&-
wait $hpid
rh=$?
cat /tmp/busy1.out /tmp/busy2.out
if [ $r1 != 0 ] && [ $r2 != 0 ] && [ $rh = 0 ] &&
	grep -q "is in use by pid $hpid (opened as $ST)" /tmp/busy1.out &&
	grep -q "is in use by pid $hpid (opened as $ST)" /tmp/busy2.out; then
	ok sg-st-one-engine-per-drive
else
	cat /tmp/held.err
	bad sg-st-one-engine-per-drive "r1=$r1 r2=$r2 rh=$rh"
fi

# Least privilege (README, "Privileges"): the engine above ran as root
# with nothing of root's but CAP_SYS_RAWIO on st: and nothing at all on
# sg:. A user who may open the nodes but has no capability: on sg: (a
# read-write fd) every tape command passes; on st: the commands the
# engine sends through SG_IO that the kernel does not list as safe (READ
# POSITION, ...) are refused.
echo 'abstest:x:4321:4321::/tmp:/bin/sh' >>/etc/passwd
echo 'abstest:x:4321:' >>/etc/group
chmod 755 /	# the initramfs's root came from mktemp -d (0700)
m_sg=$(stat -c %a "$SG2") m_st=$(stat -c %a /dev/nst0)
chmod 666 "$SG2" /dev/nst0
mkdir -p /tmp/abstest && chown 4321:4321 /tmp/abstest	# its lock files
su -s /bin/sh abstest -c "ABS_RUN_DIR=/tmp/abstest $E list --device $SG" >/tmp/norawio.out 2>&1
rc=$?
echo "ABS-INFO sg: without capabilities: rc=$rc $(tail -n 1 /tmp/norawio.out)"
if [ $rc = 0 ] && grep -q trailer /tmp/norawio.out; then
	ok sg-without-capabilities
else
	bad sg-without-capabilities "rc=$rc"
fi
su -s /bin/sh abstest -c "ABS_RUN_DIR=/tmp/abstest $E list --device $ST" >/tmp/norawio.out 2>&1
rc=$?
echo "ABS-INFO st: without capabilities: rc=$rc $(tail -n 1 /tmp/norawio.out)"
if [ $rc != 0 ] && grep -q 'not permitted' /tmp/norawio.out; then
	ok st-without-rawio-refused
else
	bad st-without-rawio-refused "rc=$rc"
fi
chmod "$m_sg" "$SG2"
chmod "$m_st" /dev/nst0

# with_swaps LOG CMD...: run CMD; when it asks for a cartridge, have the
# host swap LUN 3's image and tell CMD it is mounted. Sets rc and asked.
with_swaps() {
	log=$1
	shift
	"$@" 2>"$log" &
	pid=$!
	asked=0
	while kill -0 $pid 2>/dev/null; do
		if [ $asked = 0 ] && grep -q "MOUNT REQUEST" "$log"; then
			asked=1
			echo "ABS-SWAP 3"
			read -r answer
			echo "ABS-GUEST host says: $answer"
			$E mounted --device $ST3
		fi
		sleep 0.5
	done
	wait $pid
	rc=$?
	cat "$log"
}

# st: one dump across two cartridges; the host swaps LUN 3 when asked.
ST3=st:/dev/nst2
head -c 12000000 /dev/urandom >/tmp/z
$E label --device $ST3 --label S00001 --pool span >/dev/null || bad span-label
with_swaps /tmp/span.err $E dump --device $ST3 --entity z --source "cmd:cat /tmp/z" \
	--log /tmp/s.log --autolabel 'S%05d' --mount-timeout 600
if [ $rc = 0 ] && [ $asked = 1 ] &&
	[ "$(grep -c '^part ' /tmp/s.log)" = 2 ]; then
	ok st-span-dump
else
	bad st-span-dump "rc=$rc asked=$asked"
fi
cat /tmp/s.log
echo "ABS-SWAP 3 back"
read -r answer
# The first cartridge is back in the drive: restore asks for the second.
with_swaps /tmp/rs.err $E restore --device $ST3 --entity z --log /tmp/s.log \
	--to /tmp/z.out --mount-timeout 600
if [ $rc = 0 ] && cmp /tmp/z /tmp/z.out; then
	ok st-span-restore
else
	bad st-span-restore "rc=$rc asked=$asked"
fi
