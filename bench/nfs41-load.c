/* nfs41-load.c: a minimal NFSv4.1 client that opens and closes many client records on nfsd. */

/*
 * Each client owner runs EXCHANGE_ID (SP4_NONE), CREATE_SESSION and
 * SEQUENCE + RECLAIM_COMPLETE(rca_one_fs = false). RECLAIM_COMPLETE is where
 * nfsd records the client with its tracker, synchronously, so its latency
 * carries the CREATE upcall. Teardown runs SEQUENCE + DESTROY_SESSION and
 * DESTROY_CLIENTID, which carries the REMOVE upcall.
 *
 * ONC RPC over TCP with record marking (RFC 5531), AUTH_SYS, and the
 * NFSv4.1 XDR of RFC 8881, encoded by hand. Only glibc is needed, so the
 * binary links statically and runs in the test VM's initramfs.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nsr-macro.h"

#define LOAD_RPC_PROG_NFS	100003
#define LOAD_RPC_VERS_NFS	4
#define LOAD_NFSPROC4_COMPOUND	1
#define LOAD_AUTH_NONE		0
#define LOAD_AUTH_SYS		1

#define LOAD_OP_EXCHANGE_ID	42
#define LOAD_OP_CREATE_SESSION	43
#define LOAD_OP_DESTROY_SESSION	44
#define LOAD_OP_SEQUENCE	53
#define LOAD_OP_DESTROY_CLIENTID 57
#define LOAD_OP_RECLAIM_COMPLETE 58

#define LOAD_NFS4_OK		0
#define LOAD_NFS4ERR_DELAY	10008
#define LOAD_NFS4ERR_GRACE	10013

#define LOAD_SESSIONID_SIZE	16
#define LOAD_MSG_MAX		(64 * 1024)
#define LOAD_OWNER_MAX		1024
#define LOAD_DELAY_RETRIES	200
#define LOAD_DELAY_SLEEP_MS	20

enum load_mode {
	LOAD_MODE_STORM,
	LOAD_MODE_RECLAIM,
	LOAD_MODE_TEARDOWN,
};

/* The timed steps. Each client records one sample per step that it completed. */
enum load_step {
	LOAD_STEP_EXCHANGE_ID,
	LOAD_STEP_CREATE_SESSION,
	LOAD_STEP_RECLAIM_COMPLETE,
	LOAD_STEP_DESTROY_SESSION,
	LOAD_STEP_DESTROY_CLIENTID,
	LOAD_STEP_COUNT,
};

static const char *const load_step_names[LOAD_STEP_COUNT] = {
	[LOAD_STEP_EXCHANGE_ID] = "EXCHANGE_ID",
	[LOAD_STEP_CREATE_SESSION] = "CREATE_SESSION",
	[LOAD_STEP_RECLAIM_COMPLETE] = "RECLAIM_COMPLETE",
	[LOAD_STEP_DESTROY_SESSION] = "DESTROY_SESSION",
	[LOAD_STEP_DESTROY_CLIENTID] = "DESTROY_CLIENTID",
};

struct load_options {
	enum load_mode mode;
	struct sockaddr_in server;
	unsigned int clients;
	unsigned int concurrency;
	const char *prefix;
	const char *state_path;
	unsigned int timeout_ms;
	unsigned int connect_wait_ms;
};

/* The state of one client owner, kept from the create run for the teardown run. */
struct load_client {
	uint64_t clientid;
	uint8_t sessionid[LOAD_SESSIONID_SIZE];
	uint32_t slot_seq;	/* the next sequenceid for slot 0 */
	bool ok;
	uint64_t step_ns[LOAD_STEP_COUNT];
};

struct load_run {
	const struct load_options *opt;
	struct load_client *clients;
	atomic_uint next;
	atomic_uint ok;
	atomic_uint failed;
	atomic_uint delays;
	atomic_uint reconnects;
	atomic_bool stopped;	/* set by the first timeout or lost server */
	uint64_t start_ns;
	atomic_uint_fast64_t first_connect_ns;
};

/* One TCP connection with one call outstanding at a time. */
struct load_conn {
	int fd;
	uint32_t xid;
	const struct load_options *opt;
	uint8_t buf[LOAD_MSG_MAX];
};

struct xdr_enc {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool overflow;
};

struct xdr_dec {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool short_read;
};

static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void load_sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One write per message, so that lines from parallel connections do not mix. */
_printf_(1, 2) static void load_err(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "nfs41-load: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

/* ------------------------------------------------------------------------- */
/* XDR */

static void xdr_put_u32(struct xdr_enc *e, uint32_t v)
{
	if (e->len + 4 > e->cap) {
		e->overflow = true;
		return;
	}
	v = htonl(v);
	memcpy(e->p + e->len, &v, 4);
	e->len += 4;
}

static void xdr_put_u64(struct xdr_enc *e, uint64_t v)
{
	xdr_put_u32(e, (uint32_t)(v >> 32));
	xdr_put_u32(e, (uint32_t)v);
}

/* Fixed-length opaque: the bytes, padded to a multiple of 4. */
static void xdr_put_fixed(struct xdr_enc *e, const void *data, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;

	if (e->len + padded > e->cap) {
		e->overflow = true;
		return;
	}
	memcpy(e->p + e->len, data, n);
	memset(e->p + e->len + n, 0, padded - n);
	e->len += padded;
}

/* Variable-length opaque or string: the length, then the padded bytes. */
static void xdr_put_opaque(struct xdr_enc *e, const void *data, size_t n)
{
	xdr_put_u32(e, (uint32_t)n);
	xdr_put_fixed(e, data, n);
}

static uint32_t xdr_get_u32(struct xdr_dec *d)
{
	uint32_t v;

	if (d->pos + 4 > d->len) {
		d->short_read = true;
		return 0;
	}
	memcpy(&v, d->p + d->pos, 4);
	d->pos += 4;
	return ntohl(v);
}

static uint64_t xdr_get_u64(struct xdr_dec *d)
{
	uint64_t hi = xdr_get_u32(d);

	return (hi << 32) | xdr_get_u32(d);
}

static void xdr_get_fixed(struct xdr_dec *d, void *out, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;

	if (d->pos + padded > d->len) {
		d->short_read = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, d->p + d->pos, n);
	d->pos += padded;
}

/* Skip a variable-length opaque of at most @max bytes. */
static void xdr_skip_opaque(struct xdr_dec *d, uint32_t max)
{
	uint32_t n = xdr_get_u32(d);
	size_t padded = ((size_t)n + 3) & ~(size_t)3;

	if (n > max || d->pos + padded > d->len) {
		d->short_read = true;
		return;
	}
	d->pos += padded;
}

/* ------------------------------------------------------------------------- */
/* RPC over TCP */

static const char *load_nfs4_error_name(uint32_t status)
{
	switch (status) {
	case 0: return "NFS4_OK";
	case 1: return "NFS4ERR_PERM";
	case 5: return "NFS4ERR_IO";
	case 13: return "NFS4ERR_ACCESS";
	case 22: return "NFS4ERR_INVAL";
	case 10004: return "NFS4ERR_NOTSUPP";
	case 10005: return "NFS4ERR_TOOSMALL";
	case 10006: return "NFS4ERR_SERVERFAULT";
	case 10008: return "NFS4ERR_DELAY";
	case 10013: return "NFS4ERR_GRACE";
	case 10017: return "NFS4ERR_CLID_INUSE";
	case 10018: return "NFS4ERR_RESOURCE";
	case 10021: return "NFS4ERR_MINOR_VERS_MISMATCH";
	case 10022: return "NFS4ERR_STALE_CLIENTID";
	case 10026: return "NFS4ERR_BAD_SEQID";
	case 10036: return "NFS4ERR_BADXDR";
	case 10044: return "NFS4ERR_OP_ILLEGAL";
	case 10052: return "NFS4ERR_BADSESSION";
	case 10053: return "NFS4ERR_BADSLOT";
	case 10054: return "NFS4ERR_COMPLETE_ALREADY";
	case 10055: return "NFS4ERR_CONN_NOT_BOUND_TO_SESSION";
	case 10063: return "NFS4ERR_SEQ_MISORDERED";
	case 10064: return "NFS4ERR_SEQUENCE_POS";
	case 10070: return "NFS4ERR_TOO_MANY_OPS";
	case 10071: return "NFS4ERR_OP_NOT_IN_SESSION";
	case 10074: return "NFS4ERR_CLIENTID_BUSY";
	case 10076: return "NFS4ERR_SEQ_FALSE_RETRY";
	case 10078: return "NFS4ERR_DEADSESSION";
	case 10081: return "NFS4ERR_NOT_ONLY_OP";
	default: return "NFS4ERR_?";
	}
}

static int load_poll_fd(int fd, short events, uint64_t deadline_ns)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int r;

	for (;;) {
		now = load_now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)((deadline_ns - now + 999999) / 1000000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static void load_conn_close(struct load_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * Connect to the server, retrying refused connections until the connect
 * wait runs out, so that a reclaim run can start while nfsd is starting.
 * Returns 0 or a negative errno.
 */
static int load_conn_open(struct load_conn *c)
{
	uint64_t give_up = load_now_ns() + (uint64_t)c->opt->connect_wait_ms * 1000000u;
	int one = 1, r, err;
	socklen_t len;

	load_conn_close(c);
	for (;;) {
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0)
			return -errno;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

		r = connect(c->fd, (const struct sockaddr *)&c->opt->server, sizeof(c->opt->server));
		if (r < 0 && errno == EINPROGRESS) {
			r = load_poll_fd(c->fd, POLLOUT, load_now_ns() +
					 (uint64_t)c->opt->timeout_ms * 1000000u);
			if (r < 0) {
				load_conn_close(c);
				return r;
			}
			len = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
			errno = err;
			r = err ? -1 : 0;
		}
		if (r == 0)
			return 0;

		err = errno;
		load_conn_close(c);
		if ((err != ECONNREFUSED && err != ECONNRESET) || load_now_ns() >= give_up)
			return -err;
		load_sleep_ms(20);
	}
}

static int load_send_all(struct load_conn *c, const uint8_t *p, size_t n, uint64_t deadline)
{
	ssize_t w;
	int r;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = load_poll_fd(c->fd, POLLOUT, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int load_recv_all(struct load_conn *c, uint8_t *p, size_t n, uint64_t deadline)
{
	ssize_t got;
	int r;

	while (n > 0) {
		got = recv(c->fd, p, n, 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
			r = load_poll_fd(c->fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (got < 0)
			return -errno;
		if (got == 0)
			return -ECONNRESET;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* Read one record (all its fragments) into c->buf. Returns its length or -errno. */
static ssize_t load_recv_record(struct load_conn *c, uint64_t deadline)
{
	size_t total = 0;
	uint32_t mark, frag;
	int r;

	for (;;) {
		r = load_recv_all(c, (uint8_t *)&mark, 4, deadline);
		if (r < 0)
			return r;
		mark = ntohl(mark);
		frag = mark & 0x7fffffffu;
		if (total + frag > sizeof(c->buf))
			return -EMSGSIZE;
		r = load_recv_all(c, c->buf + total, frag, deadline);
		if (r < 0)
			return r;
		total += frag;
		if (mark & 0x80000000u)
			return (ssize_t)total;
	}
}

/* Start an RPC call message after the 4-byte record mark; returns its xid. */
static uint32_t load_rpc_header(struct load_conn *c, struct xdr_enc *e)
{
	static const char machine[] = "nfs41-load";
	uint32_t xid = ++c->xid;

	e->len = 4;
	xdr_put_u32(e, xid);
	xdr_put_u32(e, 0);	/* CALL */
	xdr_put_u32(e, 2);	/* RPC version */
	xdr_put_u32(e, LOAD_RPC_PROG_NFS);
	xdr_put_u32(e, LOAD_RPC_VERS_NFS);
	xdr_put_u32(e, LOAD_NFSPROC4_COMPOUND);

	/* AUTH_SYS: stamp, machine name, uid 0, gid 0, no groups. */
	xdr_put_u32(e, LOAD_AUTH_SYS);
	xdr_put_u32(e, 4 + 4 + ((sizeof(machine) - 1 + 3) & ~3u) + 4 + 4 + 4);
	xdr_put_u32(e, 0);
	xdr_put_opaque(e, machine, sizeof(machine) - 1);
	xdr_put_u32(e, 0);
	xdr_put_u32(e, 0);
	xdr_put_u32(e, 0);
	xdr_put_u32(e, LOAD_AUTH_NONE);
	xdr_put_u32(e, 0);
	return xid;
}

/*
 * Send the call in @e (built after load_rpc_header) and wait for its reply,
 * skipping replies to earlier calls that timed out. On success @d points at
 * the COMPOUND4res. Returns 0, -EPROTO for a malformed or rejected reply,
 * -ETIMEDOUT, or another negative errno from the socket.
 */
static int load_rpc_call(struct load_conn *c, struct xdr_enc *e, uint32_t xid, struct xdr_dec *d)
{
	uint64_t deadline = load_now_ns() + (uint64_t)c->opt->timeout_ms * 1000000u;
	uint32_t mark = htonl(0x80000000u | (uint32_t)(e->len - 4));
	ssize_t n;
	int r;

	if (e->overflow)
		return -EMSGSIZE;
	memcpy(e->p, &mark, 4);
	r = load_send_all(c, e->p, e->len, deadline);
	if (r < 0)
		return r;

	for (;;) {
		n = load_recv_record(c, deadline);
		if (n < 0)
			return (int)n;
		*d = (struct xdr_dec){ .p = c->buf, .len = (size_t)n };
		if (xdr_get_u32(d) == xid)
			break;
	}

	if (xdr_get_u32(d) != 1)	/* REPLY */
		return -EPROTO;
	if (xdr_get_u32(d) != 0) {	/* MSG_ACCEPTED */
		load_err("server denied the RPC call (AUTH_SYS rejected?)");
		return -EPROTO;
	}
	xdr_get_u32(d);			/* verifier flavor */
	xdr_skip_opaque(d, 400);
	r = (int)xdr_get_u32(d);	/* accept_stat */
	if (d->short_read)
		return -EPROTO;
	if (r != 0) {
		load_err("server did not accept the call: accept_stat %d "
			 "(2: NFS program not served, 3: NFSv4 not enabled)", r);
		return -EPROTO;
	}
	return 0;
}

/* COMPOUND4args header: an empty tag, minor version 1 and @nops operations. */
static void load_compound_start(struct xdr_enc *e, uint32_t nops)
{
	xdr_put_opaque(e, "", 0);
	xdr_put_u32(e, 1);
	xdr_put_u32(e, nops);
}

/*
 * Read the COMPOUND4res header and the first operation's number and status.
 * Returns the compound status (an NFS4 status, >= 0) or -EPROTO.
 */
static int load_compound_result(struct xdr_dec *d, uint32_t first_op, uint32_t *op_status)
{
	uint32_t status = xdr_get_u32(d), nres;

	xdr_skip_opaque(d, 1024);
	nres = xdr_get_u32(d);
	if (d->short_read)
		return -EPROTO;
	*op_status = status;
	if (nres == 0)
		return (int)status;
	if (xdr_get_u32(d) != first_op)
		return -EPROTO;
	*op_status = xdr_get_u32(d);
	return d->short_read ? -EPROTO : (int)status;
}

static void load_put_sequence(struct xdr_enc *e, const struct load_client *cl)
{
	xdr_put_u32(e, LOAD_OP_SEQUENCE);
	xdr_put_fixed(e, cl->sessionid, LOAD_SESSIONID_SIZE);
	xdr_put_u32(e, cl->slot_seq);
	xdr_put_u32(e, 0);	/* slot id */
	xdr_put_u32(e, 0);	/* highest slot id */
	xdr_put_u32(e, 0);	/* cachethis: no */
}

/* ------------------------------------------------------------------------- */
/* Operations. Each returns 0, a positive NFS4 status, or a negative errno. */

static int load_exchange_id(struct load_conn *c, const char *owner, const uint8_t verifier[8],
			    uint64_t *clientid, uint32_t *seqid)
{
	uint8_t out[2048];
	struct xdr_enc e = { .p = out, .cap = sizeof(out) };
	struct xdr_dec d;
	uint32_t xid = load_rpc_header(c, &e), op_status;
	int r;

	load_compound_start(&e, 1);
	xdr_put_u32(&e, LOAD_OP_EXCHANGE_ID);
	xdr_put_fixed(&e, verifier, 8);
	xdr_put_opaque(&e, owner, strlen(owner));
	xdr_put_u32(&e, 0);	/* eia_flags */
	xdr_put_u32(&e, 0);	/* SP4_NONE */
	xdr_put_u32(&e, 0);	/* no implementation id */

	r = load_rpc_call(c, &e, xid, &d);
	if (r < 0)
		return r;
	r = load_compound_result(&d, LOAD_OP_EXCHANGE_ID, &op_status);
	if (r != 0)
		return r;
	*clientid = xdr_get_u64(&d);
	*seqid = xdr_get_u32(&d);
	return d.short_read ? -EPROTO : 0;
}

static void load_put_channel(struct xdr_enc *e, uint32_t maxreq, uint32_t maxresp,
			     uint32_t cached, uint32_t maxops)
{
	xdr_put_u32(e, 0);	/* header padding */
	xdr_put_u32(e, maxreq);
	xdr_put_u32(e, maxresp);
	xdr_put_u32(e, cached);
	xdr_put_u32(e, maxops);
	xdr_put_u32(e, 1);	/* one slot */
	xdr_put_u32(e, 0);	/* no RDMA ird */
}

static int load_create_session(struct load_conn *c, struct load_client *cl, uint32_t seqid)
{
	uint8_t out[2048];
	struct xdr_enc e = { .p = out, .cap = sizeof(out) };
	struct xdr_dec d;
	uint32_t xid = load_rpc_header(c, &e), op_status;
	int r;

	load_compound_start(&e, 1);
	xdr_put_u32(&e, LOAD_OP_CREATE_SESSION);
	xdr_put_u64(&e, cl->clientid);
	xdr_put_u32(&e, seqid);
	xdr_put_u32(&e, 0);	/* no flags: no back channel on this connection */
	load_put_channel(&e, 1048576, 1048576, 1024, 8);
	load_put_channel(&e, 4096, 4096, 0, 2);
	xdr_put_u32(&e, 0x40000000);	/* callback program */
	xdr_put_u32(&e, 1);
	xdr_put_u32(&e, LOAD_AUTH_NONE);

	r = load_rpc_call(c, &e, xid, &d);
	if (r < 0)
		return r;
	r = load_compound_result(&d, LOAD_OP_CREATE_SESSION, &op_status);
	if (r != 0)
		return r;
	xdr_get_fixed(&d, cl->sessionid, LOAD_SESSIONID_SIZE);
	if (d.short_read)
		return -EPROTO;
	cl->slot_seq = 1;
	return 0;
}

/*
 * SEQUENCE followed by @op (RECLAIM_COMPLETE or DESTROY_SESSION). Advances
 * the slot's sequence id whenever SEQUENCE itself succeeded, so that a
 * retry after NFS4ERR_DELAY from @op uses the next one.
 */
static int load_sequenced(struct load_conn *c, struct load_client *cl, uint32_t op)
{
	uint8_t out[1024];
	struct xdr_enc e = { .p = out, .cap = sizeof(out) };
	struct xdr_dec d;
	uint32_t xid = load_rpc_header(c, &e), seq_status;
	int r;

	load_compound_start(&e, 2);
	load_put_sequence(&e, cl);
	xdr_put_u32(&e, op);
	if (op == LOAD_OP_RECLAIM_COMPLETE)
		xdr_put_u32(&e, 0);	/* rca_one_fs: false */
	else
		xdr_put_fixed(&e, cl->sessionid, LOAD_SESSIONID_SIZE);

	r = load_rpc_call(c, &e, xid, &d);
	if (r < 0)
		return r;
	r = load_compound_result(&d, LOAD_OP_SEQUENCE, &seq_status);
	if (r < 0)
		return r;
	if (seq_status == LOAD_NFS4_OK)
		cl->slot_seq++;
	return r;
}

static int load_destroy_clientid(struct load_conn *c, const struct load_client *cl)
{
	uint8_t out[1024];
	struct xdr_enc e = { .p = out, .cap = sizeof(out) };
	struct xdr_dec d;
	uint32_t xid = load_rpc_header(c, &e), op_status;
	int r;

	load_compound_start(&e, 1);
	xdr_put_u32(&e, LOAD_OP_DESTROY_CLIENTID);
	xdr_put_u64(&e, cl->clientid);

	r = load_rpc_call(c, &e, xid, &d);
	if (r < 0)
		return r;
	return load_compound_result(&d, LOAD_OP_DESTROY_CLIENTID, &op_status);
}

/* ------------------------------------------------------------------------- */
/* Per-client work */

static void load_owner_name(const struct load_options *opt, unsigned int i, char *buf, size_t n)
{
	snprintf(buf, n, "%s-%u", opt->prefix, i);
}

/* The verifier stays the same for a prefix, as a client's does across server restarts. */
static void load_verifier(const char *prefix, uint8_t out[8])
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	for (const char *p = prefix; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(h >> (8 * i));
}

/*
 * Run one step, retrying while the server returns NFS4ERR_DELAY (or
 * NFS4ERR_GRACE), and time it with the retries. Returns the final status.
 */
static int load_step(struct load_run *run, struct load_conn *c, struct load_client *cl,
		     enum load_step step, const char *owner, const uint8_t verifier[8],
		     uint32_t *seqid)
{
	uint64_t t0 = load_now_ns();
	int r = 0;

	for (int attempt = 0; attempt < LOAD_DELAY_RETRIES; attempt++) {
		switch (step) {
		case LOAD_STEP_EXCHANGE_ID:
			r = load_exchange_id(c, owner, verifier, &cl->clientid, seqid);
			break;
		case LOAD_STEP_CREATE_SESSION:
			r = load_create_session(c, cl, *seqid);
			break;
		case LOAD_STEP_RECLAIM_COMPLETE:
			r = load_sequenced(c, cl, LOAD_OP_RECLAIM_COMPLETE);
			break;
		case LOAD_STEP_DESTROY_SESSION:
			r = load_sequenced(c, cl, LOAD_OP_DESTROY_SESSION);
			break;
		case LOAD_STEP_DESTROY_CLIENTID:
			r = load_destroy_clientid(c, cl);
			break;
		default:
			return -EINVAL;
		}
		if (r != LOAD_NFS4ERR_DELAY && r != LOAD_NFS4ERR_GRACE)
			break;
		atomic_fetch_add(&run->delays, 1);
		load_sleep_ms(LOAD_DELAY_SLEEP_MS);
	}
	cl->step_ns[step] = load_now_ns() - t0;
	return r;
}

static void load_report_failure(const char *owner, enum load_step step, int r)
{
	if (r < 0)
		load_err("client %s: %s failed: %s", owner, load_step_names[step], strerror(-r));
	else
		load_err("client %s: %s failed: %s (%d)", owner, load_step_names[step],
			 load_nfs4_error_name((uint32_t)r), r);
}

/* Make sure the connection is up; note when the first one came up. */
static int load_ensure_conn(struct load_run *run, struct load_conn *c)
{
	uint_fast64_t zero = 0;
	int r;

	if (c->fd >= 0)
		return 0;
	r = load_conn_open(c);
	if (r < 0)
		return r;
	atomic_compare_exchange_strong(&run->first_connect_ns, &zero, load_now_ns());
	return 0;
}

enum load_outcome {
	LOAD_CLIENT_OK,
	LOAD_CLIENT_FAILED,
	LOAD_CLIENT_SKIPPED,	/* teardown of a client that holds no session */
};

/* Run every step of one client owner, on connection @c; the first failure ends it. */
static enum load_outcome load_run_client(struct load_run *run, struct load_conn *c,
					 unsigned int i)
{
	static const enum load_step create_steps[] = {
		LOAD_STEP_EXCHANGE_ID, LOAD_STEP_CREATE_SESSION, LOAD_STEP_RECLAIM_COMPLETE,
	};
	static const enum load_step teardown_steps[] = {
		LOAD_STEP_DESTROY_SESSION, LOAD_STEP_DESTROY_CLIENTID,
	};
	const struct load_options *opt = run->opt;
	struct load_client *cl = &run->clients[i];
	const enum load_step *steps = create_steps;
	size_t nsteps = NSR_ARRAY_SIZE(create_steps);
	char owner[LOAD_OWNER_MAX], address[INET_ADDRSTRLEN];
	uint8_t verifier[8];
	uint32_t seqid = 0;
	int r;

	if (opt->mode == LOAD_MODE_TEARDOWN) {
		if (!cl->ok)
			return LOAD_CLIENT_SKIPPED;
		steps = teardown_steps;
		nsteps = NSR_ARRAY_SIZE(teardown_steps);
		cl->ok = false;
	}
	load_owner_name(opt, i, owner, sizeof(owner));
	load_verifier(opt->prefix, verifier);

	for (size_t s = 0; s < nsteps; s++) {
		r = load_ensure_conn(run, c);
		if (r < 0) {
			inet_ntop(AF_INET, &opt->server.sin_addr, address, sizeof(address));
			load_err("client %s: cannot connect to %s:%u: %s", owner, address,
				 ntohs(opt->server.sin_port), strerror(-r));
			atomic_store(&run->stopped, true);
			return LOAD_CLIENT_FAILED;
		}
		r = load_step(run, c, cl, steps[s], owner, verifier, &seqid);
		if (r != 0) {
			load_report_failure(owner, steps[s], r);
			if (r == -ETIMEDOUT)
				atomic_store(&run->stopped, true);
			if (r < 0) {
				/* A late reply would confuse the next call: start afresh. */
				load_conn_close(c);
				atomic_fetch_add(&run->reconnects, 1);
			}
			return LOAD_CLIENT_FAILED;
		}
	}
	cl->ok = opt->mode != LOAD_MODE_TEARDOWN;
	return LOAD_CLIENT_OK;
}

static void *load_worker(void *arg)
{
	struct load_run *run = arg;
	enum load_outcome outcome;
	struct load_conn *c;
	unsigned int i;

	c = calloc(1, sizeof(*c));
	if (!c) {
		load_err("out of memory for a connection");
		return NULL;
	}
	c->fd = -1;
	c->opt = run->opt;
	c->xid = (uint32_t)load_now_ns();

	for (;;) {
		i = atomic_fetch_add(&run->next, 1);
		if (i >= run->opt->clients || atomic_load(&run->stopped))
			break;
		outcome = load_run_client(run, c, i);
		if (outcome == LOAD_CLIENT_OK)
			atomic_fetch_add(&run->ok, 1);
		else if (outcome == LOAD_CLIENT_FAILED)
			atomic_fetch_add(&run->failed, 1);
	}
	load_conn_close(c);
	free(c);
	return NULL;
}

/* ------------------------------------------------------------------------- */
/* State file: one line per client that has a session. */

static int load_state_write(const struct load_run *run)
{
	const struct load_options *opt = run->opt;
	_cleanup_fclose_ FILE *f = NULL;
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s.tmp", opt->state_path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "# nfs41-load state: prefix clients\n%s %u\n", opt->prefix, opt->clients);
	for (unsigned int i = 0; i < opt->clients; i++) {
		const struct load_client *cl = &run->clients[i];

		if (!cl->ok)
			continue;
		fprintf(f, "%u %016" PRIx64 " ", i, cl->clientid);
		for (int b = 0; b < LOAD_SESSIONID_SIZE; b++)
			fprintf(f, "%02x", cl->sessionid[b]);
		fprintf(f, " %u\n", cl->slot_seq);
	}
	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	if (rename(tmp, opt->state_path) < 0)
		return -errno;
	return 0;
}

static int load_state_parse_line(struct load_run *run, const char *line)
{
	char hex[2 * LOAD_SESSIONID_SIZE + 1];
	struct load_client *cl;
	unsigned int i, seq;
	uint64_t clientid;

	if (sscanf(line, "%u %" SCNx64 " %32s %u", &i, &clientid, hex, &seq) != 4 ||
	    strlen(hex) != 2 * LOAD_SESSIONID_SIZE || i >= run->opt->clients)
		return -EINVAL;
	cl = &run->clients[i];
	cl->clientid = clientid;
	cl->slot_seq = seq;
	for (int b = 0; b < LOAD_SESSIONID_SIZE; b++) {
		unsigned int byte;

		if (sscanf(hex + 2 * b, "%2x", &byte) != 1)
			return -EINVAL;
		cl->sessionid[b] = (uint8_t)byte;
	}
	cl->ok = true;
	return 0;
}

static int load_state_read(struct load_run *run, struct load_options *opt)
{
	_cleanup_fclose_ FILE *f = NULL;
	static char prefix[256];
	char line[512];
	unsigned int n = 0, lineno = 0;

	f = fopen(opt->state_path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#')
			continue;
		if (n++ == 0) {
			if (sscanf(line, "%255s %u", prefix, &opt->clients) != 2 || opt->clients == 0)
				goto bad;
			opt->prefix = prefix;
			run->clients = calloc(opt->clients, sizeof(*run->clients));
			if (!run->clients)
				return -ENOMEM;
			continue;
		}
		if (load_state_parse_line(run, line) < 0)
			goto bad;
	}
	if (n == 0)
		goto bad;
	return 0;
bad:
	load_err("state file %s: line %u is malformed; write it with a storm or reclaim run",
		 opt->state_path, lineno);
	return -EINVAL;
}

/* ------------------------------------------------------------------------- */
/* Results */

static int load_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double load_pct_us(const uint64_t *sorted, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)sorted[k] / 1000.0;
}

static void load_print_step(const struct load_run *run, enum load_step step)
{
	_cleanup_free_ uint64_t *v = NULL;
	size_t n = 0;
	double sum = 0;

	v = calloc(run->opt->clients, sizeof(*v));
	if (!v)
		return;
	for (unsigned int i = 0; i < run->opt->clients; i++) {
		if (run->clients[i].step_ns[step] == 0)
			continue;
		v[n++] = run->clients[i].step_ns[step];
		sum += (double)run->clients[i].step_ns[step];
	}
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), load_cmp_u64);
	printf("latency op=%s n=%zu mean_us=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
	       load_step_names[step], n, sum / (double)n / 1000.0, load_pct_us(v, n, 50),
	       load_pct_us(v, n, 90), load_pct_us(v, n, 99), load_pct_us(v, n, 100));
}

static void load_print_results(const struct load_run *run, uint64_t end_ns)
{
	static const char *const mode_names[] = { "storm", "reclaim", "teardown" };
	const struct load_options *opt = run->opt;
	unsigned int ok = atomic_load(&run->ok), failed = atomic_load(&run->failed);
	double seconds = (double)(end_ns - run->start_ns) / 1e9;
	uint64_t first = atomic_load(&run->first_connect_ns);

	printf("result mode=%s prefix=%s clients=%u attempted=%u ok=%u failed=%u connections=%u "
	       "seconds=%.3f clients_per_s=%.1f first_connect_s=%.3f delays=%u reconnects=%u\n",
	       mode_names[opt->mode], opt->prefix, opt->clients, ok + failed, ok, failed,
	       opt->concurrency, seconds, seconds > 0 ? (double)ok / seconds : 0.0,
	       first ? (double)(first - run->start_ns) / 1e9 : -1.0,
	       atomic_load(&run->delays), atomic_load(&run->reconnects));
	for (int s = 0; s < LOAD_STEP_COUNT; s++)
		load_print_step(run, (enum load_step)s);
}

/* ------------------------------------------------------------------------- */
/* Command line */

static void load_usage(FILE *out)
{
	fputs("Usage: nfs41-load MODE --server ADDRESS [OPTIONS]\n"
	      "\n"
	      "Modes:\n"
	      "  storm      create N client records as fast as K connections allow:\n"
	      "             EXCHANGE_ID, CREATE_SESSION, SEQUENCE + RECLAIM_COMPLETE\n"
	      "  reclaim    the same, for the same owners after nfsd restarted; waits\n"
	      "             up to --connect-wait for nfsd to listen\n"
	      "  teardown   DESTROY_SESSION and DESTROY_CLIENTID for every client in\n"
	      "             the state file\n"
	      "\n"
	      "Options:\n"
	      "  -s, --server ADDRESS      IPv4 address of nfsd (required)\n"
	      "  -p, --port PORT           default 2049\n"
	      "  -n, --clients N           number of client owners (default 100)\n"
	      "  -k, --concurrency K       parallel TCP connections (default 16)\n"
	      "  -P, --prefix NAME         owners are NAME-0 .. NAME-(N-1) (default nsr-load)\n"
	      "  -S, --state FILE          storm/reclaim write it, teardown reads it\n"
	      "  -t, --timeout MS          limit for each RPC (default 30000)\n"
	      "  -w, --connect-wait MS     how long refused connections are retried\n"
	      "                            (default 1000; 120000 in reclaim mode)\n"
	      "  -h, --help\n"
	      "\n"
	      "Output: one 'result' line and one 'latency' line per operation, as\n"
	      "key=value pairs. Exit status 0 when every client succeeded, 1 when some\n"
	      "failed, 2 on invalid usage.\n", out);
}

static int load_parse_uint(const char *name, const char *value, unsigned int min,
			   unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno || *end || end == value || v < min || v > max) {
		load_err("invalid %s '%s': use a number from %u to %u", name, value, min, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int load_parse_mode(const char *arg, enum load_mode *mode)
{
	if (strcmp(arg, "storm") == 0)
		*mode = LOAD_MODE_STORM;
	else if (strcmp(arg, "reclaim") == 0)
		*mode = LOAD_MODE_RECLAIM;
	else if (strcmp(arg, "teardown") == 0)
		*mode = LOAD_MODE_TEARDOWN;
	else {
		load_err("unknown mode '%s': use storm, reclaim or teardown", arg);
		return -EINVAL;
	}
	return 0;
}

static int load_parse_args(int argc, char **argv, struct load_options *opt)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "clients", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'k' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "state", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *server = NULL;
	unsigned int port = 2049;
	bool wait_set = false;
	int c, r = 0;

	*opt = (struct load_options){
		.clients = 100, .concurrency = 16, .prefix = "nsr-load",
		.timeout_ms = 30000, .connect_wait_ms = 1000,
	};
	while ((c = getopt_long(argc, argv, "s:p:n:k:P:S:t:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'p': r = load_parse_uint("port", optarg, 1, 65535, &port); break;
		case 'n': r = load_parse_uint("client count", optarg, 1, 10000000, &opt->clients); break;
		case 'k': r = load_parse_uint("concurrency", optarg, 1, 4096, &opt->concurrency); break;
		case 'P': opt->prefix = optarg; break;
		case 'S': opt->state_path = optarg; break;
		case 't': r = load_parse_uint("timeout", optarg, 1, 3600000, &opt->timeout_ms); break;
		case 'w':
			r = load_parse_uint("connect wait", optarg, 0, 3600000, &opt->connect_wait_ms);
			wait_set = true;
			break;
		case 'h': load_usage(stdout); exit(0);
		default: load_usage(stderr); return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	if (optind + 1 != argc) {
		load_err("give exactly one mode (storm, reclaim or teardown); see --help");
		return -EINVAL;
	}
	r = load_parse_mode(argv[optind], &opt->mode);
	if (r < 0)
		return r;
	if (!server) {
		load_err("--server ADDRESS is required");
		return -EINVAL;
	}
	opt->server.sin_family = AF_INET;
	opt->server.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, server, &opt->server.sin_addr) != 1) {
		load_err("invalid server address '%s': give an IPv4 address such as 10.77.1.1",
			 server);
		return -EINVAL;
	}
	if (strlen(opt->prefix) + 12 > LOAD_OWNER_MAX || strlen(opt->prefix) > 255 ||
	    strchr(opt->prefix, ' ')) {
		load_err("invalid prefix '%s': use up to 255 characters without blanks", opt->prefix);
		return -EINVAL;
	}
	if (opt->mode == LOAD_MODE_TEARDOWN && !opt->state_path) {
		load_err("teardown needs --state FILE from an earlier storm or reclaim run");
		return -EINVAL;
	}
	if (opt->mode == LOAD_MODE_RECLAIM && !wait_set)
		opt->connect_wait_ms = 120000;
	return 0;
}

int main(int argc, char **argv)
{
	struct load_options opt;
	struct load_run run = {};
	_cleanup_free_ pthread_t *threads = NULL;
	unsigned int started = 0;
	uint64_t end;
	int r;

	if (load_parse_args(argc, argv, &opt) < 0)
		return 2;
	run.opt = &opt;
	if (opt.mode == LOAD_MODE_TEARDOWN) {
		r = load_state_read(&run, &opt);
		if (r < 0) {
			if (r != -EINVAL)
				load_err("cannot read state file %s: %s", opt.state_path, strerror(-r));
			return 2;
		}
	} else {
		run.clients = calloc(opt.clients, sizeof(*run.clients));
	}
	threads = calloc(opt.concurrency, sizeof(*threads));
	if (!run.clients || !threads) {
		load_err("out of memory for %u clients", opt.clients);
		return 1;
	}

	run.start_ns = load_now_ns();
	for (unsigned int t = 0; t < opt.concurrency; t++) {
		r = pthread_create(&threads[t], NULL, load_worker, &run);
		if (r != 0) {
			load_err("cannot start connection thread %u: %s", t, strerror(r));
			break;
		}
		started++;
	}
	for (unsigned int t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	end = load_now_ns();
	if (atomic_load(&run.stopped))
		load_err("stopped early: nfsd did not answer within %u ms or refused the "
			 "connection; check that nfsd runs there (and, for AUTH_SYS, that "
			 "rpc.mountd runs in its namespace)", opt.timeout_ms);

	load_print_results(&run, end);
	if (opt.state_path && opt.mode != LOAD_MODE_TEARDOWN) {
		r = load_state_write(&run);
		if (r < 0)
			load_err("cannot write state file %s: %s", opt.state_path, strerror(-r));
	}
	free(run.clients);
	return (started == 0 || atomic_load(&run.failed) > 0 || atomic_load(&run.stopped)) ? 1 : 0;
}
