/* test-pipe.c: the nfsdcld pipe codec: round trips at versions 1 and 2, and rejections. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "nsr-macro.h"
#include "nsr-pipe.h"
#include "nsr-test.h"

static const uint8_t hash[NSR_PRINCHASH_LEN] = { 0xde, 0xad, 0xbe, 0xef, [31] = 0x42 };

static void client_fill(struct nsr_client *c, const void *id, size_t len, bool with_hash)
{
	nsr_client_init(c);
	ck_assert_int_eq(nsr_client_set_id(c, id, len), 0);
	if (with_hash)
		ck_assert_int_eq(nsr_client_set_princhash(c, hash, sizeof(hash)), 0);
}

/* Build an upcall as nfsd does and parse it as the daemon does. */
static int round_trip(unsigned int version, enum nsr_pipe_cmd cmd, uint32_t xid,
		      const struct nsr_client *c, struct nsr_pipe_hdr *hdr, struct nsr_request *req)
{
	uint8_t buf[NSR_PIPE_MSG_MAX];
	int n;

	n = nsr_pipe_build_upcall(version, cmd, xid, c, buf);
	ck_assert_int_eq(n, (int)nsr_pipe_msg_size(version));
	return nsr_pipe_parse_upcall(buf, (size_t)n, hdr, req);
}

START_TEST(test_layout_offsets)
{
	uint8_t buf[NSR_PIPE_MSG_MAX];
	struct nsr_client c;
	uint32_t xid = 0x01020304;
	uint16_t len;

	client_fill(&c, "abc", 3, true);
	ck_assert_int_eq(nsr_pipe_build_upcall(2, NSR_PIPE_CREATE, xid, &c, buf), 1067);
	ck_assert_uint_eq(buf[0], 2);
	ck_assert_uint_eq(buf[1], NSR_PIPE_CREATE);
	ck_assert_int_eq(memcmp(buf + 4, &xid, 4), 0);
	memcpy(&len, buf + 8, 2);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(buf + 10, "abc", 3);
	ck_assert_uint_eq(buf[1034], 32);
	ck_assert_mem_eq(buf + 1035, hash, 32);

	ck_assert_int_eq(nsr_pipe_build_upcall(1, NSR_PIPE_CREATE, xid, &c, buf), 1034);
	ck_assert_uint_eq(buf[0], 1);
}
END_TEST

START_TEST(test_client_commands_round_trip)
{
	static const enum nsr_pipe_cmd cmds[] = { NSR_PIPE_CREATE, NSR_PIPE_REMOVE };
	static const enum nsr_op ops[] = { NSR_OP_CREATE, NSR_OP_REMOVE };
	static uint8_t binary[NSR_CLIENTID_MAX];
	struct nsr_pipe_hdr hdr;
	struct nsr_request req;
	struct nsr_client c;

	memset(binary, 0, sizeof(binary));
	binary[5] = 0xff;
	for (unsigned int version = 1; version <= 2; version++) {
		for (size_t i = 0; i < NSR_ARRAY_SIZE(cmds); i++) {
			client_fill(&c, binary, sizeof(binary), true);
			ck_assert_int_eq(round_trip(version, cmds[i], 77 + i, &c, &hdr, &req), 0);
			ck_assert_int_eq(req.op, ops[i]);
			ck_assert_uint_eq(req.xid, 77 + i);
			ck_assert_uint_eq(hdr.version, version);
			ck_assert_uint_eq(req.client.id_len, NSR_CLIENTID_MAX);
			ck_assert_mem_eq(req.client.id, binary, sizeof(binary));
			/* Version 1 has no room for the hash. */
			ck_assert_uint_eq(req.client.princhash_len, version == 2 ? 32 : 0);
			if (version == 2)
				ck_assert_mem_eq(req.client.princhash, hash, 32);
			nsr_request_release(&req);
		}
	}
}
END_TEST

START_TEST(test_grace_and_version_round_trip)
{
	struct nsr_pipe_hdr hdr;
	struct nsr_request req;

	for (unsigned int version = 1; version <= 2; version++) {
		ck_assert_int_eq(round_trip(version, NSR_PIPE_GRACE_START, 5, NULL, &hdr, &req), 0);
		ck_assert_int_eq(req.op, NSR_OP_GRACE_START);
		ck_assert_uint_eq(req.xid, 5);
		ck_assert_int_eq(round_trip(version, NSR_PIPE_GRACE_DONE, 6, NULL, &hdr, &req), 0);
		ck_assert_int_eq(req.op, NSR_OP_GRACE_DONE);
	}
	ck_assert_int_eq(round_trip(1, NSR_PIPE_GET_VERSION, 0, NULL, &hdr, &req), 0);
	ck_assert_int_eq(req.op, NSR_OP_VERSION);
	ck_assert_uint_eq(req.version, 1);
}
END_TEST

START_TEST(test_answers_round_trip)
{
	struct nsr_pipe_hdr up = { .version = 2, .cmd = NSR_PIPE_CREATE, .xid = 9 };
	uint8_t buf[NSR_PIPE_MSG_MAX];
	struct nsr_pipe_answer a;
	int n;

	n = nsr_pipe_build_version(3, NSR_PIPE_VERSION_MAX, buf);
	ck_assert_int_eq(n, 1034);
	ck_assert_int_eq(nsr_pipe_parse_answer(buf, n, 1, &a), 0);
	ck_assert_uint_eq(a.hdr.cmd, NSR_PIPE_GET_VERSION);
	ck_assert_uint_eq(a.hdr.xid, 3);
	ck_assert_int_eq(a.hdr.status, 0);
	ck_assert_uint_eq(a.max_version, 2);

	n = nsr_pipe_build_status(&up, -EEXIST, buf);
	ck_assert_int_eq(n, 1067);
	ck_assert_int_eq(nsr_pipe_parse_answer(buf, n, 2, &a), 0);
	ck_assert_int_eq(a.hdr.status, -EEXIST);
	ck_assert_uint_eq(a.hdr.cmd, NSR_PIPE_CREATE);
	ck_assert_uint_eq(a.hdr.xid, 9);
	ck_assert_int_eq(nsr_pipe_parse_answer(buf, n, 1, &a), -EMSGSIZE);
	ck_assert_int_eq(nsr_pipe_build_status(&up, -70000, buf), -ERANGE);
	ck_assert_int_eq(nsr_pipe_build_status(&up, 1, buf), -ERANGE);

	for (unsigned int version = 1; version <= 2; version++) {
		n = nsr_pipe_build_record(version, 11, (const uint8_t *)"client", 6, hash, 32, buf);
		ck_assert_int_eq(n, (int)nsr_pipe_msg_size(version));
		ck_assert_int_eq(nsr_pipe_parse_answer(buf, n, version, &a), 0);
		ck_assert_int_eq(a.hdr.status, -EINPROGRESS);
		ck_assert_uint_eq(a.hdr.cmd, NSR_PIPE_GRACE_START);
		ck_assert_uint_eq(a.client.id_len, 6);
		ck_assert_mem_eq(a.client.id, "client", 6);
		ck_assert_uint_eq(a.client.princhash_len, version == 2 ? 32 : 0);
	}
	ck_assert_int_eq(nsr_pipe_build_record(2, 1, (const uint8_t *)"x", 0, NULL, 0, buf), -EINVAL);
	ck_assert_int_eq(nsr_pipe_build_record(2, 1, buf, NSR_CLIENTID_MAX + 1, NULL, 0, buf), -E2BIG);
	ck_assert_int_eq(nsr_pipe_build_record(2, 1, (const uint8_t *)"x", 1, hash, 16, buf), -EINVAL);
	ck_assert_int_eq(nsr_pipe_build_record(3, 1, (const uint8_t *)"x", 1, NULL, 0, buf),
			 -EPROTONOSUPPORT);
}
END_TEST

/* A valid version 2 Create to corrupt in the rejection tests. */
static int valid_create(uint8_t *buf)
{
	struct nsr_client c;

	client_fill(&c, "client-a", 8, false);
	return nsr_pipe_build_upcall(2, NSR_PIPE_CREATE, 42, &c, buf);
}

static void expect_reject(const uint8_t *buf, size_t len, int error, const char *field)
{
	struct nsr_pipe_hdr hdr;
	struct nsr_request req;

	ck_assert_int_eq(nsr_pipe_parse_upcall(buf, len, &hdr, &req), error);
	ck_assert_ptr_nonnull(strstr(nsr_pipe_strerror(), field));
	ck_assert_uint_eq(req.client.id_len, 0);
	if (error != -EBADMSG)
		ck_assert_uint_eq(hdr.xid, 42);
}

START_TEST(test_rejections)
{
	uint8_t buf[NSR_PIPE_MSG_MAX + 16];
	uint16_t len;

	valid_create(buf);
	expect_reject(buf, 7, -EBADMSG, "header");
	expect_reject(buf, 1066, -EMSGSIZE, "length");
	expect_reject(buf, 1068, -EMSGSIZE, "length");
	expect_reject(buf, 1034, -EPROTONOSUPPORT, "version 2");

	buf[0] = 3;
	expect_reject(buf, 1067, -EPROTONOSUPPORT, "version 3");
	buf[0] = 0;
	expect_reject(buf, 1067, -EPROTONOSUPPORT, "version 0");

	valid_create(buf);
	buf[1] = 9;
	expect_reject(buf, 1067, -EOPNOTSUPP, "unknown command 9");
	buf[1] = NSR_PIPE_CHECK;
	expect_reject(buf, 1067, -EOPNOTSUPP, "version 0 protocol");

	valid_create(buf);
	len = 0;
	memcpy(buf + 8, &len, 2);
	expect_reject(buf, 1067, -EINVAL, "name length is 0");
	len = NSR_CLIENTID_MAX + 1;
	memcpy(buf + 8, &len, 2);
	expect_reject(buf, 1067, -E2BIG, "name length 1025");

	valid_create(buf);
	buf[1034] = 33;
	expect_reject(buf, 1067, -ERANGE, "principal hash length 33");
	buf[1034] = 16;
	expect_reject(buf, 1067, -ERANGE, "principal hash length 16");
}
END_TEST

START_TEST(test_answer_rejections)
{
	uint8_t buf[NSR_PIPE_MSG_MAX];
	struct nsr_pipe_hdr up = { .version = 2, .cmd = NSR_PIPE_CREATE, .xid = 1 };
	struct nsr_pipe_answer a;
	int n;

	/* -EINPROGRESS is only meaningful for GraceStart. */
	n = nsr_pipe_build_status(&up, -EINPROGRESS, buf);
	ck_assert_int_eq(nsr_pipe_parse_answer(buf, n, 2, &a), -EOPNOTSUPP);
	ck_assert_int_eq(nsr_pipe_parse_answer(buf, 3, 2, &a), -EBADMSG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipe");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, test_layout_offsets);
	tcase_add_test(tc, test_client_commands_round_trip);
	tcase_add_test(tc, test_grace_and_version_round_trip);
	tcase_add_test(tc, test_answers_round_trip);
	tcase_add_test(tc, test_rejections);
	tcase_add_test(tc, test_answer_rejections);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
