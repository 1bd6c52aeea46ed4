/*
 * The kernel's device events (NETLINK_KOBJECT_UEVENT), read from a raw
 * netlink socket: device nodes appearing and disappearing (a library
 * rebooted, an FC path lost) are noticed when they happen rather than by
 * the next command failing. No libnl: the protocol is one datagram per
 * event, "ACTION@DEVPATH" then KEY=VALUE strings, each NUL-terminated.
 */
#ifndef ABS_UEVENT_H
#define ABS_UEVENT_H

#include <stddef.h>
#include <stdint.h>

#define UEVENT_MAX_MSG 8192	/* larger datagrams are refused */

struct uevent {
	char action[16];	/* add remove change move bind unbind ... */
	char devpath[512];	/* /devices/... */
	char subsystem[64];	/* scsi_generic, scsi_tape, scsi_device ... */
	char devname[128];	/* the node under /dev ("sg3", "nst0"), "" */
	int major, minor;	/* the node's numbers, -1 when not given */
	uint64_t seqnum;	/* 0 when not given */
};

/*
 * Parse one kernel uevent message of len bytes. 0 with ev filled;
 * -EINVAL for anything malformed (no ACTION@DEVPATH head, a string not
 * NUL-terminated or without '=', a value too long for its field, an
 * ACTION or DEVPATH that contradicts the head, a MAJOR/MINOR/SEQNUM that
 * is not a decimal number in range, control characters); -ENOMSG for a
 * message of udevd's (libudev) rather than the kernel's.
 */
int uevent_parse(const uint8_t *buf, size_t len, struct uevent *ev);

/*
 * A socket on the kernel's uevent multicast group, non-blocking and
 * close-on-exec: the descriptor, or a negative errno.
 */
int uevent_open(void);
/*
 * The next event on fd: 1 and ev filled, 0 when none is waiting,
 * negative errno on a socket error. Datagrams that are not the kernel's
 * (another sender) or do not parse are dropped (counted in *dropped if
 * given) and the next one read.
 */
int uevent_recv(int fd, struct uevent *ev, unsigned *dropped);

#endif
