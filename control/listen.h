/* abs-ctld's TLS listener (control/listen.c). */
#ifndef ABS_CTLD_LISTEN_H
#define ABS_CTLD_LISTEN_H

#include <stddef.h>

struct ctld_listen_opts {
	const char *addr;	/* HOST:PORT, "*:PORT" for every address */
	const char *cert, *key, *ca, *crl;
	const char *keytab;	/* Kerberos (control/gss.c) */
};

/* Read the certificates and bind, before abs-ctld detaches: 0, or
   negative with err (PROTO_ERRLEN) saying what is wrong. */
int ctld_listen_open(const struct ctld_listen_opts *o, char *err);
/* Start the accepting threads (after daemon()): 0, or negative. */
int ctld_listen_run(char *err);
/* The eventfd the loop watches (-1 without --listen). */
int ctld_listen_fd(void);
/* The next authenticated connection: 1 with its socket, identity and
   peer address, or 0 when none is left (the eventfd is then reset). */
int ctld_listen_take(int *fd, char *identity, size_t ilen, char *from,
    size_t flen);
/* At exit, before OpenSSL's own cleanup: stop accepting, let each
   connection's thread end (cut off after a second), waited for 6 s at
   most. How many threads are left (0: none is inside OpenSSL). */
int ctld_listen_stop(void);

#endif
