/* nsrd-pipe.c: the nfsdcld rpc_pipefs pipe transport of one namespace: upcalls in, answers out. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsr-log.h"
#include "nsr-pipe.h"
#include "nsrd-netns.h"
#include "nsrd-pipe.h"
#include "nsrd-server.h"

/* The directory nfsd creates its pipe in, and the pipe, inside rpc_pipefs. */
#define PIPEFS_NFSD_DIR "nfsd"
#define PIPEFS_CLD_PIPE "cld"

/* Retry delays: rpc_pipefs is not available yet; the server's queue was full. */
#define RETRY_MOUNT_MS 2000
#define RETRY_BACKPRESSURE_MS 50

/* Whether some namespace already logged that rpc_pipefs is missing; loop thread only. */
static bool pipefs_missing_logged;

/* Messages read per wakeup, so that one busy namespace cannot starve the loop. */
#define READS_PER_WAKEUP 64

struct nsrd_pipe {
	struct nsrd *daemon;
	struct nsrd_netns *ns;	/* loop thread only */
	uint64_t netns_id;
	char netns_name[64];

	/* Loop thread only. */
	int mount_fd;		/* the detached rpc_pipefs mount, or -1 */
	int dir_fd;		/* its nfsd directory, O_PATH, or -1 */
	int inotify_fd;
	struct event *inotify_event;
	struct event *read_event;
	struct event *retry_timer;
	struct pipe_request *held;	/* waits for room in the server's queue */
	bool stopped;
	bool missing_logged;
	uint8_t buf[NSR_PIPE_MSG_MAX + 1];	/* one more byte reveals an oversized message */

	/* Shared with workers, under lock. */
	pthread_mutex_t lock;
	int fd;			/* the open pipe, or -1 */
	bool is_socket;		/* daemon tests: send with MSG_NOSIGNAL */
	uint64_t generation;	/* bumped at each open: answers never cross pipes */
	size_t msg_size;	/* the size nfsd expects now, for answers to malformed messages */
	uint32_t *inflight;	/* xids read and not answered yet */
	size_t n_inflight;
	size_t cap_inflight;

	struct nsrd_pipe_stats stats;	/* updated with __atomic builtins */
};

/* One upcall, from its message to its answer. */
struct pipe_request {
	struct nsr_request req;
	struct nsr_pipe_hdr hdr;
	uint64_t netns_id;
	uint64_t generation;
	char netns_name[64];
	const char *server_name;	/* the server outlives its queued requests */
	uint64_t skipped;		/* GRACE_START: records the kernel would reject */
};

static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static struct nsrd_pipe *pipe_lookup_rcu(uint64_t netns_id)
{
	struct nsrd_netns *ns = nsrd_netns_lookup_rcu(netns_id);

	return ns ? rcu_dereference(ns->pipe) : NULL;
}

/* ---- in-flight xids, under p->lock ------------------------------------- */

static bool inflight_has(struct nsrd_pipe *p, uint32_t xid)
{
	for (size_t i = 0; i < p->n_inflight; i++)
		if (p->inflight[i] == xid)
			return true;
	return false;
}

static int inflight_add(struct nsrd_pipe *p, uint32_t xid)
{
	if (p->n_inflight == p->cap_inflight) {
		size_t cap = p->cap_inflight ? 2 * p->cap_inflight : 64;
		uint32_t *all = reallocarray(p->inflight, cap, sizeof(*all));

		if (!all)
			return -ENOMEM;
		p->inflight = all;
		p->cap_inflight = cap;
	}
	p->inflight[p->n_inflight++] = xid;
	return 0;
}

static void inflight_del(struct nsrd_pipe *p, uint32_t xid)
{
	for (size_t i = 0; i < p->n_inflight; i++) {
		if (p->inflight[i] == xid) {
			p->inflight[i] = p->inflight[--p->n_inflight];
			return;
		}
	}
}

/* ---- writing ------------------------------------------------------------- */

/* Write one whole message to the open pipe; p->lock is held. */
static int pipe_write_locked(struct nsrd_pipe *p, const uint8_t *msg, size_t size)
{
	ssize_t n;

	do {
		if (p->is_socket)
			n = send(p->fd, msg, size, MSG_NOSIGNAL);
		else
			n = write(p->fd, msg, size);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return -errno;
	if ((size_t)n != size)
		return -EMSGSIZE;
	return 0;
}

/*
 * Send one message for an upcall read from pipe generation @generation.
 * With @final, the xid leaves the in-flight set. Returns 0, -ENOTCONN when
 * the namespace is no longer served or the pipe it came from is gone, or
 * the write error (nfsd answers -EINVAL for an xid it no longer waits for).
 */
static int pipe_send(uint64_t netns_id, uint64_t generation, uint32_t xid, const uint8_t *msg,
		     size_t size, bool final)
{
	struct nsrd_pipe *p;
	int r;

	rcu_read_lock();
	p = pipe_lookup_rcu(netns_id);
	if (!p) {
		rcu_read_unlock();
		return -ENOTCONN;
	}

	pthread_mutex_lock(&p->lock);
	if (p->fd < 0 || p->generation != generation)
		r = -ENOTCONN;
	else
		r = pipe_write_locked(p, msg, size);
	if (final && p->generation == generation)
		inflight_del(p, xid);
	pthread_mutex_unlock(&p->lock);

	if (final)
		stat_add(r < 0 ? &p->stats.answer_errors : &p->stats.answers, 1);
	else
		stat_add(r < 0 ? &p->stats.answer_errors : &p->stats.records, 1);
	rcu_read_unlock();
	return r;
}

/*
 * Answer an upcall that never reaches the dispatcher, from the loop thread.
 * The size follows the upcall's version, or what nfsd expects now when the
 * version is not one the codec knows.
 */
static void pipe_answer_now(struct nsrd_pipe *p, const struct nsr_pipe_hdr *hdr, int status)
{
	uint8_t msg[NSR_PIPE_MSG_MAX];
	struct nsr_pipe_hdr h = *hdr;
	int n, r;

	pthread_mutex_lock(&p->lock);
	if (!nsr_pipe_msg_size(h.version))
		h.version = p->msg_size == NSR_PIPE_MSG_V2_SIZE ? 2 : 1;
	pthread_mutex_unlock(&p->lock);

	n = nsr_pipe_build_status(&h, status, msg);
	if (n < 0) {
		nsr_log_error("netns %s: answering xid %u failed: %s", p->netns_name, h.xid,
			      nsr_pipe_strerror());
		return;
	}

	pthread_mutex_lock(&p->lock);
	r = p->fd < 0 ? -ENOTCONN : pipe_write_locked(p, msg, (size_t)n);
	pthread_mutex_unlock(&p->lock);

	stat_add(r < 0 ? &p->stats.answer_errors : &p->stats.answers, 1);
	if (r < 0)
		nsr_log_error_errno(r, "netns %s: answering %s xid %u with status %d failed: %m",
				    p->netns_name, nsr_pipe_cmd_name(h.cmd), h.xid, status);
}

/* ---- completion, on workers ---------------------------------------------- */

/*
 * Send one reclaimable record of a GraceStart. Returns 0, 1 for a record
 * skipped because nfsd would reject it, or a negative errno that stops the
 * stream.
 */
static int pipe_emit_record(struct nsr_request *req, const struct nsr_record *rec)
{
	struct pipe_request *pr = caa_container_of(req, struct pipe_request, req);
	uint8_t msg[NSR_PIPE_MSG_MAX];
	char id[NSR_CLIENTID_TEXT_MAX];
	int n, r;

	n = nsr_pipe_build_record(pr->hdr.version, pr->hdr.xid, rec->id, rec->id_len,
				  rec->princhash, rec->princhash_len, msg);
	if (n < 0) {
		pr->skipped++;
		nsr_log_warning_errno(n, "netns %s server %s: not sending reclaim record of client \"%s\", which nfsd would reject: %s",
				      pr->netns_name, pr->server_name,
				      nsr_clientid_format(rec->id, rec->id_len, id), nsr_pipe_strerror());
		return 1;
	}

	r = pipe_send(pr->netns_id, pr->generation, pr->hdr.xid, msg, (size_t)n, false);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s server %s: sending reclaim record of client \"%s\" for GraceStart xid %u failed: %m",
					   pr->netns_name, pr->server_name,
					   nsr_clientid_format(rec->id, rec->id_len, id), pr->hdr.xid);
	return 0;
}

static void log_outcome(struct pipe_request *pr, int answer_error)
{
	struct nsr_request *req = &pr->req;
	char id[NSR_CLIENTID_TEXT_MAX];

	if (answer_error < 0) {
		nsr_log_error_errno(answer_error,
				    "netns %s server %s: answering %s xid %u (status %d) failed: %m%s",
				    pr->netns_name, pr->server_name, nsr_pipe_cmd_name(pr->hdr.cmd),
				    pr->hdr.xid, req->status,
				    answer_error == -ENOTCONN ? " (the pipe it came from is gone)" : "");
		return;
	}

	switch (req->op) {
	case NSR_OP_GRACE_START:
		if (req->status < 0)
			nsr_log_error_errno(req->status, "netns %s server %s: grace start failed after %llu reclaim records: %m; nfsd now falls back to another tracking method",
					    pr->netns_name, pr->server_name,
					    (unsigned long long)req->records_sent);
		else
			nsr_log_info("netns %s server %s: grace start over the cld pipe (version %u): sent %llu reclaimable clients%s",
				     pr->netns_name, pr->server_name, pr->hdr.version,
				     (unsigned long long)req->records_sent,
				     pr->skipped ? ", skipped some that nfsd would reject" : "");
		return;
	case NSR_OP_GRACE_DONE:
		if (req->status < 0)
			nsr_log_error_errno(req->status, "netns %s server %s: grace done failed: %m",
					    pr->netns_name, pr->server_name);
		else
			nsr_log_info("netns %s server %s: grace period ended, recovery epoch dropped",
				     pr->netns_name, pr->server_name);
		return;
	default:
		break;
	}

	nsr_clientid_format(req->client.id, req->client.id_len, id);
	if (req->status < 0)
		nsr_log_error_errno(req->status, "netns %s server %s: %s client \"%s\" failed: %m",
				    pr->netns_name, pr->server_name, nsr_op_name(req->op), id);
	else
		nsr_log_debug("netns %s server %s: %s client \"%s\": done", pr->netns_name,
			      pr->server_name, nsr_op_name(req->op), id);
}

static void pipe_request_free(struct pipe_request *pr)
{
	if (!pr)
		return;
	nsr_request_release(&pr->req);
	free(pr);
}

/* Answer one request, on a worker, after its commit. */
static void pipe_request_complete(struct nsr_request *req)
{
	struct pipe_request *pr = caa_container_of(req, struct pipe_request, req);
	uint8_t msg[NSR_PIPE_MSG_MAX];
	int n, r;

	n = nsr_pipe_build_status(&pr->hdr, req->status < INT16_MIN ? -EIO : req->status, msg);
	if (n < 0)
		r = n;
	else
		r = pipe_send(pr->netns_id, pr->generation, pr->hdr.xid, msg, (size_t)n, true);

	log_outcome(pr, r);
	pipe_request_free(pr);
}

/* ---- reading, on the loop thread ---------------------------------------- */

static void retry_later(struct nsrd_pipe *p, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (!p->stopped && p->retry_timer)
		evtimer_add(p->retry_timer, &tv);
}

/*
 * Submit a parsed request. Returns 0 once queued or answered, or -EAGAIN
 * when the server's queue is full: the caller holds the request and stops
 * reading until there is room.
 */
static int pipe_submit(struct nsrd_pipe *p, struct pipe_request *pr)
{
	struct nsrd_server *srv;
	const char *name;
	int r;

	/* The pipe carries no scope: bind by the configured server name, else the netns name. */
	name = p->ns->config && p->ns->config->server ? p->ns->config->server : p->ns->name;
	r = nsrd_server_bind(p->daemon, p->ns, name, pr->req.op == NSR_OP_GRACE_START, &srv);
	if (r < 0)
		goto answer;

	pr->server_name = srv->name;
	r = nsr_dispatch_submit(srv->queue, &pr->req);
	if (r == -EAGAIN)
		return -EAGAIN;
	if (r < 0)
		goto answer;

	stat_add(&p->stats.upcalls, 1);
	return 0;

answer:
	pthread_mutex_lock(&p->lock);
	inflight_del(p, pr->hdr.xid);
	pthread_mutex_unlock(&p->lock);
	pipe_answer_now(p, &pr->hdr, r);
	pipe_request_free(pr);
	return 0;
}

static void pipe_handle_version(struct nsrd_pipe *p, const struct nsr_pipe_hdr *hdr)
{
	uint8_t msg[NSR_PIPE_MSG_MAX];
	int n, r;

	n = nsr_pipe_build_version(hdr->xid, NSR_PIPE_VERSION_MAX, msg);
	if (n < 0) {
		pipe_answer_now(p, hdr, n);
		return;
	}

	pthread_mutex_lock(&p->lock);
	r = p->fd < 0 ? -ENOTCONN : pipe_write_locked(p, msg, (size_t)n);
	if (r == 0)
		p->msg_size = nsr_pipe_msg_size(NSR_PIPE_VERSION_MAX);
	pthread_mutex_unlock(&p->lock);

	stat_add(r < 0 ? &p->stats.answer_errors : &p->stats.versions, 1);
	if (r < 0)
		nsr_log_error_errno(r, "netns %s: answering GetVersion xid %u failed: %m",
				    p->netns_name, hdr->xid);
	else
		nsr_log_info("netns %s: nfsd asked for the cld protocol version; offered %d",
			     p->netns_name, NSR_PIPE_VERSION_MAX);
}

/*
 * Note the xid in flight, unless it already is. Returns 0, -EEXIST for a
 * duplicate, or -ENOMEM.
 */
static int pipe_claim_xid(struct nsrd_pipe *p, const struct nsr_pipe_hdr *hdr)
{
	int r;

	pthread_mutex_lock(&p->lock);
	if (inflight_has(p, hdr->xid))
		r = -EEXIST;
	else
		r = inflight_add(p, hdr->xid);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Handle one message read from the pipe. Returns -EAGAIN when it is held for room. */
static int pipe_handle_message(struct nsrd_pipe *p, const uint8_t *buf, size_t len)
{
	struct pipe_request *pr;
	struct nsr_pipe_hdr hdr;
	int r;

	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		if (nsr_pipe_parse_hdr(buf, len, &hdr) == 0)
			pipe_answer_now(p, &hdr, -ENOMEM);
		return nsr_log_error_errno(-ENOMEM, "netns %s: out of memory for an upcall",
					   p->netns_name);
	}

	r = nsr_pipe_parse_upcall(buf, len, &pr->hdr, &pr->req);
	hdr = pr->hdr;
	if (r == -EBADMSG) {
		stat_add(&p->stats.dropped, 1);
		nsr_log_warning("netns %s: dropping an unanswerable message: %s", p->netns_name,
				nsr_pipe_strerror());
		pipe_request_free(pr);
		return 0;
	}

	if (r == 0 && pr->req.op == NSR_OP_VERSION) {
		pipe_request_free(pr);
		pipe_handle_version(p, &hdr);
		return 0;
	}

	if (pipe_claim_xid(p, &hdr) == -EEXIST) {
		stat_add(&p->stats.duplicates, 1);
		nsr_log_warning("netns %s: %s xid %u is already in flight on this pipe; answering -EEXIST",
				p->netns_name, nsr_pipe_cmd_name(hdr.cmd), hdr.xid);
		pipe_request_free(pr);
		pipe_answer_now(p, &hdr, -EEXIST);
		return 0;
	}

	if (r < 0) {
		stat_add(&p->stats.rejected, 1);
		nsr_log_warning_errno(r, "netns %s: rejecting upcall: %s: %m%s", p->netns_name,
				      nsr_pipe_strerror(),
				      hdr.cmd == NSR_PIPE_CHECK ?
					      "; nfsd fell back to its old protocol, usually after a failed grace start: restart nfsd" :
					      "");
		pthread_mutex_lock(&p->lock);
		inflight_del(p, hdr.xid);
		pthread_mutex_unlock(&p->lock);
		pipe_request_free(pr);
		pipe_answer_now(p, &hdr, r);
		return 0;
	}

	pthread_mutex_lock(&p->lock);
	pr->generation = p->generation;
	p->msg_size = len;
	pthread_mutex_unlock(&p->lock);

	pr->req.time = nsrd_now();
	pr->req.complete = pipe_request_complete;
	pr->req.emit_record = pipe_emit_record;
	pr->netns_id = p->netns_id;
	snprintf(pr->netns_name, sizeof(pr->netns_name), "%s", p->netns_name);

	r = pipe_submit(p, pr);
	if (r == -EAGAIN)
		p->held = pr;
	return r;
}

static void pipe_close_instance(struct nsrd_pipe *p, const char *why);

/* Whether the peer hung up: rpc_pipefs reports that when nfsd removed the pipe. */
static bool pipe_hung_up(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

static void pipe_read_messages(struct nsrd_pipe *p)
{
	for (int i = 0; i < READS_PER_WAKEUP && !p->held; i++) {
		ssize_t n = read(p->fd, p->buf, sizeof(p->buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			nsr_log_info_errno(-errno, "netns %s: the cld pipe went away (%m); waiting for nfsd to create it again",
					   p->netns_name);
			pipe_close_instance(p, "read error");
			return;
		}
		/* rpc_pipefs returns 0 when no message is queued; a socket, when the peer left. */
		if (n == 0) {
			if (i == 0 && pipe_hung_up(p->fd))
				pipe_close_instance(p, "hung up");
			return;
		}

		if (pipe_handle_message(p, p->buf, (size_t)n) == -EAGAIN) {
			event_del(p->read_event);
			retry_later(p, RETRY_BACKPRESSURE_MS);
			return;
		}
	}
}

static void on_pipe_readable(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd_pipe *p = userdata;

	if (!p->stopped && p->fd >= 0)
		pipe_read_messages(p);
}

/* Retry the held request; read again once it is queued. */
static void pipe_resume(struct nsrd_pipe *p)
{
	struct pipe_request *pr = NSR_TAKE_PTR(p->held);

	if (pipe_submit(p, pr) == -EAGAIN) {
		p->held = pr;
		retry_later(p, RETRY_BACKPRESSURE_MS);
		return;
	}
	if (p->fd >= 0 && p->read_event) {
		event_add(p->read_event, NULL);
		pipe_read_messages(p);
	}
}

/* ---- opening and closing the pipe ---------------------------------------- */

/* Start serving @fd as a new pipe instance; @fd is taken over. */
static int pipe_open_instance(struct nsrd_pipe *p, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}

	pthread_mutex_lock(&p->lock);
	p->fd = fd;
	p->is_socket = S_ISSOCK(st.st_mode);
	p->generation++;
	p->msg_size = NSR_PIPE_MSG_V1_SIZE; /* nfsd starts with GetVersion at version 1 */
	p->n_inflight = 0;
	pthread_mutex_unlock(&p->lock);

	p->read_event = event_new(p->daemon->base, fd, EV_READ | EV_PERSIST, on_pipe_readable, p);
	if (!p->read_event || event_add(p->read_event, NULL) < 0) {
		pipe_close_instance(p, "out of memory");
		return nsr_log_error_errno(-ENOMEM, "netns %s: pipe event: out of memory",
					   p->netns_name);
	}

	stat_add(&p->stats.opens, 1);
	nsr_log_info("netns %s: serving nfsd's cld pipe", p->netns_name);

	/* nfsd may have queued GetVersion before the open returned. */
	pipe_read_messages(p);
	return 0;
}

/*
 * Close the current pipe. Requests read from it are still answered by
 * the workers, but their answers are dropped: nfsd failed those upcalls
 * when the pipe closed, and a new pipe reuses xids.
 */
static void pipe_close_instance(struct nsrd_pipe *p, const char *why)
{
	if (p->read_event)
		event_free(p->read_event);
	p->read_event = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->n_inflight = 0;
	pthread_mutex_unlock(&p->lock);

	nsr_log_debug("netns %s: cld pipe closed: %s", p->netns_name, why);
}

/* Open nfsd/cld if it exists. Returns 0 whether or not it does, or a negative errno. */
static int pipe_try_open(struct nsrd_pipe *p)
{
	int fd;

	if (p->fd >= 0 || p->dir_fd < 0)
		return 0;

	fd = openat(p->dir_fd, PIPEFS_CLD_PIPE, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return nsr_log_error_errno(-errno, "netns %s: opening nfsd's cld pipe failed: %m",
					   p->netns_name);
	return pipe_open_instance(p, fd);
}

static void on_inotify(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd_pipe *p = userdata;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool created = false, deleted = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *c = buf; c < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)c;

			if (ev->len && strcmp(ev->name, PIPEFS_CLD_PIPE) == 0) {
				if (ev->mask & (IN_CREATE | IN_MOVED_TO))
					created = true;
				if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
					deleted = true;
			}
			c += sizeof(*ev) + ev->len;
		}
	}

	if (p->stopped)
		return;
	if (deleted && p->fd >= 0 && !created)
		pipe_close_instance(p, "nfsd removed the pipe");
	if (created) {
		/* A new nfsd instance: the old pipe, if still open, is dead. */
		if (p->fd >= 0)
			pipe_close_instance(p, "nfsd created a new pipe");
		pipe_try_open(p);
	}
}

struct mount_ctx {
	int mount_fd;
	char error[128];
};

/* Runs inside the target namespace: rpc_pipefs picks its superblock by this thread's netns. */
static int pipefs_mount_in_netns(void *userdata)
{
	struct mount_ctx *ctx = userdata;
	_cleanup_close_ int fs_fd = -1;
	int fd;

	fs_fd = fsopen("rpc_pipefs", FSOPEN_CLOEXEC);
	if (fs_fd < 0) {
		snprintf(ctx->error, sizeof(ctx->error), "fsopen");
		return -errno;
	}
	if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		snprintf(ctx->error, sizeof(ctx->error), "fsconfig");
		return -errno;
	}
	fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
		     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (fd < 0) {
		snprintf(ctx->error, sizeof(ctx->error), "fsmount");
		return -errno;
	}
	ctx->mount_fd = fd;
	return 0;
}

/* Watch the nfsd directory of the mount; inotify needs a path, so go through /proc. */
static int pipe_watch_dir(struct nsrd_pipe *p)
{
	char path[64];

	p->dir_fd = openat(p->mount_fd, PIPEFS_NFSD_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0)
		return nsr_log_error_errno(-errno, "netns %s: rpc_pipefs has no %s directory: %m",
					   p->netns_name, PIPEFS_NFSD_DIR);

	p->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->inotify_fd < 0)
		return nsr_log_error_errno(-errno, "netns %s: inotify_init1 failed: %m", p->netns_name);

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->dir_fd);
	if (inotify_add_watch(p->inotify_fd, path,
			      IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR) < 0)
		return nsr_log_error_errno(-errno, "netns %s: watching rpc_pipefs's %s directory failed: %m",
					   p->netns_name, PIPEFS_NFSD_DIR);

	p->inotify_event = event_new(p->daemon->base, p->inotify_fd, EV_READ | EV_PERSIST,
				     on_inotify, p);
	if (!p->inotify_event || event_add(p->inotify_event, NULL) < 0)
		return nsr_log_error_errno(-ENOMEM, "netns %s: inotify event: out of memory",
					   p->netns_name);
	return 0;
}

static int pipe_mount(struct nsrd_pipe *p)
{
	struct mount_ctx ctx = { .mount_fd = -1 };
	int r;

	r = nsrd_netns_run_in(p->daemon, p->ns, pipefs_mount_in_netns, &ctx);
	if (r == -ENODEV) {
		/* rpc_pipefs is missing host-wide, so one notice covers every namespace. */
		if (!p->missing_logged)
			nsr_log_internal(pipefs_missing_logged ? LOG_DEBUG : LOG_NOTICE, 0,
					 "netns %s: rpc_pipefs is not available yet (is the sunrpc module loaded?); checking every %d ms",
					 p->netns_name, RETRY_MOUNT_MS);
		p->missing_logged = true;
		pipefs_missing_logged = true;
		retry_later(p, RETRY_MOUNT_MS);
		return 0;
	}
	if (r == -EPERM || r == -EACCES)
		return nsr_log_error_errno(r, "netns %s: mounting rpc_pipefs inside the namespace failed at %s: %m; the daemon needs CAP_SYS_ADMIN",
					   p->netns_name, ctx.error[0] ? ctx.error : "entering it");
	if (r == -ENOSYS)
		return nsr_log_error_errno(r, "netns %s: this kernel has no fsopen() (Linux 5.2 or later is needed), so the pipe transport is not available: %m",
					   p->netns_name);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s: mounting rpc_pipefs inside the namespace failed at %s: %m",
					   p->netns_name, ctx.error[0] ? ctx.error : "entering it");

	p->mount_fd = ctx.mount_fd;
	r = pipe_watch_dir(p);
	if (r < 0)
		return r;

	nsr_log_info("netns %s: watching rpc_pipefs for nfsd's cld pipe", p->netns_name);
	return pipe_try_open(p);
}

static void on_retry(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd_pipe *p = userdata;

	if (p->stopped)
		return;
	if (p->held) {
		pipe_resume(p);
		return;
	}
	if (p->mount_fd < 0 && p->ns->fd >= 0 && pipe_mount(p) < 0)
		retry_later(p, RETRY_MOUNT_MS);
}

/* ---- life cycle ------------------------------------------------------------ */

static int pipe_new(struct nsrd *d, struct nsrd_netns *ns, struct nsrd_pipe **ret)
{
	struct nsrd_pipe *p;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;

	p->daemon = d;
	p->ns = ns;
	p->netns_id = ns->id;
	snprintf(p->netns_name, sizeof(p->netns_name), "%s", ns->name);
	p->mount_fd = -1;
	p->dir_fd = -1;
	p->inotify_fd = -1;
	p->fd = -1;
	p->msg_size = NSR_PIPE_MSG_V1_SIZE;
	pthread_mutex_init(&p->lock, NULL);

	p->retry_timer = evtimer_new(d->base, on_retry, p);
	if (!p->retry_timer) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		return -ENOMEM;
	}

	rcu_assign_pointer(ns->pipe, p);
	*ret = p;
	return 0;
}

int nsrd_pipe_attach(struct nsrd *d, struct nsrd_netns *ns)
{
	struct nsrd_pipe *p;
	int r;

	r = pipe_new(d, ns, &p);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s: pipe transport: out of memory", ns->name);
	return pipe_mount(p);
}

int nsrd_pipe_attach_fd(struct nsrd *d, struct nsrd_netns *ns, int fd)
{
	struct nsrd_pipe *p;
	int r;

	r = pipe_new(d, ns, &p);
	if (r < 0) {
		close(fd);
		return r;
	}
	return pipe_open_instance(p, fd);
}

void nsrd_pipe_stop(struct nsrd_pipe *p)
{
	struct pipe_request *held = NSR_TAKE_PTR(p->held);

	p->stopped = true;
	if (held) {
		pthread_mutex_lock(&p->lock);
		inflight_del(p, held->hdr.xid);
		pthread_mutex_unlock(&p->lock);
		pipe_answer_now(p, &held->hdr, -ESHUTDOWN);
		pipe_request_free(held);
	}

	if (p->read_event)
		event_free(p->read_event);
	p->read_event = NULL;
	if (p->inotify_event)
		event_free(p->inotify_event);
	p->inotify_event = NULL;
	if (p->retry_timer)
		event_free(p->retry_timer);
	p->retry_timer = NULL;
}

void nsrd_pipe_free(struct nsrd_pipe *p)
{
	if (!p)
		return;

	if (p->read_event)
		event_free(p->read_event);
	if (p->inotify_event)
		event_free(p->inotify_event);
	if (p->retry_timer)
		event_free(p->retry_timer);
	if (p->held)
		pipe_request_free(p->held);
	if (p->fd >= 0)
		close(p->fd);
	if (p->inotify_fd >= 0)
		close(p->inotify_fd);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	/* The last reference to the detached mount: rpc_pipefs is unmounted here. */
	if (p->mount_fd >= 0)
		close(p->mount_fd);
	pthread_mutex_destroy(&p->lock);
	free(p->inflight);
	free(p);
}

void nsrd_pipe_get_stats(struct nsrd_pipe *p, struct nsrd_pipe_stats *ret)
{
	ret->opens = __atomic_load_n(&p->stats.opens, __ATOMIC_RELAXED);
	ret->upcalls = __atomic_load_n(&p->stats.upcalls, __ATOMIC_RELAXED);
	ret->versions = __atomic_load_n(&p->stats.versions, __ATOMIC_RELAXED);
	ret->rejected = __atomic_load_n(&p->stats.rejected, __ATOMIC_RELAXED);
	ret->duplicates = __atomic_load_n(&p->stats.duplicates, __ATOMIC_RELAXED);
	ret->dropped = __atomic_load_n(&p->stats.dropped, __ATOMIC_RELAXED);
	ret->answers = __atomic_load_n(&p->stats.answers, __ATOMIC_RELAXED);
	ret->records = __atomic_load_n(&p->stats.records, __ATOMIC_RELAXED);
	ret->answer_errors = __atomic_load_n(&p->stats.answer_errors, __ATOMIC_RELAXED);

	pthread_mutex_lock(&p->lock);
	ret->in_flight = p->n_inflight;
	pthread_mutex_unlock(&p->lock);
}
