/* bench-startup.c: time from opening a server's database to answering its first request. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench-util.h"
#include "nsr-dispatch.h"
#include "nsr-log.h"
#include "nsr-store.h"

#define ST_ROUNDS 3
#define ST_TARGET_S 1.0

/* Drop this file's pages from the page cache, so the next read comes from the disk. */
static void st_evict(const char *db)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };

	for (size_t i = 0; i < 3; i++) {
		char path[4200];
		int fd;

		snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/*
 * What the daemon does when a namespace's first upcall names this server:
 * open (with PRAGMA quick_check only after an unclean shutdown), record the
 * name, read the scope, create the queue, then answer one CREATE. Sets
 * *open_s and returns the total.
 */
static double st_ready(const char *db, double *open_s)
{
	const struct nsr_store_options so = {
		.create = true, .event_max_age = 90 * 86400, .event_max_rows = 100000,
	};
	struct nsr_dispatcher *d = NULL;
	struct nsr_dispatch_queue *q = NULL;
	struct nsr_store *store = NULL;
	struct nsr_grace_state grace;
	struct nsr_request req;
	char *scope = NULL;
	uint64_t t0 = bench_now_ns();

	if (nsr_store_open(db, &so, &store) < 0)
		bench_die("opening %s", db);
	*open_s = (double)(bench_now_ns() - t0) / 1e9;

	if (nsr_store_set_meta(store, "name", "startup-bench") < 0 ||
	    nsr_store_get_grace(store, &grace) < 0)
		bench_die("reading %s", db);
	nsr_store_get_meta(store, "scope", &scope);
	free(scope);
	if (nsr_dispatcher_new(NULL, &d) < 0 || nsr_dispatch_queue_new(d, "startup", store, &q) < 0)
		bench_die("starting the dispatcher");

	nsr_request_init(&req, NSR_OP_CREATE);
	bench_client_fill(&req.client, 7, 1);
	req.complete = NULL;
	if (nsr_dispatch_submit_wait(q, &req) < 0 || req.status != 0)
		bench_die("the first CREATE failed");
	t0 = bench_now_ns() - t0;

	nsr_request_release(&req);
	nsr_dispatch_queue_free(q);
	nsr_dispatcher_free(d);
	nsr_store_close(store);
	return (double)t0 / 1e9;
}

/* Plain SQLite: open, then run @sql to its end (NULL runs only the schema read). */
static double st_raw(const char *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	sqlite3 *conn = NULL;
	uint64_t t0 = bench_now_ns();

	if (sqlite3_open_v2(db, &conn, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		bench_die("opening %s", db);
	if (sqlite3_prepare_v2(conn, sql ? sql : "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
		bench_die("%s: %s", sql, sqlite3_errmsg(conn));
	while (sqlite3_step(stmt) == SQLITE_ROW)
		;
	sqlite3_finalize(stmt);
	sqlite3_close(conn);
	return (double)(bench_now_ns() - t0) / 1e9;
}

/*
 * Leave the database as a daemon that died would: a child process commits
 * one CREATE and exits without closing, so the WAL keeps its frames and
 * the next open runs the integrity check.
 */
static void st_make_unclean(const char *db, uint64_t seq)
{
	static const struct nsr_store_options so = { .create = true };
	struct nsr_store *store = NULL;
	struct nsr_request req, *batch = &req;
	char wal[4200];
	struct stat st;
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		bench_die("fork: %m");
	if (pid == 0) {
		if (nsr_store_open(db, &so, &store) < 0)
			_exit(1);
		nsr_request_init(&req, NSR_OP_CREATE);
		bench_client_fill(&req.client, 9, seq);
		_exit(nsr_store_apply(store, &batch, 1) < 0 || req.status != 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("the child that leaves %s unclean failed", db);

	snprintf(wal, sizeof(wal), "%s-wal", db);
	if (stat(wal, &st) < 0 || st.st_size == 0)
		bench_die("%s has no frames after the child's exit", wal);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double st_median(double *v)
{
	qsort(v, ST_ROUNDS, sizeof(*v), cmp_double);
	return v[ST_ROUNDS / 2];
}

/* The measurement that st_row() repeats. */
enum st_what {
	ST_READY,		/* st_ready() after a clean shutdown */
	ST_READY_UNCLEAN,	/* st_ready() after st_make_unclean() */
	ST_RAW,			/* st_raw() */
};

/* Measure @what ST_ROUNDS times, cold (evicted) or warm, and print the median. */
static double st_row(const char *label, const char *db, bool cold, const char *sql,
		     enum st_what what)
{
	const char *after = what == ST_READY_UNCLEAN ? " after an unclean shutdown" : "";
	const char *cache = cold ? "cold" : "warm";
	double v[ST_ROUNDS], open_s[ST_ROUNDS];

	for (int i = 0; i < ST_ROUNDS; i++) {
		/* Warming opens and closes a connection, which checkpoints the WAL, so it comes first. */
		if (!cold)
			st_raw(db, "SELECT count(*) FROM clients");
		if (what == ST_READY_UNCLEAN)
			st_make_unclean(db, (uint64_t)i + (cold ? ST_ROUNDS : 0));
		if (cold)
			st_evict(db);
		v[i] = what == ST_RAW ? st_raw(db, sql) : st_ready(db, &open_s[i]);
	}
	if (what == ST_RAW) {
		printf("| %s, %s cache | %.4f |\n", label, cache, st_median(v));
		return st_median(v);
	}
	printf("| nsr_store_open%s, %s cache | %.4f |\n", after, cache, st_median(open_s));
	printf("| open to first CREATE answered%s, %s cache | %.4f |\n", after, cache,
	       st_median(v));
	return st_median(v);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "full", no_argument, NULL, 'f' },
		{ "records", required_argument, NULL, 'n' }, { "dir", required_argument, NULL, 'd' },
		{ 0 },
	};
	const char *parent = NULL;
	uint64_t n = 100000;
	double warm, cold, t_fill;
	char *scratch, db[4200];
	long long size;
	FILE *f;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == 'q')
			n = 100000;
		else if (ch == 'f')
			n = 1000000;
		else if (ch == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (ch == 'd')
			parent = optarg;
		else
			bench_die("usage: bench-startup [--quick | --full | --records N] [--dir DIR]");
	}

	nsr_log_open("bench", NSR_LOG_STDERR_PLAIN, LOG_WARNING);
	scratch = bench_mkdtemp(parent, "startup");
	if (!scratch)
		bench_die("creating a scratch directory: %m");
	printf("# bench-startup: %" PRIu64 " records\n", n);
	bench_print_machine(scratch);

	snprintf(db, sizeof(db), "%s/clients.sqlite", scratch);
	t_fill = (double)bench_now_ns();
	if (bench_fill_store(db, n, 1, 100000) < 0)
		bench_die("filling %s", db);
	t_fill = ((double)bench_now_ns() - t_fill) / 1e9;
	f = fopen(db, "re");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	printf("filled %" PRIu64 " records and up to 100000 events in %.1f s; file %.1f MiB\n\n", n,
	       t_fill, size / 1048576.0);

	printf("| Step (median of %d) | seconds |\n| --- | ---: |\n", ST_ROUNDS);
	warm = st_row(NULL, db, false, NULL, ST_READY);
	cold = st_row(NULL, db, true, NULL, ST_READY);
	st_row(NULL, db, false, NULL, ST_READY_UNCLEAN);
	st_row(NULL, db, true, NULL, ST_READY_UNCLEAN);
	st_row("plain SQLite open, no check", db, false, NULL, ST_RAW);
	st_row("plain SQLite open, no check", db, true, NULL, ST_RAW);
	st_row("PRAGMA quick_check(100) alone", db, false, "PRAGMA quick_check(100)", ST_RAW);
	st_row("PRAGMA quick_check(100) alone", db, true, "PRAGMA quick_check(100)", ST_RAW);
	st_row("PRAGMA integrity_check alone", db, false, "PRAGMA integrity_check", ST_RAW);
	st_row("reading the grace row only", db, true,
	       "SELECT current_epoch, recovery_epoch FROM grace WHERE id = 1", ST_RAW);

	printf("\ntarget: ready in under %.1f s with %" PRIu64 " records (clean shutdown): "
	       "warm %s, cold %s\n",
	       ST_TARGET_S, n, warm < ST_TARGET_S ? "met" : "MISSED",
	       cold < ST_TARGET_S ? "met" : "MISSED");

	bench_rmtree(scratch);
	free(scratch);
	return 0;
}
