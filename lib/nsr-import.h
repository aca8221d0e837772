/* nsr-import.h: read the client records of nfsdcld, nfsdcltrack and the v4recovery directory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-store.h"

/*
 * A server that moves from nfs-utils' trackers to nsrecoveryd keeps its
 * clients by importing their records once. Every source is opened
 * read-only and never changed: SQLite files with immutable=1, which takes
 * no locks and writes no journal, and the v4recovery directory only by
 * listing it.
 *
 * Formats, derived from the SQL text inside Debian bookworm's nfsdcld and
 * nfsdcltrack binaries (nfs-utils 2.6.2) and from nfsd's nfs4recover.c:
 *
 * nfsdcld, DIR/main.sqlite. parameters(key, value) holds "version":
 *   1, 2  clients(id BLOB PRIMARY KEY, time INTEGER[, has_session INTEGER]),
 *         the layout nfsdcld shared with nfsdcltrack before version 3.
 *   3     grace(current, recovery) and one table "rec-%016x" per epoch,
 *         rec-X(id BLOB PRIMARY KEY). Some version 3 files name tables
 *         without the zero padding ("rec-2"); nfsdcld renames them when it
 *         upgrades to version 4, and this reader accepts both forms.
 *   4     rec-X gains "princhash BLOB", the SHA-256 of the principal.
 *   nfsdcld streams the recovery epoch at the next grace start while a
 *   grace period is in progress (recovery != 0), and the current epoch
 *   otherwise. The import takes the current epoch, plus the recovery epoch
 *   when one is in progress: a client recorded in either may reclaim.
 *
 * nfsdcltrack, DIR/main.sqlite. parameters "version" 1 or 2, and
 *   clients(id BLOB PRIMARY KEY, time INTEGER[, has_session INTEGER]).
 *   Every row is a client that may reclaim after the next restart.
 *
 * v4recovery, a directory (usually /var/lib/nfs/v4recovery) with one entry
 *   per client, named by the 32 lower-case hex digits of the MD5 digest of
 *   the client id. The id cannot be recovered from its digest, so such a
 *   client is recorded in the form nfsdcld uses: "hash:" followed by the
 *   32 digits and a NUL byte (38 bytes). nfsd understands that form only
 *   on the cld pipe and only when built with
 *   CONFIG_NFSD_LEGACY_CLIENT_TRACKING (Debian's kernels are): during
 *   GraceStart it strips "hash:" and, for a client not found by its id,
 *   looks up the MD5 digest of the id. Over the nsrecoveryd generic
 *   netlink transport, and on kernels without that option, these records
 *   match no client: they can be imported, but nobody can reclaim with
 *   them, and they disappear at the end of the next grace period. A client
 *   that does reclaim is recorded again under its real id.
 *
 * Records that nfsd would reject are skipped and reported: an empty id, an
 * id over NSR_CLIENTID_MAX bytes, a principal hash that is neither 0 nor 32
 * bytes, and a v4recovery name that is not 32 hex digits.
 */

enum nsr_import_format {
	NSR_IMPORT_NFSDCLD,
	NSR_IMPORT_NFSDCLTRACK,
	NSR_IMPORT_V4RECOVERY,
};

/* The form a v4recovery entry takes as a client id: "hash:", 32 hex digits, NUL. */
#define NSR_IMPORT_HASH_PREFIX "hash:"
#define NSR_IMPORT_HASH_ID_LEN (5 + 32 + 1)

/* A record that is not imported, and why. */
struct nsr_import_skip {
	char *id;		/* printable form of the id, or the entry name */
	char *reason;
};

/* The records read from one source, ready for nsr_import_apply(). */
struct nsr_import_set {
	enum nsr_import_format format;
	char *path;		/* the file or directory that was read */
	char *source;		/* "FORMAT PATH", the detail of the import events */
	int schema_version;	/* of a SQLite source, else 0 */
	struct nsr_import_record *recs;	/* unique ids; every id is malloc'ed */
	size_t n_recs;
	size_t n_legacy_hashes;	/* records whose id is the "hash:" form */
	struct nsr_import_skip *skips;
	size_t n_skips;
};

struct nsr_import_summary {
	uint64_t imported;	/* records added to the server */
	uint64_t present;	/* records the server's current epoch already held */
	uint64_t skipped;	/* records nfsd would reject; listed in the set */
};

/* "nfsdcld", "nfsdcltrack" or "v4recovery". */
const char *nsr_import_format_name(enum nsr_import_format format);

/**
 * nsr_import_format_from_string - parse a format name, in any case
 *
 * Returns 0 or -EINVAL.
 */
int nsr_import_format_from_string(const char *text, enum nsr_import_format *ret);

/**
 * nsr_import_read - read every importable record of one source
 * @path: for nfsdcld and nfsdcltrack the database directory or its
 *        main.sqlite file; for v4recovery the directory
 * @ret: filled in on success; release it with nsr_import_set_release()
 *
 * Returns 0, or a negative errno after logging the path and what to do:
 *   -ENOENT           the source does not exist
 *   -EBUSY            the database has a non-empty -journal or -wal file,
 *                     so a writer is active or crashed mid-transaction;
 *                     stop it, or let it recover, and import again
 *   -EPROTONOSUPPORT  a schema version this reader does not know
 *   -EBADMSG          not a database of that format
 *   -ENOMEM, -EIO, -EACCES
 */
int nsr_import_read(enum nsr_import_format format, const char *path,
		    struct nsr_import_set *ret);

/**
 * nsr_import_set_release - free what @set owns and leave it empty
 */
void nsr_import_set_release(struct nsr_import_set *set);

/**
 * nsr_import_parse_v4recovery_name - turn one v4recovery entry name into a client id
 * @name: a NUL-terminated directory entry name
 * @id: at least NSR_IMPORT_HASH_ID_LEN bytes; set to the "hash:" form
 *
 * Returns 0, or -EINVAL when @name is not 32 lower-case hex digits.
 */
int nsr_import_parse_v4recovery_name(const char *name, uint8_t *id);

/**
 * nsr_import_apply - write @set into the current epoch of @store
 * @dry_run: write nothing; count what an import would do. @store may then
 *           be read-only.
 *
 * The records join the current epoch, so they are reclaimable after the
 * next grace start, in one transaction that adds an NSR_EVENT_IMPORT event
 * per new record with set->source as its detail (nsr_store_import()). A
 * record the current epoch already holds keeps its times and audit fields,
 * so importing the same source again changes nothing.
 *
 * Returns 0 or the negative errno of nsr_store_import() or of reading the
 * store. @ret is filled in on success.
 */
int nsr_import_apply(struct nsr_store *store, const struct nsr_import_set *set, bool dry_run,
		     struct nsr_import_summary *ret);

/* The server attribute that records a completed nsr_import_once(). */
#define NSR_IMPORT_META_KEY "imported-from"

/**
 * nsr_import_once - import a configured source into a new server, once
 * @spec: "FORMAT:PATH", as the import-from setting holds it
 * @label: names the server in logs, such as "netns blue server nfs1"
 *
 * Imports only while the server has never imported (no NSR_IMPORT_META_KEY
 * attribute) and holds no record in any epoch, so a database that already
 * serves clients is never touched. After a successful import the attribute
 * records @spec. A failure is logged and returned, and the import is tried
 * again at the next open as long as the database stays empty.
 *
 * Returns 0 (also when nothing was to be done) or a negative errno.
 */
int nsr_import_once(struct nsr_store *store, const char *spec, const char *label);
