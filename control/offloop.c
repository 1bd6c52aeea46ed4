/*
 * Work off abs-ctld's loop: decoding and searching file indexes (an
 * index upload checked whole, find, the paths a restore names) costs
 * seconds for a big tree and must not hold every other client. One worker
 * thread takes such work in turn (first come, first served; a request of
 * many steps goes to the back of the queue after each); it owns no
 * catalog handle, no client and no drive: it sees only the buffers the
 * loop gave it, read from the catalog just before its turn (one step's
 * bytes in memory at a time, however many wait). What it made goes back to the loop (an eventfd wakes it),
 * which reads the catalog, answers the client, or gives the worker the
 * request's next step. A client waits for its answer in order: its next
 * requests are read once this one is answered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "control/ctld.h"

/* Requests waiting for the worker at once; more are refused (busy). */
#define WORK_MAX 64

struct work {
	struct client *cl;	/* NULL once the client is gone */
	ctld_prep_fn *prep;
	ctld_work_fn *fn;
	ctld_done_fn *done;
	ctld_free_fn *fr;
	void *arg;
	struct work *next;	/* in the loop's queue */
	struct work *all_next;	/* every work not answered (the loop's) */
};

/* The worker's: one work at a time, handed over and back under mu. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct work *slot, *finished;
/* The loop's: works waiting their turn, the one the worker has. */
static struct work *queue, **queue_tail = &queue, *running;
static struct work *all;
static size_t nall;
static int efd = -1;
static bool started;

/* Wake the loop (its epoll watches efd). */
static void
poke(void)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("index worker: waking the loop: %s", strerror(errno));
}

/* The worker: each work handed to it, then back to the loop. */
static void *
worker(void *unused)
{
	(void)unused;
	for (;;) {
		struct work *w;

		pthread_mutex_lock(&mu);
		while (!slot)
			pthread_cond_wait(&cv, &mu);
		w = slot;
		slot = NULL;
		pthread_mutex_unlock(&mu);
		w->fn(w->arg);
		pthread_mutex_lock(&mu);
		finished = w;
		pthread_mutex_unlock(&mu);
		poke();
	}
	return NULL;
}

int
ctld_offload_fd(void)
{
	if (efd < 0)
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return efd;
}

/* Behind the others (the loop). */
static void
enqueue(struct work *w)
{
	w->next = NULL;
	*queue_tail = w;
	queue_tail = &w->next;
}

json_t *
ctld_offload(struct client *cl, ctld_prep_fn *prep, ctld_work_fn *fn,
    ctld_done_fn *done, ctld_free_fn *fr, void *arg, const char **code,
    char *err)
{
	struct work *w;
	pthread_t t;
	int rc;

	if (nall >= WORK_MAX) {
		fr(arg);
		*code = PROTO_E_BUSY;
		snprintf(err, PROTO_ERRLEN, "abs-ctld is searching or checking %zu"
		    " file indexes for others: try again in a while", nall);
		return NULL;
	}
	if (ctld_offload_fd() < 0 || !(w = calloc(1, sizeof(*w)))) {
		fr(arg);
		*code = PROTO_E_INTERNAL;
		snprintf(err, PROTO_ERRLEN, "cannot queue work off the loop: %s",
		    strerror(errno));
		return NULL;
	}
	if (!started) {
		if ((rc = pthread_create(&t, NULL, worker, NULL)) != 0) {
			free(w);
			fr(arg);
			*code = PROTO_E_INTERNAL;
			snprintf(err, PROTO_ERRLEN, "cannot start the index worker:"
			    " %s", strerror(rc));
			return NULL;
		}
		pthread_detach(t);
		started = true;
	}
	*w = (struct work){ .cl = cl, .prep = prep, .fn = fn, .done = done,
	    .fr = fr, .arg = arg, .all_next = all };
	all = w;
	nall++;
	enqueue(w);
	poke();		/* its turn is taken in the loop, not here */
	*code = CTLD_PENDING;
	return NULL;
}

/* Forget w (answered, or its client gone) and free it. */
static void
forget(struct work *w)
{
	for (struct work **pp = &all; *pp; pp = &(*pp)->all_next)
		if (*pp == w) {
			*pp = w->all_next;
			break;
		}
	nall--;
	w->fr(w->arg);
	free(w);
}

/* w's step is over: answer its client, or queue its next step. */
static void
complete(struct ctld *c, struct work *w)
{
	char err[PROTO_ERRLEN] = "";
	const char *code = PROTO_E_INTERNAL;
	json_t *res;

	if (!w->cl) {
		forget(w);
		return;
	}
	res = w->done(c, w->cl, w->arg, &code, err);
	if (!res && code && strcmp(code, CTLD_PENDING) == 0) {
		enqueue(w);
		return;
	}
	ctld_reply(w->cl, res, code, err);
	forget(w);
}

/*
 * While the worker is free: the next work's prep (in the loop: it reads
 * what the step needs, one step's bytes in memory at a time), then the
 * worker has it.
 */
static void
kick(struct ctld *c)
{
	while (!running && queue) {
		char err[PROTO_ERRLEN] = "";
		const char *code = PROTO_E_INTERNAL;
		struct work *w = queue;
		int rc = 0;

		if (!(queue = w->next))
			queue_tail = &queue;
		if (!w->cl) {
			forget(w);
			continue;
		}
		if (w->prep && (rc = w->prep(c, w->arg, &code, err)) < 0) {
			ctld_reply(w->cl, NULL, code, err);
			forget(w);
			continue;
		}
		if (rc > 0) {	/* nothing for the worker: done as it is */
			complete(c, w);
			continue;
		}
		running = w;
		pthread_mutex_lock(&mu);
		slot = w;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mu);
	}
}

void
ctld_offload_done(struct ctld *c)
{
	struct work *w;
	uint64_t n;

	if (read(efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("index worker: %s", strerror(errno));
	pthread_mutex_lock(&mu);
	w = finished;
	finished = NULL;
	pthread_mutex_unlock(&mu);
	if (w) {
		running = NULL;
		complete(c, w);
	}
	kick(c);
}

void
ctld_offload_client_gone(struct client *cl)
{
	for (struct work *w = all; w; w = w->all_next)
		if (w->cl == cl)
			w->cl = NULL;
}
