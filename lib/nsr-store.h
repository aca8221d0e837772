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

/*
 * Ownership. The ownership row names the node allowed to write the
 * database, with a generation and an expiry time. A store that called
 * nsr_store_acquire() remembers the generation it got, and every write
 * transaction (nsr_store_apply(), nsr_store_note_scope()) first checks
 * that the row still names this node and generation. A takeover by
 * another node bumps the generation, so the old holder's next batch fails
 * with -ESTALE and writes nothing: the generation is the fencing token.
 * A store that never acquired the lease skips the check, as nsrecoveryctl
 * does for its own writes.
 */

/* The file name of a server's database inside its server directory. */
#define NSR_STORE_DB_NAME "clients.sqlite"

struct nsr_store;

/* nfsd's default lease time, in seconds: the audit's default window. */
#define NSR_STORE_CLIENT_LEASE_DEFAULT 90

struct nsr_store_options {
	bool read_only;		/* for nsrecoveryctl: no writes, no migration */
	bool create;		/* create the file when it is missing */
	int64_t event_max_age;	/* seconds of audit events and findings to keep; 0 keeps all */
	int64_t event_max_rows;	/* audit events, and findings, to keep; 0 keeps all */
	/*
	 * nfsd's lease time in seconds. Two CREATEs of one client id from
	 * different addresses or principals closer than this are an audit
	 * finding (nsr-audit.h). 0 selects NSR_STORE_CLIENT_LEASE_DEFAULT.
	 */
	int64_t client_lease_time;
	/*
	 * For tests only: the name of a registered SQLite VFS to open the
	 * database through, such as a shim that simulates power loss. NULL
	 * selects SQLite's default VFS.
	 */
	const char *vfs_name;
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

/* The epochs whose records nsr_store_foreach_client() visits. */
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
 * SQLite gives its -wal and -shm files the same mode. The header, and the
 * page count it records against the file size, are checked at every open.
 * A read-write open also runs PRAGMA quick_check, which reads every page,
 * when a -wal file with frames shows that the last writer did not close
 * cleanly.
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
 *   -ELOOP   the path is a symbolic link; the message names the link and
 *            its target. Pass the target's path instead.
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
 * nsr_store_set_label - name the store in log messages
 * @label: such as "netns blue server nfs.example.org"; copied
 *
 * Messages name the database path until a label is set. Returns 0 or -ENOMEM.
 */
int nsr_store_set_label(struct nsr_store *store, const char *label);

/* The label of nsr_store_set_label(), or the path. */
const char *nsr_store_label(const struct nsr_store *store);

/**
 * nsr_store_apply - apply a batch of requests in one transaction
 * @reqs: CREATE, REMOVE, CHECK, GRACE_START, GRACE_DONE and RENEW requests,
 *        in arrival order
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
 * read-only store, or when the file system turned read-only under the
 * store, every status is -EROFS. Returns 0 once the commit is durable on
 * disk.
 *
 * Each batch also deletes audit events beyond the event_max_age and
 * event_max_rows options.
 *
 * Ownership: when the store holds the lease (nsr_store_acquire()),
 * the batch first checks inside its transaction that the ownership row
 * still carries this node and generation. If not, nothing is written,
 * every status is -ESTALE, the error names the node and generation that
 * took over, and -ESTALE is returned. Otherwise the batch also extends
 * the lease to now + lease_seconds. A RENEW request does nothing else, so
 * a batch of one RENEW renews the lease through the worker that owns the
 * store.
 *
 * Audit: a CREATE whose client id was seen from another address, or with
 * another principal, within client_lease_time adds a finding and logs a
 * warning (see nsr-audit.h).
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

/* ---- administration ---------------------------------------------------- */

/**
 * nsr_store_forget - remove one client from every epoch, as an administrator
 * @id, @id_len: the client id
 * @during_grace: also when a grace period is in progress, which takes the
 *                client's right to reclaim away
 * @detail: text for the NSR_EVENT_FORGET event, or NULL
 * @removed: set to the number of records removed; may be NULL
 *
 * Runs in one write transaction with the ownership check of
 * nsr_store_apply(). Returns 0, -ENOENT when no epoch holds the client,
 * -EBUSY during a grace period without @during_grace, -EINVAL or -E2BIG
 * for a bad id, -EROFS on a read-only store, -ESTALE, or an I/O error.
 */
int nsr_store_forget(struct nsr_store *store, const uint8_t *id, size_t id_len,
		     bool during_grace, const char *detail, uint64_t *removed);

/* The epoch an imported record belongs to, relative to the exporting server's grace state. */
enum nsr_import_role {
	NSR_IMPORT_CURRENT,	/* the exporting server's current epoch */
	NSR_IMPORT_RECLAIMABLE,	/* its recovery epoch */
};

struct nsr_import_record {
	enum nsr_import_role role;
	struct nsr_record rec;	/* rec.epoch is the exporting server's epoch */
};

struct nsr_import_result {
	uint64_t added;		/* records that were not in the database */
	uint64_t updated;	/* records already present; times merged */
	bool adopted_grace;	/* the file's grace state replaced an empty database's */
};

/**
 * nsr_store_import - merge exported records into this server, in one transaction
 * @grace: the exporting server's grace state
 * @recs: the records; every field is validated as nsr_store_apply() would
 * @source: text for the import events, such as the file name
 *
 * An empty database (no records, no grace period, current epoch 1) adopts
 * @grace and keeps every record's epoch, so an export imported into a
 * fresh server reproduces it exactly. Otherwise current records join the
 * current epoch, and reclaimable records join the recovery epoch when a
 * grace period is in progress, or else the current epoch, so that they are
 * reclaimable after the next restart. A record already present keeps the
 * earlier first_seen, the later last_seen, and its audit fields unless
 * they are unknown, which makes a repeated import change nothing. Each
 * added record gets an NSR_EVENT_IMPORT event.
 *
 * Returns 0, -EINVAL (logged with the record) for an invalid record,
 * -EROFS, -ESTALE, or an I/O error. Nothing is written on error.
 */
int nsr_store_import(struct nsr_store *store, const struct nsr_grace_state *grace,
		     const struct nsr_import_record *recs, size_t n, const char *source,
		     struct nsr_import_result *ret);

/**
 * nsr_store_integrity_check - run PRAGMA integrity_check
 * @fn: called with each problem SQLite reports; may be NULL
 * @problems: set to the number of problems
 *
 * Returns 0 when the check ran (whatever it found), or a negative errno
 * when it could not run.
 */
int nsr_store_integrity_check(struct nsr_store *store, void (*fn)(const char *problem, void *ctx),
			      void *ctx, unsigned int *problems);

/* ---- ownership lease --------------------------------------------------- */

/**
 * nsr_store_fenced - whether a write found the server taken over
 *
 * Set once a batch is refused with -ESTALE because another node's
 * takeover bumped the generation, and never cleared: such a store never
 * writes again, so its owner closes it and may open the file anew.
 * Safe to call from any thread.
 */
bool nsr_store_fenced(const struct nsr_store *store);

/* Maximum length of a node id in the ownership row, in bytes. */
#define NSR_OWNER_NODE_ID_MAX 255

struct nsr_owner {
	char node_id[NSR_OWNER_NODE_ID_MAX + 1];
	int64_t generation;
	int64_t expires;	/* seconds since the Epoch; 0 after a release */
};

/**
 * nsr_store_acquire - take the ownership lease of this server for @node_id
 * @lease_seconds: how long the lease lasts without renewal, >= 1
 * @takeover: take the lease even when another node holds it unexpired,
 *            as a failover does
 *
 * Succeeds when no node holds the lease, when it expired or was released,
 * when @node_id holds it already, or with @takeover. Each success bumps
 * the generation, so that an older handle, even one of the same node, is
 * fenced off, and the store remembers node and generation for the check
 * in its write transactions.
 *
 * Returns 0, -EBUSY when another node holds an unexpired lease (logged
 * with its node, generation and expiry, and what to do), -EINVAL for an
 * invalid node id or lease, -EROFS on a read-only store, or an I/O error.
 */
int nsr_store_acquire(struct nsr_store *store, const char *node_id, int64_t lease_seconds,
		      bool takeover);

/**
 * nsr_store_renew - extend the lease this store holds to now + lease_seconds
 *
 * Returns 0, -ENOLCK when the store never acquired the lease, -ESTALE when
 * another generation holds it (logged), or an I/O error. nsr_store_apply()
 * renews too, as part of each batch.
 */
int nsr_store_renew(struct nsr_store *store);

/**
 * nsr_store_release - give the lease up, so another node may acquire it at once
 *
 * Sets the expiry to 0 when the row still carries this store's node and
 * generation, and forgets the generation: later writes skip the check.
 * Returns 0 (also when the store held nothing), -ESTALE when another
 * generation holds the lease (nothing is changed), or an I/O error.
 */
int nsr_store_release(struct nsr_store *store);

/**
 * nsr_store_get_owner - read the ownership row
 *
 * Returns 0, -ENOENT when no node ever held the lease (or the schema
 * predates ownership), or an I/O error.
 */
int nsr_store_get_owner(struct nsr_store *store, struct nsr_owner *ret);

/**
 * nsr_store_held_owner - the node and generation this store acquired
 *
 * Returns 0, or -ENOLCK when it holds no lease.
 */
int nsr_store_held_owner(const struct nsr_store *store, struct nsr_owner *ret);
