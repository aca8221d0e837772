/* nsr-store.c: one virtual server's database: open, verify, migrate, close. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-schema.h"
#include "nsr-serverdir.h"
#include "nsr-store-internal.h"

/* How long a statement waits for another connection's lock, in milliseconds. */
#define NSR_STORE_BUSY_TIMEOUT_MS 5000

static const char *const stmt_sql[NSR_STMT_MAX] = {
	[NSR_STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[NSR_STMT_BEGIN_DEFERRED] = "BEGIN DEFERRED",
	[NSR_STMT_COMMIT] = "COMMIT",
	[NSR_STMT_ROLLBACK] = "ROLLBACK",
	[NSR_STMT_GRACE_GET] =
		"SELECT current_epoch, recovery_epoch, grace_started, boot_time "
		"FROM grace WHERE id = 1",
	[NSR_STMT_GRACE_SET] =
		"UPDATE grace SET current_epoch = ?1, recovery_epoch = ?2, grace_started = ?3, "
		"boot_time = ?4 WHERE id = 1",
	[NSR_STMT_CLIENT_GET] =
		"SELECT princhash, first_seen FROM clients WHERE epoch = ?1 AND clientid = ?2",
	/*
	 * A repeated CREATE keeps the earliest first_seen and replaces the
	 * principal hash, and an audit field that the new request does not
	 * know keeps its stored value.
	 */
	[NSR_STMT_CLIENT_UPSERT] =
		"INSERT INTO clients (epoch, clientid, princhash, first_seen, last_seen, address, "
		"minor_version, principal, impl_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
		"ON CONFLICT (epoch, clientid) DO UPDATE SET princhash = excluded.princhash, "
		"first_seen = min(first_seen, excluded.first_seen), last_seen = excluded.last_seen, "
		"address = coalesce(excluded.address, address), "
		"minor_version = coalesce(excluded.minor_version, minor_version), "
		"principal = coalesce(excluded.principal, principal), "
		"impl_id = coalesce(excluded.impl_id, impl_id)",
	[NSR_STMT_CLIENT_DELETE] = "DELETE FROM clients WHERE epoch = ?1 AND clientid = ?2",
	[NSR_STMT_CLIENTS_DROP_OLD] = "DELETE FROM clients WHERE epoch <> ?1",
	[NSR_STMT_CLIENTS_EPOCH] =
		"SELECT clientid, princhash, epoch, first_seen, last_seen, address, minor_version, "
		"principal, impl_id FROM clients WHERE epoch = ?1 ORDER BY clientid",
	[NSR_STMT_CLIENTS_ALL] =
		"SELECT clientid, princhash, epoch, first_seen, last_seen, address, minor_version, "
		"principal, impl_id FROM clients ORDER BY epoch, clientid",
	[NSR_STMT_COUNT_EPOCH] = "SELECT count(*) FROM clients WHERE epoch = ?1",
	[NSR_STMT_COUNT_ALL] = "SELECT count(*) FROM clients",
	[NSR_STMT_EVENT_ADD] =
		"INSERT INTO events (time, type, clientid, epoch, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
	/* Both trims walk an index (the rowid and events_time), never the whole log. */
	[NSR_STMT_EVENTS_TRIM_ROWS] =
		"DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?1",
	[NSR_STMT_EVENTS_TRIM_AGE] = "DELETE FROM events WHERE time < ?1",
	[NSR_STMT_EVENTS_SINCE] =
		"SELECT seq, time, type, clientid, epoch, detail FROM events WHERE time >= ?1 "
		"ORDER BY time, seq",
	[NSR_STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[NSR_STMT_META_SET] =
		"INSERT INTO meta (key, value) VALUES (?1, ?2) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[NSR_STMT_OWNER_GET] = "SELECT node_id, generation, expires FROM ownership WHERE id = 1",
	[NSR_STMT_OWNER_SET] =
		"INSERT INTO ownership (id, node_id, generation, expires) VALUES (1, ?1, ?2, ?3) "
		"ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, "
		"generation = excluded.generation, expires = excluded.expires",
	[NSR_STMT_OWNER_RENEW] =
		"UPDATE ownership SET expires = ?3 WHERE id = 1 AND node_id = ?1 AND generation = ?2",
	[NSR_STMT_SIGHTING_GET] =
		"SELECT time, address, principal FROM client_sightings WHERE clientid = ?1",
	/* An audit field that the new CREATE does not know keeps the stored value. */
	[NSR_STMT_SIGHTING_SET] =
		"INSERT INTO client_sightings (clientid, time, address, principal) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (clientid) DO UPDATE SET "
		"time = max(time, excluded.time), address = coalesce(excluded.address, address), "
		"principal = coalesce(excluded.principal, principal)",
	[NSR_STMT_SIGHTINGS_TRIM] = "DELETE FROM client_sightings WHERE time < ?1",
	[NSR_STMT_FINDING_RECENT] =
		"SELECT 1 FROM findings WHERE time >= ?3 AND kind = ?2 AND clientid = ?1 LIMIT 1",
	[NSR_STMT_FINDING_ADD] =
		"INSERT INTO findings (time, kind, clientid, old_value, new_value, detail) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[NSR_STMT_FINDINGS_TRIM_ROWS] =
		"DELETE FROM findings WHERE seq <= (SELECT max(seq) FROM findings) - ?1",
	[NSR_STMT_FINDINGS_TRIM_AGE] = "DELETE FROM findings WHERE time < ?1",
	[NSR_STMT_FINDINGS_SINCE] =
		"SELECT seq, time, kind, clientid, old_value, new_value, detail FROM findings "
		"WHERE time >= ?1 ORDER BY time, seq",
};

int nsr_sqlite_errno(int rc)
{
	if (rc == SQLITE_CONSTRAINT_COMMITHOOK)
		return -EIO;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/*
 * SQLite reports a failed write or sync as SQLITE_IOERR and keeps the errno
 * of a failed WAL write to itself. When the file system turned read-only
 * under the open database, as ext4 does with errors=remount-ro, that hides
 * the cause from the administrator and from nfsd. Opening the database file
 * for writing returns the file system's own error. This runs only on the
 * error path.
 */
/*
 * TODO: nothing reopens a store after such an error. Once the file system is
 * repaired and writable again, the daemon must be restarted to write.
 */
static int store_sqlite_errno(struct nsr_store *store, int rc)
{
	int fd;

	if ((rc & 0xff) != SQLITE_IOERR || rc == SQLITE_IOERR_NOMEM || rc == SQLITE_IOERR_READ ||
	    rc == SQLITE_IOERR_SHORT_READ || store->opts.read_only || !store->path)
		return nsr_sqlite_errno(rc);

	fd = open(store->path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return -EIO;
	}
	return errno == EROFS ? -EROFS : -EIO;
}

int nsr_store_log_sqlite(struct nsr_store *store, int rc, const char *what)
{
	return nsr_log_error_errno(store_sqlite_errno(store, rc), "%s: %s failed: %m (SQLite: %s)",
				   store->path, what,
				   store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc));
}

int nsr_store_stmt(struct nsr_store *store, enum nsr_stmt_id id, sqlite3_stmt **ret)
{
	int rc;

	if (!store->stmts[id]) {
		rc = sqlite3_prepare_v3(store->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&store->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return nsr_store_log_sqlite(store, rc, "preparing a statement");
	} else {
		sqlite3_reset(store->stmts[id]);
		sqlite3_clear_bindings(store->stmts[id]);
	}

	*ret = store->stmts[id];
	return 0;
}

int nsr_store_step_done(struct nsr_store *store, sqlite3_stmt *stmt, const char *what)
{
	int rc;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, what);
	return 0;
}

int nsr_store_event_add(struct nsr_store *store, enum nsr_event_type type, const uint8_t *id,
			size_t id_len, int64_t time, int64_t epoch, const char *detail)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = nsr_store_stmt(store, NSR_STMT_EVENT_ADD, &stmt);
	if (r < 0)
		return r;

	sqlite3_bind_int64(stmt, 1, time);
	sqlite3_bind_text(stmt, 2, nsr_event_type_name(type), -1, SQLITE_STATIC);
	if (id)
		sqlite3_bind_blob(stmt, 3, id, id_len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, epoch);
	nsr_stmt_bind_text_or_null(stmt, 5, detail);
	return nsr_store_step_done(store, stmt, "recording an event");
}

int nsr_store_exec(struct nsr_store *store, enum nsr_stmt_id id, const char *what)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	r = nsr_store_stmt(store, id, &stmt);
	if (r < 0)
		return r;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, what);
	return 0;
}

/* Turn the next commits into rollbacks while fail_commits is non-zero. */
static int store_commit_hook(void *userdata)
{
	struct nsr_store *store = userdata;

	if (store->fail_commits == 0)
		return 0;

	store->fail_commits--;
	return 1;
}

void nsr_store_fail_next_commits(struct nsr_store *store, unsigned int n)
{
	store->fail_commits = n;
}

void nsr_store_close(struct nsr_store *store)
{
	int rc;

	if (!store)
		return;

	for (unsigned int i = 0; i < NSR_STMT_MAX; i++)
		sqlite3_finalize(store->stmts[i]);

	rc = sqlite3_close(store->db);
	if (rc != SQLITE_OK)
		nsr_log_error("%s: closing the database failed: %s", store->path,
			      sqlite3_errstr(rc));

	free(store->path);
	free(store->label);
	free(store);
}

const char *nsr_store_path(const struct nsr_store *store)
{
	return store->path;
}

int nsr_store_set_label(struct nsr_store *store, const char *label)
{
	char *copy = strdup(label);

	if (!copy)
		return -ENOMEM;
	free(store->label);
	store->label = copy;
	return 0;
}

const char *nsr_store_label(const struct nsr_store *store)
{
	return store->label ?: store->path;
}

int nsr_store_write_begin(struct nsr_store *store, int64_t now, const char *what)
{
	int r;

	if (store->opts.read_only)
		return nsr_log_error_errno(-EROFS, "%s: %s rejected: the database was opened "
					   "read-only", store->path, what);

	r = nsr_store_exec(store, NSR_STMT_BEGIN_IMMEDIATE, what);
	if (r < 0)
		return r;

	r = nsr_store_owner_check(store, now);
	if (r < 0)
		nsr_store_exec(store, NSR_STMT_ROLLBACK, what);
	return r;
}

int nsr_store_write_end(struct nsr_store *store, int r, const char *what)
{
	if (r >= 0)
		r = nsr_store_exec(store, NSR_STMT_COMMIT, what);

	/* A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it. */
	if (r < 0 && !sqlite3_get_autocommit(store->db))
		nsr_store_exec(store, NSR_STMT_ROLLBACK, what);
	return r;
}

int nsr_store_integrity_check(struct nsr_store *store, void (*fn)(const char *problem, void *ctx),
			      void *ctx, unsigned int *problems)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	const char *text;
	int rc;

	*problems = 0;
	rc = sqlite3_prepare_v2(store->db, "PRAGMA integrity_check", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "starting the integrity check");

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(stmt, 0);
		if (text && strcmp(text, "ok") == 0)
			continue;
		(*problems)++;
		if (fn)
			fn(text ?: "?", ctx);
	}

	/* A file too damaged to walk is one problem, not a failure to check. */
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
		(*problems)++;
		if (fn)
			fn(sqlite3_errmsg(store->db), ctx);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "checking integrity");
	return 0;
}

int nsr_store_schema_version_latest(void)
{
	return (int)nsr_schema_step_count;
}

int nsr_store_schema_version(struct nsr_store *store)
{
	return store->schema_version;
}

/* The directory part of @path, malloc'ed: "." for a bare name. */
static char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, slash - path);
}

/* Run one PRAGMA, or other query, that returns a single integer. */
static int db_query_int(sqlite3 *db, const char *sql, int *ret)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;

	*ret = sqlite3_column_int(stmt, 0);
	return SQLITE_OK;
}

/*
 * Create an empty database file with mode 0600 whatever the umask, so that
 * SQLite, which gives its -wal and -shm files the database file's mode,
 * creates those with 0600 too.
 */
static int store_create_file(const char *path)
{
	_cleanup_close_ int fd = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;	/* another process created it since the lstat() */
	if (fd < 0)
		return nsr_log_error_errno(-errno, "Creating database %s failed: %m", path);

	if (fchmod(fd, 0600) < 0)
		return nsr_log_error_errno(-errno, "Setting mode 0600 on %s failed: %m", path);

	nsr_log_info("Created database %s", path);
	return 0;
}

/*
 * A symbolic link is rejected rather than followed: the records would then
 * live wherever the link points, outside the server directory whose mode
 * and ownership the daemon checks.
 */
static int store_log_symlink(const char *path)
{
	char target[PATH_MAX];
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		n = snprintf(target, sizeof(target), "an unreadable target");
	target[n] = '\0';

	return nsr_log_error_errno(-ELOOP,
				   "Database %s is a symbolic link to %s, and symbolic links are "
				   "not followed: replace the link with the database file itself, "
				   "or configure the directory that holds %s as the server's "
				   "directory", path, target, target);
}

/* Check that the file and its directory exist and are usable, creating the file if asked. */
static int store_check_files(struct nsr_store *store)
{
	_cleanup_free_ char *dir = NULL;
	bool writable = !store->opts.read_only;
	struct stat st;
	int r;

	dir = path_dirname(store->path);
	if (!dir)
		return -ENOMEM;

	r = nsr_dir_check(dir, writable);
	if (r < 0)
		return r;

	if (lstat(store->path, &st) < 0) {
		if (errno != ENOENT)
			return nsr_log_error_errno(-errno, "Database %s: %m", store->path);
		if (store->opts.create && writable)
			return store_create_file(store->path);
		return nsr_log_error_errno(-ENOENT,
					   "Database %s does not exist: check the server name or "
					   "directory; nsrecoveryd creates it when it first serves "
					   "the server", store->path);
	}

	if (S_ISLNK(st.st_mode))
		return store_log_symlink(store->path);

	if (!S_ISREG(st.st_mode))
		return nsr_log_error_errno(-EBADMSG,
					   "Database %s is not a regular file; move it aside or "
					   "pass the path of the database file", store->path);

	if (access(store->path, writable ? R_OK | W_OK : R_OK) < 0)
		return nsr_log_error_errno(-errno,
					   "Database %s is not %s by this process: %m; fix its "
					   "owner or mode%s", store->path,
					   writable ? "readable and writable" : "readable",
					   writable ? ", or open it read-only" : "");
	return 0;
}

/* Escape @path for a SQLite "file:" URI: keep only unreserved bytes and '/'. */
static char *path_to_uri(const char *path, const char *query)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(path);
	char *uri, *p;

	uri = malloc(strlen("file:") + 3 * len + 1 + strlen(query) + 1);
	if (!uri)
		return NULL;

	p = stpcpy(uri, "file:");
	for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("/._-~", *s)) {
			*p++ = *s;
		} else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 0xf];
		}
	}
	*p++ = '?';
	strcpy(p, query);
	return uri;
}

static int store_connect_uri(struct nsr_store *store, const char *filename, int flags)
{
	int rc;

	flags |= SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_EXRESCODE
	flags |= SQLITE_OPEN_EXRESCODE;
#endif
	rc = sqlite3_open_v2(filename, &store->db, flags, store->opts.vfs_name);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "opening the database");

	sqlite3_extended_result_codes(store->db, 1);
	sqlite3_busy_timeout(store->db, NSR_STORE_BUSY_TIMEOUT_MS);

	/* Refuse SQL that could corrupt the file, and schema-embedded functions. */
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(store->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	return 0;
}

/*
 * A read-only connection to a WAL database needs the -shm file, and SQLite
 * fails with SQLITE_CANTOPEN when it is missing and cannot be created, as on
 * a read-only mount after a clean shutdown. When the file system is
 * read-only no process can change the database, so opening it as immutable
 * is exact, provided that the -wal file is missing or empty, because an
 * immutable connection ignores the WAL.
 */
static int store_reopen_immutable(struct nsr_store *store)
{
	_cleanup_free_ char *dir = NULL, *wal = NULL, *uri = NULL;
	struct statvfs vfs;
	struct stat st;

	dir = path_dirname(store->path);
	if (!dir || asprintf(&wal, "%s-wal", store->path) < 0)
		return -ENOMEM;

	if (statvfs(dir, &vfs) < 0 || !(vfs.f_flag & ST_RDONLY))
		return nsr_log_error_errno(-EACCES,
					   "%s: opening read-only failed because SQLite cannot "
					   "create %s-shm: give this user write access to %s, or "
					   "read the database as its owner", store->path,
					   store->path, dir);

	if (stat(wal, &st) == 0 && st.st_size > 0)
		return nsr_log_error_errno(-EROFS,
					   "%s: the file system is read-only and %s holds changes "
					   "that are not yet in the database file, which SQLite "
					   "can read only with a writable %s-shm: open the "
					   "database read-write once on a writable mount",
					   store->path, wal, store->path);

	sqlite3_close(store->db);
	store->db = NULL;

	uri = path_to_uri(store->path, "mode=ro&immutable=1");
	if (!uri)
		return -ENOMEM;

	nsr_log_notice("%s: read-only file system; opening the database as immutable", store->path);
	return store_connect_uri(store, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
}

static int store_log_bad_file(struct nsr_store *store, const char *reason)
{
	return nsr_log_error_errno(-EBADMSG,
				   "%s is not a usable SQLite database (%s); it was left "
				   "unchanged: restore it from a backup. Moving it aside "
				   "starts the server with no client records, and then no "
				   "client can reclaim its state", store->path, reason);
}

/*
 * Open the connection and read the schema version, which is the first read
 * of the file, so that a file that is not a database fails here.
 */
static int store_connect(struct nsr_store *store)
{
	int flags = store->opts.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	int r, rc;

	r = store_connect_uri(store, store->path, flags);
	if (r < 0)
		return r;

	if (!store->opts.read_only && sqlite3_db_readonly(store->db, "main") == 1)
		return nsr_log_error_errno(-EACCES,
					   "%s: SQLite could open the database only read-only; "
					   "fix its owner or mode, or open it read-only", store->path);

	rc = db_query_int(store->db, "PRAGMA user_version", &store->schema_version);
	if ((rc & 0xff) == SQLITE_CANTOPEN && store->opts.read_only) {
		r = store_reopen_immutable(store);
		if (r < 0)
			return r;
		rc = db_query_int(store->db, "PRAGMA user_version", &store->schema_version);
	}

	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		return store_log_bad_file(store, sqlite3_errmsg(store->db));
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "reading the schema version");
	return 0;
}

/*
 * Whether the last writer left a non-empty WAL behind. SQLite checkpoints
 * and deletes the WAL when the last connection closes, so a WAL with
 * frames means a crash, a power loss, or another process that has the
 * database open right now.
 */
static bool store_wal_left_behind(const struct nsr_store *store)
{
	_cleanup_free_ char *wal = NULL;
	struct stat st;

	if (asprintf(&wal, "%s-wal", store->path) < 0)
		return true;
	return stat(wal, &st) == 0 && st.st_size > 0;
}

static uint32_t read_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Check the 100-byte database header and compare the page count it records
 * with the file's size, which finds a file that is not a database and a
 * truncated one without reading every page. @wal_pending skips the size
 * comparison, because pages not yet checkpointed live in the WAL.
 */
static int store_check_header(struct nsr_store *store, bool wal_pending)
{
	static const char magic[16] = "SQLite format 3";
	_cleanup_close_ int fd = -1;
	uint8_t header[100];
	uint32_t page_size, pages;
	struct stat st;
	ssize_t n;
	char reason[256];

	fd = open(store->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0; /* opening the connection reports it */

	n = pread(fd, header, sizeof(header), 0);
	if (n == 0)
		return 0; /* a new, empty file */
	if (n < (ssize_t)sizeof(header) || memcmp(header, magic, sizeof(magic)) != 0)
		return store_log_bad_file(store, "the file does not start with a SQLite header");

	page_size = (uint32_t)header[16] << 8 | header[17];
	if (page_size == 1)
		page_size = 65536;
	pages = read_be32(header + 28);

	/* The page count is valid only when its change counter matches the file's. */
	if (wal_pending || pages == 0 || read_be32(header + 24) != read_be32(header + 92))
		return 0;

	if ((uint64_t)st.st_size < (uint64_t)pages * page_size) {
		snprintf(reason, sizeof(reason),
			 "the header records %" PRIu32 " pages of %" PRIu32
			 " bytes but the file holds only %lld bytes, so it was truncated",
			 pages, page_size, (long long)st.st_size);
		return store_log_bad_file(store, reason);
	}
	return 0;
}

/* PRAGMA quick_check: the b-trees and records, without the index cross-checks. */
static int store_check_integrity(struct nsr_store *store)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	const char *first;
	char reason[512];
	int problems = 0;
	int rc;

	rc = sqlite3_prepare_v2(store->db, "PRAGMA quick_check(100)", -1, &stmt, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_ROW)
			break;

		first = (const char *)sqlite3_column_text(stmt, 0);
		if (first && strcmp(first, "ok") == 0)
			continue;
		if (problems++ == 0)
			snprintf(reason, sizeof(reason), "integrity check: %s", first ?: "?");
	}

	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		return store_log_bad_file(store, sqlite3_errmsg(store->db));
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "checking integrity");
	if (problems > 0) {
		if (problems > 1)
			snprintf(reason + strlen(reason), sizeof(reason) - strlen(reason),
				 ", and %d more problems", problems - 1);
		return store_log_bad_file(store, reason);
	}
	return 0;
}

/* Refuse a file from a newer program, and a SQLite file that is not a server database. */
static int store_check_version(struct nsr_store *store)
{
	int latest = nsr_store_schema_version_latest();
	int objects = 0;
	int rc;

	if (store->schema_version > latest)
		return nsr_log_error_errno(-EPROTO,
					   "%s has schema version %d, newer than version %d, the "
					   "latest this program supports: run a newer nsrecoveryd, "
					   "or restore a backup written by this version",
					   store->path, store->schema_version, latest);

	if (store->schema_version > 0)
		return 0;

	rc = db_query_int(store->db, "SELECT count(*) FROM sqlite_schema", &objects);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "reading the schema");
	if (objects > 0)
		return store_log_bad_file(store, "it has tables but no nsrecoveryd schema version");

	if (store->opts.read_only)
		return nsr_log_error_errno(-EPROTO,
					   "%s has schema version 0 (empty), and this program reads "
					   "version 1 to %d: start nsrecoveryd for this server once "
					   "to create the schema", store->path, latest);
	return 0;
}

static int store_pragma(struct nsr_store *store, const char *sql)
{
	int rc;

	rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, sql);
	return 0;
}

/* WAL and synchronous=FULL: each commit is durable once its WAL frames are fsync'ed. */
static int store_configure(struct nsr_store *store)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	const char *mode;
	int r, rc;

	if (store->opts.read_only)
		return store_pragma(store, "PRAGMA query_only = ON");

	rc = sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "switching to WAL mode");

	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (!mode || strcmp(mode, "wal") != 0)
		return nsr_log_error_errno(-EIO,
					   "%s: SQLite kept journal mode \"%s\" instead of WAL; put "
					   "the database on a local file system that supports "
					   "shared memory maps", store->path, mode ?: "?");

	r = store_pragma(store, "PRAGMA synchronous = FULL");
	if (r < 0)
		return r;
	r = store_pragma(store, "PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;

	sqlite3_commit_hook(store->db, store_commit_hook, store);
	return 0;
}

/* Apply the steps after the file's version up to @target, inside the open transaction. */
static int store_run_steps(struct nsr_store *store, int target)
{
	char sql[64];
	int version, rc;

	rc = db_query_int(store->db, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "reading the schema version");

	/* Another process may have migrated the file since it was opened. */
	if (version > target)
		return nsr_log_error_errno(-EPROTO, "%s has schema version %d, newer than %d",
					   store->path, version, target);

	for (int v = version; v < target; v++) {
		const struct nsr_schema_step *step = &nsr_schema_steps[v];

		rc = sqlite3_exec(store->db, step->sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return nsr_log_error_errno(nsr_sqlite_errno(rc),
						   "%s: schema step %s failed: %m (SQLite: %s)",
						   store->path, step->name,
						   sqlite3_errmsg(store->db));
	}

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", target);
	rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "setting the schema version");

	if (version != target)
		nsr_log_info("%s: migrated the schema from version %d to %d", store->path,
			     version, target);
	store->schema_version = target;
	return 0;
}

/* Migrate to @target in one transaction, so a failure leaves the old schema intact. */
static int store_migrate(struct nsr_store *store, int target)
{
	int r;

	if (store->opts.read_only || store->schema_version == target)
		return 0;

	r = nsr_store_exec(store, NSR_STMT_BEGIN_IMMEDIATE, "starting the migration");
	if (r < 0)
		return r;

	r = store_run_steps(store, target);
	if (r >= 0)
		r = nsr_store_exec(store, NSR_STMT_COMMIT, "committing the migration");

	if (!sqlite3_get_autocommit(store->db))
		sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int store_open_at(const char *path, const struct nsr_store_options *opts, int target,
			 struct nsr_store **ret)
{
	_cleanup_(nsr_store_closep) struct nsr_store *store = NULL;
	bool wal_pending;
	int r;

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	store->opts = *opts;
	store->path = strdup(path);
	if (!store->path)
		return -ENOMEM;

	r = store_check_files(store);
	if (r < 0)
		return r;

	/*
	 * A full quick_check reads every page: about 2 s for a million clients
	 * with a cold cache, on the way to the first answer. It runs after an
	 * unclean shutdown, when damage is likely; otherwise the header checks
	 * find foreign and truncated files, SQLite reports any other damage
	 * when it reads a bad page, and "nsrecoveryctl check" reads everything.
	 */
	wal_pending = store_wal_left_behind(store);
	r = store_check_header(store, wal_pending);
	if (r < 0)
		return r;

	r = store_connect(store);
	if (r < 0)
		return r;

	if (wal_pending && !store->opts.read_only) {
		r = store_check_integrity(store);
		if (r < 0)
			return r;
	}

	r = store_check_version(store);
	if (r < 0)
		return r;

	r = store_configure(store);
	if (r < 0)
		return r;

	r = store_migrate(store, target);
	if (r < 0)
		return r;

	*ret = NSR_TAKE_PTR(store);
	return 0;
}

int nsr_store_open(const char *path, const struct nsr_store_options *opts,
		   struct nsr_store **ret)
{
	static const struct nsr_store_options defaults;

	return store_open_at(path, opts ?: &defaults, nsr_store_schema_version_latest(), ret);
}

int nsr_store_create_at_version(const char *path, int version)
{
	const struct nsr_store_options opts = { .create = true };
	struct nsr_store *store = NULL;
	struct stat st;
	int r;

	if (version < 1 || version > nsr_store_schema_version_latest())
		return -EINVAL;
	if (lstat(path, &st) == 0)
		return -EEXIST;

	r = store_open_at(path, &opts, version, &store);
	nsr_store_close(store);
	return r;
}
