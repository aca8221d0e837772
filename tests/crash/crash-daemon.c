/* crash-daemon.c: the daemon side of the crash tests: event loop, dispatcher and stores. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crash-daemon.h"
#include "nsrd-genl.h"
#include "nsrd-server.h"

int crash_daemon_start(struct crash_daemon *cd, const struct crash_daemon_options *opts,
		       int event_fd, int answer_fd, int family, bool from_kernel_only)
{
	struct nsr_dispatcher_options dopts = {
		.workers = opts->workers ? opts->workers : 2,
		.max_batch = opts->max_batch ? opts->max_batch : 64,
		.max_queue = opts->max_queue ? opts->max_queue : 1024,
	};
	int r;

	memset(cd, 0, sizeof(*cd));
	cd->settings.state_dir = strdup(opts->state_dir);
	if (!cd->settings.state_dir)
		return -ENOMEM;
	cd->settings.workers = dopts.workers;
	cd->settings.max_batch = dopts.max_batch;

	cd->d.settings = &cd->settings;
	cd->d.self_netns_fd = -1;
	cd->d.inotify_fd = -1;
	cd->d.netns_dir_wd = -1;
	cd->d.base = event_base_new();
	if (!cd->d.base)
		return -ENOMEM;

	r = nsr_dispatcher_new(&dopts, &cd->d.dispatcher);
	if (r < 0)
		return r;

	r = nsrd_netns_add_external(&cd->d, "crash", &cd->ns);
	if (r < 0)
		return r;

	return nsrd_genl_attach_links(&cd->d, cd->ns, event_fd, answer_fd, family, from_kernel_only);
}

void crash_daemon_pump(void *userdata)
{
	struct crash_daemon *cd = userdata;
	struct timespec pause = { .tv_nsec = 1000000 };

	event_base_loop(cd->d.base, EVLOOP_NONBLOCK);
	nanosleep(&pause, NULL);
}

void crash_daemon_stop(struct crash_daemon *cd)
{
	nsrd_server_drain_all(&cd->d);
	nsrd_netns_stop(&cd->d);
	nsr_dispatcher_free(cd->d.dispatcher);
	event_base_free(cd->d.base);
	free(cd->settings.state_dir);
}
