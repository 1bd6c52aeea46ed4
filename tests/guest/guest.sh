# Sourced: Rig B, a QEMU guest running Debian's 6.1 kernel that logs into
# the host's tgtd with the kernel's own iSCSI initiator, so the engine runs
# on real /dev/nstN and /dev/sgN. Nothing is installed on the host except
# qemu, busybox-static, kmod and cpio; the guest kernel and tools are
# Debian packages unpacked into a cache directory.
#
#   guest_prepare            kernel, modules and tools in $GUEST_CACHE
#   guest_initrd OUT SCRIPT FILE...   an initramfs that runs SCRIPT
#   guest_boot INITRD LOG PORT [CONSOLE_IN]   boot; LOG gets the console
#   tail_console             the console's last lines ($T/console.log)
#   guest_harness NAME       a test's exits explained (below)
GUEST_CACHE=${ABS_GUEST_CACHE:-/var/cache/abs-guest}
GUEST_PKGS="open-iscsi libisns0 libopeniscsiusr sg3-utils libsgutils2-1.46-2 mt-st"
GUEST_MODS="crc32c_generic st sg iscsi_tcp virtio_pci virtio_net"

guest_host_tools() {
	for c in qemu-system-x86_64 busybox cpio depmod; do
		command -v "$c" >/dev/null 2>&1 && continue
		[ "$(id -u)" = 0 ] || return 1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			qemu-system-x86 busybox-static kmod cpio >/dev/null 2>&1 || return 1
		break
	done
	busybox --list 2>/dev/null | grep -qx ip || return 1
}

# The kernel image package linux-image-amd64 points at now.
guest_kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1
}

guest_prepare() {
	pkg=$(guest_kernel_pkg)
	[ -n "$pkg" ] || return 1
	root="$GUEST_CACHE/$pkg"
	if [ ! -f "$root/.done" ]; then
		mkdir -p "$root/debs" || return 1
		(cd "$root/debs" && apt-get download "$pkg" $GUEST_PKGS >/dev/null 2>&1) ||
			return 1
		for d in "$root"/debs/*.deb; do dpkg-deb -x "$d" "$root/fs" || return 1; done
		GUEST_KVER=$(ls "$root/fs/lib/modules")
		depmod -b "$root/fs" "$GUEST_KVER" || return 1
		touch "$root/.done"
	fi
	GUEST_ROOT="$root/fs"
	GUEST_KVER=$(ls "$GUEST_ROOT/lib/modules")
	GUEST_KERNEL="$GUEST_ROOT/boot/vmlinuz-$GUEST_KVER"
	[ -f "$GUEST_KERNEL" ]
}

# guest_add_pkg PKG FILE: PKG's files in the guest tree too (a cache made
# before PKG was needed lacks them); FILE, one of its files, says it is there.
guest_add_pkg() {
	[ -e "$GUEST_ROOT$2" ] && return 0
	deb=$(cd "$GUEST_ROOT/../debs" && apt-get download "$1" >/dev/null 2>&1 &&
		ls -t "$1"_*.deb | head -n1) || return 1
	dpkg-deb -x "$GUEST_ROOT/../debs/$deb" "$GUEST_ROOT" && [ -e "$GUEST_ROOT$2" ]
}

# Copy a binary and the shared libraries it needs into the tree at $1.
guest_copy_bin() {
	dst=$1 bin=$2 to=${3:-/bin/$(basename "$2")}
	mkdir -p "$dst$(dirname "$to")"
	cp -L "$bin" "$dst$to" || return 1
	# The guest packages' own libraries are found in the unpacked tree.
	LD_LIBRARY_PATH="$GUEST_ROOT/usr/lib/x86_64-linux-gnu:$GUEST_ROOT/lib/x86_64-linux-gnu" \
		ldd "$bin" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' |
	while read -r lib; do
		in=${lib#"$GUEST_ROOT"}
		[ -f "$dst$in" ] && continue
		mkdir -p "$dst$(dirname "$in")"
		cp -L "$lib" "$dst$in"
	done
}

guest_initrd() {
	out=$1 script=$2
	shift 2
	tree=$(mktemp -d "${TMPDIR:-/tmp}/abs-guest-root.XXXXXX")
	mkdir -p "$tree/bin" "$tree/sbin" "$tree/lib/modules" "$tree/proc" \
		"$tree/sys" "$tree/dev" "$tree/tmp" "$tree/run" "$tree/etc/iscsi"
	cp "$(command -v busybox)" "$tree/bin/busybox"
	for a in $(busybox --list); do
		[ -e "$tree/bin/$a" ] || ln -s busybox "$tree/bin/$a"
	done
	# Modules in dependency order, each once.
	: >"$tree/modules.order"
	for m in $GUEST_MODS; do
		modprobe -d "$GUEST_ROOT" -S "$GUEST_KVER" --show-depends "$m" |
			awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		cp "$ko" "$tree/lib/modules/" && basename "$ko" >>"$tree/modules.order"
	done
	guest_copy_bin "$tree" "$GUEST_ROOT/sbin/iscsistart" /sbin/iscsistart
	guest_copy_bin "$tree" "$GUEST_ROOT/bin/mt-st" /bin/mt-st
	for f in "$@"; do
		guest_copy_bin "$tree" "$f" || { rm -rf "$tree"; return 1; }
	done
	cp "$ABS_TOP/tests/guest/init" "$tree/init"
	cp "$script" "$tree/test.sh"
	chmod +x "$tree/init" "$tree/test.sh"
	(cd "$tree" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out"
	rc=$?
	rm -rf "$tree"
	return $rc
}

# guest_boot INITRD LOG PORT [CONSOLE_IN]: replaces the (sub)shell, runs until the
# guest powers off (or 15 minutes pass); the console goes to LOG, and
# CONSOLE_IN (a FIFO) feeds the guest's console input. no_timer_check:
# on a loaded host the emulated CPU misses the kernel's IO-APIC timer
# check, which panics ("IO-APIC + timer doesn't work", t_device_events).
guest_boot() {
	in=${4:-/dev/null}
	exec timeout 900 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 768 \
		-nographic -no-reboot -kernel "$GUEST_KERNEL" -initrd "$1" \
		-append "console=ttyS0 quiet panic=-1 no_timer_check abs.port=$3 ${GUEST_APPEND:-}" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		<"$in" >"$2" 2>&1
}

# tail_console: the guest console's last lines, if there is one.
tail_console() {
	[ -s "$T/console.log" ] || { echo "(no guest console output)"; return 0; }
	echo "--- last lines of the guest console:"
	tr -d '\r' <"$T/console.log" | tail -n 40 || true
}

# guest_harness NAME: every way out of test NAME says why. Each step names
# itself ($step); fail and skip say they explained the exit; any other
# non-zero exit (set -e, a signal, the time limit) prints the step it
# stopped in and the console's last lines. tgtd and $T go either way.
guest_harness() {
	guest_test=$1
	step="starting"
	said=0
	fail() { said=1; echo "FAIL: $*" >&2; exit 1; }
	skip() { said=1; echo "skip: $*"; exit 77; }
	trap 'guest_on_exit $?' EXIT
}

guest_on_exit() {
	if [ "$1" != 0 ] && [ "$said" = 0 ]; then
		echo "FAIL: $guest_test stopped with status $1 while $step" \
			"(a command failed under set -e, or a signal)" >&2
		tail_console >&2
	fi
	tgt_stop
	cleanup
}
