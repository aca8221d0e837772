/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/*
 * Generic netlink family "nfsd_cltrack": NFSv4 client tracking upcalls
 * from nfsd to a user-space tracker such as nsrecoveryd.
 *
 * kernel-abi/nfsd_cltrack.yaml is the source of truth for this header,
 * and docs/protocol.md describes the message sequences.
 */

#ifndef _UAPI_LINUX_NFSD_CLTRACK_H
#define _UAPI_LINUX_NFSD_CLTRACK_H

#define NFSD_CLTRACK_FAMILY_NAME	"nfsd_cltrack"

/*
 * The generic netlink header version of every message. A peer rejects a
 * message whose header carries another version.
 */
#define NFSD_CLTRACK_FAMILY_VERSION	1

/* Protocol version negotiated with NFSD_CLTRACK_CMD_HELLO. */
#define NFSD_CLTRACK_PROTO_VERSION	1

#define NFSD_CLTRACK_MCGRP_TRACKER	"tracker"

/* An NFSv4 client id is an opaque of at most 1024 bytes (RFC 7530). */
#define NFSD_CLTRACK_CLIENTID_MAX	1024

/* The principal hash is a SHA-256 digest, or absent under AUTH_SYS. */
#define NFSD_CLTRACK_PRINCHASH_LEN	32

#define NFSD_CLTRACK_SCOPE_MAX		1024
#define NFSD_CLTRACK_PRINCIPAL_MAX	1024
#define NFSD_CLTRACK_IMPL_ID_MAX	1024
#define NFSD_CLTRACK_ADDR_MAX		64

/**
 * enum nfsd_cltrack_req_type - the client tracking upcall a request carries
 * @NFSD_CLTRACK_REQ_CREATE: record the client in the current epoch
 * @NFSD_CLTRACK_REQ_REMOVE: forget the client
 * @NFSD_CLTRACK_REQ_GRACE_START: nfsd starts; send the reclaimable records
 * @NFSD_CLTRACK_REQ_GRACE_DONE: the grace period ended; drop the recovery
 *	epoch
 */
enum nfsd_cltrack_req_type {
	NFSD_CLTRACK_REQ_CREATE = 1,
	NFSD_CLTRACK_REQ_REMOVE,
	NFSD_CLTRACK_REQ_GRACE_START,
	NFSD_CLTRACK_REQ_GRACE_DONE,

	/* private: */
	__NFSD_CLTRACK_REQ_MAX,
	NFSD_CLTRACK_REQ_MAX = (__NFSD_CLTRACK_REQ_MAX - 1)
};

/**
 * enum nfsd_cltrack_cap - optional features, negotiated with HELLO
 * @NFSD_CLTRACK_CAP_AUDIT: upcalls carry the audit attributes
 * @NFSD_CLTRACK_CAP_RECLAIM_RECORD: a 4.0 client that reclaimed is recorded
 *	in the new epoch with a CREATE upcall
 */
enum nfsd_cltrack_cap {
	NFSD_CLTRACK_CAP_AUDIT = 1,
	NFSD_CLTRACK_CAP_RECLAIM_RECORD = 2,
};

enum {
	NFSD_CLTRACK_A_UNSPEC,
	NFSD_CLTRACK_A_VERSION,		/* u32 */
	NFSD_CLTRACK_A_CAPS,		/* u32, enum nfsd_cltrack_cap bits */
	NFSD_CLTRACK_A_REQ_ID,		/* u64 */
	NFSD_CLTRACK_A_REQ_TYPE,	/* u32, enum nfsd_cltrack_req_type */
	NFSD_CLTRACK_A_STATUS,		/* s32, 0 or a negative errno */
	NFSD_CLTRACK_A_CLIENT_ID,	/* binary, 1..NFSD_CLTRACK_CLIENTID_MAX */
	NFSD_CLTRACK_A_PRINCHASH,	/* binary, NFSD_CLTRACK_PRINCHASH_LEN */
	NFSD_CLTRACK_A_SCOPE,		/* string */
	NFSD_CLTRACK_A_BOOT_TIME,	/* s64, seconds since the Epoch */
	NFSD_CLTRACK_A_CLIENT_ADDR,	/* string, presentation form */
	NFSD_CLTRACK_A_MINOR_VERSION,	/* u32 */
	NFSD_CLTRACK_A_PRINCIPAL,	/* string */
	NFSD_CLTRACK_A_IMPL_ID,		/* string */
	NFSD_CLTRACK_A_RECORD,		/* nested, NFSD_CLTRACK_RECORD_A_* */
	NFSD_CLTRACK_A_AFTER_ID,	/* u64 */
	NFSD_CLTRACK_A_PENDING,		/* u32 */
	NFSD_CLTRACK_A_TIMEOUT_MS,	/* u32 */

	__NFSD_CLTRACK_A_MAX,
	NFSD_CLTRACK_A_MAX = (__NFSD_CLTRACK_A_MAX - 1)
};

enum {
	NFSD_CLTRACK_RECORD_A_UNSPEC,
	NFSD_CLTRACK_RECORD_A_CLIENT_ID,	/* binary */
	NFSD_CLTRACK_RECORD_A_PRINCHASH,	/* binary */

	__NFSD_CLTRACK_RECORD_A_MAX,
	NFSD_CLTRACK_RECORD_A_MAX = (__NFSD_CLTRACK_RECORD_A_MAX - 1)
};

enum {
	NFSD_CLTRACK_CMD_UNSPEC,
	NFSD_CLTRACK_CMD_HELLO,
	NFSD_CLTRACK_CMD_PENDING_NTF,
	NFSD_CLTRACK_CMD_GET_PENDING,
	NFSD_CLTRACK_CMD_GRACE_RECORDS,
	NFSD_CLTRACK_CMD_REPLY,

	__NFSD_CLTRACK_CMD_MAX,
	NFSD_CLTRACK_CMD_MAX = (__NFSD_CLTRACK_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_NFSD_CLTRACK_H */
