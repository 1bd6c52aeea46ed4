/*
 * Work off abs-ctld's loop: decoding and searching file indexes (an
 * index upload checked whole, find, the paths a restore names) costs
 * seconds for a big tree and must not hold every other client. One worker
 * thread takes such work in turn (first come, first served; a request of
 * many steps goes to the back of the queue after each); it owns no
 * catalog handle, no client and no drive: it sees only the buffers the
 * loop gave it. What it made goes back to the loop (an eventfd wakes it),
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
	ctld_work_fn *fn;
	ctld_done_fn *done;
	ctld_free_fn *fr;
	void *arg;
	struct work *next;	/* in the queue or the done list */
	struct work *all_next;	/* every work not answered (the loop's) */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct work *todo, **todo_tail = &todo, *done_list;
static struct work *all;	/* the loop's alone */
static size_t nall;
static int efd = -1;
static bool started;

/* The worker: each work in turn, handed back through done_list. */
static void *
worker(void *unused)
{
	(void)unused;
	for (;;) {
		struct work *w;
		uint64_t one = 1;

		pthread_mutex_lock(&mu);
		while (!todo)
			pthread_cond_wait(&cv, &mu);
		w = todo;
		if (!(todo = w->next))
			todo_tail = &todo;
		pthread_mutex_unlock(&mu);
		w->fn(w->arg);
		pthread_mutex_lock(&mu);
		w->next = done_list;
		done_list = w;
		pthread_mutex_unlock(&mu);
		if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("index worker: waking the loop: %s", strerror(errno));
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

/* Queue w for the worker (the loop). */
static void
enqueue(struct work *w)
{
	pthread_mutex_lock(&mu);
	w->next = NULL;
	*todo_tail = w;
	todo_tail = &w->next;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

json_t *
ctld_offload(struct client *cl, ctld_work_fn *fn, ctld_done_fn *done,
    ctld_free_fn *fr, void *arg, const char **code, char *err)
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
	*w = (struct work){ .cl = cl, .fn = fn, .done = done, .fr = fr,
	    .arg = arg, .all_next = all };
	all = w;
	nall++;
	enqueue(w);
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

void
ctld_offload_done(struct ctld *c)
{
	struct work *list, *w, *rev = NULL;
	uint64_t n;

	if (read(efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("index worker: %s", strerror(errno));
	pthread_mutex_lock(&mu);
	list = done_list;
	done_list = NULL;
	pthread_mutex_unlock(&mu);
	/* In the order they ended. */
	while (list) {
		w = list;
		list = w->next;
		w->next = rev;
		rev = w;
	}
	while ((w = rev)) {
		char err[PROTO_ERRLEN] = "";
		const char *code = PROTO_E_INTERNAL;
		json_t *res;
		rev = w->next;
		if (!w->cl) {
			forget(w);
			continue;
		}
		res = w->done(c, w->cl, w->arg, &code, err);
		if (!res && code && strcmp(code, CTLD_PENDING) == 0) {
			enqueue(w);	/* its next step, behind the others */
			continue;
		}
		ctld_reply(w->cl, res, code, err);
		forget(w);
	}
}

void
ctld_offload_client_gone(struct client *cl)
{
	for (struct work *w = all; w; w = w->all_next)
		if (w->cl == cl)
			w->cl = NULL;
}
