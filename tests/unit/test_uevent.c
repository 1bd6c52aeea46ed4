/*
 * Kernel uevents: the parser on what kernels send (an sg node added, a
 * tape node removed, a SCSI device's events without a node) and on every
 * kind of malformed message; the netlink socket opened and read (nothing
 * waiting is no error).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg/uevent.h"
#include "t.h"

/* A message from NUL-separated parts ("a\0b\0"), its length in *n. */
static int
parse(const char *msg, size_t n, struct uevent *ev)
{
	return uevent_parse((const uint8_t *)msg, n, ev);
}

#define P(lit, ev) parse(lit, sizeof(lit) - 1, ev)

static void
test_kernel_messages(void)
{
	struct uevent ev;
	static const char add_sg[] =
	    "add@/devices/platform/host2/session1/target2:0:0/2:0:0:1/"
	    "scsi_generic/sg3\0ACTION=add\0DEVPATH=/devices/platform/host2/"
	    "session1/target2:0:0/2:0:0:1/scsi_generic/sg3\0"
	    "SUBSYSTEM=scsi_generic\0MAJOR=21\0MINOR=3\0DEVNAME=sg3\0"
	    "SEQNUM=4711\0";
	static const char rm_nst[] =
	    "remove@/devices/pci0000:00/0000:00:04.0/host0/target0:0:1/0:0:1:0/"
	    "scsi_tape/nst0\0ACTION=remove\0DEVPATH=/devices/pci0000:00/"
	    "0000:00:04.0/host0/target0:0:1/0:0:1:0/scsi_tape/nst0\0"
	    "SUBSYSTEM=scsi_tape\0MAJOR=9\0MINOR=128\0DEVNAME=nst0\0SEQNUM=12\0";
	static const char dev[] =
	    "remove@/devices/pci0000:00/host0/target0:0:1/0:0:1:0\0"
	    "ACTION=remove\0DEVPATH=/devices/pci0000:00/host0/target0:0:1/0:0:1:0\0"
	    "SUBSYSTEM=scsi\0DEVTYPE=scsi_device\0MODALIAS=scsi:t-0x01\0SEQNUM=13\0";

	CHECK(P(add_sg, &ev) == 0);
	CHECK(strcmp(ev.action, "add") == 0);
	CHECK(strcmp(ev.subsystem, "scsi_generic") == 0);
	CHECK(strcmp(ev.devname, "sg3") == 0);
	CHECK(ev.major == 21 && ev.minor == 3 && ev.seqnum == 4711);
	CHECK(strncmp(ev.devpath, "/devices/platform/host2/", 24) == 0);
	CHECK(P(rm_nst, &ev) == 0);
	CHECK(strcmp(ev.action, "remove") == 0 && strcmp(ev.devname, "nst0") == 0);
	CHECK(ev.major == 9 && ev.minor == 128);
	/* No node: no numbers, no name. */
	CHECK(P(dev, &ev) == 0);
	CHECK(ev.major == -1 && ev.minor == -1 && ev.devname[0] == '\0');
	CHECK(strcmp(ev.subsystem, "scsi") == 0);
	/* The head alone is an event too. */
	CHECK(P("change@/devices/x\0", &ev) == 0 && strcmp(ev.action,
	    "change") == 0 && strcmp(ev.devpath, "/devices/x") == 0);
	/* A node under a directory of /dev. */
	CHECK(P("add@/d\0DEVNAME=bsg/2:0:0:1\0MAJOR=250\0MINOR=1\0", &ev) == 0);
	CHECK(strcmp(ev.devname, "bsg/2:0:0:1") == 0);
	/* High bytes (UTF-8 in a value) are no control characters. */
	CHECK(P("add@/d\0NAME=\xc3\xa9\0", &ev) == 0);
}

static void
test_malformed(void)
{
	struct uevent ev;
	char big[UEVENT_MAX_MSG + 16];

	CHECK(uevent_parse(NULL, 0, &ev) == -EINVAL);
	CHECK(P("", &ev) == -EINVAL);
	CHECK(P("\0", &ev) == -EINVAL);
	CHECK(P("add@/devices/x", &ev) == -EINVAL);	/* not NUL-terminated */
	CHECK(P("add/devices/x\0", &ev) == -EINVAL);	/* no @ */
	CHECK(P("@/devices/x\0", &ev) == -EINVAL);	/* no action */
	CHECK(P("add@\0", &ev) == -EINVAL);	/* no path */
	CHECK(P("add@devices\0", &ev) == -EINVAL);	/* not absolute */
	CHECK(P("verylongactionname@/x\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0NOEQUALS\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0=v\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0\0", &ev) == -EINVAL);	/* empty string */
	CHECK(P("add@/x\0ACTION=remove\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0ACTION=add\0ACTION=add\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0DEVPATH=/y\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=21\0", &ev) == -EINVAL);	/* no MINOR */
	CHECK(P("add@/x\0MAJOR=21\0MINOR=x\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=-1\0MINOR=1\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=4096\0MINOR=1\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=1\0MINOR=1048576\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=\0MINOR=1\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0MAJOR=1\0MAJOR=1\0MINOR=1\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0SEQNUM=99999999999999999999999\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0DEVNAME=/dev/sg3\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0DEVNAME=../etc/x\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0DEVNAME=\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0SUBSYSTEM=\0", &ev) == -EINVAL);
	CHECK(P("add@/x\0DEVNAME=sg\n3\0", &ev) == -EINVAL);	/* control */
	CHECK(P("add@/x\0SUBSYSTEM=a\0SUBSYSTEM=b\0", &ev) == -EINVAL);
	/* udevd's re-broadcasts are not the kernel's. */
	CHECK(P("libudev\0\xfe\xed\xca\xfe", &ev) == -ENOMSG);
	/* Too long for a field, or for a message. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "add@/", 5);
	big[600] = '\0';
	CHECK(uevent_parse((uint8_t *)big, 601, &ev) == -EINVAL);
	big[600] = 'a';
	big[sizeof(big) - 1] = '\0';
	CHECK(uevent_parse((uint8_t *)big, sizeof(big), &ev) == -EINVAL);
}

/* The socket: opened where netlink is allowed; nothing waiting is 0. */
static void
test_socket(void)
{
	struct uevent ev;
	unsigned dropped = 0;
	int fd = uevent_open();

	if (fd < 0) {
		printf("uevent socket not available here (%s): not tested\n",
		    strerror(-fd));
		return;
	}
	/* Whatever the host is doing, a read never blocks nor fails. */
	for (int i = 0; i < 1000; i++) {
		int rc = uevent_recv(fd, &ev, &dropped);
		CHECK(rc == 0 || rc == 1 || rc == -ENOBUFS);
		if (rc == 0)
			break;
	}
	close(fd);
}

int
main(void)
{
	test_kernel_messages();
	test_malformed();
	test_socket();
	T_DONE();
}
