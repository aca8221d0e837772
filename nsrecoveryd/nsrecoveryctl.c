/* nsrecoveryctl.c: the nsrecoveryd command-line tool. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nsr-client.h"
#include "nsr-conf.h"
#include "nsr-config.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-settings.h"
#include "nsr-store.h"

/* Exit codes; docs/nsrecoveryctl.8 documents them. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILURE = 1,	/* a configuration, state directory or database error */
	CTL_EXIT_USAGE = 2,	/* invalid command line */
	CTL_EXIT_NOT_FOUND = 3,	/* the named server does not exist */
};

struct ctl_options {
	const char *config;	/* NULL: NSR_CONF_DEFAULT_PATH, which may be missing */
	const char *state_dir;	/* NULL: the configured state-directory */
	bool json;
};

struct ctl_context {
	struct ctl_options opts;
	struct nsr_settings settings;
	const char *state_dir;	/* the effective state directory */
};

struct ctl_command {
	const char *name;
	int (*run)(struct ctl_context *ctx, int argc, char **argv);
	const char *args;	/* argument synopsis for the usage line */
	const char *summary;
};

/* ---- output helpers ---------------------------------------------------- */

/* The length of the valid UTF-8 sequence at @s, or 0 when it is invalid. */
static size_t json_utf8_length(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;

	/* Reject overlong forms, UTF-16 surrogates and code points above U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Write @text as a JSON string. Bytes that are not valid UTF-8 become U+FFFD. */
static void json_string(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*s < 0x20) {
				fprintf(f, "\\u%04x", *s);
			} else if (*s < 0x80) {
				fputc(*s, f);
			} else {
				n = json_utf8_length(s);
				if (n == 0) {
					fputs("\\ufffd", f);
					break;
				}
				fwrite(s, 1, n, f);
				s += n;
				continue;
			}
		}
		s++;
	}
	fputc('"', f);
}

static void json_string_or_null(FILE *f, const char *text)
{
	if (text)
		json_string(f, text);
	else
		fputs("null", f);
}

/* Write ",\n" between members, and "\n" before the first. */
static void json_separator(FILE *f, bool *first)
{
	fputs(*first ? "\n" : ",\n", f);
	*first = false;
}

/* Format seconds since the Epoch as ISO 8601 UTC, or "-" for 0. */
static const char *ctl_format_time(int64_t t, char buf[static 32])
{
	time_t tt = t;
	struct tm tm;

	if (t == 0 || !gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

/* A malloc'ed copy of @s for a terminal: control characters become '?'. */
static char *ctl_printable(const char *s)
{
	char *copy = strdup(s ? s : "-");

	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return copy;
}

enum {
	CTL_COLUMN_RIGHT = 1 << 0,	/* align numbers to the right */
	CTL_COLUMN_OPTIONAL = 1 << 1,	/* hide when every cell is "-" */
};

struct ctl_column {
	const char *header;
	unsigned int flags;
};

/* A table printed with aligned columns once every row is known. */
struct ctl_table {
	const struct ctl_column *columns;
	size_t n_columns;
	char **cells;		/* n_rows * n_columns malloc'ed strings */
	size_t n_rows;
};

static void ctl_table_release(struct ctl_table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}

/* Append a row of t->n_columns strings, copied. NULL cells print as "-". */
static int ctl_table_add_row(struct ctl_table *t, const char *const *row)
{
	char **cells;

	cells = reallocarray(t->cells, (t->n_rows + 1) * t->n_columns, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	t->cells = cells;

	for (size_t c = 0; c < t->n_columns; c++) {
		char *copy = ctl_printable(row[c]);

		if (!copy) {
			for (size_t k = 0; k < c; k++)
				free(cells[t->n_rows * t->n_columns + k]);
			return -ENOMEM;
		}
		cells[t->n_rows * t->n_columns + c] = copy;
	}
	t->n_rows++;
	return 0;
}

static bool ctl_table_column_visible(const struct ctl_table *t, size_t c)
{
	if (!(t->columns[c].flags & CTL_COLUMN_OPTIONAL))
		return true;
	for (size_t r = 0; r < t->n_rows; r++)
		if (strcmp(t->cells[r * t->n_columns + c], "-") != 0)
			return true;
	return false;
}

static void ctl_table_print_row(const struct ctl_table *t, const char *const *row,
				const size_t *width, const bool *visible, size_t last)
{
	for (size_t c = 0; c <= last; c++) {
		int w = c == last && !(t->columns[c].flags & CTL_COLUMN_RIGHT) ? 0 : (int)width[c];

		if (!visible[c])
			continue;
		if (t->columns[c].flags & CTL_COLUMN_RIGHT)
			printf("%*s", w, row[c]);
		else
			printf("%-*s", w, row[c]);
		fputs(c == last ? "\n" : "  ", stdout);
	}
}

/* NOTE: widths count bytes, so UTF-8 text in a cell can misalign later columns. */
static int ctl_table_print(const struct ctl_table *t)
{
	_cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(*width));
	_cleanup_free_ bool *visible = calloc(t->n_columns, sizeof(*visible));
	_cleanup_free_ const char **header = calloc(t->n_columns, sizeof(*header));
	size_t last = 0;

	if (!width || !visible || !header)
		return -ENOMEM;

	for (size_t c = 0; c < t->n_columns; c++) {
		visible[c] = ctl_table_column_visible(t, c);
		if (visible[c])
			last = c;
		header[c] = t->columns[c].header;
		width[c] = strlen(header[c]);
		for (size_t r = 0; r < t->n_rows; r++) {
			size_t n = strlen(t->cells[r * t->n_columns + c]);

			if (n > width[c])
				width[c] = n;
		}
	}

	ctl_table_print_row(t, header, width, visible, last);
	for (size_t r = 0; r < t->n_rows; r++)
		ctl_table_print_row(t, (const char *const *)&t->cells[r * t->n_columns], width,
				    visible, last);
	return 0;
}

/* ---- servers ------------------------------------------------------------- */

/* One server database, found under the state directory or configured. */
struct ctl_server {
	char *name;		/* meta "name", configured server, or directory name */
	char *dir;
	char *db_path;
	const char *netns;	/* the configured namespace, or NULL */
	const char *config_server;	/* its configured server name, or NULL */
	int error;		/* 0, or why the database could not be read */
	struct nsr_grace_state grace;
	uint64_t clients;
	uint64_t reclaimable;
};

struct ctl_server_list {
	struct ctl_server *servers;
	size_t n;
};

static void ctl_server_list_release(struct ctl_server_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->servers[i].name);
		free(l->servers[i].dir);
		free(l->servers[i].db_path);
	}
	free(l->servers);
	l->servers = NULL;
	l->n = 0;
}

/* Whether @a and @b name the same existing file, or are equal strings. */
static bool ctl_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	return strcmp(a, b) == 0;
}

static struct ctl_server *ctl_server_list_find_dir(struct ctl_server_list *l, const char *dir)
{
	for (size_t i = 0; i < l->n; i++)
		if (ctl_same_file(l->servers[i].dir, dir))
			return &l->servers[i];
	return NULL;
}

/* Add @dir unless it is listed already; *@ret is the entry either way. */
static int ctl_server_list_add(struct ctl_server_list *l, const char *dir,
			       struct ctl_server **ret)
{
	struct ctl_server *all, *s;
	int r;

	s = ctl_server_list_find_dir(l, dir);
	if (s) {
		*ret = s;
		return 0;
	}

	all = reallocarray(l->servers, l->n + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	l->servers = all;
	s = &l->servers[l->n];
	*s = (struct ctl_server){};

	s->dir = strdup(dir);
	if (!s->dir)
		return -ENOMEM;
	r = nsr_serverdir_db_path(dir, &s->db_path);
	if (r < 0) {
		free(s->dir);
		return r;
	}
	l->n++;
	*ret = s;
	return 0;
}

static int ctl_add_found_server(const char *server_dir, const char *db_path, void *ctx)
{
	struct ctl_server *s;

	return ctl_server_list_add(ctx, server_dir, &s);
}

/* Add the server directories that [nsrecoveryd-netns] sections name. */
static int ctl_add_configured_servers(struct ctl_context *ctx, struct ctl_server_list *l)
{
	for (size_t i = 0; i < ctx->settings.n_netns; i++) {
		const struct nsr_netns_settings *ns = &ctx->settings.netns[i];
		_cleanup_free_ char *dir = NULL;
		struct ctl_server *s;
		int r;

		/* Without either, the name is nfsd's scope, known only at run time. */
		if (ns->state_dir) {
			dir = strdup(ns->state_dir);
			if (!dir)
				return -ENOMEM;
		} else if (ns->server) {
			r = nsr_serverdir_default(ctx->state_dir, ns->server, &dir);
			if (r < 0)
				return nsr_log_error_errno(r, "compute the directory of server %s: %m",
							   ns->server);
		} else {
			continue;
		}

		r = ctl_server_list_add(l, dir, &s);
		if (r < 0)
			return r;
		s->netns = ns->name;
		s->config_server = ns->server;
	}
	return 0;
}

static const char *ctl_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/*
 * Read the name, grace state and counts of @s. Failures are kept in
 * s->error so that one unreadable database does not hide the others.
 */
static int ctl_server_read(struct ctl_server *s)
{
	const struct nsr_store_options opts = { .read_only = true };
	struct nsr_store *store = NULL;
	char *name = NULL;
	int r;

	if (access(s->db_path, F_OK) < 0) {
		s->error = -errno;
		goto name;
	}

	r = nsr_store_open(s->db_path, &opts, &store);
	if (r < 0) {
		s->error = r;
		goto name;
	}

	r = nsr_store_get_meta(store, "name", &name);
	if (r < 0 && r != -ENOENT)
		s->error = r;
	if (s->error == 0)
		s->error = nsr_store_get_grace(store, &s->grace);
	if (s->error == 0)
		s->error = nsr_store_count_clients(store, NSR_EPOCH_CURRENT, &s->clients);
	if (s->error == 0 && s->grace.recovery_epoch != 0)
		s->error = nsr_store_count_clients(store, NSR_EPOCH_RECOVERY, &s->reclaimable);
	nsr_store_close(store);

name:
	if (!name && s->config_server)
		name = strdup(s->config_server);
	if (!name)
		name = strdup(ctl_basename(s->dir));
	if (!name)
		return -ENOMEM;
	s->name = name;
	return 0;
}

/* List every server under the state directory and every configured one. */
static int ctl_collect_servers(struct ctl_context *ctx, struct ctl_server_list *l)
{
	struct stat st;
	int r;

	if (stat(ctx->state_dir, &st) < 0 && errno == ENOENT)
		return nsr_log_error_errno(-ENOENT, "state directory %s does not exist; nsrecoveryd "
					   "has not stored any server there yet. Name another "
					   "directory with --state-dir or set state-directory in "
					   "[%s]", ctx->state_dir, NSR_CONF_SECTION);

	r = nsr_dir_check(ctx->state_dir, false);
	if (r < 0)
		return r;

	r = nsr_statedir_foreach_server(ctx->state_dir, ctl_add_found_server, l);
	if (r < 0)
		return nsr_log_error_errno(r, "read state directory %s: %m", ctx->state_dir);

	r = ctl_add_configured_servers(ctx, l);
	if (r < 0)
		return r;

	for (size_t i = 0; i < l->n; i++) {
		r = ctl_server_read(&l->servers[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *ctl_server_problem(const struct ctl_server *s, char *buf, size_t size)
{
	if (s->error == 0)
		return NULL;
	if (s->error == -ENOENT)
		return "no database yet";
	snprintf(buf, size, "unreadable: %s", strerror(-s->error));
	return buf;
}

static void ctl_print_int_or_null(bool valid, int64_t v)
{
	if (valid)
		printf("%" PRId64, v);
	else
		fputs("null", stdout);
}

static void ctl_servers_json(const struct ctl_context *ctx, const struct ctl_server_list *l)
{
	bool first = true;

	fputs("{\n  \"state_directory\": ", stdout);
	json_string(stdout, ctx->state_dir);
	fputs(",\n  \"servers\": [", stdout);

	for (size_t i = 0; i < l->n; i++) {
		const struct ctl_server *s = &l->servers[i];
		bool ok = s->error == 0;
		char problem[128];

		json_separator(stdout, &first);
		fputs("    {\"name\": ", stdout);
		json_string(stdout, s->name);
		fputs(", \"directory\": ", stdout);
		json_string(stdout, s->dir);
		fputs(", \"database\": ", stdout);
		json_string(stdout, s->db_path);
		fputs(", \"netns\": ", stdout);
		json_string_or_null(stdout, s->netns);
		fputs(", \"current_epoch\": ", stdout);
		ctl_print_int_or_null(ok, s->grace.current_epoch);
		fputs(", \"recovery_epoch\": ", stdout);
		ctl_print_int_or_null(ok, s->grace.recovery_epoch);
		fputs(", \"grace_in_progress\": ", stdout);
		fputs(!ok ? "null" : s->grace.recovery_epoch ? "true" : "false", stdout);
		fputs(", \"clients\": ", stdout);
		ctl_print_int_or_null(ok, s->clients);
		fputs(", \"reclaimable\": ", stdout);
		ctl_print_int_or_null(ok, s->reclaimable);
		fputs(", \"error\": ", stdout);
		json_string_or_null(stdout, ctl_server_problem(s, problem, sizeof(problem)));
		fputs("}", stdout);
	}
	fputs(first ? "]\n}\n" : "\n  ]\n}\n", stdout);
}

static int ctl_servers_table(const struct ctl_server_list *l)
{
	static const struct ctl_column columns[] = {
		{ "NAME", 0 },
		{ "EPOCH", CTL_COLUMN_RIGHT },
		{ "RECOVERY", CTL_COLUMN_RIGHT },
		{ "GRACE", 0 },
		{ "CLIENTS", CTL_COLUMN_RIGHT },
		{ "RECLAIMABLE", CTL_COLUMN_RIGHT },
		{ "NETNS", CTL_COLUMN_OPTIONAL },
		{ "DATABASE", 0 },
		{ "PROBLEM", CTL_COLUMN_OPTIONAL },
	};
	struct ctl_table t = { .columns = columns, .n_columns = NSR_ARRAY_SIZE(columns) };
	int r = 0;

	for (size_t i = 0; i < l->n && r == 0; i++) {
		const struct ctl_server *s = &l->servers[i];
		char epoch[24], recovery[24], clients[24], reclaimable[24], problem[128];
		bool ok = s->error == 0;
		const char *row[NSR_ARRAY_SIZE(columns)];

		snprintf(epoch, sizeof(epoch), "%" PRId64, s->grace.current_epoch);
		snprintf(recovery, sizeof(recovery), "%" PRId64, s->grace.recovery_epoch);
		snprintf(clients, sizeof(clients), "%" PRIu64, s->clients);
		snprintf(reclaimable, sizeof(reclaimable), "%" PRIu64, s->reclaimable);

		row[0] = s->name;
		row[1] = ok ? epoch : NULL;
		row[2] = ok ? recovery : NULL;
		row[3] = !ok ? NULL : s->grace.recovery_epoch ? "yes" : "no";
		row[4] = ok ? clients : NULL;
		row[5] = ok ? reclaimable : NULL;
		row[6] = s->netns;
		row[7] = s->db_path;
		row[8] = ctl_server_problem(s, problem, sizeof(problem));
		r = ctl_table_add_row(&t, row);
	}

	if (r == 0)
		r = ctl_table_print(&t);
	ctl_table_release(&t);
	return r;
}

static int ctl_cmd_servers(struct ctl_context *ctx, int argc, char **argv)
{
	struct ctl_server_list l = {};
	int r;

	r = ctl_collect_servers(ctx, &l);
	if (r < 0) {
		ctl_server_list_release(&l);
		return CTL_EXIT_FAILURE;
	}

	if (ctx->opts.json)
		ctl_servers_json(ctx, &l);
	else if (l.n == 0)
		printf("No servers under %s, and none configured.\n", ctx->state_dir);
	else
		r = ctl_servers_table(&l);

	ctl_server_list_release(&l);
	if (r < 0) {
		nsr_log_error_errno(r, "print the server list: %m");
		return CTL_EXIT_FAILURE;
	}
	return CTL_EXIT_OK;
}

/* ---- clients ------------------------------------------------------------- */

/*
 * Find the database of @arg: a server directory or database file when @arg
 * contains a '/', otherwise a server name. Returns 0, -ENOENT (logged, for
 * exit code 3), or another negative errno.
 */
static int ctl_resolve_server(struct ctl_context *ctx, const char *arg, char **ret_db,
			      char **ret_name)
{
	struct ctl_server_list l = {};
	struct stat st;
	int r;

	if (strchr(arg, '/')) {
		if (stat(arg, &st) < 0)
			return nsr_log_error_errno(-ENOENT, "server directory %s does not exist; "
						   "run 'nsrecoveryctl servers' to list the known "
						   "servers", arg);
		*ret_name = strdup(arg);
		if (S_ISDIR(st.st_mode))
			r = nsr_serverdir_db_path(arg, ret_db);
		else
			r = (*ret_db = strdup(arg)) ? 0 : -ENOMEM;
		return *ret_name ? r : -ENOMEM;
	}

	r = ctl_collect_servers(ctx, &l);
	if (r < 0) {
		ctl_server_list_release(&l);
		return r == -ENOENT ? -EIO : r;
	}

	r = -ENOENT;
	for (size_t i = 0; i < l.n; i++) {
		if (strcmp(l.servers[i].name, arg) != 0)
			continue;
		*ret_db = NSR_TAKE_PTR(l.servers[i].db_path);
		*ret_name = NSR_TAKE_PTR(l.servers[i].name);
		r = 0;
		break;
	}
	ctl_server_list_release(&l);

	if (r == -ENOENT)
		return nsr_log_error_errno(r, "unknown server '%s' under %s; run 'nsrecoveryctl "
					   "servers' to list the known servers", arg,
					   ctx->state_dir);
	return r;
}

struct ctl_client_walk {
	const struct nsr_grace_state *grace;
	bool json;
	bool first;
	struct ctl_table table;
};

static const char *ctl_record_state(const struct ctl_client_walk *w, int64_t epoch)
{
	if (epoch == w->grace->current_epoch)
		return "current";
	if (w->grace->recovery_epoch != 0 && epoch == w->grace->recovery_epoch)
		return "reclaimable";
	return "stale";
}

static void ctl_client_json(struct ctl_client_walk *w, const struct nsr_record *rec,
			    const char *id, const char *hex, const char *hash)
{
	char first[32], last[32];

	json_separator(stdout, &w->first);
	printf("    {\"epoch\": %" PRId64 ", \"state\": ", rec->epoch);
	json_string(stdout, ctl_record_state(w, rec->epoch));
	fputs(", \"id\": ", stdout);
	json_string(stdout, id);
	fputs(", \"id_hex\": ", stdout);
	json_string(stdout, hex);
	fputs(", \"princhash\": ", stdout);
	json_string_or_null(stdout, strcmp(hash, "-") ? hash : NULL);
	fputs(", \"first_seen\": ", stdout);
	json_string_or_null(stdout, rec->first_seen ? ctl_format_time(rec->first_seen, first)
						     : NULL);
	fputs(", \"last_seen\": ", stdout);
	json_string_or_null(stdout, rec->last_seen ? ctl_format_time(rec->last_seen, last) : NULL);
	fputs(", \"address\": ", stdout);
	json_string_or_null(stdout, rec->address);
	fputs(", \"minor_version\": ", stdout);
	ctl_print_int_or_null(rec->minor_version >= 0, rec->minor_version);
	fputs(", \"principal\": ", stdout);
	json_string_or_null(stdout, rec->principal);
	fputs(", \"impl_id\": ", stdout);
	json_string_or_null(stdout, rec->impl_id);
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

/* Render the id as hex even when it is printable, for the "id_hex" field. */
static const char *ctl_clientid_hex(const uint8_t *id, size_t len, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	char *p = buf;

	*p++ = '0';
	*p++ = 'x';
	for (size_t i = 0; i < len && i < NSR_CLIENTID_MAX; i++) {
		*p++ = digits[id[i] >> 4];
		*p++ = digits[id[i] & 0xf];
	}
	*p = '\0';
	return buf;
}

static int ctl_visit_client(const struct nsr_record *rec, void *ctx)
{
	struct ctl_client_walk *w = ctx;
	char id[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	char hash[2 * NSR_PRINCHASH_LEN + 1];

	nsr_clientid_format(rec->id, rec->id_len, id);
	nsr_princhash_format(rec->princhash, rec->princhash_len, hash);

	if (w->json) {
		ctl_client_json(w, rec, id, ctl_clientid_hex(rec->id, rec->id_len, hex), hash);
		return 0;
	}
	return ctl_client_row(w, rec, id, hash);
}

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
		.json = ctx->opts.json,
		.first = true,
		.table = { .columns = columns, .n_columns = NSR_ARRAY_SIZE(columns) },
	};
	int r;

	r = nsr_store_get_grace(store, &grace);
	if (r < 0)
		return nsr_log_error_errno(r, "read the grace state of %s: %m",
					   nsr_store_path(store));

	if (w.json) {
		fputs("{\n  \"server\": ", stdout);
		json_string(stdout, name);
		fputs(",\n  \"database\": ", stdout);
		json_string(stdout, nsr_store_path(store));
		printf(",\n  \"current_epoch\": %" PRId64 ",\n  \"recovery_epoch\": %" PRId64
		       ",\n  \"clients\": [", grace.current_epoch, grace.recovery_epoch);
	}

	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, ctl_visit_client, &w);

	if (w.json)
		fputs(w.first ? "]\n}\n" : "\n  ]\n}\n", stdout);
	else if (r == 0 && w.table.n_rows == 0)
		printf("Server %s has no clients.\n", name);
	else if (r == 0)
		r = ctl_table_print(&w.table);
	ctl_table_release(&w.table);

	if (r < 0)
		return nsr_log_error_errno(r, "list the clients of %s: %m", nsr_store_path(store));
	return 0;
}

static int ctl_cmd_clients(struct ctl_context *ctx, int argc, char **argv)
{
	const struct nsr_store_options opts = { .read_only = true };
	_cleanup_free_ char *db = NULL, *name = NULL, *stored_name = NULL;
	struct nsr_store *store = NULL;
	int r;

	r = ctl_resolve_server(ctx, argv[0], &db, &name);
	if (r == -ENOENT)
		return CTL_EXIT_NOT_FOUND;
	if (r < 0)
		return CTL_EXIT_FAILURE;

	/* Checked here because the store's own message would suggest creating it. */
	if (access(db, F_OK) < 0 && errno == ENOENT) {
		nsr_log_error("server %s has no database at %s yet; run 'nsrecoveryctl servers' "
			      "to list the known servers", argv[0], db);
		return CTL_EXIT_NOT_FOUND;
	}

	r = nsr_store_open(db, &opts, &store);
	if (r < 0)
		return CTL_EXIT_FAILURE;

	/* Prefer the name the database records over a path given on the command line. */
	if (nsr_store_get_meta(store, "name", &stored_name) == 0) {
		free(name);
		name = NSR_TAKE_PTR(stored_name);
	}

	r = ctl_list_clients(ctx, store, name);
	nsr_store_close(store);
	return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

/* ---- command line -------------------------------------------------------- */

static const struct ctl_command ctl_commands[] = {
	{ "servers", ctl_cmd_servers, "", "list every server with its epochs and client counts" },
	{ "clients", ctl_cmd_clients, "SERVER", "list the clients of SERVER (name or directory)" },
};

static void ctl_help(FILE *f)
{
	fprintf(f,
		"Usage: nsrecoveryctl [OPTIONS] COMMAND [ARGUMENTS]\n"
		"\n"
		"Inspect the NFSv4 client records that nsrecoveryd keeps. Every command opens\n"
		"the databases read-only and is safe while the daemon runs.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NSR_ARRAY_SIZE(ctl_commands); i++)
		fprintf(f, "  %-8s %-8s %s\n", ctl_commands[i].name, ctl_commands[i].args,
			ctl_commands[i].summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -c, --config FILE     read FILE and FILE.d/*.conf (default %s)\n"
		"  -s, --state-dir DIR   read servers under DIR instead of the configured\n"
		"                        state-directory\n"
		"      --json            write JSON instead of a table\n"
		"  -h, --help            show this help and exit\n"
		"      --version         show the version and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 invalid command line, 3 server not found.\n",
		NSR_CONF_DEFAULT_PATH);
}

enum {
	CTL_OPT_JSON = 0x100,
	CTL_OPT_VERSION,
};

/* Returns -1 to go on, or an exit code. */
static int ctl_parse_options(int argc, char **argv, struct ctl_options *opts)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, CTL_OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, CTL_OPT_VERSION },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config = optarg;
			break;
		case 's':
			opts->state_dir = optarg;
			break;
		case CTL_OPT_JSON:
			opts->json = true;
			break;
		case 'h':
			ctl_help(stdout);
			return CTL_EXIT_OK;
		case CTL_OPT_VERSION:
			printf("nsrecoveryctl %s\n", NSR_VERSION);
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "Run 'nsrecoveryctl --help' for the options.\n");
			return CTL_EXIT_USAGE;
		}
	}
	return -1;
}

static int ctl_load_settings(struct ctl_context *ctx)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	const char *path = ctx->opts.config ? ctx->opts.config : NSR_CONF_DEFAULT_PATH;
	int r;

	r = nsr_conf_new(&conf);
	if (r < 0)
		return nsr_log_error_errno(r, "load the configuration: %m");

	/* Only the default file may be missing: a file named with -c must exist. */
	r = nsr_conf_load_with_dropins(conf, path, ctx->opts.config ? 0 : NSR_CONF_MISSING_OK);
	if (r < 0)
		return r;

	r = nsr_settings_load(&ctx->settings, conf);
	if (r < 0)
		return nsr_log_error_errno(r, "invalid configuration in %s or %s.d; fix the "
					   "values named above", path, path);

	ctx->state_dir = ctx->opts.state_dir ? ctx->opts.state_dir : ctx->settings.state_dir;
	return 0;
}

static const struct ctl_command *ctl_find_command(const char *name)
{
	for (size_t i = 0; i < NSR_ARRAY_SIZE(ctl_commands); i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

/* The number of arguments a command takes: one per word of its synopsis. */
static int ctl_command_arity(const struct ctl_command *cmd)
{
	int n = 0;

	for (const char *p = cmd->args; *p; p++)
		if (*p != ' ' && (p == cmd->args || p[-1] == ' '))
			n++;
	return n;
}

int main(int argc, char **argv)
{
	struct ctl_context ctx = {};
	const struct ctl_command *cmd;
	int r;

	nsr_log_open("nsrecoveryctl", NSR_LOG_STDERR_PLAIN, LOG_WARNING);

	r = ctl_parse_options(argc, argv, &ctx.opts);
	if (r >= 0)
		return r;

	if (optind >= argc) {
		ctl_help(stderr);
		return CTL_EXIT_USAGE;
	}

	cmd = ctl_find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "nsrecoveryctl: unknown command '%s'; run 'nsrecoveryctl --help' "
			"for the list of commands.\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	if (argc - optind - 1 != ctl_command_arity(cmd)) {
		fprintf(stderr, "nsrecoveryctl: usage: nsrecoveryctl [OPTIONS] %s%s%s\n",
			cmd->name, cmd->args[0] ? " " : "", cmd->args);
		return CTL_EXIT_USAGE;
	}

	if (ctl_load_settings(&ctx) < 0) {
		nsr_settings_release(&ctx.settings);
		return CTL_EXIT_FAILURE;
	}

	r = cmd->run(&ctx, argc - optind - 1, argv + optind + 1);
	nsr_settings_release(&ctx.settings);
	return r;
}
