/* nsrecoveryctl.c: the nsrecoveryd command-line tool: options and the command table. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "nsr-conf.h"
#include "nsr-config.h"
#include "nsr-log.h"
#include "nsr-settings.h"
#include "nsr-store.h"

static const struct ctl_command ctl_commands[] = {
	{ "servers", ctl_cmd_servers, "", 0,
	  "list every server with its epochs, client counts, findings and owner" },
	{ "clients", ctl_cmd_clients, "SERVER", CTL_OPT_SINCE | CTL_OPT_PRINCIPAL | CTL_OPT_ADDRESS,
	  "list the clients of SERVER (name or directory)" },
	{ "events", ctl_cmd_events, "SERVER", CTL_OPT_SINCE, "list the audit events of SERVER" },
	{ "show", ctl_cmd_show, "SERVER CLIENT", 0,
	  "show one client: its records in every epoch, events and findings" },
	{ "audit", ctl_cmd_audit, "SERVER", CTL_OPT_SINCE,
	  "list audit findings: shared client ids and scope changes" },
	{ "forget", ctl_cmd_forget, "SERVER CLIENT", CTL_OPT_YES | CTL_OPT_FORCE,
	  "remove CLIENT from every epoch of SERVER (writes)" },
	{ "export", ctl_cmd_export, "SERVER", CTL_OPT_EVENTS,
	  "write SERVER's grace state and records as JSON" },
	{ "import", ctl_cmd_import, "SERVER FILE", CTL_OPT_CREATE,
	  "merge the records of an export FILE into SERVER (writes)" },
	{ "import-legacy", ctl_cmd_import_legacy, "SERVER FORMAT PATH", CTL_OPT_YES,
	  "import nfsdcld, nfsdcltrack or v4recovery clients (writes with --yes)" },
	{ "check", ctl_cmd_check, "", 0,
	  "verify the integrity and schema version of every database" },
	{ "owner", ctl_cmd_owner, "SERVER", CTL_OPT_NODE,
	  "show which node owns SERVER's database" },
	{ "takeover", ctl_cmd_takeover, "SERVER", CTL_OPT_NODE | CTL_OPT_LEASE,
	  "make a node own SERVER now, fencing the old owner (writes)" },
	{ "release", ctl_cmd_release, "SERVER", CTL_OPT_NODE,
	  "give up a node's ownership of SERVER (writes)" },
};

static void ctl_help(FILE *f)
{
	fprintf(f,
		"Usage: nsrecoveryctl [OPTIONS] COMMAND [ARGUMENTS] [COMMAND OPTIONS]\n"
		"\n"
		"Inspect and manage the NFSv4 client records that nsrecoveryd keeps. Commands\n"
		"marked (writes) open the database read-write; SQLite's locking makes that\n"
		"safe while the daemon runs. The others open it read-only.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < NSR_ARRAY_SIZE(ctl_commands); i++)
		fprintf(f, "  %s%s%s\n      %s\n", ctl_commands[i].name,
			ctl_commands[i].args[0] ? " " : "", ctl_commands[i].args,
			ctl_commands[i].summary);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -c, --config FILE     read FILE and FILE.d/*.conf (default %s)\n"
		"  -s, --state-dir DIR   read servers under DIR instead of the configured\n"
		"                        state-directory\n"
		"      --json            write JSON instead of a table\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n"
		"\n"
		"Command options:\n"
		"      --since TIME      clients, events, audit: only entries at or after TIME:\n"
		"                        ISO 8601 (UTC unless a zone is given), @SECONDS,\n"
		"                        or an age such as 90s, 15m, 1h, 2d, 1w\n"
		"      --principal NAME  clients: only clients with this principal\n"
		"      --address ADDR    clients: only clients with this address\n"
		"      --events          export: include the audit events\n"
		"  -y, --yes             forget: do not ask for confirmation (required when\n"
		"                        standard input is not a terminal)\n"
		"                        import-legacy: write instead of only reporting\n"
		"      --force           forget: also during a grace period\n"
		"      --node NODE       owner, takeover, release: the node id (default: the\n"
		"                        configured node-id)\n"
		"      --lease SECONDS   takeover: the lease length, %d to %d (default:\n"
		"                        ownership-lease)\n"
		"      --create          import: create SERVER when it does not exist\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 invalid command line, 3 server or client\n"
		"not found, 4 check found a problem, 5 owner --node: not owned by NODE.\n",
		NSR_CONF_DEFAULT_PATH, NSR_SETTINGS_OWNERSHIP_LEASE_MIN,
		NSR_SETTINGS_OWNERSHIP_LEASE_MAX);
}

enum {
	CTL_LONG_JSON = 0x100,
	CTL_LONG_SINCE,
	CTL_LONG_PRINCIPAL,
	CTL_LONG_ADDRESS,
	CTL_LONG_FORCE,
	CTL_LONG_EVENTS,
	CTL_LONG_NODE,
	CTL_LONG_LEASE,
	CTL_LONG_CREATE,
};

/* Returns -1 to go on, or an exit code. Stops at the command name. */
static int ctl_parse_options(int argc, char **argv, struct ctl_options *opts)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, CTL_LONG_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "+c:s:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config = optarg;
			break;
		case 's':
			opts->state_dir = optarg;
			break;
		case CTL_LONG_JSON:
			opts->json = true;
			break;
		case 'h':
			ctl_help(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("nsrecoveryctl %s\n", NSR_VERSION);
			return CTL_EXIT_OK;
		default:
			fprintf(stderr, "Run 'nsrecoveryctl --help' for the options.\n");
			return CTL_EXIT_USAGE;
		}
	}
	return -1;
}

static int ctl_usage_error(const struct ctl_command *cmd)
{
	fprintf(stderr, "nsrecoveryctl: usage: nsrecoveryctl [OPTIONS] %s%s%s; run "
		"'nsrecoveryctl --help' for its options\n", cmd->name, cmd->args[0] ? " " : "",
		cmd->args);
	return CTL_EXIT_USAGE;
}

/* The rule of nsr_store_acquire(): 1 to 255 printable ASCII characters without blanks. */
static bool ctl_node_id_valid(const char *node)
{
	size_t n = strlen(node);

	if (n == 0 || n > NSR_OWNER_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)node[i] <= 0x20 || (unsigned char)node[i] >= 0x7f)
			return false;
	return true;
}

/* Apply one command option; returns -1 to go on, or an exit code. */
static int ctl_apply_command_option(const struct ctl_command *cmd, int c, const char *arg,
				    struct ctl_options *opts)
{
	char *end;
	long long n;

	switch (c) {
	case CTL_LONG_SINCE:
		if (ctl_parse_time(arg, time(NULL), &opts->since) < 0) {
			fprintf(stderr, "nsrecoveryctl: invalid --since '%s': give ISO 8601 such "
				"as 2024-05-01T12:00:00Z, @SECONDS, or an age such as 1h or 2d\n",
				arg);
			return CTL_EXIT_USAGE;
		}
		opts->since_set = true;
		return -1;
	case CTL_LONG_PRINCIPAL:
		opts->principal = arg;
		return -1;
	case CTL_LONG_ADDRESS:
		opts->address = arg;
		return -1;
	case 'y':
		opts->yes = true;
		return -1;
	case CTL_LONG_FORCE:
		opts->force = true;
		return -1;
	case CTL_LONG_EVENTS:
		opts->events = true;
		return -1;
	case CTL_LONG_NODE:
		if (!ctl_node_id_valid(arg)) {
			fprintf(stderr, "nsrecoveryctl: invalid --node '%s': give 1 to %d printable "
				"ASCII characters without blanks, as in the node-id setting\n", arg,
				NSR_OWNER_NODE_ID_MAX);
			return CTL_EXIT_USAGE;
		}
		opts->node = arg;
		return -1;
	case CTL_LONG_LEASE:
		errno = 0;
		n = strtoll(arg, &end, 10);
		if (errno || end == arg || *end || n < NSR_SETTINGS_OWNERSHIP_LEASE_MIN ||
		    n > NSR_SETTINGS_OWNERSHIP_LEASE_MAX) {
			fprintf(stderr, "nsrecoveryctl: invalid --lease '%s': give seconds from %d "
				"to %d, the range of the ownership-lease setting\n", arg,
				NSR_SETTINGS_OWNERSHIP_LEASE_MIN, NSR_SETTINGS_OWNERSHIP_LEASE_MAX);
			return CTL_EXIT_USAGE;
		}
		opts->lease = n;
		return -1;
	case CTL_LONG_CREATE:
		opts->create = true;
		return -1;
	case CTL_LONG_JSON:
		opts->json = true;
		return -1;
	case 'h':
		ctl_help(stdout);
		return CTL_EXIT_OK;
	default:
		return ctl_usage_error(cmd);
	}
}

/* The option's CTL_OPT_* flag, or 0 for --json and --help, which every command accepts. */
static unsigned int ctl_option_flag(int c)
{
	switch (c) {
	case CTL_LONG_SINCE:
		return CTL_OPT_SINCE;
	case CTL_LONG_PRINCIPAL:
		return CTL_OPT_PRINCIPAL;
	case CTL_LONG_ADDRESS:
		return CTL_OPT_ADDRESS;
	case 'y':
		return CTL_OPT_YES;
	case CTL_LONG_FORCE:
		return CTL_OPT_FORCE;
	case CTL_LONG_EVENTS:
		return CTL_OPT_EVENTS;
	case CTL_LONG_NODE:
		return CTL_OPT_NODE;
	case CTL_LONG_LEASE:
		return CTL_OPT_LEASE;
	case CTL_LONG_CREATE:
		return CTL_OPT_CREATE;
	default:
		return 0;
	}
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

/*
 * Parse the options of @cmd, which may come before or after its arguments.
 * @argv[0] is the command name. Returns -1 to go on, with the positional
 * arguments moved to argv[*first..argc-1], or an exit code.
 */
static int ctl_parse_command(const struct ctl_command *cmd, int argc, char **argv,
			     struct ctl_options *opts, int *first)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, CTL_LONG_SINCE },
		{ "principal", required_argument, NULL, CTL_LONG_PRINCIPAL },
		{ "address", required_argument, NULL, CTL_LONG_ADDRESS },
		{ "yes", no_argument, NULL, 'y' },
		{ "force", no_argument, NULL, CTL_LONG_FORCE },
		{ "events", no_argument, NULL, CTL_LONG_EVENTS },
		{ "node", required_argument, NULL, CTL_LONG_NODE },
		{ "lease", required_argument, NULL, CTL_LONG_LEASE },
		{ "create", no_argument, NULL, CTL_LONG_CREATE },
		{ "json", no_argument, NULL, CTL_LONG_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c, r, index;

	/* 0 makes GNU getopt start over on the new vector. */
	optind = 0;
	index = -1;
	while ((c = getopt_long(argc, argv, "yh", longopts, &index)) != -1) {
		unsigned int flag = ctl_option_flag(c);

		if (c == '?' || c == ':')
			return ctl_usage_error(cmd);

		/* Only a long option sets @index; -y is the one short command option. */
		if (flag && !(cmd->options & flag)) {
			fprintf(stderr, "nsrecoveryctl: %s does not take the option --%s\n",
				cmd->name, index >= 0 ? longopts[index].name : "yes");
			return ctl_usage_error(cmd);
		}
		index = -1;
		r = ctl_apply_command_option(cmd, c, optarg, opts);
		if (r >= 0)
			return r;
	}

	if (argc - optind != ctl_command_arity(cmd))
		return ctl_usage_error(cmd);
	*first = optind;
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

int main(int argc, char **argv)
{
	struct ctl_context ctx = {};
	const struct ctl_command *cmd;
	int first = 0, r;

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

	argc -= optind;
	argv += optind;
	r = ctl_parse_command(cmd, argc, argv, &ctx.opts, &first);
	if (r >= 0)
		return r;

	if (ctl_load_settings(&ctx) < 0) {
		nsr_settings_release(&ctx.settings);
		return CTL_EXIT_FAILURE;
	}

	r = cmd->run(&ctx, argc - first, argv + first);
	nsr_settings_release(&ctx.settings);
	return r;
}
