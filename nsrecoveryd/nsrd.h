/* nsrd.h: the daemon-wide context that the event loop and the transports share. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "nsr-dispatch.h"
#include "nsr-settings.h"

struct nsrd_netns;
struct nsrd_server;

/*
 * Threads. The event loop thread owns this struct, the namespace table's
 * writers and the server table. Worker threads of the dispatcher only read
 * the namespace table, under rcu_read_lock(), to send answers (see
 * nsrd-netns.h), and only touch a server's store through its queue.
 */
struct nsrd {
	const char *config_path;
	struct nsr_settings *settings;
	struct event_base *base;
	struct nsr_dispatcher *dispatcher;

	int self_netns_fd;	/* the daemon's own network namespace */

	struct nsrd_server *servers;	/* list, loop thread only */

	int inotify_fd;
	int netns_dir_wd;
	struct event *inotify_event;
	struct event *rescan_timer;
	struct event *lease_timer;	/* see nsrd-lease.h */

	bool stopping;
};

/* Seconds since the Epoch, for request times. */
static inline int64_t nsrd_now(void)
{
	return (int64_t)time(NULL);
}
