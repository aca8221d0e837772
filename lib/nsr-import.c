/* nsr-import.c: read the client records of nfsdcld, nfsdcltrack and the v4recovery directory. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "nsr-import.h"
#include "nsr-log.h"
#include "nsr-macro.h"

#define IMPORT_DB_NAME "main.sqlite"

/* The schema versions each SQLite format has used, from nfs-utils 2.6.2. */
#define NFSDCLD_SCHEMA_MAX 4
#define NFSDCLTRACK_SCHEMA_MAX 2

static const char *const format_names[] = {
	[NSR_IMPORT_NFSDCLD] = "nfsdcld",
	[NSR_IMPORT_NFSDCLTRACK] = "nfsdcltrack",
	[NSR_IMPORT_V4RECOVERY] = "v4recovery",
};

const char *nsr_import_format_name(enum nsr_import_format format)
{
	if ((size_t)format >= NSR_ARRAY_SIZE(format_names))
		return "unknown";
	return format_names[format];
}

int nsr_import_format_from_string(const char *text, enum nsr_import_format *ret)
{
	for (size_t i = 0; i < NSR_ARRAY_SIZE(format_names); i++) {
		if (strcasecmp(text, format_names[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the record set ------------------------------------------------------ */

void nsr_import_set_release(struct nsr_import_set *set)
{
	for (size_t i = 0; i < set->n_recs; i++)
		free((void *)set->recs[i].rec.id);
	for (size_t i = 0; i < set->n_skips; i++) {
		free(set->skips[i].id);
		free(set->skips[i].reason);
	}
	free(set->recs);
	free(set->skips);
	free(set->path);
	free(set->source);
	memset(set, 0, sizeof(*set));
}

_printf_(3, 4) static int set_skip(struct nsr_import_set *set, const char *id, const char *fmt, ...)
{
	struct nsr_import_skip *all, *s;
	va_list ap;
	int r;

	all = reallocarray(set->skips, set->n_skips + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	set->skips = all;
	s = &set->skips[set->n_skips];
	*s = (struct nsr_import_skip){ .id = strdup(id) };

	va_start(ap, fmt);
	r = vasprintf(&s->reason, fmt, ap);
	va_end(ap);
	if (!s->id || r < 0) {
		free(s->id);
		return -ENOMEM;
	}
	set->n_skips++;
	nsr_log_warning("%s: skipping client \"%s\": %s", set->source, s->id, s->reason);
	return 0;
}

/*
 * Add one record, or a skip entry when nfsd would reject it. The id and
 * hash are copied into one allocation that the record owns.
 */
static int set_add(struct nsr_import_set *set, const void *id, size_t id_len, const void *hash,
		   size_t hash_len, int64_t seen)
{
	char text[NSR_CLIENTID_TEXT_MAX];
	struct nsr_import_record *all, *ir;
	uint8_t *buf;

	if (id_len == 0)
		return set_skip(set, "(empty)", "the client id is empty");
	nsr_clientid_format(id, id_len > NSR_CLIENTID_MAX ? NSR_CLIENTID_MAX : id_len, text);
	if (id_len > NSR_CLIENTID_MAX)
		return set_skip(set, text, "the client id has %zu bytes; nfsd allows at most %d",
				id_len, NSR_CLIENTID_MAX);
	if (hash_len != 0 && hash_len != NSR_PRINCHASH_LEN)
		return set_skip(set, text, "the principal hash has %zu bytes; it must be 0 or %d",
				hash_len, NSR_PRINCHASH_LEN);

	all = reallocarray(set->recs, set->n_recs + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	set->recs = all;
	buf = malloc(id_len + NSR_PRINCHASH_LEN);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, id, id_len);
	if (hash_len)
		memcpy(buf + id_len, hash, hash_len);

	ir = &set->recs[set->n_recs++];
	*ir = (struct nsr_import_record){
		.role = NSR_IMPORT_CURRENT,
		.rec = {
			.id = buf,
			.id_len = id_len,
			.princhash = hash_len ? buf + id_len : NULL,
			.princhash_len = hash_len,
			.epoch = 1,
			.first_seen = seen,
			.last_seen = seen,
			.minor_version = -1,
		},
	};
	return 0;
}

static int record_cmp(const void *a, const void *b)
{
	const struct nsr_record *x = &((const struct nsr_import_record *)a)->rec;
	const struct nsr_record *y = &((const struct nsr_import_record *)b)->rec;
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = memcmp(x->id, y->id, n);

	if (c)
		return c;
	return x->id_len < y->id_len ? -1 : x->id_len > y->id_len;
}

/* Sort by id and keep one record per id, preferring one with a principal hash. */
static void set_dedup(struct nsr_import_set *set)
{
	size_t out = 0;

	/* qsort() must not see the NULL array of an empty set. */
	if (set->n_recs > 0)
		qsort(set->recs, set->n_recs, sizeof(*set->recs), record_cmp);
	for (size_t i = 0; i < set->n_recs; i++) {
		if (out > 0 && record_cmp(&set->recs[out - 1], &set->recs[i]) == 0) {
			if (!set->recs[out - 1].rec.princhash_len && set->recs[i].rec.princhash_len) {
				free((void *)set->recs[out - 1].rec.id);
				set->recs[out - 1] = set->recs[i];
			} else {
				free((void *)set->recs[i].rec.id);
			}
			continue;
		}
		set->recs[out++] = set->recs[i];
	}
	set->n_recs = out;

	set->n_legacy_hashes = 0;
	for (size_t i = 0; i < set->n_recs; i++)
		if (set->recs[i].rec.id_len > 5 &&
		    memcmp(set->recs[i].rec.id, NSR_IMPORT_HASH_PREFIX, 5) == 0)
			set->n_legacy_hashes++;
}

/* ---- SQLite sources -------------------------------------------------------- */

static void sqlite_closep(sqlite3 **db)
{
	if (*db)
		sqlite3_close_v2(*db);
}

static void stmt_finalizep(sqlite3_stmt **stmt)
{
	if (*stmt)
		sqlite3_finalize(*stmt);
}

/* A file: URI for @path that SQLite opens read-only and immutable. */
static char *immutable_uri(const char *path)
{
	size_t len = strlen(path);
	char *uri = malloc(3 * len + 64), *p;

	if (!uri)
		return NULL;
	p = stpcpy(uri, "file:");
	for (const char *c = path; *c; c++) {
		if (*c == '%' || *c == '?' || *c == '#')
			p += sprintf(p, "%%%02x", (unsigned char)*c);
		else
			*p++ = *c;
	}
	strcpy(p, "?mode=ro&immutable=1");
	return uri;
}

/*
 * An immutable open ignores journals, so refuse a database that has one
 * in use: its writer is running or crashed in the middle of a transaction.
 */
static int check_no_journal(const char *path)
{
	static const char *const suffixes[] = { "-journal", "-wal" };
	struct stat st;

	for (size_t i = 0; i < NSR_ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *j = NULL;

		if (asprintf(&j, "%s%s", path, suffixes[i]) < 0)
			return -ENOMEM;
		if (stat(j, &st) == 0 && st.st_size > 0)
			return nsr_log_error_errno(-EBUSY, "%s exists, so a program is writing %s or "
						   "stopped in the middle of a transaction; stop "
						   "nfsdcld or nfsdcltrack, or run it once so it "
						   "recovers, then import again", j, path);
	}
	return 0;
}

static int db_path_of(const char *path, char **ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return nsr_log_error_errno(-errno, "%s: %m; give the database directory or its %s",
					   path, IMPORT_DB_NAME);
	if (S_ISDIR(st.st_mode))
		return asprintf(ret, "%s/%s", path, IMPORT_DB_NAME) < 0 ? -ENOMEM : 0;
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

static int db_open(const char *path, sqlite3 **ret)
{
	_cleanup_free_ char *uri = NULL;
	struct stat st;
	int r, rc;

	if (stat(path, &st) < 0)
		return nsr_log_error_errno(-errno, "%s: %m", path);
	r = check_no_journal(path);
	if (r < 0)
		return r;

	uri = immutable_uri(path);
	if (!uri)
		return -ENOMEM;
	rc = sqlite3_open_v2(uri, ret, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK)
		return nsr_log_error_errno(rc == SQLITE_NOMEM ? -ENOMEM : -EIO, "%s: opening "
					   "failed: %s", path, sqlite3_errstr(rc));
	return 0;
}

/* Map a SQLite error while reading a source, and log it with the path. */
static int db_error(sqlite3 *db, const char *path, int rc, const char *what)
{
	int r = (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT ? -EBADMSG :
		(rc & 0xff) == SQLITE_NOMEM ? -ENOMEM : -EIO;

	return nsr_log_error_errno(r, "%s: %s failed: %s", path, what, sqlite3_errmsg(db));
}

static int db_has_table(sqlite3 *db, const char *name, bool *ret)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
				-1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	*ret = rc == SQLITE_ROW;
	return SQLITE_OK;
}

/* The "version" parameter both nfs-utils trackers keep. */
static int db_schema_version(sqlite3 *db, const char *path, int *ret)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	bool has = false;
	int rc;

	rc = db_has_table(db, "parameters", &has);
	if (rc != SQLITE_OK)
		return db_error(db, path, rc, "reading the schema");
	if (!has)
		return nsr_log_error_errno(-EBADMSG, "%s has no parameters table, so it is not a "
					   "database of nfsdcld or nfsdcltrack", path);

	rc = sqlite3_prepare_v2(db, "SELECT value FROM parameters WHERE key = 'version'", -1,
				&stmt, NULL);
	if (rc != SQLITE_OK)
		return db_error(db, path, rc, "reading the schema version");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return nsr_log_error_errno(-EBADMSG, "%s records no schema version", path);
	if (rc != SQLITE_ROW)
		return db_error(db, path, rc, "reading the schema version");
	*ret = sqlite3_column_int(stmt, 0);
	return 0;
}

/*
 * Read the ids of one table. @time_col and @hash_col name optional columns,
 * or are NULL.
 */
static int db_read_ids(struct nsr_import_set *set, sqlite3 *db, const char *table,
		       const char *time_col, const char *hash_col)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	_cleanup_free_ char *sql = NULL;
	int64_t now = time(NULL);
	int r, rc;

	if (asprintf(&sql, "SELECT id, %s, %s FROM \"%s\"", time_col ?: "0", hash_col ?: "NULL",
		     table) < 0)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return db_error(db, set->path, rc, "reading the client table");

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(stmt, 0);
		size_t id_len = sqlite3_column_bytes(stmt, 0);
		int64_t seen = sqlite3_column_int64(stmt, 1);
		const void *hash = sqlite3_column_blob(stmt, 2);
		size_t hash_len = sqlite3_column_bytes(stmt, 2);

		r = set_add(set, id, id ? id_len : 0, hash, hash ? hash_len : 0,
			    seen > 0 ? seen : now);
		if (r < 0)
			return r;
	}
	if (rc != SQLITE_DONE)
		return db_error(db, set->path, rc, "reading the client table");
	return 0;
}

static int db_has_column(sqlite3 *db, const char *table, const char *column, bool *ret)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	_cleanup_free_ char *sql = NULL;
	int rc;

	*ret = false;
	if (asprintf(&sql, "SELECT 1 FROM pragma_table_info('%s') WHERE name = ?1", table) < 0)
		return SQLITE_NOMEM;
	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(stmt, 1, column, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	*ret = rc == SQLITE_ROW;
	return SQLITE_OK;
}

/* Versions 1 and 2 of both formats: one clients table. */
static int read_clients_table(struct nsr_import_set *set, sqlite3 *db)
{
	bool has = false;
	int rc;

	rc = db_has_table(db, "clients", &has);
	if (rc != SQLITE_OK)
		return db_error(db, set->path, rc, "reading the schema");
	if (!has)
		return nsr_log_error_errno(-EBADMSG, "%s: schema version %d, but no clients table",
					   set->path, set->schema_version);
	return db_read_ids(set, db, "clients", "time", NULL);
}

/* Find the table of @epoch: "rec-%016x", or the unpadded form some version 3 files use. */
static int find_epoch_table(sqlite3 *db, const char *path, int64_t epoch, char *name, size_t size)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND "
				"name LIKE 'rec-%'", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return db_error(db, path, rc, "listing the epoch tables");

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(stmt, 0);
		char *end;
		unsigned long long v;

		if (!t || strlen(t) < 5 || strlen(t) > 20)
			continue;
		errno = 0;
		v = strtoull(t + 4, &end, 16);
		if (errno || *end || (int64_t)v != epoch)
			continue;
		snprintf(name, size, "%s", t);
		return 1;
	}
	if (rc != SQLITE_DONE)
		return db_error(db, path, rc, "listing the epoch tables");
	return 0;
}

static int read_epoch(struct nsr_import_set *set, sqlite3 *db, int64_t epoch)
{
	char table[32];
	bool has_hash = false;
	int r, rc;

	r = find_epoch_table(db, set->path, epoch, table, sizeof(table));
	if (r < 0)
		return r;
	if (r == 0) {
		nsr_log_warning("%s: grace state names epoch %" PRId64 ", but its table "
				"rec-%016" PRIx64 " is missing; no clients of that epoch", set->path,
				epoch, (uint64_t)epoch);
		return 0;
	}

	rc = db_has_column(db, table, "princhash", &has_hash);
	if (rc != SQLITE_OK)
		return db_error(db, set->path, rc, "reading the epoch table");
	return db_read_ids(set, db, table, NULL, has_hash ? "princhash" : NULL);
}

/* Versions 3 and 4 of nfsdcld: the grace table and one table per epoch. */
static int read_nfsdcld_epochs(struct nsr_import_set *set, sqlite3 *db)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int64_t current, recovery;
	int r, rc;

	rc = sqlite3_prepare_v2(db, "SELECT current, recovery FROM grace", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return db_error(db, set->path, rc, "reading the grace table");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return nsr_log_error_errno(-EBADMSG, "%s: the grace table is empty", set->path);
	if (rc != SQLITE_ROW)
		return db_error(db, set->path, rc, "reading the grace table");
	current = sqlite3_column_int64(stmt, 0);
	recovery = sqlite3_column_int64(stmt, 1);

	r = read_epoch(set, db, current);
	if (r < 0 || recovery == 0)
		return r;
	/* In grace: the recovery epoch's clients may still reclaim. */
	return read_epoch(set, db, recovery);
}

static int read_sqlite(struct nsr_import_set *set)
{
	_cleanup_(sqlite_closep) sqlite3 *db = NULL;
	int max = set->format == NSR_IMPORT_NFSDCLD ? NFSDCLD_SCHEMA_MAX : NFSDCLTRACK_SCHEMA_MAX;
	int r;

	r = db_open(set->path, &db);
	if (r < 0)
		return r;
	r = db_schema_version(db, set->path, &set->schema_version);
	if (r < 0)
		return r;
	if (set->schema_version < 1 || set->schema_version > max)
		return nsr_log_error_errno(-EPROTONOSUPPORT, "%s: %s schema version %d is not "
					   "supported; this program reads versions 1 to %d",
					   set->path, nsr_import_format_name(set->format),
					   set->schema_version, max);

	if (set->schema_version <= 2)
		return read_clients_table(set, db);
	return read_nfsdcld_epochs(set, db);
}

/* ---- the v4recovery directory -------------------------------------------- */

int nsr_import_parse_v4recovery_name(const char *name, uint8_t *id)
{
	size_t len = strnlen(name, 33);

	if (len != 32)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return -EINVAL;

	memcpy(id, NSR_IMPORT_HASH_PREFIX, 5);
	memcpy(id + 5, name, 32);
	id[5 + 32] = '\0'; /* nfsd compares the digest with its terminating NUL */
	return 0;
}

static int read_v4recovery(struct nsr_import_set *set)
{
	uint8_t id[NSR_IMPORT_HASH_ID_LEN];
	int64_t now = time(NULL);
	struct dirent *de;
	DIR *dir;
	int r = 0;

	dir = opendir(set->path);
	if (!dir)
		return nsr_log_error_errno(-errno, "%s: %m; give the v4recovery directory",
					   set->path);

	while (r >= 0 && (errno = 0, de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (nsr_import_parse_v4recovery_name(de->d_name, id) < 0)
			r = set_skip(set, de->d_name, "the name is not the 32 lower-case hex digits "
				     "of an MD5 digest, so it matches no client");
		else
			r = set_add(set, id, sizeof(id), NULL, 0, now);
	}
	if (r >= 0 && errno)
		r = nsr_log_error_errno(-errno, "%s: reading the directory failed: %m", set->path);
	closedir(dir);
	return r;
}

int nsr_import_read(enum nsr_import_format format, const char *path,
		    struct nsr_import_set *ret)
{
	struct nsr_import_set set = { .format = format };
	int r;

	if (format == NSR_IMPORT_V4RECOVERY)
		r = (set.path = strdup(path)) ? 0 : -ENOMEM;
	else
		r = db_path_of(path, &set.path);
	if (r < 0)
		return r;
	if (asprintf(&set.source, "%s %s", nsr_import_format_name(format), set.path) < 0) {
		nsr_import_set_release(&set);
		return -ENOMEM;
	}

	r = format == NSR_IMPORT_V4RECOVERY ? read_v4recovery(&set) : read_sqlite(&set);
	if (r < 0) {
		nsr_import_set_release(&set);
		return r;
	}

	set_dedup(&set);
	*ret = set;
	return 0;
}

/* ---- writing into a store ------------------------------------------------ */

struct present_walk {
	const struct nsr_import_set *set;
	uint64_t present;
};

static int count_present(const struct nsr_record *rec, void *ctx)
{
	struct present_walk *w = ctx;
	struct nsr_import_record key = { .rec = { .id = rec->id, .id_len = rec->id_len } };

	if (bsearch(&key, w->set->recs, w->set->n_recs, sizeof(key), record_cmp))
		w->present++;
	return 0;
}

int nsr_import_apply(struct nsr_store *store, const struct nsr_import_set *set, bool dry_run,
		     struct nsr_import_summary *ret)
{
	/* An empty server adopts this state: the records stay in its current epoch 1. */
	static const struct nsr_grace_state fresh = { .current_epoch = 1 };
	struct present_walk w = { .set = set };
	struct nsr_import_result result = { 0 };
	int r;

	if (dry_run) {
		r = nsr_store_foreach_client(store, NSR_EPOCH_CURRENT, count_present, &w);
		if (r < 0)
			return r;
		*ret = (struct nsr_import_summary){
			.imported = set->n_recs - w.present,
			.present = w.present,
			.skipped = set->n_skips,
		};
		return 0;
	}

	r = nsr_store_import(store, &fresh, set->recs, set->n_recs, set->source, &result);
	if (r < 0)
		return r;
	*ret = (struct nsr_import_summary){
		.imported = result.added,
		.present = result.updated,
		.skipped = set->n_skips,
	};
	return 0;
}

static int import_spec_parse(const char *spec, enum nsr_import_format *format, const char **path)
{
	_cleanup_free_ char *kind = NULL;
	const char *colon = strchr(spec, ':');

	if (!colon)
		return -EINVAL;
	kind = strndup(spec, colon - spec);
	if (!kind)
		return -ENOMEM;
	*path = colon + 1;
	return nsr_import_format_from_string(kind, format);
}

int nsr_import_once(struct nsr_store *store, const char *spec, const char *label)
{
	_cleanup_free_ char *done = NULL;
	struct nsr_import_set set;
	struct nsr_import_summary s;
	enum nsr_import_format format;
	const char *path;
	uint64_t n = 0;
	int r;

	if (nsr_store_get_meta(store, NSR_IMPORT_META_KEY, &done) == 0)
		return 0;
	r = nsr_store_count_clients(store, NSR_EPOCH_ALL, &n);
	if (r < 0)
		return r;
	if (n > 0) {
		nsr_log_notice("%s: not importing %s: the server already holds %" PRIu64
			       " client records", label, spec, n);
		return 0;
	}

	r = import_spec_parse(spec, &format, &path);
	if (r < 0)
		return nsr_log_error_errno(r, "%s: import-from \"%s\" is not FORMAT:PATH", label,
					   spec);

	r = nsr_import_read(format, path, &set);
	if (r < 0)
		return nsr_log_error_errno(r, "%s: importing %s failed: %m; its clients cannot "
					   "reclaim until it is imported (the next start retries)",
					   label, spec);

	r = nsr_import_apply(store, &set, false, &s);
	if (r == 0)
		r = nsr_store_set_meta(store, NSR_IMPORT_META_KEY, spec);
	if (r < 0)
		nsr_log_error_errno(r, "%s: importing %s failed: %m", label, spec);
	else
		nsr_log_notice("%s: imported %s: %" PRIu64 " clients, %" PRIu64 " skipped as nfsd "
			       "would reject them%s", label, set.source, s.imported, s.skipped,
			       set.n_legacy_hashes ? "; some are MD5 digests that only the cld pipe "
			       "can match" : "");
	nsr_import_set_release(&set);
	return r;
}
