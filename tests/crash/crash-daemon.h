/* crash-daemon.h: the daemon side of the crash tests: event loop, dispatcher and stores. */
#pragma once

#include <stdbool.h>

#include "nsr-settings.h"
#include "nsrd-netns.h"
#include "nsrd.h"

/*
 * The same pieces the daemon's main() assembles for one namespace, with the
 * generic netlink transport attached to links the test provides: the real
 * transport, dispatcher and store code, without namespace discovery.
 */
struct crash_daemon {
	struct nsr_settings settings;
	struct nsrd d;
	struct nsrd_netns *ns;
};

struct crash_daemon_options {
	const char *state_dir;
	unsigned int workers;		/* 0 selects 2 */
	unsigned int max_batch;		/* 0 selects 64 */
	unsigned int max_queue;		/* 0 selects 1024 */
};

/**
 * crash_daemon_start - start the event loop and worker pool, attach the links
 * @event_fd, @answer_fd: the daemon's ends of the event and answer links; taken over
 * @from_kernel_only: passed to nsrd_genl_attach_links()
 *
 * Returns 0 or a negative errno.
 */
int crash_daemon_start(struct crash_daemon *cd, const struct crash_daemon_options *opts,
		       int event_fd, int answer_fd, int family, bool from_kernel_only);

/* Run the event loop once without blocking, then sleep 1 ms. */
void crash_daemon_pump(void *cd);

/* Drain every queue, detach the namespace and stop the pool. */
void crash_daemon_stop(struct crash_daemon *cd);
