/* nsrd-genl.c: the generic netlink transport of one namespace: upcalls in, answers out. */
#include <errno.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nsr-genl.h"
#include "nsr-log.h"
#include "nsrd-genl.h"
#include "nsrd-netns.h"
#include "nsrd-server.h"

/* How long a worker waits for the kernel to acknowledge one answer. */
#define ANSWER_ACK_TIMEOUT_S 5

/* Retry delays: the family is not registered yet; a fetch failed; the queue was full. */
#define RETRY_ATTACH_MS 2000
#define RETRY_FETCH_MS 1000
#define RETRY_BACKPRESSURE_MS 50

/*
 * One datagram of the event link. Dumps pack several messages into one
 * datagram, and the kernel sizes them from the reader's buffer, so a
 * single buffer serves every namespace: only the loop thread reads.
 */
#define EVENT_BUFFER_SIZE (128 * 1024)
static uint8_t event_buffer[EVENT_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));

/* Whether some namespace already logged that the family is missing; loop thread only. */
static bool family_missing_logged;

struct nsrd_genl {
	struct nsrd *daemon;
	struct nsrd_netns *ns;	/* loop thread only */
	uint64_t netns_id;
	char netns_name[64];	/* for logs from workers */

	int family;
	bool netlink;		/* links are netlink sockets: drop non-kernel senders */
	int event_fd;
	int answer_fd;
	struct event *read_event;
	struct event *retry_timer;
	bool stopped;

	/* Event link state, loop thread only. */
	uint32_t event_seq;
	uint32_t hello_seq;
	uint32_t dump_seq;
	bool hello_done;
	bool fetching;
	bool fetch_again;
	bool throttled;
	uint64_t last_id;	/* highest REQ_ID fetched and submitted */
	bool missing_logged;

	/* Answer link, shared by workers. */
	pthread_mutex_t answer_lock;
	uint32_t answer_seq;

	struct nsrd_genl_stats stats;	/* updated with __atomic builtins */
};

/* One fetched request, from its dump message to its answer. */
struct genl_request {
	struct nsr_request req;
	uint64_t netns_id;
	char netns_name[64];
	const char *server_name;	/* the server outlives its queued requests */
	int family;
	struct nl_msg *records;		/* GRACE_START: the GRACE_RECORDS being filled */
	uint64_t skipped;		/* GRACE_START: records the kernel would reject */
};

static void stat_add(uint64_t *counter, uint64_t n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static struct nsrd_genl *genl_lookup_rcu(uint64_t netns_id)
{
	struct nsrd_netns *ns = nsrd_netns_lookup_rcu(netns_id);

	return ns ? rcu_dereference(ns->genl) : NULL;
}

/* Send one message on a link. Netlink links address the kernel, port 0. */
static int link_send(int fd, bool netlink, const struct nlmsghdr *nlh)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		if (netlink)
			n = sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
				   sizeof(kernel));
		else
			n = send(fd, nlh, nlh->nlmsg_len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return -errno;
	if ((size_t)n != nlh->nlmsg_len)
		return -EMSGSIZE;
	return 0;
}

/* Send @len bytes holding one or more netlink messages on a link, in one datagram. */
static int link_send_bytes(int fd, bool netlink, const void *buf, size_t len)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	do {
		if (netlink)
			n = sendto(fd, buf, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
		else
			n = send(fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * Receive one datagram. Sets *from_kernel when the sender is the kernel,
 * which links that are not netlink sockets are trusted to be.
 */
static ssize_t link_recv(int fd, bool netlink, void *buf, size_t size, bool *from_kernel)
{
	struct sockaddr_nl from = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = {
		.msg_name = &from,
		.msg_namelen = sizeof(from),
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n;

	do {
		n = recvmsg(fd, &mh, 0);
	} while (n < 0 && errno == EINTR);

	if (n < 0)
		return -errno;
	if (mh.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;

	*from_kernel = !netlink || from.nl_pid == 0;
	return n;
}

/* Extract the kernel's extended-ack message, when it sent one. */
static const char *nlmsgerr_message(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = NLMSG_DATA(nlh);
	const struct nlattr *nla;
	size_t offset, len;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return "";

	offset = NLMSG_HDRLEN + sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		offset += err->msg.nlmsg_len - NLMSG_HDRLEN;
	if (offset >= nlh->nlmsg_len)
		return "";

	len = nlh->nlmsg_len - offset;
	nla = (const struct nlattr *)((const uint8_t *)nlh + offset);
	while (len >= sizeof(*nla) && nla->nla_len >= sizeof(*nla) && nla->nla_len <= len) {
		size_t payload = nla->nla_len - sizeof(*nla);
		const char *text = (const char *)(nla + 1);

		if ((nla->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && payload > 0 &&
		    text[payload - 1] == '\0')
			return text;
		size_t step = NLA_ALIGN((size_t)nla->nla_len);

		if (step >= len)
			break;
		len -= step;
		nla = (const struct nlattr *)((const uint8_t *)nla + step);
	}
	return "";
}

/*
 * Send @msg on the answer link and wait for the kernel's acknowledgement.
 * The caller holds g->answer_lock. Returns 0, the kernel's negative errno,
 * -ETIMEDOUT, or a send error.
 */
static int answer_transact(struct nsrd_genl *g, struct nl_msg *msg, char *why, size_t why_len)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	uint32_t seq = ++g->answer_seq;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int r;

	why[0] = '\0';
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;

	r = link_send(g->answer_fd, g->netlink, nlh);
	if (r < 0)
		return r;

	for (;;) {
		bool from_kernel;
		ssize_t n = link_recv(g->answer_fd, g->netlink, buf, sizeof(buf), &from_kernel);
		size_t left;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return -ETIMEDOUT;
		if (n < 0)
			return (int)n;
		if (!from_kernel) {
			stat_add(&g->stats.foreign, 1);
			continue;
		}

		left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *err = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*err)))
				return -EBADMSG;
			snprintf(why, why_len, "%s", nlmsgerr_message(h));
			return err->error;
		}
	}
}

/* Send one answer message from a worker, if the namespace is still served. */
static int answer_send(uint64_t netns_id, struct nl_msg *msg, char *why, size_t why_len)
{
	struct nsrd_genl *g;
	int r;

	rcu_read_lock();
	g = genl_lookup_rcu(netns_id);
	if (!g) {
		rcu_read_unlock();
		snprintf(why, why_len, "the namespace is no longer served");
		return -ENOTCONN;
	}

	/* The loop thread closes answer_fd under the same lock when the family goes away. */
	pthread_mutex_lock(&g->answer_lock);
	if (g->answer_fd >= 0) {
		r = answer_transact(g, msg, why, why_len);
	} else {
		snprintf(why, why_len, "nfsd's %s family went away", NFSD_CLTRACK_FAMILY_NAME);
		r = -ENOTCONN;
	}
	pthread_mutex_unlock(&g->answer_lock);

	stat_add(r < 0 ? &g->stats.answer_errors : &g->stats.answers, 1);
	rcu_read_unlock();
	return r;
}

static int records_flush(struct genl_request *gr)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NSR_TAKE_PTR(gr->records);
	char why[256];
	int r;

	if (!msg)
		return 0;

	r = answer_send(gr->netns_id, msg, why, sizeof(why));
	if (r < 0)
		return nsr_log_error_errno(r,
					   "netns %s server %s: sending reclaim records for grace start %llu failed: %m%s%s",
					   gr->netns_name, gr->server_name, (unsigned long long)gr->req.xid,
					   why[0] ? ": " : "", why);
	return 0;
}

/*
 * Add one reclaimable record to the GRACE_RECORDS message being filled,
 * sending it first when it is full. Runs on a worker. Returns 0, 1 for a
 * record skipped because the kernel would reject it, or a negative errno
 * that stops the stream.
 */
static int genl_emit_record(struct nsr_request *req, const struct nsr_record *rec)
{
	struct genl_request *gr = caa_container_of(req, struct genl_request, req);
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!gr->records) {
			r = nsr_genl_build_grace_records(gr->family, req->xid, 0, &gr->records);
			if (r < 0)
				return r;
		}

		r = nsr_genl_grace_records_append(gr->records, rec->id, rec->id_len, rec->princhash,
						  rec->princhash_len);
		if (r != -EMSGSIZE)
			break;

		r = records_flush(gr);
		if (r < 0)
			return r;
	}

	if (r == -EINVAL || r == -E2BIG || r == -ENOBUFS) {
		char id[NSR_CLIENTID_TEXT_MAX];

		gr->skipped++;
		nsr_log_warning_errno(r, "netns %s server %s: not sending reclaim record of client \"%s\", which nfsd would reject: %m",
				      gr->netns_name, gr->server_name,
				      nsr_clientid_format(rec->id, rec->id_len, id));
		return 1;
	}
	return r;
}

static void log_outcome(struct genl_request *gr, int answer_error, const char *why)
{
	struct nsr_request *req = &gr->req;
	char id[NSR_CLIENTID_TEXT_MAX];
	const char *addr = req->client.address ? req->client.address : "unknown address";

	if (answer_error < 0) {
		nsr_log_error_errno(answer_error,
				    "netns %s server %s: answering %s %llu (status %d) failed: %m%s%s",
				    gr->netns_name, gr->server_name, nsr_op_name(req->op),
				    (unsigned long long)req->xid, req->status, why[0] ? ": " : "", why);
		return;
	}

	switch (req->op) {
	case NSR_OP_GRACE_START:
		if (req->status < 0)
			nsr_log_error_errno(req->status, "netns %s server %s: grace start failed after %llu reclaim records: %m",
					    gr->netns_name, gr->server_name,
					    (unsigned long long)req->records_sent);
		else
			nsr_log_info("netns %s server %s: grace start: sent %llu reclaimable clients%s",
				     gr->netns_name, gr->server_name,
				     (unsigned long long)req->records_sent,
				     gr->skipped ? ", skipped some that nfsd would reject" : "");
		return;
	case NSR_OP_GRACE_DONE:
		if (req->status < 0)
			nsr_log_error_errno(req->status, "netns %s server %s: grace done failed: %m",
					    gr->netns_name, gr->server_name);
		else
			nsr_log_info("netns %s server %s: grace period ended, recovery epoch dropped",
				     gr->netns_name, gr->server_name);
		return;
	default:
		break;
	}

	nsr_clientid_format(req->client.id, req->client.id_len, id);
	if (req->status < 0)
		nsr_log_error_errno(req->status, "netns %s server %s: %s client \"%s\" (%s) failed: %m",
				    gr->netns_name, gr->server_name, nsr_op_name(req->op), id, addr);
	else
		nsr_log_debug("netns %s server %s: %s client \"%s\" (%s): done", gr->netns_name,
			      gr->server_name, nsr_op_name(req->op), id, addr);
}

static void genl_request_free(struct genl_request *gr)
{
	nlmsg_free(gr->records);
	nsr_request_release(&gr->req);
	free(gr);
}

/*
 * Answers held back until the end of a worker's batch. The dispatcher
 * completes a batch's requests one after another on one worker, then calls
 * nsrd_genl_flush_answers(). The batch's REPLY messages therefore go to the
 * kernel in one sendmsg(), and their acknowledgements are read together,
 * instead of one round trip per request under the mutex.
 */
#define OUTBOX_MAX 256

struct outbox {
	uint64_t netns_id;	/* every answer in the outbox goes to this namespace */
	size_t n;
	struct genl_request *reqs[OUTBOX_MAX];
	struct nl_msg *replies[OUTBOX_MAX];
	int results[OUTBOX_MAX];
	char reasons[OUTBOX_MAX][128];
};

static __thread struct outbox outbox;
static bool answers_batched;

void nsrd_genl_batch_answers(bool enable)
{
	answers_batched = enable;
}

/*
 * Send every held answer on @g's answer link and read one acknowledgement
 * per answer. The caller holds g->answer_lock. Sets outbox.results[].
 */
static void outbox_transact(struct nsrd_genl *g)
{
	static __thread uint8_t buf[OUTBOX_MAX * 64] __attribute__((aligned(NLMSG_ALIGNTO)));
	uint32_t first = g->answer_seq + 1;
	size_t used = 0, pending = 0;
	int r;

	for (size_t i = 0; i < outbox.n; i++) {
		struct nlmsghdr *nlh = nlmsg_hdr(outbox.replies[i]);

		nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
		nlh->nlmsg_seq = ++g->answer_seq;
		nlh->nlmsg_pid = 0;
		if (used + NLMSG_ALIGN(nlh->nlmsg_len) > sizeof(buf)) {
			outbox.results[i] = -EMSGSIZE;
			continue;
		}
		memcpy(buf + used, nlh, nlh->nlmsg_len);
		used += NLMSG_ALIGN(nlh->nlmsg_len);
		outbox.results[i] = 1; /* waiting for its acknowledgement */
		pending++;
	}

	r = link_send_bytes(g->answer_fd, g->netlink, buf, used);
	if (r < 0) {
		for (size_t i = 0; i < outbox.n; i++)
			if (outbox.results[i] == 1)
				outbox.results[i] = r;
		return;
	}

	while (pending > 0) {
		uint8_t ack[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
		bool from_kernel;
		ssize_t n = link_recv(g->answer_fd, g->netlink, ack, sizeof(ack), &from_kernel);
		size_t left;

		if (n < 0) {
			r = n == -EAGAIN || n == -EWOULDBLOCK ? -ETIMEDOUT : (int)n;
			for (size_t i = 0; i < outbox.n; i++)
				if (outbox.results[i] == 1)
					outbox.results[i] = r;
			return;
		}
		if (!from_kernel) {
			stat_add(&g->stats.foreign, 1);
			continue;
		}

		left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)ack; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			const struct nlmsgerr *err = NLMSG_DATA(h);
			size_t i = h->nlmsg_seq - first;

			if (h->nlmsg_type != NLMSG_ERROR || i >= outbox.n || outbox.results[i] != 1)
				continue;
			outbox.results[i] = h->nlmsg_len < NLMSG_LENGTH(sizeof(*err)) ? -EBADMSG :
										   err->error;
			snprintf(outbox.reasons[i], sizeof(outbox.reasons[i]), "%s",
				 nlmsgerr_message(h));
			pending--;
		}
	}
}

void nsrd_genl_flush_answers(void)
{
	struct nsrd_genl *g;
	bool sent = false;

	if (outbox.n == 0)
		return;

	for (size_t i = 0; i < outbox.n; i++)
		outbox.reasons[i][0] = '\0';

	rcu_read_lock();
	g = genl_lookup_rcu(outbox.netns_id);
	if (g) {
		pthread_mutex_lock(&g->answer_lock);
		if (g->answer_fd >= 0) {
			outbox_transact(g);
			sent = true;
		}
		pthread_mutex_unlock(&g->answer_lock);

		for (size_t i = 0; sent && i < outbox.n; i++)
			stat_add(outbox.results[i] < 0 ? &g->stats.answer_errors : &g->stats.answers, 1);
	}
	rcu_read_unlock();

	for (size_t i = 0; i < outbox.n; i++) {
		if (!sent) {
			outbox.results[i] = -ENOTCONN;
			snprintf(outbox.reasons[i], sizeof(outbox.reasons[i]),
				 "the namespace is no longer served");
		}
		log_outcome(outbox.reqs[i], outbox.results[i], outbox.reasons[i]);
		nlmsg_free(outbox.replies[i]);
		genl_request_free(outbox.reqs[i]);
	}
	outbox.n = 0;
}

/* Hold @reply back until the end of the batch; the outbox owns both afterwards. */
static void outbox_add(struct genl_request *gr, struct nl_msg *reply)
{
	if (outbox.n > 0 && (outbox.netns_id != gr->netns_id || outbox.n == OUTBOX_MAX))
		nsrd_genl_flush_answers();

	outbox.netns_id = gr->netns_id;
	outbox.reqs[outbox.n] = gr;
	outbox.replies[outbox.n] = reply;
	outbox.n++;
}

/* Answer one request, on a worker, after its commit. */
static void genl_request_complete(struct nsr_request *req)
{
	struct genl_request *gr = caa_container_of(req, struct genl_request, req);
	_cleanup_nlmsg_ struct nl_msg *reply = NULL;
	char why[256] = "";
	int r;

	if (req->op == NSR_OP_GRACE_START && req->status == 0) {
		r = records_flush(gr);
		if (r < 0)
			req->status = r;
	}

	r = nsr_genl_build_reply(gr->family, req->xid, req->status, &reply);
	if (r == 0 && answers_batched) {
		outbox_add(gr, NSR_TAKE_PTR(reply));
		return;
	}
	if (r == 0)
		r = answer_send(gr->netns_id, reply, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", nsr_genl_strerror());

	log_outcome(gr, r, why);
	genl_request_free(gr);
}

/* Answer a request that never reached the dispatcher, from the loop thread. */
static void genl_answer_now(struct nsrd_genl *g, uint64_t req_id, int status)
{
	_cleanup_nlmsg_ struct nl_msg *reply = NULL;
	char why[256] = "";
	int r;

	r = nsr_genl_build_reply(g->family, req_id, status, &reply);
	if (r == 0)
		r = answer_send(g->netns_id, reply, why, sizeof(why));
	if (r < 0)
		nsr_log_error_errno(r, "netns %s: answering request %llu with status %d failed: %m%s%s",
				    g->netns_name, (unsigned long long)req_id, status, why[0] ? ": " : "",
				    why);
}

static void retry_later(struct nsrd_genl *g, unsigned int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (!g->stopped)
		evtimer_add(g->retry_timer, &tv);
}

static int event_send(struct nsrd_genl *g, struct nl_msg *msg, uint32_t *seq)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	*seq = ++g->event_seq;
	nlh->nlmsg_seq = *seq;
	nlh->nlmsg_pid = 0;
	return link_send(g->event_fd, g->netlink, nlh);
}

static void genl_fetch(struct nsrd_genl *g)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	if (!g->hello_done || g->stopped)
		return;
	if (g->fetching) {
		g->fetch_again = true;
		return;
	}

	r = nsr_genl_build_get_pending(g->family, g->last_id, &msg);
	if (r == 0)
		r = event_send(g, msg, &g->dump_seq);
	if (r < 0) {
		nsr_log_error_errno(r, "netns %s: fetching pending requests failed, retrying in %d ms: %m",
				    g->netns_name, RETRY_FETCH_MS);
		retry_later(g, RETRY_FETCH_MS);
		return;
	}

	g->fetching = true;
	g->fetch_again = false;
	g->throttled = false;
}

static int genl_send_hello(struct nsrd_genl *g)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	r = nsr_genl_build_hello(g->family, NFSD_CLTRACK_PROTO_VERSION, NSRD_GENL_CAPS, &msg);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s: building HELLO failed: %s", g->netns_name,
					   nsr_genl_strerror());

	r = event_send(g, msg, &g->hello_seq);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s: sending HELLO failed: %m", g->netns_name);
	return 0;
}

/* Turn one dumped request into a dispatcher request. */
static void genl_handle_upcall(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	struct nsrd *d = g->daemon;
	struct nsr_genl_upcall up;
	struct genl_request *gr;
	struct nsrd_server *srv;
	int r;

	if (g->throttled)
		return; /* fetched again once the queue drains */

	nsr_genl_upcall_init(&up);
	r = nsr_genl_parse_upcall(nlh, nlh->nlmsg_len, &up);
	if (r < 0) {
		stat_add(&g->stats.rejected, 1);
		nsr_log_warning_errno(r, "netns %s: rejecting malformed upcall %llu: %s: %m", g->netns_name,
				      (unsigned long long)up.req_id, nsr_genl_strerror());
		if (up.req_id > g->last_id) {
			g->last_id = up.req_id;
			genl_answer_now(g, up.req_id, r);
		}
		goto out;
	}

	if (up.req_id <= g->last_id)
		goto out; /* already submitted; it is still waiting for its answer */

	r = nsrd_server_bind(d, g->ns, up.scope, up.type == NFSD_CLTRACK_REQ_GRACE_START, &srv);
	if (r < 0) {
		g->last_id = up.req_id;
		genl_answer_now(g, up.req_id, r);
		goto out;
	}

	gr = calloc(1, sizeof(*gr));
	if (!gr) {
		nsr_log_error("netns %s: out of memory for request %llu, answering -ENOMEM",
			      g->netns_name, (unsigned long long)up.req_id);
		g->last_id = up.req_id;
		genl_answer_now(g, up.req_id, -ENOMEM);
		goto out;
	}

	r = nsr_genl_upcall_to_request(&up, &gr->req);
	if (r < 0) {
		free(gr);
		g->last_id = up.req_id;
		genl_answer_now(g, up.req_id, r);
		goto out;
	}
	if (gr->req.op == NSR_OP_GRACE_START)
		gr->req.scope = strdup(up.scope);
	gr->req.time = nsrd_now();
	gr->req.complete = genl_request_complete;
	gr->req.emit_record = genl_emit_record;
	gr->netns_id = g->netns_id;
	gr->family = g->family;
	gr->server_name = srv->name;
	snprintf(gr->netns_name, sizeof(gr->netns_name), "%s", g->netns_name);

	r = nsr_dispatch_submit(srv->queue, &gr->req);
	if (r == -EAGAIN) {
		/* Leave it pending in the kernel; it is fetched again after the retry. */
		g->throttled = true;
		genl_request_free(gr);
		goto out;
	}
	if (r < 0) {
		g->last_id = up.req_id;
		genl_answer_now(g, up.req_id, r);
		genl_request_free(gr);
		goto out;
	}

	g->last_id = up.req_id;
	stat_add(&g->stats.upcalls, 1);

out:
	nsr_genl_upcall_release(&up);
}

static void genl_handle_hello_reply(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	struct nsr_genl_hello hello;
	int r;

	r = nsr_genl_parse_hello_reply(nlh, nlh->nlmsg_len, &hello);
	if (r < 0) {
		nsr_log_error_errno(r, "netns %s: invalid HELLO reply: %s: %m", g->netns_name,
				    nsr_genl_strerror());
		return;
	}

	g->hello_done = true;
	g->stats.caps = hello.caps;
	g->stats.hello_done = true;
	nsr_log_info("netns %s: tracking nfsd over generic netlink: protocol %u, capabilities 0x%x, upcall timeout %u ms, %u requests pending",
		     g->netns_name, hello.version, hello.caps, hello.timeout_ms, hello.pending);

	genl_fetch(g);
}

static void genl_handle_error(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = NLMSG_DATA(nlh);

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*err)))
		return;

	if (nlh->nlmsg_seq == g->dump_seq && g->fetching) {
		g->fetching = false;
		if (err->error == 0)
			return;
		nsr_log_error_errno(err->error, "netns %s: GET_PENDING failed, retrying in %d ms: %m%s%s",
				    g->netns_name, RETRY_FETCH_MS, nlmsgerr_message(nlh)[0] ? ": " : "",
				    nlmsgerr_message(nlh));
		retry_later(g, RETRY_FETCH_MS);
		return;
	}

	if (nlh->nlmsg_seq == g->hello_seq && err->error < 0) {
		nsr_log_error_errno(err->error,
				    "netns %s: nfsd refused HELLO: %m%s%s; the daemon needs CAP_NET_ADMIN in the user namespace that owns this network namespace",
				    g->netns_name, nlmsgerr_message(nlh)[0] ? ": " : "",
				    nlmsgerr_message(nlh));
		return;
	}
}

static void genl_handle_done(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_seq != g->dump_seq || !g->fetching)
		return;

	g->fetching = false;
	if (g->throttled)
		retry_later(g, RETRY_BACKPRESSURE_MS);
	else if (g->fetch_again)
		genl_fetch(g);
}

/*
 * Close both links after nfsd unregistered the family, and look for it again.
 * Requests still queued fail to send their answers, which no kernel waits
 * for any more.
 */
static void genl_detach_links(struct nsrd_genl *g)
{
	if (g->read_event)
		event_free(g->read_event);
	g->read_event = NULL;
	close(g->event_fd);
	g->event_fd = -1;

	pthread_mutex_lock(&g->answer_lock);
	close(g->answer_fd);
	g->answer_fd = -1;
	pthread_mutex_unlock(&g->answer_lock);

	g->family = 0;
	g->hello_done = false;
	g->stats.hello_done = false;
	g->fetching = false;
	g->fetch_again = false;
	g->throttled = false;
	g->last_id = 0;
	g->missing_logged = true;
	retry_later(g, RETRY_ATTACH_MS);
}

/* Watch nlctrl's announcements for the family going away. */
static void genl_handle_ctrl(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct genlmsghdr *gh;
	const char *name;

	if (nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN))
		return;
	gh = NLMSG_DATA(nlh);
	if (gh->cmd != CTRL_CMD_DELFAMILY)
		return;
	if (genlmsg_parse((struct nlmsghdr *)nlh, 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME])
		return;

	name = nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]);
	if (strcmp(name, NFSD_CLTRACK_FAMILY_NAME) != 0)
		return;

	nsr_log_notice("netns %s: nfsd unregistered the %s family (nfsd module unloaded?); waiting for it to come back",
		       g->netns_name, NFSD_CLTRACK_FAMILY_NAME);
	genl_detach_links(g);
}

static void genl_handle_message(struct nsrd_genl *g, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *gh;

	switch (nlh->nlmsg_type) {
	case NLMSG_ERROR:
		genl_handle_error(g, nlh);
		return;
	case NLMSG_DONE:
		genl_handle_done(g, nlh);
		return;
	case NLMSG_NOOP:
	case NLMSG_OVERRUN:
		return;
	}

	if (nlh->nlmsg_type == GENL_ID_CTRL && g->netlink) {
		genl_handle_ctrl(g, nlh);
		return;
	}

	if ((int)nlh->nlmsg_type != g->family || nlh->nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) {
		nsr_log_debug("netns %s: ignoring netlink message of type %u", g->netns_name,
			      nlh->nlmsg_type);
		return;
	}

	gh = NLMSG_DATA(nlh);
	switch (gh->cmd) {
	case NFSD_CLTRACK_CMD_PENDING_NTF:
		genl_fetch(g);
		break;
	case NFSD_CLTRACK_CMD_GET_PENDING:
		genl_handle_upcall(g, nlh);
		break;
	case NFSD_CLTRACK_CMD_HELLO:
		genl_handle_hello_reply(g, nlh);
		break;
	default:
		nsr_log_warning("netns %s: ignoring nfsd_cltrack command %u that this daemon does not know",
				g->netns_name, gh->cmd);
	}
}

static void on_event_readable(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd_genl *g = userdata;

	for (;;) {
		bool from_kernel;
		ssize_t n = link_recv(g->event_fd, g->netlink, event_buffer, sizeof(event_buffer),
				      &from_kernel);
		size_t left;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n == -ENOBUFS) {
			/* Notifications were lost; a fetch finds whatever they announced. */
			nsr_log_notice("netns %s: event socket overrun, fetching pending requests",
				       g->netns_name);
			genl_fetch(g);
			continue;
		}
		if (n < 0) {
			nsr_log_error_errno((int)n, "netns %s: reading the event socket failed: %m",
					    g->netns_name);
			return;
		}
		if (n == 0)
			return;
		if (!from_kernel) {
			if (__atomic_add_fetch(&g->stats.foreign, 1, __ATOMIC_RELAXED) <= 10)
				nsr_log_warning("netns %s: dropped a message that did not come from the kernel (netlink port id is not 0)",
						g->netns_name);
			continue;
		}

		left = (size_t)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)event_buffer; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			genl_handle_message(g, h);
			if (g->event_fd < 0)
				return; /* the family went away and the links were closed */
		}
	}
}

static int genl_start(struct nsrd_genl *g, int event_fd, int answer_fd, int family, bool netlink)
{
	g->event_fd = event_fd;
	g->answer_fd = answer_fd;
	g->family = family;
	g->netlink = netlink;

	g->read_event = event_new(g->daemon->base, event_fd, EV_READ | EV_PERSIST, on_event_readable,
				  g);
	if (!g->read_event || event_add(g->read_event, NULL) < 0)
		return nsr_log_error_errno(-ENOMEM, "netns %s: event: out of memory", g->netns_name);

	return genl_send_hello(g);
}

struct open_ctx {
	int family;
	int event_fd;
	int answer_fd;
	char error[256];
};

static int netlink_socket(bool nonblock, uint32_t group)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	struct timeval ack_timeout = { .tv_sec = ANSWER_ACK_TIMEOUT_S };
	int one = 1, rcvbuf = 1 << 20;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0)
		return -errno;

	/* Best effort: an old kernel simply sends plainer acknowledgements. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	if (group) {
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
			return -errno;
	} else if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &ack_timeout, sizeof(ack_timeout)) < 0) {
		return -errno;
	}

	return NSR_TAKE_FD(fd);
}

/* Runs inside the target namespace: resolve the family and open both links. */
static int open_in_netns(void *userdata)
{
	struct open_ctx *ctx = userdata;
	struct nl_sock *sk;
	int family, group, ctrl_group, r;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	r = genl_connect(sk);
	if (r < 0) {
		nl_socket_free(sk);
		snprintf(ctx->error, sizeof(ctx->error), "connecting to generic netlink: %s",
			 nl_geterror(r));
		return -EIO;
	}

	family = genl_ctrl_resolve(sk, NFSD_CLTRACK_FAMILY_NAME);
	group = family < 0 ? family :
			     genl_ctrl_resolve_grp(sk, NFSD_CLTRACK_FAMILY_NAME,
						   NFSD_CLTRACK_MCGRP_TRACKER);
	ctrl_group = genl_ctrl_resolve_grp(sk, "nlctrl", "notify");
	nl_socket_free(sk);
	if (family < 0 || group < 0)
		return -ENOENT;

	r = netlink_socket(true, (uint32_t)group);
	if (r < 0)
		return r;
	ctx->event_fd = r;

	/*
	 * nlctrl announces when nfsd unregisters the family, as it does when
	 * the nfsd module is unloaded; a new module registers it under a new id.
	 */
	if (ctrl_group >= 0 &&
	    setsockopt(ctx->event_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &ctrl_group,
		       sizeof(ctrl_group)) < 0)
		snprintf(ctx->error, sizeof(ctx->error),
			 "joining nlctrl's notify group failed (%s), so an nfsd module reload goes unnoticed",
			 strerror(errno));

	r = netlink_socket(false, 0);
	if (r < 0) {
		close(ctx->event_fd);
		return r;
	}
	ctx->answer_fd = r;
	ctx->family = family;
	return 0;
}

static int genl_connect_netns(struct nsrd_genl *g)
{
	struct open_ctx ctx = { .event_fd = -1, .answer_fd = -1 };
	int r;

	r = nsrd_netns_run_in(g->daemon, g->ns, open_in_netns, &ctx);
	if (r == -ENOENT) {
		/* The family is registered host-wide, so one notice covers every namespace. */
		if (!g->missing_logged)
			nsr_log_internal(family_missing_logged ? LOG_DEBUG : LOG_NOTICE, 0,
					 "netns %s: nfsd has not registered the %s generic netlink family (is the nsrecoveryd nfsd module loaded?); checking every %d ms",
					 g->netns_name, NFSD_CLTRACK_FAMILY_NAME, RETRY_ATTACH_MS);
		g->missing_logged = true;
		family_missing_logged = true;
		retry_later(g, RETRY_ATTACH_MS);
		return 0;
	}
	if (r == -EPERM || r == -EACCES)
		return nsr_log_error_errno(r, "netns %s: joining nfsd's tracker group failed: %m; the daemon needs CAP_NET_ADMIN in the user namespace that owns this network namespace",
					   g->netns_name);
	if (r < 0)
		return nsr_log_error_errno(r, "netns %s: opening netlink sockets failed: %m%s%s",
					   g->netns_name, ctx.error[0] ? ": " : "", ctx.error);

	if (ctx.error[0])
		nsr_log_warning("netns %s: %s", g->netns_name, ctx.error);
	if (g->missing_logged)
		nsr_log_info("netns %s: the %s family is now registered", g->netns_name,
			     NFSD_CLTRACK_FAMILY_NAME);
	return genl_start(g, ctx.event_fd, ctx.answer_fd, ctx.family, true);
}

static void on_retry(evutil_socket_t fd, short what, void *userdata)
{
	struct nsrd_genl *g = userdata;
	int r;

	if (g->stopped)
		return;

	if (g->event_fd < 0) {
		r = genl_connect_netns(g);
		if (r < 0)
			retry_later(g, RETRY_ATTACH_MS);
		return;
	}
	genl_fetch(g);
}

static int genl_new(struct nsrd *d, struct nsrd_netns *ns, struct nsrd_genl **ret)
{
	struct nsrd_genl *g;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;

	g->daemon = d;
	g->ns = ns;
	g->netns_id = ns->id;
	snprintf(g->netns_name, sizeof(g->netns_name), "%s", ns->name);
	g->event_fd = -1;
	g->answer_fd = -1;
	pthread_mutex_init(&g->answer_lock, NULL);

	g->retry_timer = evtimer_new(d->base, on_retry, g);
	if (!g->retry_timer) {
		free(g);
		return -ENOMEM;
	}

	rcu_assign_pointer(ns->genl, g);
	*ret = g;
	return 0;
}

int nsrd_genl_attach(struct nsrd *d, struct nsrd_netns *ns)
{
	struct nsrd_genl *g;
	int r;

	r = genl_new(d, ns, &g);
	if (r < 0)
		return r;
	return genl_connect_netns(g);
}

int nsrd_genl_attach_links(struct nsrd *d, struct nsrd_netns *ns, int event_fd, int answer_fd,
			   int family, bool from_kernel_only)
{
	struct nsrd_genl *g;
	int r;

	r = genl_new(d, ns, &g);
	if (r < 0) {
		close(event_fd);
		close(answer_fd);
		return r;
	}
	return genl_start(g, event_fd, answer_fd, family, from_kernel_only);
}

void nsrd_genl_stop(struct nsrd_genl *g)
{
	g->stopped = true;
	if (g->read_event)
		event_free(g->read_event);
	g->read_event = NULL;
	if (g->retry_timer)
		event_free(g->retry_timer);
	g->retry_timer = NULL;
}

void nsrd_genl_free(struct nsrd_genl *g)
{
	if (!g)
		return;

	if (g->read_event)
		event_free(g->read_event);
	if (g->retry_timer)
		event_free(g->retry_timer);
	if (g->event_fd >= 0)
		close(g->event_fd);
	if (g->answer_fd >= 0)
		close(g->answer_fd);
	pthread_mutex_destroy(&g->answer_lock);
	free(g);
}

void nsrd_genl_get_stats(struct nsrd_genl *g, struct nsrd_genl_stats *ret)
{
	ret->upcalls = __atomic_load_n(&g->stats.upcalls, __ATOMIC_RELAXED);
	ret->rejected = __atomic_load_n(&g->stats.rejected, __ATOMIC_RELAXED);
	ret->foreign = __atomic_load_n(&g->stats.foreign, __ATOMIC_RELAXED);
	ret->answers = __atomic_load_n(&g->stats.answers, __ATOMIC_RELAXED);
	ret->answer_errors = __atomic_load_n(&g->stats.answer_errors, __ATOMIC_RELAXED);
	ret->caps = g->stats.caps;
	ret->hello_done = g->stats.hello_done;
}
