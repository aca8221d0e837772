/* nsr-settings.h: the daemon's typed settings, read from a struct nsr_conf. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-conf.h"

/* The section names that nsrecoveryd and nsrecoveryctl read. */
#define NSR_CONF_SECTION "nsrecoveryd"
#define NSR_CONF_SECTION_NETNS "nsrecoveryd-netns"

/* The configuration file that nfs-utils programs share, and its drop-in directory. */
#define NSR_CONF_DEFAULT_PATH "/etc/nfs.conf"

enum nsr_transport {
	NSR_TRANSPORT_AUTO,	/* generic netlink when nfsd offers it, else the pipe */
	NSR_TRANSPORT_GENL,	/* the nfsd_cltrack generic netlink family */
	NSR_TRANSPORT_PIPE,	/* nfsdcld's rpc_pipefs pipe */
};

/* Bounds that nsr_settings_load() enforces. */
#define NSR_SETTINGS_WORKERS_MAX 64
#define NSR_SETTINGS_MAX_BATCH_MAX 65536
#define NSR_SETTINGS_RETENTION_DAYS_MAX 36500
#define NSR_SETTINGS_RETENTION_ROWS_MAX 1000000000
#define NSR_SETTINGS_NODE_ID_MAX 255
#define NSR_SETTINGS_OWNERSHIP_LEASE_MIN 5
#define NSR_SETTINGS_OWNERSHIP_LEASE_MAX 3600
#define NSR_SETTINGS_LEASE_TIME_MAX 3600

/* One [nsrecoveryd-netns "NAME"] section. */
struct nsr_netns_settings {
	char *name;		/* the section argument */
	char *path;		/* the netns file, /run/netns/NAME by default */
	char *server;		/* stable server name, or NULL to use nfsd's scope */
	char *state_dir;	/* this server's own directory, or NULL for the default */
	enum nsr_transport transport;	/* the [nsrecoveryd] transport unless set */
	char *import_from;	/* "FORMAT:PATH" to import into a new database, or NULL */
	char *source;		/* the file where the section first appears, for messages */
	unsigned int line;
};

struct nsr_settings {
	char *state_dir;
	unsigned int workers;
	unsigned int max_batch;
	enum nsr_transport transport;
	char *netns_dir;	/* NULL when discovery is disabled */
	char *node_id;
	int64_t event_retention_days;	/* 0 keeps events of any age */
	int64_t event_retention_rows;	/* 0 keeps any number of events */
	int64_t ownership_lease;	/* seconds an ownership lease lasts unrenewed */
	bool ownership_takeover;	/* take a server over from a live owner at open */
	int64_t audit_lease_time;	/* nfsd's lease time, the audit's window, in seconds */
	bool debug;

	struct nsr_netns_settings *netns;
	size_t n_netns;
};

/**
 * nsr_settings_load - read and validate [nsrecoveryd] and [nsrecoveryd-netns]
 * @ret: filled in on success; release it with nsr_settings_release()
 *
 * Applies the defaults for every key that is not set, and logs a warning
 * for each unknown key in these sections and for each unknown section
 * whose name starts with "nsrecoveryd". Other sections are ignored.
 * Returns 0, -EINVAL after logging every invalid value with its key,
 * value, file and line, or -ENOMEM. @ret is left empty on error.
 */
int nsr_settings_load(struct nsr_settings *ret, const struct nsr_conf *conf);

/**
 * nsr_settings_release - free what @s owns and leave it empty
 */
void nsr_settings_release(struct nsr_settings *s);

/**
 * nsr_settings_find_netns - the settings of namespace @name, or NULL
 */
const struct nsr_netns_settings *nsr_settings_find_netns(const struct nsr_settings *s,
							 const char *name);

/* "auto", "genl" or "pipe". */
const char *nsr_transport_name(enum nsr_transport transport);

/**
 * nsr_transport_from_string - parse "auto", "genl" or "pipe", in any case
 *
 * Returns 0 or -EINVAL.
 */
int nsr_transport_from_string(const char *text, enum nsr_transport *ret);
