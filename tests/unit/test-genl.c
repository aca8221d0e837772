/* test-genl.c: the nfsd_cltrack codec, round trips and malformed messages. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "nsr-genl.h"
#include "nsr-test.h"

/* Any id in the dynamic generic netlink range will do for encoding. */
#define FAMILY 0x1d

#define RECORD_COUNT 5000

static const uint8_t test_hash[NFSD_CLTRACK_PRINCHASH_LEN] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa,
	0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10,
};

#define assert_rejected(expr, err, needle)                                                   \
	do {                                                                                 \
		ck_assert_int_eq((expr), (err));                                             \
		ck_assert_msg(strstr(nsr_genl_strerror(), (needle)),                         \
			      "error \"%s\" does not name \"%s\"", nsr_genl_strerror(), (needle)); \
	} while (0)

static struct nlmsghdr *hdr(struct nl_msg *msg)
{
	return nlmsg_hdr(msg);
}

static size_t msg_len(struct nl_msg *msg)
{
	return nlmsg_hdr(msg)->nlmsg_len;
}

static struct genlmsghdr *genl_hdr(struct nl_msg *msg)
{
	return nlmsg_data(nlmsg_hdr(msg));
}

/* Start a message of @cmd with no attribute, for hand-made malformed input. */
static struct nl_msg *raw_message(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc_size(8192);

	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_nonnull(genlmsg_put(msg, 0, 0, FAMILY, 0, 0, cmd,
					  NFSD_CLTRACK_FAMILY_VERSION));
	return msg;
}

/* Add the four attributes every dumped request carries. */
static void put_upcall_header(struct nl_msg *msg, uint64_t req_id, uint32_t type)
{
	ck_assert_int_eq(nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, req_id), 0);
	ck_assert_int_eq(nla_put_u32(msg, NFSD_CLTRACK_A_REQ_TYPE, type), 0);
	ck_assert_int_eq(nla_put_string(msg, NFSD_CLTRACK_A_SCOPE, "server-a"), 0);
	ck_assert_int_eq(nla_put_s64(msg, NFSD_CLTRACK_A_BOOT_TIME, 1700000000), 0);
}

static void make_upcall(struct nsr_genl_upcall *up, uint32_t type, uint64_t req_id)
{
	nsr_genl_upcall_init(up);
	up->req_id = req_id;
	up->type = type;
	strcpy(up->scope, "nfs.example.com");
	up->boot_time = 1712345678;
}

/* Build @in, parse it into @out, and check the message header on the way. */
static void upcall_round_trip(const struct nsr_genl_upcall *in, struct nsr_genl_upcall *out)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;

	ck_assert_int_eq(nsr_genl_build_upcall(FAMILY, 4242, 77, in, &msg), 0);
	ck_assert_uint_eq(hdr(msg)->nlmsg_type, FAMILY);
	ck_assert_uint_eq(hdr(msg)->nlmsg_pid, 4242);
	ck_assert_uint_eq(hdr(msg)->nlmsg_seq, 77);
	ck_assert(hdr(msg)->nlmsg_flags & NLM_F_MULTI);
	ck_assert_uint_eq(genl_hdr(msg)->cmd, NFSD_CLTRACK_CMD_GET_PENDING);
	ck_assert_uint_eq(genl_hdr(msg)->version, NFSD_CLTRACK_FAMILY_VERSION);

	nsr_genl_upcall_init(out);
	ck_assert_int_eq(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), out), 0);
	ck_assert_str_eq(nsr_genl_strerror(), "");
}

static void assert_same_upcall(const struct nsr_genl_upcall *a, const struct nsr_genl_upcall *b)
{
	ck_assert_uint_eq(a->req_id, b->req_id);
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_str_eq(a->scope, b->scope);
	ck_assert_int_eq(a->boot_time, b->boot_time);
	ck_assert_uint_eq(a->client.id_len, b->client.id_len);
	ck_assert_mem_eq(a->client.id, b->client.id, a->client.id_len);
	ck_assert_uint_eq(a->client.princhash_len, b->client.princhash_len);
	ck_assert_mem_eq(a->client.princhash, b->client.princhash, a->client.princhash_len);
	ck_assert_int_eq(a->client.minor_version, b->client.minor_version);
	ck_assert_pstr_eq(a->client.address, b->client.address);
	ck_assert_pstr_eq(a->client.principal, b->client.principal);
	ck_assert_pstr_eq(a->client.impl_id, b->client.impl_id);
}

START_TEST(test_hello_round_trip)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_hello hello;

	ck_assert_int_eq(nsr_genl_build_hello(FAMILY, 3, NFSD_CLTRACK_CAP_AUDIT, &msg), 0);
	ck_assert_uint_eq(hdr(msg)->nlmsg_type, FAMILY);
	ck_assert(hdr(msg)->nlmsg_flags & NLM_F_REQUEST);
	ck_assert_uint_eq(genl_hdr(msg)->cmd, NFSD_CLTRACK_CMD_HELLO);
	ck_assert_uint_eq(genl_hdr(msg)->version, NFSD_CLTRACK_FAMILY_VERSION);

	memset(&hello, 0xff, sizeof(hello));
	ck_assert_int_eq(nsr_genl_parse_hello(hdr(msg), msg_len(msg), &hello), 0);
	ck_assert_uint_eq(hello.version, 3);
	ck_assert_uint_eq(hello.caps, NFSD_CLTRACK_CAP_AUDIT);
	ck_assert_uint_eq(hello.timeout_ms, 0);
	ck_assert_uint_eq(hello.pending, 0);

	assert_rejected(nsr_genl_build_hello(FAMILY, 0, 0, &msg), -EINVAL, "version 0");
	assert_rejected(nsr_genl_build_hello(0, 1, 0, &msg), -EINVAL, "family id 0");
}
END_TEST

START_TEST(test_hello_reply_round_trip)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	const struct nsr_genl_hello in = {
		.version = 1,
		.caps = NFSD_CLTRACK_CAP_AUDIT | NFSD_CLTRACK_CAP_RECLAIM_RECORD,
		.timeout_ms = 10000,
		.pending = 7,
	};
	struct nsr_genl_hello out;

	ck_assert_int_eq(nsr_genl_build_hello_reply(FAMILY, 99, 5, &in, &msg), 0);
	ck_assert_uint_eq(hdr(msg)->nlmsg_pid, 99);
	ck_assert_uint_eq(hdr(msg)->nlmsg_seq, 5);

	ck_assert_int_eq(nsr_genl_parse_hello_reply(hdr(msg), msg_len(msg), &out), 0);
	ck_assert_uint_eq(out.version, in.version);
	ck_assert_uint_eq(out.caps, in.caps);
	ck_assert_uint_eq(out.timeout_ms, in.timeout_ms);
	ck_assert_uint_eq(out.pending, in.pending);

	/* A reply carries attributes that a HELLO request may not. */
	assert_rejected(nsr_genl_parse_hello(hdr(msg), msg_len(msg), &out), -EPROTO,
			"NFSD_CLTRACK_A_TIMEOUT_MS");
}
END_TEST

START_TEST(test_get_pending_round_trip)
{
	static const uint64_t ids[] = { 0, 1, 0x123456789abcdefULL, UINT64_MAX };

	for (size_t i = 0; i < NSR_ARRAY_SIZE(ids); i++) {
		_cleanup_nlmsg_ struct nl_msg *msg = NULL;
		uint64_t after_id = 42;

		ck_assert_int_eq(nsr_genl_build_get_pending(FAMILY, ids[i], &msg), 0);
		ck_assert(hdr(msg)->nlmsg_flags & NLM_F_DUMP);
		ck_assert(hdr(msg)->nlmsg_flags & NLM_F_REQUEST);
		ck_assert_uint_eq(genl_hdr(msg)->cmd, NFSD_CLTRACK_CMD_GET_PENDING);
		ck_assert_int_eq(nsr_genl_parse_get_pending(hdr(msg), msg_len(msg), &after_id), 0);
		ck_assert_uint_eq(after_id, ids[i]);
	}
}
END_TEST

START_TEST(test_get_pending_without_after_id)
{
	_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	uint64_t after_id = 42;

	ck_assert_int_eq(nsr_genl_parse_get_pending(hdr(msg), msg_len(msg), &after_id), 0);
	ck_assert_uint_eq(after_id, 0);
}
END_TEST

START_TEST(test_pending_ntf_round_trip)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint32_t pending = 0;

	ck_assert_int_eq(nsr_genl_build_pending_ntf(FAMILY, 123456, &msg), 0);
	ck_assert_uint_eq(hdr(msg)->nlmsg_pid, 0);
	ck_assert_uint_eq(genl_hdr(msg)->cmd, NFSD_CLTRACK_CMD_PENDING_NTF);
	ck_assert_int_eq(nsr_genl_parse_pending_ntf(hdr(msg), msg_len(msg), &pending), 0);
	ck_assert_uint_eq(pending, 123456);
}
END_TEST

START_TEST(test_reply_round_trip)
{
	static const int32_t statuses[] = { 0, -ENOENT, -EIO, -4095 };

	for (size_t i = 0; i < NSR_ARRAY_SIZE(statuses); i++) {
		_cleanup_nlmsg_ struct nl_msg *msg = NULL;
		uint64_t req_id = 0;
		int32_t status = 1;

		ck_assert_int_eq(nsr_genl_build_reply(FAMILY, 1000 + i, statuses[i], &msg), 0);
		ck_assert_uint_eq(genl_hdr(msg)->cmd, NFSD_CLTRACK_CMD_REPLY);
		ck_assert_int_eq(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &req_id, &status), 0);
		ck_assert_uint_eq(req_id, 1000 + i);
		ck_assert_int_eq(status, statuses[i]);
	}
}
END_TEST

START_TEST(test_reply_status_range)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	_cleanup_nlmsg_ struct nl_msg *raw = raw_message(NFSD_CLTRACK_CMD_REPLY);
	uint64_t req_id;
	int32_t status;

	assert_rejected(nsr_genl_build_reply(FAMILY, 1, 5, &msg), -EINVAL, "status 5");
	assert_rejected(nsr_genl_build_reply(FAMILY, 1, -4096, &msg), -EINVAL, "status -4096");

	ck_assert_int_eq(nla_put_u64(raw, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put_s32(raw, NFSD_CLTRACK_A_STATUS, 2), 0);
	assert_rejected(nsr_genl_parse_reply(hdr(raw), msg_len(raw), &req_id, &status), -EINVAL,
			"NFSD_CLTRACK_A_STATUS 2");
}
END_TEST

START_TEST(test_upcall_binary_id_with_audit)
{
	static const uint8_t id[] = { 'L', 0, 'i', 0, 0, 'n', 0xff, 0 };
	struct nsr_genl_upcall in, out;

	make_upcall(&in, NFSD_CLTRACK_REQ_CREATE, 17);
	ck_assert_int_eq(nsr_client_set_id(&in.client, id, sizeof(id)), 0);
	ck_assert_int_eq(nsr_client_set_princhash(&in.client, test_hash, sizeof(test_hash)), 0);
	ck_assert_int_eq(nsr_client_set_audit(&in.client, "fd00::2", 1,
					      "nfs/client.example.com@EXAMPLE.COM", "kernel.org"),
			 0);

	upcall_round_trip(&in, &out);
	assert_same_upcall(&in, &out);
	ck_assert_uint_eq(out.client.id_len, sizeof(id));

	nsr_genl_upcall_release(&in);
	nsr_genl_upcall_release(&out);
}
END_TEST

START_TEST(test_upcall_max_id_without_audit)
{
	struct nsr_genl_upcall in, out;
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX];

	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(i * 7);

	make_upcall(&in, NFSD_CLTRACK_REQ_REMOVE, UINT64_MAX);
	in.boot_time = -1;
	ck_assert_int_eq(nsr_client_set_id(&in.client, id, sizeof(id)), 0);

	upcall_round_trip(&in, &out);
	assert_same_upcall(&in, &out);
	ck_assert_uint_eq(out.client.id_len, NFSD_CLTRACK_CLIENTID_MAX);
	ck_assert_uint_eq(out.client.princhash_len, 0);
	ck_assert_ptr_null(out.client.address);
	ck_assert_ptr_null(out.client.principal);
	ck_assert_ptr_null(out.client.impl_id);
	ck_assert_int_eq(out.client.minor_version, -1);

	nsr_genl_upcall_release(&out);
}
END_TEST

START_TEST(test_upcall_longest_values)
{
	struct nsr_genl_upcall in, out;
	char principal[NFSD_CLTRACK_PRINCIPAL_MAX + 1];
	char impl_id[NFSD_CLTRACK_IMPL_ID_MAX + 1];
	char address[NFSD_CLTRACK_ADDR_MAX + 1];
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX];

	memset(id, 0xa5, sizeof(id));
	memset(principal, 'p', sizeof(principal) - 1);
	principal[sizeof(principal) - 1] = '\0';
	memset(impl_id, 'i', sizeof(impl_id) - 1);
	impl_id[sizeof(impl_id) - 1] = '\0';
	memset(address, 'a', sizeof(address) - 1);
	address[sizeof(address) - 1] = '\0';

	make_upcall(&in, NFSD_CLTRACK_REQ_CREATE, 3);
	memset(in.scope, 's', NFSD_CLTRACK_SCOPE_MAX);
	in.scope[NFSD_CLTRACK_SCOPE_MAX] = '\0';
	ck_assert_int_eq(nsr_client_set_id(&in.client, id, sizeof(id)), 0);
	ck_assert_int_eq(nsr_client_set_princhash(&in.client, test_hash, sizeof(test_hash)), 0);
	ck_assert_int_eq(nsr_client_set_audit(&in.client, address, 2, principal, impl_id), 0);

	upcall_round_trip(&in, &out);
	assert_same_upcall(&in, &out);

	nsr_genl_upcall_release(&in);
	nsr_genl_upcall_release(&out);
}
END_TEST

START_TEST(test_upcall_grace_round_trip)
{
	static const uint32_t types[] = { NFSD_CLTRACK_REQ_GRACE_START, NFSD_CLTRACK_REQ_GRACE_DONE };

	for (size_t i = 0; i < NSR_ARRAY_SIZE(types); i++) {
		struct nsr_genl_upcall in, out;

		make_upcall(&in, types[i], 50 + i);
		in.scope[0] = '\0';
		upcall_round_trip(&in, &out);
		assert_same_upcall(&in, &out);
		ck_assert_uint_eq(out.client.id_len, 0);
	}
}
END_TEST

START_TEST(test_upcall_to_request)
{
	static const struct {
		uint32_t type;
		enum nsr_op op;
	} cases[] = {
		{ NFSD_CLTRACK_REQ_CREATE, NSR_OP_CREATE },
		{ NFSD_CLTRACK_REQ_REMOVE, NSR_OP_REMOVE },
		{ NFSD_CLTRACK_REQ_GRACE_START, NSR_OP_GRACE_START },
		{ NFSD_CLTRACK_REQ_GRACE_DONE, NSR_OP_GRACE_DONE },
	};

	for (size_t i = 0; i < NSR_ARRAY_SIZE(cases); i++) {
		bool has_client = cases[i].op == NSR_OP_CREATE || cases[i].op == NSR_OP_REMOVE;
		struct nsr_genl_upcall up;
		struct nsr_request req;

		make_upcall(&up, cases[i].type, 900 + i);
		if (has_client) {
			ck_assert_int_eq(nsr_client_set_id(&up.client, "abc", 3), 0);
			ck_assert_int_eq(nsr_client_set_audit(&up.client, "10.0.0.1", 0, NULL, NULL),
					 0);
		}

		ck_assert_int_eq(nsr_genl_upcall_to_request(&up, &req), 0);
		ck_assert_int_eq(req.op, cases[i].op);
		ck_assert_uint_eq(req.xid, 900 + i);
		ck_assert_int_eq(req.boot_time,
				 cases[i].op == NSR_OP_GRACE_START ? up.boot_time : 0);
		ck_assert_uint_eq(req.client.id_len, has_client ? 3 : 0);
		if (has_client) {
			ck_assert_mem_eq(req.client.id, "abc", 3);
			ck_assert_str_eq(req.client.address, "10.0.0.1");
			ck_assert_int_eq(req.client.minor_version, 0);
		}

		/* The client moved: the upcall no longer owns its strings. */
		ck_assert_ptr_null(up.client.address);
		nsr_genl_upcall_release(&up);
		nsr_request_release(&req);
	}
}
END_TEST

START_TEST(test_upcall_to_request_unknown_type)
{
	struct nsr_genl_upcall up;
	struct nsr_request req;

	make_upcall(&up, 9, 1);
	assert_rejected(nsr_genl_upcall_to_request(&up, &req), -EINVAL, "type 9");
}
END_TEST

/* The client id of record @index: 1024 bytes, unique per index. */
static void record_id(unsigned int index, uint8_t *id)
{
	memset(id, (int)(index & 0xff), NFSD_CLTRACK_CLIENTID_MAX);
	memcpy(id, &index, sizeof(index));
}

struct record_check {
	unsigned int next;
	unsigned int in_message;
};

static int check_record(const struct nsr_genl_record *rec, void *userdata)
{
	struct record_check *check = userdata;
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX];
	bool hashed = check->next % 3 == 0;

	record_id(check->next, id);
	ck_assert_uint_eq(rec->id_len, NFSD_CLTRACK_CLIENTID_MAX);
	ck_assert_mem_eq(rec->id, id, NFSD_CLTRACK_CLIENTID_MAX);
	ck_assert_uint_eq(rec->princhash_len, hashed ? NFSD_CLTRACK_PRINCHASH_LEN : 0);
	if (hashed)
		ck_assert_mem_eq(rec->princhash, test_hash, NFSD_CLTRACK_PRINCHASH_LEN);
	else
		ck_assert_ptr_null(rec->princhash);

	check->next++;
	check->in_message++;
	return 0;
}

START_TEST(test_grace_records_many_messages)
{
	struct record_check check = { 0 };
	unsigned int sent = 0, messages = 0;
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX];

	while (sent < RECORD_COUNT) {
		_cleanup_nlmsg_ struct nl_msg *msg = NULL;
		unsigned int first = sent;
		uint64_t req_id = 0;
		int r = 0;

		ck_assert_int_eq(nsr_genl_build_grace_records(FAMILY, 31337, 0, &msg), 0);
		for (; sent < RECORD_COUNT; sent++) {
			record_id(sent, id);
			r = nsr_genl_grace_records_append(msg, id, sizeof(id),
							  sent % 3 == 0 ? test_hash : NULL,
							  sent % 3 == 0 ? sizeof(test_hash) : 0);
			if (r == -EMSGSIZE)
				break;
			ck_assert_int_eq(r, 0);
		}
		ck_assert_uint_gt(sent, first);
		ck_assert_uint_le(msg_len(msg), NSR_GENL_RECORDS_MSG_SIZE);

		/* A full message stays valid and carries exactly what was appended. */
		check.in_message = 0;
		ck_assert_int_eq(nsr_genl_parse_grace_records(hdr(msg), msg_len(msg), &req_id,
							      check_record, &check),
				 0);
		ck_assert_uint_eq(req_id, 31337);
		ck_assert_uint_eq(check.in_message, sent - first);
		messages++;
	}

	ck_assert_uint_eq(check.next, RECORD_COUNT);
	ck_assert_uint_gt(messages, 1);
}
END_TEST

START_TEST(test_grace_records_small_buffer)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX] = { 1 };

	assert_rejected(nsr_genl_build_grace_records(FAMILY, 1, 16, &msg), -EINVAL, "16 bytes");

	ck_assert_int_eq(nsr_genl_build_grace_records(FAMILY, 1, 512, &msg), 0);
	assert_rejected(nsr_genl_grace_records_append(msg, id, sizeof(id), NULL, 0), -ENOBUFS,
			"1024-byte client id");
	ck_assert_int_eq(nsr_genl_grace_records_append(msg, id, 100, NULL, 0), 0);
	assert_rejected(nsr_genl_grace_records_append(msg, id, sizeof(id), NULL, 0), -EMSGSIZE,
			"full");
}
END_TEST

START_TEST(test_grace_records_append_rejects)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX + 1] = { 0 };

	ck_assert_int_eq(nsr_genl_build_grace_records(FAMILY, 1, 0, &msg), 0);
	assert_rejected(nsr_genl_grace_records_append(msg, id, sizeof(id), NULL, 0), -E2BIG,
			"1025 bytes");
	assert_rejected(nsr_genl_grace_records_append(msg, id, 0, NULL, 0), -EINVAL, "empty");
	assert_rejected(nsr_genl_grace_records_append(msg, id, 5, test_hash, 31), -EINVAL,
			"31 bytes");
}
END_TEST

static int count_record(const struct nsr_genl_record *rec, void *userdata)
{
	(*(unsigned int *)userdata)++;
	return 0;
}

static int stop_at_second(const struct nsr_genl_record *rec, void *userdata)
{
	return ++(*(unsigned int *)userdata) == 2 ? -ECANCELED : 0;
}

START_TEST(test_grace_records_callback_error)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	unsigned int calls = 0;
	uint64_t req_id;

	ck_assert_int_eq(nsr_genl_build_grace_records(FAMILY, 8, 0, &msg), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(nsr_genl_grace_records_append(msg, (const uint8_t *)"abcd", 4,
							       NULL, 0),
				 0);
	ck_assert_int_eq(nsr_genl_parse_grace_records(hdr(msg), msg_len(msg), &req_id,
						      stop_at_second, &calls),
			 -ECANCELED);
	ck_assert_uint_eq(calls, 2);
}
END_TEST

START_TEST(test_grace_records_bad_record_delivers_nothing)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint8_t big[NFSD_CLTRACK_CLIENTID_MAX + 1] = { 0 };
	struct nlattr *nest;
	unsigned int calls = 0;
	uint64_t req_id;

	ck_assert_int_eq(nsr_genl_build_grace_records(FAMILY, 8, 0, &msg), 0);
	ck_assert_int_eq(nsr_genl_grace_records_append(msg, (const uint8_t *)"good", 4, NULL, 0),
			 0);
	nest = nla_nest_start(msg, NFSD_CLTRACK_A_RECORD | NLA_F_NESTED);
	ck_assert_ptr_nonnull(nest);
	ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_RECORD_A_CLIENT_ID, sizeof(big), big), 0);
	nla_nest_end(msg, nest);

	assert_rejected(nsr_genl_parse_grace_records(hdr(msg), msg_len(msg), &req_id, count_record,
						     &calls),
			-E2BIG, "NFSD_CLTRACK_RECORD_A_CLIENT_ID");
	ck_assert_msg(strstr(nsr_genl_strerror(), "record 2"), "error \"%s\" does not name record 2",
		      nsr_genl_strerror());
	ck_assert_uint_eq(calls, 0);
}
END_TEST

START_TEST(test_grace_records_record_checks)
{
	_cleanup_nlmsg_ struct nl_msg *no_id = raw_message(NFSD_CLTRACK_CMD_GRACE_RECORDS);
	_cleanup_nlmsg_ struct nl_msg *flat = raw_message(NFSD_CLTRACK_CMD_GRACE_RECORDS);
	_cleanup_nlmsg_ struct nl_msg *bad_hash = raw_message(NFSD_CLTRACK_CMD_GRACE_RECORDS);
	_cleanup_nlmsg_ struct nl_msg *none = raw_message(NFSD_CLTRACK_CMD_GRACE_RECORDS);
	static const uint8_t long_hash[NFSD_CLTRACK_PRINCHASH_LEN + 1] = { 0 };
	struct nlattr *nest;
	unsigned int calls = 0;
	uint64_t req_id;

	ck_assert_int_eq(nla_put_u64(no_id, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	nest = nla_nest_start(no_id, NFSD_CLTRACK_A_RECORD | NLA_F_NESTED);
	ck_assert_int_eq(nla_put(no_id, NFSD_CLTRACK_RECORD_A_PRINCHASH, 32, test_hash), 0);
	nla_nest_end(no_id, nest);
	assert_rejected(nsr_genl_parse_grace_records(hdr(no_id), msg_len(no_id), &req_id,
						     count_record, &calls),
			-ENODATA, "NFSD_CLTRACK_RECORD_A_CLIENT_ID");

	/* A RECORD without NLA_F_NESTED, as the kernel's strict parsing rejects. */
	ck_assert_int_eq(nla_put_u64(flat, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put(flat, NFSD_CLTRACK_A_RECORD, 0, NULL), 0);
	assert_rejected(nsr_genl_parse_grace_records(hdr(flat), msg_len(flat), &req_id,
						     count_record, &calls),
			-EINVAL, "NLA_F_NESTED");

	ck_assert_int_eq(nla_put_u64(bad_hash, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	nest = nla_nest_start(bad_hash, NFSD_CLTRACK_A_RECORD | NLA_F_NESTED);
	ck_assert_int_eq(nla_put(bad_hash, NFSD_CLTRACK_RECORD_A_CLIENT_ID, 2, "id"), 0);
	ck_assert_int_eq(nla_put(bad_hash, NFSD_CLTRACK_RECORD_A_PRINCHASH, sizeof(long_hash), long_hash),
			 0);
	nla_nest_end(bad_hash, nest);
	assert_rejected(nsr_genl_parse_grace_records(hdr(bad_hash), msg_len(bad_hash), &req_id,
						     count_record, &calls),
			-EINVAL, "NFSD_CLTRACK_RECORD_A_PRINCHASH");

	ck_assert_int_eq(nla_put_u64(none, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	assert_rejected(nsr_genl_parse_grace_records(hdr(none), msg_len(none), &req_id,
						     count_record, &calls),
			-ENODATA, "NFSD_CLTRACK_A_RECORD");
	ck_assert_uint_eq(calls, 0);
}
END_TEST

START_TEST(test_reject_truncated_attribute)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nlattr *last;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nsr_genl_build_reply(FAMILY, 5, 0, &msg), 0);

	/* STATUS is the last attribute: claim more bytes than the message holds. */
	last = (struct nlattr *)((char *)hdr(msg) + msg_len(msg) - NLA_HDRLEN - sizeof(int32_t));
	ck_assert_uint_eq(nla_type(last), NFSD_CLTRACK_A_STATUS);
	last->nla_len = 200;
	assert_rejected(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &req_id, &status), -EBADMSG,
			"nla_len 200");

	/* An nla_len below the attribute header size is just as broken. */
	last->nla_len = 2;
	assert_rejected(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &req_id, &status), -EBADMSG,
			"nla_len 2");
}
END_TEST

START_TEST(test_reject_truncated_message)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nsr_genl_build_reply(FAMILY, 5, 0, &msg), 0);

	/* The caller received fewer bytes than nlmsg_len claims. */
	assert_rejected(nsr_genl_parse_reply(hdr(msg), msg_len(msg) - 4, &req_id, &status),
			-EBADMSG, "nlmsg_len");
	assert_rejected(nsr_genl_parse_reply(hdr(msg), 8, &req_id, &status), -EBADMSG,
			"8 bytes");

	/* nlmsg_len cuts STATUS in half. */
	hdr(msg)->nlmsg_len -= 2;
	assert_rejected(nsr_genl_parse_reply(hdr(msg), msg_len(msg) + 2, &req_id, &status),
			-EBADMSG, "truncated attribute");

	hdr(msg)->nlmsg_len = NLMSG_HDRLEN + 2;
	assert_rejected(nsr_genl_parse_reply(hdr(msg), 64, &req_id, &status), -EBADMSG,
			"nlmsg_len 18");
}
END_TEST

START_TEST(test_reject_control_message)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nsr_genl_build_reply(FAMILY, 5, 0, &msg), 0);
	hdr(msg)->nlmsg_type = NLMSG_ERROR;
	assert_rejected(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &req_id, &status), -EBADMSG,
			"control message of type 2");
	ck_assert_int_eq(nsr_genl_message_cmd(hdr(msg), msg_len(msg)), -EBADMSG);
}
END_TEST

START_TEST(test_reject_client_id_bounds)
{
	_cleanup_nlmsg_ struct nl_msg *big = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	_cleanup_nlmsg_ struct nl_msg *empty = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	uint8_t id[NFSD_CLTRACK_CLIENTID_MAX + 1];
	struct nsr_genl_upcall up;

	memset(id, 'x', sizeof(id));
	nsr_genl_upcall_init(&up);

	put_upcall_header(big, 11, NFSD_CLTRACK_REQ_CREATE);
	ck_assert_int_eq(nla_put(big, NFSD_CLTRACK_A_CLIENT_ID, sizeof(id), id), 0);
	assert_rejected(nsr_genl_parse_upcall(hdr(big), msg_len(big), &up), -E2BIG,
			"NFSD_CLTRACK_A_CLIENT_ID");
	ck_assert_msg(strstr(nsr_genl_strerror(), "1025"), "%s", nsr_genl_strerror());

	/* The REQ_ID survives, so the daemon can reply to the broken request. */
	ck_assert_uint_eq(up.req_id, 11);

	put_upcall_header(empty, 12, NFSD_CLTRACK_REQ_REMOVE);
	ck_assert_int_eq(nla_put(empty, NFSD_CLTRACK_A_CLIENT_ID, 0, NULL), 0);
	assert_rejected(nsr_genl_parse_upcall(hdr(empty), msg_len(empty), &up), -EINVAL,
			"NFSD_CLTRACK_A_CLIENT_ID");
	ck_assert_msg(strstr(nsr_genl_strerror(), "empty"), "%s", nsr_genl_strerror());
	ck_assert_uint_eq(up.req_id, 12);
}
END_TEST

START_TEST(test_reject_princhash_length)
{
	static const size_t lengths[] = { 1, 31, 33, 64 };
	uint8_t hash[64] = { 0 };

	for (size_t i = 0; i < NSR_ARRAY_SIZE(lengths); i++) {
		_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
		struct nsr_genl_upcall up;
		char needle[32];

		nsr_genl_upcall_init(&up);
		put_upcall_header(msg, 1, NFSD_CLTRACK_REQ_CREATE);
		ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, 3, "abc"), 0);
		ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_PRINCHASH, lengths[i], hash), 0);

		snprintf(needle, sizeof(needle), "is %zu bytes", lengths[i]);
		assert_rejected(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), &up), -EINVAL,
				"NFSD_CLTRACK_A_PRINCHASH");
		ck_assert_msg(strstr(nsr_genl_strerror(), needle), "%s", nsr_genl_strerror());
	}
}
END_TEST

START_TEST(test_princhash_empty_means_none)
{
	_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	struct nsr_genl_upcall up;

	nsr_genl_upcall_init(&up);
	put_upcall_header(msg, 1, NFSD_CLTRACK_REQ_CREATE);
	ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, 3, "abc"), 0);
	ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_PRINCHASH, 0, NULL), 0);
	ck_assert_int_eq(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), &up), 0);
	ck_assert_uint_eq(up.client.princhash_len, 0);
}
END_TEST

START_TEST(test_reject_unknown_attribute)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	_cleanup_nlmsg_ struct nl_msg *misplaced = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	struct nsr_genl_upcall up;
	uint32_t pending;

	ck_assert_int_eq(nsr_genl_build_pending_ntf(FAMILY, 1, &msg), 0);
	ck_assert_int_eq(nla_put_u32(msg, 42, 7), 0);
	assert_rejected(nsr_genl_parse_pending_ntf(hdr(msg), msg_len(msg), &pending), -EPROTO,
			"unknown attribute type 42");

	/* A known attribute in the wrong message is rejected the same way. */
	nsr_genl_upcall_init(&up);
	put_upcall_header(misplaced, 1, NFSD_CLTRACK_REQ_GRACE_START);
	ck_assert_int_eq(nla_put(misplaced, NFSD_CLTRACK_A_CLIENT_ID, 3, "abc"), 0);
	assert_rejected(nsr_genl_parse_upcall(hdr(misplaced), msg_len(misplaced), &up), -EPROTO,
			"NFSD_CLTRACK_A_CLIENT_ID");
}
END_TEST

START_TEST(test_reject_missing_attribute)
{
	_cleanup_nlmsg_ struct nl_msg *reply = raw_message(NFSD_CLTRACK_CMD_REPLY);
	_cleanup_nlmsg_ struct nl_msg *create = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	_cleanup_nlmsg_ struct nl_msg *no_scope = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	_cleanup_nlmsg_ struct nl_msg *hello = raw_message(NFSD_CLTRACK_CMD_HELLO);
	struct nsr_genl_upcall up;
	struct nsr_genl_hello h;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nla_put_u64(reply, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	assert_rejected(nsr_genl_parse_reply(hdr(reply), msg_len(reply), &req_id, &status),
			-ENODATA, "NFSD_CLTRACK_A_STATUS");

	nsr_genl_upcall_init(&up);
	put_upcall_header(create, 1, NFSD_CLTRACK_REQ_CREATE);
	assert_rejected(nsr_genl_parse_upcall(hdr(create), msg_len(create), &up), -ENODATA,
			"NFSD_CLTRACK_A_CLIENT_ID");

	ck_assert_int_eq(nla_put_u64(no_scope, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put_u32(no_scope, NFSD_CLTRACK_A_REQ_TYPE, 4), 0);
	ck_assert_int_eq(nla_put_s64(no_scope, NFSD_CLTRACK_A_BOOT_TIME, 1), 0);
	assert_rejected(nsr_genl_parse_upcall(hdr(no_scope), msg_len(no_scope), &up), -ENODATA,
			"NFSD_CLTRACK_A_SCOPE");

	assert_rejected(nsr_genl_parse_hello(hdr(hello), msg_len(hello), &h), -ENODATA,
			"NFSD_CLTRACK_A_VERSION");
}
END_TEST

START_TEST(test_reject_unsupported_version)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_hello hello;

	ck_assert_int_eq(nsr_genl_build_hello(FAMILY, 1, 0, &msg), 0);
	genl_hdr(msg)->version = 2;
	assert_rejected(nsr_genl_parse_hello(hdr(msg), msg_len(msg), &hello), -EPROTONOSUPPORT,
			"version 2");
	ck_assert_int_eq(nsr_genl_message_cmd(hdr(msg), msg_len(msg)), -EPROTONOSUPPORT);
}
END_TEST

START_TEST(test_reject_unexpected_command)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_hello hello;
	uint32_t pending;

	ck_assert_int_eq(nsr_genl_build_reply(FAMILY, 1, 0, &msg), 0);
	ck_assert_int_eq(nsr_genl_message_cmd(hdr(msg), msg_len(msg)), NFSD_CLTRACK_CMD_REPLY);
	assert_rejected(nsr_genl_parse_hello(hdr(msg), msg_len(msg), &hello), -EOPNOTSUPP,
			"command 5 (REPLY)");
	assert_rejected(nsr_genl_parse_pending_ntf(hdr(msg), msg_len(msg), &pending), -EOPNOTSUPP,
			"PENDING_NTF");
}
END_TEST

START_TEST(test_reject_fixed_size_lengths)
{
	_cleanup_nlmsg_ struct nl_msg *wide = raw_message(NFSD_CLTRACK_CMD_HELLO);
	_cleanup_nlmsg_ struct nl_msg *narrow = raw_message(NFSD_CLTRACK_CMD_REPLY);
	_cleanup_nlmsg_ struct nl_msg *boot = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	struct nsr_genl_upcall up;
	struct nsr_genl_hello h;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nla_put_u64(wide, NFSD_CLTRACK_A_VERSION, 1), 0);
	assert_rejected(nsr_genl_parse_hello(hdr(wide), msg_len(wide), &h), -EINVAL,
			"NFSD_CLTRACK_A_VERSION in HELLO request is 8 bytes");

	ck_assert_int_eq(nla_put_u32(narrow, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put_s32(narrow, NFSD_CLTRACK_A_STATUS, 0), 0);
	assert_rejected(nsr_genl_parse_reply(hdr(narrow), msg_len(narrow), &req_id, &status),
			-EINVAL, "NFSD_CLTRACK_A_REQ_ID in REPLY is 4 bytes");

	nsr_genl_upcall_init(&up);
	ck_assert_int_eq(nla_put_u64(boot, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put_u32(boot, NFSD_CLTRACK_A_REQ_TYPE, 4), 0);
	ck_assert_int_eq(nla_put_string(boot, NFSD_CLTRACK_A_SCOPE, ""), 0);
	ck_assert_int_eq(nla_put_u32(boot, NFSD_CLTRACK_A_BOOT_TIME, 1), 0);
	assert_rejected(nsr_genl_parse_upcall(hdr(boot), msg_len(boot), &up), -EINVAL,
			"NFSD_CLTRACK_A_BOOT_TIME");
}
END_TEST

START_TEST(test_reject_bad_strings)
{
	static const struct {
		const char *data;
		size_t len;
		const char *needle;
	} cases[] = {
		{ "fd00::2", 7, "not NUL-terminated" },
		{ "fd00\0::2", 9, "NUL byte at offset 4" },
		{ "", 0, "not NUL-terminated" },
	};
	char long_addr[NFSD_CLTRACK_ADDR_MAX + 2];

	for (size_t i = 0; i < NSR_ARRAY_SIZE(cases); i++) {
		_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
		struct nsr_genl_upcall up;

		nsr_genl_upcall_init(&up);
		put_upcall_header(msg, 1, NFSD_CLTRACK_REQ_CREATE);
		ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, 3, "abc"), 0);
		ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ADDR, cases[i].len,
					 cases[i].data),
				 0);
		assert_rejected(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), &up), -EINVAL,
				"NFSD_CLTRACK_A_CLIENT_ADDR");
		ck_assert_msg(strstr(nsr_genl_strerror(), cases[i].needle), "case %zu: %s", i,
			      nsr_genl_strerror());
	}

	memset(long_addr, '1', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	{
		_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
		struct nsr_genl_upcall up;

		nsr_genl_upcall_init(&up);
		put_upcall_header(msg, 1, NFSD_CLTRACK_REQ_CREATE);
		ck_assert_int_eq(nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, 3, "abc"), 0);
		ck_assert_int_eq(nla_put_string(msg, NFSD_CLTRACK_A_CLIENT_ADDR, long_addr), 0);
		assert_rejected(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), &up), -EINVAL,
				"is 65 bytes long, over its maximum of 64");
	}
}
END_TEST

START_TEST(test_reject_duplicate_and_values)
{
	_cleanup_nlmsg_ struct nl_msg *dup = raw_message(NFSD_CLTRACK_CMD_REPLY);
	_cleanup_nlmsg_ struct nl_msg *type = raw_message(NFSD_CLTRACK_CMD_GET_PENDING);
	_cleanup_nlmsg_ struct nl_msg *zero = raw_message(NFSD_CLTRACK_CMD_HELLO);
	struct nsr_genl_upcall up;
	struct nsr_genl_hello h;
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nla_put_u64(dup, NFSD_CLTRACK_A_REQ_ID, 1), 0);
	ck_assert_int_eq(nla_put_u64(dup, NFSD_CLTRACK_A_REQ_ID, 2), 0);
	ck_assert_int_eq(nla_put_s32(dup, NFSD_CLTRACK_A_STATUS, 0), 0);
	assert_rejected(nsr_genl_parse_reply(hdr(dup), msg_len(dup), &req_id, &status), -EINVAL,
			"NFSD_CLTRACK_A_REQ_ID appears more than once");

	nsr_genl_upcall_init(&up);
	put_upcall_header(type, 33, 99);
	assert_rejected(nsr_genl_parse_upcall(hdr(type), msg_len(type), &up), -EINVAL,
			"NFSD_CLTRACK_A_REQ_TYPE 99");
	ck_assert_uint_eq(up.req_id, 33);

	ck_assert_int_eq(nla_put_u32(zero, NFSD_CLTRACK_A_VERSION, 0), 0);
	assert_rejected(nsr_genl_parse_hello(hdr(zero), msg_len(zero), &h), -EINVAL,
			"NFSD_CLTRACK_A_VERSION");
}
END_TEST

START_TEST(test_build_upcall_rejects)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_upcall up;

	make_upcall(&up, 0, 1);
	assert_rejected(nsr_genl_build_upcall(FAMILY, 0, 0, &up, &msg), -EINVAL, "type 0");

	make_upcall(&up, NFSD_CLTRACK_REQ_CREATE, 1);
	assert_rejected(nsr_genl_build_upcall(FAMILY, 0, 0, &up, &msg), -EINVAL, "empty");

	make_upcall(&up, NFSD_CLTRACK_REQ_GRACE_DONE, 1);
	memset(up.scope, 's', sizeof(up.scope));
	assert_rejected(nsr_genl_build_upcall(FAMILY, 0, 0, &up, &msg), -EINVAL,
			"not NUL-terminated");
	ck_assert_ptr_null(msg);
}
END_TEST

/*
 * The kernel's nla_put_u64_64bit() may add an empty type-0 attribute for
 * alignment when the family passes 0 as its pad type.
 */
START_TEST(test_padding_attribute_skipped)
{
	_cleanup_nlmsg_ struct nl_msg *msg = raw_message(NFSD_CLTRACK_CMD_REPLY);
	uint64_t req_id;
	int32_t status;

	ck_assert_int_eq(nla_put(msg, 0, 0, NULL), 0);
	ck_assert_int_eq(nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, 9), 0);
	ck_assert_int_eq(nla_put_s32(msg, NFSD_CLTRACK_A_STATUS, 0), 0);
	ck_assert_int_eq(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &req_id, &status), 0);
	ck_assert_uint_eq(req_id, 9);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("genl");
	TCase *round_trip = tcase_create("round-trip");
	TCase *records = tcase_create("grace-records");
	TCase *malformed = tcase_create("malformed");

	tcase_add_test(round_trip, test_hello_round_trip);
	tcase_add_test(round_trip, test_hello_reply_round_trip);
	tcase_add_test(round_trip, test_get_pending_round_trip);
	tcase_add_test(round_trip, test_get_pending_without_after_id);
	tcase_add_test(round_trip, test_pending_ntf_round_trip);
	tcase_add_test(round_trip, test_reply_round_trip);
	tcase_add_test(round_trip, test_reply_status_range);
	tcase_add_test(round_trip, test_upcall_binary_id_with_audit);
	tcase_add_test(round_trip, test_upcall_max_id_without_audit);
	tcase_add_test(round_trip, test_upcall_longest_values);
	tcase_add_test(round_trip, test_upcall_grace_round_trip);
	tcase_add_test(round_trip, test_upcall_to_request);
	tcase_add_test(round_trip, test_upcall_to_request_unknown_type);
	tcase_add_test(round_trip, test_padding_attribute_skipped);
	suite_add_tcase(s, round_trip);

	tcase_add_test(records, test_grace_records_many_messages);
	tcase_add_test(records, test_grace_records_small_buffer);
	tcase_add_test(records, test_grace_records_append_rejects);
	tcase_add_test(records, test_grace_records_callback_error);
	tcase_add_test(records, test_grace_records_bad_record_delivers_nothing);
	tcase_add_test(records, test_grace_records_record_checks);
	suite_add_tcase(s, records);

	tcase_add_test(malformed, test_reject_truncated_attribute);
	tcase_add_test(malformed, test_reject_truncated_message);
	tcase_add_test(malformed, test_reject_control_message);
	tcase_add_test(malformed, test_reject_client_id_bounds);
	tcase_add_test(malformed, test_reject_princhash_length);
	tcase_add_test(malformed, test_princhash_empty_means_none);
	tcase_add_test(malformed, test_reject_unknown_attribute);
	tcase_add_test(malformed, test_reject_missing_attribute);
	tcase_add_test(malformed, test_reject_unsupported_version);
	tcase_add_test(malformed, test_reject_unexpected_command);
	tcase_add_test(malformed, test_reject_fixed_size_lengths);
	tcase_add_test(malformed, test_reject_bad_strings);
	tcase_add_test(malformed, test_reject_duplicate_and_values);
	tcase_add_test(malformed, test_build_upcall_rejects);
	suite_add_tcase(s, malformed);

	return nsr_test_run(s);
}
