/* nsr-request.h: the transport-neutral client tracking request. */
#pragma once

#include <stdint.h>

#include "nsr-client.h"

/*
 * Every transport (generic netlink, the nfsdcld pipe) decodes what nfsd
 * sends into a struct nsr_request, hands it to the dispatcher, and encodes
 * the answer from the same struct when the dispatcher completes it.
 */

enum nsr_op {
	NSR_OP_CREATE = 1,	/* record the client in the current epoch */
	NSR_OP_REMOVE,		/* forget the client in the current epoch */
	NSR_OP_CHECK,		/* may the client reclaim? */
	NSR_OP_GRACE_START,	/* enter grace, then stream the recovery epoch */
	NSR_OP_GRACE_DONE,	/* grace ended: drop the recovery epoch */
	NSR_OP_VERSION,		/* version negotiation; never reaches the store */
	NSR_OP_RENEW,		/* daemon-internal: renew the ownership lease; no client */
};

struct nsr_request;

/*
 * Receives one reclaimable record during NSR_OP_GRACE_START, after the
 * epoch transition has committed. Returns 0 when the record was sent, a
 * positive value when the transport skipped it (it is not counted in
 * records_sent), or a negative errno that stops the stream and becomes the
 * request's status.
 */
typedef int (*nsr_record_fn)(struct nsr_request *req, const struct nsr_record *rec);

/*
 * Called exactly once per request, from a worker thread, after the commit
 * that req->status reports is durable, or with the error that prevented it.
 * The transport sends its answer from here and then owns @req again.
 */
typedef void (*nsr_complete_fn)(struct nsr_request *req);

struct nsr_request {
	enum nsr_op op;
	uint64_t xid;		/* the transport's request id, echoed in the answer */
	int64_t time;		/* seconds since the Epoch; 0 means "now" */

	struct nsr_client client; /* CREATE, REMOVE, CHECK */
	int64_t boot_time;	/* GRACE_START: the namespace's nfsd boot time, or 0 */
	char *scope;		/* GRACE_START: nfsd's server scope, or NULL; owned */
	uint32_t version;	/* VERSION: the peer's maximum, then the agreed one */

	/*
	 * Results. status is 0 or a negative errno. CHECK sets -ENOENT when
	 * the client may not reclaim, and -EACCES when its principal hash
	 * differs from the stored one.
	 */
	int status;
	uint64_t records_sent;	/* GRACE_START: how many records were streamed */

	nsr_record_fn emit_record;	/* GRACE_START only */
	nsr_complete_fn complete;
	void *transport;		/* owned by the transport */
	void *waiter;			/* owned by nsr_dispatch_submit_wait() */

	struct nsr_request *next;	/* owned by whoever queues the request */
};

/**
 * nsr_request_init - zero @req and set its op, with no audit attributes
 */
void nsr_request_init(struct nsr_request *req, enum nsr_op op);

/**
 * nsr_request_release - free what @req owns, but not @req itself
 */
void nsr_request_release(struct nsr_request *req);

/* Name an op for logs: "create", "remove", and so on. */
const char *nsr_op_name(enum nsr_op op);
