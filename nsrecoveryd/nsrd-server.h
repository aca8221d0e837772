/* nsrd-server.h: virtual servers: identity, database and queue, bound to namespaces. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>

#include "nsr-dispatch.h"
#include "nsr-store.h"
#include "nsrd.h"

/*
 * A server is one NFS server instance, named by a stable string: the name
 * configured for its namespace, or else the server scope nfsd sends (its
 * UTS nodename at start). The name selects the server's directory and
 * database. At most one namespace is bound to a server at a time, so two
 * namespaces that claim one identity never share records: the second is
 * refused until the first lets go. Loop thread only.
 */
struct nsrd_server {
	struct nsrd_server *next;
	char *name;
	char *dir;
	char *db_path;
	char *scope;		/* the last scope nfsd sent for this server */
	struct nsr_store *store;
	struct nsr_dispatch_queue *queue;
	struct nsrd_netns *owner;

	/* The periodic lease renewal; see nsrd-lease.h. */
	bool leased;			/* the store acquired the ownership lease */
	struct nsr_request renewal;
	atomic_bool renewal_queued;	/* cleared by the worker that completes it */
};

/**
 * nsrd_server_bind - find or open the server that @ns serves for @scope
 * @scope: the server scope from nfsd's upcall
 * @nfsd_start: the request is a GRACE_START, sent when nfsd starts
 * @ret: set to the bound server
 *
 * Opens the server's database on first use, creating its directory under
 * the state directory when it has no configured one. At each nfsd start
 * the database is closed and opened anew, which takes the ownership lease
 * again, so a node that took the server over with "nsrecoveryctl takeover"
 * serves it from its first request. A database that another node fenced
 * is also opened anew. When the identity of @ns changes (nfsd restarted
 * with another scope and no name is configured), the old server is
 * released and a warning explains that its clients cannot reclaim.
 * Returns 0, -EEXIST when another namespace holds this identity (logged
 * with both namespace names), -EINVAL for a scope that is not a valid
 * server name, or the error of opening the database.
 */
int nsrd_server_bind(struct nsrd *d, struct nsrd_netns *ns, const char *scope, bool nfsd_start,
		     struct nsrd_server **ret);

/**
 * nsrd_server_unbind - release the server of @ns, if any
 *
 * Waits until every request queued for the server has been answered, then
 * closes its database, so that no file in its directory stays open.
 */
void nsrd_server_unbind(struct nsrd *d, struct nsrd_netns *ns);

/**
 * nsrd_server_drain_all - answer every queued request of every server
 *
 * Used at shutdown before namespaces are detached.
 */
void nsrd_server_drain_all(struct nsrd *d);
