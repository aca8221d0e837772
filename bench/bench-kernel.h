/* bench-kernel.h: a load-generating nfsd side of nfsd_cltrack over socketpairs, for many namespaces. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench-util.h"
#include "nsr-genl.h"

/*
 * Like the fake kernel of the daemon tests, every message in both
 * directions goes through the codec in lib/nsr-genl.c. Unlike it, this one
 * is built for volume: each link (one namespace) keeps a window of CREATE
 * requests outstanding, as nfsd threads waiting for their upcalls would,
 * queues a new request as soon as one is answered, and records the time
 * from queueing to the REPLY. Requests are generated from their sequence
 * number, so memory stays constant whatever the total. One thread serves
 * every link with epoll, and refills only the links answered since its
 * last wakeup, so its cost per wakeup does not grow with the number of
 * links.
 */

#define BENCH_KERNEL_FAMILY 0x4243

struct bench_slot {
	uint64_t id;		/* 0 when free */
	uint32_t type;		/* NFSD_CLTRACK_REQ_CREATE or _GRACE_START */
	uint64_t seq;		/* client number */
	uint64_t queued_ns;
};

struct bench_link {
	int daemon_event_fd;	/* hand these two to nsrd_genl_attach_links() */
	int daemon_answer_fd;

	int event_fd;		/* the kernel's ends */
	int answer_fd;
	char scope[64];
	unsigned int index;	/* in bench_kernel.links */
	uint32_t tag;

	uint32_t script[4];	/* types of the first requests (NFSD_CLTRACK_REQ_*) */
	unsigned int script_len;	/* every later request is a CREATE */
	uint64_t records;	/* GRACE_RECORDS records received */
	uint64_t records_msgs;	/* GRACE_RECORDS messages received */
	uint64_t total;		/* requests to issue; see bench_kernel_set_total() */
	unsigned int window;	/* at most this many outstanding */
	uint64_t deadline_ns;	/* stop issuing after this bench_now_ns(), 0 for never */
	uint64_t issued;	/* written by the kernel thread, read with __atomic */
	uint64_t answered;	/* written by the kernel thread, read with __atomic */
	uint64_t failed;	/* answers with a status other than 0 */
	uint64_t next_id;
	uint64_t low;		/* no id below this is pending */
	struct bench_slot *slots;
	unsigned int mask;
	bool hello_done;
	bool dirty;		/* answered since the last refill; listed in bench_kernel.dirty */
};

struct bench_kernel {
	struct bench_link **links;
	unsigned int n_links;
	pthread_t thread;
	bool running;
	int epoll_fd;
	int wake_pipe[2];
	unsigned int *dirty;	/* indexes of the links to refill, kernel thread only */
	unsigned int n_dirty;
	bool go;		/* start issuing; set by bench_kernel_go() */
	bool stop;

	struct bench_lat lat;	/* kernel thread only until it stops */
	uint64_t answered;	/* over all links, __atomic */
	uint64_t dumps;
	uint64_t notifications;
};

/**
 * bench_kernel_init - prepare an empty kernel
 * @lat_samples: room for this many latency samples (0 records none)
 *
 * Returns 0 or a negative errno.
 */
int bench_kernel_init(struct bench_kernel *k, size_t lat_samples);

/**
 * bench_kernel_add_link - add a namespace before bench_kernel_start()
 * @scope: the server scope that every request of this link carries
 * @tag: makes client ids unique across links
 * @window: outstanding requests, >= 1
 * @total: requests to issue once bench_kernel_go() is called
 *
 * Returns 0 or a negative errno.
 */
int bench_kernel_add_link(struct bench_kernel *k, const char *scope, uint32_t tag,
			  unsigned int window, uint64_t total, struct bench_link **ret);

/* Start the kernel thread; it answers HELLO and waits for bench_kernel_go(). */
int bench_kernel_start(struct bench_kernel *k);

/* Start issuing requests on every link. */
void bench_kernel_go(struct bench_kernel *k);

/* Number of links whose HELLO was answered. */
unsigned int bench_kernel_hellos(struct bench_kernel *k);

/* Raise every link's total to @total and issue the difference. */
void bench_kernel_set_total(struct bench_kernel *k, uint64_t total);

/* Requests queued so far, over all links. */
uint64_t bench_kernel_issued(struct bench_kernel *k);

/* Answers received so far, over all links. */
uint64_t bench_kernel_answered(struct bench_kernel *k);

/* Stop the thread, close the kernel's ends and free every link. */
void bench_kernel_stop(struct bench_kernel *k);
