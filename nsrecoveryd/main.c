/* main.c: nsrecoveryd: options, start-up, signals and shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>


#include "nsr-config.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsrd-genl.h"
#include "nsrd-lease.h"
#include "nsrd-netns.h"
#include "nsrd-server.h"
#include "nsrd.h"

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
static int sd_notify(int unset_environment, const char *state)
{
	return 0;
}
#endif

/*
 * The command line. It is kept for the daemon's lifetime, because a reload
 * reads the configuration again and the command line still wins over it.
 * Paths are made absolute before daemon() changes the directory to "/".
 */
struct options {
	char *config_path;
	bool config_given;
	char *state_dir;
	long workers;
	bool foreground;
	bool debug;
};

static struct options cmdline;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: nsrecoveryd [OPTION]...\n"
		"Track NFSv4 clients for every nfsd network namespace on this host, so\n"
		"that clients can reclaim their state after a server restart.\n"
		"\n"
		"  -c, --config FILE     read FILE and FILE.d/*.conf (default %s)\n"
		"  -s, --state-dir DIR   keep server databases under DIR (default from the\n"
		"                        configuration, else %s)\n"
		"  -w, --workers N       worker threads shared by all servers, 1..%d\n"
		"  -F, --foreground      stay in the foreground and log to stderr\n"
		"  -d, --debug           log every request\n"
		"  -h, --help            show this help\n"
		"  -V, --version         show the version\n"
		"\n"
		"Signals: SIGTERM answers every request already read, then exits;\n"
		"SIGHUP reloads the configuration.\n"
		"See nsrecoveryd(8) and nsrecoveryd.conf(5).\n",
		NSR_CONF_DEFAULT_PATH, NSR_STATEDIR, NSR_SETTINGS_WORKERS_MAX);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "workers", required_argument, NULL, 'w' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	char *end;
	int c;

	o->config_path = (char *)NSR_CONF_DEFAULT_PATH;

	while ((c = getopt_long(argc, argv, "c:s:w:FdhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_path = optarg;
			o->config_given = true;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'w':
			errno = 0;
			o->workers = strtol(optarg, &end, 10);
			if (errno || *end || o->workers < 1 || o->workers > NSR_SETTINGS_WORKERS_MAX) {
				fprintf(stderr, "nsrecoveryd: invalid --workers '%s': give a number from 1 to %d\n",
					optarg, NSR_SETTINGS_WORKERS_MAX);
				return -EINVAL;
			}
			break;
		case 'F':
			o->foreground = true;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("nsrecoveryd %s\n", NSR_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try 'nsrecoveryd --help' for more information.\n");
			return -EINVAL;
		}
	}

	if (optind < argc) {
		fprintf(stderr, "nsrecoveryd: unexpected argument '%s'; try 'nsrecoveryd --help'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Return @path made absolute against the current directory, malloc'ed. */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX];
	char *ret;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&ret, "%s/%s", cwd, path) < 0)
		return NULL;
	return ret;
}

static int options_make_absolute(struct options *o)
{
	o->config_path = absolute_path(o->config_path);
	if (!o->config_path)
		return -ENOMEM;
	if (o->state_dir) {
		o->state_dir = absolute_path(o->state_dir);
		if (!o->state_dir)
			return -ENOMEM;
	}
	return 0;
}

/* Read the configuration files and apply the command-line overrides. */
static int load_settings(const struct options *o, struct nsr_settings *ret)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	int r;

	r = nsr_conf_new(&conf);
	if (r < 0)
		return r;

	r = nsr_conf_load_with_dropins(conf, o->config_path, o->config_given ? 0 : NSR_CONF_MISSING_OK);
	if (r < 0)
		return nsr_log_error_errno(r, "reading configuration %s failed: %m", o->config_path);

	r = nsr_settings_load(ret, conf);
	if (r < 0)
		return nsr_log_error_errno(r, "configuration %s is invalid; fix the values named above",
					   o->config_path);

	if (o->state_dir) {
		char *dir = strdup(o->state_dir);

		if (!dir)
			return -ENOMEM;
		free(ret->state_dir);
		ret->state_dir = dir;
	}
	if (o->workers)
		ret->workers = (unsigned int)o->workers;
	if (o->debug)
		ret->debug = true;
	return 0;
}

/* Refuse to start without a usable state directory, for every server. */
static int check_state_dirs(const struct nsr_settings *s)
{
	int r, result = 0;

	/* The built-in default is the daemon's own to create; a chosen one is not. */
	if (strcmp(s->state_dir, NSR_STATEDIR) == 0 && mkdir(s->state_dir, 0700) == 0)
		nsr_log_notice("created state directory %s", s->state_dir);

	r = nsr_dir_check(s->state_dir, true);
	if (r < 0) {
		nsr_log_error("state directory %s is not usable; set \"state-directory\" in [%s] of %s, or pass --state-dir",
			      s->state_dir, NSR_CONF_SECTION, cmdline.config_path);
		result = r;
	}

	for (size_t i = 0; i < s->n_netns; i++) {
		if (!s->netns[i].state_dir)
			continue;
		r = nsr_dir_check(s->netns[i].state_dir, true);
		if (r < 0)
			result = r;
	}
	return result;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *userdata)
{
	struct nsrd *d = userdata;

	nsr_log_info("received SIG%s, answering the requests already read, then exiting",
		     sigabbrev_np((int)sig));
	d->stopping = true;
	event_base_loopbreak(d->base);
}

static void on_reload_signal(evutil_socket_t sig, short what, void *userdata)
{
	struct nsrd *d = userdata;
	struct nsr_settings fresh = { 0 };
	struct nsr_settings *old = d->settings;

	sd_notify(0, "RELOADING=1");
	nsr_log_info("received SIGHUP, reloading %s", d->config_path);

	if (load_settings(&cmdline, &fresh) < 0) {
		nsr_log_error("reload of %s failed; keeping the running configuration", d->config_path);
		nsr_settings_release(&fresh);
		sd_notify(0, "READY=1");
		return;
	}

	/* These need a restart: the pool is running and servers are open. */
	if (fresh.workers != old->workers)
		nsr_log_notice("workers changed from %u to %u; restart nsrecoveryd to apply it",
			       old->workers, fresh.workers);
	if (strcmp(fresh.state_dir, old->state_dir) != 0)
		nsr_log_notice("state-directory changed to %s; open servers keep %s until they are released",
			       fresh.state_dir, old->state_dir);

	d->settings = malloc(sizeof(*d->settings));
	if (!d->settings) {
		d->settings = old;
		nsr_settings_release(&fresh);
		nsr_log_error("reload: out of memory; keeping the running configuration");
		return;
	}
	*d->settings = fresh;
	nsr_log_set_max_level(fresh.debug ? LOG_DEBUG : LOG_INFO);

	nsrd_netns_reload(d);
	nsr_settings_release(old);
	free(old);
	sd_notify(0, "READY=1");
}

static int setup_signals(struct nsrd *d, struct event **events)
{
	static const int stop_signals[] = { SIGTERM, SIGINT };

	signal(SIGPIPE, SIG_IGN);

	for (size_t i = 0; i < NSR_ARRAY_SIZE(stop_signals); i++) {
		events[i] = evsignal_new(d->base, stop_signals[i], on_stop_signal, d);
		if (!events[i] || evsignal_add(events[i], NULL) < 0)
			return -ENOMEM;
	}

	events[2] = evsignal_new(d->base, SIGHUP, on_reload_signal, d);
	if (!events[2] || evsignal_add(events[2], NULL) < 0)
		return -ENOMEM;
	return 0;
}

static int run(struct nsrd *d)
{
	struct nsr_dispatcher_options dopts = {
		.workers = d->settings->workers,
		.max_batch = d->settings->max_batch,
		.max_queue = 4096,
		.batch_done = nsrd_genl_flush_answers,
	};
	struct event *signals[3] = { NULL };
	int r;

	d->self_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->self_netns_fd < 0)
		return nsr_log_error_errno(-errno, "opening /proc/self/ns/net failed: %m");

	d->base = event_base_new();
	if (!d->base)
		return nsr_log_error_errno(-ENOMEM, "creating the event loop failed");

	r = setup_signals(d, signals);
	if (r < 0)
		return nsr_log_error_errno(r, "installing signal handlers failed: %m");

	nsrd_genl_batch_answers(true);
	r = nsr_dispatcher_new(&dopts, &d->dispatcher);
	if (r < 0)
		return nsr_log_error_errno(r, "starting %u worker threads failed: %m",
					   d->settings->workers);

	r = nsrd_netns_start(d);
	if (r < 0)
		goto out;

	r = nsrd_lease_start(d);
	if (r < 0) {
		nsr_log_error_errno(r, "starting the ownership lease timer failed: %m");
		goto out;
	}

	nsr_log_info("nsrecoveryd %s ready: state directory %s, %u workers, batches of up to %u",
		     NSR_VERSION, d->settings->state_dir, d->settings->workers,
		     d->settings->max_batch);
	sd_notify(0, "READY=1");

	event_base_dispatch(d->base);

	sd_notify(0, "STOPPING=1");
	r = 0;
out:
	nsrd_lease_stop(d);
	/* Answer what was read while the namespaces can still receive answers. */
	{
		struct nsrd_netns *ns;

		nsrd_netns_foreach(ns)
			if (ns->genl)
				nsrd_genl_stop(ns->genl);
	}
	nsrd_server_drain_all(d);
	nsrd_netns_stop(d);
	nsr_dispatcher_free(d->dispatcher);

	for (size_t i = 0; i < NSR_ARRAY_SIZE(signals); i++)
		if (signals[i])
			event_free(signals[i]);
	event_base_free(d->base);
	close(d->self_netns_fd);
	return r;
}

int main(int argc, char **argv)
{
	struct options *o = &cmdline;
	struct nsr_settings settings = { 0 };
	struct nsrd d = { .self_netns_fd = -1, .inotify_fd = -1, .netns_dir_wd = -1 };
	int r;

	if (parse_options(argc, argv, o) < 0)
		return 2;

	nsr_log_open("nsrecoveryd", NSR_LOG_STDERR, o->debug ? LOG_DEBUG : LOG_INFO);

	if (options_make_absolute(o) < 0)
		return 1;
	if (load_settings(o, &settings) < 0)
		return 1;
	if (check_state_dirs(&settings) < 0)
		return 1;

	if (!o->foreground && daemon(0, 0) < 0) {
		nsr_log_error_errno(-errno, "daemon() failed: %m");
		return 1;
	}
	nsr_log_open("nsrecoveryd", o->foreground ? NSR_LOG_STDERR : NSR_LOG_SYSLOG,
		     settings.debug ? LOG_DEBUG : LOG_INFO);

	d.config_path = o->config_path;
	d.settings = malloc(sizeof(*d.settings));
	if (!d.settings)
		return 1;
	*d.settings = settings;

	r = run(&d);

	nsr_settings_release(d.settings);
	free(d.settings);
	free(o->config_path);
	free(o->state_dir);
	nsr_log_info("nsrecoveryd stopped");
	return r < 0 ? 1 : 0;
}
