# Sourced after lib.sh: a private tgtd on 127.0.0.1 with its own control
# and iSCSI ports, tape LUNs backed by tgtimg images in $T. Torn down by PID.
command -v tgtd >/dev/null && command -v tgtadm >/dev/null && command -v tgtimg >/dev/null ||
	skip "tgt is not installed (make deps installs it)"
TGT_IQN=iqn.2026-01.test.abs:tape
TGT_PID=""
tgtadm_() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }
# A control number and an iSCSI port that no tgtd here answers on or
# listens on (tests run side by side; a number from the PID alone can be
# another test's).
tgt_pick() {
	n=0
	while :; do
		TGT_CTL=$(( 100 + ($$ + n * 131) % 800 ))
		TGT_PORT=$(( 20000 + ($$ + n * 7919) % 20000 ))
		n=$((n + 1))
		[ $n -le 50 ] || break
		tgtadm_ --mode target --op show >/dev/null 2>&1 && continue
		command -v ss >/dev/null 2>&1 &&
			[ -n "$(ss -Htln "sport = :$TGT_PORT" 2>/dev/null)" ] && continue
		break
	done
}
tgt_pick

# tgt_start: start tgtd and target 1, tuned for large PDUs.
tgt_start() {
	tgtd -f -C "$TGT_CTL" --iscsi portal=127.0.0.1:"$TGT_PORT" >"$T/tgtd.log" 2>&1 &
	TGT_PID=$!
	PIDS="$PIDS $TGT_PID"
	w_end=$(deadline)
	until tgtadm_ --mode target --op show >/dev/null 2>&1; do
		before "$w_end" || { cat "$T/tgtd.log" >&2; fail "tgtd did not start"; }
		kill -0 "$TGT_PID" 2>/dev/null || { cat "$T/tgtd.log" >&2; fail "tgtd died"; }
		sleep 0.1
	done
	tgtadm_ --mode target --op new --tid 1 --targetname "$TGT_IQN"
	tgt_params tuned
	tgtadm_ --mode target --op bind --tid 1 --initiator-address ALL
}

# tgt_params tuned|default: iSCSI session parameters for new logins.
tgt_params() {
	if [ "$1" = tuned ]; then
		set -- MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144 \
			FirstBurstLength=262144 MaxBurstLength=1048576 InitialR2T=No
	else
		set -- MaxRecvDataSegmentLength=8192 MaxXmitDataSegmentLength=8192 \
			FirstBurstLength=65536 MaxBurstLength=262144 InitialR2T=Yes
	fi
	for kv in "$@"; do
		tgtadm_ --mode target --op update --tid 1 --name "${kv%%=*}" --value "${kv#*=}"
	done
}

# tgt_tape LUN IMAGE MIB: a new tape image of MIB MiB as LUN.
tgt_tape() {
	[ -f "$2" ] || tgtimg --op new --device-type tape --barcode "T$1" --size "$3" \
		--type data --file "$2" >/dev/null
	tgtadm_ --mode logicalunit --op new --tid 1 --lun "$1" --bstype ssc \
		--device-type tape --backing-store "$2"
}

# tgt_swap LUN IMAGE: the operator puts another cartridge in the drive.
tgt_swap() {
	tgtadm_ --mode logicalunit --op delete --tid 1 --lun "$1"
	tgtadm_ --mode logicalunit --op new --tid 1 --lun "$1" --bstype ssc \
		--device-type tape --backing-store "$2"
}

# ---- a tape library: tgt's medium changer (SMC) and its drives ----
# Target 2, TGT_LIB_IQN: tape LUNs 1..DRIVES (empty at start), the changer
# at LUN DRIVES+1. Element addresses are apart on purpose (robot 1, drives
# 16.., slots 1000..) so that nothing numbers elements by address by luck.
# Cartridges live in $TGT_MEDIA named by barcode (tgt's media_home): a
# MOVE MEDIUM into a drive element puts MEDIA/BARCODE behind that drive's
# LUN. TGT_LIB_CHANGER and TGT_LIB_DRIVE<K> (K from 0) are the URIs.
TGT_LIB_IQN=iqn.2026-01.test.abs:library
TGT_MEDIA=""
TGT_LIB=""

# tgt_library DRIVES SLOTS FULL [MIB [PORTALS]]: the first FULL slots hold
# cartridges TG0001L6, TG0002L6, ... of MIB MiB (default 32); PORTALS
# import/export elements (default none) from address 50. tgtd must be
# running (tgt_start).
tgt_library() {
	nd=$1 ns=$2 nf=$3 mib=${4:-32} np=${5:-0}
	TGT_MEDIA="$T/media"
	mkdir -p "$TGT_MEDIA" "$T/tgt-drives"
	TGT_LIB=1
	tgtadm_ --mode target --op new --tid 2 --targetname "$TGT_LIB_IQN"
	k=1
	while [ $k -le "$nd" ]; do
		# A drive LUN needs a backing store: a placeholder, taken offline.
		img="$T/tgt-drives/empty$k"
		[ -f "$img" ] || tgtimg --op new --device-type tape --barcode "EMPTY$k" \
			--size 1 --type data --file "$img" >/dev/null
		tgtadm_ --mode logicalunit --op new --tid 2 --lun $k --bstype ssc \
			--device-type tape --backing-store "$img"
		tgtadm_ --mode logicalunit --op update --tid 2 --lun $k --params online=0
		eval "TGT_LIB_DRIVE$((k - 1))=iscsi://127.0.0.1:$TGT_PORT/$TGT_LIB_IQN/$k"
		k=$((k + 1))
	done
	cl=$((nd + 1))
	dd if=/dev/zero of="$T/tgt-drives/smc" bs=1k count=1 status=none
	tgtadm_ --mode logicalunit --op new --tid 2 --lun $cl \
		--backing-store "$T/tgt-drives/smc" --device-type changer
	lu() { tgtadm_ --mode logicalunit --op update --tid 2 --lun $cl --params "$1"; }
	lu "media_home=$TGT_MEDIA"
	lu "element_type=1,start_address=1,quantity=1"
	lu "element_type=4,start_address=16,quantity=$nd"
	k=1
	while [ $k -le "$nd" ]; do
		lu "element_type=4,address=$((15 + k)),tid=2,lun=$k"
		k=$((k + 1))
	done
	[ "$np" = 0 ] || lu "element_type=3,start_address=50,quantity=$np"
	lu "element_type=2,start_address=1000,quantity=$ns"
	k=1
	while [ $k -le "$nf" ]; do
		bc=$(printf 'TG%04dL6' $k)
		[ -f "$TGT_MEDIA/$bc" ] || tgtimg --op new --device-type tape \
			--barcode "$bc" --size "$mib" --type data \
			--file "$TGT_MEDIA/$bc" >/dev/null
		lu "element_type=2,address=$((999 + k)),barcode=$bc,sides=1"
		k=$((k + 1))
	done
	tgtadm_ --mode target --op bind --tid 2 --initiator-address ALL
	TGT_LIB_CHANGER="iscsi://127.0.0.1:$TGT_PORT/$TGT_LIB_IQN/$cl"
}

tgt_stop() {
	[ -n "$TGT_PID" ] || return 0
	[ -z "$TGT_LIB" ] || tgtadm_ --mode target --op delete --tid 2 --force >/dev/null 2>&1
	tgtadm_ --mode target --op delete --tid 1 --force >/dev/null 2>&1
	tgtadm_ --op delete --mode system >/dev/null 2>&1
	i=0
	while kill -0 "$TGT_PID" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$TGT_PID" 2>/dev/null || true
	TGT_PID=""
}
trap 'tgt_stop; cleanup' EXIT
