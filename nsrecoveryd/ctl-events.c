/* ctl-events.c: nsrecoveryctl events and show: the audit log, and everything about one client. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "nsr-audit.h"
#include "nsr-client.h"
#include "nsr-log.h"
#include "nsr-macro.h"

static const struct ctl_column ctl_event_columns[] = {
	{ "SEQ", CTL_COLUMN_RIGHT },
	{ "TIME", 0 },
	{ "TYPE", 0 },
	{ "CLIENT", 0 },
	{ "EPOCH", CTL_COLUMN_RIGHT },
	{ "DETAIL", CTL_COLUMN_OPTIONAL },
};

/* Collects events as JSON or table rows, optionally only those of one client. */
struct ctl_event_walk {
	const uint8_t *id;	/* NULL: every event */
	size_t id_len;
	json_t *array;		/* JSON output, or NULL */
	struct ctl_table table;
};

static bool ctl_same_id(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	return a && b && a_len == b_len && memcmp(a, b, a_len) == 0;
}

static int ctl_visit_event(const struct nsr_event *ev, void *userdata)
{
	struct ctl_event_walk *w = userdata;
	char seq[24], epoch[24], when[32], id[NSR_CLIENTID_TEXT_MAX];
	const char *row[NSR_ARRAY_SIZE(ctl_event_columns)];

	if (w->id && !ctl_same_id(w->id, w->id_len, ev->id, ev->id_len))
		return 0;

	if (w->array)
		return json_array_append_new(w->array, ctl_event_json(ev)) < 0 ? -ENOMEM : 0;

	snprintf(seq, sizeof(seq), "%" PRId64, ev->seq);
	snprintf(epoch, sizeof(epoch), "%" PRId64, ev->epoch);
	row[0] = seq;
	row[1] = ctl_format_time(ev->time, when);
	row[2] = nsr_event_type_name(ev->type);
	row[3] = ev->id && ev->id_len ? nsr_clientid_format(ev->id, ev->id_len, id) : NULL;
	row[4] = epoch;
	row[5] = ev->detail;
	return ctl_table_add_row(&w->table, row);
}

int ctl_cmd_events(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	_cleanup_(json_decrefp) json_t *root = NULL;
	struct ctl_event_walk w = {
		.table = { .columns = ctl_event_columns,
			   .n_columns = NSR_ARRAY_SIZE(ctl_event_columns) },
	};
	struct nsr_store *store = NULL;
	int r;

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	if (ctx->opts.json) {
		root = json_pack("{s:o, s:o}", "server", ctl_json_text(name), "events",
				 w.array = json_array());
		if (!root)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = nsr_store_foreach_event(store, ctx->opts.since_set ? ctx->opts.since : 0,
					    ctl_visit_event, &w);
	nsr_store_close(store);

	if (r >= 0 && root)
		r = ctl_json_print(NSR_TAKE_PTR(root));
	else if (r >= 0 && w.table.n_rows == 0)
		printf("Server %s has no events%s.\n", name, ctx->opts.since_set ? " in that time" : "");
	else if (r >= 0)
		r = ctl_table_print(&w.table);
	ctl_table_release(&w.table);

	if (r < 0)
		return ctl_read_failed(r, "list the events", name);
	return CTL_EXIT_OK;
}

/* ---- show ---------------------------------------------------------------- */

struct ctl_show {
	uint8_t id[NSR_CLIENTID_MAX];
	size_t id_len;
	struct nsr_grace_state grace;
	json_t *records;	/* collected as JSON for both outputs */
	json_t *findings;
};

static int ctl_show_record(const struct nsr_record *rec, void *userdata)
{
	struct ctl_show *sh = userdata;

	if (!ctl_same_id(sh->id, sh->id_len, rec->id, rec->id_len))
		return 0;
	return json_array_append_new(sh->records, ctl_record_json(rec, &sh->grace)) < 0 ? -ENOMEM
											 : 0;
}

static int ctl_show_finding(const struct nsr_finding *f, void *userdata)
{
	struct ctl_show *sh = userdata;
	json_t *o;

	if (!ctl_same_id(sh->id, sh->id_len, f->id, f->id_len))
		return 0;

	o = json_pack("{s:I, s:s, s:o, s:o, s:o}", "seq", (json_int_t)f->seq, "kind",
		      nsr_finding_kind_name(f->kind), "old_value", ctl_json_text(f->old_value),
		      "new_value", ctl_json_text(f->new_value), "detail", ctl_json_text(f->detail));
	if (!o || ctl_json_set_time(o, "time", f->time) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	return json_array_append_new(sh->findings, o) < 0 ? -ENOMEM : 0;
}

/* Print one "  label:  value" line, with "-" for a missing value. */
static void ctl_show_line(const char *label, json_t *value)
{
	_cleanup_free_ char *copy = NULL;
	char number[24];
	const char *text = "-";

	if (json_is_string(value)) {
		text = json_string_value(value);
	} else if (json_is_integer(value)) {
		snprintf(number, sizeof(number), "%" JSON_INTEGER_FORMAT, json_integer_value(value));
		text = number;
	}
	copy = ctl_printable(text);
	printf("  %-14s %s\n", label, copy ?: "?");
}

static void ctl_show_text(const char *server, const struct ctl_show *sh,
			  const struct ctl_event_walk *events)
{
	char text[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	size_t i;
	json_t *rec, *f;

	printf("Client %s of server %s\n", nsr_clientid_format(sh->id, sh->id_len, text), server);
	printf("  %-14s %s\n", "id (hex):", ctl_clientid_hex(sh->id, sh->id_len, hex));

	json_array_foreach(sh->records, i, rec) {
		printf("\nEpoch %" JSON_INTEGER_FORMAT " (%s)\n",
		       json_integer_value(json_object_get(rec, "epoch")),
		       json_string_value(json_object_get(rec, "state")));
		ctl_show_line("princhash:", json_object_get(rec, "princhash"));
		ctl_show_line("first seen:", json_object_get(rec, "first_seen"));
		ctl_show_line("last seen:", json_object_get(rec, "last_seen"));
		ctl_show_line("address:", json_object_get(rec, "address"));
		ctl_show_line("minor version:", json_object_get(rec, "minor_version"));
		ctl_show_line("principal:", json_object_get(rec, "principal"));
		ctl_show_line("impl id:", json_object_get(rec, "impl_id"));
	}
	if (json_array_size(sh->records) == 0)
		printf("\nNo epoch holds this client.\n");

	printf("\nEvents:\n");
	if (events->table.n_rows)
		ctl_table_print(&events->table);
	else
		printf("  none\n");

	printf("\nFindings:\n");
	json_array_foreach(sh->findings, i, f) {
		_cleanup_free_ char *old = ctl_printable(json_string_value(json_object_get(f, "old_value")));
		_cleanup_free_ char *new = ctl_printable(json_string_value(json_object_get(f, "new_value")));

		printf("  %s: %s, then %s\n", json_string_value(json_object_get(f, "kind")),
		       old ?: "?", new ?: "?");
	}
	if (json_array_size(sh->findings) == 0)
		printf("  none\n");
}

static int ctl_show_collect(struct nsr_store *store, struct ctl_show *sh,
			    struct ctl_event_walk *events)
{
	int r;

	r = nsr_store_get_grace(store, &sh->grace);
	if (r < 0)
		return r;
	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, ctl_show_record, sh);
	if (r < 0)
		return r;
	r = nsr_store_foreach_event(store, 0, ctl_visit_event, events);
	if (r < 0)
		return r;
	return nsr_store_foreach_finding(store, 0, ctl_show_finding, sh);
}

int ctl_cmd_show(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_(json_decrefp) json_t *records = json_array(), *findings = json_array();
	_cleanup_(json_decrefp) json_t *event_array = NULL;
	_cleanup_free_ char *name = NULL;
	struct ctl_show sh = { .records = records, .findings = findings };
	struct ctl_event_walk events = {
		.table = { .columns = ctl_event_columns,
			   .n_columns = NSR_ARRAY_SIZE(ctl_event_columns) },
	};
	struct nsr_store *store = NULL;
	char hex[NSR_CLIENTID_TEXT_MAX];
	int r;

	if (nsr_clientid_parse(argv[1], sh.id, &sh.id_len) < 0) {
		nsr_log_error("invalid client id '%s': give the id as 'servers' and 'clients' print "
			      "it, as text or as 0x followed by hex digits", argv[1]);
		return CTL_EXIT_USAGE;
	}
	if (!records || !findings)
		return CTL_EXIT_FAILURE;
	events.id = sh.id;
	events.id_len = sh.id_len;
	if (ctx->opts.json)
		events.array = event_array = json_array();

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	r = ctl_show_collect(store, &sh, &events);
	nsr_store_close(store);
	if (r < 0) {
		ctl_table_release(&events.table);
		return ctl_read_failed(r, "read a client", name);
	}

	if (json_array_size(records) == 0 && events.table.n_rows == 0 &&
	    json_array_size(event_array) == 0) {
		nsr_log_error("server %s has no record and no event of client %s; run "
			      "'nsrecoveryctl clients %s' to list its clients", name, argv[1], argv[0]);
		return CTL_EXIT_NOT_FOUND;
	}

	if (ctx->opts.json) {
		r = ctl_json_print(json_pack("{s:o, s:o, s:s, s:O, s:O, s:O}", "server",
					     ctl_json_text(name), "id", ctl_json_text(argv[1]),
					     "id_hex", ctl_clientid_hex(sh.id, sh.id_len, hex),
					     "records", records, "events", event_array,
					     "findings", findings));
	} else {
		ctl_show_text(name, &sh, &events);
	}
	ctl_table_release(&events.table);
	return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}
