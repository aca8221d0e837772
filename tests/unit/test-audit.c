/* test-audit.c: audit findings (shared client ids, scope changes), forget and import. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsr-audit.h"
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

static struct nsr_store *open_at(const char *path, int64_t lease)
{
	const struct nsr_store_options opts = { .create = true, .client_lease_time = lease };

	return nsr_test_store_open(path, &opts);
}

/* CREATE @id at @time from @address with @principal; both may be NULL. */
static void create_from(struct nsr_store *store, const char *id, int64_t time,
			const char *address, const char *principal)
{
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };

	nsr_request_init(&req, NSR_OP_CREATE);
	req.time = time;
	ck_assert_int_eq(nsr_client_set_id(&req.client, id, strlen(id)), 0);
	ck_assert_int_eq(nsr_client_set_audit(&req.client, address, 2, principal, NULL), 0);
	ck_assert_int_eq(nsr_store_apply(store, batch, 1), 0);
	ck_assert_int_eq(req.status, 0);
	nsr_request_release(&req);
}

static void apply_op(struct nsr_store *store, enum nsr_op op)
{
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };

	nsr_request_init(&req, op);
	ck_assert_int_eq(nsr_store_apply(store, batch, 1), 0);
	ck_assert_int_eq(req.status, 0);
	nsr_request_release(&req);
}

/* The findings, one "kind id old>new" per line. */
struct finding_list {
	int n;
	char text[2048];
};

static int collect_finding(const struct nsr_finding *f, void *ctx)
{
	struct finding_list *l = ctx;
	char id[NSR_CLIENTID_TEXT_MAX] = "-";
	size_t len = strlen(l->text);

	if (f->id)
		nsr_clientid_format(f->id, f->id_len, id);
	snprintf(l->text + len, sizeof(l->text) - len, "%s %s %s>%s\n",
		 nsr_finding_kind_name(f->kind), id, f->old_value ?: "-", f->new_value ?: "-");
	l->n++;
	return 0;
}

static void findings(struct nsr_store *store, struct finding_list *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(nsr_store_foreach_finding(store, 0, collect_finding, l), 0);
}

START_TEST(test_address_conflict_found)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct finding_list l;

	create_from(store, "pod", now - 10, "10.0.0.1", NULL);
	create_from(store, "pod", now, "10.0.0.2", NULL);

	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.text, "address-conflict pod 10.0.0.1>10.0.0.2\n");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_principal_conflict_found)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct finding_list l;

	create_from(store, "pod", now - 10, "10.0.0.1", "nfs/a@EXAMPLE");
	create_from(store, "pod", now, "10.0.0.1", "nfs/b@EXAMPLE");

	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.text, "principal-conflict pod nfs/a@EXAMPLE>nfs/b@EXAMPLE\n");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_outside_lease_no_finding)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct finding_list l;

	/* A client that moved after its lease expired is not a conflict. */
	create_from(store, "laptop", now - 200, "10.0.0.1", NULL);
	create_from(store, "laptop", now, "10.0.0.2", NULL);

	findings(store, &l);
	ck_assert_int_eq(l.n, 0);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_lease_time_configurable)
{
	struct nsr_store *store = open_at(db_path, 300);
	int64_t now = time(NULL);
	struct finding_list l;

	create_from(store, "laptop", now - 200, "10.0.0.1", NULL);
	create_from(store, "laptop", now, "10.0.0.2", NULL);

	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_same_address_no_finding)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct finding_list l;

	create_from(store, "c", now - 5, "10.0.0.1", "p");
	create_from(store, "c", now - 4, "10.0.0.1", "p");
	/* Unknown values are no evidence either way. */
	create_from(store, "c", now, NULL, NULL);

	findings(store, &l);
	ck_assert_int_eq(l.n, 0);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_conflict_rate_limited)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct finding_list l;

	create_from(store, "pod", now - 30, "10.0.0.1", NULL);
	create_from(store, "pod", now - 20, "10.0.0.2", NULL);
	create_from(store, "pod", now - 10, "10.0.0.1", NULL);
	create_from(store, "pod", now, "10.0.0.2", NULL);

	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_conflict_survives_remove)
{
	struct nsr_store *store = open_at(db_path, 90);
	int64_t now = time(NULL);
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };
	struct finding_list l;

	create_from(store, "pod", now - 10, "10.0.0.1", NULL);

	nsr_request_init(&req, NSR_OP_REMOVE);
	ck_assert_int_eq(nsr_client_set_id(&req.client, "pod", 3), 0);
	ck_assert_int_eq(nsr_store_apply(store, batch, 1), 0);
	nsr_request_release(&req);

	create_from(store, "pod", now, "10.0.0.2", NULL);
	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_scope_history)
{
	struct nsr_store *store = open_at(db_path, 90);
	char *previous = NULL;
	char *meta = NULL;
	struct finding_list l;

	ck_assert_int_eq(nsr_store_note_scope(store, "nfs-a", &previous), 0);
	ck_assert_ptr_null(previous);
	ck_assert_int_eq(nsr_store_note_scope(store, "nfs-a", &previous), 0);
	ck_assert_int_eq(nsr_store_note_scope(store, "nfs-b", &previous), 1);
	ck_assert_str_eq(previous, "nfs-a");
	free(previous);

	ck_assert_int_eq(nsr_store_get_meta(store, "scope", &meta), 0);
	ck_assert_str_eq(meta, "nfs-b");
	free(meta);

	findings(store, &l);
	ck_assert_int_eq(l.n, 1);
	ck_assert_str_eq(l.text, "scope-change - nfs-a>nfs-b\n");
	nsr_store_close(store);
}
END_TEST

static int count_scope(const struct nsr_scope_entry *e, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_scope_history_entries)
{
	struct nsr_store *store = open_at(db_path, 90);
	int n = 0;

	ck_assert_int_eq(nsr_store_note_scope(store, "a", NULL), 0);
	ck_assert_int_eq(nsr_store_note_scope(store, "b", NULL), 1);
	ck_assert_int_eq(nsr_store_note_scope(store, "a", NULL), 1);
	ck_assert_int_eq(nsr_store_foreach_scope(store, count_scope, &n), 0);
	ck_assert_int_eq(n, 3);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_forget_refused_during_grace)
{
	struct nsr_store *store = open_at(db_path, 90);
	uint64_t removed = 0, n = 0;

	create_from(store, "c1", time(NULL), NULL, NULL);
	apply_op(store, NSR_OP_GRACE_START);
	create_from(store, "c1", time(NULL), NULL, NULL);

	ck_assert_int_eq(nsr_store_forget(store, (const uint8_t *)"c1", 2, false, NULL, &removed),
			 -EBUSY);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_ALL, &n), 0);
	ck_assert_int_eq(n, 2);

	ck_assert_int_eq(nsr_store_forget(store, (const uint8_t *)"c1", 2, true, "test", &removed),
			 0);
	ck_assert_int_eq(removed, 2);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_ALL, &n), 0);
	ck_assert_int_eq(n, 0);

	ck_assert_int_eq(nsr_store_forget(store, (const uint8_t *)"c1", 2, true, NULL, NULL),
			 -ENOENT);
	nsr_store_close(store);
}
END_TEST

static int find_forget(const struct nsr_event *ev, void *ctx)
{
	if (ev->type == NSR_EVENT_FORGET)
		(*(int *)ctx)++;
	return 0;
}

START_TEST(test_forget_records_event)
{
	struct nsr_store *store = open_at(db_path, 90);
	int n = 0;

	create_from(store, "c1", time(NULL), NULL, NULL);
	ck_assert_int_eq(nsr_store_forget(store, (const uint8_t *)"c1", 2, false, "admin", NULL), 0);
	ck_assert_int_eq(nsr_store_foreach_event(store, 0, find_forget, &n), 0);
	ck_assert_int_eq(n, 1);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_import_adopts_grace)
{
	struct nsr_store *store = open_at(db_path, 90);
	const struct nsr_grace_state grace = { .current_epoch = 7, .recovery_epoch = 6,
					       .grace_started = 1000, .boot_time = 900 };
	struct nsr_import_record recs[2] = {
		{ .role = NSR_IMPORT_CURRENT, .rec = { .id = (const uint8_t *)"a", .id_len = 1,
			.epoch = 7, .first_seen = 10, .last_seen = 20, .minor_version = 1 } },
		{ .role = NSR_IMPORT_RECLAIMABLE, .rec = { .id = (const uint8_t *)"b", .id_len = 1,
			.epoch = 6, .first_seen = 5, .last_seen = 6, .minor_version = -1,
			.address = "10.1.1.1" } },
	};
	struct nsr_import_result res;
	struct nsr_grace_state got;
	uint64_t n;

	ck_assert_int_eq(nsr_store_import(store, &grace, recs, 2, "file", &res), 0);
	ck_assert(res.adopted_grace);
	ck_assert_int_eq(res.added, 2);
	ck_assert_int_eq(nsr_store_get_grace(store, &got), 0);
	ck_assert_int_eq(got.current_epoch, 7);
	ck_assert_int_eq(got.recovery_epoch, 6);
	ck_assert_int_eq(got.grace_started, 1000);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_RECOVERY, &n), 0);
	ck_assert_int_eq(n, 1);

	/* A second import changes nothing. */
	ck_assert_int_eq(nsr_store_import(store, &grace, recs, 2, "file", &res), 0);
	ck_assert(!res.adopted_grace);
	ck_assert_int_eq(res.added, 0);
	ck_assert_int_eq(res.updated, 2);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_ALL, &n), 0);
	ck_assert_int_eq(n, 2);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_import_maps_roles)
{
	struct nsr_store *store = open_at(db_path, 90);
	const struct nsr_grace_state grace = { .current_epoch = 7, .recovery_epoch = 6 };
	struct nsr_import_record recs[1] = {
		{ .role = NSR_IMPORT_RECLAIMABLE, .rec = { .id = (const uint8_t *)"b", .id_len = 1,
			.epoch = 6, .first_seen = 5, .last_seen = 6, .minor_version = -1 } },
	};
	struct nsr_import_result res;
	uint64_t n;

	/* The target has records and no grace period: reclaimable joins the current epoch. */
	create_from(store, "mine", time(NULL), NULL, NULL);
	ck_assert_int_eq(nsr_store_import(store, &grace, recs, 1, "file", &res), 0);
	ck_assert(!res.adopted_grace);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_CURRENT, &n), 0);
	ck_assert_int_eq(n, 2);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_import_invalid_record)
{
	struct nsr_store *store = open_at(db_path, 90);
	const struct nsr_grace_state grace = { .current_epoch = 1 };
	struct nsr_import_record recs[2] = {
		{ .role = NSR_IMPORT_CURRENT, .rec = { .id = (const uint8_t *)"a", .id_len = 1,
			.minor_version = -1 } },
		{ .role = NSR_IMPORT_CURRENT, .rec = { .id = (const uint8_t *)"b", .id_len = 1,
			.princhash = (const uint8_t *)"short", .princhash_len = 5,
			.minor_version = -1 } },
	};
	uint64_t n;

	ck_assert_int_eq(nsr_store_import(store, &grace, recs, 2, "file", NULL), -EINVAL);
	ck_assert_int_eq(nsr_store_count_clients(store, NSR_EPOCH_ALL, &n), 0);
	ck_assert_int_eq(n, 0);
	nsr_store_close(store);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("audit");
	TCase *conflicts = tcase_create("conflicts");
	TCase *scope = tcase_create("scope");
	TCase *admin = tcase_create("admin");

	tcase_add_checked_fixture(conflicts, setup, teardown);
	tcase_add_test(conflicts, test_address_conflict_found);
	tcase_add_test(conflicts, test_principal_conflict_found);
	tcase_add_test(conflicts, test_outside_lease_no_finding);
	tcase_add_test(conflicts, test_lease_time_configurable);
	tcase_add_test(conflicts, test_same_address_no_finding);
	tcase_add_test(conflicts, test_conflict_rate_limited);
	tcase_add_test(conflicts, test_conflict_survives_remove);
	suite_add_tcase(s, conflicts);

	tcase_add_checked_fixture(scope, setup, teardown);
	tcase_add_test(scope, test_scope_history);
	tcase_add_test(scope, test_scope_history_entries);
	suite_add_tcase(s, scope);

	tcase_add_checked_fixture(admin, setup, teardown);
	tcase_add_test(admin, test_forget_refused_during_grace);
	tcase_add_test(admin, test_forget_records_event);
	tcase_add_test(admin, test_import_adopts_grace);
	tcase_add_test(admin, test_import_maps_roles);
	tcase_add_test(admin, test_import_invalid_record);
	suite_add_tcase(s, admin);
	return nsr_test_run(s);
}
