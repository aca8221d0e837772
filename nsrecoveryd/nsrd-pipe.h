/* nsrd-pipe.h: the nfsdcld rpc_pipefs pipe transport of one namespace. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nsrd.h"

struct nsrd_pipe;
struct nsrd_netns;

/*
 * Stock nfsd (no nsrecoveryd kernel module) tracks clients through the
 * pipe nfsd/cld of the rpc_pipefs instance of its network namespace.
 *
 * Reaching the right pipe. rpc_pipefs keeps one superblock per network
 * namespace, chosen by the network namespace of whoever creates the mount.
 * The loop thread therefore enters the namespace and creates a detached
 * mount there with fsopen() and fsmount(): the mount is attached to no
 * directory of any mount namespace, and the file descriptor that fsmount()
 * returns is the only way to it. This needs no private mount namespace and
 * leaves nothing behind: the mount disappears when the daemon closes that
 * descriptor, or when the daemon dies, so a crash can neither leave a stale
 * mount in the host's mount table nor pin the network namespace.
 *
 * Pipe life cycle. Every nfsd start creates a new cld pipe and waits only
 * about one second for a reader, and every nfsd stop removes it. The
 * transport watches the nfsd directory with inotify and opens the pipe as
 * soon as it appears, and again after each restart. If the pipe exists at
 * attach time, it is opened at once.
 *
 * Requests. The loop thread reads one message per read(), answers
 * GetVersion itself (version 2), parses Create, Remove, GraceStart and
 * GraceDone into requests and submits them to the namespace's server.
 * Worker threads answer after the commit: a GraceStart first streams one
 * -EINPROGRESS record message per reclaimable client, then the final
 * status. Answers are matched by xid, so several upcalls can be in flight
 * and are answered in any order.
 *
 * Every message that carries an xid gets exactly one final answer:
 * malformed ones at once with the parser's error, a duplicate xid (already
 * in flight on this pipe) at once with -EEXIST, and Check, which only
 * nfsd's old version 0 protocol sends, with -EOPNOTSUPP. A message shorter
 * than the 8-byte header carries no xid and cannot be answered: it is
 * logged and counted in "dropped", and nfsd fails that upcall when the pipe
 * is closed (6.12) or after its upcall timeout for unread messages.
 *
 * Server binding. The pipe carries no server scope, so the namespace binds
 * the server named by "server" in its [nsrecoveryd-netns] section, or else
 * the server named after the namespace ("init" for the daemon's own).
 */

/**
 * nsrd_pipe_attach - serve the cld pipe of @ns
 *
 * Mounts rpc_pipefs inside @ns, watches its nfsd directory and opens the
 * pipe when it exists. When rpc_pipefs is not available yet (the sunrpc
 * module is not loaded), it retries in the background and returns 0.
 * Returns 0 or a negative errno (logged with the namespace).
 */
int nsrd_pipe_attach(struct nsrd *d, struct nsrd_netns *ns);

/**
 * nsrd_pipe_attach_fd - serve an already open pipe of @ns
 * @fd: the pipe, or a SOCK_SEQPACKET socket that behaves like one (daemon
 *      tests); taken over in every case
 *
 * Nothing is watched: when @fd hangs up, the transport waits for nothing
 * more. Returns 0 or a negative errno.
 */
int nsrd_pipe_attach_fd(struct nsrd *d, struct nsrd_netns *ns, int fd);

/**
 * nsrd_pipe_stop - stop reading and watching; loop thread
 *
 * A request that waits for room in its server's queue is answered with
 * -ESHUTDOWN. In-flight answers still go out until nsrd_pipe_free().
 */
void nsrd_pipe_stop(struct nsrd_pipe *p);

/**
 * nsrd_pipe_free - close the pipe and the mount and free @p; NULL is allowed
 *
 * Called after an RCU grace period, when no worker can hold @p.
 */
void nsrd_pipe_free(struct nsrd_pipe *p);

/* Counters, for tests and the status log. */
struct nsrd_pipe_stats {
	uint64_t opens;		/* times a cld pipe was opened */
	uint64_t upcalls;	/* requests submitted to the dispatcher */
	uint64_t versions;	/* GetVersion upcalls answered */
	uint64_t rejected;	/* malformed or unsupported upcalls answered with an error */
	uint64_t duplicates;	/* upcalls whose xid was already in flight */
	uint64_t dropped;	/* messages too short to carry an xid */
	uint64_t answers;	/* final answers written */
	uint64_t records;	/* GraceStart record messages written */
	uint64_t answer_errors;	/* answers that could not be written */
	uint64_t in_flight;	/* upcalls read and not answered yet */
};

void nsrd_pipe_get_stats(struct nsrd_pipe *p, struct nsrd_pipe_stats *ret);
