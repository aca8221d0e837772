/* nsr-audit.c: audit findings: detecting shared client ids and scope changes, and reading them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsr-audit.h"
#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-store-internal.h"

static const char *const finding_kind_names[] = {
	[NSR_FINDING_ADDRESS_CONFLICT] = "address-conflict",
	[NSR_FINDING_PRINCIPAL_CONFLICT] = "principal-conflict",
	[NSR_FINDING_SCOPE_CHANGE] = "scope-change",
};

const char *nsr_finding_kind_name(enum nsr_finding_kind kind)
{
	if ((unsigned int)kind >= NSR_ARRAY_SIZE(finding_kind_names) || !finding_kind_names[kind])
		return "unknown";
	return finding_kind_names[kind];
}

static enum nsr_finding_kind finding_kind_from_name(const char *name)
{
	for (unsigned int i = 1; name && i < NSR_ARRAY_SIZE(finding_kind_names); i++)
		if (strcmp(name, finding_kind_names[i]) == 0)
			return i;
	return 0;
}

static int64_t audit_lease_time(const struct nsr_store *store)
{
	return store->opts.client_lease_time > 0 ? store->opts.client_lease_time
						 : NSR_STORE_CLIENT_LEASE_DEFAULT;
}


/* Add a finding; @id may be NULL. */
static int finding_add(struct nsr_store *store, int64_t time, enum nsr_finding_kind kind,
		       const uint8_t *id, size_t id_len, const char *old_value,
		       const char *new_value, const char *detail)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = nsr_store_stmt(store, NSR_STMT_FINDING_ADD, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, time);
	sqlite3_bind_text(stmt, 2, nsr_finding_kind_name(kind), -1, SQLITE_STATIC);
	if (id)
		sqlite3_bind_blob(stmt, 3, id, id_len, SQLITE_STATIC);
	nsr_stmt_bind_text_or_null(stmt, 4, old_value);
	nsr_stmt_bind_text_or_null(stmt, 5, new_value);
	nsr_stmt_bind_text_or_null(stmt, 6, detail);
	return nsr_store_step_done(store, stmt, "recording an audit finding");
}

/* Whether a finding of @kind for @c was recorded at or after @since. */
static int finding_recent(struct nsr_store *store, const struct nsr_client *c,
			  enum nsr_finding_kind kind, int64_t since, bool *ret)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_FINDING_RECENT, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_blob(stmt, 1, c->id, c->id_len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, nsr_finding_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, since);

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "reading audit findings");
	*ret = rc == SQLITE_ROW;
	return 0;
}

/*
 * Record one conflict of @kind between @old_value and @new_value, unless
 * one was recorded for this id within the last lease period.
 */
static int audit_conflict(struct nsr_store *store, const struct nsr_client *c,
			  enum nsr_finding_kind kind, const char *old_value,
			  const char *new_value, int64_t seen, int64_t time)
{
	const char *what = kind == NSR_FINDING_ADDRESS_CONFLICT ? "address" : "principal";
	int64_t lease = audit_lease_time(store);
	char text[NSR_CLIENTID_TEXT_MAX];
	char detail[96];
	bool recent = false;
	int r;

	r = finding_recent(store, c, kind, time - lease, &recent);
	if (r < 0 || recent)
		return r;

	snprintf(detail, sizeof(detail), "%" PRId64 " s apart, lease time %" PRId64 " s",
		 time > seen ? time - seen : seen - time, lease);
	r = finding_add(store, time, kind, c->id, c->id_len, old_value, new_value, detail);
	if (r < 0)
		return r;

	nsr_log_warning("%s: client %s was recorded with %s %s and then %s %s, %s: two NFS "
			"clients may share this client id (such as containers with one host "
			"name), and each can lose its state to the other; give each client "
			"a unique id (nfs4_unique_id or a distinct host name)",
			nsr_store_label(store), nsr_clientid_format(c->id, c->id_len, text),
			what, old_value, what, new_value, detail);
	return 0;
}

/* Compare @c with its last sighting, if that is younger than one lease period. */
static int audit_compare(struct nsr_store *store, const struct nsr_client *c, int64_t time)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	_cleanup_free_ char *address = NULL, *principal = NULL;
	int64_t seen;
	int r, rc;

	r = nsr_store_stmt(store, NSR_STMT_SIGHTING_GET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_blob(stmt, 1, c->id, c->id_len, SQLITE_STATIC);

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "reading a client sighting");

	seen = sqlite3_column_int64(stmt, 0);
	if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
		address = strdup((const char *)sqlite3_column_text(stmt, 1));
	if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
		principal = strdup((const char *)sqlite3_column_text(stmt, 2));
	nsr_stmt_resetp(&stmt);

	if (time - seen > audit_lease_time(store) || seen - time > audit_lease_time(store))
		return 0;

	/* An unknown value on either side is no evidence of a conflict. */
	if (address && c->address && strcmp(address, c->address) != 0) {
		r = audit_conflict(store, c, NSR_FINDING_ADDRESS_CONFLICT, address, c->address,
				   seen, time);
		if (r < 0)
			return r;
	}
	if (principal && c->principal && strcmp(principal, c->principal) != 0)
		return audit_conflict(store, c, NSR_FINDING_PRINCIPAL_CONFLICT, principal,
				      c->principal, seen, time);
	return 0;
}

int nsr_audit_note_create(struct nsr_store *store, const struct nsr_client *c, int64_t time)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = audit_compare(store, c, time);
	if (r < 0)
		return r;

	r = nsr_store_stmt(store, NSR_STMT_SIGHTING_SET, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_blob(stmt, 1, c->id, c->id_len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, time);
	nsr_stmt_bind_text_or_null(stmt, 3, c->address);
	nsr_stmt_bind_text_or_null(stmt, 4, c->principal);
	return nsr_store_step_done(store, stmt, "recording a client sighting");
}

/* Run a cached DELETE whose only parameter is @value. */
static int audit_delete(struct nsr_store *store, enum nsr_stmt_id id, int64_t value,
			const char *what)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	int r;

	r = nsr_store_stmt(store, id, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, value);
	return nsr_store_step_done(store, stmt, what);
}

int nsr_audit_trim(struct nsr_store *store, int64_t now)
{
	const struct nsr_store_options *o = &store->opts;
	int r;

	r = audit_delete(store, NSR_STMT_SIGHTINGS_TRIM, now - audit_lease_time(store),
			 "deleting old client sightings");
	if (r < 0)
		return r;

	if (o->event_max_rows > 0) {
		r = audit_delete(store, NSR_STMT_FINDINGS_TRIM_ROWS, o->event_max_rows,
				 "trimming findings by count");
		if (r < 0)
			return r;
	}
	if (o->event_max_age > 0)
		return audit_delete(store, NSR_STMT_FINDINGS_TRIM_AGE, now - o->event_max_age,
				    "trimming findings by age");
	return 0;
}

int nsr_store_foreach_finding(struct nsr_store *store, int64_t since, nsr_finding_fn fn,
			      void *ctx)
{
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *stmt = NULL;
	struct nsr_finding f;
	int r, rc;

	if (store->schema_version < NSR_SCHEMA_AUDIT)
		return 0;

	r = nsr_store_stmt(store, NSR_STMT_FINDINGS_SINCE, &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, since);

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		f = (struct nsr_finding){
			.seq = sqlite3_column_int64(stmt, 0),
			.time = sqlite3_column_int64(stmt, 1),
			.kind = finding_kind_from_name((const char *)sqlite3_column_text(stmt, 2)),
			.id = sqlite3_column_blob(stmt, 3),
			.id_len = sqlite3_column_bytes(stmt, 3),
			.old_value = (const char *)sqlite3_column_text(stmt, 4),
			.new_value = (const char *)sqlite3_column_text(stmt, 5),
			.detail = (const char *)sqlite3_column_text(stmt, 6),
		};
		r = fn(&f, ctx);
		if (r != 0)
			return r;
	}

	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "reading audit findings");
	return 0;
}

/* Prepare an uncached statement; for the rare reads and writes below. */
static int audit_prepare(struct nsr_store *store, const char *sql, sqlite3_stmt **ret)
{
	int rc;

	rc = sqlite3_prepare_v2(store->db, sql, -1, ret, NULL);
	if (rc != SQLITE_OK)
		return nsr_store_log_sqlite(store, rc, "preparing an audit statement");
	return 0;
}

int nsr_store_count_findings(struct nsr_store *store, uint64_t *ret)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int r, rc;

	*ret = 0;
	if (store->schema_version < NSR_SCHEMA_AUDIT)
		return 0;

	r = audit_prepare(store, "SELECT count(*) FROM findings", &stmt);
	if (r < 0)
		return r;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "counting audit findings");
	*ret = sqlite3_column_int64(stmt, 0);
	return 0;
}

int nsr_store_foreach_scope(struct nsr_store *store, nsr_scope_fn fn, void *ctx)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	struct nsr_scope_entry e;
	int r, rc;

	if (store->schema_version < NSR_SCHEMA_AUDIT)
		return 0;

	r = audit_prepare(store, "SELECT seq, time, scope FROM scope_history ORDER BY seq", &stmt);
	if (r < 0)
		return r;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		e = (struct nsr_scope_entry){
			.seq = sqlite3_column_int64(stmt, 0),
			.time = sqlite3_column_int64(stmt, 1),
			.scope = (const char *)sqlite3_column_text(stmt, 2),
		};
		r = fn(&e, ctx);
		if (r != 0)
			return r;
	}

	if (rc != SQLITE_DONE)
		return nsr_store_log_sqlite(store, rc, "reading the scope history");
	return 0;
}

/* The scope of the newest history entry, malloc'ed, or NULL when there is none. */
static int scope_latest(struct nsr_store *store, char **ret)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	int r, rc;

	*ret = NULL;
	r = audit_prepare(store, "SELECT scope FROM scope_history ORDER BY seq DESC LIMIT 1",
			  &stmt);
	if (r < 0)
		return r;

	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return nsr_store_log_sqlite(store, rc, "reading the scope history");

	*ret = strdup((const char *)sqlite3_column_text(stmt, 0) ?: "");
	return *ret ? 0 : -ENOMEM;
}

static int scope_record(struct nsr_store *store, const char *scope, int64_t now,
			const char *previous)
{
	_cleanup_(nsr_stmt_finalizep) sqlite3_stmt *stmt = NULL;
	_cleanup_(nsr_stmt_resetp) sqlite3_stmt *meta = NULL;
	int r;

	r = audit_prepare(store, "INSERT INTO scope_history (time, scope) VALUES (?1, ?2)", &stmt);
	if (r < 0)
		return r;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_text(stmt, 2, scope, -1, SQLITE_STATIC);
	r = nsr_store_step_done(store, stmt, "recording the server scope");
	if (r < 0)
		return r;

	r = nsr_store_stmt(store, NSR_STMT_META_SET, &meta);
	if (r < 0)
		return r;
	sqlite3_bind_text(meta, 1, "scope", -1, SQLITE_STATIC);
	sqlite3_bind_text(meta, 2, scope, -1, SQLITE_STATIC);
	r = nsr_store_step_done(store, meta, "recording the server scope");
	if (r < 0 || !previous)
		return r;

	return finding_add(store, now, NSR_FINDING_SCOPE_CHANGE, NULL, 0, previous, scope,
			   "clients cannot reclaim across a scope change");
}

int nsr_store_note_scope(struct nsr_store *store, const char *scope, char **previous)
{
	_cleanup_free_ char *latest = NULL;
	int64_t now = time(NULL);
	int r;

	if (previous)
		*previous = NULL;

	r = nsr_store_write_begin(store, now, "recording the server scope");
	if (r < 0)
		return r;

	r = scope_latest(store, &latest);
	if (r >= 0 && latest && strcmp(latest, scope) == 0)
		return nsr_store_write_end(store, 0, "recording the server scope");

	if (r >= 0)
		r = scope_record(store, scope, now, latest);
	r = nsr_store_write_end(store, r, "recording the server scope");
	if (r < 0 || !latest)
		return r;

	if (previous)
		*previous = NSR_TAKE_PTR(latest);
	return 1;
}
