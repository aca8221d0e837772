/* bench-util.c: clocks, latency samples, scratch directories and machine facts for the benchmarks. */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench-util.h"
#include "nsr-store.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

int bench_lat_reserve(struct bench_lat *l, size_t n)
{
	uint64_t *p = realloc(l->ns, (n ? n : 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	l->ns = p;
	l->cap = n;
	if (l->n > n)
		l->n = n;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double bench_lat_percentile(struct bench_lat *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u64);
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return (double)l->ns[i] / 1000.0;
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->ns);
	*l = (struct bench_lat){ 0 };
}

char *bench_mkdtemp(const char *parent, const char *tag)
{
	char *path;

	if (!parent)
		parent = getenv("TMPDIR");
	if (!parent)
		parent = "/var/tmp";
	if (asprintf(&path, "%s/nsr-bench-%s-XXXXXX", parent, tag) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void bench_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* The mount entry whose mount point is the longest prefix of @dir. */
static void mount_of(const char *dir, char *dev, size_t dev_len, char *fstype, size_t fs_len)
{
	char real[4096], d[512], mnt[4096], type[64];
	size_t best = 0;
	FILE *f;

	snprintf(dev, dev_len, "?");
	snprintf(fstype, fs_len, "?");
	if (!realpath(dir, real) || !(f = fopen("/proc/mounts", "re")))
		return;
	while (fscanf(f, "%511s %4095s %63s %*[^\n]", d, mnt, type) == 3) {
		size_t len = strlen(mnt);

		if (strncmp(real, mnt, len) != 0 || (real[len] != '/' && real[len] != '\0' &&
						     strcmp(mnt, "/") != 0))
			continue;
		if (len >= best) {
			best = len;
			snprintf(dev, dev_len, "%s", d);
			snprintf(fstype, fs_len, "%s", type);
		}
	}
	fclose(f);
}

static long meminfo_kib(const char *file, const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(file, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			v = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

void bench_print_machine(const char *dir)
{
	char dev[512], fstype[64], rot[64] = "?", path[600];
	struct utsname u;
	time_t now = time(NULL);
	char date[64];
	FILE *f;

	uname(&u);
	mount_of(dir, dev, sizeof(dev), fstype, sizeof(fstype));
	if (strncmp(dev, "/dev/", 5) == 0) {
		snprintf(path, sizeof(path), "/sys/block/%s/queue/rotational", dev + 5);
		if ((f = fopen(path, "re"))) {
			if (fgets(rot, sizeof(rot), f))
				rot[strcspn(rot, "\n")] = '\0';
			fclose(f);
		}
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));

	printf("date: %s\n", date);
	printf("nproc: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("memory: %ld MiB\n", meminfo_kib("/proc/meminfo", "MemTotal:") / 1024);
	printf("kernel: %s %s\n", u.release, u.machine);
	printf("database dir: %s on %s (%s, rotational=%s)\n", dir, dev, fstype, rot);
	printf("sqlite: %s\n", sqlite3_libversion());
}

long bench_rss_kib(void)
{
	return meminfo_kib("/proc/self/status", "VmRSS:");
}

size_t bench_client_id(uint8_t *buf, uint32_t tag, uint64_t seq)
{
	return (size_t)snprintf((char *)buf, 96, "Linux NFSv4.1 c%u-%010" PRIu64 ".example.net", tag,
				seq);
}

bool bench_client_princhash(uint64_t seq, uint8_t hash[NSR_PRINCHASH_LEN])
{
	if (seq % 4 != 0)
		return false;
	for (int i = 0; i < NSR_PRINCHASH_LEN; i++)
		hash[i] = (uint8_t)(seq >> (i % 8) * 8) ^ (uint8_t)(i * 37);
	return true;
}

void bench_client_fill(struct nsr_client *c, uint32_t tag, uint64_t seq)
{
	uint8_t id[96], hash[NSR_PRINCHASH_LEN];
	char addr[32];
	size_t len = bench_client_id(id, tag, seq);

	nsr_client_init(c);
	nsr_client_set_id(c, id, len);
	if (bench_client_princhash(seq, hash))
		nsr_client_set_princhash(c, hash, sizeof(hash));
	snprintf(addr, sizeof(addr), "10.%u.%u.%u", (unsigned)(seq >> 16) & 255,
		 (unsigned)(seq >> 8) & 255, (unsigned)seq & 255);
	nsr_client_set_audit(c, addr, 1, NULL, "kernel.org Linux 6.12");
}

static int fill_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench: %s: %s\n", sql, err);
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

static int fill_rows(sqlite3 *db, uint64_t n, int64_t epoch, uint64_t events)
{
	sqlite3_stmt *cl = NULL, *ev = NULL;
	uint8_t id[96], hash[NSR_PRINCHASH_LEN];
	char addr[32];
	int64_t now = time(NULL);
	int rc = sqlite3_prepare_v2(db,
				    "INSERT INTO clients (epoch, clientid, princhash, first_seen, "
				    "last_seen, address, minor_version, impl_id) "
				    "VALUES (?1, ?2, ?3, ?4, ?4, ?5, 1, 'kernel.org Linux 6.12')",
				    -1, &cl, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db,
					"INSERT INTO events (time, type, clientid, epoch, detail) "
					"VALUES (?1, 'create', ?2, ?3, ?4)", -1, &ev, NULL);
	for (uint64_t i = 0; rc == SQLITE_OK && i < n; i++) {
		size_t len = bench_client_id(id, 0, i);

		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
			 (unsigned)(i >> 8) & 255, (unsigned)i & 255);
		sqlite3_reset(cl);
		sqlite3_bind_int64(cl, 1, epoch);
		sqlite3_bind_blob(cl, 2, id, (int)len, SQLITE_STATIC);
		if (bench_client_princhash(i, hash))
			sqlite3_bind_blob(cl, 3, hash, sizeof(hash), SQLITE_STATIC);
		else
			sqlite3_bind_null(cl, 3);
		sqlite3_bind_int64(cl, 4, now);
		sqlite3_bind_text(cl, 5, addr, -1, SQLITE_STATIC);
		rc = sqlite3_step(cl) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;

		if (rc == SQLITE_OK && i >= n - (events < n ? events : n)) {
			sqlite3_reset(ev);
			sqlite3_bind_int64(ev, 1, now);
			sqlite3_bind_blob(ev, 2, id, (int)len, SQLITE_STATIC);
			sqlite3_bind_int64(ev, 3, epoch);
			sqlite3_bind_text(ev, 4, addr, -1, SQLITE_STATIC);
			rc = sqlite3_step(ev) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		}
	}
	if (rc != SQLITE_OK)
		fprintf(stderr, "bench: filling: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(cl);
	sqlite3_finalize(ev);
	return rc == SQLITE_OK ? 0 : -EIO;
}

int bench_fill_store(const char *path, uint64_t n, int64_t epoch, uint64_t events)
{
	const struct nsr_store_options opts = { .create = true };
	struct nsr_store *store = NULL;
	sqlite3 *db = NULL;
	char sql[128];
	int r;

	r = nsr_store_open(path, &opts, &store);
	if (r < 0)
		return r;
	nsr_store_close(store);

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		sqlite3_close(db);
		return -EIO;
	}
	snprintf(sql, sizeof(sql), "UPDATE grace SET current_epoch = %lld, recovery_epoch = 0",
		 (long long)epoch);
	r = fill_exec(db, "PRAGMA synchronous = OFF");
	if (r == 0)
		r = fill_exec(db, "BEGIN");
	if (r == 0)
		r = fill_exec(db, sql);
	if (r == 0)
		r = fill_rows(db, n, epoch, events);
	if (r == 0)
		r = fill_exec(db, "COMMIT");
	if (r == 0)
		r = fill_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
	return r;
}
