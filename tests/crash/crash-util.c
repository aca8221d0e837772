/* crash-util.c: seeds, client ids and database checks shared by the crash tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>
#include <urcu-bp.h>

#include "crash-util.h"
#include "nsr-macro.h"
#include "nsr-store.h"
#include "nsr-test.h"

#define CLIENT_ID_PREFIX "crash-client-"

uint32_t crash_seed(const char *test)
{
	const char *env = getenv("NSR_CRASH_SEED");
	struct timespec ts;
	uint32_t seed;

	if (env && *env) {
		seed = (uint32_t)strtoul(env, NULL, 0);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint32_t)(ts.tv_nsec ^ ts.tv_sec ^ ((uint32_t)getpid() << 16));
	}
	if (seed == 0)
		seed = 1;

	fprintf(stderr, "%s: seed %u (replay with NSR_CRASH_SEED=%u)\n", test, seed, seed);
	return seed;
}

unsigned long crash_env_ulong(const char *name, unsigned long fallback)
{
	const char *env = getenv(name);
	char *end;
	unsigned long v;

	if (!env || !*env)
		return fallback;
	v = strtoul(env, &end, 0);
	if (*end) {
		fprintf(stderr, "%s=%s is not a number; using %lu\n", name, env, fallback);
		return fallback;
	}
	return v;
}

uint32_t crash_random(uint32_t *state)
{
	uint32_t x = *state ? *state : 1;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

uint64_t crash_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void crash_client_id(unsigned int n, char *buf, size_t size)
{
	snprintf(buf, size, CLIENT_ID_PREFIX "%u", n);
}

void crash_client_address(unsigned int n, char *buf, size_t size)
{
	snprintf(buf, size, "10.%u.%u.%u", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

void crash_client_princhash(unsigned int n, uint8_t hash[NSR_PRINCHASH_LEN])
{
	for (unsigned int i = 0; i < NSR_PRINCHASH_LEN; i++)
		hash[i] = (uint8_t)(n * 31 + i * 7);
}

/* Parse a client number out of a record's id; returns false for a foreign id. */
static bool record_number(const struct nsr_record *rec, unsigned int *ret)
{
	char text[64];
	size_t prefix = strlen(CLIENT_ID_PREFIX);
	char *end;

	if (rec->id_len <= prefix || rec->id_len >= sizeof(text))
		return false;
	memcpy(text, rec->id, rec->id_len);
	text[rec->id_len] = '\0';
	if (strncmp(text, CLIENT_ID_PREFIX, prefix) != 0)
		return false;
	*ret = (unsigned int)strtoul(text + prefix, &end, 10);
	return *end == '\0';
}

#define PROBLEM(s, ...)                                                                   \
	do {                                                                              \
		if (!(s)->problem[0])                                                     \
			snprintf((s)->problem, sizeof((s)->problem), __VA_ARGS__);        \
	} while (0)

/* Check that a record is whole: every field is what the test wrote for its client. */
static int check_record(const struct nsr_record *rec, void *userdata)
{
	struct crash_db_state *s = userdata;
	uint8_t hash[NSR_PRINCHASH_LEN];
	char address[32];
	unsigned int n;

	s->n_records++;
	if (!record_number(rec, &n) || n >= s->n_clients) {
		PROBLEM(s, "a record has an id of %zu bytes that no test client has", rec->id_len);
		return 0;
	}

	crash_client_address(n, address, sizeof(address));
	crash_client_princhash(n, hash);
	if (rec->princhash_len != NSR_PRINCHASH_LEN || memcmp(rec->princhash, hash, sizeof(hash)))
		PROBLEM(s, "client %u: principal hash differs from the one written", n);
	if (!rec->address || strcmp(rec->address, address) != 0)
		PROBLEM(s, "client %u: address \"%s\", expected \"%s\"", n,
			rec->address ? rec->address : "(null)", address);
	if (!rec->impl_id || strcmp(rec->impl_id, CRASH_CLIENT_IMPL_ID) != 0)
		PROBLEM(s, "client %u: impl_id \"%s\" differs from the one written", n,
			rec->impl_id ? rec->impl_id : "(null)");
	if (rec->minor_version != 2)
		PROBLEM(s, "client %u: minor version %d, expected 2", n, rec->minor_version);
	if (rec->first_seen <= 0 || rec->first_seen > rec->last_seen)
		PROBLEM(s, "client %u: first_seen %lld, last_seen %lld", n,
			(long long)rec->first_seen, (long long)rec->last_seen);
	if (rec->epoch != s->current_epoch && rec->epoch != s->recovery_epoch)
		PROBLEM(s, "client %u: epoch %lld is neither current (%lld) nor recovery (%lld)", n,
			(long long)rec->epoch, (long long)s->current_epoch,
			(long long)s->recovery_epoch);

	if (rec->epoch == s->current_epoch) {
		if (s->present[n])
			PROBLEM(s, "client %u appears twice in the current epoch", n);
		s->present[n] = true;
	} else if (s->recovery_epoch != 0 && rec->epoch == s->recovery_epoch) {
		if (s->recovering[n])
			PROBLEM(s, "client %u appears twice in the recovery epoch", n);
		s->recovering[n] = true;
	}
	return 0;
}

static void check_sqlite_integrity(const char *path, struct crash_db_state *s)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		const char *line;

		rc = sqlite3_step(stmt);
		if (rc != SQLITE_ROW)
			break;
		line = (const char *)sqlite3_column_text(stmt, 0);
		if (!line || strcmp(line, "ok") != 0)
			PROBLEM(s, "integrity_check: %s", line ? line : "(null)");
	}
	if (rc != SQLITE_DONE)
		PROBLEM(s, "integrity_check could not run: %s", db ? sqlite3_errmsg(db) : "?");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

int crash_db_read(const char *path, unsigned int n_clients, struct crash_db_state *ret)
{
	const struct nsr_store_options opts = { .read_only = true };
	struct nsr_store *store = NULL;
	struct nsr_grace_state grace;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->n_clients = n_clients;
	ret->present = calloc(n_clients, sizeof(*ret->present));
	ret->recovering = calloc(n_clients, sizeof(*ret->recovering));
	if (!ret->present || !ret->recovering)
		return -ENOMEM;

	r = nsr_store_open(path, &opts, &store);
	if (r < 0)
		return r;

	r = nsr_store_get_grace(store, &grace);
	if (r < 0) {
		PROBLEM(ret, "reading the grace state failed: %s", strerror(-r));
	} else {
		ret->current_epoch = grace.current_epoch;
		ret->recovery_epoch = grace.recovery_epoch;
		if (grace.current_epoch < 1 || grace.recovery_epoch < 0 ||
		    grace.recovery_epoch >= grace.current_epoch)
			PROBLEM(ret, "inconsistent grace state: current epoch %lld, recovery %lld",
				(long long)grace.current_epoch, (long long)grace.recovery_epoch);
	}

	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, check_record, ret);
	if (r < 0)
		PROBLEM(ret, "reading the records failed: %s", strerror(-r));
	nsr_store_close(store);

	check_sqlite_integrity(path, ret);
	return 0;
}

void crash_db_state_free(struct crash_db_state *s)
{
	free(s->present);
	free(s->recovering);
	s->present = NULL;
	s->recovering = NULL;
}

void crash_run_child(void (*fn)(const char *dir), const char *what)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp();
	int status;
	pid_t pid;

	ck_assert_ptr_nonnull(dir);

	/* Earlier tests in this process may have started liburcu's call_rcu thread. */
	call_rcu_before_fork();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		call_rcu_after_fork_child();
		fn(dir);
		_exit(0);
	}
	call_rcu_after_fork_parent();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	nsr_test_rmtree(dir);

	if (WIFEXITED(status) && WEXITSTATUS(status) == CRASH_CHILD_SKIP) {
		fprintf(stderr, "%s: skipped, see the message above\n", what);
		return;
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s failed in the child (status 0x%x), see stderr", what, status);
}
