/* nsr-store-apply.c: applying a batch of requests to a server's database in one transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"

/* The state a batch shares: the store, the grace state its requests change, and the time. */
struct apply_ctx {
	struct nsr_store *store;
	struct nsr_grace_state grace;
	int64_t now;
};

static int event_add(struct apply_ctx *ctx, enum nsr_event_type type, const struct nsr_client *c,
		     int64_t time, int64_t epoch, const char *detail)
{
	return nsr_store_event_add(ctx->store, type, c ? c->id : NULL, c ? c->id_len : 0, time,
				   epoch, detail);
}

/*
 * Check what the store relies on before the request touches SQL. The id
 * length is checked first because id[] has room for NSR_CLIENTID_MAX bytes only.
 */
static int client_validate(struct nsr_store *store, const struct nsr_request *req)
{
	const struct nsr_client *c = &req->client;
	char text[NSR_CLIENTID_TEXT_MAX];

	if (c->id_len == 0)
		return nsr_log_warning_errno(-EINVAL, "%s: %s request with an empty client id "
					     "rejected", store->path, nsr_op_name(req->op));
	if (c->id_len > NSR_CLIENTID_MAX)
		return nsr_log_warning_errno(-E2BIG, "%s: %s request with a client id of %u "
					     "bytes rejected; the maximum is %d", store->path,
					     nsr_op_name(req->op), c->id_len, NSR_CLIENTID_MAX);

	nsr_clientid_format(c->id, c->id_len, text);
	if (c->princhash_len != 0 && c->princhash_len != NSR_PRINCHASH_LEN)
		return nsr_log_warning_errno(-EINVAL, "%s: client %s: principal hash of %u bytes "
					     "rejected; it must be 0 or %d bytes", store->path,
					     text, c->princhash_len, NSR_PRINCHASH_LEN);

	if ((c->address && strnlen(c->address, NSR_ADDRESS_MAX + 1) > NSR_ADDRESS_MAX) ||
	    (c->principal && strnlen(c->principal, NSR_PRINCIPAL_MAX + 1) > NSR_PRINCIPAL_MAX) ||
	    (c->impl_id && strnlen(c->impl_id, NSR_IMPL_ID_MAX + 1) > NSR_IMPL_ID_MAX))
		return nsr_log_warning_errno(-EINVAL, "%s: client %s: an audit string exceeds its "
					     "maximum length (address %d, principal %d, "
					     "implementation id %d bytes)", store->path, text,
					     NSR_ADDRESS_MAX, NSR_PRINCIPAL_MAX, NSR_IMPL_ID_MAX);
	return 0;
}

/*
 * Look up @c in @epoch and set *found. When the record exists, copy out
 * its first_seen and principal hash to the pointers that are not NULL.
 */
static int client_get(struct apply_ctx *ctx, int64_t epoch, const struct nsr_client *c,
		      bool *found, int64_t *first_seen, uint8_t *princhash, size_t *princhash_len)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	size_t len;
	int r, rc;

	*found = false;
	r = nsr_store_stmt(ctx->store, NSR_STMT_CLIENT_GET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, epoch);
	sqlite3_bind_blob(stmt, 2, c->id, c->id_len, SQLITE_STATIC);

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(ctx->store, rc, "looking up a client");

	*found = true;
	if (first_seen)
		*first_seen = sqlite3_column_int64(stmt, 1);
	if (princhash) {
		/* The schema's CHECK constraint guarantees 0 or 32 bytes. */
		len = sqlite3_column_bytes(stmt, 0);
		*princhash_len = len <= NSR_PRINCHASH_LEN ? len : NSR_PRINCHASH_LEN;
		memcpy(princhash, sqlite3_column_blob(stmt, 0) ?: "", *princhash_len);
	}
	return 0;
}

static int client_upsert(struct apply_ctx *ctx, const struct nsr_client *c, int64_t first_seen,
			 int64_t last_seen)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	r = nsr_store_stmt(ctx->store, NSR_STMT_CLIENT_UPSERT, &stmt);
	if (r < 0)
		return r;

	sqlite3_bind_int64(stmt, 1, ctx->grace.current_epoch);
	sqlite3_bind_blob(stmt, 2, c->id, c->id_len, SQLITE_STATIC);
	if (c->princhash_len)
		sqlite3_bind_blob(stmt, 3, c->princhash, c->princhash_len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, first_seen);
	sqlite3_bind_int64(stmt, 5, last_seen);
	nsr_stmt_bind_text_or_null(stmt, 6, c->address);
	if (c->minor_version >= 0)
		sqlite3_bind_int(stmt, 7, c->minor_version);
	nsr_stmt_bind_text_or_null(stmt, 8, c->principal);
	nsr_stmt_bind_text_or_null(stmt, 9, c->impl_id);

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(ctx->store, rc, "recording a client");
	return 0;
}

/*
 * CREATE: record the client in the current epoch. A client that the
 * recovery epoch contains is reclaiming, and keeps the first_seen of that
 * record, so the audit trail's "since when" survives restarts.
 */
static int apply_create(struct apply_ctx *ctx, struct nsr_request *req, int64_t time)
{
	const struct nsr_client *c = &req->client;
	char text[NSR_CLIENTID_TEXT_MAX];
	int64_t first_seen = time;
	bool reclaim = false;
	int r;

	if (ctx->grace.recovery_epoch != 0) {
		r = client_get(ctx, ctx->grace.recovery_epoch, c, &reclaim, &first_seen, NULL, NULL);
		if (r < 0)
			return r;
	}

	r = client_upsert(ctx, c, first_seen, time);
	if (r < 0)
		return r;

	r = event_add(ctx, reclaim ? NSR_EVENT_RECLAIM : NSR_EVENT_CREATE, c, time,
		      ctx->grace.current_epoch, c->address);
	if (r < 0)
		return r;

	r = nsr_audit_note_create(ctx->store, c, time);
	if (r < 0)
		return r;

	nsr_log_debug("%s: client %s recorded in epoch %" PRId64 "%s", ctx->store->path,
		      nsr_clientid_format(c->id, c->id_len, text), ctx->grace.current_epoch,
		      reclaim ? " (reclaim)" : "");
	return 0;
}

/*
 * REMOVE: forget the client in the current epoch. An absent client is not
 * an error, because nfsd only logs a failed REMOVE and the result is the
 * same: the client is not recorded. The recovery epoch is left alone.
 */
static int apply_remove(struct apply_ctx *ctx, struct nsr_request *req, int64_t time)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	const struct nsr_client *c = &req->client;
	char text[NSR_CLIENTID_TEXT_MAX];
	int r, rc;

	r = nsr_store_stmt(ctx->store, NSR_STMT_CLIENT_DELETE, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, ctx->grace.current_epoch);
	sqlite3_bind_blob(stmt, 2, c->id, c->id_len, SQLITE_STATIC);

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(ctx->store, rc, "removing a client");

	nsr_clientid_format(c->id, c->id_len, text);
	if (sqlite3_changes(ctx->store->db) == 0) {
		nsr_log_debug("%s: client %s to remove is not in epoch %" PRId64,
			      ctx->store->path, text, ctx->grace.current_epoch);
		return 0;
	}

	nsr_log_debug("%s: client %s removed from epoch %" PRId64, ctx->store->path, text,
		      ctx->grace.current_epoch);
	return event_add(ctx, NSR_EVENT_REMOVE, c, time, ctx->grace.current_epoch, NULL);
}

/*
 * CHECK: the client may reclaim when the recovery epoch contains it. When that
 * record has a principal hash, the request must carry the same one.
 */
static int apply_check(struct apply_ctx *ctx, struct nsr_request *req)
{
	const struct nsr_client *c = &req->client;
	uint8_t stored[NSR_PRINCHASH_LEN];
	char text[NSR_CLIENTID_TEXT_MAX];
	size_t stored_len = 0;
	bool found = false;
	int r;

	if (ctx->grace.recovery_epoch != 0) {
		r = client_get(ctx, ctx->grace.recovery_epoch, c, &found, NULL, stored,
			       &stored_len);
		if (r < 0)
			return r;
	}

	nsr_clientid_format(c->id, c->id_len, text);
	if (!found) {
		nsr_log_debug("%s: client %s is not in the recovery epoch", ctx->store->path, text);
		req->status = -ENOENT;
	} else if (stored_len != 0 &&
		   (c->princhash_len != stored_len || memcmp(c->princhash, stored, stored_len))) {
		nsr_log_notice("%s: client %s may not reclaim: its principal hash differs from "
			       "the recorded one", ctx->store->path, text);
		req->status = -EACCES;
	}
	return 0;
}

static int grace_write(struct apply_ctx *ctx)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	r = nsr_store_stmt(ctx->store, NSR_STMT_GRACE_SET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, ctx->grace.current_epoch);
	sqlite3_bind_int64(stmt, 2, ctx->grace.recovery_epoch);
	sqlite3_bind_int64(stmt, 3, ctx->grace.grace_started);
	sqlite3_bind_int64(stmt, 4, ctx->grace.boot_time);

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(ctx->store, rc, "writing the grace state");
	return 0;
}

/*
 * GRACE_START: the current epoch becomes the recovery epoch and a new, empty
 * epoch starts. When a grace period is already in progress, nfsd restarted
 * during it: the epochs stay, so the same clients remain reclaimable.
 */
static int apply_grace_start(struct apply_ctx *ctx, struct nsr_request *req, int64_t time)
{
	struct nsr_grace_state *g = &ctx->grace;
	char detail[128];
	int r;

	g->boot_time = req->boot_time;
	if (g->recovery_epoch == 0) {
		g->recovery_epoch = g->current_epoch;
		g->current_epoch++;
		g->grace_started = time;
		snprintf(detail, sizeof(detail), "recovery epoch %" PRId64, g->recovery_epoch);
	} else {
		snprintf(detail, sizeof(detail), "restarted during grace; recovery epoch %" PRId64
			 " kept", g->recovery_epoch);
	}

	r = grace_write(ctx);
	if (r < 0)
		return r;

	nsr_log_info("%s: grace period started: current epoch %" PRId64 ", %s",
		     ctx->store->path, g->current_epoch, detail);
	return event_add(ctx, NSR_EVENT_GRACE_START, NULL, time, g->current_epoch, detail);
}

/*
 * GRACE_DONE: drop the recovery epoch. Every epoch but the current one is
 * deleted, which also clears any epoch that an interrupted transition
 * might have left behind.
 */
static int apply_grace_done(struct apply_ctx *ctx, int64_t time)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	struct nsr_grace_state *g = &ctx->grace;
	char detail[128];
	int r, rc;

	if (g->recovery_epoch == 0) {
		nsr_log_debug("%s: grace done with no grace period in progress", ctx->store->path);
		return 0;
	}

	r = nsr_store_stmt(ctx->store, NSR_STMT_CLIENTS_DROP_OLD, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, g->current_epoch);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(ctx->store, rc, "dropping the recovery epoch");

	snprintf(detail, sizeof(detail), "dropped %d records of recovery epoch %" PRId64,
		 sqlite3_changes(ctx->store->db), g->recovery_epoch);
	g->recovery_epoch = 0;
	g->grace_started = 0;

	r = grace_write(ctx);
	if (r < 0)
		return r;

	nsr_log_info("%s: grace period done: %s", ctx->store->path, detail);
	return event_add(ctx, NSR_EVENT_GRACE_DONE, NULL, time, g->current_epoch, detail);
}

/*
 * Apply one request and set its status. Returns a negative errno only for
 * a failure that must abort the whole batch, such as an I/O error.
 */
static int apply_one(struct apply_ctx *ctx, struct nsr_request *req)
{
	int64_t time = req->time ?: ctx->now;
	int r;

	req->status = 0;
	switch (req->op) {
	case NSR_OP_CREATE:
	case NSR_OP_REMOVE:
	case NSR_OP_CHECK:
		r = client_validate(ctx->store, req);
		if (r < 0) {
			req->status = r;
			return 0;
		}
		if (req->op == NSR_OP_CREATE)
			return apply_create(ctx, req, time);
		if (req->op == NSR_OP_REMOVE)
			return apply_remove(ctx, req, time);
		return apply_check(ctx, req);
	case NSR_OP_GRACE_START:
		return apply_grace_start(ctx, req, time);
	case NSR_OP_GRACE_DONE:
		return apply_grace_done(ctx, time);
	case NSR_OP_RENEW:
		/* The batch renewed the lease in nsr_store_owner_check(). */
		return 0;
	default:
		req->status = nsr_log_warning_errno(-EINVAL, "%s: request op %d is not a store "
						    "operation; rejected", ctx->store->path,
						    req->op);
		return 0;
	}
}

/* Bound the audit log by rows and by age; both limits use an index. */
static int events_trim(struct apply_ctx *ctx)
{
	const struct nsr_store_options *o = &ctx->store->opts;
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *rows = NULL, *age = NULL;
	int r, rc;

	if (o->event_max_rows > 0) {
		r = nsr_store_stmt(ctx->store, NSR_STMT_EVENTS_TRIM_ROWS, &rows);
		if (r < 0)
			return r;
		sqlite3_bind_int64(rows, 1, o->event_max_rows);
		rc = sqlite3_step(rows);
		if (rc != SQLITE_DONE)
			return nsr_store_log_sqlite(ctx->store, rc, "trimming events by count");
	}

	if (o->event_max_age > 0) {
		r = nsr_store_stmt(ctx->store, NSR_STMT_EVENTS_TRIM_AGE, &age);
		if (r < 0)
			return r;
		sqlite3_bind_int64(age, 1, ctx->now - o->event_max_age);
		rc = sqlite3_step(age);
		if (rc != SQLITE_DONE)
			return nsr_store_log_sqlite(ctx->store, rc, "trimming events by age");
	}
	return nsr_audit_trim(ctx->store, ctx->now);
}

static int apply_batch(struct apply_ctx *ctx, struct nsr_request **reqs, size_t n)
{
	int r;

	/* The fencing check comes first, so a stale owner writes nothing. */
	r = nsr_store_owner_check(ctx->store, ctx->now);
	if (r < 0)
		return r;

	r = nsr_store_read_grace(ctx->store, &ctx->grace);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		r = apply_one(ctx, reqs[i]);
		if (r < 0)
			return r;
	}

	r = events_trim(ctx);
	if (r < 0)
		return r;

	return nsr_store_exec(ctx->store, NSR_STMT_COMMIT, "committing a batch");
}

int nsr_store_apply(struct nsr_store *store, struct nsr_request **reqs, size_t n)
{
	struct apply_ctx ctx = { .store = store, .now = time(NULL) };
	int r;

	if (n == 0)
		return 0;

	if (store->opts.read_only) {
		for (size_t i = 0; i < n; i++)
			reqs[i]->status = -EROFS;
		return nsr_log_error_errno(-EROFS, "%s: batch of %zu requests rejected: the "
					   "database was opened read-only", store->path, n);
	}

	r = nsr_store_exec(store, NSR_STMT_BEGIN_IMMEDIATE, "starting a batch");
	if (r >= 0)
		r = apply_batch(&ctx, reqs, n);
	if (r >= 0)
		return 0;

	/* A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it. */
	if (!sqlite3_get_autocommit(store->db))
		nsr_store_exec(store, NSR_STMT_ROLLBACK, "rolling back a batch");

	for (size_t i = 0; i < n; i++)
		reqs[i]->status = r;

	nsr_log_error_errno(r, "%s: batch of %zu requests not recorded: %m",
			    nsr_store_label(store), n);
	return r;
}
