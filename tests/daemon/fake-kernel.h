/* fake-kernel.h: nfsd's side of the nfsd_cltrack family, over socketpairs, for daemon tests. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nsr-genl.h"

/*
 * The fake kernel keeps a pending list like nfsd does, answers HELLO and
 * GET_PENDING on the event link, and acknowledges REPLY and GRACE_RECORDS
 * on the answer link. Every message in both directions goes through the
 * codec in lib/nsr-genl.c, the same code the daemon uses against a real
 * kernel. It runs in its own thread; the test thread drives the daemon's
 * event loop.
 */

#define FAKE_KERNEL_FAMILY 0x4242
#define FAKE_KERNEL_MAX_PENDING 4096
#define FAKE_KERNEL_MAX_RECORDS 20000

struct fake_pending {
	struct nsr_genl_upcall up;
	uint8_t *raw;		/* a hand-made dump message, sent in place of up */
	size_t raw_len;
	bool answered;
	int32_t status;
};

struct fake_record {
	uint8_t id[NSR_CLIENTID_MAX];
	size_t id_len;
	size_t princhash_len;
};

struct fake_kernel {
	int daemon_event_fd;	/* hand these two to nsrd_genl_attach_links() */
	int daemon_answer_fd;

	int event_fd;		/* the kernel's ends */
	int answer_fd;
	pthread_t thread;
	int stop_pipe[2];

	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t next_id;
	struct fake_pending *pending;	/* FAKE_KERNEL_MAX_PENDING entries */
	unsigned int n_pending;

	/* Observations. */
	unsigned int hellos;
	uint32_t daemon_caps;
	unsigned int dumps;
	unsigned int replies;
	unsigned int unknown_replies;	/* REPLY for an id that is not pending */
	unsigned int records_msgs;
	unsigned int n_records;
	struct fake_record *records;
};

/**
 * fake_kernel_start - create both socketpairs and start the kernel thread
 *
 * Returns 0 or a negative errno.
 */
int fake_kernel_start(struct fake_kernel *k);

/**
 * fake_kernel_stop - stop the thread and close the kernel's ends
 */
void fake_kernel_stop(struct fake_kernel *k);

/**
 * fake_kernel_queue - queue an upcall and notify the daemon
 * @up: copied; its audit strings stay owned by the caller
 * @notify: send PENDING_NTF on the event link
 *
 * Returns the REQ_ID given to the upcall.
 */
uint64_t fake_kernel_queue(struct fake_kernel *k, const struct nsr_genl_upcall *up, bool notify);

/**
 * fake_kernel_queue_raw - send a hand-made dump message on the next GET_PENDING
 *
 * For malformed-input tests: @bytes is sent as is, in place of an encoded
 * upcall, and is expected to carry @req_id. Returns @req_id.
 */
uint64_t fake_kernel_queue_raw(struct fake_kernel *k, uint64_t req_id, const void *bytes,
			       size_t len);

/**
 * fake_kernel_wait_answer - wait up to @timeout_ms for request @req_id's REPLY
 * @status: set to the status the daemon sent
 *
 * The caller's thread must keep the daemon's event loop running, so this
 * polls: it runs @pump between checks. Returns 0, or -ETIMEDOUT.
 */
int fake_kernel_wait_answer(struct fake_kernel *k, uint64_t req_id, int32_t *status,
			    void (*pump)(void *ctx), void *ctx, unsigned int timeout_ms);
