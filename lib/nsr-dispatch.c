/* nsr-dispatch.c: the dispatcher: per-server queues, one shared worker pool, group commit. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-audit.h"
#include "nsr-dispatch.h"
#include "nsr-log.h"

struct nsr_dispatch_queue {
	struct nsr_dispatcher *dispatcher;
	struct nsr_store *store;
	char *name;

	/* Everything below is protected by dispatcher->lock. */
	struct nsr_request *head;
	struct nsr_request *tail;
	size_t length;
	bool scheduled;	/* on the run queue, or held by a worker */
	bool held;	/* a worker is applying a batch of this queue */
	bool closing;
	struct nsr_dispatch_queue *run_next;
};

struct nsr_dispatcher {
	pthread_mutex_t lock;
	pthread_cond_t work_ready;	/* the run queue is not empty, or stopping */
	pthread_cond_t queue_idle;	/* some queue became empty and unheld */

	struct nsr_dispatch_queue *run_head;
	struct nsr_dispatch_queue *run_tail;
	bool stopping;

	unsigned int max_batch;
	unsigned int max_queue;
	unsigned int n_threads;
	void (*batch_done)(void);
	pthread_t *threads;

	struct nsr_dispatch_stats stats;
};

/* Called with d->lock held. */
static void run_queue_push(struct nsr_dispatcher *d, struct nsr_dispatch_queue *q)
{
	q->run_next = NULL;
	if (d->run_tail)
		d->run_tail->run_next = q;
	else
		d->run_head = q;
	d->run_tail = q;
	q->scheduled = true;
	pthread_cond_signal(&d->work_ready);
}

/* Called with d->lock held. */
static struct nsr_dispatch_queue *run_queue_pop(struct nsr_dispatcher *d)
{
	struct nsr_dispatch_queue *q = d->run_head;

	if (!q)
		return NULL;
	d->run_head = q->run_next;
	if (!d->run_head)
		d->run_tail = NULL;
	q->run_next = NULL;
	return q;
}

/* Detach up to max_batch requests from @q. Called with d->lock held. */
static size_t queue_take_batch(struct nsr_dispatch_queue *q, unsigned int max_batch,
			       struct nsr_request **batch)
{
	size_t n = 0;

	while (q->head && n < max_batch) {
		struct nsr_request *req = q->head;

		q->head = req->next;
		req->next = NULL;
		batch[n++] = req;
	}
	if (!q->head)
		q->tail = NULL;
	q->length -= n;
	return n;
}

struct stream_ctx {
	struct nsr_request *req;
};

static int stream_one_record(const struct nsr_record *rec, void *userdata)
{
	struct stream_ctx *ctx = userdata;
	int r;

	r = ctx->req->emit_record(ctx->req, rec);
	if (r < 0)
		return r;
	if (r == 0)
		ctx->req->records_sent++;
	return 0;
}

/*
 * Stream the recovery epoch to a GRACE_START request whose epoch transition
 * has committed. Returns the number of records streamed.
 */
static uint64_t stream_recovery_epoch(struct nsr_dispatch_queue *q, struct nsr_request *req)
{
	struct stream_ctx ctx = { .req = req };
	int r;

	if (req->status < 0 || !req->emit_record)
		return 0;

	r = nsr_store_foreach_client(q->store, NSR_EPOCH_RECOVERY, stream_one_record, &ctx);
	if (r != 0) {
		req->status = r < 0 ? r : -EIO;
		nsr_log_error_errno(req->status,
				    "server %s: streaming the recovery epoch stopped after %llu records: %m",
				    q->name, (unsigned long long)req->records_sent);
	}
	return req->records_sent;
}

/*
 * Record the scope nfsd started with. Clients compare the scope across a
 * restart, so a change means that none of them can reclaim.
 */
static void note_scope(struct nsr_dispatch_queue *q, const char *scope)
{
	_cleanup_free_ char *previous = NULL;
	int r;

	r = nsr_store_note_scope(q->store, scope, &previous);
	if (r > 0)
		nsr_log_warning("server %s: nfsd's server scope changed from \"%s\" to \"%s\"; clients compare the scope and cannot reclaim across this change",
				q->name, previous, scope);
	else if (r < 0)
		nsr_log_warning_errno(r, "server %s: recording server scope \"%s\" failed: %m", q->name,
				      scope);
}

/*
 * Apply one batch of @q's requests and complete each of them. Runs on a
 * worker without d->lock, while q->held keeps other workers away.
 */
static void apply_batch(struct nsr_dispatch_queue *q, struct nsr_request **batch, size_t n)
{
	struct nsr_dispatcher *d = q->dispatcher;
	uint64_t streamed = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		if (batch[i]->op == NSR_OP_GRACE_START && batch[i]->scope)
			note_scope(q, batch[i]->scope);

	r = nsr_store_apply(q->store, batch, n);
	if (r < 0)
		nsr_log_error_errno(r, "server %s: commit of %zu requests failed, reporting the error to each: %m",
				    q->name, n);

	for (size_t i = 0; i < n; i++)
		if (batch[i]->op == NSR_OP_GRACE_START)
			streamed += stream_recovery_epoch(q, batch[i]);

	pthread_mutex_lock(&d->lock);
	d->stats.batches++;
	d->stats.requests += n;
	d->stats.records_streamed += streamed;
	if (r < 0)
		d->stats.failed_batches++;
	pthread_mutex_unlock(&d->lock);

	/* Completion hands each request back; it may be freed at once. */
	for (size_t i = 0; i < n; i++)
		batch[i]->complete(batch[i]);

	if (d->batch_done)
		d->batch_done();
}

static void *worker_main(void *userdata)
{
	struct nsr_dispatcher *d = userdata;
	struct nsr_request **batch;

	batch = calloc(d->max_batch, sizeof(*batch));
	if (!batch) {
		nsr_log_error("dispatcher worker: out of memory for a batch of %u requests, exiting",
			      d->max_batch);
		return NULL;
	}

	pthread_mutex_lock(&d->lock);
	for (;;) {
		struct nsr_dispatch_queue *q;
		size_t n;

		while (!d->run_head && !d->stopping)
			pthread_cond_wait(&d->work_ready, &d->lock);

		q = run_queue_pop(d);
		if (!q)
			break; /* stopping, and nothing is left to apply */

		q->held = true;
		n = queue_take_batch(q, d->max_batch, batch);
		pthread_mutex_unlock(&d->lock);

		if (n > 0)
			apply_batch(q, batch, n);

		pthread_mutex_lock(&d->lock);
		q->held = false;
		if (q->head)
			run_queue_push(d, q);
		else
			q->scheduled = false;
		pthread_cond_broadcast(&d->queue_idle);
	}
	pthread_mutex_unlock(&d->lock);

	free(batch);
	return NULL;
}

static void dispatcher_join(struct nsr_dispatcher *d, unsigned int started)
{
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	pthread_cond_broadcast(&d->work_ready);
	pthread_mutex_unlock(&d->lock);

	for (unsigned int i = 0; i < started; i++)
		pthread_join(d->threads[i], NULL);
}

int nsr_dispatcher_new(const struct nsr_dispatcher_options *opts, struct nsr_dispatcher **ret)
{
	static const struct nsr_dispatcher_options defaults = {
		.workers = 2,
		.max_batch = 256,
		.max_queue = 4096,
	};
	struct nsr_dispatcher *d;
	unsigned int i;
	int r;

	if (!opts)
		opts = &defaults;
	if (opts->workers == 0 || opts->max_batch == 0 || opts->max_queue == 0)
		return -EINVAL;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->threads = calloc(opts->workers, sizeof(*d->threads));
	if (!d->threads) {
		free(d);
		return -ENOMEM;
	}

	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->work_ready, NULL);
	pthread_cond_init(&d->queue_idle, NULL);
	d->max_batch = opts->max_batch;
	d->max_queue = opts->max_queue;
	d->batch_done = opts->batch_done;
	d->n_threads = opts->workers;

	for (i = 0; i < opts->workers; i++) {
		r = pthread_create(&d->threads[i], NULL, worker_main, d);
		if (r != 0) {
			nsr_log_error_errno(-r, "dispatcher: starting worker %u of %u failed: %m", i + 1,
					    opts->workers);
			dispatcher_join(d, i);
			free(d->threads);
			free(d);
			return -r;
		}
	}

	*ret = d;
	return 0;
}

void nsr_dispatcher_free(struct nsr_dispatcher *d)
{
	if (!d)
		return;

	dispatcher_join(d, d->n_threads);
	pthread_cond_destroy(&d->queue_idle);
	pthread_cond_destroy(&d->work_ready);
	pthread_mutex_destroy(&d->lock);
	free(d->threads);
	free(d);
}

void nsr_dispatcher_get_stats(struct nsr_dispatcher *d, struct nsr_dispatch_stats *ret)
{
	pthread_mutex_lock(&d->lock);
	*ret = d->stats;
	pthread_mutex_unlock(&d->lock);
}

int nsr_dispatch_queue_new(struct nsr_dispatcher *d, const char *name, struct nsr_store *store,
			   struct nsr_dispatch_queue **ret)
{
	struct nsr_dispatch_queue *q;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->name = strdup(name);
	if (!q->name) {
		free(q);
		return -ENOMEM;
	}
	q->dispatcher = d;
	q->store = store;

	*ret = q;
	return 0;
}

void nsr_dispatch_queue_free(struct nsr_dispatch_queue *q)
{
	struct nsr_dispatcher *d;

	if (!q)
		return;
	d = q->dispatcher;

	pthread_mutex_lock(&d->lock);
	q->closing = true;
	while (q->scheduled)
		pthread_cond_wait(&d->queue_idle, &d->lock);
	pthread_mutex_unlock(&d->lock);

	free(q->name);
	free(q);
}

int nsr_dispatch_submit(struct nsr_dispatch_queue *q, struct nsr_request *req)
{
	struct nsr_dispatcher *d = q->dispatcher;
	int r = 0;

	if (!req->complete || req->op == NSR_OP_VERSION)
		return -EINVAL;

	req->next = NULL;
	req->status = 0;
	req->records_sent = 0;

	pthread_mutex_lock(&d->lock);
	if (q->closing || d->stopping) {
		r = -ESHUTDOWN;
		goto out;
	}
	if (q->length >= d->max_queue) {
		r = -EAGAIN;
		goto out;
	}

	if (q->tail)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
	q->length++;

	if (!q->scheduled)
		run_queue_push(d, q);
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

struct wait_ctx {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	nsr_complete_fn complete;
};

static void wait_complete(struct nsr_request *req)
{
	struct wait_ctx *ctx = req->waiter;

	req->waiter = NULL;
	req->complete = ctx->complete;
	if (req->complete)
		req->complete(req);

	pthread_mutex_lock(&ctx->lock);
	ctx->done = true;
	pthread_cond_signal(&ctx->done_cond);
	pthread_mutex_unlock(&ctx->lock);
}

int nsr_dispatch_submit_wait(struct nsr_dispatch_queue *q, struct nsr_request *req)
{
	struct wait_ctx ctx = {
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.done_cond = PTHREAD_COND_INITIALIZER,
		.complete = req->complete,
	};
	int r;

	req->complete = wait_complete;
	req->waiter = &ctx;

	r = nsr_dispatch_submit(q, req);
	if (r < 0) {
		req->complete = ctx.complete;
		req->waiter = NULL;
		return r;
	}

	pthread_mutex_lock(&ctx.lock);
	while (!ctx.done)
		pthread_cond_wait(&ctx.done_cond, &ctx.lock);
	pthread_mutex_unlock(&ctx.lock);

	pthread_cond_destroy(&ctx.done_cond);
	pthread_mutex_destroy(&ctx.lock);
	return 0;
}
