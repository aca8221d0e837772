/* nl-wire.c: netlink send helpers for the fake nfsd kernels of the daemon tests and benchmarks. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "nl-wire.h"

int nl_wire_send_bytes(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

int nl_wire_send_msg(int fd, struct nl_msg *msg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	return nl_wire_send_bytes(fd, nlh, nlh->nlmsg_len);
}

int nl_wire_send_ack(int fd, const struct nlmsghdr *request, int error)
{
	struct {
		struct nlmsghdr nlh;
		struct nlmsgerr err;
	} ack = {
		.nlh = {
			.nlmsg_len = sizeof(ack),
			.nlmsg_type = NLMSG_ERROR,
			.nlmsg_flags = NLM_F_CAPPED,
			.nlmsg_seq = request->nlmsg_seq,
		},
		.err = { .error = error, .msg = *request },
	};

	return nl_wire_send_bytes(fd, &ack, sizeof(ack));
}

void nl_wire_dump_init(struct nl_wire_dump *dump, int fd, uint8_t *buf, size_t size)
{
	*dump = (struct nl_wire_dump){ .fd = fd, .buf = buf, .size = size };
}

void nl_wire_dump_append(struct nl_wire_dump *dump, const void *msg, size_t len)
{
	if (dump->used + NLMSG_ALIGN(len) > dump->size) {
		nl_wire_send_bytes(dump->fd, dump->buf, dump->used);
		dump->used = 0;
	}
	memcpy(dump->buf + dump->used, msg, len);
	dump->used += NLMSG_ALIGN(len);
}

void nl_wire_dump_finish(struct nl_wire_dump *dump, uint32_t seq)
{
	const struct nlmsghdr done = {
		.nlmsg_len = NLMSG_LENGTH(sizeof(int)),
		.nlmsg_type = NLMSG_DONE,
		.nlmsg_flags = NLM_F_MULTI,
		.nlmsg_seq = seq,
	};
	uint8_t done_buf[NLMSG_LENGTH(sizeof(int))] = { 0 };

	memcpy(done_buf, &done, sizeof(done));
	nl_wire_dump_append(dump, done_buf, sizeof(done_buf));
	nl_wire_send_bytes(dump->fd, dump->buf, dump->used);
}

void nl_wire_hello_negotiate(const struct nsr_genl_hello *hello, struct nsr_genl_hello *reply)
{
	reply->version = hello->version < NFSD_CLTRACK_PROTO_VERSION ? hello->version :
								       NFSD_CLTRACK_PROTO_VERSION;
	reply->caps = hello->caps & (NFSD_CLTRACK_CAP_AUDIT | NFSD_CLTRACK_CAP_RECLAIM_RECORD);
}

int nl_wire_send_hello_reply(int fd, int family, const struct nlmsghdr *request,
			     const struct nsr_genl_hello *reply)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	r = nsr_genl_build_hello_reply(family, request->nlmsg_pid, request->nlmsg_seq, reply, &msg);
	if (r < 0)
		return r;

	return nl_wire_send_msg(fd, msg);
}
