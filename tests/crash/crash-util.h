/* crash-util.h: seeds, client ids and database checks shared by the crash tests. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-client.h"

/*
 * Every crash test draws its random choices from one seed, printed at the
 * start so that a failure can be replayed with NSR_CRASH_SEED=N.
 */

/**
 * crash_seed - the seed of this run: $NSR_CRASH_SEED, or one from the clock
 * @test: the test name, printed with the seed
 */
uint32_t crash_seed(const char *test);

/* An unsigned number from environment variable @name, or @fallback when unset or invalid. */
unsigned long crash_env_ulong(const char *name, unsigned long fallback);

/* xorshift32 on a caller-owned state; never returns the state 0. */
uint32_t crash_random(uint32_t *state);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t crash_now_ms(void);

/*
 * Client number @n of a test. Its id, address, impl_id and principal hash
 * all derive from @n, so a record read back can be checked field by field.
 */
void crash_client_id(unsigned int n, char *buf, size_t size);
void crash_client_address(unsigned int n, char *buf, size_t size);
void crash_client_princhash(unsigned int n, uint8_t hash[NSR_PRINCHASH_LEN]);
#define CRASH_CLIENT_IMPL_ID "crash-test client"

/* The current epoch's clients as a test reads them back, by client number. */
struct crash_db_state {
	bool *present;		/* [n_clients]: in the current epoch */
	bool *recovering;	/* [n_clients]: in the recovery epoch, when there is one */
	unsigned int n_clients;
	unsigned int n_records;	/* records of any epoch */
	int64_t current_epoch;
	int64_t recovery_epoch;
	char problem[512];	/* the first malformed record or check failure, or "" */
};

/**
 * crash_db_read - read a database with the default VFS, read-only
 * @path: the database file
 * @n_clients: the size of the client number space
 *
 * Opens with nsr_store_open() (read-only), reads the grace state and the
 * records, checks that each record is one of this test's clients with all
 * of its fields as written, and runs PRAGMA integrity_check on a second
 * read-only connection. Returns 0 with @ret filled (ret->problem names the
 * first problem found, if any), or the negative errno of the open.
 */
int crash_db_read(const char *path, unsigned int n_clients, struct crash_db_state *ret);

void crash_db_state_free(struct crash_db_state *s);

/* The exit status with which a forked test child reports that it skipped. */
#define CRASH_CHILD_SKIP 77

/**
 * crash_run_child - run @fn(@dir) in a forked child and check its exit
 * @dir: a fresh directory under $TMPDIR, removed afterwards
 * @what: the test's name in messages
 *
 * The child may call _exit(CRASH_CHILD_SKIP) after printing why it cannot
 * run here, such as a missing permission to mount. Any other non-zero
 * exit fails the calling check test. liburcu's call_rcu thread is handled
 * across the fork.
 */
void crash_run_child(void (*fn)(const char *dir), const char *what);
