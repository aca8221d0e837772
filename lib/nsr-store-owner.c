/* nsr-store-owner.c: the ownership lease of a server's database, and its fencing check. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"

/* Format an expiry for messages: ISO 8601 UTC, or "released" for 0. */
static const char *owner_format_expiry(int64_t expires, char buf[static 32])
{
	time_t t = expires;
	struct tm tm;

	if (expires == 0)
		return "released";
	if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%" PRId64, expires);
	return buf;
}

/* Read the ownership row in the current transaction; -ENOENT when there is none. */
static int owner_read(struct nsr_store *store, struct nsr_owner *ret)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	const char *node;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_OWNER_GET, &stmt);
	if (r < 0)
		return r;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "reading the ownership lease");

	node = (const char *)sqlite3_column_text(stmt, 0);
	*ret = (struct nsr_owner){
		.generation = sqlite3_column_int64(stmt, 1),
		.expires = sqlite3_column_int64(stmt, 2),
	};
	snprintf(ret->node_id, sizeof(ret->node_id), "%s", node ?: "");
	return 0;
}

static int owner_write(struct nsr_store *store, const struct nsr_owner *owner)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = nsr_store_stmt(store, NSR_STMT_OWNER_SET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_text(stmt, 1, owner->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, owner->generation);
	sqlite3_bind_int64(stmt, 3, owner->expires);
	return nsr_store_step_done(store, stmt, "writing the ownership lease");
}

/* Set the expiry of the row when it still carries @owner's node and generation. */
static int owner_set_expiry(struct nsr_store *store, const struct nsr_owner *owner,
			    int64_t expires, bool *changed)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = nsr_store_stmt(store, NSR_STMT_OWNER_RENEW, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_text(stmt, 1, owner->node_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, owner->generation);
	sqlite3_bind_int64(stmt, 3, expires);

	r = nsr_store_step_done(store, stmt, "renewing the ownership lease");
	if (r < 0)
		return r;
	*changed = sqlite3_changes(store->db) > 0;
	return 0;
}

/* Log that @current replaced this store's lease, and return -ESTALE. */
static int owner_log_stale(struct nsr_store *store, const struct nsr_owner *current)
{
	const struct nsr_owner *held = &store->lease.owner;

	if (!current)
		return nsr_log_error_errno(-ESTALE,
					   "%s: the ownership row is gone; this node (%s, "
					   "generation %" PRId64 ") no longer writes. Restore the "
					   "database or reopen the server", nsr_store_label(store),
					   held->node_id, held->generation);

	return nsr_log_error_errno(-ESTALE,
				   "%s: ownership taken over by node %s generation %" PRId64 "; "
				   "this node (%s, generation %" PRId64 ") no longer writes",
				   nsr_store_label(store), current->node_id, current->generation,
				   held->node_id, held->generation);
}

int nsr_store_owner_check(struct nsr_store *store, int64_t now)
{
	struct nsr_owner current;
	bool changed;
	int r;

	if (!store->lease.held)
		return 0;

	/*
	 * The UPDATE matches only the row this store acquired, so it is the
	 * check and the renewal at once. The caller's BEGIN IMMEDIATE holds
	 * the write lock, so no takeover can come between it and the
	 * writes that follow.
	 */
	r = owner_set_expiry(store, &store->lease.owner, now + store->lease.seconds, &changed);
	if (r < 0)
		return r;
	if (changed) {
		store->lease.owner.expires = now + store->lease.seconds;
		return 0;
	}

	r = owner_read(store, &current);
	if (r < 0 && r != -ENOENT)
		return r;
	__atomic_store_n(&store->lease.fenced, true, __ATOMIC_RELEASE);
	return owner_log_stale(store, r == -ENOENT ? NULL : &current);
}

bool nsr_store_fenced(const struct nsr_store *store)
{
	return __atomic_load_n(&store->lease.fenced, __ATOMIC_ACQUIRE);
}

static bool owner_node_id_valid(const char *node_id)
{
	size_t n = strnlen(node_id, NSR_OWNER_NODE_ID_MAX + 1);

	if (n == 0 || n > NSR_OWNER_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)node_id[i] <= 0x20 || (unsigned char)node_id[i] >= 0x7f)
			return false;
	return true;
}

/* Decide inside the transaction whether @node_id may take the lease now. */
static int owner_take(struct nsr_store *store, const char *node_id, int64_t lease_seconds,
		      bool takeover, int64_t now, struct nsr_owner *ret)
{
	struct nsr_owner current = { .generation = 0 };
	char until[32];
	int r;

	r = owner_read(store, &current);
	if (r < 0 && r != -ENOENT)
		return r;

	if (r == 0 && strcmp(current.node_id, node_id) != 0 && current.expires > now) {
		if (!takeover)
			return nsr_log_error_errno(-EBUSY,
						   "%s: node %s owns this server (generation "
						   "%" PRId64 ", lease until %s), so node %s may not "
						   "serve it. Stop the server on %s, wait for the "
						   "lease to expire, or take it over with "
						   "'nsrecoveryctl takeover' when %s is down",
						   nsr_store_label(store), current.node_id,
						   current.generation,
						   owner_format_expiry(current.expires, until),
						   node_id, current.node_id, current.node_id);

		nsr_log_warning("%s: node %s takes over from node %s (generation %" PRId64
				", lease until %s)", nsr_store_label(store), node_id,
				current.node_id, current.generation,
				owner_format_expiry(current.expires, until));
	}

	*ret = (struct nsr_owner){
		.generation = current.generation + 1,
		.expires = now + lease_seconds,
	};
	snprintf(ret->node_id, sizeof(ret->node_id), "%s", node_id);
	return owner_write(store, ret);
}

int nsr_store_acquire(struct nsr_store *store, const char *node_id, int64_t lease_seconds,
		      bool takeover)
{
	struct nsr_store_lease previous = store->lease;
	int64_t now = time(NULL);
	struct nsr_owner owner;
	char until[32];
	int r;

	if (!owner_node_id_valid(node_id))
		return nsr_log_error_errno(-EINVAL, "%s: invalid node id \"%s\": use 1 to %d "
					   "printable ASCII characters without blanks",
					   nsr_store_label(store), node_id, NSR_OWNER_NODE_ID_MAX);
	if (lease_seconds < 1)
		return nsr_log_error_errno(-EINVAL, "%s: invalid lease of %" PRId64 " seconds; "
					   "use at least 1", nsr_store_label(store), lease_seconds);

	/* The new generation fences this store's own older lease too, so skip its check. */
	store->lease.held = false;
	r = nsr_store_write_begin(store, now, "acquiring the ownership lease");
	if (r >= 0) {
		r = owner_take(store, node_id, lease_seconds, takeover, now, &owner);
		r = nsr_store_write_end(store, r, "acquiring the ownership lease");
	}
	if (r < 0) {
		store->lease = previous;
		return r;
	}

	store->lease = (struct nsr_store_lease){
		.held = true,
		.owner = owner,
		.seconds = lease_seconds,
	};
	nsr_log_info("%s: node %s owns this server, generation %" PRId64 ", lease until %s",
		     nsr_store_label(store), owner.node_id, owner.generation,
		     owner_format_expiry(owner.expires, until));
	return 0;
}

int nsr_store_renew(struct nsr_store *store)
{
	int r;

	if (!store->lease.held)
		return -ENOLCK;

	/* nsr_store_write_begin() runs the check, which renews. */
	r = nsr_store_write_begin(store, time(NULL), "renewing the ownership lease");
	if (r < 0)
		return r;
	return nsr_store_write_end(store, 0, "renewing the ownership lease");
}

int nsr_store_release(struct nsr_store *store)
{
	struct nsr_owner held = store->lease.owner;
	bool changed = false;
	int r;

	if (!store->lease.held)
		return 0;

	r = nsr_store_write_begin(store, time(NULL), "releasing the ownership lease");
	if (r >= 0)
		r = owner_set_expiry(store, &held, 0, &changed);
	r = nsr_store_write_end(store, r, "releasing the ownership lease");

	/* Whatever happened, this store no longer writes as the owner. */
	store->lease.held = false;
	if (r < 0)
		return r;

	nsr_log_info("%s: node %s released the ownership lease, generation %" PRId64,
		     nsr_store_label(store), held.node_id, held.generation);
	return 0;
}

int nsr_store_get_owner(struct nsr_store *store, struct nsr_owner *ret)
{
	if (store->schema_version < NSR_SCHEMA_OWNERSHIP)
		return -ENOENT;
	return owner_read(store, ret);
}

int nsr_store_held_owner(const struct nsr_store *store, struct nsr_owner *ret)
{
	if (!store->lease.held)
		return -ENOLCK;
	*ret = store->lease.owner;
	return 0;
}
