/* nsr-store.h: one virtual server's durable client records, in SQLite. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-client.h"
#include "nsr-request.h"

/*
 * One database file holds one virtual server: its client records, its grace
 * state and its audit event log. A server is named by a stable string (by
 * default nfsd's server scope), never by a netns inode number.
 *
 * Epochs. The grace state holds a current epoch and a recovery epoch, 0
 * meaning "no grace period in progress":
 *   - GRACE_START with recovery == 0 sets recovery = current and starts a
 *     new, empty current epoch (current + 1). With recovery != 0 (nfsd
 *     restarted during grace) it changes neither epoch, so the same clients
 *     stay reclaimable. Both cases record the request's boot_time.
 *   - GRACE_DONE deletes every record outside the current epoch, which is
 *     the recovery epoch's, and sets recovery = 0.
 *   - The reclaimable records are exactly those of the recovery epoch.
 *   - CREATE and REMOVE act on the current epoch. A CREATE for a client
 *     that the recovery epoch holds is a reclaim: the new record keeps the
 *     old record's first_seen.
 * (epoch, clientid) is the primary key, so one epoch cannot hold an id twice.
 *
 * Durability. The database runs in WAL mode with synchronous=FULL, and
 * nsr_store_apply() commits a whole batch of requests in one transaction.
 *
 * Threads. A struct nsr_store is not thread-safe: one thread at a time may
 * use it. The dispatcher guarantees that by giving a server's batch to one
 * worker at a time.
 */

/* The file name of a server's database inside its server directory. */
#define NSR_STORE_DB_NAME "clients.sqlite"

struct nsr_store;

struct nsr_store_options {
	bool read_only;		/* for nsrecoveryctl: no writes, no migration */
	bool create;		/* create the file when it is missing */
	int64_t event_max_age;	/* seconds of audit events to keep; 0 keeps all */
	int64_t event_max_rows;	/* audit events to keep; 0 keeps all */
};

struct nsr_grace_state {
	int64_t current_epoch;
	int64_t recovery_epoch;	/* 0 when no grace period is in progress */
	int64_t grace_started;	/* seconds since the Epoch, or 0 */
	int64_t boot_time;	/* nfsd boot time from the last GRACE_START */
};

enum nsr_event_type {
	NSR_EVENT_CREATE = 1,
	NSR_EVENT_REMOVE,
	NSR_EVENT_RECLAIM,	/* a recovery-epoch client was recorded again */
	NSR_EVENT_GRACE_START,
	NSR_EVENT_GRACE_DONE,
	NSR_EVENT_IMPORT,
	NSR_EVENT_FORGET,	/* removed by an administrator */
};

struct nsr_event {
	int64_t seq;
	int64_t time;
	enum nsr_event_type type;
	const uint8_t *id;	/* NULL for events without a client */
	size_t id_len;
	int64_t epoch;
	const char *detail;	/* free text, may be NULL */
};

/* Which records nsr_store_foreach_client() visits. */
enum nsr_epoch_select {
	NSR_EPOCH_CURRENT,
	NSR_EPOCH_RECOVERY,
	NSR_EPOCH_ALL,
};

typedef int (*nsr_store_record_fn)(const struct nsr_record *rec, void *ctx);
typedef int (*nsr_store_event_fn)(const struct nsr_event *ev, void *ctx);

/**
 * nsr_store_open - open or create one server's database
 * @path: the database file
 * @opts: options, or NULL for the defaults (read-write, no create)
 * @ret: set to the new store on success
 *
 * Applies every pending schema migration in one transaction, unless the
 * store is read-only. A created file gets mode 0600 whatever the umask, and
 * SQLite gives its -wal and -shm files the same mode. The file is checked
 * with PRAGMA quick_check, which reads the whole file once.
 *
 * A read-only open needs no migration: it accepts any schema version from 1
 * to the latest. It works while the daemon writes, because WAL readers do
 * not block the writer. SQLite needs the -shm file for that and creates it
 * when missing. On a read-only file system where it cannot, the file is
 * opened as immutable if its -wal file is missing or empty, and the open
 * fails with -EROFS otherwise.
 *
 * Returns 0 or a negative errno, and logs the reason with the path:
 *   -ENOENT  the file, or its directory, does not exist
 *   -EACCES  the file or its directory is not writable (read-write open)
 *   -EROFS   the file system is read-only (read-write open)
 *   -EPROTO  the database was written by a newer schema than this program
 *            knows; the message names both versions. Also a read-only open
 *            of a database without a schema (version 0).
 *   -EBADMSG the file is not a SQLite database, fails its integrity check,
 *            or is a SQLite database without this program's schema; the
 *            file is left untouched
 *   -ENOMEM, -EIO
 */
int nsr_store_open(const char *path, const struct nsr_store_options *opts,
		   struct nsr_store **ret);

/**
 * nsr_store_close - close @store; NULL is allowed
 */
void nsr_store_close(struct nsr_store *store);

/* For _cleanup_(nsr_store_closep) struct nsr_store *store = NULL; */
static inline void nsr_store_closep(struct nsr_store **store)
{
	nsr_store_close(*store);
}

/* The database file this store was opened from. */
const char *nsr_store_path(const struct nsr_store *store);

/* The schema version this program writes, and the one the file records. */
int nsr_store_schema_version_latest(void);
int nsr_store_schema_version(struct nsr_store *store);

/**
 * nsr_store_apply - apply a batch of requests in one transaction
 * @reqs: CREATE, REMOVE, CHECK, GRACE_START and GRACE_DONE requests, in
 *        arrival order
 *
 * Sets each request's status. A request can fail alone without failing the
 * batch: -EINVAL for an empty id, a principal hash that is neither 0 nor
 * NSR_PRINCHASH_LEN bytes, an audit string over its bound or an op that is
 * not listed above, and -E2BIG for an id longer than NSR_CLIENTID_MAX.
 * REMOVE of a client that the current epoch does not hold succeeds, as
 * with nfsdcld. CHECK sets -ENOENT or -EACCES as nsr-request.h describes.
 *
 * When the commit itself fails, or a statement fails for a reason other
 * than the request's content (I/O, a full disk), every request's status is
 * set to that error, the transaction is rolled back, and the error is
 * returned: no request in the batch may be reported as durable. On a
 * read-only store every status is -EROFS. Returns 0 once the commit is
 * durable on disk.
 *
 * Each batch also deletes audit events beyond the event_max_age and
 * event_max_rows options.
 *
 * GRACE_START only performs the epoch transition here. The caller streams
 * the records afterwards with nsr_store_foreach_client(NSR_EPOCH_RECOVERY).
 */
int nsr_store_apply(struct nsr_store *store, struct nsr_request **reqs, size_t n);

/**
 * nsr_store_get_grace - read the grace state
 */
int nsr_store_get_grace(struct nsr_store *store, struct nsr_grace_state *ret);

/**
 * nsr_store_foreach_client - visit records, ordered by epoch, then id
 * @fn: called per record; a non-zero return stops and is returned. It must
 *      not call nsr_store_foreach_client() on the same store.
 *
 * Reads the grace state and the records from one snapshot.
 * Returns 0, @fn's first non-zero return, or a negative errno.
 */
int nsr_store_foreach_client(struct nsr_store *store, enum nsr_epoch_select which,
			     nsr_store_record_fn fn, void *ctx);

/**
 * nsr_store_count_clients - count records of the selected epoch
 */
int nsr_store_count_clients(struct nsr_store *store, enum nsr_epoch_select which,
			    uint64_t *ret);

/**
 * nsr_store_foreach_event - visit audit events at or after @since, oldest first
 */
int nsr_store_foreach_event(struct nsr_store *store, int64_t since, nsr_store_event_fn fn,
			    void *ctx);

/**
 * nsr_store_get_meta - read a server attribute, such as "name" or "scope"
 * @ret: set to a malloc'ed string the caller frees
 *
 * Returns 0, or -ENOENT when the key was never set.
 */
int nsr_store_get_meta(struct nsr_store *store, const char *key, char **ret);

/**
 * nsr_store_set_meta - write a server attribute in its own transaction
 */
int nsr_store_set_meta(struct nsr_store *store, const char *key, const char *value);

/**
 * nsr_store_fail_next_commits - make the next @n commits fail (tests only)
 *
 * Each affected commit is turned into a rollback by a SQLite commit hook,
 * so it fails through SQLite's own error path. nsr_store_apply() then
 * returns -EIO.
 */
void nsr_store_fail_next_commits(struct nsr_store *store, unsigned int n);

const char *nsr_event_type_name(enum nsr_event_type type);
