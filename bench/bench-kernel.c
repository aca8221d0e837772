/* bench-kernel.c: a load-generating nfsd side of nfsd_cltrack over socketpairs, for many namespaces. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>

#include "bench-kernel.h"
#include "nl-wire.h"

/* nfsd sizes dump datagrams from the reader's buffer; this is a typical size. */
#define DUMP_DATAGRAM_SIZE 32768

/* Events taken per epoll_wait(); the rest stay ready for the next call. */
#define EPOLL_BATCH 256

/*
 * An epoll event's data: the link index shifted left by one, and the low
 * bit set for the answer link. The wake pipe uses WAKE_TOKEN.
 */
#define WAKE_TOKEN UINT64_MAX

int bench_kernel_init(struct bench_kernel *k, size_t lat_samples)
{
	memset(k, 0, sizeof(*k));
	k->epoll_fd = -1;
	if (pipe2(k->wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	return bench_lat_reserve(&k->lat, lat_samples);
}

int bench_kernel_add_link(struct bench_kernel *k, const char *scope, uint32_t tag,
			  unsigned int window, uint64_t total, struct bench_link **ret)
{
	struct timeval tv = { .tv_sec = 5 };
	int event_pair[2], answer_pair[2];
	struct bench_link *l, **links;
	unsigned int cap = 2, *dirty;

	while (cap < 4 * window)
		cap *= 2;

	links = realloc(k->links, (k->n_links + 1) * sizeof(*links));
	if (!links)
		return -ENOMEM;
	k->links = links;
	dirty = realloc(k->dirty, (k->n_links + 1) * sizeof(*dirty));
	if (!dirty)
		return -ENOMEM;
	k->dirty = dirty;

	l = calloc(1, sizeof(*l));
	if (!l || !(l->slots = calloc(cap, sizeof(*l->slots)))) {
		free(l);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, event_pair) < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, answer_pair) < 0)
		return -errno;

	l->event_fd = event_pair[0];
	l->daemon_event_fd = event_pair[1];
	l->answer_fd = answer_pair[0];
	l->daemon_answer_fd = answer_pair[1];
	/* As on a real link: the daemon reads events without blocking and waits for acks. */
	setsockopt(l->daemon_answer_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fcntl(l->daemon_event_fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;

	snprintf(l->scope, sizeof(l->scope), "%s", scope);
	l->index = k->n_links;
	l->tag = tag;
	l->window = window ? window : 1;
	l->total = total;
	l->next_id = 1;
	l->low = 1;
	l->mask = cap - 1;

	k->links[k->n_links++] = l;
	*ret = l;
	return 0;
}

/* Queue new requests up to the window; returns how many were queued. */
static unsigned int link_refill(struct bench_link *l)
{
	unsigned int queued = 0;

	if (l->deadline_ns && bench_now_ns() > l->deadline_ns)
		return 0;
	while (l->issued < __atomic_load_n(&l->total, __ATOMIC_RELAXED) &&
	       l->issued - l->answered < l->window) {
		struct bench_slot *s = &l->slots[l->next_id & l->mask];

		if (s->id != 0)
			break; /* a straggler still holds this slot */
		s->id = l->next_id++;
		s->seq = l->issued;
		s->type = l->issued < l->script_len ? l->script[l->issued] : NFSD_CLTRACK_REQ_CREATE;
		__atomic_store_n(&l->issued, l->issued + 1, __ATOMIC_RELAXED);
		s->queued_ns = bench_now_ns();
		queued++;
	}
	return queued;
}

static void notify(struct bench_kernel *k, struct bench_link *l, uint32_t pending)
{
	struct nl_msg *msg = NULL;

	if (nsr_genl_build_pending_ntf(BENCH_KERNEL_FAMILY, pending, &msg) == 0)
		nl_wire_send_msg(l->event_fd, msg);
	nlmsg_free(msg);
	k->notifications++;
}

static void dump_one(struct bench_link *l, const struct bench_slot *s, uint32_t seq,
		     struct nl_wire_dump *dump)
{
	struct nsr_genl_upcall up;
	struct nl_msg *msg = NULL;

	nsr_genl_upcall_init(&up);
	up.req_id = s->id;
	up.type = s->type;
	snprintf(up.scope, sizeof(up.scope), "%s", l->scope);
	up.boot_time = 1700000000;
	if (s->type == NFSD_CLTRACK_REQ_CREATE)
		bench_client_fill(&up.client, l->tag, s->seq);

	if (nsr_genl_build_upcall(BENCH_KERNEL_FAMILY, 0, seq, &up, &msg) == 0)
		nl_wire_dump_append(dump, nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);
	nsr_genl_upcall_release(&up);
}

static void handle_get_pending(struct bench_kernel *k, struct bench_link *l,
			       const struct nlmsghdr *nlh)
{
	static uint8_t buf[DUMP_DATAGRAM_SIZE];
	struct nl_wire_dump dump;
	uint64_t after_id = 0, id;

	if (nsr_genl_parse_get_pending(nlh, nlh->nlmsg_len, &after_id) < 0) {
		nl_wire_send_ack(l->event_fd, nlh, -EINVAL);
		return;
	}
	k->dumps++;

	nl_wire_dump_init(&dump, l->event_fd, buf, sizeof(buf));
	for (id = after_id + 1 > l->low ? after_id + 1 : l->low; id < l->next_id; id++) {
		const struct bench_slot *s = &l->slots[id & l->mask];

		if (s->id == id)
			dump_one(l, s, nlh->nlmsg_seq, &dump);
	}

	nl_wire_dump_finish(&dump, nlh->nlmsg_seq);
}

static void handle_hello(struct bench_link *l, const struct nlmsghdr *nlh)
{
	struct nsr_genl_hello hello, reply = { .timeout_ms = 30000 };

	if (nsr_genl_parse_hello(nlh, nlh->nlmsg_len, &hello) < 0) {
		nl_wire_send_ack(l->event_fd, nlh, -EINVAL);
		return;
	}
	nl_wire_hello_negotiate(&hello, &reply);
	nl_wire_send_hello_reply(l->event_fd, BENCH_KERNEL_FAMILY, nlh, &reply);
	__atomic_store_n(&l->hello_done, true, __ATOMIC_RELEASE);
}

static void handle_event(struct bench_kernel *k, struct bench_link *l, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);

	if (nlh->nlmsg_type != BENCH_KERNEL_FAMILY)
		return;
	if (gh->cmd == NFSD_CLTRACK_CMD_HELLO)
		handle_hello(l, nlh);
	else if (gh->cmd == NFSD_CLTRACK_CMD_GET_PENDING)
		handle_get_pending(k, l, nlh);
	else
		nl_wire_send_ack(l->event_fd, nlh, -EOPNOTSUPP);
}

static int count_record(const struct nsr_genl_record *rec, void *userdata)
{
	struct bench_link *l = userdata;

	l->records++;
	return 0;
}

static void handle_answer(struct bench_kernel *k, struct bench_link *l, const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *gh = NLMSG_DATA(nlh);
	struct bench_slot *s;
	uint64_t req_id;
	int32_t status;
	int r = -EOPNOTSUPP;

	if (gh->cmd == NFSD_CLTRACK_CMD_REPLY) {
		r = nsr_genl_parse_reply(nlh, nlh->nlmsg_len, &req_id, &status);
		s = &l->slots[req_id & l->mask];
		if (r == 0 && s->id != req_id)
			r = -ENOENT;
		if (r == 0) {
			bench_lat_add(&k->lat, bench_now_ns() - s->queued_ns);
			s->id = 0;
			if (status != 0)
				l->failed++;
			__atomic_add_fetch(&l->answered, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&k->answered, 1, __ATOMIC_RELAXED);
			while (l->low < l->next_id && l->slots[l->low & l->mask].id != l->low)
				l->low++;
			if (!l->dirty) {
				l->dirty = true;
				k->dirty[k->n_dirty++] = l->index;
			}
		}
	} else if (gh->cmd == NFSD_CLTRACK_CMD_GRACE_RECORDS) {
		/* nfsd would also insert each record into its reclaim table; not done here. */
		r = nsr_genl_parse_grace_records(nlh, nlh->nlmsg_len, &req_id, count_record, l);
		if (r == 0)
			l->records_msgs++;
	}
	nl_wire_send_ack(l->answer_fd, nlh, r);
}

static void read_link(struct bench_kernel *k, struct bench_link *l, int fd,
		      void (*handle)(struct bench_kernel *, struct bench_link *,
				     const struct nlmsghdr *))
{
	static uint8_t buf[1 << 17] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t left;

	if (n <= 0)
		return;
	left = (size_t)n;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
		handle(k, l, h);
}

/* Refill one link's window and notify the daemon when something was queued. */
static void refill_link(struct bench_kernel *k, struct bench_link *l)
{
	unsigned int n;

	l->dirty = false;
	n = link_refill(l);
	/* nfsd notifies per request; one notification per refill keeps the same effect. */
	if (n > 0)
		notify(k, l, (uint32_t)(l->issued - l->answered));
}

/* Refill every link (@all), or only those answered since the last refill. */
static void refill(struct bench_kernel *k, bool all)
{
	if (all) {
		for (unsigned int i = 0; i < k->n_links; i++)
			refill_link(k, k->links[i]);
		k->n_dirty = 0;
		return;
	}
	while (k->n_dirty > 0)
		refill_link(k, k->links[k->dirty[--k->n_dirty]]);
}

/* Returns false when the thread must stop. */
static bool handle_wake(struct bench_kernel *k)
{
	char c[16];

	while (read(k->wake_pipe[0], c, sizeof(c)) > 0)
		;
	if (__atomic_load_n(&k->stop, __ATOMIC_ACQUIRE))
		return false;
	if (__atomic_load_n(&k->go, __ATOMIC_ACQUIRE))
		refill(k, true);
	return true;
}

static void handle_ready(struct bench_kernel *k, const struct epoll_event *ev)
{
	struct bench_link *l = k->links[ev->data.u64 >> 1];
	bool answer = ev->data.u64 & 1;
	int fd = answer ? l->answer_fd : l->event_fd;

	if (ev->events & EPOLLIN)
		read_link(k, l, fd, answer ? handle_answer : handle_event);
	/* The daemon closed this namespace: stop watching it. */
	if (ev->events & (EPOLLHUP | EPOLLERR))
		epoll_ctl(k->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

/*
 * Only the sockets that are ready are visited, so a wakeup costs the same
 * with 1 or 1000 links.
 */
static void *kernel_main(void *userdata)
{
	struct bench_kernel *k = userdata;
	struct epoll_event events[EPOLL_BATCH];

	for (;;) {
		int n = epoll_wait(k->epoll_fd, events, EPOLL_BATCH, -1);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (events[i].data.u64 != WAKE_TOKEN)
				handle_ready(k, &events[i]);
			else if (!handle_wake(k))
				return NULL;
		}
		if (__atomic_load_n(&k->go, __ATOMIC_ACQUIRE))
			refill(k, false);
	}
	return NULL;
}

static int watch(struct bench_kernel *k, int fd, uint64_t token)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = token };

	return epoll_ctl(k->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Watch the wake pipe and both sockets of every link. */
static int kernel_watch_all(struct bench_kernel *k)
{
	int r;

	k->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (k->epoll_fd < 0)
		return -errno;

	r = watch(k, k->wake_pipe[0], WAKE_TOKEN);
	for (unsigned int i = 0; r == 0 && i < k->n_links; i++) {
		r = watch(k, k->links[i]->event_fd, (uint64_t)i << 1);
		if (r == 0)
			r = watch(k, k->links[i]->answer_fd, (uint64_t)i << 1 | 1);
	}
	return r;
}

int bench_kernel_start(struct bench_kernel *k)
{
	int r;

	r = kernel_watch_all(k);
	if (r < 0)
		return r;

	r = pthread_create(&k->thread, NULL, kernel_main, k);
	if (r != 0)
		return -r;
	k->running = true;
	return 0;
}

static void wake(struct bench_kernel *k)
{
	if (write(k->wake_pipe[1], "x", 1) < 0 && errno != EAGAIN)
		abort();
}

void bench_kernel_set_total(struct bench_kernel *k, uint64_t total)
{
	for (unsigned int i = 0; i < k->n_links; i++)
		__atomic_store_n(&k->links[i]->total, total, __ATOMIC_RELAXED);
	wake(k);
}

void bench_kernel_go(struct bench_kernel *k)
{
	__atomic_store_n(&k->go, true, __ATOMIC_RELEASE);
	wake(k);
}

unsigned int bench_kernel_hellos(struct bench_kernel *k)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < k->n_links; i++)
		n += __atomic_load_n(&k->links[i]->hello_done, __ATOMIC_ACQUIRE);
	return n;
}

uint64_t bench_kernel_issued(struct bench_kernel *k)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < k->n_links; i++)
		n += __atomic_load_n(&k->links[i]->issued, __ATOMIC_RELAXED);
	return n;
}

uint64_t bench_kernel_answered(struct bench_kernel *k)
{
	return __atomic_load_n(&k->answered, __ATOMIC_RELAXED);
}

void bench_kernel_stop(struct bench_kernel *k)
{
	if (k->running) {
		__atomic_store_n(&k->stop, true, __ATOMIC_RELEASE);
		wake(k);
		pthread_join(k->thread, NULL);
		k->running = false;
	}
	for (unsigned int i = 0; i < k->n_links; i++) {
		struct bench_link *l = k->links[i];

		close(l->event_fd);
		close(l->answer_fd);
		free(l->slots);
		free(l);
	}
	free(k->links);
	free(k->dirty);
	if (k->epoll_fd >= 0)
		close(k->epoll_fd);
	close(k->wake_pipe[0]);
	close(k->wake_pipe[1]);
	bench_lat_free(&k->lat);
	k->links = NULL;
	k->n_links = 0;
}
