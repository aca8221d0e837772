/* nsr-audit.h: audit findings of a server's database: shared client ids and scope changes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "nsr-store.h"

/*
 * Findings are problems that the store detects while it writes, and keeps
 * in its database so that nsrecoveryctl can show them later:
 *
 *   - address-conflict, principal-conflict: one client id was recorded by
 *     CREATE from two addresses, or with two principals, less than one
 *     lease period (the client_lease_time store option) apart. Two NFS
 *     clients then share one identity, as happens when containers share a
 *     host name, and each one's state can be lost to the other. The store
 *     keeps the latest address and principal of each id for one lease
 *     period (table client_sightings) and compares every CREATE with it,
 *     inside the batch's transaction. One finding per id and kind is
 *     recorded per lease period, so a pair of clients that keeps
 *     alternating does not flood the log.
 *   - scope-change: nfsd sent another server scope than the one recorded
 *     before (nsr_store_note_scope()). Clients compare the scope, so none
 *     of them can reclaim across the change. Every scope is also kept in a
 *     history, oldest first.
 *
 * Findings are trimmed with the audit events, by the event_max_age and
 * event_max_rows options. Databases older than schema version 3 have
 * neither findings nor a scope history, and the readers report none.
 */

enum nsr_finding_kind {
	NSR_FINDING_ADDRESS_CONFLICT = 1,
	NSR_FINDING_PRINCIPAL_CONFLICT,
	NSR_FINDING_SCOPE_CHANGE,
};

/* A finding, valid only during the callback that receives it. */
struct nsr_finding {
	int64_t seq;
	int64_t time;		/* seconds since the Epoch */
	enum nsr_finding_kind kind;
	const uint8_t *id;	/* NULL for a scope change */
	size_t id_len;
	const char *old_value;	/* the earlier address, principal or scope */
	const char *new_value;	/* the one that disagrees with it */
	const char *detail;	/* may be NULL */
};

/* One entry of the scope history. time is 0 for a scope recorded before version 3. */
struct nsr_scope_entry {
	int64_t seq;
	int64_t time;
	const char *scope;
};

typedef int (*nsr_finding_fn)(const struct nsr_finding *f, void *ctx);
typedef int (*nsr_scope_fn)(const struct nsr_scope_entry *e, void *ctx);

/* "address-conflict", "principal-conflict" or "scope-change". */
const char *nsr_finding_kind_name(enum nsr_finding_kind kind);

/**
 * nsr_store_foreach_finding - visit findings at or after @since, oldest first
 * @fn: a non-zero return stops the walk and is returned
 *
 * Returns 0, @fn's first non-zero return, or a negative errno.
 */
int nsr_store_foreach_finding(struct nsr_store *store, int64_t since, nsr_finding_fn fn,
			      void *ctx);

/**
 * nsr_store_count_findings - count every finding
 */
int nsr_store_count_findings(struct nsr_store *store, uint64_t *ret);

/**
 * nsr_store_foreach_scope - visit the scope history, oldest first
 */
int nsr_store_foreach_scope(struct nsr_store *store, nsr_scope_fn fn, void *ctx);

/**
 * nsr_store_note_scope - record the server scope nfsd sent
 * @previous: when not NULL and the scope changed, set to the malloc'ed
 *            previous scope; otherwise set to NULL
 *
 * In one write transaction, with the ownership check of nsr_store_apply():
 * stores the scope as meta "scope", and when it differs from the stored
 * one adds it to the history and, if a scope was stored before, adds a
 * scope-change finding. Logs nothing: the caller knows the namespace.
 * Returns 1 when the scope changed, 0 when it was already stored or is
 * the first one, or a negative errno (-EROFS, -ESTALE, I/O).
 */
int nsr_store_note_scope(struct nsr_store *store, const char *scope, char **previous);
