/* bench-daemon.c: the daemon's transport, servers and dispatcher in-process, fed by bench-kernel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench-daemon.h"
#include "nsrd-genl.h"
#include "nsrd-netns.h"
#include "nsrd-server.h"

static void on_tick(evutil_socket_t fd, short what, void *userdata)
{
}

int bench_daemon_init(struct bench_daemon *b, const char *state_dir, unsigned int workers,
		      unsigned int max_batch)
{
	struct nsr_dispatcher_options dopts = {
		.workers = workers,
		.max_batch = max_batch,
		.max_queue = 4096,
	};
	struct timeval tv = { .tv_usec = 5000 };
	int r;

	memset(b, 0, sizeof(*b));
	b->settings.state_dir = strdup(state_dir);
	if (!b->settings.state_dir)
		return -ENOMEM;
	b->settings.workers = workers;
	b->settings.max_batch = max_batch;
	b->settings.event_retention_days = 90;
	b->settings.event_retention_rows = 100000;

	b->d.settings = &b->settings;
	b->d.self_netns_fd = -1;
	b->d.inotify_fd = -1;
	b->d.netns_dir_wd = -1;
	b->d.base = event_base_new();
	if (!b->d.base)
		return -ENOMEM;

	/* Wakes the loop now and then, so the run_until helpers see progress. */
	b->tick = event_new(b->d.base, -1, EV_PERSIST, on_tick, NULL);
	if (!b->tick || event_add(b->tick, &tv) < 0)
		return -ENOMEM;

	r = nsr_dispatcher_new(&dopts, &b->d.dispatcher);
	return r;
}

int bench_daemon_attach(struct bench_daemon *b, const char *name, struct bench_link *l)
{
	struct nsrd_netns *ns;
	int r;

	r = nsrd_netns_add_external(&b->d, name, &ns);
	if (r < 0)
		return r;
	return nsrd_genl_attach_links(&b->d, ns, l->daemon_event_fd, l->daemon_answer_fd,
				      BENCH_KERNEL_FAMILY, false);
}

bool bench_daemon_run_until_answered(struct bench_daemon *b, struct bench_kernel *k,
				     uint64_t answered, unsigned int timeout_ms)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000;

	while (bench_kernel_answered(k) < answered) {
		if (bench_now_ns() > deadline)
			return false;
		event_base_loop(b->d.base, EVLOOP_ONCE);
	}
	return true;
}

bool bench_daemon_run_until_hellos(struct bench_daemon *b, struct bench_kernel *k,
				   unsigned int timeout_ms)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)timeout_ms * 1000000;

	while (bench_kernel_hellos(k) < k->n_links) {
		if (bench_now_ns() > deadline)
			return false;
		event_base_loop(b->d.base, EVLOOP_ONCE);
	}
	/* The HELLO answers are read and applied by the loop. */
	for (int i = 0; i < 20; i++)
		event_base_loop(b->d.base, EVLOOP_NONBLOCK);
	return true;
}

void bench_daemon_stop(struct bench_daemon *b)
{
	struct nsrd_netns *ns;

	nsrd_netns_foreach(ns)
		if (ns->genl)
			nsrd_genl_stop(ns->genl);
	nsrd_server_drain_all(&b->d);
	nsrd_netns_stop(&b->d);
	nsr_dispatcher_free(b->d.dispatcher);
	if (b->tick)
		event_free(b->tick);
	event_base_free(b->d.base);
	free(b->settings.state_dir);
}
