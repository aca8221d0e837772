/* nsrd-genl.h: the generic netlink transport of one namespace. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nsrd.h"

struct nsrd_genl;
struct nsrd_netns;

/*
 * The transport holds two links into its namespace, created inside it:
 *   - the event link, read by the event loop: PENDING_NTF multicasts, the
 *     HELLO answer and the GET_PENDING dumps;
 *   - the answer link, written by worker threads under a mutex: REPLY and
 *     GRACE_RECORDS, each waiting for the kernel's acknowledgement.
 * Requests are fetched with GET_PENDING AFTER_ID = the highest id already
 * fetched, so each request is submitted once, and a restarted daemon
 * (AFTER_ID 0) picks up everything nfsd still waits for.
 */

/* The capabilities this daemon asks for in HELLO. */
#define NSRD_GENL_CAPS (NFSD_CLTRACK_CAP_AUDIT | NFSD_CLTRACK_CAP_RECLAIM_RECORD)

/**
 * nsrd_genl_attach - open the transport of @ns
 *
 * Creates the netlink sockets inside @ns, resolves the family and its
 * multicast group, joins the group and sends HELLO. When nfsd has not
 * registered the family yet, it retries in the background and returns 0.
 * Returns 0 or a negative errno (logged with the namespace).
 */
int nsrd_genl_attach(struct nsrd *d, struct nsrd_netns *ns);

/**
 * nsrd_genl_attach_links - attach the transport of @ns to existing links
 * @event_fd: the event link; taken over
 * @answer_fd: the answer link; taken over
 * @family: the family id used in both directions
 * @from_kernel_only: drop messages whose netlink source port is not 0;
 *	false only for links that are not netlink sockets, such as the
 *	socketpairs of the daemon tests
 *
 * Sends HELLO and starts reading. Returns 0 or a negative errno.
 */
int nsrd_genl_attach_links(struct nsrd *d, struct nsrd_netns *ns, int event_fd, int answer_fd,
			   int family, bool from_kernel_only);

/**
 * nsrd_genl_stop - stop reading; loop thread
 *
 * In-flight answers still go out until nsrd_genl_free().
 */
void nsrd_genl_stop(struct nsrd_genl *g);

/**
 * nsrd_genl_free - close the links and free @g; NULL is allowed
 *
 * Called after an RCU grace period, when no worker can hold @g.
 */
void nsrd_genl_free(struct nsrd_genl *g);

/**
 * nsrd_genl_batch_answers - hold answers back until the end of each batch
 * @enable: true when the dispatcher calls nsrd_genl_flush_answers() as its
 *	batch_done hook; set it before the dispatcher starts
 *
 * Without it every answer is sent, and acknowledged, on its own.
 */
void nsrd_genl_batch_answers(bool enable);

/**
 * nsrd_genl_flush_answers - send the answers this worker held back
 *
 * The dispatcher's batch_done hook: runs on the worker that completed the
 * batch, sends its answers in one message to the kernel and logs each
 * outcome.
 */
void nsrd_genl_flush_answers(void);

/* Counters, for tests and the status log. */
struct nsrd_genl_stats {
	uint64_t upcalls;	/* requests fetched and submitted */
	uint64_t rejected;	/* malformed upcalls answered with an error */
	uint64_t foreign;	/* messages dropped because they did not come from the kernel */
	uint64_t answers;	/* REPLY messages acknowledged by the kernel */
	uint64_t answer_errors;	/* answers the kernel refused or that could not be sent */
	uint32_t caps;		/* capabilities agreed in HELLO */
	bool hello_done;
};

void nsrd_genl_get_stats(struct nsrd_genl *g, struct nsrd_genl_stats *ret);
