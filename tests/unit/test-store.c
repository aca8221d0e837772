/* test-store.c: the SQLite store: epochs, records, durability, migrations and bad files. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nsr-macro.h"
#include "nsr-serverdir.h"
#include "nsr-store-internal.h"
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

static struct nsr_store *open_path(const char *path, const struct nsr_store_options *opts)
{
	struct nsr_store *store = nsr_test_store_open(path, opts);

	ck_assert_ptr_nonnull(store);
	return store;
}

static struct nsr_store *open_new(const char *path)
{
	const struct nsr_store_options opts = { .create = true };

	return open_path(path, &opts);
}

static struct nsr_request *req_new(enum nsr_op op, const void *id, size_t len)
{
	struct nsr_request *req = calloc(1, sizeof(*req));

	ck_assert_ptr_nonnull(req);
	nsr_request_init(req, op);
	if (len)
		ck_assert_int_eq(nsr_client_set_id(&req->client, id, len), 0);
	return req;
}

static void req_free(struct nsr_request *req)
{
	nsr_request_release(req);
	free(req);
}

/* Apply one request alone and return its status; the batch must commit. */
static int apply1(struct nsr_store *store, enum nsr_op op, const char *id)
{
	struct nsr_request *req = req_new(op, id, id ? strlen(id) : 0);
	int status;

	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	status = req->status;
	req_free(req);
	return status;
}

static int apply_at(struct nsr_store *store, enum nsr_op op, const char *id, int64_t time)
{
	struct nsr_request *req = req_new(op, id, id ? strlen(id) : 0);
	int status;

	req->time = time;
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	status = req->status;
	req_free(req);
	return status;
}

static uint64_t count(struct nsr_store *store, enum nsr_epoch_select which)
{
	uint64_t n = 0;

	ck_assert_int_eq(nsr_store_count_clients(store, which, &n), 0);
	return n;
}

/* Collects the printable ids of visited records, joined by spaces. */
struct id_list {
	char text[4096];
};

static int collect_id(const struct nsr_record *rec, void *ctx)
{
	struct id_list *list = ctx;
	char buf[NSR_CLIENTID_TEXT_MAX];

	if (list->text[0])
		strcat(list->text, " ");
	strcat(list->text, nsr_clientid_format(rec->id, rec->id_len, buf));
	return 0;
}

static const char *ids(struct nsr_store *store, enum nsr_epoch_select which,
		       struct id_list *list)
{
	list->text[0] = '\0';
	ck_assert_int_eq(nsr_store_foreach_client(store, which, collect_id, list), 0);
	return list->text;
}

/* A copy of the one record that matches an id, taken during the callback. */
struct record_copy {
	const uint8_t *want;
	size_t want_len;
	int found;
	uint8_t id[NSR_CLIENTID_MAX];
	size_t id_len;
	uint8_t princhash[NSR_PRINCHASH_LEN];
	size_t princhash_len;
	int64_t epoch, first_seen, last_seen;
	char address[NSR_ADDRESS_MAX + 1];
};

static int copy_record(const struct nsr_record *rec, void *ctx)
{
	struct record_copy *copy = ctx;

	if (rec->id_len != copy->want_len || memcmp(rec->id, copy->want, rec->id_len) != 0)
		return 0;

	copy->found++;
	memcpy(copy->id, rec->id, rec->id_len);
	copy->id_len = rec->id_len;
	ck_assert_uint_le(rec->princhash_len, NSR_PRINCHASH_LEN);
	if (rec->princhash_len)
		memcpy(copy->princhash, rec->princhash, rec->princhash_len);
	copy->princhash_len = rec->princhash_len;
	copy->epoch = rec->epoch;
	copy->first_seen = rec->first_seen;
	copy->last_seen = rec->last_seen;
	snprintf(copy->address, sizeof(copy->address), "%s", rec->address ?: "");
	return 0;
}

static void find_record(struct nsr_store *store, enum nsr_epoch_select which, const void *id,
			size_t len, struct record_copy *copy)
{
	memset(copy, 0, sizeof(*copy));
	copy->want = id;
	copy->want_len = len;
	ck_assert_int_eq(nsr_store_foreach_client(store, which, copy_record, copy), 0);
}

struct event_list {
	int n;
	char types[2048];
	int64_t first_seq, last_seq;
};

static int collect_event(const struct nsr_event *ev, void *ctx)
{
	struct event_list *list = ctx;

	if (list->n++ == 0)
		list->first_seq = ev->seq;
	list->last_seq = ev->seq;
	if (list->types[0])
		strcat(list->types, " ");
	strcat(list->types, nsr_event_type_name(ev->type));
	return 0;
}

static void events(struct nsr_store *store, struct event_list *list)
{
	memset(list, 0, sizeof(*list));
	ck_assert_int_eq(nsr_store_foreach_event(store, 0, collect_event, list), 0);
}

/* Read a whole file into a malloc'ed buffer. */
static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f;

	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	buf = malloc(st.st_size + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, st.st_size, f), (size_t)st.st_size);
	fclose(f);
	buf[st.st_size] = 0;
	*len = st.st_size;
	return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Redirect stderr, where the tests' log goes, into a file until stderr_end(). */
struct stderr_capture {
	int saved_fd;
	char path[256];
};

static void stderr_begin(struct stderr_capture *cap)
{
	int fd;

	/* Beside test_dir, not in it, because some tests make test_dir read-only. */
	snprintf(cap->path, sizeof(cap->path), "%s.stderr", test_dir);
	fflush(stderr);
	fd = open(cap->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	cap->saved_fd = dup(STDERR_FILENO);
	ck_assert_int_ge(cap->saved_fd, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

/* Restore stderr, echo what was captured, and return it malloc'ed. */
static char *stderr_end(struct stderr_capture *cap)
{
	size_t len;
	char *text;

	fflush(stderr);
	ck_assert_int_ge(dup2(cap->saved_fd, STDERR_FILENO), 0);
	close(cap->saved_fd);
	text = (char *)read_file(cap->path, &len);
	unlink(cap->path);
	fputs(text, stderr);
	return text;
}

static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int raw_query_int(const char *path, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3 *db = NULL;
	int value = -1;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		value = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

START_TEST(test_create_remove_check)
{
	struct nsr_store *store = open_new(db_path);
	struct id_list list;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-b"), 0);
	ck_assert_uint_eq(count(store, NSR_EPOCH_CURRENT), 2);
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "client-a client-b");

	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "client-a"), 0);
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "client-b");
	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "never-seen"), 0);
	ck_assert_uint_eq(count(store, NSR_EPOCH_CURRENT), 1);

	/* Without a grace period nothing is reclaimable. */
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "client-b"), -ENOENT);

	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "client-b"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "client-a"), -ENOENT);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_records_survive_reopen)
{
	struct nsr_store *store = open_new(db_path);
	struct id_list list;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	nsr_store_close(store);

	store = open_path(db_path, NULL);
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "client-a");
	ck_assert_int_eq(nsr_store_schema_version(store), nsr_store_schema_version_latest());
	nsr_store_close(store);
}
END_TEST

START_TEST(test_grace_start_new_epoch)
{
	struct nsr_store *store = open_new(db_path);
	struct nsr_request *req = req_new(NSR_OP_GRACE_START, NULL, 0);
	struct nsr_grace_state g;
	struct id_list list;

	ck_assert_int_eq(nsr_store_get_grace(store, &g), 0);
	ck_assert_int_eq(g.current_epoch, 1);
	ck_assert_int_eq(g.recovery_epoch, 0);

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	req->boot_time = 12345;
	req->time = 5000;
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	ck_assert_int_eq(req->status, 0);

	ck_assert_int_eq(nsr_store_get_grace(store, &g), 0);
	ck_assert_int_eq(g.current_epoch, 2);
	ck_assert_int_eq(g.recovery_epoch, 1);
	ck_assert_int_eq(g.grace_started, 5000);
	ck_assert_int_eq(g.boot_time, 12345);
	ck_assert_str_eq(ids(store, NSR_EPOCH_RECOVERY, &list), "client-a");
	ck_assert_uint_eq(count(store, NSR_EPOCH_CURRENT), 0);
	req_free(req);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_grace_restart_keeps_recovery)
{
	struct nsr_store *store = open_new(db_path);
	struct nsr_grace_state before, after;
	struct id_list list;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-b"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	ck_assert_int_eq(nsr_store_get_grace(store, &before), 0);
	nsr_store_close(store);

	/* nfsd restarts during grace: a second GRACE_START from a fresh daemon. */
	store = open_path(db_path, NULL);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(nsr_store_get_grace(store, &after), 0);
	ck_assert_int_eq(after.current_epoch, before.current_epoch);
	ck_assert_int_eq(after.recovery_epoch, before.recovery_epoch);
	ck_assert_int_eq(after.grace_started, before.grace_started);
	ck_assert_str_eq(ids(store, NSR_EPOCH_RECOVERY, &list), "client-a client-b");
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "client-a");
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "client-b"), 0);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_grace_done_drops_recovery)
{
	struct nsr_store *store = open_new(db_path);
	struct nsr_grace_state g;
	struct id_list list;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-b"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_DONE, NULL), 0);

	ck_assert_int_eq(nsr_store_get_grace(store, &g), 0);
	ck_assert_int_eq(g.current_epoch, 2);
	ck_assert_int_eq(g.recovery_epoch, 0);
	ck_assert_int_eq(g.grace_started, 0);
	ck_assert_uint_eq(count(store, NSR_EPOCH_RECOVERY), 0);
	ck_assert_str_eq(ids(store, NSR_EPOCH_ALL, &list), "client-a");
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "client-a"), -ENOENT);

	/* A second GRACE_DONE changes nothing. */
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_DONE, NULL), 0);
	ck_assert_str_eq(ids(store, NSR_EPOCH_ALL, &list), "client-a");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_reclaimable_is_recovery_epoch)
{
	struct nsr_store *store = open_new(db_path);
	struct id_list list;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c1"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c2"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c3"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c2"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "new"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "c2"), 0);

	ck_assert_str_eq(ids(store, NSR_EPOCH_RECOVERY, &list), "c1 c2 c3");
	ck_assert_uint_eq(count(store, NSR_EPOCH_RECOVERY), 3);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "c1"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "c2"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "c3"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "new"), -ENOENT);
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "new");
	ck_assert_str_eq(ids(store, NSR_EPOCH_ALL, &list), "c1 c2 c3 new");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_first_seen_kept_on_reclaim)
{
	struct nsr_store *store = open_new(db_path);
	struct record_copy rec;
	struct event_list ev;

	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "client-a", 1000), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_GRACE_START, NULL, 2000), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "client-a", 3000), 0);

	find_record(store, NSR_EPOCH_CURRENT, "client-a", 8, &rec);
	ck_assert_int_eq(rec.found, 1);
	ck_assert_int_eq(rec.epoch, 2);
	ck_assert_int_eq(rec.first_seen, 1000);
	ck_assert_int_eq(rec.last_seen, 3000);

	/* A second restart cycle still carries the original first_seen. */
	ck_assert_int_eq(apply_at(store, NSR_OP_GRACE_DONE, NULL, 3100), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_GRACE_START, NULL, 4000), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "client-a", 5000), 0);
	find_record(store, NSR_EPOCH_CURRENT, "client-a", 8, &rec);
	ck_assert_int_eq(rec.epoch, 3);
	ck_assert_int_eq(rec.first_seen, 1000);
	ck_assert_int_eq(rec.last_seen, 5000);

	events(store, &ev);
	ck_assert_str_eq(ev.types, "create grace-start reclaim grace-done grace-start reclaim");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_two_servers_independent)
{
	_cleanup_free_ char *path_b = NULL;
	struct nsr_store *a, *b;

	ck_assert_int_ge(asprintf(&path_b, "%s/other.sqlite", test_dir), 0);
	a = open_new(db_path);
	b = open_new(path_b);

	ck_assert_int_eq(apply1(a, NSR_OP_CREATE, "shared-id"), 0);
	ck_assert_int_eq(apply1(b, NSR_OP_CREATE, "shared-id"), 0);
	ck_assert_int_eq(apply1(a, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(b, NSR_OP_REMOVE, "shared-id"), 0);
	ck_assert_int_eq(apply1(b, NSR_OP_GRACE_START, NULL), 0);

	ck_assert_int_eq(apply1(a, NSR_OP_CHECK, "shared-id"), 0);
	ck_assert_int_eq(apply1(b, NSR_OP_CHECK, "shared-id"), -ENOENT);
	ck_assert_uint_eq(count(a, NSR_EPOCH_RECOVERY), 1);
	ck_assert_uint_eq(count(b, NSR_EPOCH_ALL), 0);
	nsr_store_close(a);
	nsr_store_close(b);
}
END_TEST

START_TEST(test_binary_id_round_trip)
{
	static const uint8_t id[] = { 0, 'L', 0, 0, 0xff, 'x', 0 };
	struct nsr_store *store = open_new(db_path);
	struct nsr_request *req;
	struct record_copy rec;

	req = req_new(NSR_OP_CREATE, id, sizeof(id));
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	ck_assert_int_eq(req->status, 0);
	req_free(req);

	find_record(store, NSR_EPOCH_CURRENT, id, sizeof(id), &rec);
	ck_assert_int_eq(rec.found, 1);
	ck_assert_uint_eq(rec.id_len, sizeof(id));
	ck_assert_mem_eq(rec.id, id, sizeof(id));

	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	req = req_new(NSR_OP_CHECK, id, sizeof(id));
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	ck_assert_int_eq(req->status, 0);
	req_free(req);

	/* A prefix up to the first NUL is a different id. */
	req = req_new(NSR_OP_CHECK, id, 1);
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	ck_assert_int_eq(req->status, -ENOENT);
	req_free(req);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_id_length_limits)
{
	static uint8_t big[NSR_CLIENTID_MAX];
	struct nsr_store *store = open_new(db_path);
	struct nsr_request *reqs[3];
	struct record_copy rec;

	memset(big, 'x', sizeof(big));
	reqs[0] = req_new(NSR_OP_CREATE, big, NSR_CLIENTID_MAX);
	reqs[1] = req_new(NSR_OP_CREATE, big, NSR_CLIENTID_MAX);
	reqs[1]->client.id_len = NSR_CLIENTID_MAX + 1;
	reqs[2] = req_new(NSR_OP_CREATE, NULL, 0);

	/* The invalid requests fail alone; the batch still commits. */
	ck_assert_int_eq(nsr_store_apply(store, reqs, 3), 0);
	ck_assert_int_eq(reqs[0]->status, 0);
	ck_assert_int_eq(reqs[1]->status, -E2BIG);
	ck_assert_int_eq(reqs[2]->status, -EINVAL);

	find_record(store, NSR_EPOCH_CURRENT, big, NSR_CLIENTID_MAX, &rec);
	ck_assert_int_eq(rec.found, 1);
	ck_assert_uint_eq(rec.id_len, NSR_CLIENTID_MAX);
	ck_assert_uint_eq(count(store, NSR_EPOCH_ALL), 1);

	for (int i = 0; i < 3; i++)
		req_free(reqs[i]);
	nsr_store_close(store);
}
END_TEST

static int check_with_hash(struct nsr_store *store, const char *id, const uint8_t *hash)
{
	struct nsr_request *req = req_new(NSR_OP_CHECK, id, strlen(id));
	int status;

	if (hash)
		ck_assert_int_eq(nsr_client_set_princhash(&req->client, hash, NSR_PRINCHASH_LEN), 0);
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	status = req->status;
	req_free(req);
	return status;
}

START_TEST(test_princhash_stored_and_compared)
{
	struct nsr_store *store = open_new(db_path);
	uint8_t h1[NSR_PRINCHASH_LEN], h2[NSR_PRINCHASH_LEN];
	struct nsr_request *req;
	struct record_copy rec;

	memset(h1, 0x11, sizeof(h1));
	memset(h2, 0x11, sizeof(h2));
	h2[31] = 0x12;

	req = req_new(NSR_OP_CREATE, "krb-client", 10);
	ck_assert_int_eq(nsr_client_set_princhash(&req->client, h1, sizeof(h1)), 0);
	ck_assert_int_eq(nsr_store_apply(store, &req, 1), 0);
	ck_assert_int_eq(req->status, 0);
	req_free(req);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "sys-client"), 0);

	find_record(store, NSR_EPOCH_CURRENT, "krb-client", 10, &rec);
	ck_assert_uint_eq(rec.princhash_len, NSR_PRINCHASH_LEN);
	ck_assert_mem_eq(rec.princhash, h1, NSR_PRINCHASH_LEN);
	find_record(store, NSR_EPOCH_CURRENT, "sys-client", 10, &rec);
	ck_assert_uint_eq(rec.princhash_len, 0);

	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(check_with_hash(store, "krb-client", h1), 0);
	ck_assert_int_eq(check_with_hash(store, "krb-client", h2), -EACCES);
	ck_assert_int_eq(check_with_hash(store, "krb-client", NULL), -EACCES);
	ck_assert_int_eq(check_with_hash(store, "sys-client", h2), 0);
	ck_assert_int_eq(check_with_hash(store, "sys-client", NULL), 0);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_commit_failure_fails_batch)
{
	struct nsr_store *store = open_new(db_path);
	struct nsr_request *reqs[3];
	struct nsr_grace_state g;

	reqs[0] = req_new(NSR_OP_CREATE, "c1", 2);
	reqs[1] = req_new(NSR_OP_CREATE, "c2", 2);
	reqs[2] = req_new(NSR_OP_GRACE_START, NULL, 0);

	nsr_store_fail_next_commits(store, 1);
	ck_assert_int_eq(nsr_store_apply(store, reqs, 3), -EIO);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(reqs[i]->status, -EIO);

	ck_assert_uint_eq(count(store, NSR_EPOCH_ALL), 0);
	ck_assert_int_eq(nsr_store_get_grace(store, &g), 0);
	ck_assert_int_eq(g.current_epoch, 1);
	ck_assert_int_eq(g.recovery_epoch, 0);

	/* The next batch commits normally. */
	ck_assert_int_eq(nsr_store_apply(store, reqs, 2), 0);
	ck_assert_int_eq(reqs[0]->status, 0);
	ck_assert_int_eq(reqs[1]->status, 0);
	nsr_store_close(store);

	store = open_path(db_path, NULL);
	ck_assert_uint_eq(count(store, NSR_EPOCH_CURRENT), 2);
	for (int i = 0; i < 3; i++)
		req_free(reqs[i]);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_migration_from_v1)
{
	struct nsr_store *store;
	struct record_copy rec;
	_cleanup_free_ char *name = NULL;

	ck_assert_int_ge(nsr_store_schema_version_latest(), 2);
	ck_assert_int_eq(nsr_store_create_at_version(db_path, 1), 0);
	ck_assert_int_eq(raw_query_int(db_path, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_query_int(db_path, "SELECT count(*) FROM sqlite_schema "
					       "WHERE name = 'ownership'"), 0);

	/* Rows as a version-1 program would have written them. */
	ck_assert_int_eq(raw_exec(db_path,
				  "INSERT INTO clients (epoch, clientid, first_seen, last_seen) "
				  "VALUES (1, CAST('old-client' AS BLOB), 111, 222);"
				  "INSERT INTO meta (key, value) VALUES ('name', 'vs1');"),
			 SQLITE_OK);

	store = open_path(db_path, NULL);
	ck_assert_int_eq(nsr_store_schema_version(store), nsr_store_schema_version_latest());
	find_record(store, NSR_EPOCH_CURRENT, "old-client", 10, &rec);
	ck_assert_int_eq(rec.found, 1);
	ck_assert_int_eq(rec.first_seen, 111);
	ck_assert_int_eq(rec.last_seen, 222);
	ck_assert_int_eq(nsr_store_get_meta(store, "name", &name), 0);
	ck_assert_str_eq(name, "vs1");
	nsr_store_close(store);

	ck_assert_int_eq(raw_query_int(db_path, "PRAGMA user_version"),
			 nsr_store_schema_version_latest());
	ck_assert_int_eq(raw_query_int(db_path, "SELECT count(*) FROM sqlite_schema "
					       "WHERE name = 'ownership'"), 1);
}
END_TEST

START_TEST(test_newer_schema_rejected)
{
	int latest = nsr_store_schema_version_latest();
	struct stderr_capture cap;
	struct nsr_store *store = NULL;
	_cleanup_free_ char *log = NULL, *sql = NULL, *newer = NULL, *known = NULL;

	nsr_store_close(open_new(db_path));
	ck_assert_int_ge(asprintf(&sql, "PRAGMA user_version = %d", latest + 1), 0);
	ck_assert_int_eq(raw_exec(db_path, sql), SQLITE_OK);

	stderr_begin(&cap);
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), -EPROTO);
	log = stderr_end(&cap);
	ck_assert_ptr_null(store);

	ck_assert_int_ge(asprintf(&newer, "schema version %d", latest + 1), 0);
	ck_assert_int_ge(asprintf(&known, "version %d, the latest", latest), 0);
	ck_assert_ptr_nonnull(strstr(log, db_path));
	ck_assert_ptr_nonnull(strstr(log, newer));
	ck_assert_ptr_nonnull(strstr(log, known));
	ck_assert_int_eq(raw_query_int(db_path, "PRAGMA user_version"), latest + 1);
}
END_TEST

START_TEST(test_missing_dir_named)
{
	const struct nsr_store_options create = { .create = true };
	const struct nsr_store_options ro = { .read_only = true };
	_cleanup_free_ char *dir = NULL, *path = NULL, *log = NULL;
	struct nsr_store *store = NULL;
	struct stderr_capture cap;

	ck_assert_int_ge(asprintf(&dir, "%s/no-such-dir", test_dir), 0);
	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, NSR_STORE_DB_NAME), 0);

	stderr_begin(&cap);
	ck_assert_int_eq(nsr_store_open(path, &create, &store), -ENOENT);
	log = stderr_end(&cap);
	ck_assert_ptr_nonnull(strstr(log, dir));
	ck_assert_ptr_nonnull(strstr(log, "does not exist"));
	ck_assert_int_eq(nsr_dir_check(dir, false), -ENOENT);
	free(log);

	/* The directory exists but the file does not, and creation was not asked for. */
	stderr_begin(&cap);
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), -ENOENT);
	ck_assert_int_eq(nsr_store_open(db_path, &ro, &store), -ENOENT);
	log = stderr_end(&cap);
	ck_assert_ptr_nonnull(strstr(log, db_path));
	ck_assert_ptr_null(store);
	ck_assert_int_eq(access(db_path, F_OK), -1);
}
END_TEST

/*
 * Make test_dir read-only with a bind mount in a private mount namespace.
 * Returns false, after saying why, when this process may not do that.
 */
static bool make_test_dir_read_only(void)
{
	const char *fork_mode = getenv("CK_FORK");

	if (fork_mode && strcmp(fork_mode, "no") == 0) {
		fprintf(stderr, "SKIP: read-only mount test needs CK_FORK=yes\n");
		return false;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		fprintf(stderr, "SKIP: read-only mount test: unshare(CLONE_NEWNS): %m\n");
		return false;
	}
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	if (mount(test_dir, test_dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, test_dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		fprintf(stderr, "SKIP: read-only mount test: bind mount: %m\n");
		return false;
	}
	return true;
}

START_TEST(test_read_only_mount)
{
	const struct nsr_store_options ro = { .read_only = true };
	const struct nsr_store_options create = { .create = true };
	_cleanup_free_ char *log = NULL, *other = NULL;
	struct nsr_store *store = NULL;
	struct stderr_capture cap;
	struct id_list list;

	store = open_new(db_path);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "client-a"), 0);
	nsr_store_close(store);
	store = NULL;
	ck_assert_int_ne(access(db_path, F_OK), -1);

	if (!make_test_dir_read_only())
		return;
	ck_assert_int_ge(asprintf(&other, "%s/new.sqlite", test_dir), 0);

	stderr_begin(&cap);
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), -EROFS);
	ck_assert_int_eq(nsr_store_open(other, &create, &store), -EROFS);
	ck_assert_int_eq(nsr_dir_check(test_dir, true), -EROFS);
	log = stderr_end(&cap);
	ck_assert_ptr_null(store);
	ck_assert_ptr_nonnull(strstr(log, test_dir));
	ck_assert_ptr_nonnull(strstr(log, "read-only file system"));

	/* A read-only open still works: SQLite cannot create -shm, so the store uses immutable. */
	store = open_path(db_path, &ro);
	ck_assert_str_eq(ids(store, NSR_EPOCH_CURRENT, &list), "client-a");
	ck_assert_uint_eq(count(store, NSR_EPOCH_ALL), 1);
	nsr_store_close(store);

	umount2(test_dir, MNT_DETACH);
}
END_TEST

static void check_bad_file_rejected(const char *what)
{
	const struct nsr_store_options ro = { .read_only = true };
	_cleanup_free_ uint8_t *before = NULL, *after = NULL;
	_cleanup_free_ char *log = NULL, *wal = NULL;
	struct nsr_store *store = NULL;
	struct stderr_capture cap;
	size_t len_before, len_after;

	before = read_file(db_path, &len_before);

	stderr_begin(&cap);
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), -EBADMSG);
	ck_assert_int_eq(nsr_store_open(db_path, &ro, &store), -EBADMSG);
	log = stderr_end(&cap);
	ck_assert_ptr_null(store);
	ck_assert_msg(strstr(log, db_path) != NULL, "%s: log does not name the file", what);
	ck_assert_msg(strstr(log, "left unchanged") != NULL, "%s: log lacks the advice", what);

	after = read_file(db_path, &len_after);
	ck_assert_uint_eq(len_after, len_before);
	ck_assert_mem_eq(after, before, len_before);

	ck_assert_int_ge(asprintf(&wal, "%s-wal", db_path), 0);
	if (access(wal, F_OK) == 0) {
		_cleanup_free_ uint8_t *wal_data = NULL;
		size_t wal_len;

		wal_data = read_file(wal, &wal_len);
		ck_assert_uint_eq(wal_len, 0);
	}
}

START_TEST(test_corrupt_random_bytes)
{
	static uint8_t junk[16384];
	uint32_t x = 2463534242u;

	/* xorshift32: fixed and reproducible noise. */
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = x;
	}
	write_file(db_path, junk, sizeof(junk));
	check_bad_file_rejected("random bytes");
}
END_TEST

START_TEST(test_corrupt_truncated)
{
	struct nsr_store *store = open_new(db_path);
	struct nsr_request *reqs[300];
	char id[600];
	struct stat st;

	for (int i = 0; i < 300; i++) {
		memset(id, 'a' + i % 26, sizeof(id));
		snprintf(id, 16, "client-%04d", i);
		reqs[i] = req_new(NSR_OP_CREATE, id, sizeof(id));
	}
	ck_assert_int_eq(nsr_store_apply(store, reqs, 300), 0);
	for (int i = 0; i < 300; i++)
		req_free(reqs[i]);
	nsr_store_close(store);

	/* Closing the last connection checkpoints the WAL into the main file. */
	ck_assert_int_eq(stat(db_path, &st), 0);
	ck_assert_int_gt(st.st_size, 100000);
	ck_assert_int_eq(truncate(db_path, st.st_size / 2), 0);
	check_bad_file_rejected("truncated");
}
END_TEST

/*
 * A damaged page in the middle of the file passes the header checks. The
 * full integrity check finds it when a WAL left behind shows an unclean
 * shutdown, and nsr_store_integrity_check() finds it at any time.
 */
START_TEST(test_corrupt_page_after_crash)
{
	struct nsr_store *store = open_new(db_path);
	_cleanup_free_ uint8_t *before = NULL, *after = NULL;
	_cleanup_free_ char *wal = NULL;
	struct nsr_request *reqs[300];
	static const uint8_t junk[64] = { [0 ... 63] = 0xff };
	size_t len_before, len_after;
	unsigned int problems = 0;
	char id[600];
	int fd, r;

	for (int i = 0; i < 300; i++) {
		memset(id, 'a' + i % 26, sizeof(id));
		snprintf(id, 16, "client-%04d", i);
		reqs[i] = req_new(NSR_OP_CREATE, id, sizeof(id));
	}
	ck_assert_int_eq(nsr_store_apply(store, reqs, 300), 0);
	for (int i = 0; i < 300; i++)
		req_free(reqs[i]);
	nsr_store_close(store);

	/* Overwrite the b-tree header of page 5 (page size 4096). */
	fd = open(db_path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, junk, sizeof(junk), 4 * 4096), (ssize_t)sizeof(junk));
	close(fd);

	/* After a clean shutdown the damage stays until a read reaches it. */
	store = NULL;
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), 0);
	r = nsr_store_integrity_check(store, NULL, NULL, &problems);
	ck_assert_msg(r < 0 || problems > 0, "integrity check found nothing (r=%d)", r);
	nsr_store_close(store);

	/* A WAL with frames, as a crash leaves it, makes the open check every page. */
	ck_assert_int_ge(asprintf(&wal, "%s-wal", db_path), 0);
	write_file(wal, junk, sizeof(junk));
	before = read_file(db_path, &len_before);
	store = NULL;
	ck_assert_int_eq(nsr_store_open(db_path, NULL, &store), -EBADMSG);
	ck_assert_ptr_null(store);
	after = read_file(db_path, &len_after);
	ck_assert_uint_eq(len_after, len_before);
	ck_assert_mem_eq(after, before, len_before);
}
END_TEST

START_TEST(test_read_only_while_writing)
{
	const struct nsr_store_options ro = { .read_only = true };
	struct nsr_store *writer, *reader;
	sqlite3 *raw = NULL;

	writer = open_new(db_path);
	ck_assert_int_eq(apply1(writer, NSR_OP_CREATE, "c1"), 0);
	reader = open_path(db_path, &ro);
	ck_assert_uint_eq(count(reader, NSR_EPOCH_CURRENT), 1);

	/* A third connection holds the write lock: the reader still reads, unblocked. */
	ck_assert_int_eq(sqlite3_open_v2(db_path, &raw, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "BEGIN IMMEDIATE; INSERT INTO clients (epoch, "
				      "clientid, first_seen, last_seen) VALUES (1, x'6332', 1, 1)",
				      NULL, NULL, NULL), SQLITE_OK);
	ck_assert_uint_eq(count(reader, NSR_EPOCH_CURRENT), 1);
	ck_assert_int_eq(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);
	ck_assert_uint_eq(count(reader, NSR_EPOCH_CURRENT), 2);

	ck_assert_int_eq(apply1(writer, NSR_OP_CREATE, "c3"), 0);
	ck_assert_uint_eq(count(reader, NSR_EPOCH_CURRENT), 3);

	/* The read-only store rejects writes without touching the file. */
	struct nsr_request *req = req_new(NSR_OP_CREATE, "c4", 2);
	ck_assert_int_eq(nsr_store_apply(reader, &req, 1), -EROFS);
	ck_assert_int_eq(req->status, -EROFS);
	ck_assert_int_eq(nsr_store_set_meta(reader, "name", "x"), -EROFS);
	req_free(req);

	ck_assert_uint_eq(count(writer, NSR_EPOCH_CURRENT), 3);
	nsr_store_close(reader);
	nsr_store_close(writer);
}
END_TEST

static mode_t file_mode(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

START_TEST(test_modes_under_umask_zero)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *wal = NULL, *shm = NULL, *old = NULL;
	struct nsr_store *store;

	umask(0);
	ck_assert_int_ge(asprintf(&dir, "%s/server", test_dir), 0);
	ck_assert_int_eq(nsr_serverdir_create(dir), 0);
	ck_assert_uint_eq(file_mode(dir), 0700);

	ck_assert_int_eq(nsr_serverdir_db_path(dir, &path), 0);
	store = open_new(path);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c1"), 0);
	ck_assert_uint_eq(file_mode(path), 0600);

	/* While the store is open, SQLite's -wal and -shm files exist. */
	ck_assert_int_ge(asprintf(&wal, "%s-wal", path), 0);
	ck_assert_int_ge(asprintf(&shm, "%s-shm", path), 0);
	ck_assert_uint_eq(file_mode(wal), 0600);
	ck_assert_uint_eq(file_mode(shm), 0600);
	nsr_store_close(store);

	/* An existing directory with a looser mode is tightened. */
	ck_assert_int_ge(asprintf(&old, "%s/existing", test_dir), 0);
	ck_assert_int_eq(mkdir(old, 0777), 0);
	ck_assert_uint_eq(file_mode(old), 0777);
	ck_assert_int_eq(nsr_serverdir_create(old), 0);
	ck_assert_uint_eq(file_mode(old), 0700);
}
END_TEST

START_TEST(test_event_retention_rows)
{
	const struct nsr_store_options opts = { .create = true, .event_max_rows = 10 };
	struct nsr_store *store = open_path(db_path, &opts);
	struct event_list ev;
	char id[32];

	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "client-%02d", i);
		ck_assert_int_eq(apply1(store, NSR_OP_CREATE, id), 0);
	}

	events(store, &ev);
	ck_assert_int_eq(ev.n, 10);
	ck_assert_int_eq(ev.last_seq, 50);
	ck_assert_int_eq(ev.first_seq, 41);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_event_retention_age)
{
	const struct nsr_store_options opts = { .create = true, .event_max_age = 3600 };
	struct nsr_store *store = open_path(db_path, &opts);
	int64_t now = time(NULL);
	struct event_list ev;

	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "old-1", now - 7200), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "old-2", now - 3700), 0);
	ck_assert_int_eq(apply_at(store, NSR_OP_CREATE, "recent", now - 60), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "old-1"), 0);

	events(store, &ev);
	ck_assert_str_eq(ev.types, "create remove");
	ck_assert_int_eq(ev.n, 2);

	/* Retention bounds the audit log only; the records stay. */
	ck_assert_uint_eq(count(store, NSR_EPOCH_CURRENT), 2);
	nsr_store_close(store);
}
END_TEST

START_TEST(test_events_record_transitions)
{
	struct nsr_store *store = open_new(db_path);
	struct event_list ev;

	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c1"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c2"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_START, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CREATE, "c1"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_CHECK, "c2"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_GRACE_DONE, NULL), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "c1"), 0);
	ck_assert_int_eq(apply1(store, NSR_OP_REMOVE, "c1"), 0);

	events(store, &ev);
	ck_assert_str_eq(ev.types, "create create grace-start reclaim grace-done remove");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_meta_round_trip)
{
	struct nsr_store *store = open_new(db_path);
	_cleanup_free_ char *value = NULL;

	ck_assert_int_eq(nsr_store_get_meta(store, "scope", &value), -ENOENT);
	ck_assert_int_eq(nsr_store_set_meta(store, "scope", "nfs.example"), 0);
	ck_assert_int_eq(nsr_store_set_meta(store, "scope", "nfs2.example"), 0);
	ck_assert_int_eq(nsr_store_get_meta(store, "scope", &value), 0);
	ck_assert_str_eq(value, "nfs2.example");
	nsr_store_close(store);
}
END_TEST

START_TEST(test_server_name_escaping)
{
	_cleanup_free_ char *path = NULL, *db = NULL;
	char long_name[300];

	ck_assert_int_eq(nsr_serverdir_default("/state", "vs1.example_a-b", &path), 0);
	ck_assert_str_eq(path, "/state/vs1.example_a-b");
	free(path);
	ck_assert_int_eq(nsr_serverdir_default("/state/", "a/b c%", &path), 0);
	ck_assert_str_eq(path, "/state/a%2Fb%20c%25");
	ck_assert_int_eq(nsr_serverdir_db_path(path, &db), 0);
	ck_assert_str_eq(db, "/state/a%2Fb%20c%25/clients.sqlite");

	memset(long_name, 'n', sizeof(long_name));
	long_name[255] = '\0';
	ck_assert_int_eq(nsr_server_name_check(long_name), 0);
	long_name[255] = 'n';
	long_name[256] = '\0';
	ck_assert_int_eq(nsr_server_name_check(long_name), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check(""), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check("."), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check(".."), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check("tab\there"), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check("caf\xc3\xa9"), -EINVAL);
	ck_assert_int_eq(nsr_server_name_check(".hidden"), 0);
}
END_TEST

static int collect_server(const char *server_dir, const char *db, void *ctx)
{
	struct id_list *list = ctx;
	const char *base = strrchr(server_dir, '/') + 1;

	if (list->text[0])
		strcat(list->text, " ");
	strcat(list->text, base);
	ck_assert_ptr_nonnull(strstr(db, "/" NSR_STORE_DB_NAME));
	return 0;
}

START_TEST(test_statedir_walk)
{
	const char *names[] = { "vs2", "vs1", ".dot", "no-db" };
	struct id_list list = { .text = "" };
	_cleanup_free_ char *missing = NULL;

	for (unsigned int i = 0; i < 4; i++) {
		_cleanup_free_ char *dir = NULL, *db = NULL;

		ck_assert_int_eq(nsr_serverdir_default(test_dir, names[i], &dir), 0);
		ck_assert_int_eq(nsr_serverdir_create(dir), 0);
		if (i < 3) {
			ck_assert_int_eq(nsr_serverdir_db_path(dir, &db), 0);
			write_file(db, "", 0);
		}
	}

	ck_assert_int_eq(nsr_statedir_foreach_server(test_dir, collect_server, &list), 0);
	ck_assert_str_eq(list.text, ".dot vs1 vs2");

	ck_assert_int_ge(asprintf(&missing, "%s/missing", test_dir), 0);
	ck_assert_int_eq(nsr_statedir_foreach_server(missing, collect_server, &list), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *records = tcase_create("records");
	TCase *epochs = tcase_create("epochs");
	TCase *files = tcase_create("files");
	TCase *events_tc = tcase_create("events");

	tcase_add_checked_fixture(records, setup, teardown);
	tcase_add_test(records, test_create_remove_check);
	tcase_add_test(records, test_records_survive_reopen);
	tcase_add_test(records, test_two_servers_independent);
	tcase_add_test(records, test_binary_id_round_trip);
	tcase_add_test(records, test_id_length_limits);
	tcase_add_test(records, test_princhash_stored_and_compared);
	tcase_add_test(records, test_commit_failure_fails_batch);
	tcase_add_test(records, test_meta_round_trip);
	suite_add_tcase(s, records);

	tcase_add_checked_fixture(epochs, setup, teardown);
	tcase_add_test(epochs, test_grace_start_new_epoch);
	tcase_add_test(epochs, test_grace_restart_keeps_recovery);
	tcase_add_test(epochs, test_grace_done_drops_recovery);
	tcase_add_test(epochs, test_reclaimable_is_recovery_epoch);
	tcase_add_test(epochs, test_first_seen_kept_on_reclaim);
	suite_add_tcase(s, epochs);

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, test_migration_from_v1);
	tcase_add_test(files, test_newer_schema_rejected);
	tcase_add_test(files, test_missing_dir_named);
	tcase_add_test(files, test_read_only_mount);
	tcase_add_test(files, test_corrupt_random_bytes);
	tcase_add_test(files, test_corrupt_truncated);
	tcase_add_test(files, test_corrupt_page_after_crash);
	tcase_add_test(files, test_read_only_while_writing);
	tcase_add_test(files, test_modes_under_umask_zero);
	tcase_add_test(files, test_server_name_escaping);
	tcase_add_test(files, test_statedir_walk);
	suite_add_tcase(s, files);

	tcase_add_checked_fixture(events_tc, setup, teardown);
	tcase_add_test(events_tc, test_event_retention_rows);
	tcase_add_test(events_tc, test_event_retention_age);
	tcase_add_test(events_tc, test_events_record_transitions);
	suite_add_tcase(s, events_tc);

	return nsr_test_run(s);
}
