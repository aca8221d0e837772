/* nl-wire.h: netlink send helpers for the fake nfsd kernels of the daemon tests and benchmarks. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "nsr-genl.h"

/*
 * These helpers only encode and send. Each fake kernel keeps its own
 * pending state. Every send is one datagram, as on a netlink socket.
 */

/**
 * nl_wire_send_bytes - send @len bytes from @buf as one datagram on @fd
 *
 * Returns 0 when send() took all @len bytes, else -errno. A datagram socket
 * never sends part of a datagram, so a short count does not happen here.
 */
int nl_wire_send_bytes(int fd, const void *buf, size_t len);

/**
 * nl_wire_send_msg - send the netlink message of @msg as one datagram on @fd
 *
 * @msg stays owned by the caller. Returns 0 or -errno as nl_wire_send_bytes().
 */
int nl_wire_send_msg(int fd, struct nl_msg *msg);

/**
 * nl_wire_send_ack - send the NLMSG_ERROR acknowledgement of @request on @fd
 * @error: 0 for success, or the negative errno the kernel would return
 *
 * The acknowledgement carries NLM_F_CAPPED and only @request's header, as
 * netlink does for a capped ack. Returns 0 or -errno as nl_wire_send_bytes().
 */
int nl_wire_send_ack(int fd, const struct nlmsghdr *request, int error);

/*
 * One dump reply under construction. Messages are packed, NLMSG_ALIGN'ed,
 * into datagrams of at most @size bytes, as a netlink dump fills the reader's buffer.
 */
struct nl_wire_dump {
	int fd;			/* where each full datagram is sent */
	uint8_t *buf;		/* the caller's buffer of @size bytes */
	size_t size;
	size_t used;		/* bytes of @buf that wait to be sent */
};

/**
 * nl_wire_dump_init - start an empty dump that sends datagrams of up to @size bytes on @fd
 * @buf: @size bytes, owned by the caller, in use until nl_wire_dump_finish()
 */
void nl_wire_dump_init(struct nl_wire_dump *dump, int fd, uint8_t *buf, size_t size);

/**
 * nl_wire_dump_append - add one netlink message of @len bytes to @dump
 *
 * Sends the datagram built so far first when @msg would not fit in it.
 * @len must not exceed the buffer size. Send errors are ignored, so the
 * daemon then receives a dump with messages missing.
 */
void nl_wire_dump_append(struct nl_wire_dump *dump, const void *msg, size_t len);

/**
 * nl_wire_dump_finish - end @dump with NLMSG_DONE for request @seq and send the last datagram
 *
 * NLMSG_DONE carries NLM_F_MULTI and an int payload of 0, as netlink's
 * dump end does. Send errors are ignored, as in nl_wire_dump_append().
 */
void nl_wire_dump_finish(struct nl_wire_dump *dump, uint32_t seq);

/**
 * nl_wire_hello_negotiate - set @reply's version and caps from the daemon's HELLO @hello
 *
 * The version is the lower of @hello's and NFSD_CLTRACK_PROTO_VERSION. The
 * caps are those of @hello that nfsd supports: NFSD_CLTRACK_CAP_AUDIT and
 * NFSD_CLTRACK_CAP_RECLAIM_RECORD. Other fields of @reply are not touched.
 */
void nl_wire_hello_negotiate(const struct nsr_genl_hello *hello, struct nsr_genl_hello *reply);

/**
 * nl_wire_send_hello_reply - encode @reply to the HELLO @request and send it on @fd
 * @family: the family id the fake kernel uses for nfsd_cltrack
 *
 * Returns 0, an error of nsr_genl_build_hello_reply(), or -errno as
 * nl_wire_send_bytes().
 */
int nl_wire_send_hello_reply(int fd, int family, const struct nlmsghdr *request,
			     const struct nsr_genl_hello *reply);
