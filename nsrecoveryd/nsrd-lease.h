/* nsrd-lease.h: the ownership lease of each open server: acquiring it and renewing it. */
#pragma once

#include "nsrd-netns.h"
#include "nsrd-server.h"
#include "nsrd.h"

/*
 * Every server the daemon opens is owned by this node (settings node-id)
 * through the lease in its database (nsr_store_acquire()). Each batch a
 * worker commits renews the lease. A server without traffic is renewed by
 * a timer on the loop thread, which submits a RENEW request to the
 * server's queue, so that the store is still used only by the worker
 * holding that queue. The timer fires three times per lease, so a lease
 * survives two missed renewals. nsrd_server_free releases the lease after
 * its queue has drained.
 */

/**
 * nsrd_server_acquire - label @s's store and take its ownership lease
 *
 * Takes the lease over from a live owner only when the ownership-takeover
 * setting is on. Does nothing when node-id or ownership-lease is unset, as
 * in tests that build settings by hand. Returns 0, or the error of
 * nsr_store_acquire() (-EBUSY when another live node owns the server,
 * logged with that node and what to do).
 */
int nsrd_server_acquire(struct nsrd *d, struct nsrd_netns *ns, struct nsrd_server *s);

/**
 * nsrd_lease_start - start the renewal timer on the loop
 *
 * Returns 0 or -ENOMEM.
 */
int nsrd_lease_start(struct nsrd *d);

/**
 * nsrd_lease_stop - stop the renewal timer; renewals already queued still complete
 */
void nsrd_lease_stop(struct nsrd *d);
