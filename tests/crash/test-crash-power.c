/* test-crash-power.c: acknowledged batches survive a simulated power cut at any write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crash-util.h"
#include "crash-vfs.h"
#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"
#include "nsr-store.h"
#include "nsr-test.h"

/*
 * Each round opens the database through the crash VFS, applies random
 * batches of CREATE and REMOVE with nsr_store_apply() until an armed power
 * cut makes one fail, rewrites the files as the cut leaves them, and
 * reopens them with the default VFS. Every batch acknowledged (apply
 * returned 0) must be there, and the failed batch must be there entirely
 * or not at all.
 */

#define CLIENTS 400
#define BATCH_MAX 16
#define BATCHES_PER_ROUND_MAX 2000

struct model {
	bool present[CLIENTS];
};

struct batch {
	struct nsr_request reqs[BATCH_MAX];
	struct nsr_request *ptrs[BATCH_MAX];
	size_t n;
};

struct power_run {
	const char *name;
	uint32_t rng;
	char *dir;
	char *path;
	struct model acked;	/* the state after the last acknowledged batch */
	struct model pending;	/* the state after the failed batch too */
	unsigned long batches_acked;
	unsigned long rounds;
	unsigned long cuts_during_open;
	unsigned long rounds_lost;	/* rounds that lost an acknowledged batch */
	char problem[640];
};

static void batch_release(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		nsr_request_release(&b->reqs[i]);
	b->n = 0;
}

/* Fill @b with random requests and apply them to @m, the model of their effect. */
static void batch_make(struct power_run *run, struct batch *b, struct model *m)
{
	b->n = 1 + crash_random(&run->rng) % BATCH_MAX;

	for (size_t i = 0; i < b->n; i++) {
		unsigned int client = crash_random(&run->rng) % CLIENTS;
		bool create = crash_random(&run->rng) % 3 != 0;
		struct nsr_request *req = &b->reqs[i];
		uint8_t hash[NSR_PRINCHASH_LEN];
		char id[64], address[32];

		nsr_request_init(req, create ? NSR_OP_CREATE : NSR_OP_REMOVE);
		crash_client_id(client, id, sizeof(id));
		crash_client_address(client, address, sizeof(address));
		crash_client_princhash(client, hash);
		ck_assert_int_eq(nsr_client_set_id(&req->client, id, strlen(id)), 0);
		if (create) {
			ck_assert_int_eq(nsr_client_set_princhash(&req->client, hash, sizeof(hash)), 0);
			ck_assert_int_eq(nsr_client_set_audit(&req->client, address, 2, NULL,
							      CRASH_CLIENT_IMPL_ID),
					 0);
		}
		b->ptrs[i] = req;
		m->present[client] = create;
	}
}

/* Which model the database matches: 0 @acked, 1 @pending, -1 neither. */
static int db_matches(const struct crash_db_state *s, const struct model *acked,
		      const struct model *pending)
{
	if (memcmp(s->present, acked->present, sizeof(acked->present)) == 0)
		return 0;
	if (memcmp(s->present, pending->present, sizeof(pending->present)) == 0)
		return 1;
	return -1;
}

/* Describe the first client whose presence differs from @m. */
static void describe_difference(const struct crash_db_state *s, const struct model *m,
				char *buf, size_t size)
{
	for (unsigned int i = 0; i < CLIENTS; i++) {
		if (s->present[i] != m->present[i]) {
			snprintf(buf, size, "client %u is %s but the last acknowledged batch left it %s",
				 i, s->present[i] ? "present" : "missing",
				 m->present[i] ? "present" : "removed");
			return;
		}
	}
	snprintf(buf, size, "no difference");
}

/*
 * One round: open through the shim, apply batches until the cut, cut, and
 * verify. Returns false, with run->problem set, on a durability failure.
 * @sync_off runs the negative control: synchronous=OFF, where losses are
 * expected and counted instead of failing.
 */
static bool power_round(struct power_run *run, enum crash_vfs_mode mode, bool sync_off)
{
	const struct nsr_store_options opts = { .create = true, .vfs_name = CRASH_VFS_NAME };
	struct nsr_store *store = NULL;
	struct crash_db_state state;
	struct batch b = { 0 };
	uint64_t countdown;
	int r, match;

	/* Mostly within the batches, sometimes in the open and its migration. */
	countdown = 1 + crash_random(&run->rng) % (sync_off ? 400 : 3000);
	if (sync_off) {
		/* The control cuts only after the open, whose migration is synced. */
		crash_vfs_arm(0, mode, crash_random(&run->rng));
	} else {
		crash_vfs_arm(countdown, mode, crash_random(&run->rng));
	}
	run->pending = run->acked;

	r = nsr_store_open(run->path, &opts, &store);
	if (r < 0) {
		ck_assert_msg(crash_vfs_tripped(), "%s: open failed without a power cut: %s",
			      run->name, strerror(-r));
		run->cuts_during_open++;
	} else {
		if (sync_off) {
			ck_assert_int_eq(sqlite3_exec(store->db, "PRAGMA synchronous = OFF", NULL,
						      NULL, NULL),
					 SQLITE_OK);
			crash_vfs_arm(countdown, mode, crash_random(&run->rng));
		}

		for (unsigned int i = 0; i < BATCHES_PER_ROUND_MAX; i++) {
			run->pending = run->acked;
			batch_make(run, &b, &run->pending);
			r = nsr_store_apply(store, b.ptrs, b.n);
			batch_release(&b);
			if (r < 0)
				break;
			run->acked = run->pending;
			run->batches_acked++;
		}
		nsr_store_close(store);
	}

	if (crash_vfs_tripped()) {
		ck_assert_int_eq(crash_vfs_power_cut(), 0);
	} else {
		/* The round ended before the cut: a clean shutdown. */
		crash_vfs_forget();
	}
	run->rounds++;

	r = crash_db_read(run->path, CLIENTS, &state);
	if (r < 0) {
		snprintf(run->problem, sizeof(run->problem),
			 "%s round %lu: the database does not open after the cut: %s", run->name,
			 run->rounds, strerror(-r));
		crash_db_state_free(&state);
		return false;
	}
	if (state.problem[0]) {
		snprintf(run->problem, sizeof(run->problem), "%s round %lu: %s", run->name,
			 run->rounds, state.problem);
		crash_db_state_free(&state);
		return false;
	}

	match = db_matches(&state, &run->acked, &run->pending);
	if (match < 0) {
		char diff[256];

		describe_difference(&state, &run->acked, diff, sizeof(diff));
		snprintf(run->problem, sizeof(run->problem),
			 "%s round %lu (mode %d): %s; the failed batch is neither wholly "
			 "present nor wholly absent", run->name, run->rounds, mode, diff);
		run->rounds_lost++;
		/* Continue from what the database holds. */
		memcpy(run->acked.present, state.present, sizeof(run->acked.present));
		crash_db_state_free(&state);
		return false;
	}

	/* The failed batch may have been durable before the cut: then it is acknowledged now. */
	if (match == 1)
		run->acked = run->pending;
	crash_db_state_free(&state);
	return true;
}

static void power_run_init(struct power_run *run, const char *name, uint32_t seed)
{
	memset(run, 0, sizeof(*run));
	run->name = name;
	run->rng = seed;
	run->dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(run->dir);
	ck_assert_int_ge(asprintf(&run->path, "%s/%s", run->dir, NSR_STORE_DB_NAME), 0);
}

static void power_run_free(struct power_run *run)
{
	nsr_test_rmtree(run->dir);
	free(run->dir);
	free(run->path);
}

/* Quiet the store's error logs: each cut makes a batch and the close fail by design. */
static void quiet_logs(void)
{
	nsr_log_open("test", NSR_LOG_STDERR, getenv("NSR_TEST_DEBUG") ? LOG_DEBUG : LOG_EMERG);
}

START_TEST(test_acknowledged_batches_survive_power_cuts)
{
	unsigned long rounds = crash_env_ulong("NSR_CRASH_POWER_ROUNDS", 90);
	uint64_t deadline = crash_now_ms() + 1000 * crash_env_ulong("NSR_CRASH_SECONDS", 40);
	static const enum crash_vfs_mode modes[] = { CRASH_VFS_DROP, CRASH_VFS_TEAR,
						     CRASH_VFS_REORDER };
	struct power_run run;

	quiet_logs();
	ck_assert_int_eq(crash_vfs_register(), SQLITE_OK);
	power_run_init(&run, "power", crash_seed("power-cut"));

	for (unsigned long i = 0; i < rounds && crash_now_ms() < deadline; i++) {
		bool ok = power_round(&run, modes[i % NSR_ARRAY_SIZE(modes)], false);

		ck_assert_msg(ok, "%s", run.problem);
	}

	fprintf(stderr, "power-cut: %lu rounds, %lu batches acknowledged, %lu cuts during open\n",
		run.rounds, run.batches_acked, run.cuts_during_open);
	ck_assert_uint_ge(run.rounds, 10);
	ck_assert_uint_gt(run.batches_acked, run.rounds);
	power_run_free(&run);
}
END_TEST

/*
 * The negative control: with synchronous=OFF, SQLite never syncs, so the
 * same cut must lose acknowledged batches. If it did not, the shim would
 * not be simulating anything and the test above could not fail.
 */
START_TEST(test_power_cut_loses_data_without_sync)
{
	struct power_run run;
	unsigned long lost = 0;

	quiet_logs();
	ck_assert_int_eq(crash_vfs_register(), SQLITE_OK);

	for (uint32_t i = 0, seed = crash_seed("power-cut-control"); i < 10; i++) {
		power_run_init(&run, "control", seed + i);
		if (!power_round(&run, CRASH_VFS_DROP, true))
			lost++;
		power_run_free(&run);
	}

	fprintf(stderr, "power-cut-control: %lu of 10 rounds lost acknowledged batches\n", lost);
	ck_assert_uint_gt(lost, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash-power");
	TCase *tc = tcase_create("power-cut");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_acknowledged_batches_survive_power_cuts);
	tcase_add_test(tc, test_power_cut_loses_data_without_sync);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
