/* test-daemon-pipe.c: the daemon's cld pipe transport against a fake nfsd over a socketpair. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "nsr-pipe.h"
#include "nsr-store.h"
#include "nsr-test.h"
#include "nsrd-netns.h"
#include "nsrd-pipe.h"
#include "nsrd-server.h"

/*
 * The fake kernel is the test thread itself: it writes cld messages on its
 * end of a SOCK_SEQPACKET socketpair, which keeps message boundaries as
 * rpc_pipefs does, and reads the daemon's answers while it runs the
 * daemon's event loop.
 */

#define MAX_XID 64
#define MAX_RECORDS 64

struct answer_log {
	bool final;
	int16_t status;
	unsigned int n_answers;		/* final answers for this xid; must end up 1 */
	unsigned int n_records;
	struct nsr_client records[MAX_RECORDS];
	uint8_t max_version;
};

struct harness {
	char *state_dir;
	struct nsr_settings settings;
	struct nsr_netns_settings netns_settings;
	struct nsrd d;
	struct nsrd_netns *ns;
	int kernel_fd;
	unsigned int version;		/* the version nfsd negotiated */
	struct answer_log log[MAX_XID];
	unsigned int bad_answers;	/* answers nfsd would refuse */
	unsigned int order[MAX_XID];	/* xids in the order of their final answers */
	unsigned int n_order;
};

static void harness_start(struct harness *h, const char *server)
{
	struct nsr_dispatcher_options dopts = { .workers = 2, .max_batch = 64, .max_queue = 1024 };
	int sv[2];

	memset(h, 0, sizeof(*h));
	h->state_dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(h->state_dir);
	h->settings.state_dir = strdup(h->state_dir);
	h->settings.workers = 2;
	h->settings.max_batch = 64;
	if (server) {
		h->netns_settings.name = (char *)"srv1";
		h->netns_settings.server = (char *)server;
		h->settings.netns = &h->netns_settings;
		h->settings.n_netns = 1;
	}

	h->d.settings = &h->settings;
	h->d.self_netns_fd = -1;
	h->d.inotify_fd = -1;
	h->d.netns_dir_wd = -1;
	h->d.base = event_base_new();
	ck_assert_ptr_nonnull(h->d.base);
	ck_assert_int_eq(nsr_dispatcher_new(&dopts, &h->d.dispatcher), 0);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	h->kernel_fd = sv[0];
	h->version = 1;
	ck_assert_int_eq(nsrd_netns_add_external(&h->d, "srv1", &h->ns), 0);
	ck_assert_int_eq(nsrd_pipe_attach_fd(&h->d, h->ns, sv[1]), 0);
}

static void harness_stop(struct harness *h)
{
	nsrd_server_drain_all(&h->d);
	nsrd_netns_stop(&h->d);
	nsr_dispatcher_free(h->d.dispatcher);
	event_base_free(h->d.base);
	if (h->kernel_fd >= 0)
		close(h->kernel_fd);
	nsr_test_rmtree(h->state_dir);
	free(h->state_dir);
	free(h->settings.state_dir);
}

/* Read every answer the daemon wrote, as nfsd would check it. */
static void kernel_read_answers(struct harness *h)
{
	uint8_t buf[NSR_PIPE_MSG_MAX + 1];
	struct nsr_pipe_answer a;
	ssize_t n;

	while ((n = recv(h->kernel_fd, buf, sizeof(buf), 0)) > 0) {
		struct answer_log *l;

		if (nsr_pipe_parse_answer(buf, (size_t)n, h->version, &a) < 0 ||
		    a.hdr.xid >= MAX_XID) {
			h->bad_answers++;
			continue;
		}
		l = &h->log[a.hdr.xid];
		if (a.hdr.status == -EINPROGRESS) {
			ck_assert_uint_lt(l->n_records, MAX_RECORDS);
			ck_assert(!l->final);
			l->records[l->n_records++] = a.client;
			continue;
		}
		l->final = true;
		l->status = a.hdr.status;
		l->max_version = a.max_version;
		l->n_answers++;
		h->order[h->n_order++] = a.hdr.xid;
	}
}

static void pump(struct harness *h)
{
	struct timespec pause = { .tv_nsec = 1000000 };

	event_base_loop(h->d.base, EVLOOP_NONBLOCK);
	kernel_read_answers(h);
	nanosleep(&pause, NULL);
}

static void kernel_send_raw(struct harness *h, const void *buf, size_t len)
{
	ck_assert_int_eq(send(h->kernel_fd, buf, len, 0), (ssize_t)len);
}

static void kernel_send(struct harness *h, enum nsr_pipe_cmd cmd, uint32_t xid, const char *id,
			bool with_hash)
{
	static const uint8_t hash[NSR_PRINCHASH_LEN] = { 7, 7, 7 };
	uint8_t buf[NSR_PIPE_MSG_MAX];
	struct nsr_client c;
	int n;

	ck_assert_uint_lt(xid, MAX_XID);
	h->log[xid] = (struct answer_log){ 0 };
	nsr_client_init(&c);
	if (id) {
		ck_assert_int_eq(nsr_client_set_id(&c, id, strlen(id)), 0);
		if (with_hash)
			ck_assert_int_eq(nsr_client_set_princhash(&c, hash, sizeof(hash)), 0);
	}
	n = nsr_pipe_build_upcall(h->version, cmd, xid, id ? &c : NULL, buf);
	ck_assert_int_gt(n, 0);
	kernel_send_raw(h, buf, (size_t)n);
}

static int16_t wait_final(struct harness *h, uint32_t xid)
{
	for (int i = 0; i < 10000 && !h->log[xid].final; i++)
		pump(h);
	ck_assert_msg(h->log[xid].final, "no answer for xid %u", xid);
	return h->log[xid].status;
}

static int16_t call(struct harness *h, enum nsr_pipe_cmd cmd, uint32_t xid, const char *id)
{
	kernel_send(h, cmd, xid, id, false);
	return wait_final(h, xid);
}

/* nfsd's start: GetVersion at version 1, then GraceStart at the agreed version. */
static int16_t kernel_start(struct harness *h, uint32_t xid)
{
	h->version = 1;
	ck_assert_int_eq(call(h, NSR_PIPE_GET_VERSION, xid, NULL), 0);
	ck_assert_uint_eq(h->log[xid].max_version, 2);
	h->version = 2;
	return call(h, NSR_PIPE_GRACE_START, xid + 1, NULL);
}

static uint64_t stored_clients(struct harness *h, enum nsr_epoch_select which)
{
	uint64_t n = 0;

	ck_assert_ptr_nonnull(h->ns->server);
	ck_assert_int_eq(nsr_store_count_clients(h->ns->server->store, which, &n), 0);
	return n;
}

START_TEST(test_reboot_cycle_streams_records)
{
	static const char *ids[] = { "Linux NFSv4.2 client-a", "Linux NFSv4.1 client-b",
				     "0.0.0.0/10.250.1.3 tcp UNIX 0" };
	struct nsrd_pipe_stats st;
	struct harness h;

	harness_start(&h, NULL);

	/* First start: nothing to reclaim; the server is named after the namespace. */
	ck_assert_int_eq(kernel_start(&h, 1), 0);
	ck_assert_uint_eq(h.log[2].n_records, 0);
	ck_assert_str_eq(h.ns->server->name, "srv1");

	kernel_send(&h, NSR_PIPE_CREATE, 3, ids[0], true);
	ck_assert_int_eq(wait_final(&h, 3), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_CREATE, 4, ids[1]), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_CREATE, 5, ids[2]), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_GRACE_DONE, 6, NULL), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 3);

	/* Restart: every client comes back as one -EINPROGRESS record with the xid. */
	ck_assert_int_eq(kernel_start(&h, 10), 0);
	ck_assert_uint_eq(h.log[11].n_records, 3);
	ck_assert_uint_eq(h.log[11].n_answers, 1);
	for (unsigned int i = 0; i < 3; i++) {
		const struct nsr_client *c = &h.log[11].records[i];
		bool known = false;

		for (unsigned int j = 0; j < 3; j++)
			known |= c->id_len == strlen(ids[j]) && memcmp(c->id, ids[j], c->id_len) == 0;
		ck_assert(known);
		/* Only client-a was created with a principal hash. */
		ck_assert_uint_eq(c->princhash_len,
				  c->id_len == strlen(ids[0]) && memcmp(c->id, ids[0], c->id_len) == 0 ?
					  NSR_PRINCHASH_LEN :
					  0);
	}

	/* One reclaims, one is removed, grace ends. */
	ck_assert_int_eq(call(&h, NSR_PIPE_CREATE, 12, ids[0]), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_CREATE, 13, ids[1]), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_REMOVE, 14, ids[1]), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_GRACE_DONE, 15, NULL), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 1);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_RECOVERY), 0);

	nsrd_pipe_get_stats(h.ns->pipe, &st);
	ck_assert_uint_eq(st.versions, 2);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(h.bad_answers, 0);
	harness_stop(&h);
}
END_TEST

START_TEST(test_configured_server_name_binds)
{
	struct harness h;

	harness_start(&h, "nfs.example.org");
	ck_assert_int_eq(kernel_start(&h, 1), 0);
	ck_assert_str_eq(h.ns->server->name, "nfs.example.org");
	harness_stop(&h);
}
END_TEST

START_TEST(test_version1_kernel)
{
	struct harness h;

	harness_start(&h, NULL);
	/* A kernel that clamps to version 1 keeps 1034-byte messages. */
	h.version = 1;
	ck_assert_int_eq(call(&h, NSR_PIPE_GRACE_START, 1, NULL), 0);
	kernel_send(&h, NSR_PIPE_CREATE, 2, "v1-client", false);
	ck_assert_int_eq(wait_final(&h, 2), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_GRACE_DONE, 3, NULL), 0);
	ck_assert_int_eq(call(&h, NSR_PIPE_GRACE_START, 4, NULL), 0);
	ck_assert_uint_eq(h.log[4].n_records, 1);
	ck_assert_mem_eq(h.log[4].records[0].id, "v1-client", 9);
	ck_assert_uint_eq(h.bad_answers, 0);
	harness_stop(&h);
}
END_TEST

START_TEST(test_many_in_flight_answered_by_xid)
{
	enum { N = 40 };
	char id[32];
	struct harness h;
	bool seen[MAX_XID] = { false };

	harness_start(&h, NULL);
	ck_assert_int_eq(kernel_start(&h, 1), 0);

	/* nfsd threads send without waiting for each other. */
	for (unsigned int xid = 10; xid < 10 + N; xid++) {
		snprintf(id, sizeof(id), "client-%u", xid);
		kernel_send(&h, NSR_PIPE_CREATE, xid, id, false);
	}
	for (unsigned int xid = 10; xid < 10 + N; xid++)
		ck_assert_int_eq(wait_final(&h, xid), 0);

	/* Exactly one final answer per xid. */
	for (unsigned int i = 0; i < h.n_order; i++) {
		ck_assert(!seen[h.order[i]]);
		seen[h.order[i]] = true;
	}
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), N);
	harness_stop(&h);
}
END_TEST

START_TEST(test_duplicate_xid_is_answered)
{
	struct nsrd_pipe_stats st;
	struct harness h;

	harness_start(&h, NULL);
	ck_assert_int_eq(kernel_start(&h, 1), 0);

	/* Both are read in one wakeup, before the first can be answered. */
	kernel_send(&h, NSR_PIPE_CREATE, 5, "first", false);
	kernel_send(&h, NSR_PIPE_CREATE, 5, "second", false);
	for (int i = 0; i < 10000 && h.log[5].n_answers < 2; i++)
		pump(&h);
	ck_assert_uint_eq(h.log[5].n_answers, 2);
	/* The duplicate is answered at once, so it arrives first. */
	ck_assert_uint_eq(h.order[h.n_order - 2], 5);

	nsrd_pipe_get_stats(h.ns->pipe, &st);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 1);
	harness_stop(&h);
}
END_TEST

START_TEST(test_malformed_messages_are_answered)
{
	uint8_t buf[NSR_PIPE_MSG_MAX + 8];
	struct nsrd_pipe_stats st;
	struct nsr_client c;
	uint16_t len;
	struct harness h;

	harness_start(&h, NULL);
	ck_assert_int_eq(kernel_start(&h, 1), 0);

	/* Zero-length name. */
	nsr_client_init(&c);
	ck_assert_int_eq(nsr_client_set_id(&c, "x", 1), 0);
	ck_assert_int_eq(nsr_pipe_build_upcall(2, NSR_PIPE_CREATE, 20, &c, buf), 1067);
	len = 0;
	memcpy(buf + 8, &len, 2);
	kernel_send_raw(&h, buf, 1067);
	ck_assert_int_eq(wait_final(&h, 20), -EINVAL);

	/* Name over 1024 bytes. */
	len = 1025;
	memcpy(buf + 8, &len, 2);
	buf[4] = 21;
	kernel_send_raw(&h, buf, 1067);
	ck_assert_int_eq(wait_final(&h, 21), -E2BIG);

	/* Wrong length: answered at the size nfsd expects now. */
	ck_assert_int_eq(nsr_pipe_build_upcall(2, NSR_PIPE_CREATE, 22, &c, buf), 1067);
	kernel_send_raw(&h, buf, 1050);
	ck_assert_int_eq(wait_final(&h, 22), -EMSGSIZE);

	/* Check belongs to the old version 0 protocol. */
	kernel_send(&h, NSR_PIPE_CHECK, 23, "client", false);
	ck_assert_int_eq(wait_final(&h, 23), -EOPNOTSUPP);

	/* Unknown command. */
	ck_assert_int_eq(nsr_pipe_build_upcall(2, NSR_PIPE_CREATE, 24, &c, buf), 1067);
	buf[1] = 42;
	kernel_send_raw(&h, buf, 1067);
	ck_assert_int_eq(wait_final(&h, 24), -EOPNOTSUPP);

	/* Garbage shorter than the header carries no xid: dropped, and the pipe keeps working. */
	kernel_send_raw(&h, "abc", 3);
	ck_assert_int_eq(call(&h, NSR_PIPE_CREATE, 25, "still-works"), 0);

	nsrd_pipe_get_stats(h.ns->pipe, &st);
	ck_assert_uint_eq(st.rejected, 5);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(h.bad_answers, 0);
	harness_stop(&h);
}
END_TEST

START_TEST(test_hangup_closes_pipe)
{
	struct nsrd_pipe_stats st;
	struct harness h;

	harness_start(&h, NULL);
	ck_assert_int_eq(kernel_start(&h, 1), 0);

	/* nfsd stops: the pipe goes away, and the loop must not spin on it. */
	close(h.kernel_fd);
	h.kernel_fd = -1;
	for (int i = 0; i < 50; i++)
		event_base_loop(h.d.base, EVLOOP_NONBLOCK);
	nsrd_pipe_get_stats(h.ns->pipe, &st);
	ck_assert_uint_eq(st.opens, 1);
	ck_assert_uint_eq(st.in_flight, 0);
	harness_stop(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-pipe");
	TCase *tc = tcase_create("pipe");

	tcase_add_test(tc, test_reboot_cycle_streams_records);
	tcase_add_test(tc, test_configured_server_name_binds);
	tcase_add_test(tc, test_version1_kernel);
	tcase_add_test(tc, test_many_in_flight_answered_by_xid);
	tcase_add_test(tc, test_duplicate_xid_is_answered);
	tcase_add_test(tc, test_malformed_messages_are_answered);
	tcase_add_test(tc, test_hangup_closes_pipe);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
