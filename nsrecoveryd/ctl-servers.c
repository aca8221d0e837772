/* ctl-servers.c: nsrecoveryctl: finding, reading and listing server databases. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "nsr-audit.h"
#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-serverdir.h"

void ctl_server_list_release(struct ctl_server_list *l)
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
 * With @quiet the store's messages about them are not written.
 */
static int ctl_server_read(struct ctl_server *s, bool quiet)
{
	const struct nsr_store_options opts = { .read_only = true };
	struct nsr_store *store = NULL;
	char *name = NULL;
	int log_level = nsr_log_get_max_level();
	int r;

	if (quiet)
		ctl_log_quiet();

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
	if (s->error == 0)
		s->error = nsr_store_count_findings(store, &s->findings);
	if (s->error == 0) {
		r = nsr_store_get_owner(store, &s->owner);
		s->has_owner = r == 0;
		if (r < 0 && r != -ENOENT)
			s->error = r;
	}
	nsr_store_close(store);

name:
	nsr_log_set_max_level(log_level);
	if (!name && s->config_server)
		name = strdup(s->config_server);
	if (!name)
		name = strdup(ctl_basename(s->dir));
	if (!name)
		return -ENOMEM;
	s->name = name;
	return 0;
}

int ctl_collect_servers(struct ctl_context *ctx, struct ctl_server_list *l, bool quiet)
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
		r = ctl_server_read(&l->servers[i], quiet);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * The "user version" that SQLite stores at offset 60 of the database header,
 * which nsrecoveryd uses as its schema version, or -1 when it cannot be read.
 * NOTE: a version written since the last checkpoint is still in the -wal
 * file, so this may return the version before a migration.
 */
static int ctl_peek_schema_version(const char *db_path)
{
	_cleanup_close_ int fd = -1;
	uint8_t be[4];

	fd = open(db_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, be, sizeof(be), 60) != (ssize_t)sizeof(be))
		return -1;
	return (int)((uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3]);
}

const char *ctl_problem_text(int error, const char *db_path, char *buf, size_t size)
{
	int version;

	switch (error) {
	case 0:
		return NULL;
	case -ENOENT:
		return "no database yet";
	case -EBADMSG:
		return "not a usable database: damaged, or not an nsrecoveryd database";
	case -EPROTO:
		version = ctl_peek_schema_version(db_path);
		if (version == 0)
			return "no schema yet: start nsrecoveryd for this server once to create it";
		if (version > nsr_store_schema_version_latest()) {
			snprintf(buf, size, "written by a newer nsrecoveryd (schema %d; this "
				 "program reads up to %d)", version,
				 nsr_store_schema_version_latest());
			return buf;
		}
		return "written by a newer nsrecoveryd";
	case -EACCES:
	case -EPERM:
		return "permission denied: not readable by this user";
	case -ELOOP:
		return "the database path is a symbolic link";
	case -EROFS:
		return "on a read-only file system with unsaved changes in its -wal file";
	case -EIO:
		return "input/output error while reading it";
	default:
		snprintf(buf, size, "cannot be read: %s", strerror(-error));
		return buf;
	}
}

static const char *ctl_server_problem(const struct ctl_server *s, char *buf, size_t size)
{
	return ctl_problem_text(s->error, s->db_path, buf, size);
}

static void ctl_servers_json(const struct ctl_context *ctx, const struct ctl_server_list *l)
{
	bool first = true;

	fputs("{\n  \"state_directory\": ", stdout);
	ctl_json_write(stdout, ctx->state_dir);
	fputs(",\n  \"servers\": [", stdout);

	for (size_t i = 0; i < l->n; i++) {
		const struct ctl_server *s = &l->servers[i];
		bool ok = s->error == 0;
		char problem[128];

		ctl_json_separator(stdout, &first);
		fputs("    {\"name\": ", stdout);
		ctl_json_write(stdout, s->name);
		fputs(", \"directory\": ", stdout);
		ctl_json_write(stdout, s->dir);
		fputs(", \"database\": ", stdout);
		ctl_json_write(stdout, s->db_path);
		fputs(", \"netns\": ", stdout);
		ctl_json_write_or_null(stdout, s->netns);
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
		fputs(", \"findings\": ", stdout);
		ctl_print_int_or_null(ok, s->findings);
		fputs(", \"owner\": ", stdout);
		ctl_json_write_or_null(stdout, ok && s->has_owner ? s->owner.node_id : NULL);
		fputs(", \"error\": ", stdout);
		ctl_json_write_or_null(stdout, ctl_server_problem(s, problem, sizeof(problem)));
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
		{ "FINDINGS", CTL_COLUMN_OPTIONAL | CTL_COLUMN_RIGHT },
		{ "OWNER", CTL_COLUMN_OPTIONAL },
		{ "NETNS", CTL_COLUMN_OPTIONAL },
		{ "DATABASE", 0 },
		{ "PROBLEM", CTL_COLUMN_OPTIONAL },
	};
	struct ctl_table t = { .columns = columns, .n_columns = NSR_ARRAY_SIZE(columns) };
	int r = 0;

	for (size_t i = 0; i < l->n && r == 0; i++) {
		const struct ctl_server *s = &l->servers[i];
		char epoch[24], recovery[24], clients[24], reclaimable[24], findings[24];
		char problem[128];
		bool ok = s->error == 0;
		const char *row[NSR_ARRAY_SIZE(columns)];

		snprintf(epoch, sizeof(epoch), "%" PRId64, s->grace.current_epoch);
		snprintf(recovery, sizeof(recovery), "%" PRId64, s->grace.recovery_epoch);
		snprintf(clients, sizeof(clients), "%" PRIu64, s->clients);
		snprintf(reclaimable, sizeof(reclaimable), "%" PRIu64, s->reclaimable);
		snprintf(findings, sizeof(findings), "%" PRIu64, s->findings);

		row[0] = s->name;
		row[1] = ok ? epoch : NULL;
		row[2] = ok ? recovery : NULL;
		row[3] = !ok ? NULL : s->grace.recovery_epoch ? "yes" : "no";
		row[4] = ok ? clients : NULL;
		row[5] = ok ? reclaimable : NULL;
		row[6] = ok && s->findings ? findings : NULL;
		row[7] = ok && s->has_owner ? s->owner.node_id : NULL;
		row[8] = s->netns;
		row[9] = s->db_path;
		row[10] = ctl_server_problem(s, problem, sizeof(problem));
		r = ctl_table_add_row(&t, row);
	}

	if (r == 0)
		r = ctl_table_print(&t);
	ctl_table_release(&t);
	return r;
}

int ctl_cmd_servers(struct ctl_context *ctx, int argc, char **argv)
{
	struct ctl_server_list l = {};
	int r;

	/* The store logs the detailed reason of each problem that the table names. */
	r = ctl_collect_servers(ctx, &l, false);
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

/*
 * Find the database of @arg: a server directory or database file when @arg
 * contains a '/', otherwise a server name. Returns 0, -ENOENT (logged, for
 * exit code 3), or another negative errno.
 */
int ctl_resolve_server(struct ctl_context *ctx, const char *arg, char **ret_db,
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

	/* Opening the server reports its own problems; the other servers' do not matter here. */
	r = ctl_collect_servers(ctx, &l, true);
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


int ctl_open_server(struct ctl_context *ctx, const char *arg, bool writable,
		    struct nsr_store **ret, char **ret_name)
{
	const struct nsr_store_options opts = {
		.read_only = !writable,
		.client_lease_time = ctx->settings.audit_lease_time,
	};
	_cleanup_free_ char *db = NULL, *name = NULL, *stored_name = NULL;
	int log_level, r;

	r = ctl_resolve_server(ctx, arg, &db, &name);
	if (r < 0)
		return r;

	/* Checked here because the store's own message would suggest creating it. */
	if (access(db, F_OK) < 0 && errno == ENOENT)
		return nsr_log_error_errno(-ENOENT, "server %s has no database at %s yet; run "
					   "'nsrecoveryctl servers' to list the known servers",
					   arg, db);

	r = nsr_store_open(db, &opts, ret);
	if (r < 0)
		return r == -ENOENT ? -EIO : r;

	/*
	 * Prefer the name the database records over a path given on the command
	 * line. Without one the argument serves, and a damaged file fails again,
	 * with its message, at the command's first read.
	 */
	log_level = ctl_log_quiet();
	r = nsr_store_get_meta(*ret, "name", &stored_name);
	nsr_log_set_max_level(log_level);
	if (r == 0) {
		free(name);
		name = NSR_TAKE_PTR(stored_name);
	}
	*ret_name = NSR_TAKE_PTR(name);
	return 0;
}

int ctl_read_failed(int r, const char *action, const char *server)
{
	if (r == -ENOMEM)
		nsr_log_error_errno(r, "%s of server %s: %m", action, server);
	return CTL_EXIT_FAILURE;
}

int ctl_exit_code(int r)
{
	if (r >= 0)
		return CTL_EXIT_OK;
	return r == -ENOENT ? CTL_EXIT_NOT_FOUND : CTL_EXIT_FAILURE;
}

const char *ctl_epoch_state(const struct nsr_grace_state *grace, int64_t epoch)
{
	if (epoch == grace->current_epoch)
		return "current";
	if (grace->recovery_epoch != 0 && epoch == grace->recovery_epoch)
		return "reclaimable";
	return "stale";
}

const char *ctl_owner_state(const struct nsr_owner *owner, int64_t now)
{
	if (owner->expires == 0)
		return "released";
	return owner->expires > now ? "held" : "expired";
}
