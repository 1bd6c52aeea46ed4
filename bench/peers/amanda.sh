# Amanda in the peers bench (sourced by bench/peers/run.sh): Debian's
# amanda-server and amanda-client 3.5.1 as a site sets them up for disk:
# a chg-disk: changer of virtual tapes in the work dir, auth "local" (the
# server runs the client's amandad itself: no inetd), application amgtar
# (GNU tar with listed incrementals), compress none, no holding disk (the
# dump goes straight to the tape), a file index (what amrecover needs).
# Amanda runs as the backup user: amdump and amfetchdump refuse root.
# Its configuration lives in the work dir; Amanda finds configurations only
# under /etc/amanda, so /etc/amanda/NAME is a symlink to it for the time of
# the run (removed at teardown).

AM_USER=backup

am() { runuser -u "$AM_USER" -- "$@"; }

amanda_setup() {
	D=$W/amanda
	AM_CONF=abs-peers-$$
	rm -rf "$D"
	mkdir -p "$D/conf" "$D/vtapes" "$D/state/curinfo" "$D/state/index" \
		"$D/state/log" "$D/state/gnutar-lists"
	for _slot in 1 2 3 4; do mkdir -p "$D/vtapes/slot$_slot"; done
	cat >"$D/conf/amanda.conf" <<EOF
org "abs-peers"
mailto ""
dumpuser "$AM_USER"
inparallel 1
dumpcycle 7 days
runspercycle 7
tapecycle 4 tapes
netusage 10 Gbps
dtimeout 3600
ctimeout 60
etimeout 3600
define changer vtapes {
	tapedev "chg-disk:$D/vtapes"
	property "num-slot" "4"
	property "auto-create-slot" "no"
}
tpchanger "vtapes"
tapetype "DISK"
define tapetype DISK {
	length 64 gbytes
}
labelstr "^P-[0-9][0-9]*\$"
autolabel "P-%%" empty
infofile "$D/state/curinfo"
logdir "$D/state/log"
indexdir "$D/state/index"
define application-tool app_amgtar {
	plugin "amgtar"
	property "GNUTAR-PATH" "/bin/tar"
	property "GNUTAR-LISTDIR" "$D/state/gnutar-lists"
}
define dumptype peers {
	program "APPLICATION"
	application "app_amgtar"
	auth "local"
	compress none
	encrypt none
	holdingdisk never
	index yes
	record yes
}
EOF
	cat >"$D/conf/amanda-client.conf" <<EOF
conf "$AM_CONF"
index_server "localhost"
tape_server "localhost"
auth "local"
EOF
	echo "localhost $TREE peers" >"$D/conf/disklist"
	chown -R "$AM_USER" "$D"
	ln -sfn "$D/conf" "/etc/amanda/$AM_CONF"
	for _slot in 1 2 3 4; do
		am amlabel "$AM_CONF" "P-0$_slot" slot "$_slot" >"$D/label.out" 2>&1 ||
			{ cat "$D/label.out" >&2; return 1; }
	done
}

# amanda_run: one amdump; a run that dumped nothing or failed its dump is
# a failure (amdump's exit status is a bit mask of what went wrong).
amanda_run() {
	in_cg runuser -u "$AM_USER" -- amdump "$AM_CONF" || return 1
}

amanda_full() {
	am amadmin "$AM_CONF" force localhost "$TREE" >/dev/null
	amanda_run
}

amanda_incr() {
	am amadmin "$AM_CONF" force-level-1 localhost "$TREE" >/dev/null
	amanda_run
}

# amanda_restore DIR: the chain back into DIR as an Amanda user does it:
# each dump, oldest first, fetched by amfetchdump as the backup user by
# its date and level (it would take the oldest full if not told), into
# GNU tar as root (owners kept); a level 1 is extracted with
# --listed-incremental so that what was deleted is deleted.
amanda_restore() {
	mkdir -p "$1"
	am amadmin "$AM_CONF" find localhost "$TREE" 2>/dev/null |
		awk '$1 ~ /^[0-9][0-9][0-9][0-9]-/ { print $1, $2, $5 }' |
		sort >"$D/find.out"
	[ -s "$D/find.out" ] || { echo "peers: amanda: no dumps found" >&2; return 1; }
	# Each line: date time level, oldest first; restore from the newest full.
	awk '$3 == 0 { n = NR } END { print n + 0 }' "$D/find.out" >"$D/first"
	_n=0
	while read -r _d _t _l; do
		_n=$((_n + 1))
		[ $_n -ge "$(cat "$D/first")" ] || continue
		_stamp=$(echo "$_d$_t" | tr -d ':-')
		in_cg sh -c 'runuser -u "$0" -- amfetchdump -p "$1" localhost "$2" "$3" "$4" |
			tar -x --numeric-owner --same-permissions --listed-incremental=/dev/null \
				-f - -C "$5"' "$AM_USER" "$AM_CONF" "$TREE" "$_stamp" "$_l" "$1" </dev/null ||
			return 1
	done <"$D/find.out"
}

amanda_tape() { tape_bytes "$D/vtapes"; }

amanda_teardown() {
	[ "$(readlink "/etc/amanda/$AM_CONF" 2>/dev/null)" = "$D/conf" ] &&
		rm -f "/etc/amanda/$AM_CONF"
	rm -rf "$D"
}
