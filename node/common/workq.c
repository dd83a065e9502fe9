/* SPDX-License-Identifier: MIT */
/*
 * The daemon's worker threads (node/common/workq.h). Jobs travel through two lock-free
 * stacks: the loop pushes submissions, workers push finished jobs. The loop never takes a
 * lock a worker may hold and never waits for a worker to be scheduled: it pushes with a
 * compare-and-swap, posts a semaphore (an atomic add and, when a worker sleeps, a wake-up),
 * and takes finished jobs with one atomic exchange after reading the eventfd.
 *
 * Order: the worker that finds the FIFO empty takes the whole submission stack and reverses
 * it, so jobs start in the order they were queued (as in libuv's pool); finished jobs are
 * reversed too, so done callbacks of one wake-up run in the order the jobs finished.
 */
#include "node/common/workq.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	struct job *next;
	uv_work_t *w;
	uv_work_cb work;
	uv_after_work_cb done;
};

static struct {
	uv_loop_t *loop; /* attached loop, NULL when none */
	uv_poll_t poll;
	int efd;
	unsigned long inflight; /* loop thread only */
	struct job *sub;	/* submissions, newest first (atomic) */
	struct job *fin;	/* finished jobs, newest first (atomic) */
	sem_t sem;		/* one post per submission */
	pthread_mutex_t mu;	/* workers only: fifo */
	struct job *fifo;
	unsigned threads; /* started, for the process's life */
} Q = {.efd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static void push(struct job **top, struct job *j)
{
	struct job *old = __atomic_load_n(top, __ATOMIC_RELAXED);

	do
		j->next = old;
	while (!__atomic_compare_exchange_n(top, &old, j, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
}

/* Everything on @top, oldest first. */
static struct job *take_all(struct job **top)
{
	struct job *j = __atomic_exchange_n(top, NULL, __ATOMIC_ACQUIRE), *rev = NULL;

	while (j) {
		struct job *next = j->next;

		j->next = rev;
		rev = j;
		j = next;
	}
	return rev;
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		const uint64_t one = 1;
		struct job *j;

		while (sem_wait(&Q.sem) != 0)
			; /* EINTR */
		/* The post came after the push, so a job is in the FIFO or on the stack. */
		pthread_mutex_lock(&Q.mu);
		if (!Q.fifo)
			Q.fifo = take_all(&Q.sub);
		j = Q.fifo;
		Q.fifo = j->next;
		pthread_mutex_unlock(&Q.mu);
		j->work(j->w);
		push(&Q.fin, j);
		while (write(Q.efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	uint64_t v;
	struct job *j;

	(void)status;
	(void)events;
	/*
	 * Read before taking: a job pushed after the exchange writes the eventfd again. A failed
	 * read (EAGAIN: nothing written since the last one) changes nothing, so jobs are taken
	 * whatever it returns.
	 */
	if (read(Q.efd, &v, sizeof(v)) < 0)
		v = 0;
	j = take_all(&Q.fin);
	while (j) {
		struct job *next = j->next;

		Q.inflight--;
		j->done(j->w, 0);
		free(j);
		j = next;
	}
	/* A job in flight keeps the loop alive, as a uv_work_t does. */
	if (Q.inflight)
		uv_ref((uv_handle_t *)p);
	else
		uv_unref((uv_handle_t *)p);
}

static int start_threads(unsigned n)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int rc = 0;

	if (sem_init(&Q.sem, 0, 0) != 0)
		return -errno;
	if (pthread_attr_init(&attr) != 0)
		return -ENOMEM;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals go to the loop thread (uv_signal), never to a worker. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (Q.threads < n) {
		pthread_t t;

		rc = pthread_create(&t, &attr, worker, NULL);
		if (rc != 0)
			break;
		Q.threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return Q.threads ? 0 : -rc;
}

int node_workq_attach(uv_loop_t *loop, unsigned threads)
{
	int rc;

	if (Q.loop)
		return -EBUSY;
	Q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (Q.efd < 0)
		return -errno;
	if (!Q.threads && (rc = start_threads(threads ? threads : 1)) != 0)
		goto fail;
	if ((rc = uv_poll_init(loop, &Q.poll, Q.efd)) != 0)
		goto fail;
	uv_poll_start(&Q.poll, UV_READABLE, on_poll);
	uv_unref((uv_handle_t *)&Q.poll);
	Q.loop = loop;
	Q.inflight = 0;
	return 0;
fail:
	close(Q.efd);
	Q.efd = -1;
	return rc;
}

static void on_closed(uv_handle_t *h)
{
	(void)h;
	close(Q.efd);
	Q.efd = -1;
}

void node_workq_detach(uv_loop_t *loop)
{
	if (!Q.loop || Q.loop != loop)
		return;
	Q.loop = NULL;
	uv_close((uv_handle_t *)&Q.poll, on_closed);
}

int node_workq_queue(uv_loop_t *loop, uv_work_t *w, uv_work_cb work, uv_after_work_cb done)
{
	struct job *j;

	if (loop != Q.loop || !work || !done || !(j = malloc(sizeof(*j))))
		return uv_queue_work(loop, w, work, done);
	w->loop = loop;
	w->work_cb = work;
	w->after_work_cb = done;
	j->w = w;
	j->work = work;
	j->done = done;
	Q.inflight++;
	uv_ref((uv_handle_t *)&Q.poll);
	push(&Q.sub, j);
	sem_post(&Q.sem);
	return 0;
}

struct release {
	uv_work_t w;
	void (*fn)(void *p);
	void *p;
};

static void release_work(uv_work_t *w)
{
	struct release *r = (struct release *)w;

	r->fn(r->p);
}

static void release_done(uv_work_t *w, int status)
{
	(void)status;
	free(w);
}

void node_workq_release(uv_loop_t *loop, void (*fn)(void *p), void *p)
{
	struct release *r;

	if (!p)
		return;
	if (loop != Q.loop || !(r = malloc(sizeof(*r)))) {
		fn(p);
		return;
	}
	r->fn = fn;
	r->p = p;
	if (node_workq_queue(loop, &r->w, release_work, release_done) < 0) {
		free(r);
		fn(p);
	}
}

void node_workq_free(uv_loop_t *loop, void *p)
{
	node_workq_release(loop, free, p);
}
