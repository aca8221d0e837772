/* nsr-genl.h: build and parse the messages of the nfsd_cltrack generic netlink family. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <linux/nfsd_cltrack.h>
#include <netlink/msg.h>

#include "nsr-client.h"
#include "nsr-macro.h"
#include "nsr-request.h"

/*
 * The codec covers both directions. The daemon builds HELLO, GET_PENDING,
 * GRACE_RECORDS and REPLY and parses what nfsd sends back. The kernel-side
 * functions exist for the unit tests and for the fake kernel of the no-VM
 * daemon tests, so both ends of every test exercise the same encoding.
 *
 * Builders return a struct nl_msg with the generic netlink header version
 * NFSD_CLTRACK_FAMILY_VERSION. Messages to the kernel carry NLM_F_REQUEST,
 * port 0 and sequence 0, so nl_send_auto() fills in the port and sequence
 * and adds NLM_F_ACK unless the socket disabled auto-ack.
 *
 * Parsers take one netlink message and the number of bytes readable at
 * @nlh, so they can run on raw bytes from a socket, a socketpair or a
 * fuzzer. They check the netlink, generic netlink and attribute framing, the
 * command and the header version, and every attribute against the ABI. They
 * do not check nlmsg_type against the family id, because the caller routes
 * messages by family before it picks a parser.
 *
 * Every function that fails returns a negative errno and stores a message
 * that names the offending attribute or value, which nsr_genl_strerror()
 * returns. The codec never logs: the caller logs the message with the
 * namespace it came from. Parser errors:
 *   -EBADMSG          nlmsg_len or an nla_len is inconsistent with the bytes
 *                     present, or the message is a netlink control message
 *   -EOPNOTSUPP       the command is not the one this parser handles
 *   -EPROTONOSUPPORT  the generic netlink header version is not
 *                     NFSD_CLTRACK_FAMILY_VERSION
 *   -EPROTO           an attribute type is unknown or not valid in this message
 *   -ENODATA          a required attribute is missing
 *   -E2BIG            a client id is longer than NFSD_CLTRACK_CLIENTID_MAX
 *   -EINVAL           any other invalid attribute: an empty client id, a
 *                     principal hash that is neither 0 nor 32 bytes, a
 *                     fixed-size integer of the wrong length, a string that
 *                     is not NUL-terminated or is over its bound, a repeated
 *                     attribute, a value out of range
 *   -ENOMEM           an allocation failed (audit strings)
 */

/*
 * Default buffer size of one GRACE_RECORDS message. libnl's sockets use a
 * 32 KiB send buffer, so this leaves room and still packs about 30 records
 * of maximum-length ids per message.
 */
#define NSR_GENL_RECORDS_MSG_SIZE 32768

/* HELLO request (version, caps) and HELLO reply (all four fields). */
struct nsr_genl_hello {
	uint32_t version;	/* NFSD_CLTRACK_A_VERSION */
	uint32_t caps;		/* NFSD_CLTRACK_A_CAPS, enum nfsd_cltrack_cap bits */
	uint32_t timeout_ms;	/* NFSD_CLTRACK_A_TIMEOUT_MS, reply only */
	uint32_t pending;	/* NFSD_CLTRACK_A_PENDING, reply only */
};

/*
 * One pending request as GET_PENDING dumps it. The client is meaningful for
 * CREATE and REMOVE only. Its audit strings are owned by the upcall and
 * freed by nsr_genl_upcall_release() unless nsr_genl_upcall_to_request()
 * moved them into a request.
 */
struct nsr_genl_upcall {
	uint64_t req_id;
	uint32_t type;		/* enum nfsd_cltrack_req_type */
	char scope[NFSD_CLTRACK_SCOPE_MAX + 1];
	int64_t boot_time;	/* seconds since the Epoch */
	struct nsr_client client;
};

/* One GRACE_RECORDS record, pointing into the parsed message. */
struct nsr_genl_record {
	const uint8_t *id;
	size_t id_len;
	const uint8_t *princhash;	/* NULL when princhash_len is 0 */
	size_t princhash_len;		/* 0 or NFSD_CLTRACK_PRINCHASH_LEN */
};

/*
 * Receives each record of a parsed GRACE_RECORDS message, in message order.
 * A negative return stops the parse and becomes its result.
 */
typedef int (*nsr_genl_record_fn)(const struct nsr_genl_record *rec, void *userdata);

NSR_DEFINE_PTR_CLEANUP(struct nl_msg, nlmsg_free)
#define _cleanup_nlmsg_ _cleanup_(nlmsg_freep)

/**
 * nsr_genl_strerror - describe the last failure of this thread's codec call
 *
 * Returns a message that names the offending attribute or value, or "" when
 * the last call succeeded. The string stays valid until the thread's next
 * call into the codec.
 */
const char *nsr_genl_strerror(void);

/**
 * nsr_genl_message_cmd - read the command of a message to pick its parser
 * @nlh: the message, 4-byte aligned
 * @len: bytes available at @nlh
 *
 * Returns the generic netlink command (enum NFSD_CLTRACK_CMD_*, 0..255),
 * -EBADMSG when the headers are truncated or the message is a netlink
 * control message, or -EPROTONOSUPPORT for another header version.
 */
int nsr_genl_message_cmd(const struct nlmsghdr *nlh, size_t len);

/* Daemon side: messages to the kernel. */

/**
 * nsr_genl_build_hello - build a HELLO request
 * @family: the resolved family id of "nfsd_cltrack"
 * @version: the daemon's highest protocol version, at least 1
 * @caps: enum nfsd_cltrack_cap bits the daemon supports
 * @ret: set to the new message, which the caller frees with nlmsg_free()
 *
 * Returns 0, -EINVAL for a family id outside 16..65535 or version 0, or
 * -ENOMEM.
 */
int nsr_genl_build_hello(int family, uint32_t version, uint32_t caps, struct nl_msg **ret);

/**
 * nsr_genl_build_get_pending - build a GET_PENDING dump request
 * @after_id: return only requests whose REQ_ID is greater (0 returns all)
 * @ret: set to the new message, flagged NLM_F_DUMP
 *
 * Returns 0, -EINVAL for a bad family id, or -ENOMEM.
 */
int nsr_genl_build_get_pending(int family, uint64_t after_id, struct nl_msg **ret);

/**
 * nsr_genl_build_grace_records - start a GRACE_RECORDS message
 * @req_id: the REQ_ID of the pending GRACE_START request
 * @max_size: buffer size of the message in bytes, or 0 for
 *	NSR_GENL_RECORDS_MSG_SIZE. Appends fail once it is full.
 * @ret: set to the new message, holding no record yet
 *
 * Returns 0, -EINVAL for a bad family id or a @max_size too small for the
 * headers, or -ENOMEM.
 */
int nsr_genl_build_grace_records(int family, uint64_t req_id, size_t max_size,
				 struct nl_msg **ret);

/**
 * nsr_genl_grace_records_append - add one record to a GRACE_RECORDS message
 * @msg: a message from nsr_genl_build_grace_records()
 * @id: the client id, 1..NFSD_CLTRACK_CLIENTID_MAX bytes, may contain NULs
 * @princhash: the principal hash, or NULL when @princhash_len is 0
 * @princhash_len: 0 or NFSD_CLTRACK_PRINCHASH_LEN
 *
 * Returns 0 when the record was added. Returns -EMSGSIZE when @msg already
 * contains at least one record and has no room for this one. Then @msg is
 * unchanged and valid, so the caller sends it, starts another message and appends the
 * same record again. Returns -ENOBUFS when the record does not fit even an
 * empty message of this size, -EINVAL for an empty id or a bad principal
 * hash length, and -E2BIG for an id over NFSD_CLTRACK_CLIENTID_MAX bytes.
 */
int nsr_genl_grace_records_append(struct nl_msg *msg, const uint8_t *id, size_t id_len,
				  const uint8_t *princhash, size_t princhash_len);

/**
 * nsr_genl_build_reply - build a REPLY that completes a pending request
 * @req_id: the request's REQ_ID
 * @status: 0 or a negative errno in -4095..-1
 *
 * Returns 0, -EINVAL for a bad family id or a status out of range, or
 * -ENOMEM.
 */
int nsr_genl_build_reply(int family, uint64_t req_id, int32_t status, struct nl_msg **ret);

/* Daemon side: messages from the kernel. */

/**
 * nsr_genl_parse_hello_reply - parse the kernel's reply to HELLO
 * @nlh: the message
 * @len: bytes available at @nlh, at least nlh->nlmsg_len
 * @hello: filled on success. VERSION is required and at least 1. CAPS,
 *	TIMEOUT_MS and PENDING default to 0 when absent.
 *
 * Returns 0 or a parser error (see the top of this header).
 */
int nsr_genl_parse_hello_reply(const struct nlmsghdr *nlh, size_t len,
			       struct nsr_genl_hello *hello);

/**
 * nsr_genl_parse_pending_ntf - parse a PENDING_NTF multicast notification
 * @pending: set to the number of requests pending in the namespace
 *
 * PENDING is required. Returns 0 or a parser error.
 */
int nsr_genl_parse_pending_ntf(const struct nlmsghdr *nlh, size_t len, uint32_t *pending);

/**
 * nsr_genl_upcall_init - reset @up to an empty upcall with no client
 */
void nsr_genl_upcall_init(struct nsr_genl_upcall *up);

/**
 * nsr_genl_upcall_release - free the client audit strings @up owns
 */
void nsr_genl_upcall_release(struct nsr_genl_upcall *up);

/**
 * nsr_genl_parse_upcall - parse one message of a GET_PENDING dump
 * @up: initialized with nsr_genl_upcall_init(). Any audit strings it owned
 *	are freed first.
 *
 * REQ_ID, REQ_TYPE, SCOPE and BOOT_TIME are required. CREATE and REMOVE
 * require CLIENT_ID and allow PRINCHASH and the audit attributes, but
 * GRACE_START and GRACE_DONE allow none of them. An unknown REQ_TYPE is -EINVAL.
 *
 * Returns 0 or a parser error. On error @up owns no audit strings, and
 * up->req_id is the message's REQ_ID when that attribute itself was valid,
 * else 0, so the caller can REPLY with an error instead of letting nfsd
 * wait for the timeout.
 */
int nsr_genl_parse_upcall(const struct nlmsghdr *nlh, size_t len, struct nsr_genl_upcall *up);

/**
 * nsr_genl_upcall_to_request - turn a parsed upcall into a request
 * @up: a parsed upcall. Its client moves into @req, and @up keeps none.
 * @req: initialized here with nsr_request_init(), with the REQ_ID as xid
 *
 * CREATE and REMOVE carry the client, GRACE_START carries boot_time and
 * GRACE_DONE carries neither. Returns 0, or -EINVAL for an unknown request
 * type, in which case @req is untouched and @up keeps its client.
 */
int nsr_genl_upcall_to_request(struct nsr_genl_upcall *up, struct nsr_request *req);

/* Kernel side, for tests and the fake kernel: messages to the daemon. */

/**
 * nsr_genl_build_hello_reply - build the reply to HELLO
 * @portid: nlmsg_pid of the HELLO request
 * @seq: nlmsg_seq of the HELLO request
 * @hello: all four fields are sent, and version must be at least 1
 *
 * Returns 0, -EINVAL for a bad family id or version 0, or -ENOMEM.
 */
int nsr_genl_build_hello_reply(int family, uint32_t portid, uint32_t seq,
			       const struct nsr_genl_hello *hello, struct nl_msg **ret);

/**
 * nsr_genl_build_pending_ntf - build a PENDING_NTF notification
 * @pending: the number of pending requests after the queueing
 *
 * Returns 0, -EINVAL for a bad family id, or -ENOMEM.
 */
int nsr_genl_build_pending_ntf(int family, uint32_t pending, struct nl_msg **ret);

/**
 * nsr_genl_build_upcall - build one message of a GET_PENDING dump
 * @portid, @seq: those of the dump request. The message carries NLM_F_MULTI.
 * @up: the request. For CREATE and REMOVE the client id and principal hash
 *	are sent, and each audit field that is known: non-NULL strings and a
 *	minor_version of 0 or more.
 *
 * Returns 0, -EINVAL for a bad family id, an unknown request type, a scope
 * that is not NUL-terminated, an empty client id, a bad principal hash
 * length or an audit string over its bound, -E2BIG for a client id over
 * NFSD_CLTRACK_CLIENTID_MAX bytes, or -ENOMEM.
 */
int nsr_genl_build_upcall(int family, uint32_t portid, uint32_t seq,
			  const struct nsr_genl_upcall *up, struct nl_msg **ret);

/* Kernel side: messages from the daemon. */

/**
 * nsr_genl_parse_hello - parse a HELLO request
 * @hello: version (required, at least 1) and caps (default 0) are set,
 *	timeout_ms and pending are zeroed
 *
 * Returns 0 or a parser error.
 */
int nsr_genl_parse_hello(const struct nlmsghdr *nlh, size_t len, struct nsr_genl_hello *hello);

/**
 * nsr_genl_parse_get_pending - parse a GET_PENDING dump request
 * @after_id: set to AFTER_ID, or 0 when absent
 *
 * Returns 0 or a parser error.
 */
int nsr_genl_parse_get_pending(const struct nlmsghdr *nlh, size_t len, uint64_t *after_id);

/**
 * nsr_genl_parse_grace_records - parse a GRACE_RECORDS message
 * @req_id: set to REQ_ID (required)
 * @fn: called once per RECORD, in message order
 *
 * The whole message is validated before the first call to @fn, so a
 * malformed message delivers no record. At least one RECORD is required.
 *
 * Returns 0, a parser error, or the first negative value @fn returned.
 */
int nsr_genl_parse_grace_records(const struct nlmsghdr *nlh, size_t len, uint64_t *req_id,
				 nsr_genl_record_fn fn, void *userdata);

/**
 * nsr_genl_parse_reply - parse a REPLY
 * @req_id: set to REQ_ID (required)
 * @status: set to STATUS (required, 0 or -4095..-1)
 *
 * Returns 0 or a parser error.
 */
int nsr_genl_parse_reply(const struct nlmsghdr *nlh, size_t len, uint64_t *req_id,
			 int32_t *status);
