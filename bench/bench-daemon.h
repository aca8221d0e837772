/* bench-daemon.h: the daemon's transport, servers and dispatcher in-process, fed by bench-kernel. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bench-kernel.h"
#include "nsrd.h"

/*
 * The same setup as the daemon tests: a struct nsrd with its event loop, a
 * dispatcher, and one namespace entry per bench-kernel link, attached with
 * nsrd_genl_attach_links(). The caller's thread runs the event loop.
 */
struct bench_daemon {
	struct nsr_settings settings;
	struct nsrd d;
	struct event *tick;
};

/**
 * bench_daemon_init - start the dispatcher and the event loop state
 * @state_dir: where servers get their directories
 *
 * Uses the daemon's defaults: retention of 90 days and 100000 events,
 * queues of 4096. Returns 0 or a negative errno.
 */
int bench_daemon_init(struct bench_daemon *b, const char *state_dir, unsigned int workers,
		      unsigned int max_batch);

/* Attach one namespace named @name to @l. Returns 0 or a negative errno. */
int bench_daemon_attach(struct bench_daemon *b, const char *name, struct bench_link *l);

/* Run the event loop until @k has @answered answers or @timeout_ms passes; returns true when reached. */
bool bench_daemon_run_until_answered(struct bench_daemon *b, struct bench_kernel *k,
				     uint64_t answered, unsigned int timeout_ms);

/* Run the event loop until every link of @k got its HELLO answer. */
bool bench_daemon_run_until_hellos(struct bench_daemon *b, struct bench_kernel *k,
				   unsigned int timeout_ms);

/* Drain every server, detach every namespace, stop the dispatcher. */
void bench_daemon_stop(struct bench_daemon *b);
