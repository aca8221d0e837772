/* nsr-store-admin.c: administrator writes to a server's database: forget and import. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"

static int admin_prepare(struct nsr_store *store, const char *sql, sqlite3_stmt **ret)
{
	int rc;

	rc = sqlite3_prepare_v2(store->db, sql, -1, ret, NULL);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "preparing a statement");
	return 0;
}

static int forget_locked(struct nsr_store *store, const uint8_t *id, size_t id_len,
			 bool during_grace, const char *detail, int64_t now, uint64_t *removed)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	char text[NSR_CLIENTID_TEXT_MAX];
	struct nsr_grace_state grace;
	int r;

	nsr_clientid_format(id, id_len, text);
	r = nsr_store_read_grace(store, &grace);
	if (r < 0)
		return r;
	if (grace.recovery_epoch != 0 && !during_grace)
		return nsr_log_error_errno(-EBUSY,
					   "%s: a grace period is in progress, and forgetting client "
					   "%s now takes its right to reclaim away; wait until the "
					   "grace period ends, or force it", nsr_store_label(store),
					   text);

	r = admin_prepare(store, "DELETE FROM clients WHERE clientid = ?1", &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_blob(stmt, 1, id, id_len, SQLITE_STATIC);
	r = nsr_store_step_done(store, stmt, "forgetting a client");
	if (r < 0)
		return r;

	*removed = sqlite3_changes(store->db);
	if (*removed == 0)
		return nsr_log_error_errno(-ENOENT, "%s: client %s is not recorded in any epoch",
					   nsr_store_label(store), text);

	return nsr_store_event_add(store, NSR_EVENT_FORGET, id, id_len, now, grace.current_epoch,
			       detail);
}

int nsr_store_forget(struct nsr_store *store, const uint8_t *id, size_t id_len,
		     bool during_grace, const char *detail, uint64_t *removed)
{
	char text[NSR_CLIENTID_TEXT_MAX];
	int64_t now = time(NULL);
	uint64_t n = 0;
	int r;

	if (id_len == 0)
		return -EINVAL;
	if (id_len > NSR_CLIENTID_MAX)
		return -E2BIG;

	r = nsr_store_write_begin(store, now, "forgetting a client");
	if (r < 0)
		return r;

	r = forget_locked(store, id, id_len, during_grace, detail, now, &n);
	r = nsr_store_write_end(store, r, "forgetting a client");
	if (r < 0)
		return r;

	nsr_log_notice("%s: client %s forgotten: %" PRIu64 " records removed",
		       nsr_store_label(store), nsr_clientid_format(id, id_len, text), n);
	if (removed)
		*removed = n;
	return 0;
}

/* ---- import -------------------------------------------------------------- */

struct import_ctx {
	struct nsr_store *store;
	const char *source;
	int64_t now;
	struct nsr_grace_state target;	/* the grace state records are mapped into */
	sqlite3_stmt *exists;
	sqlite3_stmt *upsert;
	struct nsr_import_result result;
};

static bool import_text_ok(const char *s, size_t max)
{
	return !s || strnlen(s, max + 1) <= max;
}

static int import_validate(struct import_ctx *ctx, const struct nsr_import_record *ir, size_t i)
{
	const struct nsr_record *rec = &ir->rec;

	if (rec->id_len == 0 || rec->id_len > NSR_CLIENTID_MAX || !rec->id)
		return nsr_log_error_errno(-EINVAL, "%s: record %zu: the client id must be 1 to "
					   "%d bytes", ctx->source, i, NSR_CLIENTID_MAX);
	if (rec->princhash_len != 0 && rec->princhash_len != NSR_PRINCHASH_LEN)
		return nsr_log_error_errno(-EINVAL, "%s: record %zu: the principal hash must be "
					   "absent or %d bytes", ctx->source, i, NSR_PRINCHASH_LEN);
	if (!import_text_ok(rec->address, NSR_ADDRESS_MAX) ||
	    !import_text_ok(rec->principal, NSR_PRINCIPAL_MAX) ||
	    !import_text_ok(rec->impl_id, NSR_IMPL_ID_MAX))
		return nsr_log_error_errno(-EINVAL, "%s: record %zu: an audit string exceeds its "
					   "maximum length (address %d, principal %d, "
					   "implementation id %d bytes)", ctx->source, i,
					   NSR_ADDRESS_MAX, NSR_PRINCIPAL_MAX, NSR_IMPL_ID_MAX);
	if (rec->minor_version < -1)
		return nsr_log_error_errno(-EINVAL, "%s: record %zu: invalid minor version %" PRId32,
					   ctx->source, i, rec->minor_version);
	if (ir->role == NSR_IMPORT_RECLAIMABLE && ctx->target.recovery_epoch == 0 &&
	    ctx->result.adopted_grace)
		return nsr_log_error_errno(-EINVAL, "%s: record %zu is reclaimable, but the file's "
					   "grace state has no recovery epoch", ctx->source, i);
	return 0;
}

static int64_t import_epoch(const struct import_ctx *ctx, enum nsr_import_role role)
{
	if (role == NSR_IMPORT_RECLAIMABLE && ctx->target.recovery_epoch != 0)
		return ctx->target.recovery_epoch;
	return ctx->target.current_epoch;
}

static int import_one(struct import_ctx *ctx, const struct nsr_import_record *ir)
{
	const struct nsr_record *rec = &ir->rec;
	int64_t epoch = import_epoch(ctx, ir->role);
	bool existed;
	int r, rc;

	sqlite3_reset(ctx->exists);
	sqlite3_bind_int64(ctx->exists, 1, epoch);
	sqlite3_bind_blob(ctx->exists, 2, rec->id, rec->id_len, SQLITE_STATIC);
	rc = sqlite3_step(ctx->exists);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return nsr_store_log_sqlite(ctx->store, rc, "looking up an imported client");
	existed = rc == SQLITE_ROW;
	sqlite3_reset(ctx->exists);

	sqlite3_reset(ctx->upsert);
	sqlite3_clear_bindings(ctx->upsert);
	sqlite3_bind_int64(ctx->upsert, 1, epoch);
	sqlite3_bind_blob(ctx->upsert, 2, rec->id, rec->id_len, SQLITE_STATIC);
	if (rec->princhash_len)
		sqlite3_bind_blob(ctx->upsert, 3, rec->princhash, rec->princhash_len,
				  SQLITE_STATIC);
	sqlite3_bind_int64(ctx->upsert, 4, rec->first_seen);
	sqlite3_bind_int64(ctx->upsert, 5, rec->last_seen);
	nsr_stmt_bind_text_or_null(ctx->upsert, 6, rec->address);
	if (rec->minor_version >= 0)
		sqlite3_bind_int(ctx->upsert, 7, rec->minor_version);
	nsr_stmt_bind_text_or_null(ctx->upsert, 8, rec->principal);
	nsr_stmt_bind_text_or_null(ctx->upsert, 9, rec->impl_id);
	r = nsr_store_step_done(ctx->store, ctx->upsert, "importing a client");
	sqlite3_reset(ctx->upsert);
	if (r < 0)
		return r;

	if (existed) {
		ctx->result.updated++;
		return 0;
	}
	ctx->result.added++;
	return nsr_store_event_add(ctx->store, NSR_EVENT_IMPORT, rec->id, rec->id_len, ctx->now,
			       epoch, ctx->source);
}

/*
 * Adopt the file's grace state when the database is as nsr_store_open()
 * created it: no records, no grace period, current epoch 1.
 */
static int import_choose_grace(struct import_ctx *ctx, const struct nsr_grace_state *file)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *set = NULL;
	int r, rc;

	r = nsr_store_read_grace(ctx->store, &ctx->target);
	if (r < 0)
		return r;

	r = admin_prepare(ctx->store, "SELECT count(*) FROM clients", &stmt);
	if (r < 0)
		return r;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(ctx->store, rc, "counting client records");

	if (sqlite3_column_int64(stmt, 0) != 0 || ctx->target.current_epoch != 1 ||
	    ctx->target.recovery_epoch != 0)
		return 0;

	if (file->current_epoch < 1 || file->recovery_epoch < 0 ||
	    file->recovery_epoch >= file->current_epoch)
		return nsr_log_error_errno(-EINVAL, "%s: invalid grace state: current epoch %" PRId64
					   ", recovery epoch %" PRId64 "; the recovery epoch must "
					   "be 0 or below the current one", ctx->source,
					   file->current_epoch, file->recovery_epoch);

	r = nsr_store_stmt(ctx->store, NSR_STMT_GRACE_SET, &set);
	if (r < 0)
		return r;
	sqlite3_bind_int64(set, 1, file->current_epoch);
	sqlite3_bind_int64(set, 2, file->recovery_epoch);
	sqlite3_bind_int64(set, 3, file->grace_started);
	sqlite3_bind_int64(set, 4, file->boot_time);
	r = nsr_store_step_done(ctx->store, set, "writing the grace state");
	if (r < 0)
		return r;

	ctx->target = *file;
	ctx->result.adopted_grace = true;
	return 0;
}

static int import_locked(struct import_ctx *ctx, const struct nsr_grace_state *grace,
			 const struct nsr_import_record *recs, size_t n)
{
	int r;

	r = import_choose_grace(ctx, grace);
	if (r < 0)
		return r;

	r = admin_prepare(ctx->store, "SELECT 1 FROM clients WHERE epoch = ?1 AND clientid = ?2",
			  &ctx->exists);
	if (r < 0)
		return r;

	/* A repeated import changes nothing: min and max are idempotent, as is coalesce. */
	r = admin_prepare(ctx->store,
			  "INSERT INTO clients (epoch, clientid, princhash, first_seen, last_seen, "
			  "address, minor_version, principal, impl_id) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
			  "ON CONFLICT (epoch, clientid) DO UPDATE SET "
			  "princhash = coalesce(princhash, excluded.princhash), "
			  "first_seen = min(first_seen, excluded.first_seen), "
			  "last_seen = max(last_seen, excluded.last_seen), "
			  "address = coalesce(address, excluded.address), "
			  "minor_version = coalesce(minor_version, excluded.minor_version), "
			  "principal = coalesce(principal, excluded.principal), "
			  "impl_id = coalesce(impl_id, excluded.impl_id)", &ctx->upsert);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		r = import_validate(ctx, &recs[i], i);
		if (r < 0)
			return r;
		r = import_one(ctx, &recs[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int nsr_store_import(struct nsr_store *store, const struct nsr_grace_state *grace,
		     const struct nsr_import_record *recs, size_t n, const char *source,
		     struct nsr_import_result *ret)
{
	struct import_ctx ctx = { .store = store, .source = source, .now = time(NULL) };
	int r;

	r = nsr_store_write_begin(store, ctx.now, "importing records");
	if (r < 0)
		return r;

	r = import_locked(&ctx, grace, recs, n);
	sqlite3_finalize(ctx.exists);
	sqlite3_finalize(ctx.upsert);
	r = nsr_store_write_end(store, r, "importing records");
	if (r < 0)
		return r;

	nsr_log_info("%s: imported %s: %" PRIu64 " records added, %" PRIu64 " already present%s",
		     nsr_store_label(store), source, ctx.result.added, ctx.result.updated,
		     ctx.result.adopted_grace ? ", grace state adopted" : "");
	if (ret)
		*ret = ctx.result;
	return 0;
}
