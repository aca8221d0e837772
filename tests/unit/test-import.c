/* test-import.c: importing nfsdcld, nfsdcltrack and v4recovery records into a server. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "nsr-import.h"
#include "nsr-macro.h"
#include "nsr-store.h"
#include "nsr-test.h"

/*
 * The databases below are built with the SQL that nfs-utils 2.6.2 runs,
 * read from its binaries, one layout per schema version.
 */

static const uint8_t hash_a[32] = { 0xaa, [31] = 0xa1 };

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

static void insert_blob(sqlite3 *db, const char *sql, const void *id, size_t id_len,
			const void *hash, size_t hash_len)
{
	sqlite3_stmt *stmt;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_blob(stmt, 1, id, (int)id_len, SQLITE_STATIC);
	if (hash)
		sqlite3_bind_blob(stmt, 2, hash, (int)hash_len, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
}

static char *db_create(const char *dir, const char *name, int version)
{
	char *path, sql[128];
	sqlite3 *db;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	free(path);
	ck_assert_int_ge(asprintf(&path, "%s/%s/main.sqlite", dir, name), 0);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, "CREATE TABLE parameters (key TEXT PRIMARY KEY, value TEXT);");
	snprintf(sql, sizeof(sql), "INSERT OR FAIL INTO parameters values (\"version\", \"%d\");",
		 version);
	exec_sql(db, sql);
	sqlite3_close(db);
	return path;
}

static sqlite3 *db_reopen(const char *path)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

/* Versions 1 and 2: one clients table, as nfsdcltrack still writes it. */
static char *make_clients_db(const char *dir, const char *name, int version)
{
	char *path = db_create(dir, name, version);
	sqlite3 *db = db_reopen(path);

	if (version == 1)
		exec_sql(db, "CREATE TABLE clients (id BLOB PRIMARY KEY, time INTEGER);");
	else
		exec_sql(db, "CREATE TABLE clients (id BLOB PRIMARY KEY, time INTEGER, "
			     "has_session INTEGER);");
	insert_blob(db, "INSERT INTO clients (id, time) VALUES (?1, 1700000000)", "client-a", 8,
		    NULL, 0);
	insert_blob(db, "INSERT INTO clients (id, time) VALUES (?1, 0)", "client-b\0bin", 12, NULL,
		    0);
	/* Rejected by nfsd: an empty id. */
	insert_blob(db, "INSERT INTO clients (id, time) VALUES (?1, 0)", "", 0, NULL, 0);
	sqlite3_close(db);
	return path;
}

/*
 * Version 3: grace table and rec-X tables without princhash, one of them
 * with the unpadded name some version 3 files have. Version 4 adds princhash.
 */
static char *make_epochs_db(const char *dir, const char *name, int version, bool in_grace)
{
	char *path = db_create(dir, name, version);
	sqlite3 *db = db_reopen(path);
	const char *cols = version >= 4 ? "(id BLOB PRIMARY KEY, princhash BLOB)" :
					  "(id BLOB PRIMARY KEY)";
	char sql[256];
	static uint8_t big[NSR_CLIENTID_MAX + 1];

	exec_sql(db, "CREATE TABLE grace (current INTEGER , recovery INTEGER);");
	snprintf(sql, sizeof(sql), "INSERT OR FAIL INTO grace values (3, %d);", in_grace ? 2 : 0);
	exec_sql(db, sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE \"rec-2\" %s;", cols);
	exec_sql(db, sql);
	snprintf(sql, sizeof(sql), "CREATE TABLE \"rec-0000000000000003\" %s;", cols);
	exec_sql(db, sql);
	/* An older epoch nfsdcld would not stream. */
	snprintf(sql, sizeof(sql), "CREATE TABLE \"rec-0000000000000001\" %s;", cols);
	exec_sql(db, sql);

	if (version >= 4) {
		insert_blob(db, "INSERT INTO \"rec-0000000000000003\" VALUES (?1, ?2)", "client-a", 8,
			    hash_a, sizeof(hash_a));
		insert_blob(db, "INSERT INTO \"rec-0000000000000003\" VALUES (?1, ?2)", "bad-hash",
			    8, hash_a, 16);
	} else {
		insert_blob(db, "INSERT INTO \"rec-0000000000000003\" (id) VALUES (?1)", "client-a",
			    8, NULL, 0);
	}
	insert_blob(db, "INSERT INTO \"rec-0000000000000003\" (id) VALUES (?1)",
		    "hash:0123456789abcdef0123456789abcdef\0", 38, NULL, 0);
	memset(big, 'x', sizeof(big));
	insert_blob(db, "INSERT INTO \"rec-0000000000000003\" (id) VALUES (?1)", big, sizeof(big),
		    NULL, 0);
	insert_blob(db, "INSERT INTO \"rec-2\" (id) VALUES (?1)", "client-a", 8, NULL, 0);
	insert_blob(db, "INSERT INTO \"rec-2\" (id) VALUES (?1)", "in-recovery", 11, NULL, 0);
	insert_blob(db, "INSERT INTO \"rec-0000000000000001\" (id) VALUES (?1)", "ancient", 7, NULL,
		    0);
	sqlite3_close(db);
	return path;
}

static char *file_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

struct target {
	char *dir;
	char *db;
	struct nsr_store *store;
};

static void target_open(struct target *t)
{
	struct nsr_store_options opts = { .create = true };

	t->dir = nsr_test_mkdtemp();
	ck_assert_int_ge(asprintf(&t->db, "%s/clients.sqlite", t->dir), 0);
	ck_assert_int_eq(nsr_store_open(t->db, &opts, &t->store), 0);
}

static void target_close(struct target *t)
{
	nsr_store_close(t->store);
	nsr_test_rmtree(t->dir);
	free(t->dir);
	free(t->db);
}

static bool has_record(const struct nsr_import_set *set, const void *id, size_t len)
{
	for (size_t i = 0; i < set->n_recs; i++)
		if (set->recs[i].rec.id_len == len && memcmp(set->recs[i].rec.id, id, len) == 0)
			return true;
	return false;
}

static uint64_t current_count(struct target *t)
{
	uint64_t n = 0;

	ck_assert_int_eq(nsr_store_count_clients(t->store, NSR_EPOCH_CURRENT, &n), 0);
	return n;
}

/* Import @set twice: the second run finds every record present. */
static void import_twice(struct target *t, const struct nsr_import_set *set)
{
	struct nsr_import_summary s;

	ck_assert_int_eq(nsr_import_apply(t->store, set, true, &s), 0);
	ck_assert_uint_eq(s.imported, set->n_recs);
	ck_assert_uint_eq(current_count(t), 0);

	ck_assert_int_eq(nsr_import_apply(t->store, set, false, &s), 0);
	ck_assert_uint_eq(s.imported, set->n_recs);
	ck_assert_uint_eq(s.present, 0);
	ck_assert_uint_eq(s.skipped, set->n_skips);
	ck_assert_uint_eq(current_count(t), set->n_recs);

	ck_assert_int_eq(nsr_import_apply(t->store, set, true, &s), 0);
	ck_assert_uint_eq(s.imported, 0);
	ck_assert_uint_eq(s.present, set->n_recs);
	ck_assert_int_eq(nsr_import_apply(t->store, set, false, &s), 0);
	ck_assert_uint_eq(s.imported, 0);
	ck_assert_uint_eq(s.present, set->n_recs);
	ck_assert_uint_eq(current_count(t), set->n_recs);
}

START_TEST(test_clients_table_versions)
{
	static const enum nsr_import_format formats[] = { NSR_IMPORT_NFSDCLD, NSR_IMPORT_NFSDCLTRACK };
	char *dir = nsr_test_mkdtemp();

	for (int version = 1; version <= 2; version++) {
		for (size_t f = 0; f < NSR_ARRAY_SIZE(formats); f++) {
			char name[32];
			struct nsr_import_set set;
			struct target t;
			size_t before_len, after_len;
			char *path, *before, *after;

			snprintf(name, sizeof(name), "%s-%d", nsr_import_format_name(formats[f]),
				 version);
			path = make_clients_db(dir, name, version);
			before = file_bytes(path, &before_len);

			/* The directory is enough; the reader finds main.sqlite in it. */
			*strrchr(path, '/') = '\0';
			ck_assert_int_eq(nsr_import_read(formats[f], path, &set), 0);
			ck_assert_int_eq(set.schema_version, version);
			ck_assert_uint_eq(set.n_recs, 2);
			ck_assert(has_record(&set, "client-a", 8));
			ck_assert(has_record(&set, "client-b\0bin", 12));
			ck_assert_uint_eq(set.n_skips, 1);
			ck_assert_ptr_nonnull(strstr(set.skips[0].reason, "empty"));

			target_open(&t);
			import_twice(&t, &set);
			target_close(&t);

			strcat(path, "/main.sqlite");
			after = file_bytes(path, &after_len);
			ck_assert_uint_eq(before_len, after_len);
			ck_assert_int_eq(memcmp(before, after, before_len), 0);
			nsr_import_set_release(&set);
			free(before);
			free(after);
			free(path);
		}
	}
	nsr_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_nfsdcld_epoch_versions)
{
	char *dir = nsr_test_mkdtemp();

	for (int version = 3; version <= 4; version++) {
		for (int in_grace = 0; in_grace <= 1; in_grace++) {
			char name[32];
			struct nsr_import_set set;
			struct target t;
			size_t before_len, after_len;
			char *path, *before, *after;

			snprintf(name, sizeof(name), "cld-%d-%d", version, in_grace);
			path = make_epochs_db(dir, name, version, in_grace);
			before = file_bytes(path, &before_len);

			ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLD, path, &set), 0);
			ck_assert_int_eq(set.schema_version, version);
			ck_assert(has_record(&set, "client-a", 8));
			ck_assert(has_record(&set, "hash:0123456789abcdef0123456789abcdef\0", 38));
			ck_assert_uint_eq(set.n_legacy_hashes, 1);
			ck_assert(!has_record(&set, "ancient", 7));
			/* The unpadded rec-2 is the recovery epoch while in grace. */
			ck_assert(has_record(&set, "in-recovery", 11) == (in_grace == 1));
			ck_assert_uint_eq(set.n_recs, 2 + in_grace);
			/* Too long an id, and at version 4 a 16-byte principal hash. */
			ck_assert_uint_eq(set.n_skips, version == 4 ? 2 : 1);

			for (size_t i = 0; i < set.n_recs; i++)
				if (set.recs[i].rec.id_len == 8 && version == 4)
					ck_assert_uint_eq(set.recs[i].rec.princhash_len, 32);

			target_open(&t);
			import_twice(&t, &set);
			target_close(&t);

			after = file_bytes(path, &after_len);
			ck_assert_uint_eq(before_len, after_len);
			ck_assert_int_eq(memcmp(before, after, before_len), 0);
			nsr_import_set_release(&set);
			free(before);
			free(after);
			free(path);
		}
	}
	nsr_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_v4recovery_directory)
{
	static const char *good[] = { "0123456789abcdef0123456789abcdef",
				      "ffffffffffffffffffffffffffffffff" };
	char *dir = nsr_test_mkdtemp(), *p;
	uint8_t id[NSR_IMPORT_HASH_ID_LEN];
	struct nsr_import_set set;
	struct target t;

	for (size_t i = 0; i < NSR_ARRAY_SIZE(good); i++) {
		ck_assert_int_ge(asprintf(&p, "%s/%s", dir, good[i]), 0);
		ck_assert_int_eq(mkdir(p, 0700), 0);
		free(p);
	}
	ck_assert_int_ge(asprintf(&p, "%s/not-a-digest", dir), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);

	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_V4RECOVERY, dir, &set), 0);
	ck_assert_uint_eq(set.n_recs, 2);
	ck_assert_uint_eq(set.n_legacy_hashes, 2);
	ck_assert_uint_eq(set.n_skips, 1);
	ck_assert_str_eq(set.skips[0].id, "not-a-digest");
	ck_assert_int_eq(nsr_import_parse_v4recovery_name(good[0], id), 0);
	ck_assert(has_record(&set, id, sizeof(id)));
	ck_assert_uint_eq(id[37], 0);

	target_open(&t);
	import_twice(&t, &set);
	target_close(&t);

	nsr_import_set_release(&set);
	nsr_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_v4recovery_names)
{
	uint8_t id[NSR_IMPORT_HASH_ID_LEN];

	ck_assert_int_eq(nsr_import_parse_v4recovery_name("0123456789ABCDEF0123456789abcdef", id),
			 -EINVAL);
	ck_assert_int_eq(nsr_import_parse_v4recovery_name("0123456789abcdef0123456789abcde", id),
			 -EINVAL);
	ck_assert_int_eq(nsr_import_parse_v4recovery_name("0123456789abcdef0123456789abcdef0", id),
			 -EINVAL);
	ck_assert_int_eq(nsr_import_parse_v4recovery_name("", id), -EINVAL);
	ck_assert_int_eq(nsr_import_parse_v4recovery_name("0123456789abcdef0123456789abcdef", id), 0);
	ck_assert_mem_eq(id, "hash:0123456789abcdef0123456789abcdef\0", 38);
}
END_TEST

START_TEST(test_bad_sources)
{
	char *dir = nsr_test_mkdtemp(), *path, *journal;
	struct nsr_import_set set;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/missing", dir), 0);
	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLD, path, &set), -ENOENT);
	free(path);

	path = make_clients_db(dir, "future", 1);
	{
		sqlite3 *db = db_reopen(path);

		exec_sql(db, "UPDATE parameters SET value = 9 WHERE key = 'version'");
		sqlite3_close(db);
	}
	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLD, path, &set), -EPROTONOSUPPORT);
	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLTRACK, path, &set), -EPROTONOSUPPORT);

	/* A journal in use means a writer is active: refuse rather than read a torn state. */
	ck_assert_int_ge(asprintf(&journal, "%s-journal", path), 0);
	fd = open(journal, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLD, path, &set), -EBUSY);
	free(journal);
	free(path);

	/* Not a SQLite database at all. */
	ck_assert_int_ge(asprintf(&path, "%s/garbage.sqlite", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "this is not a database, not even close to one....", 49), 49);
	close(fd);
	ck_assert_int_eq(nsr_import_read(NSR_IMPORT_NFSDCLD, path, &set), -EBADMSG);
	free(path);

	nsr_test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_import_once)
{
	char *dir = nsr_test_mkdtemp(), *p, *spec, *done = NULL;
	struct target t;

	ck_assert_int_ge(asprintf(&p, "%s/0123456789abcdef0123456789abcdef", dir), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	ck_assert_int_ge(asprintf(&spec, "v4recovery:%s", dir), 0);

	target_open(&t);
	ck_assert_int_eq(nsr_import_once(t.store, spec, "test"), 0);
	ck_assert_uint_eq(current_count(&t), 1);
	ck_assert_int_eq(nsr_store_get_meta(t.store, NSR_IMPORT_META_KEY, &done), 0);
	ck_assert_str_eq(done, spec);
	free(done);

	/* Once only: a second entry in the source is not picked up. */
	ck_assert_int_ge(asprintf(&p, "%s/ffffffffffffffffffffffffffffffff", dir), 0);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	ck_assert_int_eq(nsr_import_once(t.store, spec, "test"), 0);
	ck_assert_uint_eq(current_count(&t), 1);
	target_close(&t);

	/* A failed import leaves the database empty and unmarked, so it is retried. */
	target_open(&t);
	ck_assert_int_eq(nsr_import_once(t.store, "nfsdcld:/nonexistent/nfsdcld", "test"), -ENOENT);
	ck_assert_int_eq(nsr_store_get_meta(t.store, NSR_IMPORT_META_KEY, &done), -ENOENT);
	target_close(&t);

	free(spec);
	nsr_test_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("import");

	tcase_add_test(tc, test_clients_table_versions);
	tcase_add_test(tc, test_nfsdcld_epoch_versions);
	tcase_add_test(tc, test_v4recovery_directory);
	tcase_add_test(tc, test_v4recovery_names);
	tcase_add_test(tc, test_bad_sources);
	tcase_add_test(tc, test_import_once);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
