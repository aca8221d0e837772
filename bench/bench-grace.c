/* bench-grace.c: streaming a recovery epoch of many records to nfsd at GRACE_START. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-daemon.h"
#include "bench-util.h"
#include "nsr-genl.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-store.h"

#define GR_FAMILY 0x4245
#define GR_SCOPE "grace-bench"
#define GR_TARGET_S 2.0

struct gr_count {
	uint64_t records;
	uint64_t msgs;
	struct nl_msg *msg;
};

static int gr_visit_only(const struct nsr_record *rec, void *userdata)
{
	struct gr_count *c = userdata;

	c->records++;
	return 0;
}

/* The daemon's encoder loop without the socket: fill GRACE_RECORDS messages, count them. */
static int gr_visit_encode(const struct nsr_record *rec, void *userdata)
{
	struct gr_count *c = userdata;
	int r;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c->msg) {
			r = nsr_genl_build_grace_records(GR_FAMILY, 1, 0, &c->msg);
			if (r < 0)
				return r;
		}
		r = nsr_genl_grace_records_append(c->msg, rec->id, rec->id_len, rec->princhash,
						  rec->princhash_len);
		if (r != -EMSGSIZE)
			break;
		nlmsg_free(c->msg);
		c->msg = NULL;
		c->msgs++;
	}
	if (r == 0)
		c->records++;
	return r;
}

static double gr_time_store(const char *db, nsr_store_record_fn fn, struct gr_count *c)
{
	struct nsr_store *store = NULL;
	uint64_t t0;
	int r;

	if (nsr_store_open(db, NULL, &store) < 0)
		bench_die("opening %s", db);
	t0 = bench_now_ns();
	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, fn, c);
	if (c->msg) {
		nlmsg_free(c->msg);
		c->msg = NULL;
		c->msgs++;
	}
	t0 = bench_now_ns() - t0;
	nsr_store_close(store);
	if (r < 0)
		bench_die("reading records: %s", strerror(-r));
	return (double)t0 / 1e9;
}

/*
 * The whole path: the kernel queues GRACE_START, the daemon's transport
 * fetches it, the dispatcher commits the epoch transition and streams the
 * recovery epoch in GRACE_RECORDS messages, each acknowledged, then REPLY.
 */
static double gr_time_transport(const char *state_dir, struct bench_link **ret_link,
				struct bench_kernel *k, double *bind_s)
{
	struct bench_daemon b;
	struct bench_link *l;
	uint64_t t0;

	if (bench_kernel_init(k, 16) < 0 || bench_daemon_init(&b, state_dir, 2, 256) < 0)
		bench_die("starting the in-process daemon");
	if (bench_kernel_add_link(k, GR_SCOPE, 0, 1, 1, &l) < 0 ||
	    bench_daemon_attach(&b, "grace", l) < 0)
		bench_die("attaching the namespace");
	/* A GRACE_DONE outside grace changes nothing but opens the server's database. */
	l->script[0] = NFSD_CLTRACK_REQ_GRACE_DONE;
	l->script[1] = NFSD_CLTRACK_REQ_GRACE_START;
	l->script_len = 2;
	if (bench_kernel_start(k) < 0 || !bench_daemon_run_until_hellos(&b, k, 10000))
		bench_die("the transport did not complete HELLO");

	t0 = bench_now_ns();
	bench_kernel_go(k);
	if (!bench_daemon_run_until_answered(&b, k, 1, 600000))
		bench_die("GRACE_DONE was not answered within 600 s");
	*bind_s = (double)(bench_now_ns() - t0) / 1e9;

	t0 = bench_now_ns();
	bench_kernel_set_total(k, 2);
	if (!bench_daemon_run_until_answered(&b, k, 2, 600000))
		bench_die("GRACE_START was not answered within 600 s");
	t0 = bench_now_ns() - t0;

	bench_daemon_stop(&b);
	if (l->failed)
		bench_die("GRACE_START failed");
	*ret_link = l;
	return (double)t0 / 1e9;
}

static char *gr_db_path(const char *state_dir)
{
	char *dir = NULL, *db = NULL;

	if (nsr_serverdir_default(state_dir, GR_SCOPE, &dir) < 0 || nsr_serverdir_create(dir) < 0 ||
	    nsr_serverdir_db_path(dir, &db) < 0)
		bench_die("creating the server directory under %s", state_dir);
	free(dir);
	return db;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' }, { "full", no_argument, NULL, 'f' },
		{ "records", required_argument, NULL, 'n' }, { "dir", required_argument, NULL, 'd' },
		{ 0 },
	};
	struct gr_count only = { 0 }, enc = { 0 };
	struct bench_kernel k;
	struct bench_link *l;
	const char *parent = NULL;
	uint64_t n = 100000;
	double t_fill, t_only, t_enc, t_all, t_bind;
	char *scratch, *db;
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
			bench_die("usage: bench-grace [--quick | --full | --records N] [--dir DIR]");
	}
	if (n == 0)
		bench_die("--records must be at least 1");

	nsr_log_open("bench", NSR_LOG_STDERR_PLAIN, LOG_WARNING);
	scratch = bench_mkdtemp(parent, "grace");
	if (!scratch)
		bench_die("creating a scratch directory: %m");
	printf("# bench-grace: %" PRIu64 " records\n", n);
	bench_print_machine(scratch);

	db = gr_db_path(scratch);
	t_fill = (double)bench_now_ns();
	if (bench_fill_store(db, n, 1, 100000) < 0)
		bench_die("filling %s", db);
	t_fill = ((double)bench_now_ns() - t_fill) / 1e9;
	printf("filled %" PRIu64 " records (+ up to 100000 events) in %.1f s\n\n", n, t_fill);

	t_only = gr_time_store(db, gr_visit_only, &only);
	t_enc = gr_time_store(db, gr_visit_encode, &enc);
	t_all = gr_time_transport(scratch, &l, &k, &t_bind);

	printf("| Stage | records | messages | time (s) | records/s |\n| --- | ---: | ---: | ---: | ---: |\n");
	printf("| store read (nsr_store_foreach_client) | %" PRIu64 " | - | %.3f | %.0f |\n",
	       only.records, t_only, only.records / t_only);
	printf("| read + GRACE_RECORDS encoding | %" PRIu64 " | %" PRIu64 " | %.3f | %.0f |\n",
	       enc.records, enc.msgs, t_enc, enc.records / t_enc);
	printf("| GRACE_START end to end (transport, dispatcher, acks) | %" PRIu64 " | %" PRIu64 " | %.3f | %.0f |\n",
	       l->records, l->records_msgs, t_all, l->records / t_all);
	printf("| first upcall of the namespace: opening the database after a clean shutdown | - | - | %.3f | - |\n",
	       t_bind);
	printf("\nrecords per message: %.0f; target: %" PRIu64 " records in under %.0f s: %s\n",
	       l->records_msgs ? (double)l->records / l->records_msgs : 0, n, GR_TARGET_S,
	       l->records != n ? "FAILED (record count differs)" :
	       t_all < GR_TARGET_S ? "met" : "MISSED");

	bench_kernel_stop(&k);
	bench_rmtree(scratch);
	free(scratch);
	free(db);
	return 0;
}
