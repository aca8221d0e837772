/* bench-util.h: clocks, latency samples, scratch directories and machine facts for the benchmarks. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-client.h"

/* Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);

/* A growable array of latency samples, in nanoseconds. */
struct bench_lat {
	uint64_t *ns;
	size_t n;
	size_t cap;
};

/**
 * bench_lat_reserve - make room for @n samples up front, so that recording
 * never allocates while the clock runs. Returns 0 or -ENOMEM.
 */
int bench_lat_reserve(struct bench_lat *l, size_t n);

/* Record one sample; samples beyond the reserved room are dropped. */
static inline void bench_lat_add(struct bench_lat *l, uint64_t ns)
{
	if (l->n < l->cap)
		l->ns[l->n++] = ns;
}

/**
 * bench_lat_percentile - the @p-th percentile (0..100) in microseconds
 *
 * Sorts the samples in place. Returns 0 when there are none.
 */
double bench_lat_percentile(struct bench_lat *l, double p);

void bench_lat_free(struct bench_lat *l);

/**
 * bench_mkdtemp - create a scratch directory
 * @parent: where to create it, or NULL for $TMPDIR or /var/tmp
 *
 * Returns the malloc'ed path, or NULL with errno set. Remove it with
 * bench_rmtree().
 */
char *bench_mkdtemp(const char *parent, const char *tag);

/* Remove @path and everything below it; errors are ignored. */
void bench_rmtree(const char *path);

/**
 * bench_print_machine - print nproc, memory, kernel, the file system of
 * @dir and the SQLite version, one "key: value" line each
 */
void bench_print_machine(const char *dir);

/* The resident set size of this process in KiB, from /proc/self/status. */
long bench_rss_kib(void);

/*
 * A synthetic client, deterministic in @seq: an id like Linux's
 * "Linux NFSv4.1 host.example.net" uniquifier form (about 40 bytes), a
 * principal hash on every fourth client (Kerberos), and the audit fields.
 */
void bench_client_fill(struct nsr_client *c, uint32_t tag, uint64_t seq);

/* Just the id of bench_client_fill(); @buf holds at least 96 bytes. Returns its length. */
size_t bench_client_id(uint8_t *buf, uint32_t tag, uint64_t seq);

/* Whether client @seq carries a principal hash, and that hash. */
bool bench_client_princhash(uint64_t seq, uint8_t hash[NSR_PRINCHASH_LEN]);

/**
 * bench_fill_store - create a server database with @n client records
 * @path: the database file, which must not exist
 * @epoch: the epoch the records go to; the grace row gets current_epoch = @epoch
 * @events: audit events to add as well (as the retention bound would keep)
 *
 * Creates the file with nsr_store_open(), so it has the store's schema,
 * then bulk-inserts with plain SQLite in one transaction. Returns 0 or a
 * negative errno.
 */
int bench_fill_store(const char *path, uint64_t n, int64_t epoch, uint64_t events);

/* Print to stderr and exit(1). */
__attribute__((noreturn, format(printf, 1, 2))) void bench_die(const char *fmt, ...);
