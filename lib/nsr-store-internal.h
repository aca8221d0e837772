/* nsr-store-internal.h: the store's private state, shared by its source files only. */
#pragma once

#include <sqlite3.h>

#include "nsr-store.h"

/* The cached statements of one store, prepared on first use. */
enum nsr_stmt_id {
	NSR_STMT_BEGIN_IMMEDIATE,
	NSR_STMT_BEGIN_DEFERRED,
	NSR_STMT_COMMIT,
	NSR_STMT_ROLLBACK,
	NSR_STMT_GRACE_GET,
	NSR_STMT_GRACE_SET,
	NSR_STMT_CLIENT_GET,
	NSR_STMT_CLIENT_UPSERT,
	NSR_STMT_CLIENT_DELETE,
	NSR_STMT_CLIENTS_DROP_OLD,
	NSR_STMT_CLIENTS_EPOCH,
	NSR_STMT_CLIENTS_ALL,
	NSR_STMT_COUNT_EPOCH,
	NSR_STMT_COUNT_ALL,
	NSR_STMT_EVENT_ADD,
	NSR_STMT_EVENTS_TRIM_ROWS,
	NSR_STMT_EVENTS_TRIM_AGE,
	NSR_STMT_EVENTS_SINCE,
	NSR_STMT_META_GET,
	NSR_STMT_META_SET,
	NSR_STMT_OWNER_GET,
	NSR_STMT_OWNER_SET,
	NSR_STMT_OWNER_RENEW,
	NSR_STMT_SIGHTING_GET,
	NSR_STMT_SIGHTING_SET,
	NSR_STMT_SIGHTINGS_TRIM,
	NSR_STMT_FINDING_RECENT,
	NSR_STMT_FINDING_ADD,
	NSR_STMT_FINDINGS_TRIM_ROWS,
	NSR_STMT_FINDINGS_TRIM_AGE,
	NSR_STMT_FINDINGS_SINCE,
	NSR_STMT_MAX,
};

/* The ownership lease a store acquired; see nsr_store_acquire(). */
struct nsr_store_lease {
	bool held;
	struct nsr_owner owner;	/* node and generation acquired, expiry last written */
	int64_t seconds;	/* the lease length to renew with */
	bool fenced;		/* another node took the server over; read with __atomic */
};

struct nsr_store {
	sqlite3 *db;
	char *path;
	char *label;		/* for messages; NULL names the store by its path */
	struct nsr_store_options opts;
	int schema_version;
	unsigned int fail_commits;	/* see nsr_store_fail_next_commits() */
	struct nsr_store_lease lease;
	sqlite3_stmt *stmts[NSR_STMT_MAX];
};

/* The schema version that added ownership (002) and the audit tables (003). */
#define NSR_SCHEMA_OWNERSHIP 2
#define NSR_SCHEMA_AUDIT 3

/* Finalize a statement that is not cached; for _cleanup_. */
static inline void nsr_stmt_finalizep(sqlite3_stmt **stmt)
{
	if (*stmt)
		sqlite3_finalize(*stmt);
}

/* Return a cached statement to its initial state; for _cleanup_. */
static inline void nsr_stmt_resetp(sqlite3_stmt **stmt)
{
	if (*stmt) {
		sqlite3_reset(*stmt);
		sqlite3_clear_bindings(*stmt);
	}
}

/**
 * nsr_store_stmt - fetch a cached statement, preparing it on first use
 * @ret: set to the statement, reset and without bindings. The caller keeps
 *       it in a _cleanup_(nsr_stmt_resetp) variable and never finalizes it.
 *
 * Returns 0 or a negative errno, logged with the store's path.
 */
int nsr_store_stmt(struct nsr_store *store, enum nsr_stmt_id id, sqlite3_stmt **ret);

/**
 * nsr_store_exec - step a cached statement that returns no rows
 *
 * Returns 0 or a negative errno, logged with the path and @what.
 */
int nsr_store_exec(struct nsr_store *store, enum nsr_stmt_id id, const char *what);

/**
 * nsr_sqlite_errno - map a SQLite result code to a negative errno
 *
 * A commit turned into a rollback by the commit hook maps to -EIO, and
 * SQLITE_CORRUPT and SQLITE_NOTADB map to -EBADMSG.
 */
int nsr_sqlite_errno(int rc);

/**
 * nsr_store_log_sqlite - log a failed SQLite call on @store
 * @rc: the SQLite result code
 * @what: the operation, for the message
 *
 * Returns nsr_sqlite_errno(@rc).
 */
int nsr_store_log_sqlite(struct nsr_store *store, int rc, const char *what);

/**
 * nsr_store_read_grace - read the grace row in the current transaction
 *
 * Returns 0, -EBADMSG when the row is missing, or another negative errno.
 */
int nsr_store_read_grace(struct nsr_store *store, struct nsr_grace_state *ret);

/**
 * nsr_store_create_at_version - create a database at an older schema (tests only)
 * @path: a file that does not exist yet; its directory must exist
 * @version: 1 .. nsr_store_schema_version_latest()
 *
 * Runs only the first @version migration steps, so tests can build a
 * database as an older program wrote it. The daemon never calls this.
 * Returns 0, -EINVAL for a version out of range, -EEXIST, or another
 * negative errno.
 */
int nsr_store_create_at_version(const char *path, int version);

/**
 * nsr_store_owner_check - the fencing check of a write transaction
 * @now: seconds since the Epoch
 *
 * Called inside a BEGIN IMMEDIATE transaction, so no other connection can
 * change the ownership row until it ends. Does nothing for a store that
 * holds no lease. Otherwise verifies that the row carries this store's
 * node and generation and extends its expiry to @now + the lease length.
 * Returns 0, -ESTALE (logged with both owners), or an I/O error.
 */
int nsr_store_owner_check(struct nsr_store *store, int64_t now);

/**
 * nsr_store_write_begin - start a write transaction and run the fencing check
 * @what: the operation, for messages
 *
 * Returns 0, -EROFS on a read-only store (logged), -ESTALE, or an I/O
 * error. On error no transaction is left open.
 */
int nsr_store_write_begin(struct nsr_store *store, int64_t now, const char *what);

/**
 * nsr_store_write_end - commit when @r >= 0, otherwise roll back
 *
 * Returns @r when it is negative, or the commit's result.
 */
int nsr_store_write_end(struct nsr_store *store, int r, const char *what);

/**
 * nsr_audit_note_create - compare a CREATE with the client's last sighting
 * @time: the request's time
 *
 * Called by nsr_store_apply() inside its transaction. Adds a finding and
 * logs a warning when the address or principal differ within one lease
 * period, then records this sighting. Returns 0 or an I/O error.
 */
int nsr_audit_note_create(struct nsr_store *store, const struct nsr_client *c, int64_t time);

/**
 * nsr_audit_trim - delete expired sightings, and findings beyond the retention options
 */
int nsr_audit_trim(struct nsr_store *store, int64_t now);

/* Step a statement that returns no rows; SQLite errors are logged with @what. */
int nsr_store_step_done(struct nsr_store *store, sqlite3_stmt *stmt, const char *what);

/* Bind an optional string; NULL binds SQL NULL. */
static inline void nsr_stmt_bind_text_or_null(sqlite3_stmt *stmt, int index, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, index, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, index);
}

/**
 * nsr_store_event_add - append one audit event inside the caller's transaction
 * @id: the client id, or NULL for an event without a client
 * @detail: free text, or NULL
 *
 * Returns 0 or a negative errno, logged.
 */
int nsr_store_event_add(struct nsr_store *store, enum nsr_event_type type, const uint8_t *id,
			size_t id_len, int64_t time, int64_t epoch, const char *detail);
