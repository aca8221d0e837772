/* nsrd-netns.c: the table of network namespaces the daemon serves, and their discovery. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "nsr-log.h"
#include "nsrd-genl.h"
#include "nsrd-netns.h"
#include "nsrd-pipe.h"
#include "nsrd-server.h"

CDS_LIST_HEAD(nsrd_netns_list);

static uint64_t netns_next_id = 1;

/* The name of the daemon's own namespace in logs and listings. */
#define NSRD_NETNS_SELF_NAME "init"

/*
 * "ip netns add" creates the file in the netns directory before it
 * bind-mounts the namespace onto it, and inotify reports only the creation.
 * An entry that is not a namespace yet is looked at again every
 * RESCAN_INTERVAL_MS, at most RESCAN_MAX_CHECKS times.
 */
#define RESCAN_INTERVAL_MS 100
#define RESCAN_MAX_CHECKS 50

/* Configured paths such as /proc/PID/ns/net are checked for liveness this often. */
#define LIVENESS_INTERVAL_S 2

static struct event *liveness_timer;

#define NETNS_DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ATTRIB | IN_ONLYDIR)

static const char *origin_name(enum nsrd_netns_origin origin)
{
	switch (origin) {
	case NSRD_NETNS_SELF:
		return "own namespace";
	case NSRD_NETNS_RUNDIR:
		return "netns directory";
	case NSRD_NETNS_CONFIG:
		return "configuration";
	case NSRD_NETNS_EXTERNAL:
		return "external links";
	}
	return "unknown";
}

/*
 * Open @path and check that it is a network namespace. Returns the fd,
 * -ENOENT, -EAGAIN when it exists but is not a namespace (yet), or another
 * negative errno.
 */
static int netns_open(const char *path, struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		return -errno;

	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return errno == ENOTTY || errno == EINVAL ? -EAGAIN : -errno;
	if (type != CLONE_NEWNET)
		return -EAGAIN;

	return NSR_TAKE_FD(fd);
}

static struct nsrd_netns *netns_find_by_name(const char *name)
{
	struct nsrd_netns *ns;

	nsrd_netns_foreach(ns)
		if (strcmp(ns->name, name) == 0)
			return ns;
	return NULL;
}

static struct nsrd_netns *netns_find_by_inode(dev_t dev, ino_t ino)
{
	struct nsrd_netns *ns;

	nsrd_netns_foreach(ns)
		if (ns->dev == dev && ns->ino == ino)
			return ns;
	return NULL;
}

/* NOTE: a linear walk; with 1000 namespaces it was 4.5% of the CPU in benchmarks. */
struct nsrd_netns *nsrd_netns_lookup_rcu(uint64_t id)
{
	struct nsrd_netns *ns;

	cds_list_for_each_entry_rcu(ns, &nsrd_netns_list, node)
		if (ns->id == id)
			return ns;
	return NULL;
}

int nsrd_netns_run_in(struct nsrd *d, struct nsrd_netns *ns, int (*fn)(void *ctx), void *ctx)
{
	int r;

	if (ns->fd < 0)
		return nsr_log_error_errno(-EBADF, "netns %s: has no namespace file to enter", ns->name);
	if (ns->origin != NSRD_NETNS_SELF && setns(ns->fd, CLONE_NEWNET) < 0)
		return nsr_log_error_errno(-errno, "netns %s: entering the namespace at %s failed: %m",
					   ns->name, ns->path);

	r = fn(ctx);

	if (ns->origin != NSRD_NETNS_SELF && setns(d->self_netns_fd, CLONE_NEWNET) < 0) {
		nsr_log_error_errno(-errno,
				    "netns %s: returning to the daemon's own namespace failed, exiting: %m",
				    ns->name);
		abort();
	}
	return r;
}

static void netns_free(struct nsrd_netns *ns)
{
	nsrd_genl_free(ns->genl);
	nsrd_pipe_free(ns->pipe);
	if (ns->fd >= 0 && ns->origin != NSRD_NETNS_SELF)
		close(ns->fd);
	free(ns->name);
	free(ns->path);
	free(ns);
}

static void netns_free_rcu(struct rcu_head *head)
{
	netns_free(caa_container_of(head, struct nsrd_netns, rcu));
}

static void netns_attach(struct nsrd *d, struct nsrd_netns *ns)
{
	int r;

	/* With "auto", nfsd uses whichever tracker it finds first, so both listen. */
	if (ns->transport != NSR_TRANSPORT_GENL) {
		r = nsrd_pipe_attach(d, ns);
		if (r < 0)
			nsr_log_error_errno(r, "netns %s: cld pipe transport not attached: %m", ns->name);
	}
	if (ns->transport == NSR_TRANSPORT_PIPE)
		return;

	r = nsrd_genl_attach(d, ns);
	if (r < 0)
		nsr_log_error_errno(r, "netns %s: generic netlink transport not attached: %m", ns->name);
}

/*
 * Add one namespace to the table and attach its transport. @fd is taken
 * over in every case. Returns 0, or -EEXIST when the namespace is already
 * served under another name.
 */
static int netns_add(struct nsrd *d, const char *name, const char *path, int fd,
		     const struct stat *st, enum nsrd_netns_origin origin,
		     const struct nsr_netns_settings *config)
{
	struct nsrd_netns *ns, *other;

	other = netns_find_by_inode(st->st_dev, st->st_ino);
	if (other) {
		nsr_log_notice("netns %s (%s, %s) is the same namespace as netns %s (%s); serving it once, as %s",
			       name, path, origin_name(origin), other->name, origin_name(other->origin),
			       other->name);
		if (origin != NSRD_NETNS_SELF)
			close(fd);
		return -EEXIST;
	}

	ns = calloc(1, sizeof(*ns));
	if (!ns || !(ns->name = strdup(name)) || !(ns->path = strdup(path))) {
		if (ns)
			free(ns->name);
		free(ns);
		if (origin != NSRD_NETNS_SELF)
			close(fd);
		return nsr_log_error_errno(-ENOMEM, "netns %s: out of memory", name);
	}

	ns->id = netns_next_id++;
	ns->fd = fd;
	ns->dev = st->st_dev;
	ns->ino = st->st_ino;
	ns->origin = origin;
	ns->config = config;
	ns->transport = config ? config->transport : d->settings->transport;

	cds_list_add_tail_rcu(&ns->node, &nsrd_netns_list);
	nsr_log_info("netns %s: serving (%s, %s, transport %s)", ns->name, ns->path, origin_name(origin),
		     nsr_transport_name(ns->transport));

	netns_attach(d, ns);
	return 0;
}

static void netns_remove(struct nsrd *d, struct nsrd_netns *ns, const char *why)
{
	nsr_log_info("netns %s: no longer served: %s", ns->name, why);

	if (ns->genl)
		nsrd_genl_stop(ns->genl);
	if (ns->pipe)
		nsrd_pipe_stop(ns->pipe);

	/* Drain first, while the namespace can still receive its answers. */
	nsrd_server_unbind(d, ns);

	cds_list_del_rcu(&ns->node);
	call_rcu(&ns->rcu, netns_free_rcu);
}

int nsrd_netns_add_external(struct nsrd *d, const char *name, struct nsrd_netns **ret)
{
	struct nsrd_netns *ns;

	ns = calloc(1, sizeof(*ns));
	if (!ns || !(ns->name = strdup(name)) || !(ns->path = strdup("-"))) {
		if (ns)
			free(ns->name);
		free(ns);
		return -ENOMEM;
	}

	ns->id = netns_next_id++;
	ns->fd = -1;
	ns->origin = NSRD_NETNS_EXTERNAL;
	ns->config = nsr_settings_find_netns(d->settings, name);
	ns->transport = NSR_TRANSPORT_GENL;
	cds_list_add_tail_rcu(&ns->node, &nsrd_netns_list);

	*ret = ns;
	return 0;
}

static int netns_add_self(struct nsrd *d)
{
	struct stat st;

	if (fstat(d->self_netns_fd, &st) < 0)
		return nsr_log_error_errno(-errno, "netns %s: fstat of the daemon's own namespace failed: %m",
					   NSRD_NETNS_SELF_NAME);

	return netns_add(d, NSRD_NETNS_SELF_NAME, "/proc/self/ns/net", d->self_netns_fd, &st,
			 NSRD_NETNS_SELF, nsr_settings_find_netns(d->settings, NSRD_NETNS_SELF_NAME));
}

/*
 * Serve a namespace named in the configuration. A missing or unusable path
 * is logged (unless @quiet) and tried again by the liveness timer, so one
 * absent namespace never stops the daemon from serving the others.
 */
static void netns_add_configured(struct nsrd *d, const struct nsr_netns_settings *cfg, bool quiet)
{
	struct stat st;
	int fd;

	if (strcmp(cfg->name, NSRD_NETNS_SELF_NAME) == 0)
		return; /* settings of the daemon's own namespace */
	if (netns_find_by_name(cfg->name))
		return;

	fd = netns_open(cfg->path, &st);
	if (fd == -EAGAIN) {
		if (!quiet)
			nsr_log_error("netns %s: %s is not a network namespace; fix \"path\" in [%s \"%s\"] (%s:%u); checking again every %d s",
				      cfg->name, cfg->path, NSR_CONF_SECTION_NETNS, cfg->name,
				      cfg->source, cfg->line, LIVENESS_INTERVAL_S);
		return;
	}
	if (fd < 0) {
		if (!quiet)
			nsr_log_warning_errno(fd, "netns %s: opening %s failed: %m; it is served once it exists (create it, or fix \"path\" in [%s \"%s\"] at %s:%u)",
					      cfg->name, cfg->path, NSR_CONF_SECTION_NETNS, cfg->name,
					      cfg->source, cfg->line);
		return;
	}

	netns_add(d, cfg->name, cfg->path, fd, &st, NSRD_NETNS_CONFIG, cfg);
}

/*
 * Look at one entry of the netns directory. Returns 0 when it is served or
 * can be ignored, or -EAGAIN when it should be looked at again shortly.
 */
static int netns_scan_entry(struct nsrd *d, const char *entry)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;
	int fd;

	if (entry[0] == '.' || netns_find_by_name(entry))
		return 0;

	if (asprintf(&path, "%s/%s", d->settings->netns_dir, entry) < 0)
		return nsr_log_error_errno(-ENOMEM, "netns %s: out of memory", entry);

	fd = netns_open(path, &st);
	if (fd == -EAGAIN || fd == -ENOENT)
		return fd == -EAGAIN ? -EAGAIN : 0;
	if (fd < 0) {
		nsr_log_warning_errno(fd, "netns %s: opening %s failed, not serving it: %m", entry, path);
		return 0;
	}

	netns_add(d, entry, path, fd, &st, NSRD_NETNS_RUNDIR,
		  nsr_settings_find_netns(d->settings, entry));
	return 0;
}

/*
 * Serve every namespace in the netns directory. Returns -EAGAIN when an
 * entry exists that is not bind-mounted yet.
 */
static int netns_scan_dir(struct nsrd *d)
{
	DIR *dir;
	struct dirent *de;
	int result = 0;

	dir = opendir(d->settings->netns_dir);
	if (!dir) {
		if (errno != ENOENT)
			nsr_log_warning_errno(-errno, "reading netns directory %s failed: %m",
					      d->settings->netns_dir);
		return 0;
	}

	while ((de = readdir(dir)))
		if (netns_scan_entry(d, de->d_name) == -EAGAIN)
			result = -EAGAIN;

	closedir(dir);
	return result;
}

static void rescan_schedule(struct nsrd *d)
{
	struct timeval tv = { .tv_usec = RESCAN_INTERVAL_MS * 1000 };

	if (!evtimer_pending(d->rescan_timer, NULL))
		evtimer_add(d->rescan_timer, &tv);
}

static void on_rescan(evutil_socket_t fd, short what, void *userdata)
{
	static unsigned int checks;
	struct nsrd *d = userdata;

	if (netns_scan_dir(d) != -EAGAIN) {
		checks = 0;
		return;
	}

	if (++checks < RESCAN_MAX_CHECKS) {
		rescan_schedule(d);
		return;
	}

	nsr_log_warning("netns directory %s contains an entry that is still not a network namespace after %d ms; ignoring it until the directory changes",
			d->settings->netns_dir, RESCAN_INTERVAL_MS * RESCAN_MAX_CHECKS);
	checks = 0;
}

/* Remove namespaces whose netns directory entry was deleted. */
static void netns_prune_rundir(struct nsrd *d)
{
	struct nsrd_netns *ns, *tmp;
	struct stat st;

	cds_list_for_each_entry_safe(ns, tmp, &nsrd_netns_list, node) {
		if (ns->origin != NSRD_NETNS_RUNDIR)
			continue;
		if (stat(ns->path, &st) == 0 && st.st_dev == ns->dev && st.st_ino == ns->ino)
			continue;
		netns_remove(d, ns, "its netns directory entry was removed");
	}
}

static void on_inotify(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd *d = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool removed = false, added = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
				removed = true;
			if (ev->mask & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB))
				added = true;
			p += sizeof(*ev) + ev->len;
		}
	}

	if (removed)
		netns_prune_rundir(d);
	if (added && netns_scan_dir(d) == -EAGAIN)
		rescan_schedule(d);
}

static void on_liveness(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd *d = userdata;
	struct nsrd_netns *ns, *tmp;
	struct stat st;

	cds_list_for_each_entry_safe(ns, tmp, &nsrd_netns_list, node) {
		if (ns->origin != NSRD_NETNS_CONFIG)
			continue;
		if (stat(ns->path, &st) == 0 && st.st_dev == ns->dev && st.st_ino == ns->ino)
			continue;
		netns_remove(d, ns, "its configured path no longer refers to it");
	}

	for (size_t i = 0; i < d->settings->n_netns; i++)
		netns_add_configured(d, &d->settings->netns[i], true);

	/* iproute2 creates the netns directory with the first "ip netns add". */
	if (d->settings->netns_dir && d->netns_dir_wd < 0 && d->inotify_fd >= 0) {
		d->netns_dir_wd = inotify_add_watch(d->inotify_fd, d->settings->netns_dir, NETNS_DIR_EVENTS);
		if (d->netns_dir_wd >= 0 && netns_scan_dir(d) == -EAGAIN)
			rescan_schedule(d);
	}
}

static int netns_watch_dir(struct nsrd *d)
{
	d->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inotify_fd < 0)
		return nsr_log_error_errno(-errno, "inotify_init1 failed: %m");

	d->netns_dir_wd = inotify_add_watch(d->inotify_fd, d->settings->netns_dir, NETNS_DIR_EVENTS);
	if (d->netns_dir_wd < 0) {
		/* iproute2 creates the directory with the first "ip netns add". */
		nsr_log_info("netns directory %s is not watchable yet (%s); checking every %d s",
			     d->settings->netns_dir, strerror(errno), LIVENESS_INTERVAL_S);
	}

	d->inotify_event = event_new(d->base, d->inotify_fd, EV_READ | EV_PERSIST, on_inotify, d);
	if (!d->inotify_event || event_add(d->inotify_event, NULL) < 0)
		return nsr_log_error_errno(-ENOMEM, "inotify event: out of memory");
	return 0;
}

int nsrd_netns_start(struct nsrd *d)
{
	struct timeval every = { .tv_sec = LIVENESS_INTERVAL_S };
	int r;

	d->inotify_fd = -1;
	d->netns_dir_wd = -1;

	d->rescan_timer = evtimer_new(d->base, on_rescan, d);
	liveness_timer = event_new(d->base, -1, EV_PERSIST, on_liveness, d);
	if (!d->rescan_timer || !liveness_timer || event_add(liveness_timer, &every) < 0)
		return nsr_log_error_errno(-ENOMEM, "namespace timers: out of memory");

	r = netns_add_self(d);
	if (r < 0)
		return r;

	for (size_t i = 0; i < d->settings->n_netns; i++)
		netns_add_configured(d, &d->settings->netns[i], false);

	if (!d->settings->netns_dir)
		return 0;

	r = netns_watch_dir(d);
	if (r < 0)
		return r;
	if (netns_scan_dir(d) == -EAGAIN)
		rescan_schedule(d);
	return 0;
}

void nsrd_netns_reload(struct nsrd *d)
{
	struct nsrd_netns *ns, *tmp;

	cds_list_for_each_entry_safe(ns, tmp, &nsrd_netns_list, node) {
		ns->config = nsr_settings_find_netns(d->settings, ns->name);
		if (ns->origin == NSRD_NETNS_CONFIG && !ns->config)
			netns_remove(d, ns, "its section was removed from the configuration");
	}

	for (size_t i = 0; i < d->settings->n_netns; i++)
		netns_add_configured(d, &d->settings->netns[i], false);
}

void nsrd_netns_stop(struct nsrd *d)
{
	struct nsrd_netns *ns, *tmp;

	cds_list_for_each_entry_safe(ns, tmp, &nsrd_netns_list, node)
		netns_remove(d, ns, "the daemon is stopping");

	rcu_barrier();

	if (liveness_timer)
		event_free(liveness_timer);
	liveness_timer = NULL;
	if (d->rescan_timer)
		event_free(d->rescan_timer);
	d->rescan_timer = NULL;
	if (d->inotify_event)
		event_free(d->inotify_event);
	d->inotify_event = NULL;
	if (d->inotify_fd >= 0)
		close(d->inotify_fd);
	d->inotify_fd = -1;
}
