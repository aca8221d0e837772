/* test-daemon-genl.c: the daemon's generic netlink transport against a fake kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "fake-kernel.h"
#include "nsr-store.h"
#include "nsr-test.h"
#include "nsrd-genl.h"
#include "nsrd-netns.h"
#include "nsrd-server.h"

struct harness {
	char *state_dir;
	struct nsr_settings settings;
	struct nsrd d;
	struct fake_kernel kernel;
	struct nsrd_netns *ns;
};

static void pump(void *ctx)
{
	struct harness *h = ctx;
	struct timespec pause = { .tv_nsec = 1000000 };

	event_base_loop(h->d.base, EVLOOP_NONBLOCK);
	nanosleep(&pause, NULL);
}

static void harness_attach(struct harness *h, const char *netns_name)
{
	ck_assert_int_eq(nsrd_netns_add_external(&h->d, netns_name, &h->ns), 0);
	ck_assert_int_eq(nsrd_genl_attach_links(&h->d, h->ns, h->kernel.daemon_event_fd,
						h->kernel.daemon_answer_fd, FAKE_KERNEL_FAMILY,
						false),
			 0);
}

/* Start the daemon side and the fake kernel, without attaching them yet. */
static void harness_init(struct harness *h)
{
	/* Answers are batched as in the daemon; the crash tests cover them unbatched. */
	struct nsr_dispatcher_options dopts = {
		.workers = 2,
		.max_batch = 64,
		.max_queue = 1024,
		.batch_done = nsrd_genl_flush_answers,
	};

	memset(h, 0, sizeof(*h));
	h->state_dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(h->state_dir);
	h->settings.state_dir = strdup(h->state_dir);
	h->settings.workers = 2;
	h->settings.max_batch = 64;

	h->d.settings = &h->settings;
	h->d.self_netns_fd = -1;
	h->d.inotify_fd = -1;
	h->d.netns_dir_wd = -1;
	h->d.base = event_base_new();
	ck_assert_ptr_nonnull(h->d.base);
	nsrd_genl_batch_answers(true);
	ck_assert_int_eq(nsr_dispatcher_new(&dopts, &h->d.dispatcher), 0);

	ck_assert_int_eq(fake_kernel_start(&h->kernel), 0);
}

static void harness_start(struct harness *h, const char *netns_name)
{
	harness_init(h);
	harness_attach(h, netns_name);
}

static void harness_stop(struct harness *h)
{
	nsrd_server_drain_all(&h->d);
	nsrd_netns_stop(&h->d);
	nsr_dispatcher_free(h->d.dispatcher);
	fake_kernel_stop(&h->kernel);
	event_base_free(h->d.base);
	nsr_test_rmtree(h->state_dir);
	free(h->state_dir);
	free(h->settings.state_dir);
}

static void upcall_init(struct nsr_genl_upcall *up, uint32_t type, const char *scope)
{
	nsr_genl_upcall_init(up);
	up->type = type;
	snprintf(up->scope, sizeof(up->scope), "%s", scope);
	up->boot_time = 1700000000;
}

static uint64_t queue_client(struct harness *h, uint32_t type, const char *scope, const void *id,
			     size_t id_len)
{
	struct nsr_genl_upcall up;
	uint64_t req_id;

	upcall_init(&up, type, scope);
	ck_assert_int_eq(nsr_client_set_id(&up.client, id, id_len), 0);
	ck_assert_int_eq(nsr_client_set_audit(&up.client, "10.250.1.2", 1, NULL, "kernel.org Linux"),
			 0);
	req_id = fake_kernel_queue(&h->kernel, &up, true);
	nsr_genl_upcall_release(&up);
	return req_id;
}

static uint64_t queue_grace(struct harness *h, uint32_t type, const char *scope)
{
	struct nsr_genl_upcall up;

	upcall_init(&up, type, scope);
	return fake_kernel_queue(&h->kernel, &up, true);
}

static int32_t answer_of(struct harness *h, uint64_t req_id)
{
	int32_t status = 1;

	ck_assert_int_eq(fake_kernel_wait_answer(&h->kernel, req_id, &status, pump, h, 10000), 0);
	return status;
}

static uint64_t stored_clients(struct harness *h, enum nsr_epoch_select which)
{
	uint64_t n = 0;

	ck_assert_ptr_nonnull(h->ns->server);
	ck_assert_int_eq(nsr_store_count_clients(h->ns->server->store, which, &n), 0);
	return n;
}

START_TEST(test_hello_negotiates_caps)
{
	struct nsrd_genl_stats stats;
	struct harness h;

	harness_start(&h, "srv1");

	for (int i = 0; i < 2000 && !h.kernel.hellos; i++)
		pump(&h);
	ck_assert_uint_eq(h.kernel.hellos, 1);
	ck_assert_uint_eq(h.kernel.daemon_caps, NSRD_GENL_CAPS);

	for (int i = 0; i < 2000; i++) {
		nsrd_genl_get_stats(h.ns->genl, &stats);
		if (stats.hello_done)
			break;
		pump(&h);
	}
	ck_assert(stats.hello_done);
	ck_assert_uint_eq(stats.caps, NSRD_GENL_CAPS);

	harness_stop(&h);
}
END_TEST

START_TEST(test_reboot_cycle)
{
	static const char *ids[] = { "Linux NFSv4.2 client-a", "Linux NFSv4.1 client-b",
				     "0.0.0.0/10.250.1.3 tcp UNIX 0" };
	struct harness h;
	uint64_t req;

	harness_start(&h, "srv1");

	/* First nfsd start: nothing to reclaim. */
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "server-one");
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(h.kernel.n_records, 0);

	for (unsigned int i = 0; i < NSR_ARRAY_SIZE(ids); i++) {
		req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "server-one", ids[i], strlen(ids[i]));
		ck_assert_int_eq(answer_of(&h, req), 0);
	}
	ck_assert_str_eq(h.ns->server->name, "server-one");
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 3);

	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_DONE, "server-one");
	ck_assert_int_eq(answer_of(&h, req), 0);

	/* nfsd restarts: the three clients are streamed back for reclaim. */
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "server-one");
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(h.kernel.n_records, 3);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_RECOVERY), 3);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 0);

	/* Two reclaim, then grace ends: the third is gone for good. */
	for (unsigned int i = 0; i < 2; i++) {
		req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "server-one", ids[i], strlen(ids[i]));
		ck_assert_int_eq(answer_of(&h, req), 0);
	}
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_DONE, "server-one");
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_RECOVERY), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 2);

	req = queue_client(&h, NFSD_CLTRACK_REQ_REMOVE, "server-one", ids[0], strlen(ids[0]));
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 1);
	ck_assert_uint_eq(h.kernel.unknown_replies, 0);

	harness_stop(&h);
}
END_TEST

START_TEST(test_large_grace_start_streams_in_many_messages)
{
	enum { CLIENTS = 3000 };
	struct harness h;
	uint8_t id[NSR_CLIENTID_MAX];
	uint64_t req;

	harness_start(&h, "srv1");

	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "big");
	ck_assert_int_eq(answer_of(&h, req), 0);
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_DONE, "big");
	ck_assert_int_eq(answer_of(&h, req), 0);

	/* Maximum-length binary ids with NUL bytes, made unique by a prefix. */
	for (unsigned int i = 0; i < CLIENTS; i++) {
		memset(id, 0, sizeof(id));
		snprintf((char *)id, 16, "c%u", i);
		req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "big", id, sizeof(id));
		if (i % 100 == 99)
			ck_assert_int_eq(answer_of(&h, req), 0);
	}
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), CLIENTS);

	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "big");
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(h.kernel.n_records, CLIENTS);
	ck_assert_uint_gt(h.kernel.records_msgs, 1);
	ck_assert_uint_eq(h.kernel.records[0].id_len, NSR_CLIENTID_MAX);

	harness_stop(&h);
}
END_TEST

START_TEST(test_requests_queued_before_start_are_fetched)
{
	struct nsr_genl_upcall up;
	struct harness h;
	uint64_t first, second;

	/* The kernel queued these while no daemon was running. */
	harness_init(&h);
	upcall_init(&up, NFSD_CLTRACK_REQ_GRACE_START, "late");
	first = fake_kernel_queue(&h.kernel, &up, false);
	ck_assert_int_eq(nsr_client_set_id(&up.client, "pending-client", 14), 0);
	up.type = NFSD_CLTRACK_REQ_CREATE;
	second = fake_kernel_queue(&h.kernel, &up, false);
	nsr_genl_upcall_release(&up);
	harness_attach(&h, "srv1");

	/* HELLO is answered, then the daemon fetches without any notification. */
	ck_assert_int_eq(answer_of(&h, first), 0);
	ck_assert_int_eq(answer_of(&h, second), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 1);

	harness_stop(&h);
}
END_TEST

START_TEST(test_malformed_upcall_is_answered_with_error)
{
	struct nsr_genl_upcall up;
	struct nl_msg *msg = NULL;
	struct nlmsghdr *nlh;
	struct harness h;
	uint8_t big[NSR_CLIENTID_MAX + 1];
	uint64_t req;

	harness_start(&h, "srv1");
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "strict");
	ck_assert_int_eq(answer_of(&h, req), 0);

	/* A CREATE whose client id is one byte over the limit, built by hand. */
	upcall_init(&up, NFSD_CLTRACK_REQ_CREATE, "strict");
	msg = nlmsg_alloc_size(4096);
	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(genlmsg_put(msg, 0, 0, FAKE_KERNEL_FAMILY, 0, NLM_F_MULTI,
					  NFSD_CLTRACK_CMD_GET_PENDING,
					  NFSD_CLTRACK_FAMILY_VERSION));
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, 77), 0);
	ck_assert_int_eq(nla_put_u32(msg, NFSD_CLTRACK_A_REQ_TYPE, NFSD_CLTRACK_REQ_CREATE), 0);
	ck_assert_int_eq(nla_put_string(msg, NFSD_CLTRACK_A_SCOPE, "strict"), 0);
	ck_assert_int_eq(nla_put_s64(msg, NFSD_CLTRACK_A_BOOT_TIME, 1), 0);
	ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, sizeof(big), big), 0);
	nlh = nlmsg_hdr(msg);

	req = fake_kernel_queue_raw(&h.kernel, 77, nlh, nlh->nlmsg_len);
	ck_assert_int_eq(answer_of(&h, req), -E2BIG);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 0);

	/* The transport keeps working after the bad message. */
	req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "strict", "good", 4);
	ck_assert_int_eq(answer_of(&h, req), 0);

	nlmsg_free(msg);
	harness_stop(&h);
}
END_TEST

START_TEST(test_two_namespaces_cannot_share_a_server)
{
	struct fake_kernel second;
	struct nsrd_netns *ns2;
	struct harness h;
	uint64_t req;
	int32_t status = 1;

	harness_start(&h, "srv1");
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "same-scope");
	ck_assert_int_eq(answer_of(&h, req), 0);

	ck_assert_int_eq(fake_kernel_start(&second), 0);
	ck_assert_int_eq(nsrd_netns_add_external(&h.d, "srv2", &ns2), 0);
	ck_assert_int_eq(nsrd_genl_attach_links(&h.d, ns2, second.daemon_event_fd,
						second.daemon_answer_fd, FAKE_KERNEL_FAMILY, false),
			 0);

	{
		struct nsr_genl_upcall up;

		upcall_init(&up, NFSD_CLTRACK_REQ_GRACE_START, "same-scope");
		req = fake_kernel_queue(&second, &up, true);
	}
	ck_assert_int_eq(fake_kernel_wait_answer(&second, req, &status, pump, &h, 10000), 0);
	ck_assert_int_eq(status, -EEXIST);
	ck_assert_ptr_null(ns2->server);
	ck_assert_str_eq(h.ns->server->name, "same-scope");

	harness_stop(&h);
	fake_kernel_stop(&second);
}
END_TEST

START_TEST(test_fenced_server_is_reopened)
{
	struct nsr_store_options opts = { 0 };
	_cleanup_free_ char *db_path = NULL;
	struct nsr_store *node_b = NULL;
	struct harness h;
	uint64_t req;

	harness_init(&h);
	h.settings.node_id = strdup("node-a");
	h.settings.ownership_lease = 30;
	harness_attach(&h, "srv1");

	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_START, "fenced");
	ck_assert_int_eq(answer_of(&h, req), 0);
	req = queue_grace(&h, NFSD_CLTRACK_REQ_GRACE_DONE, "fenced");
	ck_assert_int_eq(answer_of(&h, req), 0);
	req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "fenced", "before", 6);
	ck_assert_int_eq(answer_of(&h, req), 0);

	/* Node B takes the server over while node A has it open. */
	ck_assert_int_ge(asprintf(&db_path, "%s/fenced/%s", h.state_dir, NSR_STORE_DB_NAME), 0);
	ck_assert_int_eq(nsr_store_open(db_path, &opts, &node_b), 0);
	ck_assert_int_eq(nsr_store_acquire(node_b, "node-b", 30, true), 0);

	/* A's next write is fenced; the one after reopens and finds B's live lease. */
	req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "fenced", "fenced-write", 12);
	ck_assert_int_eq(answer_of(&h, req), -ESTALE);
	req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "fenced", "while-b-owns", 12);
	ck_assert_int_eq(answer_of(&h, req), -EBUSY);

	/* Once B lets go, A takes the server again without a restart. */
	ck_assert_int_eq(nsr_store_release(node_b), 0);
	nsr_store_close(node_b);
	req = queue_client(&h, NFSD_CLTRACK_REQ_CREATE, "fenced", "after", 5);
	ck_assert_int_eq(answer_of(&h, req), 0);
	ck_assert_uint_eq(stored_clients(&h, NSR_EPOCH_CURRENT), 2);

	free(h.settings.node_id);
	h.settings.node_id = NULL;
	harness_stop(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-genl");
	TCase *tc = tcase_create("transport");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hello_negotiates_caps);
	tcase_add_test(tc, test_reboot_cycle);
	tcase_add_test(tc, test_large_grace_start_streams_in_many_messages);
	tcase_add_test(tc, test_requests_queued_before_start_are_fetched);
	tcase_add_test(tc, test_malformed_upcall_is_answered_with_error);
	tcase_add_test(tc, test_two_namespaces_cannot_share_a_server);
	tcase_add_test(tc, test_fenced_server_is_reopened);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
