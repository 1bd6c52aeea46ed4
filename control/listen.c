/*
 * abs-ctld's TCP listener (--listen HOST:PORT): TLS 1.3 only. A thread
 * accepts; each connection gets a thread of its own that does the TLS
 * handshake and the authentication exchange (proto/tls.h) within
 * PROTO_AUTH_TIMEOUT_MS, then bridges the channel to a socketpair whose
 * other end joins the loop as a client carrying its identity. The loop
 * (control/ctld.c) never sees TLS, and no thread here touches the
 * catalog, a client or a drive: they hand the loop a socket and a name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "control/ctld.h"
#include "control/listen.h"
#include "control/gss.h"
#include "proto/tls.h"

/* Connections in their handshake at once; more are closed at once. */
#define PENDING_MAX 64
/*
 * Of those, from one address (of IPv6, one /64): a host that opens
 * connections and says nothing (each held up to PROTO_AUTH_TIMEOUT_MS)
 * takes this many slots, not all of them, so an operator from elsewhere
 * still gets in. A peer with many addresses (a local user has all of
 * 127/8) can still fill PENDING_MAX: the operator's retry is the answer.
 */
#define PENDING_PER_PEER 8

/* An authenticated connection waiting for the loop. */
struct arrival {
	int fd;
	char identity[PROTO_IDENTITY_MAX];
	char from[64];
	struct arrival *next;
};

static struct ctld_listen_opts opts;
static int lfds[8], nlfd;
static char bound[8][64];	/* what each listens on, for the log */
static int efd = -1;		/* the loop's eventfd */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct arrival *arrivals;	/* under mu */
static int pending;		/* connections in their handshake, under mu */
/* The addresses those come from (under mu): PENDING_MAX at most. */
static struct {
	unsigned char addr[16];
	int n;
} peers[PENDING_MAX];
static SSL_CTX *ctx;		/* the listener thread's */
/*
 * At exit (ctld_listen_stop): OpenSSL frees its state in an atexit
 * handler of its own, and a thread still inside OpenSSL then (a peer
 * partitioned away, a handshake half done) would run on freed memory or
 * hold abs-ctld's exit up. So the threads are counted and each
 * connection is listed (under mu), to be cut off and waited for.
 */
static pthread_cond_t threads_cv = PTHREAD_COND_INITIALIZER;
static int threads;		/* accepting and connection threads, under mu */
static bool stopping;		/* under mu */
static struct conn *conns;	/* under mu */
static struct timespec crl_mtime;
static off_t crl_size;

/* A new context when the CRL file changed (a revocation takes effect
   for the next connection); the old one stays if the new one fails. */
static void
reload_crl(void)
{
	char err[PROTO_ERRLEN];
	struct stat sb;
	SSL_CTX *n;

	if (!opts.crl || stat(opts.crl, &sb) < 0 || (sb.st_mtim.tv_sec ==
	    crl_mtime.tv_sec && sb.st_mtim.tv_nsec == crl_mtime.tv_nsec &&
	    sb.st_size == crl_size))
		return;
	crl_mtime = sb.st_mtim;
	crl_size = sb.st_size;
	if (!(n = proto_tls_server_ctx(opts.cert, opts.key, opts.ca, opts.crl,
	    err))) {
		log_err("--crl changed but cannot be read, the previous one stays: "
		    "%s", err);
		return;
	}
	SSL_CTX_free(ctx);	/* connections under way hold their reference */
	ctx = n;
	log_info("CRL %s read again", opts.crl);
}

static void peer_name(const struct sockaddr_storage *ss, char *buf,
    size_t len);

/* Bind every address of HOST:PORT. */
int
ctld_listen_open(const struct ctld_listen_opts *o, char *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE }, *res = NULL;
	char host[256], port[16];
	struct stat sb;
	int rc, on = 1;

	opts = *o;
	if (!o->cert || !o->key || !o->ca) {
		snprintf(err, PROTO_ERRLEN, "--listen needs --cert FILE --key FILE "
		    "--ca FILE (TLS 1.3 only: there is no plaintext TCP)");
		return -EINVAL;
	}
	if (proto_tls_hostport(o->addr, host, sizeof(host), port, sizeof(port),
	    err) < 0)
		return -EINVAL;
	/* A keytab that cannot serve is said now, not at a client's first
	   Kerberos exchange (control/gss.c). */
	if (o->keytab && ctld_gss_check_keytab(o->keytab, err) < 0)
		return -EINVAL;
	if (!(ctx = proto_tls_server_ctx(o->cert, o->key, o->ca, o->crl, err)))
		return -EINVAL;
	if (o->crl && stat(o->crl, &sb) == 0) {
		crl_mtime = sb.st_mtim;
		crl_size = sb.st_size;
	}
	if ((rc = getaddrinfo(strcmp(host, "*") ? host : NULL, port, &hints,
	    &res)) != 0) {
		snprintf(err, PROTO_ERRLEN, "--listen %.100s: %s", o->addr,
		    gai_strerror(rc));
		return -EINVAL;
	}
	for (struct addrinfo *ai = res; ai && nlfd < 8; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
		    listen(fd, 128) < 0) {
			snprintf(err, PROTO_ERRLEN, "--listen %.100s: %s", o->addr,
			    strerror(errno));
			close(fd);
			freeaddrinfo(res);
			return -errno;
		}
		lfds[nlfd++] = fd;
		/* Port 0: the one the kernel chose, said when listening. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			peer_name(&ss, bound[nlfd - 1], sizeof(bound[0]));
	}
	freeaddrinfo(res);
	if (!nlfd) {
		snprintf(err, PROTO_ERRLEN, "--listen %.100s: no address to listen "
		    "on", o->addr);
		return -EINVAL;
	}
	if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, PROTO_ERRLEN, "eventfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int
ctld_listen_fd(void)
{
	return efd;
}

int
ctld_listen_take(int *fd, char *identity, size_t ilen, char *from,
    size_t flen)
{
	struct arrival *a;
	uint64_t v;

	for (int i = 0; i < 2; i++) {
		pthread_mutex_lock(&mu);
		if ((a = arrivals))
			arrivals = a->next;
		pthread_mutex_unlock(&mu);
		if (a || i)
			break;
		/* None left: reset the eventfd, then look once more (one
		   that came meanwhile would have no event left). */
		if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("listener: %s", strerror(errno));
	}
	if (!a)
		return 0;
	*fd = a->fd;
	snprintf(identity, ilen, "%s", a->identity);
	snprintf(from, flen, "%s", a->from);
	free(a);
	return 1;
}

/* "ADDR:PORT" of a peer, "[V6]:PORT" for IPv6. */
static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
}

/*
 * Kerberos inside the channel (control/gss.c, issue 17's Kerberos half):
 * ctld_gss_accept writes every line of abs-ctld's side itself, "ok" or
 * the refusal, and logs it. 0 with identity, or negative with err (the
 * refusal sent).
 */
static int
auth_gssapi(SSL *ssl, const char *first_line, char *identity, size_t len,
    char *err)
{
	return ctld_gss_accept(ssl, opts.keytab, first_line, identity, len,
	    err) < 0 ? -EACCES : 0;
}

struct conn {
	int fd;
	SSL *ssl;
	struct conn *next;	/* in conns */
	char from[64];
	unsigned char addr[16];	/* its address, for the per-peer count */
};

/* The peer's address alone (no port), as 16 bytes: v4 mapped; of an
   IPv6 peer its /64, which one host has whole. */
static void
peer_addr(const struct sockaddr_storage *ss, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)ss)->
		    sin6_addr, 16);
		if (!IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)addr))
			memset(addr + 8, 0, 8);
	} else if (ss->ss_family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((const struct sockaddr_in *)(const void *)ss)->
		    sin_addr, 4);
	}
}

/* Count one more connection in its handshake from addr, under mu: false
   when PENDING_MAX are, or PENDING_PER_PEER from addr. */
static bool
pending_take(const unsigned char addr[16], bool *per_peer)
{
	int free_slot = -1;

	*per_peer = false;
	if (pending >= PENDING_MAX)
		return false;
	for (int i = 0; i < PENDING_MAX; i++) {
		if (peers[i].n && memcmp(peers[i].addr, addr, 16) == 0) {
			if (peers[i].n >= PENDING_PER_PEER) {
				*per_peer = true;
				return false;
			}
			peers[i].n++;
			pending++;
			return true;
		}
		if (!peers[i].n && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return false;	/* cannot be: fewer than PENDING_MAX pending */
	memcpy(peers[free_slot].addr, addr, 16);
	peers[free_slot].n = 1;
	pending++;
	return true;
}

/* One connection from addr is out of its handshake, under mu. */
static void
pending_drop(const unsigned char addr[16])
{
	pending--;
	for (int i = 0; i < PENDING_MAX; i++)
		if (peers[i].n && memcmp(peers[i].addr, addr, 16) == 0) {
			peers[i].n--;
			return;
		}
}

/* Refuse with a reason the client shows; said in the log too. */
static void
refuse(struct conn *k, long long deadline, const char *why)
{
	char *line = proto_auth_line("refused", "error", why), err[PROTO_ERRLEN];

	log_warn("TLS client %s refused: %s", k->from, why);
	if (line)
		proto_tls_write(k->ssl, line, strlen(line), deadline, err);
	free(line);
	SSL_shutdown(k->ssl);
}

/*
 * Before TLS: the first byte of a TLS handshake is 0x16. Anything else
 * (a plaintext client, a line of JSON, HTTP) is told in plain text that
 * this port speaks TLS 1.3 only. 0 to go on, -1 when it is done with.
 */
static int
first_byte(struct conn *k, long long deadline)
{
	static const char plain[] = "{\"id\":0,\"ok\":false,\"error\":\"abs-ctld: "
	    "this port speaks TLS 1.3 only (abs-ctl --host, tls://HOST:PORT)\","
	    "\"code\":\"denied\"}\n";
	unsigned char b;
	ssize_t n;

	for (;;) {
		struct pollfd pf = { .fd = k->fd, .events = POLLIN };
		long long left = deadline - proto_tls_now_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) == 0) {
			log_warn("TCP client %s sent nothing in %d s: closed", k->from,
			    PROTO_AUTH_TIMEOUT_MS / 1000);
			return -1;
		}
		n = recv(k->fd, &b, 1, MSG_PEEK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (n <= 0)
		return -1;	/* connected and left (a port probe) */
	if (b == 0x16)
		return 0;
	log_warn("TCP client %s refused: not TLS (first byte 0x%02x): this port "
	    "speaks TLS 1.3 only", k->from, b);
	if (send(k->fd, plain, sizeof(plain) - 1, MSG_NOSIGNAL) < 0)
		log_debug("%s: %s", k->from, strerror(errno));
	shutdown(k->fd, SHUT_WR);
	return -1;
}

static void *
conn_thread(void *p)
{
	struct conn *k = p;
	long long deadline = proto_tls_now_ms() + PROTO_AUTH_TIMEOUT_MS;
	char err[PROTO_ERRLEN], id[PROTO_IDENTITY_MAX], *buf = NULL;
	char *ok = NULL;
	struct proto_auth_msg m = { 0 };
	struct arrival *a = NULL;
	size_t len, extra;
	int sp[2] = { -1, -1 };
	bool counted = true, gss = false;
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	if (first_byte(k, deadline) < 0)
		goto out;
	if (proto_tls_handshake(k->ssl, true, deadline, err) < 0) {
		log_warn("TLS client %s refused: %s", k->from, err);
		goto out;
	}
	if (!(buf = malloc(PROTO_AUTH_MAX + 1)))
		goto out;
	if (proto_tls_read_line(k->ssl, buf, PROTO_AUTH_MAX + 1, &len, &extra,
	    deadline, err) < 0) {
		log_warn("TLS client %s: no authentication: %s", k->from, err);
		if (strstr(err, "longer"))
			refuse(k, deadline, err);
		goto out;
	}
	if (proto_auth_parse(buf, len, &m, err) < 0) {
		refuse(k, deadline, err);
		goto out;
	}
	if (strcmp(m.auth, "cert") == 0) {
		if (proto_tls_peer_identity(k->ssl, id, sizeof(id), err) < 0) {
			refuse(k, deadline, err);
			goto out;
		}
	} else if (strcmp(m.auth, "gssapi") == 0) {
		/*
		 * The exchange is one line each way in turn: a client that
		 * sent more after its first line did not wait for abs-ctld's
		 * answer, and those bytes would otherwise reach the loop as
		 * requests of an identity not yet proven.
		 */
		if (extra) {
			snprintf(err, sizeof(err), "%zu bytes sent after the first "
			    "gssapi line, before the Kerberos exchange asked for "
			    "them (one line each way in turn)", extra);
			refuse(k, deadline, err);
			goto out;
		}
		/* A certificate that was shown must be good even so. */
		X509 *x = SSL_get1_peer_certificate(k->ssl);
		bool shown = x != NULL;
		X509_free(x);
		if (shown && proto_tls_peer_identity(k->ssl, id, sizeof(id),
		    err) < 0) {
			refuse(k, deadline, err);
			goto out;
		}
		if (auth_gssapi(k->ssl, buf, id, sizeof(id), err) < 0) {
			log_warn("TLS client %s refused: %s", k->from, err);
			goto out;	/* its refusal is sent */
		}
		gss = true;	/* and so is its "ok" */
	} else {
		snprintf(err, sizeof(err), "\"%s\" is an answer, not a way to "
		    "authenticate (cert or gssapi)", m.auth);
		refuse(k, deadline, err);
		goto out;
	}
	/* The loop's end non-blocking as every client's; ours the bridge's. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
	    !(a = calloc(1, sizeof(*a))) ||
	    !(ok = proto_auth_line("ok", "identity", id))) {
		refuse(k, deadline, "abs-ctld is out of resources");
		goto out;
	}
	fcntl(sp[0], F_SETFL, fcntl(sp[0], F_GETFL) | O_NONBLOCK);
	if (!gss && proto_tls_write(k->ssl, ok, strlen(ok), deadline, err) < 0) {
		log_warn("TLS client %s (%s): %s", k->from, id, err);
		goto out;
	}
	log_info("TLS client %s is %s", k->from, id);
	a->fd = sp[0];
	snprintf(a->identity, sizeof(a->identity), "%s", id);
	snprintf(a->from, sizeof(a->from), "%s", k->from);
	pthread_mutex_lock(&mu);
	/* FIFO is not needed: each arrival is its own client. */
	a->next = arrivals;
	arrivals = a;
	pending_drop(k->addr);
	pthread_mutex_unlock(&mu);
	counted = false;
	a = NULL;
	sp[0] = -1;
	uint64_t one = 1;
	if (write(efd, &one, sizeof(one)) < 0)
		log_warn("listener: %s", strerror(errno));
	/* From here the loop owns the client; a peer gone is said here
	   (the loop only sees its end of the socketpair close). */
	int brc = proto_tls_bridge(k->ssl, sp[1], buf + len + 1, extra, err);
	if (brc == -ETIMEDOUT)
		log_warn("TLS client %s (%s): connection to it lost: %s (no "
		    "answer within %d s); closed", k->from, id, err,
		    PROTO_TLS_DEAD_S);
	else if (brc == -EHOSTUNREACH || brc == -ENETUNREACH)
		log_warn("TLS client %s (%s): connection to it lost: %s; closed",
		    k->from, id, err);
	else if (brc < 0)	/* a client that left without close_notify */
		log_debug("TLS client %s (%s): %s", k->from, id, err);
out:
	if (counted) {
		pthread_mutex_lock(&mu);
		pending_drop(k->addr);
		pthread_mutex_unlock(&mu);
	}
	proto_auth_msg_free(&m);
	free(ok);
	free(a);
	free(buf);
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	SSL_free(k->ssl);
	/* This thread's OpenSSL state freed now, not by a key destructor
	   after ctld_listen_stop has let exit go on. */
	OPENSSL_thread_stop();
	/* Off the list before its fd is closed (ctld_listen_stop shuts the
	   listed ones down), the last step. */
	pthread_mutex_lock(&mu);
	for (struct conn **pp = &conns; *pp; pp = &(*pp)->next) {
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	}
	close(k->fd);
	threads--;
	pthread_cond_broadcast(&threads_cv);
	pthread_mutex_unlock(&mu);
	free(k);
	return NULL;
}

/* One accepting thread leaves (abs-ctld is stopping). */
static void *
accept_end(void)
{
	OPENSSL_thread_stop();
	pthread_mutex_lock(&mu);
	threads--;
	pthread_cond_broadcast(&threads_cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* One listening socket's accepts, until abs-ctld stops. */
static void *
accept_thread(void *p)
{
	int lfd = *(int *)p;
	unsigned long dropped = 0;
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC |
		    SOCK_NONBLOCK);
		struct conn *k;
		pthread_t t;
		pthread_attr_t at;

		pthread_mutex_lock(&mu);
		bool end = stopping;
		pthread_mutex_unlock(&mu);
		if (end) {
			if (fd >= 0)
				close(fd);
			return accept_end();
		}
		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(100000);	/* out of fds: not a spin */
			continue;
		}
		unsigned char addr[16];
		bool per_peer;
		peer_addr(&ss, addr);
		pthread_mutex_lock(&mu);
		bool full = !pending_take(addr, &per_peer);
		pthread_mutex_unlock(&mu);
		if (full) {
			char who[64];
			peer_name(&ss, who, sizeof(who));
			if (dropped++ % 100 == 0)
				log_warn("%d TCP connections in their handshake%s: a "
				    "new one from %s is closed (%lu so far)",
				    per_peer ? PENDING_PER_PEER : PENDING_MAX,
				    per_peer ? " from one address" : "", who,
				    dropped);
			close(fd);
			continue;
		}
		proto_tls_keepalive(fd);
		k = calloc(1, sizeof(*k));
		/* The context under mu: another listening socket's thread
		   may replace it (a new CRL) and free the old one. */
		pthread_mutex_lock(&mu);
		reload_crl();
		if (k)
			k->ssl = SSL_new(ctx);
		pthread_mutex_unlock(&mu);
		if (!k || !k->ssl || SSL_set_fd(k->ssl, fd) != 1) {
			if (k)
				SSL_free(k->ssl);
			free(k);
			close(fd);
			pthread_mutex_lock(&mu);
			pending_drop(addr);
			pthread_mutex_unlock(&mu);
			continue;
		}
		memcpy(k->addr, addr, 16);
		k->fd = fd;
		peer_name(&ss, k->from, sizeof(k->from));
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 256 * 1024);
		/* Listed before it runs: it takes itself off as it ends. */
		pthread_mutex_lock(&mu);
		bool made = !stopping && pthread_create(&t, &at, conn_thread,
		    k) == 0;
		if (made) {
			k->next = conns;
			conns = k;
			threads++;
		}
		pthread_mutex_unlock(&mu);
		if (!made) {
			log_warn("TCP client %s: no thread for it: closed", k->from);
			SSL_free(k->ssl);
			close(fd);
			free(k);
			pthread_mutex_lock(&mu);
			pending_drop(addr);
			pthread_mutex_unlock(&mu);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

/* Threads of this process now (/proc/self/task), -1 if unknown. */
static int
tasks_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int tasks_before;	/* before the first accepting thread */

int
ctld_listen_run(char *err)
{
	tasks_before = tasks_now();
	for (int i = 0; i < nlfd; i++) {
		pthread_t t;
		pthread_mutex_lock(&mu);
		int rc = pthread_create(&t, NULL, accept_thread, &lfds[i]);
		if (rc == 0)
			threads++;
		pthread_mutex_unlock(&mu);
		if (rc != 0) {
			snprintf(err, PROTO_ERRLEN, "--listen: no thread: %s",
			    strerror(rc));
			return -rc;
		}
		pthread_detach(t);
	}
	for (int i = 0; i < nlfd; i++)
		log_info("listening on %s (TLS 1.3; client certificates from %s%s%s)",
		    bound[i], opts.ca, opts.crl ? ", CRL " : "", opts.crl ?
		    opts.crl : "");
	return 0;
}

/* Wait under mu until no thread is left or ms have passed. */
static void
threads_wait(long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (threads && pthread_cond_timedwait(&threads_cv, &mu, &until) == 0)
		;
}

int
ctld_listen_stop(void)
{
	int left;

	pthread_mutex_lock(&mu);
	stopping = true;
	/* accept() in a thread returns once its socket is shut down. */
	for (int i = 0; i < nlfd; i++)
		shutdown(lfds[i], SHUT_RDWR);
	/* The loop has closed its ends: a bridge ends by itself, with a
	   close_notify to its peer; a second for that. */
	threads_wait(1000);
	/* What is left (a handshake under way, a peer that does not read,
	   one partitioned away) is cut off: its thread's poll and reads
	   return at once. */
	for (struct conn *k = conns; k; k = k->next)
		shutdown(k->fd, SHUT_RDWR);
	threads_wait(5000);
	left = threads;
	pthread_mutex_unlock(&mu);
	/*
	 * A detached thread that has counted itself out is still ending; let
	 * it be gone before exit goes on (1 s at most): LeakSanitizer's scan
	 * at exit hung for good on a thread that ended during it.
	 */
	for (int i = 0; !left && tasks_before > 0 && i < 100 &&
	    tasks_now() > tasks_before; i++)
		usleep(10000);
	if (left)
		log_warn("%d TLS listener thread%s did not end in 6 s", left,
		    left == 1 ? "" : "s");
	return left;
}
