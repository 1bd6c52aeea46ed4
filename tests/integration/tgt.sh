# Sourced after lib.sh: a private tgtd on 127.0.0.1 with its own control
# and iSCSI ports, tape LUNs backed by tgtimg images in $T. Torn down by PID.
command -v tgtd >/dev/null && command -v tgtadm >/dev/null && command -v tgtimg >/dev/null ||
	skip "tgt is not installed (make deps installs it)"
TGT_CTL=$(( 100 + $$ % 800 ))
TGT_PORT=$(( 20000 + $$ % 20000 ))
TGT_IQN=iqn.2026-01.test.abs:tape
TGT_PID=""
tgtadm_() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }

# tgt_start: start tgtd and target 1, tuned for large PDUs.
tgt_start() {
	tgtd -f -C "$TGT_CTL" --iscsi portal=127.0.0.1:"$TGT_PORT" >"$T/tgtd.log" 2>&1 &
	TGT_PID=$!
	PIDS="$PIDS $TGT_PID"
	i=0
	until tgtadm_ --mode target --op show >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$T/tgtd.log" >&2; fail "tgtd did not start"; }
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

tgt_stop() {
	[ -n "$TGT_PID" ] || return 0
	tgtadm_ --mode target --op delete --tid 1 --force >/dev/null 2>&1
	tgtadm_ --op delete --mode system >/dev/null 2>&1
	i=0
	while kill -0 "$TGT_PID" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$TGT_PID" 2>/dev/null || true
	TGT_PID=""
}
trap 'tgt_stop; cleanup' EXIT
