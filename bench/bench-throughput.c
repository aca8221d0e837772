/* bench-throughput.c: CREATE throughput and latency through the codec and the dispatcher, against plain SQLite. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>
#include <urcu/compiler.h>

#include "bench-daemon.h"
#include "bench-util.h"
#include "nsr-dispatch.h"
#include "nsr-genl.h"
#include "nsr-log.h"
#include "nsr-store.h"

#define TP_FAMILY 0x4244
#define TP_WORKERS 2
#define TP_MAX_BATCH 256	/* the daemon's default max-batch */
#define TP_MAX_QUEUE 4096	/* the daemon's queue bound */
#define TP_MAX_SERVERS 8

struct tp_opts {
	bool full;
	const char *parent;
	double cap_s;		/* stop issuing after this long; the row says so */
	double cld_cap_s;	/* the same for the nfsdcld pattern */
};

struct tp_result {
	const char *what;
	uint64_t n;		/* requested */
	unsigned int c;
	unsigned int servers;
	uint64_t done;
	double secs;
	double p50_us, p99_us;	/* 0 when not measured */
	bool capped;
	uint64_t batches;	/* transactions, when known */
};

static struct tp_opts opts;
static char *scratch;
static unsigned int cell_no;
static struct tp_result results[128];
static unsigned int n_results;

static double tp_rate(const struct tp_result *r)
{
	return r->secs > 0 ? (double)r->done / r->secs : 0;
}

/* A fresh directory for one measurement, so no two share a database or its cache. */
static char *tp_cell_dir(void)
{
	char *dir;

	if (asprintf(&dir, "%s/cell%u", scratch, cell_no++) < 0 || mkdir(dir, 0700) < 0)
		bench_die("creating a cell directory under %s: %m", scratch);
	return dir;
}

static void tp_record(const struct tp_result *r)
{
	if (n_results < sizeof(results) / sizeof(results[0]))
		results[n_results++] = *r;
	printf("  %-28s N=%-8" PRIu64 " C=%-4u S=%u  %9.0f creates/s  p50 %8.1f us  p99 %8.1f us  (%" PRIu64 " in %.2f s%s)\n",
	       r->what, r->n, r->c, r->servers, tp_rate(r), r->p50_us, r->p99_us, r->done, r->secs,
	       r->capped ? ", time-capped" : "");
	fflush(stdout);
}

/* Codec path: the kernel-side builder, the daemon-side parser, the dispatcher. */

struct tp_run {
	pthread_mutex_t lock;
	pthread_cond_t slot_free;
	unsigned int outstanding;
	uint64_t done;
	uint64_t failed;
	struct bench_lat lat;
	struct nsr_dispatch_queue *queues[TP_MAX_SERVERS];
};

struct tp_request {
	struct nsr_request req;
	uint64_t t0;
	struct tp_run *run;
};

/* The answer travels as a REPLY through the codec, like the worker's answer to nfsd. */
static void tp_complete(struct nsr_request *req)
{
	struct tp_request *tr = caa_container_of(req, struct tp_request, req);
	struct tp_run *run = tr->run;
	struct nl_msg *reply = NULL;
	uint64_t req_id = 0;
	int32_t status = -EIO;
	bool ok;

	ok = nsr_genl_build_reply(TP_FAMILY, req->xid, req->status, &reply) == 0 &&
	     nsr_genl_parse_reply(nlmsg_hdr(reply), nlmsg_hdr(reply)->nlmsg_len, &req_id,
				  &status) == 0 &&
	     req_id == req->xid && status == 0;
	nlmsg_free(reply);

	pthread_mutex_lock(&run->lock);
	bench_lat_add(&run->lat, bench_now_ns() - tr->t0);
	run->done++;
	run->failed += !ok;
	run->outstanding--;
	pthread_cond_signal(&run->slot_free);
	pthread_mutex_unlock(&run->lock);

	nsr_request_release(req);
	free(tr);
}

/*
 * Encode request @seq as nfsd would dump it, decode it as the daemon's loop
 * does, and submit it. Returns 0 or a negative errno.
 */
static int tp_submit_one(struct tp_run *run, struct nsr_dispatch_queue *q, uint64_t seq)
{
	struct nsr_genl_upcall up, parsed;
	struct nl_msg *msg = NULL;
	struct tp_request *tr;
	uint64_t t0 = bench_now_ns();
	int r;

	nsr_genl_upcall_init(&up);
	up.req_id = seq + 1;
	up.type = NFSD_CLTRACK_REQ_CREATE;
	snprintf(up.scope, sizeof(up.scope), "bench");
	up.boot_time = 1700000000;
	bench_client_fill(&up.client, 0, seq);
	r = nsr_genl_build_upcall(TP_FAMILY, 0, 1, &up, &msg);
	nsr_genl_upcall_release(&up);
	if (r < 0)
		return r;

	nsr_genl_upcall_init(&parsed);
	r = nsr_genl_parse_upcall(nlmsg_hdr(msg), nlmsg_hdr(msg)->nlmsg_len, &parsed);
	nlmsg_free(msg);
	tr = r < 0 ? NULL : calloc(1, sizeof(*tr));
	if (tr)
		r = nsr_genl_upcall_to_request(&parsed, &tr->req);
	nsr_genl_upcall_release(&parsed);
	if (!tr || r < 0) {
		free(tr);
		return r < 0 ? r : -ENOMEM;
	}

	tr->req.time = time(NULL);
	tr->req.complete = tp_complete;
	tr->t0 = t0;
	tr->run = run;
	r = nsr_dispatch_submit(q, &tr->req);
	if (r < 0) {
		nsr_request_release(&tr->req);
		free(tr);
	}
	return r;
}

static void tp_open_servers(const char *dir, unsigned int servers, struct nsr_store **stores)
{
	const struct nsr_store_options so = {
		.create = true, .event_max_age = 90 * 86400, .event_max_rows = 100000,
	};

	for (unsigned int i = 0; i < servers; i++) {
		char path[4200];
		int r;

		snprintf(path, sizeof(path), "%s/server%u.sqlite", dir, i);
		r = nsr_store_open(path, &so, &stores[i]);
		if (r < 0)
			bench_die("opening %s: %s", path, strerror(-r));
	}
}

/* Keep @c requests outstanding until @n completed or the time cap passed. */
static void tp_drive(struct tp_run *run, uint64_t n, unsigned int c, unsigned int servers,
		     uint64_t start, struct tp_result *res)
{
	uint64_t deadline = start + (uint64_t)(opts.cap_s * 1e9), issued = 0;

	while (issued < n) {
		int r;

		if (bench_now_ns() > deadline) {
			res->capped = true;
			break;
		}
		pthread_mutex_lock(&run->lock);
		while (run->outstanding >= c)
			pthread_cond_wait(&run->slot_free, &run->lock);
		run->outstanding++;
		pthread_mutex_unlock(&run->lock);

		r = tp_submit_one(run, run->queues[issued % servers], issued);
		if (r < 0)
			bench_die("submitting request %" PRIu64 ": %s", issued, strerror(-r));
		issued++;
	}

	pthread_mutex_lock(&run->lock);
	while (run->outstanding > 0)
		pthread_cond_wait(&run->slot_free, &run->lock);
	pthread_mutex_unlock(&run->lock);
}

static void tp_run_codec_as(const char *what, uint64_t n, unsigned int c, unsigned int servers)
{
	const struct nsr_dispatcher_options dopts = {
		.workers = TP_WORKERS, .max_batch = TP_MAX_BATCH, .max_queue = TP_MAX_QUEUE,
	};
	struct tp_result res = {
		.what = what, .n = n, .c = c, .servers = servers,
	};
	struct nsr_store *stores[TP_MAX_SERVERS] = { NULL };
	struct nsr_dispatch_stats stats;
	struct nsr_dispatcher *d = NULL;
	struct tp_run run = { .lock = PTHREAD_MUTEX_INITIALIZER,
			      .slot_free = PTHREAD_COND_INITIALIZER };
	char *dir = tp_cell_dir();
	uint64_t start;

	tp_open_servers(dir, servers, stores);
	if (nsr_dispatcher_new(&dopts, &d) < 0 || bench_lat_reserve(&run.lat, n) < 0)
		bench_die("starting the dispatcher");
	for (unsigned int i = 0; i < servers; i++)
		if (nsr_dispatch_queue_new(d, "bench", stores[i], &run.queues[i]) < 0)
			bench_die("creating a queue");

	start = bench_now_ns();
	tp_drive(&run, n, c, servers, start, &res);
	res.secs = (double)(bench_now_ns() - start) / 1e9;

	nsr_dispatcher_get_stats(d, &stats);
	for (unsigned int i = 0; i < servers; i++)
		nsr_dispatch_queue_free(run.queues[i]);
	nsr_dispatcher_free(d);
	for (unsigned int i = 0; i < servers; i++)
		nsr_store_close(stores[i]);

	if (run.failed)
		bench_die("%" PRIu64 " requests failed", run.failed);
	res.done = run.done;
	res.batches = stats.batches;
	res.p50_us = bench_lat_percentile(&run.lat, 50);
	res.p99_us = bench_lat_percentile(&run.lat, 99);
	bench_lat_free(&run.lat);
	tp_record(&res);
	bench_rmtree(dir);
	free(dir);
}

static void tp_run_codec(uint64_t n, unsigned int c, unsigned int servers)
{
	tp_run_codec_as(servers > 1 ? "dispatcher, parallel servers" : "dispatcher (codec)", n, c,
			servers);
}

/* Full transport: nsrd-genl.c and its event loop against bench-kernel over socketpairs. */
static void tp_run_transport(uint64_t n, unsigned int c, unsigned int servers)
{
	struct tp_result res = { .what = "daemon transport (socketpair)", .n = n, .c = c,
				 .servers = servers };
	struct bench_kernel k;
	struct bench_daemon b;
	struct nsr_dispatch_stats stats;
	char *dir = tp_cell_dir();
	uint64_t start, deadline;
	int r;

	if (bench_kernel_init(&k, n) < 0 || bench_daemon_init(&b, dir, TP_WORKERS, TP_MAX_BATCH) < 0)
		bench_die("starting the in-process daemon");
	for (unsigned int i = 0; i < servers; i++) {
		struct bench_link *l;
		char scope[32], name[32];

		snprintf(scope, sizeof(scope), "bench%u", i);
		snprintf(name, sizeof(name), "ns%u", i);
		r = bench_kernel_add_link(&k, scope, i, (c + servers - 1) / servers,
					  n / servers + (i < n % servers), &l);
		if (r == 0)
			r = bench_daemon_attach(&b, name, l);
		if (r < 0)
			bench_die("attaching namespace %s: %s", name, strerror(-r));
	}
	if (bench_kernel_start(&k) < 0 || !bench_daemon_run_until_hellos(&b, &k, 10000))
		bench_die("the transport did not complete HELLO");

	start = bench_now_ns();
	deadline = start + (uint64_t)(opts.cap_s * 1e9);
	for (unsigned int i = 0; i < k.n_links; i++)
		k.links[i]->deadline_ns = deadline;
	bench_kernel_go(&k);
	for (;;) {
		uint64_t answered = bench_kernel_answered(&k);

		if (answered >= n)
			break;
		if (bench_now_ns() > deadline && answered >= bench_kernel_issued(&k)) {
			res.capped = true;
			break;
		}
		event_base_loop(b.d.base, EVLOOP_ONCE);
	}
	res.secs = (double)(bench_now_ns() - start) / 1e9;
	res.done = bench_kernel_answered(&k);
	nsr_dispatcher_get_stats(b.d.dispatcher, &stats);
	res.batches = stats.batches;

	bench_daemon_stop(&b);
	for (unsigned int i = 0; i < k.n_links; i++)
		if (k.links[i]->failed)
			bench_die("%" PRIu64 " requests failed", k.links[i]->failed);
	res.p50_us = bench_lat_percentile(&k.lat, 50);
	res.p99_us = bench_lat_percentile(&k.lat, 99);
	bench_kernel_stop(&k);
	tp_record(&res);
	bench_rmtree(dir);
	free(dir);
}

/*
 * The store alone: nsr_store_apply() on batches of max-batch requests built
 * beforehand, one thread, no codec and no dispatcher. Only the apply calls
 * are timed, so this row isolates the store's own cost per CREATE.
 */
static void tp_run_apply(uint64_t n)
{
	const struct nsr_store_options so = {
		.create = true, .event_max_age = 90 * 86400, .event_max_rows = 100000,
	};
	struct tp_result res = { .what = "nsr_store_apply alone", .n = n, .c = 0, .servers = 1 };
	struct nsr_request *reqs = calloc(TP_MAX_BATCH, sizeof(*reqs));
	struct nsr_request *ptrs[TP_MAX_BATCH];
	struct nsr_store *store = NULL;
	char *dir = tp_cell_dir(), path[4200];
	uint64_t spent = 0, start, i = 0;

	snprintf(path, sizeof(path), "%s/apply.sqlite", dir);
	if (!reqs || nsr_store_open(path, &so, &store) < 0)
		bench_die("opening %s", path);

	start = bench_now_ns();
	while (i < n && !(res.capped = bench_now_ns() - start > (uint64_t)(opts.cap_s * 1e9))) {
		size_t m = 0;
		uint64_t t0;

		for (; m < TP_MAX_BATCH && i + m < n; m++) {
			nsr_request_init(&reqs[m], NSR_OP_CREATE);
			bench_client_fill(&reqs[m].client, 0, i + m);
			ptrs[m] = &reqs[m];
		}
		t0 = bench_now_ns();
		if (nsr_store_apply(store, ptrs, m) < 0)
			bench_die("nsr_store_apply failed");
		spent += bench_now_ns() - t0;
		for (size_t j = 0; j < m; j++)
			nsr_request_release(&reqs[j]);
		i += m;
		res.batches++;
	}
	res.secs = (double)spent / 1e9;
	res.done = i;

	nsr_store_close(store);
	free(reqs);
	tp_record(&res);
	bench_rmtree(dir);
	free(dir);
}

static void tp_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		bench_die("%s: %s", sql, err);
}

static sqlite3_stmt *tp_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
		bench_die("%s: %s", sql, sqlite3_errmsg(db));
	return stmt;
}

static void tp_step(sqlite3 *db, sqlite3_stmt *stmt)
{
	if (sqlite3_step(stmt) != SQLITE_DONE)
		bench_die("insert: %s", sqlite3_errmsg(db));
	sqlite3_reset(stmt);
}

/* Bind client @seq's row of the store's clients table to @stmt. */
static void tp_bind_client(sqlite3_stmt *stmt, uint64_t seq, int64_t now, uint8_t *id,
			   char *addr)
{
	uint8_t hash[NSR_PRINCHASH_LEN];
	size_t len = bench_client_id(id, 0, seq);

	snprintf(addr, 32, "10.%u.%u.%u", (unsigned)(seq >> 16) & 255, (unsigned)(seq >> 8) & 255,
		 (unsigned)seq & 255);
	sqlite3_bind_blob(stmt, 1, id, (int)len, SQLITE_TRANSIENT);
	if (bench_client_princhash(seq, hash))
		sqlite3_bind_blob(stmt, 2, hash, sizeof(hash), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, 2);
	sqlite3_bind_int64(stmt, 3, now);
	sqlite3_bind_text(stmt, 4, addr, -1, SQLITE_TRANSIENT);
}

/*
 * The ceiling: the same rows, in the store's own schema, inserted by plain
 * SQLite in transactions of max-batch rows, WAL and synchronous=FULL. With
 * @events, each row also gets its audit event, as the store writes one.
 */
static void tp_run_raw(uint64_t n, bool events)
{
	struct tp_result res = { .what = events ? "raw SQLite + event rows" : "raw SQLite (ceiling)",
				 .n = n, .c = 0, .servers = 1 };
	const struct nsr_store_options so = { .create = true };
	struct nsr_store *store = NULL;
	sqlite3_stmt *ins, *ev;
	sqlite3 *db = NULL;
	char *dir = tp_cell_dir(), path[4200], addr[32];
	uint8_t id[96];
	uint64_t start, deadline, i = 0;
	int64_t now = time(NULL);

	snprintf(path, sizeof(path), "%s/raw.sqlite", dir);
	if (nsr_store_open(path, &so, &store) < 0)
		bench_die("creating %s", path);
	nsr_store_close(store);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		bench_die("opening %s", path);
	tp_exec(db, "PRAGMA journal_mode = WAL");
	tp_exec(db, "PRAGMA synchronous = FULL");
	ins = tp_prepare(db, "INSERT INTO clients (epoch, clientid, princhash, first_seen, last_seen, "
			 "address, minor_version, impl_id) VALUES (1, ?1, ?2, ?3, ?3, ?4, 1, "
			 "'kernel.org Linux 6.12')");
	ev = tp_prepare(db, "INSERT INTO events (time, type, clientid, epoch, detail) "
			"VALUES (?3, 'create', ?1, 1, ?4)");

	start = bench_now_ns();
	deadline = start + (uint64_t)(opts.cap_s * 1e9);
	while (i < n && !(res.capped = bench_now_ns() > deadline)) {
		tp_exec(db, "BEGIN IMMEDIATE");
		for (unsigned int j = 0; j < TP_MAX_BATCH && i < n; j++, i++) {
			tp_bind_client(ins, i, now, id, addr);
			tp_step(db, ins);
			if (events) {
				tp_bind_client(ev, i, now, id, addr);
				tp_step(db, ev);
			}
		}
		tp_exec(db, "COMMIT");
		res.batches++;
	}
	res.secs = (double)(bench_now_ns() - start) / 1e9;
	res.done = i;

	sqlite3_finalize(ins);
	sqlite3_finalize(ev);
	sqlite3_close(db);
	tp_record(&res);
	bench_rmtree(dir);
	free(dir);
}

/*
 * nfsdcld's pattern: one autocommit INSERT per upcall, served one at a
 * time, rollback journal, synchronous=FULL, into a table shaped like its
 * per-epoch record table.
 */
static void tp_run_nfsdcld(uint64_t n)
{
	struct tp_result res = { .what = "nfsdcld pattern", .n = n, .c = 1, .servers = 1 };
	struct bench_lat lat = { 0 };
	sqlite3_stmt *ins;
	sqlite3 *db = NULL;
	char *dir = tp_cell_dir(), path[4200];
	uint8_t id[96], hash[NSR_PRINCHASH_LEN];
	uint64_t start, deadline, i = 0;

	snprintf(path, sizeof(path), "%s/main.sqlite", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK || bench_lat_reserve(&lat, n) < 0)
		bench_die("opening %s", path);
	tp_exec(db, "PRAGMA journal_mode = DELETE");
	tp_exec(db, "PRAGMA synchronous = FULL");
	tp_exec(db, "CREATE TABLE \"rec-0000000000000001\" (id BLOB PRIMARY KEY, princhash BLOB)");
	ins = tp_prepare(db, "INSERT OR REPLACE INTO \"rec-0000000000000001\" VALUES (?1, ?2)");

	start = bench_now_ns();
	deadline = start + (uint64_t)(opts.cld_cap_s * 1e9);
	for (; i < n && !(res.capped = bench_now_ns() > deadline); i++) {
		uint64_t t0 = bench_now_ns();
		size_t len = bench_client_id(id, 0, i);

		sqlite3_bind_blob(ins, 1, id, (int)len, SQLITE_STATIC);
		if (bench_client_princhash(i, hash))
			sqlite3_bind_blob(ins, 2, hash, sizeof(hash), SQLITE_STATIC);
		else
			sqlite3_bind_null(ins, 2);
		tp_step(db, ins);
		bench_lat_add(&lat, bench_now_ns() - t0);
	}
	res.secs = (double)(bench_now_ns() - start) / 1e9;
	res.done = i;
	res.batches = i;
	res.p50_us = bench_lat_percentile(&lat, 50);
	res.p99_us = bench_lat_percentile(&lat, 99);

	sqlite3_finalize(ins);
	sqlite3_close(db);
	bench_lat_free(&lat);
	tp_record(&res);
	bench_rmtree(dir);
	free(dir);
}

static const struct tp_result *tp_find(const char *what, uint64_t n, unsigned int c,
				       unsigned int servers)
{
	for (unsigned int i = 0; i < n_results; i++)
		if (strcmp(results[i].what, what) == 0 && results[i].n == n &&
		    (c == 0 || results[i].c == c) && results[i].servers == servers)
			return &results[i];
	return NULL;
}

static void tp_print_table(void)
{
	printf("\n| Path | N | C | servers | creates/s | p50 (us) | p99 (us) | done | time (s) | txns |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (unsigned int i = 0; i < n_results; i++) {
		const struct tp_result *r = &results[i];

		char c[16] = "-", p50[32] = "-", p99[32] = "-";

		if (r->c)
			snprintf(c, sizeof(c), "%u", r->c);
		if (r->p50_us > 0) {
			snprintf(p50, sizeof(p50), "%.0f", r->p50_us);
			snprintf(p99, sizeof(p99), "%.0f", r->p99_us);
		}
		printf("| %s | %" PRIu64 " | %s | %u | %.0f | %s | %s | %" PRIu64 "%s | %.2f | %" PRIu64 " |\n",
		       r->what, r->n, c, r->servers, tp_rate(r), p50, p99, r->done,
		       r->capped ? " (capped)" : "", r->secs, r->batches);
	}
}

static void tp_ratio(const char *label, const struct tp_result *a, const struct tp_result *b,
		     double target)
{
	double ratio;

	if (!a || !b || tp_rate(b) <= 0)
		return;
	ratio = tp_rate(a) / tp_rate(b);
	if (target > 0)
		printf("| %s | %.3g | %s %.3g: %s |\n", label, ratio, target < 1 ? ">=" : ">=",
		       target, ratio >= target ? "met" : "MISSED");
	else
		printf("| %s | %.3g | - |\n", label, ratio);
}

static void tp_print_ratios(const uint64_t *sizes, size_t n_sizes)
{
	const struct tp_result *cld = tp_find("nfsdcld pattern", sizes[0], 1, 1);

	printf("\n| Ratio (same run) | value | target |\n| --- | ---: | --- |\n");
	for (size_t i = 0; i < n_sizes; i++) {
		uint64_t n = sizes[i];
		const struct tp_result *d256 = tp_find("dispatcher (codec)", n, 256, 1);
		const struct tp_result *raw = tp_find("raw SQLite (ceiling)", n, 0, 1);
		const struct tp_result *rawev = tp_find("raw SQLite + event rows", n, 0, 1);
		char label[160];

		snprintf(label, sizeof(label), "N=%" PRIu64 " dispatcher C=256 / raw ceiling", n);
		tp_ratio(label, d256, raw, 0.8);
		snprintf(label, sizeof(label), "N=%" PRIu64 " dispatcher C=256 / raw + event rows", n);
		tp_ratio(label, d256, rawev, 0);
		snprintf(label, sizeof(label), "N=%" PRIu64 " nsr_store_apply alone / raw + event rows", n);
		tp_ratio(label, tp_find("nsr_store_apply alone", n, 0, 1), rawev, 0);
		snprintf(label, sizeof(label), "N=%" PRIu64 " dispatcher C=256 / nsr_store_apply alone", n);
		tp_ratio(label, d256, tp_find("nsr_store_apply alone", n, 0, 1), 0);
		snprintf(label, sizeof(label), "N=%" PRIu64 " dispatcher C=256 / nfsdcld pattern", n);
		tp_ratio(label, d256, cld, 20);
		for (unsigned int s = 2; s <= 4; s *= 2) {
			const struct tp_result *par = tp_find("dispatcher, parallel servers", n, 256, s);

			snprintf(label, sizeof(label),
				 "N=%" PRIu64 " %u servers C=256 / raw ceiling (one database)", n, s);
			tp_ratio(label, par, raw, 0.8);
			snprintf(label, sizeof(label), "N=%" PRIu64 " %u servers C=256 / nfsdcld pattern",
				 n, s);
			tp_ratio(label, par, cld, 20);
		}
		for (unsigned int c = 16; c <= 256; c *= 16) {
			const struct tp_result *t = tp_find("daemon transport (socketpair)", n, c, 1);
			const struct tp_result *before = tp_find("codec, paired before", n, c, 1);
			const struct tp_result *after = tp_find("codec, paired after", n, c, 1);
			struct tp_result mean;

			if (!t || !before || !after)
				continue;
			mean = *before;
			mean.done = before->done + after->done;
			mean.secs = before->secs + after->secs;
			snprintf(label, sizeof(label),
				 "N=%" PRIu64 " C=%u daemon transport / codec path (mean of the runs "
				 "just before and after)", n, c);
			tp_ratio(label, t, &mean, 0);
		}
	}
}

static void tp_usage(void)
{
	printf("Usage: bench-throughput [--quick | --full] [--dir DIR] [--cap SECONDS]\n"
	       "  --quick      N = 10k and 100k (default)\n"
	       "  --full       N = 10k, 100k and 1M\n"
	       "  --dir DIR    create the scratch databases under DIR (default $TMPDIR or /var/tmp)\n"
	       "  --cap S      stop issuing requests of one measurement after S seconds\n"
	       "               (default 10 quick, 30 full); such rows say \"capped\"\n");
}

static void tp_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "full", no_argument, NULL, 'f' },
		{ "dir", required_argument, NULL, 'd' }, { "cap", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	double cap = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q': opts.full = false; break;
		case 'f': opts.full = true; break;
		case 'd': opts.parent = optarg; break;
		case 'c':
			cap = strtod(optarg, NULL);
			if (cap <= 0)
				bench_die("invalid --cap '%s': give a number of seconds above 0", optarg);
			break;
		case 'h': tp_usage(); exit(0);
		default: tp_usage(); exit(2);
		}
	}
	opts.cap_s = opts.full ? 30 : 10;
	if (cap > 0)
		opts.cap_s = cap;
	opts.cld_cap_s = opts.full ? 20 : 5;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes_full[] = { 10000, 100000, 1000000 };
	static const unsigned int callers[] = { 1, 16, 256 };
	const uint64_t *sizes = sizes_full;
	size_t n_sizes;

	tp_parse(argc, argv);
	n_sizes = opts.full ? 3 : 2;
	nsr_log_open("bench", NSR_LOG_STDERR_PLAIN, LOG_WARNING);

	scratch = bench_mkdtemp(opts.parent, "throughput");
	if (!scratch)
		bench_die("creating a scratch directory: %m");
	printf("# bench-throughput (%s)\n", opts.full ? "full" : "quick");
	bench_print_machine(scratch);
	printf("workers: %d, max-batch: %d, time cap per measurement: %.0f s (nfsdcld %.0f s)\n\n",
	       TP_WORKERS, TP_MAX_BATCH, opts.cap_s, opts.cld_cap_s);

	tp_run_nfsdcld(sizes[0]);
	for (size_t i = 0; i < n_sizes; i++) {
		tp_run_raw(sizes[i], false);
		tp_run_raw(sizes[i], true);
		tp_run_apply(sizes[i]);
		for (size_t j = 0; j < 3; j++)
			tp_run_codec(sizes[i], callers[j], 1);
		tp_run_codec(sizes[i], 256, 2);
		tp_run_codec(sizes[i], 256, 4);
		/* Transport and codec path back to back, to compare them under the same disk. */
		for (unsigned int c = 16; sizes[i] == 100000 && c <= 256; c *= 16) {
			tp_run_codec_as("codec, paired before", sizes[i], c, 1);
			tp_run_transport(sizes[i], c, 1);
			tp_run_codec_as("codec, paired after", sizes[i], c, 1);
		}
	}

	tp_print_table();
	tp_print_ratios(sizes, n_sizes);
	bench_rmtree(scratch);
	free(scratch);
	return 0;
}
