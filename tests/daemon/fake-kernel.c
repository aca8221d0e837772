/* fake-kernel.c: nfsd's side of the nfsd_cltrack family, over socketpairs, for daemon tests. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>

#include "fake-kernel.h"
#include "nl-wire.h"

#define DUMP_DATAGRAM_SIZE 16384

static void copy_upcall(struct nsr_genl_upcall *dst, const struct nsr_genl_upcall *src)
{
	*dst = *src;
	dst->client.address = src->client.address ? strdup(src->client.address) : NULL;
	dst->client.principal = src->client.principal ? strdup(src->client.principal) : NULL;
	dst->client.impl_id = src->client.impl_id ? strdup(src->client.impl_id) : NULL;
}

static void handle_get_pending(struct fake_kernel *k, const struct nlmsghdr *nlh)
{
	static __thread uint8_t buf[DUMP_DATAGRAM_SIZE];
	struct nl_wire_dump dump;
	uint64_t after_id = 0;

	if (nsr_genl_parse_get_pending(nlh, nlh->nlmsg_len, &after_id) < 0) {
		nl_wire_send_ack(k->event_fd, nlh, -EINVAL);
		return;
	}

	nl_wire_dump_init(&dump, k->event_fd, buf, sizeof(buf));
	pthread_mutex_lock(&k->lock);
	k->dumps++;
	for (unsigned int i = 0; i < k->n_pending; i++) {
		struct fake_pending *p = &k->pending[i];
		struct nl_msg *msg = NULL;

		if (p->answered || p->up.req_id <= after_id)
			continue;

		if (p->raw) {
			((struct nlmsghdr *)p->raw)->nlmsg_seq = nlh->nlmsg_seq;
			nl_wire_dump_append(&dump, p->raw, p->raw_len);
			continue;
		}
		if (nsr_genl_build_upcall(FAKE_KERNEL_FAMILY, 0, nlh->nlmsg_seq, &p->up, &msg) == 0)
			nl_wire_dump_append(&dump, nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
		nlmsg_free(msg);
	}
	pthread_mutex_unlock(&k->lock);

	nl_wire_dump_finish(&dump, nlh->nlmsg_seq);
}

static void handle_hello(struct fake_kernel *k, const struct nlmsghdr *nlh)
{
	struct nsr_genl_hello hello, reply = { .timeout_ms = 10000 };

	if (nsr_genl_parse_hello(nlh, nlh->nlmsg_len, &hello) < 0) {
		nl_wire_send_ack(k->event_fd, nlh, -EINVAL);
		return;
	}

	pthread_mutex_lock(&k->lock);
	k->hellos++;
	k->daemon_caps = hello.caps;
	nl_wire_hello_negotiate(&hello, &reply);
	reply.pending = k->n_pending;
	pthread_mutex_unlock(&k->lock);

	nl_wire_send_hello_reply(k->event_fd, FAKE_KERNEL_FAMILY, nlh, &reply);
}

static void handle_event_message(struct fake_kernel *k, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != FAKE_KERNEL_FAMILY)
		return;
	if (gh->cmd == NFSD_CLTRACK_CMD_HELLO)
		handle_hello(k, nlh);
	else if (gh->cmd == NFSD_CLTRACK_CMD_GET_PENDING)
		handle_get_pending(k, nlh);
	else
		nl_wire_send_ack(k->event_fd, nlh, -EOPNOTSUPP);
}

static struct fake_pending *find_pending(struct fake_kernel *k, uint64_t req_id)
{
	for (unsigned int i = 0; i < k->n_pending; i++)
		if (k->pending[i].up.req_id == req_id && !k->pending[i].answered)
			return &k->pending[i];
	return NULL;
}

static int collect_record(const struct nsr_genl_record *rec, void *userdata)
{
	struct fake_kernel *k = userdata;
	struct fake_record *r;

	/* The real kernel de-duplicates, so the fake does too. */
	for (unsigned int i = 0; i < k->n_records; i++)
		if (k->records[i].id_len == rec->id_len &&
		    memcmp(k->records[i].id, rec->id, rec->id_len) == 0)
			return 0;
	if (k->n_records >= FAKE_KERNEL_MAX_RECORDS)
		return -ENOSPC;

	r = &k->records[k->n_records++];
	memcpy(r->id, rec->id, rec->id_len);
	r->id_len = rec->id_len;
	r->princhash_len = rec->princhash_len;
	return 0;
}

static void handle_answer_message(struct fake_kernel *k, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);
	struct fake_pending *p;
	uint64_t req_id;
	int32_t status;
	int r = -EOPNOTSUPP;

	pthread_mutex_lock(&k->lock);
	if (gh->cmd == NFSD_CLTRACK_CMD_REPLY) {
		r = nsr_genl_parse_reply(nlh, nlh->nlmsg_len, &req_id, &status);
		if (r == 0) {
			p = find_pending(k, req_id);
			if (p) {
				p->answered = true;
				p->status = status;
				k->replies++;
			} else {
				k->unknown_replies++;
				r = -ENOENT;
			}
		}
	} else if (gh->cmd == NFSD_CLTRACK_CMD_GRACE_RECORDS) {
		r = nsr_genl_parse_grace_records(nlh, nlh->nlmsg_len, &req_id, collect_record, k);
		if (r == 0 && !find_pending(k, req_id))
			r = -ENOENT;
		if (r == 0)
			k->records_msgs++;
	}
	pthread_cond_broadcast(&k->changed);
	pthread_mutex_unlock(&k->lock);

	nl_wire_send_ack(k->answer_fd, nlh, r);
}

static void read_link(struct fake_kernel *k, int fd,
		      void (*handle)(struct fake_kernel *, const struct nlmsghdr *))
{
	static __thread uint8_t buf[1 << 17] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	size_t left;

	if (n <= 0)
		return;
	left = (size_t)n;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
		handle(k, h);
}

static void *kernel_main(void *userdata)
{
	struct fake_kernel *k = userdata;

	for (;;) {
		struct pollfd fds[] = {
			{ .fd = k->event_fd, .events = POLLIN },
			{ .fd = k->answer_fd, .events = POLLIN },
			{ .fd = k->stop_pipe[0], .events = POLLIN },
		};

		if (poll(fds, 3, -1) < 0 && errno != EINTR)
			break;
		if (fds[2].revents)
			break;
		if (fds[0].revents & POLLIN)
			read_link(k, k->event_fd, handle_event_message);
		if (fds[1].revents & POLLIN)
			read_link(k, k->answer_fd, handle_answer_message);
		if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR))
			break;
	}
	return NULL;
}

int fake_kernel_start(struct fake_kernel *k)
{
	int event_pair[2], answer_pair[2];

	memset(k, 0, sizeof(*k));
	k->next_id = 1;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->changed, NULL);

	k->records = calloc(FAKE_KERNEL_MAX_RECORDS, sizeof(*k->records));
	k->pending = calloc(FAKE_KERNEL_MAX_PENDING, sizeof(*k->pending));
	if (!k->records || !k->pending)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, event_pair) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, answer_pair) < 0 ||
	    pipe(k->stop_pipe) < 0)
		return -errno;

	k->event_fd = event_pair[0];
	k->daemon_event_fd = event_pair[1];
	k->answer_fd = answer_pair[0];
	k->daemon_answer_fd = answer_pair[1];

	/* The daemon reads its event link without blocking, and waits on its answer link. */
	{
		struct timeval tv = { .tv_sec = 5 };

		setsockopt(k->daemon_answer_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (fcntl(k->daemon_event_fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;

	return -pthread_create(&k->thread, NULL, kernel_main, k);
}

void fake_kernel_stop(struct fake_kernel *k)
{
	if (write(k->stop_pipe[1], "x", 1) < 0)
		return;
	pthread_join(k->thread, NULL);

	close(k->event_fd);
	close(k->answer_fd);
	close(k->stop_pipe[0]);
	close(k->stop_pipe[1]);
	for (unsigned int i = 0; i < k->n_pending; i++) {
		nsr_genl_upcall_release(&k->pending[i].up);
		free(k->pending[i].raw);
	}
	free(k->records);
	free(k->pending);
}

static void notify(struct fake_kernel *k, uint32_t pending)
{
	struct nl_msg *msg = NULL;

	if (nsr_genl_build_pending_ntf(FAKE_KERNEL_FAMILY, pending, &msg) == 0)
		nl_wire_send_msg(k->event_fd, msg);
	nlmsg_free(msg);
}

uint64_t fake_kernel_queue(struct fake_kernel *k, const struct nsr_genl_upcall *up, bool do_notify)
{
	struct fake_pending *p;
	uint64_t id;

	pthread_mutex_lock(&k->lock);
	p = &k->pending[k->n_pending++];
	copy_upcall(&p->up, up);
	id = p->up.req_id = k->next_id++;
	pthread_mutex_unlock(&k->lock);

	if (do_notify)
		notify(k, 1);
	return id;
}

uint64_t fake_kernel_queue_raw(struct fake_kernel *k, uint64_t req_id, const void *bytes,
			       size_t len)
{
	struct fake_pending *p;

	pthread_mutex_lock(&k->lock);
	p = &k->pending[k->n_pending++];
	nsr_genl_upcall_init(&p->up);
	p->up.req_id = req_id;
	p->raw = malloc(len);
	memcpy(p->raw, bytes, len);
	p->raw_len = len;
	if (k->next_id <= req_id)
		k->next_id = req_id + 1;
	pthread_mutex_unlock(&k->lock);

	notify(k, 1);
	return req_id;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int fake_kernel_wait_answer(struct fake_kernel *k, uint64_t req_id, int32_t *status,
			    void (*pump)(void *ctx), void *ctx, unsigned int timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;

	while (now_ms() < deadline) {
		bool found = false;

		pthread_mutex_lock(&k->lock);
		for (unsigned int i = 0; i < k->n_pending; i++) {
			if (k->pending[i].up.req_id == req_id && k->pending[i].answered) {
				*status = k->pending[i].status;
				found = true;
			}
		}
		pthread_mutex_unlock(&k->lock);

		if (found)
			return 0;
		pump(ctx);
	}
	return -ETIMEDOUT;
}
