/* bench-memory-clients.c: RSS of the daemon's modules serving K namespaces with 1000 clients each. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench-daemon.h"
#include "bench-util.h"
#include "nsr-log.h"

/*
 * Runs in one process per K, because freed memory stays in malloc's arenas
 * and would blur a second measurement. The fake nfsd side lives in the
 * same process, but it keeps only a small window per namespace and
 * generates requests from their number.
 */

#define MC_WINDOW 64

static void mc_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void mc_phase(struct bench_daemon *b, struct bench_kernel *k, uint64_t per_ns,
		     const char *label, long base, unsigned int namespaces)
{
	long rss;

	bench_kernel_set_total(k, per_ns);
	if (!bench_daemon_run_until_answered(b, k, per_ns * namespaces, 600000))
		bench_die("%s: only %" PRIu64 " of %" PRIu64 " answered", label,
			  bench_kernel_answered(k), per_ns * namespaces);
	for (int i = 0; i < 50; i++)
		event_base_loop(b->d.base, EVLOOP_NONBLOCK);
	rss = bench_rss_kib();
	printf("| %u | %s | %ld | %ld | %.1f |\n", namespaces, label, rss, rss - base,
	       (double)(rss - base) / namespaces);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct bench_kernel k;
	struct bench_daemon b;
	unsigned int namespaces;
	uint64_t clients;
	char *scratch;
	long base, rss;

	if (argc < 3 || (namespaces = (unsigned int)strtoul(argv[1], NULL, 10)) == 0 ||
	    (clients = strtoull(argv[2], NULL, 10)) == 0)
		bench_die("usage: bench-memory-clients NAMESPACES CLIENTS [DIR] [--header]");

	nsr_log_open("bench", NSR_LOG_STDERR_PLAIN, LOG_WARNING);
	mc_raise_fd_limit();
	scratch = bench_mkdtemp(argc > 3 && strcmp(argv[3], "-") ? argv[3] : NULL, "memory");
	if (!scratch)
		bench_die("creating a scratch directory: %m");
	if (argc > 4 && strcmp(argv[4], "--header") == 0)
		printf("| namespaces | state | RSS (KiB) | above base (KiB) | per namespace (KiB) |\n"
		       "| ---: | --- | ---: | ---: | ---: |\n");

	if (bench_kernel_init(&k, 0) < 0 || bench_daemon_init(&b, scratch, 2, 256) < 0)
		bench_die("starting the in-process daemon");
	for (int i = 0; i < 50; i++)
		event_base_loop(b.d.base, EVLOOP_NONBLOCK);
	base = bench_rss_kib();
	printf("| %u | base: dispatcher and loop, nothing attached | %ld | 0 | - |\n", namespaces,
	       base);

	for (unsigned int i = 0; i < namespaces; i++) {
		struct bench_link *l;
		char scope[32], name[32];

		snprintf(scope, sizeof(scope), "server%u", i);
		snprintf(name, sizeof(name), "ns%u", i);
		if (bench_kernel_add_link(&k, scope, i, MC_WINDOW, 0, &l) < 0 ||
		    bench_daemon_attach(&b, name, l) < 0)
			bench_die("attaching namespace %u: %m", i);
	}
	if (bench_kernel_start(&k) < 0 || !bench_daemon_run_until_hellos(&b, &k, 60000))
		bench_die("HELLO did not complete on every namespace");
	rss = bench_rss_kib();
	printf("| %u | attached, idle (no server opened) | %ld | %ld | %.1f |\n", namespaces, rss,
	       rss - base, (double)(rss - base) / namespaces);

	bench_kernel_go(&k);
	mc_phase(&b, &k, 1, "1 client each (database open)", base, namespaces);
	{
		char label[64];

		snprintf(label, sizeof(label), "%" PRIu64 " clients each", clients);
		mc_phase(&b, &k, clients, label, base, namespaces);
	}

	bench_daemon_stop(&b);
	bench_kernel_stop(&k);
	bench_rmtree(scratch);
	free(scratch);
	return 0;
}
