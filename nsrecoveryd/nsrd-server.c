/* nsrd-server.c: virtual servers: identity, database and queue, bound to namespaces. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-audit.h"
#include "nsr-import.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsrd-lease.h"
#include "nsrd-netns.h"
#include "nsrd-server.h"

static struct nsrd_server *server_find(struct nsrd *d, const char *name)
{
	for (struct nsrd_server *s = d->servers; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void server_free(struct nsrd_server *s)
{
	nsr_dispatch_queue_free(s->queue);
	/* No worker uses the store once its queue is freed. */
	if (s->leased)
		nsr_store_release(s->store);
	nsr_store_close(s->store);
	free(s->name);
	free(s->dir);
	free(s->db_path);
	free(s->scope);
	free(s);
}

static void server_unlink(struct nsrd *d, struct nsrd_server *s)
{
	for (struct nsrd_server **p = &d->servers; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			return;
		}
	}
}

/* Pick the server directory: configured for the namespace, or under the state directory. */
static int server_dir(struct nsrd *d, struct nsrd_netns *ns, const char *name, char **ret)
{
	int r;

	if (ns->config && ns->config->state_dir) {
		*ret = strdup(ns->config->state_dir);
		return *ret ? 0 : -ENOMEM;
	}

	r = nsr_serverdir_default(d->settings->state_dir, name, ret);
	if (r < 0)
		return r;
	return nsr_serverdir_create(*ret);
}

/*
 * TODO: this runs on the event loop thread. After an unclean shutdown the
 * store's open reads every page (about 2 s for a million clients with a
 * cold cache), and every namespace waits that long. Opening on a worker
 * would need requests to wait for their server instead.
 */
static int server_open(struct nsrd *d, struct nsrd_netns *ns, const char *name,
		       struct nsrd_server **ret)
{
	struct nsr_store_options opts = {
		.create = true,
		.event_max_age = d->settings->event_retention_days * 86400,
		.event_max_rows = d->settings->event_retention_rows,
		.client_lease_time = d->settings->audit_lease_time,
	};
	struct nsrd_server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return -ENOMEM;
	}

	r = server_dir(d, ns, name, &s->dir);
	if (r < 0)
		goto fail;
	r = nsr_dir_check(s->dir, true);
	if (r < 0)
		goto fail;
	r = nsr_serverdir_db_path(s->dir, &s->db_path);
	if (r < 0)
		goto fail;

	r = nsr_store_open(s->db_path, &opts, &s->store);
	if (r < 0)
		goto fail;
	r = nsrd_server_acquire(d, ns, s);
	if (r < 0)
		goto fail;
	r = nsr_store_set_meta(s->store, "name", name);
	if (r < 0)
		goto fail;
	if (ns->config && ns->config->import_from)
		nsr_import_once(s->store, ns->config->import_from, name); /* logged; clients may wait */
	r = nsr_dispatch_queue_new(d->dispatcher, name, s->store, &s->queue);
	if (r < 0)
		goto fail;

	s->next = d->servers;
	d->servers = s;
	nsr_log_info("netns %s server %s: database %s opened", ns->name, name, s->db_path);
	*ret = s;
	return 0;

fail:
	nsr_log_error_errno(r, "netns %s server %s: opening the server's database failed: %m",
			    ns->name, name);
	server_free(s);
	return r;
}

/*
 * Remember the scope nfsd sent. The store records it, with its history,
 * when a GRACE_START carrying it is applied on a worker, because only the
 * worker that holds the server's queue may use its store.
 */
static void server_note_scope(struct nsrd_server *s, const char *scope)
{
	if (s->scope && strcmp(s->scope, scope) == 0)
		return;

	free(s->scope);
	s->scope = strdup(scope);
}

int nsrd_server_bind(struct nsrd *d, struct nsrd_netns *ns, const char *scope, bool nfsd_start,
		     struct nsrd_server **ret)
{
	const char *name = ns->config && ns->config->server ? ns->config->server : scope;
	struct nsrd_server *s;
	int r;

	/*
	 * A fenced store never writes again. Closing it here, on the next
	 * request, and opening the file anew means that this node serves the
	 * server again as soon as it may take the lease, without a restart.
	 */
	if (ns->server && nsr_store_fenced(ns->server->store)) {
		nsr_log_warning("netns %s server %s: another node took this server over; closing its database and trying to own it again",
				ns->name, ns->server->name);
		nsrd_server_unbind(d, ns);
	} else if (ns->server && nfsd_start) {
		nsrd_server_unbind(d, ns);
	}

	if (ns->server && strcmp(ns->server->name, name) == 0)
		goto bound;

	r = nsr_server_name_check(name);
	if (r < 0)
		return nsr_log_error_errno(r,
					   "netns %s: server name \"%s\" (from %s) is not valid; set \"server\" in [%s \"%s\"]",
					   ns->name, name, ns->config && ns->config->server ? "the configuration" : "nfsd's scope",
					   NSR_CONF_SECTION_NETNS, ns->name);

	s = server_find(d, name);
	if (s && s->owner && s->owner != ns)
		return nsr_log_error_errno(-EEXIST,
					   "netns %s and netns %s both claim server %s; refusing netns %s so neither gets the other's records: give each a distinct scope or \"server\" name",
					   s->owner->name, ns->name, name, ns->name);

	if (ns->server) {
		nsr_log_warning("netns %s: now serving server %s instead of %s; clients of %s cannot reclaim here",
				ns->name, name, ns->server->name, ns->server->name);
		nsrd_server_unbind(d, ns);
	}

	if (!s) {
		r = server_open(d, ns, name, &s);
		if (r < 0)
			return r;
	}

	s->owner = ns;
	ns->server = s;

bound:
	server_note_scope(ns->server, scope);
	*ret = ns->server;
	return 0;
}

void nsrd_server_unbind(struct nsrd *d, struct nsrd_netns *ns)
{
	struct nsrd_server *s = ns->server;

	if (!s)
		return;

	ns->server = NULL;
	s->owner = NULL;
	server_unlink(d, s);
	server_free(s);
	nsr_log_info("netns %s: released server database", ns->name);
}

void nsrd_server_drain_all(struct nsrd *d)
{
	while (d->servers) {
		struct nsrd_server *s = d->servers;

		if (s->owner)
			s->owner->server = NULL;
		d->servers = s->next;
		server_free(s);
	}
}
