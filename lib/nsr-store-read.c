/* nsr-store-read.c: reading records, grace state, events and attributes from a server's database. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"

static const char *const event_type_names[] = {
	[NSR_EVENT_CREATE] = "create",
	[NSR_EVENT_REMOVE] = "remove",
	[NSR_EVENT_RECLAIM] = "reclaim",
	[NSR_EVENT_GRACE_START] = "grace-start",
	[NSR_EVENT_GRACE_DONE] = "grace-done",
	[NSR_EVENT_IMPORT] = "import",
	[NSR_EVENT_FORGET] = "forget",
};

const char *nsr_event_type_name(enum nsr_event_type type)
{
	if ((unsigned int)type >= NSR_ARRAY_SIZE(event_type_names) || !event_type_names[type])
		return "unknown";
	return event_type_names[type];
}

/* The inverse of nsr_event_type_name(); 0 for a name it never returns. */
static enum nsr_event_type event_type_from_name(const char *name)
{
	for (unsigned int i = 1; name && i < NSR_ARRAY_SIZE(event_type_names); i++)
		if (strcmp(name, event_type_names[i]) == 0)
			return i;
	return 0;
}

int nsr_store_read_grace(struct nsr_store *store, struct nsr_grace_state *ret)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_GRACE_GET, &stmt);
	if (r < 0)
		return r;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return nsr_log_error_errno(-EBADMSG,
					   "%s: the grace table has no row; restore the database "
					   "from a backup", store->path);
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "reading the grace state");

	*ret = (struct nsr_grace_state){
		.current_epoch = sqlite3_column_int64(stmt, 0),
		.recovery_epoch = sqlite3_column_int64(stmt, 1),
		.grace_started = sqlite3_column_int64(stmt, 2),
		.boot_time = sqlite3_column_int64(stmt, 3),
	};
	return 0;
}

/*
 * Start a read transaction unless one is open, so that the grace row and
 * the records come from one snapshot while the daemon commits.
 */
static int read_begin(struct nsr_store *store, bool *started)
{
	int r;

	*started = false;
	if (!sqlite3_get_autocommit(store->db))
		return 0;

	r = nsr_store_exec(store, NSR_STMT_BEGIN_DEFERRED, "starting a read transaction");
	if (r < 0)
		return r;

	*started = true;
	return 0;
}

static void read_end(struct nsr_store *store, bool started)
{
	if (started)
		nsr_store_exec(store, NSR_STMT_COMMIT, "ending a read transaction");
}

int nsr_store_get_grace(struct nsr_store *store, struct nsr_grace_state *ret)
{
	return nsr_store_read_grace(store, ret);
}

/* Pick the statement for @which and bind its epoch. *skip is set when no epoch matches. */
static int select_epoch_stmt(struct nsr_store *store, enum nsr_epoch_select which,
			     enum nsr_stmt_id by_epoch, enum nsr_stmt_id all,
			     sqlite3_stmt **ret, bool *skip)
{
	struct nsr_grace_state grace;
	int64_t epoch;
	int r;

	*skip = false;
	if (which == NSR_EPOCH_ALL)
		return nsr_store_stmt(store, all, ret);

	r = nsr_store_read_grace(store, &grace);
	if (r < 0)
		return r;

	epoch = which == NSR_EPOCH_CURRENT ? grace.current_epoch : grace.recovery_epoch;
	if (epoch == 0) {
		*skip = true;
		return 0;
	}

	r = nsr_store_stmt(store, by_epoch, ret);
	if (r < 0)
		return r;

	sqlite3_bind_int64(*ret, 1, epoch);
	return 0;
}

static void record_from_row(sqlite3_stmt *stmt, struct nsr_record *rec)
{
	*rec = (struct nsr_record){
		.id = sqlite3_column_blob(stmt, 0),
		.id_len = sqlite3_column_bytes(stmt, 0),
		.princhash = sqlite3_column_blob(stmt, 1),
		.princhash_len = sqlite3_column_bytes(stmt, 1),
		.epoch = sqlite3_column_int64(stmt, 2),
		.first_seen = sqlite3_column_int64(stmt, 3),
		.last_seen = sqlite3_column_int64(stmt, 4),
		.address = (const char *)sqlite3_column_text(stmt, 5),
		.minor_version = sqlite3_column_type(stmt, 6) == SQLITE_NULL
					 ? -1 : sqlite3_column_int(stmt, 6),
		.principal = (const char *)sqlite3_column_text(stmt, 7),
		.impl_id = (const char *)sqlite3_column_text(stmt, 8),
	};
}

static int visit_clients(struct nsr_store *store, enum nsr_epoch_select which,
			 nsr_store_record_fn fn, void *ctx)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	struct nsr_record rec;
	bool skip;
	int r, rc;

	r = select_epoch_stmt(store, which, NSR_STMT_CLIENTS_EPOCH, NSR_STMT_CLIENTS_ALL,
			      &stmt, &skip);
	if (r < 0 || skip)
		return r;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		record_from_row(stmt, &rec);
		r = fn(&rec, ctx);
		if (r != 0)
			return r;
	}

	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "reading client records");
	return 0;
}

int nsr_store_foreach_client(struct nsr_store *store, enum nsr_epoch_select which,
			     nsr_store_record_fn fn, void *ctx)
{
	bool started;
	int r;

	r = read_begin(store, &started);
	if (r < 0)
		return r;

	r = visit_clients(store, which, fn, ctx);
	read_end(store, started);
	return r;
}

static int count_clients(struct nsr_store *store, enum nsr_epoch_select which, uint64_t *ret)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	bool skip;
	int r, rc;

	*ret = 0;
	r = select_epoch_stmt(store, which, NSR_STMT_COUNT_EPOCH, NSR_STMT_COUNT_ALL, &stmt, &skip);
	if (r < 0 || skip)
		return r;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "counting client records");

	*ret = sqlite3_column_int64(stmt, 0);
	return 0;
}

int nsr_store_count_clients(struct nsr_store *store, enum nsr_epoch_select which,
			    uint64_t *ret)
{
	bool started;
	int r;

	r = read_begin(store, &started);
	if (r < 0)
		return r;

	r = count_clients(store, which, ret);
	read_end(store, started);
	return r;
}

int nsr_store_foreach_event(struct nsr_store *store, int64_t since, nsr_store_event_fn fn,
			    void *ctx)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	struct nsr_event ev;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_EVENTS_SINCE, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, since);

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ev = (struct nsr_event){
			.seq = sqlite3_column_int64(stmt, 0),
			.time = sqlite3_column_int64(stmt, 1),
			.type = event_type_from_name((const char *)sqlite3_column_text(stmt, 2)),
			.id = sqlite3_column_blob(stmt, 3),
			.id_len = sqlite3_column_bytes(stmt, 3),
			.epoch = sqlite3_column_int64(stmt, 4),
			.detail = (const char *)sqlite3_column_text(stmt, 5),
		};
		r = fn(&ev, ctx);
		if (r != 0)
			return r;
	}

	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "reading events");
	return 0;
}

int nsr_store_get_meta(struct nsr_store *store, const char *key, char **ret)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	const char *value;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_META_GET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "reading a server attribute");

	value = (const char *)sqlite3_column_text(stmt, 0);
	*ret = strdup(value ?: "");
	return *ret ? 0 : -ENOMEM;
}

int nsr_store_set_meta(struct nsr_store *store, const char *key, const char *value)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	if (store->opts.read_only)
		return nsr_log_error_errno(-EROFS, "%s: cannot set attribute \"%s\": the database "
					   "was opened read-only", store->path, key);

	r = nsr_store_stmt(store, NSR_STMT_META_SET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);

	/* Outside a transaction, this statement commits on its own. */
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "writing a server attribute");
	return 0;
}
