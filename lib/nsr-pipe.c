/* nsr-pipe.c: build and parse the messages of nfsdcld's rpc_pipefs pipe, versions 1 and 2. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nsr-macro.h"
#include "nsr-pipe.h"

/* Field offsets; nsr-pipe.h draws the layout. */
#define OFF_VERSION 0
#define OFF_CMD 1
#define OFF_STATUS 2
#define OFF_XID 4
#define OFF_BODY 8
#define OFF_NAME_LEN 8
#define OFF_NAME 10
#define OFF_HASH_LEN (OFF_NAME + NSR_CLIENTID_MAX)
#define OFF_HASH (OFF_HASH_LEN + 1)

_Static_assert(OFF_HASH_LEN == NSR_PIPE_MSG_V1_SIZE, "version 1 ends where the hash starts");
_Static_assert(OFF_HASH + NSR_PRINCHASH_LEN == NSR_PIPE_MSG_V2_SIZE, "version 2 size");
_Static_assert(NSR_PIPE_STATUS_IN_PROGRESS == -EINPROGRESS, "EINPROGRESS differs");

static __thread char last_error[256];

const char *nsr_pipe_strerror(void)
{
	return last_error;
}

_printf_(2, 3) static int fail(int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return error;
}

size_t nsr_pipe_msg_size(unsigned int version)
{
	switch (version) {
	case 1:
		return NSR_PIPE_MSG_V1_SIZE;
	case 2:
		return NSR_PIPE_MSG_V2_SIZE;
	default:
		return 0;
	}
}

const char *nsr_pipe_cmd_name(unsigned int cmd)
{
	static const char *const names[] = {
		[NSR_PIPE_CREATE] = "Create",
		[NSR_PIPE_REMOVE] = "Remove",
		[NSR_PIPE_CHECK] = "Check",
		[NSR_PIPE_GRACE_DONE] = "GraceDone",
		[NSR_PIPE_GRACE_START] = "GraceStart",
		[NSR_PIPE_GET_VERSION] = "GetVersion",
	};

	return cmd < NSR_ARRAY_SIZE(names) ? names[cmd] : "unknown";
}

static uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

int nsr_pipe_parse_hdr(const void *buf, size_t len, struct nsr_pipe_hdr *ret)
{
	const uint8_t *p = buf;

	if (len < NSR_PIPE_HDR_SIZE)
		return fail(-EBADMSG, "message of %zu bytes is shorter than the %d-byte header, so it carries no xid",
			    len, NSR_PIPE_HDR_SIZE);

	ret->version = p[OFF_VERSION];
	ret->cmd = p[OFF_CMD];
	memcpy(&ret->status, p + OFF_STATUS, sizeof(ret->status));
	memcpy(&ret->xid, p + OFF_XID, sizeof(ret->xid));
	return 0;
}

/* The length and the version byte must agree: 1034 bytes is version 1, 1067 version 2. */
static int check_size(const struct nsr_pipe_hdr *hdr, size_t len, unsigned int expected)
{
	if (len != NSR_PIPE_MSG_V1_SIZE && len != NSR_PIPE_MSG_V2_SIZE)
		return fail(-EMSGSIZE, "xid %u: message length %zu is neither %d (version 1) nor %d (version 2)",
			    hdr->xid, len, NSR_PIPE_MSG_V1_SIZE, NSR_PIPE_MSG_V2_SIZE);
	if (hdr->version != 1 && hdr->version != 2)
		return fail(-EPROTONOSUPPORT, "xid %u: version %u is not supported; this daemon speaks versions 1 and 2",
			    hdr->xid, hdr->version);
	if (nsr_pipe_msg_size(hdr->version) != len)
		return fail(-EPROTONOSUPPORT, "xid %u: version %u does not match the message length %zu",
			    hdr->xid, hdr->version, len);
	if (expected && hdr->version != expected)
		return fail(-EPROTONOSUPPORT, "xid %u: version %u, expected %u", hdr->xid,
			    hdr->version, expected);
	return 0;
}

/*
 * Read the name, and at version 2 the principal hash, into @client.
 * @what names the message for errors.
 */
static int parse_client(const struct nsr_pipe_hdr *hdr, const uint8_t *p, const char *what,
			struct nsr_client *client)
{
	uint16_t name_len = get_u16(p + OFF_NAME_LEN);
	uint8_t hash_len = 0;

	if (name_len == 0)
		return fail(-EINVAL, "xid %u: %s: name length is 0; a client id has 1 to %d bytes",
			    hdr->xid, what, NSR_CLIENTID_MAX);
	if (name_len > NSR_CLIENTID_MAX)
		return fail(-E2BIG, "xid %u: %s: name length %u is over the maximum of %d bytes",
			    hdr->xid, what, name_len, NSR_CLIENTID_MAX);

	if (hdr->version >= 2) {
		hash_len = p[OFF_HASH_LEN];
		if (hash_len != 0 && hash_len != NSR_PRINCHASH_LEN)
			return fail(-ERANGE, "xid %u: %s: principal hash length %u is neither 0 nor %d",
				    hdr->xid, what, hash_len, NSR_PRINCHASH_LEN);
	}

	nsr_client_set_id(client, p + OFF_NAME, name_len);
	nsr_client_set_princhash(client, p + OFF_HASH, hash_len);
	return 0;
}

static int cmd_to_op(const struct nsr_pipe_hdr *hdr, enum nsr_op *op)
{
	switch (hdr->cmd) {
	case NSR_PIPE_CREATE:
		*op = NSR_OP_CREATE;
		return 0;
	case NSR_PIPE_REMOVE:
		*op = NSR_OP_REMOVE;
		return 0;
	case NSR_PIPE_GRACE_DONE:
		*op = NSR_OP_GRACE_DONE;
		return 0;
	case NSR_PIPE_GRACE_START:
		*op = NSR_OP_GRACE_START;
		return 0;
	case NSR_PIPE_GET_VERSION:
		*op = NSR_OP_VERSION;
		return 0;
	case NSR_PIPE_CHECK:
		return fail(-EOPNOTSUPP, "xid %u: Check belongs to nfsd's old version 0 protocol, which this daemon does not speak",
			    hdr->xid);
	default:
		return fail(-EOPNOTSUPP, "xid %u: unknown command %u", hdr->xid, hdr->cmd);
	}
}

int nsr_pipe_parse_upcall(const void *buf, size_t len, struct nsr_pipe_hdr *hdr,
			  struct nsr_request *req)
{
	enum nsr_op op = NSR_OP_CREATE;
	int r;

	nsr_request_init(req, NSR_OP_CREATE);
	memset(hdr, 0, sizeof(*hdr));

	r = nsr_pipe_parse_hdr(buf, len, hdr);
	if (r < 0)
		return r;
	r = check_size(hdr, len, 0);
	if (r < 0)
		return r;
	r = cmd_to_op(hdr, &op);
	if (r < 0)
		return r;

	req->op = op;
	req->xid = hdr->xid;
	if (op == NSR_OP_VERSION)
		req->version = hdr->version;
	if (op == NSR_OP_CREATE || op == NSR_OP_REMOVE) {
		r = parse_client(hdr, buf, nsr_pipe_cmd_name(hdr->cmd), &req->client);
		if (r < 0) {
			nsr_request_init(req, NSR_OP_CREATE);
			return r;
		}
	}
	return 0;
}

static void put_hdr(uint8_t *buf, uint8_t version, uint8_t cmd, int16_t status, uint32_t xid)
{
	buf[OFF_VERSION] = version;
	buf[OFF_CMD] = cmd;
	memcpy(buf + OFF_STATUS, &status, sizeof(status));
	memcpy(buf + OFF_XID, &xid, sizeof(xid));
}

int nsr_pipe_build_status(const struct nsr_pipe_hdr *hdr, int status, uint8_t *buf)
{
	unsigned int version = nsr_pipe_msg_size(hdr->version) ? hdr->version : 1;
	size_t size = nsr_pipe_msg_size(version);

	if (status > 0 || status < INT16_MIN)
		return fail(-ERANGE, "xid %u: status %d does not fit the 16-bit status field",
			    hdr->xid, status);

	memset(buf, 0, size);
	put_hdr(buf, version, hdr->cmd, (int16_t)status, hdr->xid);
	return (int)size;
}

int nsr_pipe_build_version(uint32_t xid, unsigned int max_version, uint8_t *buf)
{
	if (max_version == 0 || max_version > UINT8_MAX)
		return fail(-EINVAL, "xid %u: version %u cannot be announced; it must be 1 to 255",
			    xid, max_version);

	memset(buf, 0, NSR_PIPE_MSG_V1_SIZE);
	put_hdr(buf, 1, NSR_PIPE_GET_VERSION, 0, xid);
	buf[OFF_BODY] = (uint8_t)max_version;
	return NSR_PIPE_MSG_V1_SIZE;
}

/* Write the name and, at version 2, the hash of a record or upcall. */
static int put_client(unsigned int version, uint32_t xid, const uint8_t *id, size_t id_len,
		      const uint8_t *princhash, size_t princhash_len, uint8_t *buf)
{
	if (id_len == 0)
		return fail(-EINVAL, "xid %u: a client id cannot be empty", xid);
	if (id_len > NSR_CLIENTID_MAX)
		return fail(-E2BIG, "xid %u: client id of %zu bytes is over the maximum of %d",
			    xid, id_len, NSR_CLIENTID_MAX);
	if (princhash_len != 0 && (princhash_len != NSR_PRINCHASH_LEN || !princhash))
		return fail(-EINVAL, "xid %u: principal hash length %zu is neither 0 nor %d", xid,
			    princhash_len, NSR_PRINCHASH_LEN);

	put_u16(buf + OFF_NAME_LEN, (uint16_t)id_len);
	memcpy(buf + OFF_NAME, id, id_len);
	if (version >= 2 && princhash_len) {
		buf[OFF_HASH_LEN] = (uint8_t)princhash_len;
		memcpy(buf + OFF_HASH, princhash, princhash_len);
	}
	return 0;
}

int nsr_pipe_build_record(unsigned int version, uint32_t xid, const uint8_t *id, size_t id_len,
			  const uint8_t *princhash, size_t princhash_len, uint8_t *buf)
{
	size_t size = nsr_pipe_msg_size(version);
	int r;

	if (!size)
		return fail(-EPROTONOSUPPORT, "xid %u: version %u is not supported", xid, version);

	memset(buf, 0, size);
	put_hdr(buf, (uint8_t)version, NSR_PIPE_GRACE_START, NSR_PIPE_STATUS_IN_PROGRESS, xid);
	r = put_client(version, xid, id, id_len, princhash, princhash_len, buf);
	if (r < 0)
		return r;
	return (int)size;
}

int nsr_pipe_build_upcall(unsigned int version, enum nsr_pipe_cmd cmd, uint32_t xid,
			  const struct nsr_client *client, uint8_t *buf)
{
	size_t size = nsr_pipe_msg_size(version);
	int r;

	if (!size)
		return fail(-EPROTONOSUPPORT, "xid %u: version %u is not supported", xid, version);

	memset(buf, 0, size);
	put_hdr(buf, (uint8_t)version, (uint8_t)cmd, 0, xid);
	if (client) {
		r = put_client(version, xid, client->id, client->id_len, client->princhash,
			       client->princhash_len, buf);
		if (r < 0)
			return r;
	}
	return (int)size;
}

int nsr_pipe_parse_answer(const void *buf, size_t len, unsigned int version,
			  struct nsr_pipe_answer *ret)
{
	const uint8_t *p = buf;
	int r;

	memset(ret, 0, sizeof(*ret));
	nsr_client_init(&ret->client);

	r = nsr_pipe_parse_hdr(buf, len, &ret->hdr);
	if (r < 0)
		return r;
	if (len != nsr_pipe_msg_size(version))
		return fail(-EMSGSIZE, "xid %u: answer of %zu bytes, but the negotiated version %u takes %zu",
			    ret->hdr.xid, len, version, nsr_pipe_msg_size(version));
	ret->size = len;
	ret->max_version = p[OFF_BODY];

	if (ret->hdr.status != NSR_PIPE_STATUS_IN_PROGRESS)
		return 0;
	if (ret->hdr.cmd != NSR_PIPE_GRACE_START)
		return fail(-EOPNOTSUPP, "xid %u: status -EINPROGRESS is only valid for GraceStart, not command %u",
			    ret->hdr.xid, ret->hdr.cmd);

	/* nfsd reads the hash at the negotiated version, whatever the version byte says. */
	struct nsr_pipe_hdr as_negotiated = ret->hdr;

	as_negotiated.version = (uint8_t)version;
	return parse_client(&as_negotiated, p, "GraceStart record", &ret->client);
}
