/* nsrd-netns.h: the table of network namespaces the daemon serves. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <urcu-bp.h>
#include <urcu/rculist.h>

#include "nsr-settings.h"
#include "nsrd.h"

struct nsrd_genl;
struct nsrd_pipe;

enum nsrd_netns_origin {
	NSRD_NETNS_SELF,	/* the daemon's own namespace */
	NSRD_NETNS_RUNDIR,	/* found in the netns directory (/run/netns) */
	NSRD_NETNS_CONFIG,	/* named by path in the configuration */
	NSRD_NETNS_EXTERNAL,	/* added by a caller with its own links, such as a test */
};

/*
 * One network namespace, and so one NFS server instance.
 *
 * The table is an RCU list. The event loop thread is its only writer: it
 * adds, binds and removes entries. Worker threads look an entry up by id
 * under rcu_read_lock() to reach its transport's answer socket, so an entry
 * and its sockets are freed only after a grace period (call_rcu), when no
 * worker can still hold it.
 */
struct nsrd_netns {
	struct cds_list_head node;
	struct rcu_head rcu;

	uint64_t id;		/* unique for the daemon's lifetime, never reused */
	char *name;
	char *path;
	int fd;			/* keeps the namespace open */
	dev_t dev;		/* nsfs identity, to spot one namespace under two names */
	ino_t ino;
	enum nsrd_netns_origin origin;
	const struct nsr_netns_settings *config; /* NULL unless configured */
	enum nsr_transport transport;

	struct nsrd_genl *genl;		/* rcu_dereference() from workers */
	struct nsrd_pipe *pipe;		/* rcu_dereference() from workers */
	struct nsrd_server *server;	/* loop thread only */
	unsigned int missing_checks;	/* RUNDIR entries not yet bind-mounted */
};

/**
 * nsrd_netns_start - find the namespaces to serve and attach transports
 *
 * Adds the daemon's own namespace, every configured namespace and every
 * entry of the netns directory, and watches that directory with inotify.
 * Returns 0 or a negative errno when a configured namespace cannot be
 * opened (logged with its name and path).
 */
int nsrd_netns_start(struct nsrd *d);

/**
 * nsrd_netns_stop - detach every namespace and free the table
 *
 * Servers must have been drained first, so that answers still reach their
 * namespaces.
 */
void nsrd_netns_stop(struct nsrd *d);

/**
 * nsrd_netns_reload - apply the [nsrecoveryd-netns] sections of new settings
 *
 * Adds configured namespaces that are new and removes configured ones that
 * disappeared from the configuration.
 */
void nsrd_netns_reload(struct nsrd *d);

/**
 * nsrd_netns_add_external - add a namespace entry that has no namespace file
 * @name: the name for logs and server binding
 * @ret: set to the new entry
 *
 * The caller attaches a transport itself, for example with
 * nsrd_genl_attach_links() over a socketpair. Returns 0 or -ENOMEM.
 */
int nsrd_netns_add_external(struct nsrd *d, const char *name, struct nsrd_netns **ret);

/**
 * nsrd_netns_lookup_rcu - find a namespace by id
 *
 * The caller holds rcu_read_lock() for as long as it uses the result.
 * Returns NULL when the namespace has been removed.
 */
struct nsrd_netns *nsrd_netns_lookup_rcu(uint64_t id);

/**
 * nsrd_netns_run_in - call @fn(@ctx) with this thread inside @ns
 *
 * Sockets created by @fn belong to @ns for their whole life. The thread
 * returns to the daemon's own namespace before this returns; failing to
 * return is fatal, because every later socket would land in @ns.
 * Returns @fn's result, or the negative errno of setns().
 */
int nsrd_netns_run_in(struct nsrd *d, struct nsrd_netns *ns, int (*fn)(void *ctx), void *ctx);

/* The loop-thread iteration over every namespace. */
#define nsrd_netns_foreach(ns) cds_list_for_each_entry(ns, &nsrd_netns_list, node)
extern struct cds_list_head nsrd_netns_list;
