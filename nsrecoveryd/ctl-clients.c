/* ctl-clients.c: nsrecoveryctl clients: listing a server's client records. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "nsr-client.h"
#include "nsr-log.h"
#include "nsr-macro.h"

struct ctl_client_walk {
	const struct nsr_grace_state *grace;
	const struct ctl_options *filter;	/* --since, --principal, --address */
	bool json;
	bool first;
	struct ctl_table table;
};

static const char *ctl_record_state(const struct ctl_client_walk *w, int64_t epoch)
{
	return ctl_epoch_state(w->grace, epoch);
}

static bool ctl_filtering(const struct ctl_options *f)
{
	return f->since_set || f->principal || f->address;
}

/* Whether @rec passes the filters; a record without the filtered field never does. */
static bool ctl_client_matches(const struct ctl_options *f, const struct nsr_record *rec)
{
	if (f->since_set && rec->last_seen < f->since)
		return false;
	if (f->principal && (!rec->principal || strcmp(rec->principal, f->principal) != 0))
		return false;
	if (f->address && (!rec->address || strcmp(rec->address, f->address) != 0))
		return false;
	return true;
}

static void ctl_client_json(struct ctl_client_walk *w, const struct nsr_record *rec,
			    const char *id, const char *hex, const char *hash)
{
	char first[32], last[32];

	ctl_json_separator(stdout, &w->first);
	printf("    {\"epoch\": %" PRId64 ", \"state\": ", rec->epoch);
	ctl_json_write(stdout, ctl_record_state(w, rec->epoch));
	fputs(", \"id\": ", stdout);
	ctl_json_write(stdout, id);
	fputs(", \"id_hex\": ", stdout);
	ctl_json_write(stdout, hex);
	fputs(", \"princhash\": ", stdout);
	ctl_json_write_or_null(stdout, strcmp(hash, "-") ? hash : NULL);
	fputs(", \"first_seen\": ", stdout);
	ctl_json_write_or_null(stdout, rec->first_seen ? ctl_format_time(rec->first_seen, first)
						     : NULL);
	fputs(", \"last_seen\": ", stdout);
	ctl_json_write_or_null(stdout, rec->last_seen ? ctl_format_time(rec->last_seen, last) : NULL);
	fputs(", \"address\": ", stdout);
	ctl_json_write_or_null(stdout, rec->address);
	fputs(", \"minor_version\": ", stdout);
	ctl_print_int_or_null(rec->minor_version >= 0, rec->minor_version);
	fputs(", \"principal\": ", stdout);
	ctl_json_write_or_null(stdout, rec->principal);
	fputs(", \"impl_id\": ", stdout);
	ctl_json_write_or_null(stdout, rec->impl_id);
	fputs("}", stdout);
}

static int ctl_client_row(struct ctl_client_walk *w, const struct nsr_record *rec,
			  const char *id, const char *hash)
{
	char epoch[24], minor[16], first[32], last[32];
	const char *row[9];

	snprintf(epoch, sizeof(epoch), "%" PRId64, rec->epoch);
	snprintf(minor, sizeof(minor), "%" PRId32, rec->minor_version);

	row[0] = epoch;
	row[1] = ctl_record_state(w, rec->epoch);
	row[2] = id;
	row[3] = hash;
	row[4] = ctl_format_time(rec->first_seen, first);
	row[5] = ctl_format_time(rec->last_seen, last);
	row[6] = rec->address;
	row[7] = rec->minor_version >= 0 ? minor : NULL;
	row[8] = rec->principal;
	return ctl_table_add_row(&w->table, row);
}


static int ctl_visit_client(const struct nsr_record *rec, void *ctx)
{
	struct ctl_client_walk *w = ctx;
	char id[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	char hash[2 * NSR_PRINCHASH_LEN + 1];

	if (!ctl_client_matches(w->filter, rec))
		return 0;

	nsr_clientid_format(rec->id, rec->id_len, id);
	nsr_princhash_format(rec->princhash, rec->princhash_len, hash);

	if (w->json) {
		ctl_client_json(w, rec, id, ctl_clientid_hex(rec->id, rec->id_len, hex), hash);
		return 0;
	}
	return ctl_client_row(w, rec, id, hash);
}

/* Returns 0, a negative errno the store logged, or -ENOMEM (not logged). */
static int ctl_list_clients(struct ctl_context *ctx, struct nsr_store *store, const char *name)
{
	static const struct ctl_column columns[] = {
		{ "EPOCH", CTL_COLUMN_RIGHT },
		{ "STATE", 0 },
		{ "ID", 0 },
		{ "PRINCHASH", 0 },
		{ "FIRST-SEEN", 0 },
		{ "LAST-SEEN", 0 },
		{ "ADDRESS", CTL_COLUMN_OPTIONAL },
		{ "MINOR", CTL_COLUMN_OPTIONAL | CTL_COLUMN_RIGHT },
		{ "PRINCIPAL", CTL_COLUMN_OPTIONAL },
	};
	struct nsr_grace_state grace;
	struct ctl_client_walk w = {
		.grace = &grace,
		.filter = &ctx->opts,
		.json = ctx->opts.json,
		.first = true,
		.table = { .columns = columns, .n_columns = NSR_ARRAY_SIZE(columns) },
	};
	int r;

	r = nsr_store_get_grace(store, &grace);
	if (r < 0)
		return r;

	if (w.json) {
		fputs("{\n  \"server\": ", stdout);
		ctl_json_write(stdout, name);
		fputs(",\n  \"database\": ", stdout);
		ctl_json_write(stdout, nsr_store_path(store));
		printf(",\n  \"current_epoch\": %" PRId64 ",\n  \"recovery_epoch\": %" PRId64
		       ",\n  \"clients\": [", grace.current_epoch, grace.recovery_epoch);
	}

	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, ctl_visit_client, &w);

	if (w.json)
		fputs(w.first ? "]\n}\n" : "\n  ]\n}\n", stdout);
	else if (r == 0 && w.table.n_rows == 0 && ctl_filtering(&ctx->opts))
		printf("No client of server %s matches the filters.\n", name);
	else if (r == 0 && w.table.n_rows == 0)
		printf("Server %s has no clients.\n", name);
	else if (r == 0)
		r = ctl_table_print(&w.table);
	ctl_table_release(&w.table);

	return r;
}

int ctl_cmd_clients(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_store *store = NULL;
	int r;

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	r = ctl_list_clients(ctx, store, name);
	nsr_store_close(store);
	if (r < 0)
		return ctl_read_failed(r, "list the clients", name);
	return CTL_EXIT_OK;
}
