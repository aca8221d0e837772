/* fuzz-genl.c: libFuzzer target that feeds arbitrary bytes to every nfsd_cltrack parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "nsr-genl.h"

/* Any id in the dynamic generic netlink range will do for re-encoding. */
#define FAMILY 0x1d

/* Records kept per message for the re-encoding check. Messages with more skip it. */
#define RECORDS_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Every check below is an invariant of the codec, so a violation aborts and
 * libFuzzer saves the input: what a parser accepts, the matching builder
 * must encode, and parsing that encoding must give back the same values.
 */
#define require(cond)                  \
	do {                           \
		if (!(cond))           \
			abort();       \
	} while (0)

static const struct nlmsghdr *hdr(struct nl_msg *msg)
{
	return nlmsg_hdr(msg);
}

static size_t msg_len(struct nl_msg *msg)
{
	return nlmsg_hdr(msg)->nlmsg_len;
}

static void check_hello(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_hello in, out;

	if (nsr_genl_parse_hello(nlh, len, &in) < 0)
		return;

	require(nsr_genl_build_hello(FAMILY, in.version, in.caps, &msg) == 0);
	require(nsr_genl_parse_hello(hdr(msg), msg_len(msg), &out) == 0);
	require(memcmp(&in, &out, sizeof(in)) == 0);
}

static void check_hello_reply(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_hello in, out;

	if (nsr_genl_parse_hello_reply(nlh, len, &in) < 0)
		return;

	require(nsr_genl_build_hello_reply(FAMILY, 1, 2, &in, &msg) == 0);
	require(nsr_genl_parse_hello_reply(hdr(msg), msg_len(msg), &out) == 0);
	require(memcmp(&in, &out, sizeof(in)) == 0);
}

static void check_pending_ntf(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint32_t in, out;

	if (nsr_genl_parse_pending_ntf(nlh, len, &in) < 0)
		return;

	require(nsr_genl_build_pending_ntf(FAMILY, in, &msg) == 0);
	require(nsr_genl_parse_pending_ntf(hdr(msg), msg_len(msg), &out) == 0);
	require(in == out);
}

static void check_get_pending(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint64_t in, out;

	if (nsr_genl_parse_get_pending(nlh, len, &in) < 0)
		return;

	require(nsr_genl_build_get_pending(FAMILY, in, &msg) == 0);
	require(nsr_genl_parse_get_pending(hdr(msg), msg_len(msg), &out) == 0);
	require(in == out);
}

static void check_reply(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint64_t in_id, out_id;
	int32_t in_status, out_status;

	if (nsr_genl_parse_reply(nlh, len, &in_id, &in_status) < 0)
		return;

	require(nsr_genl_build_reply(FAMILY, in_id, in_status, &msg) == 0);
	require(nsr_genl_parse_reply(hdr(msg), msg_len(msg), &out_id, &out_status) == 0);
	require(in_id == out_id);
	require(in_status == out_status);
}

static bool same_string(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool same_upcall(const struct nsr_genl_upcall *a, const struct nsr_genl_upcall *b)
{
	const struct nsr_client *x = &a->client, *y = &b->client;

	return a->req_id == b->req_id && a->type == b->type && strcmp(a->scope, b->scope) == 0 &&
	       a->boot_time == b->boot_time && x->id_len == y->id_len &&
	       memcmp(x->id, y->id, x->id_len) == 0 && x->princhash_len == y->princhash_len &&
	       memcmp(x->princhash, y->princhash, x->princhash_len) == 0 &&
	       x->minor_version == y->minor_version && same_string(x->address, y->address) &&
	       same_string(x->principal, y->principal) && same_string(x->impl_id, y->impl_id);
}

static void check_upcall(const struct nlmsghdr *nlh, size_t len)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	struct nsr_genl_upcall in, out;
	struct nsr_request req;

	nsr_genl_upcall_init(&in);
	nsr_genl_upcall_init(&out);
	if (nsr_genl_parse_upcall(nlh, len, &in) < 0) {
		/* A failed parse owns nothing, whatever it got through. */
		require(!in.client.address && !in.client.principal && !in.client.impl_id);
		return;
	}

	require(nsr_genl_build_upcall(FAMILY, 1, 2, &in, &msg) == 0);
	require(nsr_genl_parse_upcall(hdr(msg), msg_len(msg), &out) == 0);
	require(same_upcall(&in, &out));
	nsr_genl_upcall_release(&out);

	require(nsr_genl_upcall_to_request(&in, &req) == 0);
	require(req.xid == in.req_id);
	nsr_request_release(&req);
	nsr_genl_upcall_release(&in);
}

struct record_list {
	struct nsr_genl_record records[RECORDS_MAX];
	size_t count;
	size_t compared;
	bool overflow;
};

/* Read every byte, so the sanitizer reports any pointer past the message. */
static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		sink ^= p[i];
}

static int collect_record(const struct nsr_genl_record *rec, void *userdata)
{
	struct record_list *list = userdata;

	require(rec->id_len >= 1 && rec->id_len <= NFSD_CLTRACK_CLIENTID_MAX);
	require(rec->princhash_len == 0 || rec->princhash_len == NFSD_CLTRACK_PRINCHASH_LEN);
	touch(rec->id, rec->id_len);
	touch(rec->princhash, rec->princhash_len);

	if (list->count == RECORDS_MAX) {
		list->overflow = true;
		return 0;
	}
	list->records[list->count++] = *rec;
	return 0;
}

static int compare_record(const struct nsr_genl_record *rec, void *userdata)
{
	struct record_list *list = userdata;
	const struct nsr_genl_record *want = &list->records[list->compared++];

	require(rec->id_len == want->id_len);
	require(memcmp(rec->id, want->id, rec->id_len) == 0);
	require(rec->princhash_len == want->princhash_len);
	require(memcmp(rec->princhash ? rec->princhash : (const uint8_t *)"",
		       want->princhash ? want->princhash : (const uint8_t *)"",
		       rec->princhash_len) == 0);
	return 0;
}

static void check_grace_records(const struct nlmsghdr *nlh, size_t len)
{
	static struct record_list list;
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	uint64_t in_id, out_id;

	memset(&list, 0, sizeof(list));
	if (nsr_genl_parse_grace_records(nlh, len, &in_id, collect_record, &list) < 0)
		return;
	require(list.count > 0);
	if (list.overflow)
		return;

	/* The re-encoding is never larger than the input, so one message has room for it. */
	require(nsr_genl_build_grace_records(FAMILY, in_id, nlh->nlmsg_len + 64, &msg) == 0);
	for (size_t i = 0; i < list.count; i++) {
		const struct nsr_genl_record *rec = &list.records[i];

		require(nsr_genl_grace_records_append(msg, rec->id, rec->id_len, rec->princhash,
						      rec->princhash_len) == 0);
	}
	require(nsr_genl_parse_grace_records(hdr(msg), msg_len(msg), &out_id, compare_record,
					     &list) == 0);
	require(in_id == out_id);
	require(list.compared == list.count);
}

/* Feed one message, with every byte after it, to each parser. */
static void check_message(const struct nlmsghdr *nlh, size_t len)
{
	int cmd = nsr_genl_message_cmd(nlh, len);

	require(cmd < 0 || cmd <= UINT8_MAX);

	check_hello(nlh, len);
	check_hello_reply(nlh, len);
	check_pending_ntf(nlh, len);
	check_get_pending(nlh, len);
	check_upcall(nlh, len);
	check_grace_records(nlh, len);
	check_reply(nlh, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t offset = 0;
	void *buf;

	/* Netlink messages start 4-byte aligned in a receive buffer, and so does this copy. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	/* Walk the input as a receive buffer that may hold several messages. */
	do {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)((uint8_t *)buf + offset);
		size_t left = size - offset;

		check_message(nlh, left);
		if (left < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN ||
		    nlh->nlmsg_len > left)
			break;
		offset += NLMSG_ALIGN(nlh->nlmsg_len);
	} while (offset < size);

	free(buf);
	return 0;
}
