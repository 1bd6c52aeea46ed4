#!/bin/sh
# A stand-in for `abs-engine changer --device vtape:DIR --json inventory|
# move FROM TO` (the contract of helpers14.md) for the control plane's
# tests while that command is not there: it answers through abs-vtape
# (list, load, unload), in the contract's JSON; it moves nothing to or
# from a portal. Drive K's identifier is DIR/driveK/serial if there is
# one, else the library's serial and DK (as a vtape drive answers). Test hooks: DIR/.shim-fail-moves
# holding N fails the next N moves (refused, sense 3B/0D... as a robot
# would); DIR/.shim-attention makes the next answer say attention (once);
# DIR/.shim-hang makes a move hang (abs-ctld's time limit, or a kill -9
# of abs-ctld mid-move).
# usage: changer_shim.sh [changer] --device vtape:DIR --json COMMAND ARGS
set -u
VTAPE=${ABS_BIN:?}/abs-vtape
[ "${1:-}" = changer ] && shift
[ "${1:-}" = --device ] || { echo "usage: --device URI --json CMD" >&2; exit 2; }
uri=$2
shift 2
[ "${1:-}" = --json ] && shift
case $uri in
smc:vtape:*) dir=${uri#smc:vtape:} ;;
vtape:*) dir=${uri#vtape:} ;;
*) echo '{"error":"not a vtape library"}'; exit 3 ;;
esac
[ -f "$dir/library.conf" ] || { printf '{"error":"%s: no library"}\n' "$dir"; exit 3; }
att=false
if [ -e "$dir/.shim-attention" ]; then
	rm -f "$dir/.shim-attention"
	att=true
fi
cmd=${1:-}
case $cmd in
inventory)
	"$VTAPE" list "$dir" | awk -v dir="$dir" -v att="$att" '
	function ident(k,   f, s, l) {
		f = dir "/drive" k "/serial"; s = ""
		if ((getline s < f) > 0) { close(f); return "\"" s "\"" }
		f = dir "/library.conf"
		while ((getline l < f) > 0)
			if (l ~ /^serial=/) s = substr(l, 8)
		close(f)
		return s != "" ? "\"" s "D" k "\"" : "null"
	}
	function home(k,   f, s) {
		f = dir "/drive" k "/home"; s = ""
		if ((getline s < f) > 0) { close(f); return s + 0 }
		return "null"
	}
	{ name = $1; bc = $2
	  full = bc != "(empty)"
	  if (name ~ /^slot/) { t = "slot"; n = substr(name, 5); addr = 4096 + n - 1 }
	  else if (name ~ /^portal/) { t = "portal"; n = substr(name, 7); addr = 16 + n - 1 }
	  else if (name ~ /^drive/) { t = "drive"; n = substr(name, 6); addr = 256 + n }
	  else next
	  e = sprintf("{\"type\":\"%s\",\"num\":%d,\"addr\":%d,\"full\":%s,\"barcode\":%s,\"tag_unreadable\":false,\"source\":%s,\"ident\":%s,\"except\":false,\"access\":true}",
	      t, n, addr, full ? "true" : "false", full ? "\"" bc "\"" : "null",
	      t == "drive" && full ? home(n) : "null", t == "drive" ? ident(n) : "null")
	  els = els "," e }
	END { printf "{\"changer\":\"vtape:%s\",\"vendor\":\"ABS\",\"product\":\"shim\",\"serial\":null,\"attention\":%s,\"elements\":[{\"type\":\"robot\",\"num\":0,\"addr\":1,\"full\":false,\"barcode\":null}%s]}\n", dir, att, els }'
	;;
move)
	from=${2:-} to=${3:-}
	if [ -e "$dir/.shim-hang" ]; then
		sleep 3600
	fi
	if [ -s "$dir/.shim-fail-moves" ]; then
		n=$(cat "$dir/.shim-fail-moves")
		if [ "$n" -gt 0 ]; then
			echo $((n - 1)) >"$dir/.shim-fail-moves"
			printf '{"error":"MOVE MEDIUM refused: hardware error (injected)","sense":"15/01","attention":%s}\n' "$att"
			exit 1
		fi
	fi
	ft=${from%%:*} fn=${from#*:} tt=${to%%:*} tn=${to#*:}
	case $ft:$tt in
	slot:drive) out=$("$VTAPE" load "$dir" --slot "$fn" --drive "$tn" 2>&1) ;;
	drive:slot)
		h=$(cat "$dir/drive$fn/home" 2>/dev/null || echo 0)
		if [ "$h" != "$tn" ]; then
			printf '{"error":"the shim puts a cartridge back only to its home slot %s","sense":"3B/0D"}\n' "$h"
			exit 1
		fi
		out=$("$VTAPE" unload "$dir" --drive "$fn" 2>&1) ;;
	drive:drive)
		h=$(cat "$dir/drive$fn/home" 2>/dev/null || echo 0)
		out=$("$VTAPE" unload "$dir" --drive "$fn" 2>&1 &&
			"$VTAPE" load "$dir" --slot "$h" --drive "$tn" 2>&1) ;;
	*) printf '{"error":"the shim moves no %s to %s (no portals)","sense":"21/01"}\n' "$ft" "$tt"; exit 1 ;;
	esac || { printf '{"error":"%s","sense":"3B/0E"}\n' "$(echo "$out" | head -n1 | tr -d '"\\')"; exit 1; }
	printf '{"ok":true,"attention":%s}\n' "$att"
	;;
*)
	echo '{"error":"usage"}'
	exit 2
	;;
esac
