/* test-owner.c: the ownership lease: acquire, renew, expiry, takeover and fencing. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsr-store.h"
#include "nsr-test-store.h"
#include "nsr-test.h"

static char *test_dir;
static char *db_path;

static void setup(void)
{
	nsr_test_store_setup(&test_dir, &db_path);
}

static void teardown(void)
{
	nsr_test_store_teardown(&test_dir, &db_path);
}

/* Each handle on the one file plays one node. */
static struct nsr_store *open_node(void)
{
	const struct nsr_store_options opts = { .create = true };

	return nsr_test_store_open(db_path, &opts);
}

static struct nsr_store *open_reader(void)
{
	const struct nsr_store_options opts = { .read_only = true };

	return nsr_test_store_open(db_path, &opts);
}

/* Apply one CREATE of @id and return the batch's result; the status is in *status. */
static int create(struct nsr_store *store, const char *id, int *status)
{
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };
	int r;

	nsr_request_init(&req, NSR_OP_CREATE);
	ck_assert_int_eq(nsr_client_set_id(&req.client, id, strlen(id)), 0);
	r = nsr_store_apply(store, batch, 1);
	*status = req.status;
	nsr_request_release(&req);
	return r;
}

static uint64_t count_all(struct nsr_store *store)
{
	uint64_t n = 0;

	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_ALL, &n), 0);
	return n;
}

/* Rewrite the row's expiry behind the store's back, as time passing would. */
static void set_expires(int64_t expires)
{
	sqlite3 *db;
	char sql[96];

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql), "UPDATE ownership SET expires = %lld", (long long)expires);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

START_TEST(test_acquire_free_row)
{
	struct nsr_store *a = open_node();
	struct nsr_owner owner, held;
	int64_t now = time(NULL);

	ck_assert_int_eq(nsr_store_get_owner(a, &owner), -ENOENT);
	ck_assert_int_eq(nsr_store_held_owner(a, &held), -ENOLCK);

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_str_eq(owner.node_id, "node-a");
	ck_assert_int_eq(owner.generation, 1);
	ck_assert_int_ge(owner.expires, now + 30);
	ck_assert_int_le(owner.expires, time(NULL) + 30);

	ck_assert_int_eq(nsr_store_held_owner(a, &held), 0);
	ck_assert_str_eq(held.node_id, "node-a");
	ck_assert_int_eq(held.generation, 1);
	nsr_store_close(a);
}
END_TEST

START_TEST(test_acquire_rejects_live_owner)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_owner owner;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, false), -EBUSY);

	ck_assert_int_eq(nsr_store_get_owner(b, &owner), 0);
	ck_assert_str_eq(owner.node_id, "node-a");
	ck_assert_int_eq(owner.generation, 1);
	ck_assert_int_eq(nsr_store_held_owner(b, &owner), -ENOLCK);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_acquire_same_node_bumps)
{
	struct nsr_store *a1 = open_node();
	struct nsr_store *a2 = open_node();
	struct nsr_owner owner;
	int status;

	ck_assert_int_eq(nsr_store_acquire(a1, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_acquire(a2, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_get_owner(a2, &owner), 0);
	ck_assert_int_eq(owner.generation, 2);

	/* The older handle of the same node is fenced too. */
	ck_assert_int_eq(create(a1, "old", &status), -ESTALE);
	ck_assert_int_eq(status, -ESTALE);
	ck_assert_int_eq(create(a2, "new", &status), 0);
	ck_assert_int_eq(status, 0);
	nsr_store_close(a1);
	nsr_store_close(a2);
}
END_TEST

START_TEST(test_acquire_after_expiry)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_owner owner;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	set_expires(time(NULL) - 1);

	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, false), 0);
	ck_assert_int_eq(nsr_store_get_owner(b, &owner), 0);
	ck_assert_str_eq(owner.node_id, "node-b");
	ck_assert_int_eq(owner.generation, 2);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_takeover_bumps_generation)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_owner owner;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 3600, false), 0);
	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, true), 0);

	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_str_eq(owner.node_id, "node-b");
	ck_assert_int_eq(owner.generation, 2);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_stale_owner_apply_rejected)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_request r1, r2;
	struct nsr_request *batch[2] = { &r1, &r2 };

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, true), 0);

	nsr_request_init(&r1, NSR_OP_CREATE);
	ck_assert_int_eq(nsr_client_set_id(&r1.client, "one", 3), 0);
	nsr_request_init(&r2, NSR_OP_GRACE_START);

	ck_assert_int_eq(nsr_store_apply(a, batch, 2), -ESTALE);
	ck_assert_int_eq(r1.status, -ESTALE);
	ck_assert_int_eq(r2.status, -ESTALE);
	nsr_request_release(&r1);
	nsr_request_release(&r2);

	/* Nothing of the refused batch reached the file. */
	struct nsr_store *reader = open_reader();
	struct nsr_grace_state grace;

	ck_assert_int_eq(count_all(reader), 0);
	ck_assert_int_eq(nsr_store_get_grace(reader, &grace), 0);
	ck_assert_int_eq(grace.current_epoch, 1);
	ck_assert_int_eq(grace.recovery_epoch, 0);
	nsr_store_close(reader);

	ck_assert_int_eq(nsr_store_renew(a), -ESTALE);
	ck_assert_int_eq(nsr_store_forget(a, (const uint8_t *)"one", 3, true, NULL, NULL),
			 -ESTALE);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_apply_renews_lease)
{
	struct nsr_store *a = open_node();
	struct nsr_owner owner;
	int status;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	set_expires(time(NULL) + 1);

	ck_assert_int_eq(create(a, "c1", &status), 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_int_ge(owner.expires, time(NULL) + 29);
	ck_assert_int_eq(owner.generation, 1);
	nsr_store_close(a);
}
END_TEST

START_TEST(test_renew_request_op)
{
	struct nsr_store *a = open_node();
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };
	struct nsr_owner owner;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	set_expires(time(NULL) + 1);

	nsr_request_init(&req, NSR_OP_RENEW);
	ck_assert_int_eq(nsr_store_apply(a, batch, 1), 0);
	ck_assert_int_eq(req.status, 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_int_ge(owner.expires, time(NULL) + 29);

	set_expires(time(NULL) + 1);
	ck_assert_int_eq(nsr_store_renew(a), 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_int_ge(owner.expires, time(NULL) + 29);
	nsr_store_close(a);
}
END_TEST

START_TEST(test_expired_but_unclaimed_still_writes)
{
	struct nsr_store *a = open_node();
	struct nsr_owner owner;
	int status;

	/* Expiry alone fences nothing: only a new generation does. */
	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	set_expires(time(NULL) - 100);
	ck_assert_int_eq(create(a, "c1", &status), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_int_gt(owner.expires, time(NULL));
	nsr_store_close(a);
}
END_TEST

START_TEST(test_release_frees_lease)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_owner owner;
	int status;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 3600, false), 0);
	ck_assert_int_eq(nsr_store_release(a), 0);
	ck_assert_int_eq(nsr_store_get_owner(a, &owner), 0);
	ck_assert_int_eq(owner.expires, 0);
	ck_assert_int_eq(nsr_store_held_owner(a, &owner), -ENOLCK);

	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, false), 0);
	ck_assert_int_eq(nsr_store_get_owner(b, &owner), 0);
	ck_assert_int_eq(owner.generation, 2);

	/* A released store holds no lease, so a second release is a no-op. */
	ck_assert_int_eq(nsr_store_release(a), 0);
	ck_assert_int_eq(create(b, "c1", &status), 0);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_release_after_takeover_stale)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	struct nsr_owner owner;

	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	ck_assert_int_eq(nsr_store_acquire(b, "node-b", 30, true), 0);
	ck_assert_int_eq(nsr_store_release(a), -ESTALE);

	/* The stale release left the new owner's lease alone. */
	ck_assert_int_eq(nsr_store_get_owner(b, &owner), 0);
	ck_assert_str_eq(owner.node_id, "node-b");
	ck_assert_int_gt(owner.expires, time(NULL));
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_acquire_invalid_arguments)
{
	struct nsr_store *a = open_node();

	ck_assert_int_eq(nsr_store_acquire(a, "", 30, false), -EINVAL);
	ck_assert_int_eq(nsr_store_acquire(a, "node a", 30, false), -EINVAL);
	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 0, false), -EINVAL);
	nsr_store_close(a);

	struct nsr_store *reader = open_reader();

	ck_assert_int_eq(nsr_store_acquire(reader, "node-a", 30, false), -EROFS);
	nsr_store_close(reader);
}
END_TEST

START_TEST(test_unowned_store_writes)
{
	struct nsr_store *a = open_node();
	struct nsr_store *b = open_node();
	int status;

	/* A store that never acquired skips the check, as nsrecoveryctl does. */
	ck_assert_int_eq(nsr_store_acquire(a, "node-a", 30, false), 0);
	ck_assert_int_eq(create(b, "admin", &status), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(create(a, "daemon", &status), 0);
	ck_assert_int_eq(count_all(a), 2);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("owner");
	TCase *tc = tcase_create("lease");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_acquire_free_row);
	tcase_add_test(tc, test_acquire_rejects_live_owner);
	tcase_add_test(tc, test_acquire_same_node_bumps);
	tcase_add_test(tc, test_acquire_after_expiry);
	tcase_add_test(tc, test_takeover_bumps_generation);
	tcase_add_test(tc, test_stale_owner_apply_rejected);
	tcase_add_test(tc, test_apply_renews_lease);
	tcase_add_test(tc, test_renew_request_op);
	tcase_add_test(tc, test_expired_but_unclaimed_still_writes);
	tcase_add_test(tc, test_release_frees_lease);
	tcase_add_test(tc, test_release_after_takeover_stale);
	tcase_add_test(tc, test_acquire_invalid_arguments);
	tcase_add_test(tc, test_unowned_store_writes);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
