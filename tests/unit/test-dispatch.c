/* test-dispatch.c: the worker pool, group commit and commit failure reporting. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-dispatch.h"
#include "nsr-macro.h"
#include "nsr-serverdir.h"
#include "nsr-store.h"
#include "nsr-test.h"

struct fixture {
	char *dir;
	char *db_path;
	struct nsr_store *store;
	struct nsr_dispatcher *dispatcher;
	struct nsr_dispatch_queue *queue;
};

static void fixture_open(struct fixture *f, unsigned int workers)
{
	struct nsr_store_options opts = { .create = true };
	struct nsr_dispatcher_options dopts = {
		.workers = workers,
		.max_batch = 512,
		.max_queue = 100000,
	};

	f->dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(f->dir);
	ck_assert_int_eq(nsr_serverdir_db_path(f->dir, &f->db_path), 0);
	ck_assert_int_eq(nsr_store_open(f->db_path, &opts, &f->store), 0);
	ck_assert_int_eq(nsr_dispatcher_new(&dopts, &f->dispatcher), 0);
	ck_assert_int_eq(nsr_dispatch_queue_new(f->dispatcher, "test", f->store, &f->queue), 0);
}

static void fixture_close(struct fixture *f)
{
	nsr_dispatch_queue_free(f->queue);
	nsr_dispatcher_free(f->dispatcher);
	nsr_store_close(f->store);
	nsr_test_rmtree(f->dir);
	free(f->db_path);
	free(f->dir);
}

static void make_create(struct nsr_request *req, unsigned int caller, unsigned int n)
{
	char id[64];

	nsr_request_init(req, NSR_OP_CREATE);
	snprintf(id, sizeof(id), "caller-%u-client-%u", caller, n);
	ck_assert_int_eq(nsr_client_set_id(&req->client, id, strlen(id)), 0);
}

static uint64_t count_current(struct nsr_store *store)
{
	uint64_t n = 0;

	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_CURRENT, &n), 0);
	return n;
}

#define CALLERS 16
#define PER_CALLER 100

struct caller {
	struct fixture *f;
	unsigned int index;
	unsigned int answered;
	unsigned int succeeded;
};

static void *caller_main(void *userdata)
{
	struct caller *c = userdata;

	for (unsigned int i = 0; i < PER_CALLER; i++) {
		struct nsr_request req;

		make_create(&req, c->index, i);
		if (nsr_dispatch_submit_wait(c->f->queue, &req) == 0) {
			c->answered++;
			if (req.status == 0)
				c->succeeded++;
		}
		nsr_request_release(&req);
	}
	return NULL;
}

START_TEST(test_concurrent_callers_answered)
{
	struct caller callers[CALLERS];
	pthread_t threads[CALLERS];
	struct nsr_dispatch_stats stats;
	struct fixture f;

	fixture_open(&f, 2);

	for (unsigned int i = 0; i < CALLERS; i++) {
		callers[i] = (struct caller){ .f = &f, .index = i };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
	}
	for (unsigned int i = 0; i < CALLERS; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_uint_eq(callers[i].answered, PER_CALLER);
		ck_assert_uint_eq(callers[i].succeeded, PER_CALLER);
	}

	nsr_dispatcher_get_stats(f.dispatcher, &stats);
	ck_assert_uint_eq(stats.requests, CALLERS * PER_CALLER);
	ck_assert_uint_le(stats.batches, stats.requests);
	ck_assert_uint_eq(stats.failed_batches, 0);
	ck_assert_uint_eq(count_current(f.store), CALLERS * PER_CALLER);

	fixture_close(&f);
}
END_TEST

/*
 * A gate that holds the worker inside the first request's completion, so
 * that every request submitted meanwhile lands in one later batch.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered;
	bool released;
};

static struct gate gate = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static void gate_complete(struct nsr_request *req)
{
	pthread_mutex_lock(&gate.lock);
	gate.entered = true;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.released)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
}

struct outcome {
	pthread_mutex_t lock;
	unsigned int completed;
	unsigned int failed;
	unsigned int succeeded;
};

static struct outcome outcome = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void outcome_complete(struct nsr_request *req)
{
	pthread_mutex_lock(&outcome.lock);
	outcome.completed++;
	if (req->status == 0)
		outcome.succeeded++;
	else
		outcome.failed++;
	pthread_mutex_unlock(&outcome.lock);
}

#define BATCH 50

START_TEST(test_commit_failure_reaches_every_caller)
{
	static struct nsr_request reqs[BATCH];
	struct nsr_request first;
	struct nsr_dispatch_stats stats;
	struct fixture f;

	fixture_open(&f, 1);

	make_create(&first, 0, 0);
	first.complete = gate_complete;
	ck_assert_int_eq(nsr_dispatch_submit(f.queue, &first), 0);

	pthread_mutex_lock(&gate.lock);
	while (!gate.entered)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);

	for (unsigned int i = 0; i < BATCH; i++) {
		make_create(&reqs[i], 1, i);
		reqs[i].complete = outcome_complete;
		ck_assert_int_eq(nsr_dispatch_submit(f.queue, &reqs[i]), 0);
	}

	/* The worker is parked in a completion, outside the store. */
	nsr_store_fail_next_commits(f.store, 1);

	pthread_mutex_lock(&gate.lock);
	gate.released = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);

	nsr_dispatch_queue_free(f.queue);
	f.queue = NULL;

	ck_assert_int_eq(first.status, 0);
	ck_assert_uint_eq(outcome.completed, BATCH);
	ck_assert_uint_eq(outcome.succeeded, 0);
	ck_assert_uint_eq(outcome.failed, BATCH);
	for (unsigned int i = 0; i < BATCH; i++)
		ck_assert_int_lt(reqs[i].status, 0);

	nsr_dispatcher_get_stats(f.dispatcher, &stats);
	ck_assert_uint_eq(stats.batches, 2);
	ck_assert_uint_eq(stats.failed_batches, 1);
	ck_assert_uint_eq(count_current(f.store), 1);

	for (unsigned int i = 0; i < BATCH; i++)
		nsr_request_release(&reqs[i]);
	nsr_request_release(&first);
	fixture_close(&f);
}
END_TEST

static unsigned int drained;

static void count_drained(struct nsr_request *req)
{
	__atomic_add_fetch(&drained, 1, __ATOMIC_SEQ_CST);
}

START_TEST(test_shutdown_completes_queued)
{
	static struct nsr_request reqs[500];
	struct fixture f;

	fixture_open(&f, 2);

	for (unsigned int i = 0; i < NSR_ARRAY_SIZE(reqs); i++) {
		make_create(&reqs[i], 2, i);
		reqs[i].complete = count_drained;
		ck_assert_int_eq(nsr_dispatch_submit(f.queue, &reqs[i]), 0);
	}

	nsr_dispatch_queue_free(f.queue);
	f.queue = NULL;
	ck_assert_uint_eq(drained, NSR_ARRAY_SIZE(reqs));
	ck_assert_uint_eq(count_current(f.store), NSR_ARRAY_SIZE(reqs));

	for (unsigned int i = 0; i < NSR_ARRAY_SIZE(reqs); i++)
		nsr_request_release(&reqs[i]);
	fixture_close(&f);
}
END_TEST

struct streamed {
	unsigned int n;
	char last[NSR_CLIENTID_TEXT_MAX];
};

static int collect_record(struct nsr_request *req, const struct nsr_record *rec)
{
	struct streamed *s = req->transport;

	s->n++;
	nsr_clientid_format(rec->id, rec->id_len, s->last);
	return 0;
}

START_TEST(test_grace_start_streams_recovery_epoch)
{
	struct streamed seen = { 0 };
	struct nsr_request req;
	struct fixture f;

	fixture_open(&f, 2);

	for (unsigned int i = 0; i < 10; i++) {
		make_create(&req, 3, i);
		ck_assert_int_eq(nsr_dispatch_submit_wait(f.queue, &req), 0);
		ck_assert_int_eq(req.status, 0);
		nsr_request_release(&req);
	}

	nsr_request_init(&req, NSR_OP_GRACE_START);
	req.emit_record = collect_record;
	req.transport = &seen;
	ck_assert_int_eq(nsr_dispatch_submit_wait(f.queue, &req), 0);
	ck_assert_int_eq(req.status, 0);
	ck_assert_uint_eq(req.records_sent, 10);
	ck_assert_uint_eq(seen.n, 10);
	ck_assert_uint_eq(count_current(f.store), 0);
	nsr_request_release(&req);

	fixture_close(&f);
}
END_TEST

START_TEST(test_submit_rejects_version_op)
{
	struct nsr_request req;
	struct fixture f;

	fixture_open(&f, 1);

	nsr_request_init(&req, NSR_OP_VERSION);
	req.complete = count_drained;
	ck_assert_int_eq(nsr_dispatch_submit(f.queue, &req), -EINVAL);

	nsr_request_init(&req, NSR_OP_CREATE);
	ck_assert_int_eq(nsr_dispatch_submit(f.queue, &req), -EINVAL);

	fixture_close(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dispatch");
	TCase *tc = tcase_create("dispatch");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_callers_answered);
	tcase_add_test(tc, test_commit_failure_reaches_every_caller);
	tcase_add_test(tc, test_shutdown_completes_queued);
	tcase_add_test(tc, test_grace_start_streams_recovery_epoch);
	tcase_add_test(tc, test_submit_rejects_version_op);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
