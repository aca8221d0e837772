/* nsr-settings.c: the daemon's typed settings, read from a struct nsr_conf. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nsr-config.h"
#include "nsr-import.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-settings.h"

#define SETTINGS_DEFAULT_WORKERS 2
#define SETTINGS_DEFAULT_MAX_BATCH 256
#define SETTINGS_DEFAULT_NETNS_DIR "/run/netns"
#define SETTINGS_DEFAULT_RETENTION_DAYS 90
#define SETTINGS_DEFAULT_RETENTION_ROWS 100000
#define SETTINGS_DEFAULT_OWNERSHIP_LEASE 30
#define SETTINGS_DEFAULT_LEASE_TIME 90	/* nfsd's default lease-time */

static const char *const settings_main_keys[] = {
	"state-directory", "workers", "max-batch", "transport", "netns-directory", "node-id",
	"event-retention-days", "event-retention-rows", "debug",
	"ownership-lease", "ownership-takeover", "audit-lease-time", NULL,
};

static const char *const settings_netns_keys[] = {
	"path", "server", "state-directory", "transport", "import-from", NULL,
};

static const char *const transport_names[] = {
	[NSR_TRANSPORT_AUTO] = "auto",
	[NSR_TRANSPORT_GENL] = "genl",
	[NSR_TRANSPORT_PIPE] = "pipe",
};

const char *nsr_transport_name(enum nsr_transport transport)
{
	if ((size_t)transport >= NSR_ARRAY_SIZE(transport_names))
		return "unknown";
	return transport_names[transport];
}

int nsr_transport_from_string(const char *text, enum nsr_transport *ret)
{
	for (size_t i = 0; i < NSR_ARRAY_SIZE(transport_names); i++) {
		if (strcasecmp(text, transport_names[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

void nsr_settings_release(struct nsr_settings *s)
{
	free(s->state_dir);
	free(s->netns_dir);
	free(s->node_id);

	for (size_t i = 0; i < s->n_netns; i++) {
		free(s->netns[i].name);
		free(s->netns[i].path);
		free(s->netns[i].server);
		free(s->netns[i].state_dir);
		free(s->netns[i].import_from);
		free(s->netns[i].source);
	}
	free(s->netns);
	memset(s, 0, sizeof(*s));
}

const struct nsr_netns_settings *nsr_settings_find_netns(const struct nsr_settings *s,
							 const char *name)
{
	for (size_t i = 0; i < s->n_netns; i++)
		if (strcmp(s->netns[i].name, name) == 0)
			return &s->netns[i];
	return NULL;
}

/*
 * Read an absolute path. An unset key gives a copy of @def, which may be
 * NULL. With @empty_ok, an empty value gives NULL.
 */
static int settings_get_path(const struct nsr_conf *conf, const char *section,
			     const char *argument, const char *key, const char *def,
			     bool empty_ok, char **ret)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, section, argument, key);
	const char *value = e ? e->value : def;

	*ret = NULL;
	if (e && e->value[0] == '\0' && empty_ok)
		return 0;
	if (e && e->value[0] != '/')
		return nsr_conf_invalid_value(e, "expected an absolute path%s",
					      empty_ok ? ", or nothing to turn this off" : "");
	if (e && strlen(e->value) >= PATH_MAX)
		return nsr_conf_invalid_value(e, "the path is longer than %d bytes", PATH_MAX - 1);

	if (!value)
		return 0;
	*ret = strdup(value);
	return *ret ? 0 : -ENOMEM;
}

static int settings_get_transport(const struct nsr_conf *conf, const char *section,
				  const char *argument, enum nsr_transport def,
				  enum nsr_transport *ret)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, section, argument, "transport");

	*ret = def;
	if (!e)
		return 0;
	if (nsr_transport_from_string(e->value, ret) < 0)
		return nsr_conf_invalid_value(e, "expected auto, genl or pipe");
	return 0;
}

static int settings_get_uint(const struct nsr_conf *conf, const char *key, int64_t def,
			     int64_t min, int64_t max, unsigned int *ret)
{
	int64_t v;
	int r;

	r = nsr_conf_get_int(conf, NSR_CONF_SECTION, NULL, key, def, min, max, &v);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

static bool settings_node_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > NSR_SETTINGS_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return false;
	return true;
}

static int settings_get_node_id(const struct nsr_conf *conf, char **ret)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, NSR_CONF_SECTION, NULL, "node-id");
	char host[HOST_NAME_MAX + 1] = "";

	if (e) {
		if (!settings_node_id_valid(e->value))
			return nsr_conf_invalid_value(e, "expected 1 to %d printable ASCII "
						      "characters without blanks",
						      NSR_SETTINGS_NODE_ID_MAX);
		*ret = strdup(e->value);
		return *ret ? 0 : -ENOMEM;
	}

	if (gethostname(host, sizeof(host) - 1) < 0)
		return nsr_log_error_errno(-errno, "node-id is not set in [%s] and the host "
					   "name is unknown: %m; set node-id", NSR_CONF_SECTION);
	if (!settings_node_id_valid(host))
		return nsr_log_error_errno(-EINVAL, "node-id is not set in [%s] and the host "
					   "name '%s' cannot stand in for it; set node-id",
					   NSR_CONF_SECTION, host);
	*ret = strdup(host);
	return *ret ? 0 : -ENOMEM;
}

/*
 * The default audit window is nfsd's lease time: lease-time in [nfsd] when
 * it is a valid number, which nfsd itself checks, else nfsd's default.
 */
static int64_t settings_nfsd_lease_time(const struct nsr_conf *conf)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, "nfsd", NULL, "lease-time");
	char *end;
	long v;

	if (!e)
		return SETTINGS_DEFAULT_LEASE_TIME;
	errno = 0;
	v = strtol(e->value, &end, 10);
	if (errno || end == e->value || *end || v < 1 || v > NSR_SETTINGS_LEASE_TIME_MAX)
		return SETTINGS_DEFAULT_LEASE_TIME;
	return v;
}

/* Keep the first error, but run every step so that each invalid value is logged. */
static void settings_merge_error(int *acc, int r)
{
	if (r < 0 && *acc == 0)
		*acc = r;
	if (r == -ENOMEM)
		*acc = r;
}

static int settings_load_main(struct nsr_settings *s, const struct nsr_conf *conf)
{
	const char *sec = NSR_CONF_SECTION;
	int64_t v;
	int acc = 0, r;

	r = settings_get_path(conf, sec, NULL, "state-directory", NSR_STATEDIR, false,
			      &s->state_dir);
	settings_merge_error(&acc, r);

	r = settings_get_uint(conf, "workers", SETTINGS_DEFAULT_WORKERS, 1,
			      NSR_SETTINGS_WORKERS_MAX, &s->workers);
	settings_merge_error(&acc, r);

	r = settings_get_uint(conf, "max-batch", SETTINGS_DEFAULT_MAX_BATCH, 1,
			      NSR_SETTINGS_MAX_BATCH_MAX, &s->max_batch);
	settings_merge_error(&acc, r);

	r = settings_get_transport(conf, sec, NULL, NSR_TRANSPORT_AUTO, &s->transport);
	settings_merge_error(&acc, r);

	r = settings_get_path(conf, sec, NULL, "netns-directory", SETTINGS_DEFAULT_NETNS_DIR,
			      true, &s->netns_dir);
	settings_merge_error(&acc, r);

	r = settings_get_node_id(conf, &s->node_id);
	settings_merge_error(&acc, r);

	r = nsr_conf_get_int(conf, sec, NULL, "event-retention-days",
			     SETTINGS_DEFAULT_RETENTION_DAYS, 0, NSR_SETTINGS_RETENTION_DAYS_MAX, &v);
	settings_merge_error(&acc, r);
	s->event_retention_days = v;

	r = nsr_conf_get_int(conf, sec, NULL, "event-retention-rows",
			     SETTINGS_DEFAULT_RETENTION_ROWS, 0, NSR_SETTINGS_RETENTION_ROWS_MAX, &v);
	settings_merge_error(&acc, r);
	s->event_retention_rows = v;

	r = nsr_conf_get_bool(conf, sec, NULL, "debug", false, &s->debug);
	settings_merge_error(&acc, r);

	r = nsr_conf_get_int(conf, sec, NULL, "ownership-lease", SETTINGS_DEFAULT_OWNERSHIP_LEASE,
			     NSR_SETTINGS_OWNERSHIP_LEASE_MIN, NSR_SETTINGS_OWNERSHIP_LEASE_MAX,
			     &s->ownership_lease);
	settings_merge_error(&acc, r);

	r = nsr_conf_get_bool(conf, sec, NULL, "ownership-takeover", false,
			      &s->ownership_takeover);
	settings_merge_error(&acc, r);

	r = nsr_conf_get_int(conf, sec, NULL, "audit-lease-time", settings_nfsd_lease_time(conf),
			     1, NSR_SETTINGS_LEASE_TIME_MAX, &s->audit_lease_time);
	settings_merge_error(&acc, r);

	return acc;
}

static bool settings_netns_name_valid(const char *name)
{
	return name[0] != '\0' && strlen(name) <= NAME_MAX && !strchr(name, '/') &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int settings_get_server(const struct nsr_conf *conf, const char *name, char **ret)
{
	const struct nsr_conf_entry *e;

	*ret = NULL;
	e = nsr_conf_find(conf, NSR_CONF_SECTION_NETNS, name, "server");
	if (!e)
		return 0;
	if (nsr_server_name_check(e->value) < 0)
		return nsr_conf_invalid_value(e, "a server name is 1 to 255 printable ASCII "
					      "characters and not \".\" or \"..\"");
	*ret = strdup(e->value);
	return *ret ? 0 : -ENOMEM;
}

/* import-from = FORMAT:PATH, with a format nsr_import_read() knows and an absolute path. */
static int settings_get_import_from(const struct nsr_conf *conf, const char *name, char **ret)
{
	const struct nsr_conf_entry *e;
	enum nsr_import_format format;
	_cleanup_free_ char *kind = NULL;
	const char *colon;

	*ret = NULL;
	e = nsr_conf_find(conf, NSR_CONF_SECTION_NETNS, name, "import-from");
	if (!e)
		return 0;

	colon = strchr(e->value, ':');
	kind = colon ? strndup(e->value, colon - e->value) : NULL;
	if (colon && !kind)
		return -ENOMEM;
	if (!colon || nsr_import_format_from_string(kind, &format) < 0 || colon[1] != '/')
		return nsr_conf_invalid_value(e, "expected nfsdcld:PATH, nfsdcltrack:PATH or "
					      "v4recovery:PATH with an absolute PATH, such as "
					      "nfsdcld:/var/lib/nfs/nfsdcld");
	*ret = strdup(e->value);
	return *ret ? 0 : -ENOMEM;
}

/* Fill @ns from [nsrecoveryd-netns "NAME"]; @ns->name is already set. */
static int settings_load_netns(struct nsr_netns_settings *ns, const struct nsr_settings *s,
			       const struct nsr_conf *conf)
{
	const char *sec = NSR_CONF_SECTION_NETNS;
	_cleanup_free_ char *def_path = NULL;
	int acc = 0, r;

	if (asprintf(&def_path, "%s/%s", s->netns_dir ? s->netns_dir : SETTINGS_DEFAULT_NETNS_DIR,
		     ns->name) < 0)
		return -ENOMEM;

	r = settings_get_path(conf, sec, ns->name, "path", def_path, false, &ns->path);
	settings_merge_error(&acc, r);

	r = settings_get_server(conf, ns->name, &ns->server);
	settings_merge_error(&acc, r);

	r = settings_get_path(conf, sec, ns->name, "state-directory", NULL, false,
			      &ns->state_dir);
	settings_merge_error(&acc, r);

	r = settings_get_transport(conf, sec, ns->name, s->transport, &ns->transport);
	settings_merge_error(&acc, r);

	r = settings_get_import_from(conf, ns->name, &ns->import_from);
	settings_merge_error(&acc, r);

	return acc;
}

struct settings_walk {
	struct nsr_settings *settings;
	const struct nsr_conf *conf;
	int error;
};

static int settings_add_netns(const char *section, const char *argument, const char *source,
			      unsigned int line, void *ctx)
{
	struct settings_walk *w = ctx;
	struct nsr_settings *s = w->settings;
	struct nsr_netns_settings *all, *ns;

	if (!argument) {
		nsr_log_error("%s:%u: [%s] needs a namespace name; write [%s \"NAME\"]", source,
			      line, section, section);
		settings_merge_error(&w->error, -EINVAL);
		return 0;
	}
	if (!settings_netns_name_valid(argument)) {
		nsr_log_error("%s:%u: invalid namespace name \"%s\" in [%s]: a name is a file "
			      "name, without '/', and not \".\" or \"..\"", source, line, argument,
			      section);
		settings_merge_error(&w->error, -EINVAL);
		return 0;
	}

	all = reallocarray(s->netns, s->n_netns + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	s->netns = all;
	ns = &s->netns[s->n_netns];
	*ns = (struct nsr_netns_settings){ .line = line };
	ns->name = strdup(argument);
	ns->source = strdup(source);
	if (!ns->name || !ns->source) {
		free(ns->name);
		free(ns->source);
		return -ENOMEM;
	}
	s->n_netns++;

	settings_merge_error(&w->error, settings_load_netns(ns, s, w->conf));
	return w->error == -ENOMEM ? -ENOMEM : 0;
}

/* Two sections must not share a namespace file or a server directory. */
static int settings_check_duplicates(const struct nsr_settings *s)
{
	int acc = 0;

	for (size_t i = 0; i < s->n_netns; i++) {
		const struct nsr_netns_settings *a = &s->netns[i];

		for (size_t j = 0; j < i; j++) {
			const struct nsr_netns_settings *b = &s->netns[j];

			if (a->path && b->path && strcmp(a->path, b->path) == 0) {
				nsr_log_error("%s:%u: namespaces \"%s\" and \"%s\" (%s:%u) both "
					      "use the namespace file %s; configure each "
					      "namespace once", a->source, a->line, a->name, b->name,
					      b->source, b->line, a->path);
				acc = -EINVAL;
			}
			if (a->state_dir && b->state_dir && strcmp(a->state_dir, b->state_dir) == 0) {
				nsr_log_error("%s:%u: namespaces \"%s\" and \"%s\" (%s:%u) both "
					      "use the state directory %s; give each server its "
					      "own directory", a->source, a->line, a->name, b->name,
					      b->source, b->line, a->state_dir);
				acc = -EINVAL;
			}
		}
	}
	return acc;
}

static int settings_warn_unknown_section(const char *section, const char *argument,
					 const char *source, unsigned int line, void *ctx)
{
	if (strncmp(section, NSR_CONF_SECTION, strlen(NSR_CONF_SECTION)) != 0)
		return 0;

	if (strcmp(section, NSR_CONF_SECTION_NETNS) == 0)
		return 0;
	if (strcmp(section, NSR_CONF_SECTION) == 0) {
		if (argument)
			nsr_log_warning("%s:%u: [%s] takes no argument; ignoring [%s \"%s\"] (did "
					"you mean [%s \"%s\"]?)", source, line, section, section,
					argument, NSR_CONF_SECTION_NETNS, argument);
		return 0;
	}

	nsr_log_warning("%s:%u: unknown section [%s]; ignoring it (the sections are [%s] and "
			"[%s \"NAME\"])", source, line, section, NSR_CONF_SECTION,
			NSR_CONF_SECTION_NETNS);
	return 0;
}

int nsr_settings_load(struct nsr_settings *ret, const struct nsr_conf *conf)
{
	struct nsr_settings s = {};
	struct settings_walk walk = { .settings = &s, .conf = conf };
	int acc, r;

	nsr_conf_foreach_section(conf, NULL, settings_warn_unknown_section, NULL);
	nsr_conf_warn_unknown_keys(conf, NSR_CONF_SECTION, settings_main_keys);
	nsr_conf_warn_unknown_keys(conf, NSR_CONF_SECTION_NETNS, settings_netns_keys);

	acc = settings_load_main(&s, conf);

	r = nsr_conf_foreach_section(conf, NSR_CONF_SECTION_NETNS, settings_add_netns, &walk);
	settings_merge_error(&acc, r);
	settings_merge_error(&acc, walk.error);

	settings_merge_error(&acc, settings_check_duplicates(&s));

	if (acc < 0) {
		nsr_settings_release(&s);
		return acc;
	}
	*ret = s;
	return 0;
}
