/* nsrd-lease.c: the ownership lease of each open server: acquiring it and renewing it. */
#include <errno.h>
#include <stdio.h>

#include "nsr-log.h"
#include "nsrd-lease.h"

int nsrd_server_acquire(struct nsrd *d, struct nsrd_netns *ns, struct nsrd_server *s)
{
	const struct nsr_settings *set = d->settings;
	char label[512];
	int r;

	snprintf(label, sizeof(label), "netns %s server %s", ns->name, s->name);
	r = nsr_store_set_label(s->store, label);
	if (r < 0)
		return r;

	if (!set->node_id || set->ownership_lease <= 0)
		return 0;

	r = nsr_store_acquire(s->store, set->node_id, set->ownership_lease,
			      set->ownership_takeover);
	if (r < 0)
		return r;

	s->leased = true;
	atomic_init(&s->renewal_queued, false);
	return 0;
}

/* Worker thread: the RENEW batch committed or failed; the store logged a failure. */
static void lease_renewal_done(struct nsr_request *req)
{
	struct nsrd_server *s = req->transport;

	atomic_store(&s->renewal_queued, false);
}

/* Loop thread: queue one RENEW for @s unless one is still pending. */
static void lease_renew_server(struct nsrd_server *s)
{
	int r;

	if (!s->leased || atomic_exchange(&s->renewal_queued, true))
		return;

	nsr_request_init(&s->renewal, NSR_OP_RENEW);
	s->renewal.complete = lease_renewal_done;
	s->renewal.transport = s;

	r = nsr_dispatch_submit(s->queue, &s->renewal);
	if (r == 0)
		return;

	atomic_store(&s->renewal_queued, false);
	/* A full queue means batches are committing, and each of them renews. */
	if (r != -EAGAIN && r != -ESHUTDOWN)
		nsr_log_error_errno(r, "server %s: queuing the lease renewal failed: %m", s->name);
}

static void lease_on_timer(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd *d = userdata;

	for (struct nsrd_server *s = d->servers; s; s = s->next)
		lease_renew_server(s);
}

int nsrd_lease_start(struct nsrd *d)
{
	struct timeval interval = { .tv_sec = d->settings->ownership_lease / 3 };

	if (d->settings->ownership_lease <= 0)
		return 0;
	if (interval.tv_sec < 1)
		interval.tv_sec = 1;

	d->lease_timer = event_new(d->base, -1, EV_PERSIST, lease_on_timer, d);
	if (!d->lease_timer || event_add(d->lease_timer, &interval) < 0)
		return -ENOMEM;
	return 0;
}

void nsrd_lease_stop(struct nsrd *d)
{
	if (!d->lease_timer)
		return;
	event_free(d->lease_timer);
	d->lease_timer = NULL;
}
