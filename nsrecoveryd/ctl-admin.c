/* ctl-admin.c: nsrecoveryctl audit, forget and check. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "nsr-audit.h"
#include "nsr-client.h"
#include "nsr-log.h"
#include "nsr-macro.h"

/* ---- audit --------------------------------------------------------------- */

static const struct ctl_column ctl_finding_columns[] = {
	{ "TIME", 0 },
	{ "FINDING", 0 },
	{ "CLIENT", CTL_COLUMN_OPTIONAL },
	{ "BEFORE", 0 },
	{ "AFTER", 0 },
	{ "DETAIL", CTL_COLUMN_OPTIONAL },
};

struct ctl_audit_walk {
	json_t *findings;	/* JSON output, or NULL */
	json_t *scopes;
	struct ctl_table table;
	size_t n_scopes;
};

static int ctl_audit_finding(const struct nsr_finding *f, void *userdata)
{
	struct ctl_audit_walk *w = userdata;
	char when[32], id[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	const char *row[NSR_ARRAY_SIZE(ctl_finding_columns)];
	json_t *o;

	if (f->id)
		nsr_clientid_format(f->id, f->id_len, id);

	if (w->findings) {
		o = json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "seq", (json_int_t)f->seq,
			      "kind", nsr_finding_kind_name(f->kind),
			      "id", f->id ? ctl_json_text(id) : json_null(),
			      "id_hex", f->id ? json_string(ctl_clientid_hex(f->id, f->id_len, hex))
					      : json_null(),
			      "old_value", ctl_json_text(f->old_value),
			      "new_value", ctl_json_text(f->new_value),
			      "detail", ctl_json_text(f->detail));
		if (!o || ctl_json_set_time(o, "time", f->time) < 0) {
			json_decref(o);
			return -ENOMEM;
		}
		return json_array_append_new(w->findings, o) < 0 ? -ENOMEM : 0;
	}

	row[0] = ctl_format_time(f->time, when);
	row[1] = nsr_finding_kind_name(f->kind);
	row[2] = f->id ? id : NULL;
	row[3] = f->old_value;
	row[4] = f->new_value;
	row[5] = f->detail;
	return ctl_table_add_row(&w->table, row);
}

static int ctl_audit_scope(const struct nsr_scope_entry *e, void *userdata)
{
	struct ctl_audit_walk *w = userdata;
	_cleanup_free_ char *scope = NULL;
	char when[32];
	json_t *o;

	w->n_scopes++;
	if (w->scopes) {
		o = json_pack("{s:o}", "scope", ctl_json_text(e->scope));
		if (!o || ctl_json_set_time(o, "first_seen", e->time) < 0) {
			json_decref(o);
			return -ENOMEM;
		}
		return json_array_append_new(w->scopes, o) < 0 ? -ENOMEM : 0;
	}

	scope = ctl_printable(e->scope);
	printf("  %-20s  %s\n", e->time ? ctl_format_time(e->time, when) : "before version 3",
	       scope ?: "?");
	return 0;
}

int ctl_cmd_audit(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_(json_decrefp) json_t *findings = NULL, *scopes = NULL;
	_cleanup_free_ char *name = NULL;
	struct ctl_audit_walk w = {
		.table = { .columns = ctl_finding_columns,
			   .n_columns = NSR_ARRAY_SIZE(ctl_finding_columns) },
	};
	struct nsr_store *store = NULL;
	int r;

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	if (ctx->opts.json) {
		w.findings = findings = json_array();
		w.scopes = scopes = json_array();
	} else {
		printf("Scope history of server %s:\n", name);
	}

	r = nsr_store_foreach_scope(store, ctl_audit_scope, &w);
	if (r >= 0 && !ctx->opts.json && w.n_scopes == 0)
		printf("  none recorded\n");
	if (r >= 0)
		r = nsr_store_foreach_finding(store, ctx->opts.since_set ? ctx->opts.since : 0,
					      ctl_audit_finding, &w);
	nsr_store_close(store);

	if (r >= 0 && ctx->opts.json) {
		r = ctl_json_print(json_pack("{s:o, s:O, s:O}", "server", ctl_json_text(name),
					     "scope_history", scopes, "findings", findings));
	} else if (r >= 0) {
		printf("\nFindings:\n");
		if (w.table.n_rows == 0)
			printf("  none\n");
		else
			r = ctl_table_print(&w.table);
	}
	ctl_table_release(&w.table);

	if (r < 0)
		return ctl_read_failed(r, "read the audit findings", name);
	return CTL_EXIT_OK;
}

/* ---- forget -------------------------------------------------------------- */

static int ctl_count_records(const struct nsr_record *rec, void *userdata)
{
	const struct nsr_record *want = userdata;

	if (rec->id_len == want->id_len && memcmp(rec->id, want->id, rec->id_len) == 0)
		((struct nsr_record *)want)->epoch++;
	return 0;
}

/* Ask on the terminal; returns true for an answer starting with y or Y. */
static bool ctl_confirm(const char *server, const char *client, int64_t records, bool grace)
{
	_cleanup_free_ char *line = NULL;
	size_t size = 0;

	printf("Forget client %s of server %s (%" PRId64 " record%s)%s? [y/N] ", client, server,
	       records, records == 1 ? "" : "s",
	       grace ? " during a grace period, so it cannot reclaim" : "");
	fflush(stdout);
	if (getline(&line, &size, stdin) < 0)
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

int ctl_cmd_forget(struct ctl_context *ctx, int argc, char **argv)
{
	uint8_t id[NSR_CLIENTID_MAX];
	struct nsr_record want = { .id = id };
	_cleanup_free_ char *name = NULL;
	struct nsr_grace_state grace;
	struct nsr_store *store = NULL;
	char detail[64];
	uint64_t removed = 0;
	int r;

	if (nsr_clientid_parse(argv[1], id, &want.id_len) < 0) {
		nsr_log_error("invalid client id '%s': give the id as 'clients' prints it, as text "
			      "or as 0x followed by hex digits", argv[1]);
		return CTL_EXIT_USAGE;
	}

	/* Without a terminal no one can confirm, and a piped "n" must not delete anything. */
	if (!ctx->opts.yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "nsrecoveryctl: standard input is not a terminal, so forget cannot "
			"ask for confirmation; pass --yes to forget client %s of server %s\n",
			argv[1], argv[0]);
		return CTL_EXIT_USAGE;
	}

	r = ctl_open_server(ctx, argv[0], true, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	if (!ctx->opts.yes) {
		r = nsr_store_get_grace(store, &grace);
		if (r >= 0)
			r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, ctl_count_records, &want);
		if (r >= 0 && !ctl_confirm(name, argv[1], want.epoch, grace.recovery_epoch != 0)) {
			printf("Nothing changed.\n");
			nsr_store_close(store);
			return CTL_EXIT_OK;
		}
	}

	snprintf(detail, sizeof(detail), "nsrecoveryctl forget, uid %u", (unsigned int)getuid());
	if (r >= 0)
		r = nsr_store_forget(store, id, want.id_len, ctx->opts.force, detail, &removed);
	nsr_store_close(store);

	if (r == -EBUSY)
		fprintf(stderr, "nsrecoveryctl: add --force to forget the client during the grace "
			"period.\n");
	if (r < 0)
		return ctl_exit_code(r);

	printf("Forgot client %s of server %s: %" PRIu64 " record%s removed.\n", argv[1], name,
	       removed, removed == 1 ? "" : "s");
	return CTL_EXIT_OK;
}

/* ---- check --------------------------------------------------------------- */

struct ctl_check_result {
	const char *status;	/* "ok", "problem" or "missing" */
	char problem[256];	/* a short phrase for the PROBLEM column */
	char detail[512];	/* the first integrity_check message, logged once */
	int schema_version;
};

static void ctl_check_problem(const char *problem, void *userdata)
{
	struct ctl_check_result *res = userdata;
	size_t len = strlen(res->detail);

	if (len == 0)
		snprintf(res->detail, sizeof(res->detail), "%s", problem);
	else if (len < sizeof(res->detail) - 8 && !strstr(res->detail, "; and more"))
		snprintf(res->detail + len, sizeof(res->detail) - len, "; and more");
}

/*
 * Check one database. The open runs the version check, and the store logs
 * why it fails. The problems integrity_check finds are logged here, once.
 */
static void ctl_check_one(const struct ctl_server *s, struct ctl_check_result *res)
{
	const struct nsr_store_options opts = { .read_only = true };
	struct nsr_store *store = NULL;
	unsigned int problems = 0;
	const char *why;
	int r;

	*res = (struct ctl_check_result){ .status = "ok" };
	if (access(s->db_path, F_OK) < 0) {
		res->status = "missing";
		snprintf(res->problem, sizeof(res->problem), "no database yet");
		return;
	}

	r = nsr_store_open(s->db_path, &opts, &store);
	if (r < 0) {
		res->status = "problem";
		why = ctl_problem_text(r, s->db_path, res->problem, sizeof(res->problem));
		if (why != res->problem)
			snprintf(res->problem, sizeof(res->problem), "%s", why);
		return;
	}

	res->schema_version = nsr_store_schema_version(store);
	r = nsr_store_integrity_check(store, ctl_check_problem, res, &problems);
	if (r < 0) {
		snprintf(res->problem, sizeof(res->problem), "the integrity check could not run");
		problems++;
	} else if (problems > 0) {
		snprintf(res->problem, sizeof(res->problem), "damaged: the integrity check "
			 "found problems");
		nsr_log_error("%s is damaged; restore it from a backup. The integrity check "
			      "reported: %s", s->db_path, res->detail);
	}
	if (problems > 0)
		res->status = "problem";
	else if (res->schema_version < nsr_store_schema_version_latest())
		snprintf(res->problem, sizeof(res->problem), "schema version %d; nsrecoveryd "
			 "migrates it to %d when it opens the server", res->schema_version,
			 nsr_store_schema_version_latest());
	nsr_store_close(store);
}

static int ctl_check_report(struct ctl_context *ctx, const struct ctl_server_list *l,
			    const struct ctl_check_result *results)
{
	static const struct ctl_column columns[] = {
		{ "NAME", 0 },
		{ "STATUS", 0 },
		{ "SCHEMA", CTL_COLUMN_RIGHT },
		{ "DATABASE", 0 },
		{ "PROBLEM", CTL_COLUMN_OPTIONAL },
	};
	struct ctl_table t = { .columns = columns, .n_columns = NSR_ARRAY_SIZE(columns) };
	json_t *array;
	int r = 0;

	if (ctx->opts.json) {
		array = json_array();
		for (size_t i = 0; i < l->n && array; i++) {
			const struct ctl_check_result *res = &results[i];

			if (json_array_append_new(array, json_pack("{s:o, s:o, s:s, s:I, s:o, s:o}",
				"name", ctl_json_text(l->servers[i].name),
				"database", ctl_json_text(l->servers[i].db_path),
				"status", res->status, "schema_version",
				(json_int_t)res->schema_version,
				"problem", res->problem[0] ? ctl_json_text(res->problem)
							   : json_null(),
				"detail", res->detail[0] ? ctl_json_text(res->detail)
							 : json_null())) < 0)
				r = -ENOMEM;
		}
		return r < 0 ? r : ctl_json_print(json_pack("{s:o, s:I, s:o}", "state_directory",
						     ctl_json_text(ctx->state_dir),
						     "latest_schema_version",
						     (json_int_t)nsr_store_schema_version_latest(),
						     "databases", array));
	}

	for (size_t i = 0; i < l->n && r == 0; i++) {
		char version[16];
		const char *row[NSR_ARRAY_SIZE(columns)];

		snprintf(version, sizeof(version), "%d", results[i].schema_version);
		row[0] = l->servers[i].name;
		row[1] = results[i].status;
		row[2] = results[i].schema_version ? version : NULL;
		row[3] = l->servers[i].db_path;
		row[4] = results[i].problem[0] ? results[i].problem : NULL;
		r = ctl_table_add_row(&t, row);
	}
	if (r == 0)
		r = ctl_table_print(&t);
	ctl_table_release(&t);
	return r;
}

int ctl_cmd_check(struct ctl_context *ctx, int argc, char **argv)
{
	struct ctl_server_list l = {};
	struct ctl_check_result *results = NULL;
	bool failed = false;
	int r;

	/* ctl_check_one() opens each database again, and that open logs its problem. */
	r = ctl_collect_servers(ctx, &l, true);
	if (r < 0) {
		ctl_server_list_release(&l);
		return CTL_EXIT_FAILURE;
	}

	results = calloc(l.n ?: 1, sizeof(*results));
	if (!results) {
		ctl_server_list_release(&l);
		return CTL_EXIT_FAILURE;
	}

	for (size_t i = 0; i < l.n; i++) {
		ctl_check_one(&l.servers[i], &results[i]);
		if (strcmp(results[i].status, "problem") == 0)
			failed = true;
	}

	if (l.n == 0 && !ctx->opts.json)
		printf("No servers under %s, and none configured.\n", ctx->state_dir);
	else
		r = ctl_check_report(ctx, &l, results);

	free(results);
	ctl_server_list_release(&l);
	if (r == -ENOMEM)
		nsr_log_error_errno(r, "print the check report: %m");
	if (r < 0)
		return CTL_EXIT_FAILURE;
	return failed ? CTL_EXIT_PROBLEMS : CTL_EXIT_OK;
}
