/* ctl.h: what the nsrecoveryctl command files share: context, options and output helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "nsr-settings.h"
#include "nsr-store.h"

/* Exit codes; docs/nsrecoveryctl.8 documents them. */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILURE = 1,	/* a configuration, state directory or database error */
	CTL_EXIT_USAGE = 2,	/* invalid command line */
	CTL_EXIT_NOT_FOUND = 3,	/* the named server or client does not exist */
	CTL_EXIT_PROBLEMS = 4,	/* check: a database is damaged or unusable */
	CTL_EXIT_NOT_OWNER = 5,	/* owner --node: another node, or none, owns the server */
};

/* The options a command accepts besides --json and --help; see struct ctl_command. */
enum {
	CTL_OPT_SINCE = 1 << 0,
	CTL_OPT_PRINCIPAL = 1 << 1,
	CTL_OPT_ADDRESS = 1 << 2,
	CTL_OPT_YES = 1 << 3,
	CTL_OPT_FORCE = 1 << 4,
	CTL_OPT_NODE = 1 << 5,
	CTL_OPT_LEASE = 1 << 6,
	CTL_OPT_EVENTS = 1 << 7,
	CTL_OPT_CREATE = 1 << 8,
};

struct ctl_options {
	const char *config;	/* NULL: NSR_CONF_DEFAULT_PATH, which may be missing */
	const char *state_dir;	/* NULL: the configured state-directory */
	bool json;

	/* Command options, valid for the commands that accept them. */
	bool since_set;
	int64_t since;		/* seconds since the Epoch */
	const char *principal;
	const char *address;
	bool yes;
	bool force;
	bool events;
	const char *node;	/* NULL: the configured node-id */
	int64_t lease;		/* 0: the configured ownership-lease */
	bool create;		/* import: create a server that does not exist */
};

struct ctl_context {
	struct ctl_options opts;
	struct nsr_settings settings;
	const char *state_dir;	/* the effective state directory */
};

struct ctl_command {
	const char *name;
	/* @argv holds exactly the positional arguments that @args names. */
	int (*run)(struct ctl_context *ctx, int argc, char **argv);
	const char *args;	/* positional arguments, for the usage line and the count */
	unsigned int options;	/* CTL_OPT_* */
	const char *summary;
};

/* ---- output helpers (ctl-output.c) -------------------------------------- */

/* Write @text as a JSON string. Bytes that are not valid UTF-8 become U+FFFD. */
void ctl_json_write(FILE *f, const char *text);
void ctl_json_write_or_null(FILE *f, const char *text);

/* Write @v, or null when it is not @valid. */
void ctl_print_int_or_null(bool valid, int64_t v);

/* Write ",\n" between members, and "\n" before the first. */
void ctl_json_separator(FILE *f, bool *first);

/* Format seconds since the Epoch as ISO 8601 UTC, or "-" for 0. */
const char *ctl_format_time(int64_t t, char buf[static 32]);

/* Render the id as "0x" and hex even when it is printable. */
const char *ctl_clientid_hex(const uint8_t *id, size_t len, char *buf);

/**
 * ctl_parse_time - parse a TIME argument
 * @text: ISO 8601 ("2024-05-01", "2024-05-01T12:00", "2024-05-01T12:00:00Z",
 *        "2024-05-01 12:00:00+02:00"; no zone means UTC), "@SECONDS" since
 *        the Epoch, or a relative age such as "90s", "15m", "1h", "2d", "1w"
 * @now: the time relative ages count back from
 *
 * Returns 0 or -EINVAL.
 */
int ctl_parse_time(const char *text, int64_t now, int64_t *ret);

/* A JSON string of @text with invalid UTF-8 replaced by U+FFFD, or JSON null for NULL. */
json_t *ctl_json_text(const char *text);

/* A JSON object with "TIME" as ISO 8601 (or null for 0) and "TIME_epoch" as seconds. */
int ctl_json_set_time(json_t *obj, const char *key, int64_t t);

/*
 * Write @root to stdout, indented, with a final newline, and release it.
 * Returns 0, -ENOMEM for a NULL @root, or a logged write error.
 */
int ctl_json_print(json_t *root);

/* A malloc'ed copy of @s for a terminal: control characters become '?'. */
char *ctl_printable(const char *s);

/*
 * Stop writing error messages, for reads whose failures the caller reports
 * itself. Returns the previous level, to restore with nsr_log_set_max_level().
 */
int ctl_log_quiet(void);

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

void ctl_table_release(struct ctl_table *t);

/* Append a row of t->n_columns strings, copied. NULL cells print as "-". */
int ctl_table_add_row(struct ctl_table *t, const char *const *row);

int ctl_table_print(const struct ctl_table *t);

/* ---- servers (ctl-servers.c) -------------------------------------------- */

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
	uint64_t findings;
	bool has_owner;
	struct nsr_owner owner;
};

struct ctl_server_list {
	struct ctl_server *servers;
	size_t n;
};

void ctl_server_list_release(struct ctl_server_list *l);

/**
 * ctl_collect_servers - list every server under the state directory and every configured one
 * @quiet: do not write the store's messages about databases that cannot be read;
 *         each server's error field records them either way
 *
 * Returns 0, or a negative errno (logged) when the state directory cannot be read.
 */
int ctl_collect_servers(struct ctl_context *ctx, struct ctl_server_list *l, bool quiet);

/**
 * ctl_problem_text - describe why a database could not be read, for a PROBLEM column
 * @error: a negative errno of nsr_store_open() or a read, or 0
 * @db_path: the database, whose header is read to name a newer schema version
 * @buf: space for texts that carry a number
 *
 * Returns NULL for 0, otherwise a short phrase. The store logs the detailed reason.
 */
const char *ctl_problem_text(int error, const char *db_path, char *buf, size_t size);

/**
 * ctl_resolve_server - find the database of a SERVER argument
 * @arg: a server name, or a server directory or database file when it contains '/'
 *
 * Returns 0, -ENOENT (logged, for exit code 3), or another negative errno.
 */
int ctl_resolve_server(struct ctl_context *ctx, const char *arg, char **ret_db, char **ret_name);

/**
 * ctl_open_server - resolve @arg and open its database
 * @writable: open read-write, which also migrates the schema
 * @ret_name: set to the malloc'ed name, preferring the one the database records
 *
 * Returns 0, -ENOENT when the server or its database does not exist
 * (logged), or another negative errno (logged).
 */
int ctl_open_server(struct ctl_context *ctx, const char *arg, bool writable,
		    struct nsr_store **ret, char **ret_name);

/* The exit code for an error of ctl_open_server() or the store. */
int ctl_exit_code(int r);

/*
 * Log @r, the failure of a command's reads, unless it was logged already, and
 * return CTL_EXIT_FAILURE. The store and ctl_json_print() log each of their own
 * failures, so only -ENOMEM from the CLI's tables and JSON values is left to
 * log here. An -ENOMEM from the store may then be logged twice.
 */
int ctl_read_failed(int r, const char *action, const char *server);

/* The state of a record's epoch: "current", "reclaimable" or "stale". */
const char *ctl_epoch_state(const struct nsr_grace_state *grace, int64_t epoch);

/* The state of an ownership row: "held", "expired" or "released". */
const char *ctl_owner_state(const struct nsr_owner *owner, int64_t now);

/* ---- commands ------------------------------------------------------------ */

int ctl_cmd_servers(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_clients(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_events(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_show(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_forget(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_audit(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_check(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_export(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_import(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_import_legacy(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_owner(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_takeover(struct ctl_context *ctx, int argc, char **argv);
int ctl_cmd_release(struct ctl_context *ctx, int argc, char **argv);

/* A JSON object for one record, in the export format (docs/export-format.md). */
json_t *ctl_record_json(const struct nsr_record *rec, const struct nsr_grace_state *grace);

/* A JSON object for one audit event, in the export format. */
json_t *ctl_event_json(const struct nsr_event *ev);
