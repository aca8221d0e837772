/* nsr-pipe.h: build and parse the messages of nfsdcld's rpc_pipefs pipe, versions 1 and 2. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nsr-client.h"
#include "nsr-request.h"

/*
 * nfsd's stock client tracker talks to its daemon through the rpc_pipefs
 * pipe nfsd/cld. Every message is a packed, host-endian record:
 *
 *   offset  size  field
 *        0     1  version        1 or 2
 *        1     1  command        enum nsr_pipe_cmd
 *        2     2  status         signed; 0 in upcalls, the result in answers
 *        4     4  xid            chosen by nfsd, echoed in every answer
 *        8     2  name length    Create, Remove, GraceStart records
 *       10  1024  name           the opaque NFSv4 client id
 *     1034     1  hash length    version 2 only: 0 or 32
 *     1035    32  hash           version 2 only: SHA-256 of the principal
 *
 * A version 1 message is 1034 bytes and a version 2 message 1067 bytes.
 * The GetVersion answer carries the daemon's highest version in the byte
 * at offset 8. nfsd sends GetVersion as a version 1 message, clamps the
 * answer to 1..2 and sends everything after it at that version.
 *
 * The codec reads and writes each field at its offset with memcpy, so it
 * relies on no compiler's packing.
 *
 * Every function that fails returns a negative errno and stores a message
 * naming the field and value, which nsr_pipe_strerror() returns. Parser
 * errors, each distinct:
 *   -EBADMSG          fewer than NSR_PIPE_HDR_SIZE bytes: there is no xid,
 *                     so the message cannot be answered
 *   -EMSGSIZE         the length is neither NSR_PIPE_MSG_V1_SIZE nor
 *                     NSR_PIPE_MSG_V2_SIZE
 *   -EPROTONOSUPPORT  the version byte is not 1 or 2, or does not match the
 *                     message's length
 *   -EOPNOTSUPP       an unknown command, or Check, which only nfsd's old
 *                     version 0 protocol sends
 *   -EINVAL           a name length of 0
 *   -E2BIG            a name length over NSR_CLIENTID_MAX
 *   -ERANGE           a principal hash length that is neither 0 nor 32
 */

#define NSR_PIPE_HDR_SIZE 8
#define NSR_PIPE_MSG_V1_SIZE 1034
#define NSR_PIPE_MSG_V2_SIZE 1067
#define NSR_PIPE_MSG_MAX NSR_PIPE_MSG_V2_SIZE

/* The highest message version this codec speaks. */
#define NSR_PIPE_VERSION_MAX 2

/* The status of a GraceStart record message: the upcall is still in progress. */
#define NSR_PIPE_STATUS_IN_PROGRESS (-115) /* -EINPROGRESS on Linux */

enum nsr_pipe_cmd {
	NSR_PIPE_CREATE = 0,
	NSR_PIPE_REMOVE = 1,
	NSR_PIPE_CHECK = 2,	/* version 0 protocol only */
	NSR_PIPE_GRACE_DONE = 3,
	NSR_PIPE_GRACE_START = 4,
	NSR_PIPE_GET_VERSION = 5,
};

/* The fixed header of every message. */
struct nsr_pipe_hdr {
	uint8_t version;
	uint8_t cmd;
	int16_t status;
	uint32_t xid;
};

/*
 * A message from the daemon as the kernel side sees it, for tests and the
 * fake kernel. The client is set for GraceStart records.
 */
struct nsr_pipe_answer {
	struct nsr_pipe_hdr hdr;
	size_t size;		/* bytes of the message */
	uint8_t max_version;	/* GetVersion answers */
	struct nsr_client client; /* GraceStart records; no audit strings */
};

/**
 * nsr_pipe_strerror - the message of the last failure on this thread
 */
const char *nsr_pipe_strerror(void);

/**
 * nsr_pipe_msg_size - the size of a message of @version
 *
 * Returns NSR_PIPE_MSG_V1_SIZE, NSR_PIPE_MSG_V2_SIZE, or 0 for another version.
 */
size_t nsr_pipe_msg_size(unsigned int version);

/* Name a command for logs: "Create", "GraceStart", and so on; "unknown" otherwise. */
const char *nsr_pipe_cmd_name(unsigned int cmd);

/**
 * nsr_pipe_parse_hdr - read the header of @len bytes at @buf
 *
 * Returns 0, or -EBADMSG for fewer than NSR_PIPE_HDR_SIZE bytes.
 */
int nsr_pipe_parse_hdr(const void *buf, size_t len, struct nsr_pipe_hdr *ret);

/**
 * nsr_pipe_parse_upcall - turn one message that nfsd sent into a request
 * @buf: the bytes one read() returned
 * @len: their number
 * @hdr: set to the header whenever @len covers one, even on error, so the
 *       caller can answer a malformed message with its xid
 * @req: initialized and filled on success: op, xid, and for Create and
 *       Remove the client. GetVersion gives NSR_OP_VERSION with
 *       req->version set to the message's version. On error @req is
 *       initialized to an empty request that owns nothing.
 *
 * Returns 0 or one of the parser errors listed at the top of this header.
 */
int nsr_pipe_parse_upcall(const void *buf, size_t len, struct nsr_pipe_hdr *hdr,
			  struct nsr_request *req);

/**
 * nsr_pipe_build_status - build the final answer to an upcall
 * @hdr: the upcall's header; its version selects the size, and its
 *       command and xid are echoed. An unknown version answers at version 1.
 * @status: 0 or a negative errno from -32768 to 0
 * @buf: at least NSR_PIPE_MSG_MAX bytes
 *
 * Returns the message's size, or -ERANGE for a status out of range.
 */
int nsr_pipe_build_status(const struct nsr_pipe_hdr *hdr, int status, uint8_t *buf);

/**
 * nsr_pipe_build_version - build the answer to GetVersion
 * @xid: the upcall's xid
 * @max_version: the highest version the daemon speaks, 1..255
 * @buf: at least NSR_PIPE_MSG_MAX bytes
 *
 * The answer is a version 1 message with status 0. Returns its size, or
 * -EINVAL for a version of 0.
 */
int nsr_pipe_build_version(uint32_t xid, unsigned int max_version, uint8_t *buf);

/**
 * nsr_pipe_build_record - build one GraceStart record message
 * @version: the GraceStart upcall's version; version 1 carries no hash
 * @xid: the GraceStart upcall's xid
 * @princhash: NULL or the hash; @princhash_len 0 or NSR_PRINCHASH_LEN
 * @buf: at least NSR_PIPE_MSG_MAX bytes
 *
 * The message has command GraceStart and status -EINPROGRESS. Returns its
 * size, -EINVAL for an empty id or a bad hash length, -E2BIG for an id
 * over NSR_CLIENTID_MAX, or -EPROTONOSUPPORT for a version other than 1 or 2.
 */
int nsr_pipe_build_record(unsigned int version, uint32_t xid, const uint8_t *id, size_t id_len,
			  const uint8_t *princhash, size_t princhash_len, uint8_t *buf);

/**
 * nsr_pipe_build_upcall - build an upcall as nfsd does (tests, fake kernel)
 * @client: the client of Create and Remove (Check too), NULL otherwise. Its
 *          principal hash is sent at version 2 only.
 * @buf: at least NSR_PIPE_MSG_MAX bytes
 *
 * Returns the message's size, -EPROTONOSUPPORT for a version other than
 * 1 or 2, or the errors of nsr_pipe_build_record() for the client.
 */
int nsr_pipe_build_upcall(unsigned int version, enum nsr_pipe_cmd cmd, uint32_t xid,
			  const struct nsr_client *client, uint8_t *buf);

/**
 * nsr_pipe_parse_answer - parse a message the daemon wrote (tests, fake kernel)
 * @version: the version nfsd expects; the length must match it
 *
 * Checks what nfsd checks: the length, and for a GraceStart record with
 * status -EINPROGRESS the name and hash lengths. Returns 0 or a parser error.
 */
int nsr_pipe_parse_answer(const void *buf, size_t len, unsigned int version,
			  struct nsr_pipe_answer *ret);
