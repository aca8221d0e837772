/* nsr-dispatch.h: the dispatcher: per-server queues, one shared worker pool, group commit. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nsr-request.h"
#include "nsr-store.h"

/*
 * Threading model.
 *
 * One dispatcher runs a fixed pool of worker threads that serves every
 * virtual server on the host; no server has threads of its own. Each server
 * has a queue. Transports submit requests to a queue from any thread, and
 * a queue with work waits on the dispatcher's run queue until a worker
 * takes it.
 *
 * A worker holds one queue at a time, so one server's store is used by one
 * thread at a time, while different servers commit in parallel on different
 * workers. The worker takes every queued request of that server, up to
 * max_batch, applies them in one transaction with nsr_store_apply(), and
 * completes them only after the commit is durable. Requests that arrive
 * while a commit is in progress wait for the next batch, which is what
 * makes this group commit: under load, one fsync covers many requests.
 *
 * Every submitted request is completed exactly once, including when the
 * commit fails (all of the batch get the error) and at shutdown (queued
 * requests are still applied before the workers exit).
 */

struct nsr_dispatcher;
struct nsr_dispatch_queue;

struct nsr_dispatcher_options {
	unsigned int workers;	/* worker threads, >= 1 */
	unsigned int max_batch;	/* requests per transaction, >= 1 */
	unsigned int max_queue;	/* queued requests per server before -EAGAIN, >= 1 */

	/*
	 * Called on a worker after it completed every request of one batch,
	 * or NULL. A transport that held its answers back sends them here.
	 */
	void (*batch_done)(void);
};

struct nsr_dispatch_stats {
	uint64_t requests;	/* completed requests */
	uint64_t batches;	/* transactions attempted */
	uint64_t failed_batches; /* transactions whose commit failed */
	uint64_t records_streamed; /* GRACE_START records handed to transports */
};

/**
 * nsr_dispatcher_new - start the worker pool
 * @opts: pool options; NULL selects 2 workers, batches of 256, queues of 4096
 *
 * Returns 0, -EINVAL for a zero option, -ENOMEM, or the pthread error.
 */
int nsr_dispatcher_new(const struct nsr_dispatcher_options *opts, struct nsr_dispatcher **ret);

/**
 * nsr_dispatcher_free - complete every queued request, then stop the pool
 *
 * Every queue must have been freed first. NULL is allowed.
 */
void nsr_dispatcher_free(struct nsr_dispatcher *d);

/**
 * nsr_dispatcher_get_stats - a snapshot of the counters
 */
void nsr_dispatcher_get_stats(struct nsr_dispatcher *d, struct nsr_dispatch_stats *ret);

/**
 * nsr_dispatch_queue_new - create the queue of one server
 * @name: the server's name, for logs; copied
 * @store: the server's store; it must outlive the queue
 *
 * Returns 0 or -ENOMEM.
 */
int nsr_dispatch_queue_new(struct nsr_dispatcher *d, const char *name, struct nsr_store *store,
			   struct nsr_dispatch_queue **ret);

/**
 * nsr_dispatch_queue_free - drain and free a queue
 *
 * Blocks until every request submitted to @q has completed. After it
 * returns, no worker touches @q or its store. NULL is allowed.
 */
void nsr_dispatch_queue_free(struct nsr_dispatch_queue *q);

/**
 * nsr_dispatch_submit - queue a request for the server of @q
 * @req: an initialized request with req->complete set; the dispatcher owns
 *       it until it calls req->complete(req) from a worker thread
 *
 * Returns 0 once queued, -EAGAIN when the queue contains max_queue requests
 * (apply backpressure: stop reading that transport and retry later),
 * -ESHUTDOWN once the queue is being freed, or -EINVAL for a request the
 * store does not handle (NSR_OP_VERSION, no completion callback). On error
 * @req is not queued and req->complete is not called.
 */
int nsr_dispatch_submit(struct nsr_dispatch_queue *q, struct nsr_request *req);

/**
 * nsr_dispatch_submit_wait - submit @req and wait for its completion
 *
 * For callers without an event loop, such as tests and the CLI. @req's own
 * complete callback, if any, runs first. Returns the submit error, or 0
 * once completed; the outcome is in req->status.
 */
int nsr_dispatch_submit_wait(struct nsr_dispatch_queue *q, struct nsr_request *req);
