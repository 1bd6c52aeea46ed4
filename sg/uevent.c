/*
 * Kernel uevents over a raw NETLINK_KOBJECT_UEVENT socket (sg/uevent.h).
 * The parser is pure and bounded: outside input, fuzzed
 * (tests/fuzz/fuzz_uevent.c).
 */
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sg/uevent.h"

/* Copy n bytes of src into dst[len] if they fit with their NUL. */
static bool
put(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		return false;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return true;
}

/* A decimal number of at most max; false for anything else. */
static bool
number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int
uevent_parse(const uint8_t *buf, size_t len, struct uevent *ev)
{
	const char *p = (const char *)buf, *end = p + len, *at;
	bool have_action = false, have_devpath = false;
	size_t n;

	memset(ev, 0, sizeof(*ev));
	ev->major = ev->minor = -1;
	/* udevd's messages start with "libudev\0" (a header, then a blob). */
	if (buf && len >= 8 && memcmp(buf, "libudev", 8) == 0)
		return -ENOMSG;
	if (!buf || len == 0 || len > UEVENT_MAX_MSG || buf[len - 1] != '\0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\0' && (buf[i] < 0x20 || buf[i] == 0x7f))
			return -EINVAL;
	/* The head: ACTION@DEVPATH. */
	n = strlen(p);
	at = memchr(p, '@', n);
	if (!at || at == p || at[1] != '/' ||
	    !put(ev->action, sizeof(ev->action), p, (size_t)(at - p)) ||
	    !put(ev->devpath, sizeof(ev->devpath), at + 1, n - (size_t)(at - p) - 1))
		return -EINVAL;
	/* Then KEY=VALUE strings. */
	for (p += n + 1; p < end; p += n + 1) {
		const char *eq, *v;
		size_t kn, vn;
		uint64_t num;

		n = strlen(p);	/* bounded: buf[len - 1] is NUL */
		if (n == 0)
			return -EINVAL;
		eq = memchr(p, '=', n);
		if (!eq || eq == p)
			return -EINVAL;
		kn = (size_t)(eq - p);
		v = eq + 1;
		vn = n - kn - 1;
#define KEY(k) (kn == sizeof(k) - 1 && memcmp(p, k, kn) == 0)
		if (KEY("ACTION")) {
			if (have_action || vn != strlen(ev->action) ||
			    memcmp(v, ev->action, vn) != 0)
				return -EINVAL;
			have_action = true;
		} else if (KEY("DEVPATH")) {
			if (have_devpath || vn != strlen(ev->devpath) ||
			    memcmp(v, ev->devpath, vn) != 0)
				return -EINVAL;
			have_devpath = true;
		} else if (KEY("SUBSYSTEM")) {
			if (ev->subsystem[0] || !vn ||
			    !put(ev->subsystem, sizeof(ev->subsystem), v, vn))
				return -EINVAL;
		} else if (KEY("DEVNAME")) {
			/* Relative to /dev, never climbing out of it. */
			if (ev->devname[0] || !vn || v[0] == '/' ||
			    memmem(v, vn, "..", 2) ||
			    !put(ev->devname, sizeof(ev->devname), v, vn))
				return -EINVAL;
		} else if (KEY("MAJOR")) {
			if (ev->major >= 0 || !number(v, vn, 4095, &num))
				return -EINVAL;
			ev->major = (int)num;
		} else if (KEY("MINOR")) {
			if (ev->minor >= 0 || !number(v, vn, (1u << 20) - 1, &num))
				return -EINVAL;
			ev->minor = (int)num;
		} else if (KEY("SEQNUM")) {
			if (ev->seqnum || !number(v, vn, UINT64_MAX, &num))
				return -EINVAL;
			ev->seqnum = num;
		}
#undef KEY
	}
	/* A node's numbers come together, or not at all. */
	if ((ev->major < 0) != (ev->minor < 0))
		return -EINVAL;
	return 0;
}

int
uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    NETLINK_KOBJECT_UEVENT);
	int on = 1, rc;

	if (fd < 0)
		return -errno;
	/* nl_pid 0: the kernel picks our address. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* The sender's credentials with each datagram (the kernel: uid 0). */
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	return fd;
}

int
uevent_recv(int fd, struct uevent *ev, unsigned *dropped)
{
	uint8_t buf[UEVENT_MAX_MSG + 1];

	for (;;) {
		struct sockaddr_nl sa;
		char cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_name = &sa, .msg_namelen = sizeof(sa),
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		    .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		bool kernel;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			/* ENOBUFS: events were lost; the caller looks again. */
			return -errno;
		}
		/* From the kernel: port 0, uid 0 when credentials came. */
		kernel = mh.msg_namelen >= sizeof(sa) && sa.nl_pid == 0 &&
		    !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred cr;
				memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
				kernel = kernel && cr.uid == 0;
			}
		if (kernel && (size_t)n <= UEVENT_MAX_MSG &&
		    uevent_parse(buf, (size_t)n, ev) == 0)
			return 1;
		if (dropped)
			(*dropped)++;
	}
}
