/* test-crash-hostile.c: the daemon side against forged, faulty and excessive input. */
#include <errno.h>
#include <fcntl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crash-daemon.h"
#include "crash-util.h"
#include "fake-kernel.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-store-internal.h"
#include "nsr-store.h"
#include "nsr-test.h"
#include "nsrd-genl.h"
#include "nsrd-server.h"

#define ANSWER_TIMEOUT_MS 20000

struct harness {
	char *state_dir;
	struct fake_kernel kernel;
	struct crash_daemon cd;
};

static void harness_start_with(struct harness *h, const char *state_dir,
			       const struct crash_daemon_options *in)
{
	struct crash_daemon_options opts = *in;

	memset(h, 0, sizeof(*h));
	h->state_dir = strdup(state_dir);
	ck_assert_ptr_nonnull(h->state_dir);
	opts.state_dir = h->state_dir;

	ck_assert_int_eq(fake_kernel_start(&h->kernel), 0);
	ck_assert_int_eq(crash_daemon_start(&h->cd, &opts, h->kernel.daemon_event_fd,
					    h->kernel.daemon_answer_fd, FAKE_KERNEL_FAMILY, false),
			 0);
}

static void harness_start(struct harness *h)
{
	const struct crash_daemon_options opts = { 0 };
	_cleanup_free_ char *dir = nsr_test_mkdtemp();

	ck_assert_ptr_nonnull(dir);
	harness_start_with(h, dir, &opts);
}

static void harness_stop(struct harness *h, bool remove_dir)
{
	crash_daemon_stop(&h->cd);
	fake_kernel_stop(&h->kernel);
	if (remove_dir)
		nsr_test_rmtree(h->state_dir);
	free(h->state_dir);
}

static void upcall_client(struct nsr_genl_upcall *up, uint32_t type, const char *scope,
			  unsigned int client)
{
	uint8_t hash[NSR_PRINCHASH_LEN];
	char id[64], address[32];

	nsr_genl_upcall_init(up);
	up->type = type;
	snprintf(up->scope, sizeof(up->scope), "%s", scope);
	up->boot_time = 1700000000;
	crash_client_id(client, id, sizeof(id));
	crash_client_address(client, address, sizeof(address));
	crash_client_princhash(client, hash);
	ck_assert_int_eq(nsr_client_set_id(&up->client, id, strlen(id)), 0);
	ck_assert_int_eq(nsr_client_set_princhash(&up->client, hash, sizeof(hash)), 0);
	ck_assert_int_eq(nsr_client_set_audit(&up->client, address, 2, NULL, CRASH_CLIENT_IMPL_ID),
			 0);
}

static uint64_t queue_create(struct harness *h, const char *scope, unsigned int client,
			     bool notify)
{
	struct nsr_genl_upcall up;
	uint64_t req;

	upcall_client(&up, NFSD_CLTRACK_REQ_CREATE, scope, client);
	req = fake_kernel_queue(&h->kernel, &up, notify);
	nsr_genl_upcall_release(&up);
	return req;
}

static int32_t answer_of(struct harness *h, uint64_t req)
{
	int32_t status = 1;

	ck_assert_msg(fake_kernel_wait_answer(&h->kernel, req, &status, crash_daemon_pump, &h->cd,
					      ANSWER_TIMEOUT_MS) == 0,
		      "request %llu was not answered within %d ms", (unsigned long long)req,
		      ANSWER_TIMEOUT_MS);
	return status;
}

static uint64_t stored_clients(struct harness *h)
{
	uint64_t n = 0;

	ck_assert_ptr_nonnull(h->cd.ns->server);
	ck_assert_int_eq(nsr_store_count_clients(h->cd.ns->server->store, NSR_EPOCH_CURRENT, &n),
			 0);
	return n;
}

/* ---- messages that do not come from the kernel --------------------------- */

static int netlink_socket(bool nonblock)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0),
		    NETLINK_GENERIC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&local, sizeof(local)), 0);
	return fd;
}

static uint32_t netlink_port(int fd)
{
	struct sockaddr_nl addr;
	socklen_t len = sizeof(addr);

	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	return addr.nl_pid;
}

static void forge_send(int from, uint32_t to_port, struct nl_msg *msg)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = to_port };
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	ck_assert_int_eq(sendto(from, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)nlh->nlmsg_len);
	nlmsg_free(msg);
}

/*
 * Real netlink links, and a second user-space netlink socket that sends
 * the daemon forged kernel messages: a HELLO reply, a notification and an
 * upcall. The transport must drop all of them, because their source port
 * is not 0, and act on none.
 */
START_TEST(test_forged_netlink_messages_are_dropped)
{
	const struct nsr_genl_hello hello = { .version = 1, .caps = 0, .timeout_ms = 1000 };
	_cleanup_free_ char *dir = nsr_test_mkdtemp();
	const struct crash_daemon_options opts = { .state_dir = dir };
	_cleanup_free_ char *server_dir = NULL;
	struct nsrd_genl_stats stats;
	struct nsr_genl_upcall up;
	struct crash_daemon cd;
	struct nl_msg *msg = NULL;
	struct stat st;
	int event_fd, answer_fd, forger;
	uint32_t port;

	ck_assert_ptr_nonnull(dir);
	event_fd = netlink_socket(true);
	answer_fd = netlink_socket(false);
	forger = netlink_socket(false);
	port = netlink_port(event_fd);

	ck_assert_int_eq(crash_daemon_start(&cd, &opts, event_fd, answer_fd, FAKE_KERNEL_FAMILY,
					    true),
			 0);

	ck_assert_int_eq(nsr_genl_build_hello_reply(FAKE_KERNEL_FAMILY, port, 1, &hello, &msg), 0);
	forge_send(forger, port, msg);
	ck_assert_int_eq(nsr_genl_build_pending_ntf(FAKE_KERNEL_FAMILY, 1, &msg), 0);
	forge_send(forger, port, msg);
	upcall_client(&up, NFSD_CLTRACK_REQ_CREATE, "forged", 1);
	up.req_id = 1;
	ck_assert_int_eq(nsr_genl_build_upcall(FAKE_KERNEL_FAMILY, 0, 0, &up, &msg), 0);
	nsr_genl_upcall_release(&up);
	forge_send(forger, port, msg);

	for (int i = 0; i < 300; i++) {
		crash_daemon_pump(&cd);
		nsrd_genl_get_stats(cd.ns->genl, &stats);
		if (stats.foreign >= 3)
			break;
	}

	ck_assert_uint_eq(stats.foreign, 3);
	ck_assert(!stats.hello_done);
	ck_assert_uint_eq(stats.upcalls, 0);
	ck_assert_uint_eq(stats.rejected, 0);
	ck_assert_ptr_null(cd.ns->server);
	ck_assert_int_eq(nsr_serverdir_default(dir, "forged", &server_dir), 0);
	ck_assert_int_eq(stat(server_dir, &st), -1);

	crash_daemon_stop(&cd);
	close(forger);
	nsr_test_rmtree(dir);
}
END_TEST

/*
 * A dump message whose generic netlink header carries another family
 * version is rejected and nothing of it is stored, and the transport keeps
 * serving the requests around it.
 */
START_TEST(test_wrong_family_version_is_rejected)
{
	struct nsrd_genl_stats stats;
	struct nsr_genl_upcall up;
	struct nl_msg *msg = NULL;
	struct genlmsghdr *gh;
	struct harness h;
	uint64_t before, bad, after;
	int32_t status = 1;

	harness_start(&h);
	before = queue_create(&h, "versions", 1, true);
	ck_assert_int_eq(answer_of(&h, before), 0);

	upcall_client(&up, NFSD_CLTRACK_REQ_CREATE, "versions", 2);
	up.req_id = h.kernel.next_id;
	ck_assert_int_eq(nsr_genl_build_upcall(FAKE_KERNEL_FAMILY, 0, 0, &up, &msg), 0);
	nsr_genl_upcall_release(&up);
	gh = nlmsg_data(nlmsg_hdr(msg));
	gh->version = NFSD_CLTRACK_FAMILY_VERSION + 1;
	bad = fake_kernel_queue_raw(&h.kernel, up.req_id, nlmsg_hdr(msg),
				    nlmsg_hdr(msg)->nlmsg_len);
	nlmsg_free(msg);

	after = queue_create(&h, "versions", 3, true);
	ck_assert_int_eq(answer_of(&h, after), 0);

	nsrd_genl_get_stats(h.cd.ns->genl, &stats);
	ck_assert_uint_ge(stats.rejected, 1);
	ck_assert_uint_eq(stored_clients(&h), 2);

	/* The daemon answers the request it cannot parse, so nfsd does not wait for its timeout. */
	ck_assert_int_eq(fake_kernel_wait_answer(&h.kernel, bad, &status, crash_daemon_pump, &h.cd,
						 10000),
			 0);
	ck_assert_int_eq(status, -EPROTONOSUPPORT);

	harness_stop(&h, true);
}
END_TEST

/* ---- a flood of upcalls ---------------------------------------------------- */

/*
 * RSS growth allowed during the flood. AddressSanitizer keeps freed memory
 * in quarantine (256 MiB by default), so its builds get a wider bound.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FLOOD_RSS_LIMIT_KIB (1024 * 1024)
#else
#define FLOOD_RSS_LIMIT_KIB (64 * 1024)
#endif

static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * Far more pending requests than the dispatcher queues. The transport must
 * leave the excess pending in the kernel and fetch it again, so that every
 * request is answered while the requests inside the daemon stay bounded by
 * the queue plus what the workers hold.
 */
START_TEST(test_upcall_flood_stays_bounded)
{
	enum { FLOOD = 3000, MAX_QUEUE = 16, MAX_BATCH = 8, WORKERS = 2 };
	const struct crash_daemon_options opts = {
		.workers = WORKERS, .max_batch = MAX_BATCH, .max_queue = MAX_QUEUE,
	};
	_cleanup_free_ char *dir = nsr_test_mkdtemp();
	struct nsrd_genl_stats stats;
	struct harness h;
	uint64_t last = 0, peak_inside = 0, deadline;
	long rss_start, rss_peak = 0;
	unsigned int answered = 0;

	harness_start_with(&h, dir, &opts);
	ck_assert_int_eq(answer_of(&h, queue_create(&h, "flood", FLOOD, true)), 0);
	rss_start = rss_kib();

	for (unsigned int i = 0; i < FLOOD; i++)
		last = queue_create(&h, "flood", i, i == FLOOD - 1);

	deadline = crash_now_ms() + 120000;
	while (answered < FLOOD + 1 && crash_now_ms() < deadline) {
		uint64_t inside;
		long rss;

		crash_daemon_pump(&h.cd);
		nsrd_genl_get_stats(h.cd.ns->genl, &stats);
		inside = stats.upcalls - stats.answers - stats.answer_errors;
		if (inside > peak_inside)
			peak_inside = inside;
		rss = rss_kib();
		if (rss > rss_peak)
			rss_peak = rss;

		/*
		 * The fake kernel holds its lock while it sends a dump, and can
		 * block there until this thread pumps the event loop again.
		 */
		if (pthread_mutex_trylock(&h.kernel.lock) != 0)
			continue;
		answered = 0;
		for (unsigned int i = 0; i < h.kernel.n_pending; i++) {
			if (!h.kernel.pending[i].answered)
				continue;
			ck_assert_int_eq(h.kernel.pending[i].status, 0);
			answered++;
		}
		pthread_mutex_unlock(&h.kernel.lock);
	}

	fprintf(stderr, "flood: %u of %u answered, %u dumps, peak %llu requests inside the daemon, "
		"RSS %ld -> %ld KiB\n", answered, FLOOD + 1, h.kernel.dumps,
		(unsigned long long)peak_inside, rss_start, rss_peak);
	ck_assert_uint_eq(answered, FLOOD + 1);
	ck_assert_uint_eq(stored_clients(&h), FLOOD + 1);
	ck_assert_uint_le(peak_inside, MAX_QUEUE + WORKERS * MAX_BATCH);
	ck_assert_uint_gt(h.kernel.dumps, FLOOD / (MAX_QUEUE + WORKERS * MAX_BATCH));
	ck_assert_uint_eq(h.kernel.unknown_replies, 0);
	/* NOTE: a loose bound; it catches a queue that grows with the flood, not small leaks. */
	ck_assert_int_lt(rss_peak - rss_start, FLOOD_RSS_LIMIT_KIB);
	ck_assert_uint_gt(last, 0);

	harness_stop(&h, true);
}
END_TEST

/* ---- bad database files ----------------------------------------------------- */

static char *server_db_path(const char *state_dir, const char *scope)
{
	_cleanup_free_ char *server_dir = NULL;
	char *path = NULL;

	ck_assert_int_eq(nsr_serverdir_default(state_dir, scope, &server_dir), 0);
	ck_assert_int_eq(mkdir(server_dir, 0700), 0);
	ck_assert_int_eq(nsr_serverdir_db_path(server_dir, &path), 0);
	return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static size_t read_file(const char *path, void *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, size);
	ck_assert_int_ge(n, 0);
	close(fd);
	return (size_t)n;
}

/* Every CREATE for @scope is answered with @expected, and the daemon keeps serving. */
static void expect_refused(struct harness *h, const char *scope, int expected)
{
	for (unsigned int i = 0; i < 2; i++) {
		int32_t status = answer_of(h, queue_create(h, scope, i, true));

		ck_assert_msg(status == expected, "scope %s: status %d, expected %d (%s)", scope,
			      status, expected, strerror(-expected));
	}
	ck_assert_ptr_null(h->cd.ns->server);
}

START_TEST(test_garbage_database_is_refused)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *path = NULL;
	const struct crash_daemon_options opts = { 0 };
	uint8_t garbage[8192], after[sizeof(garbage) + 1];
	uint32_t rng = 12345;
	struct harness h;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)crash_random(&rng);
	path = server_db_path(dir, "garbage");
	write_file(path, garbage, sizeof(garbage));

	harness_start_with(&h, dir, &opts);
	expect_refused(&h, "garbage", -EBADMSG);
	ck_assert_uint_eq(read_file(path, after, sizeof(after)), sizeof(garbage));
	ck_assert_mem_eq(after, garbage, sizeof(garbage));
	harness_stop(&h, true);
}
END_TEST

START_TEST(test_newer_schema_is_refused)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *path = NULL, *sql = NULL;
	const struct crash_daemon_options opts = { 0 };
	int newer = nsr_store_schema_version_latest() + 1;
	struct harness h;
	sqlite3 *db = NULL;
	int version = 0;
	sqlite3_stmt *stmt = NULL;

	path = server_db_path(dir, "newer");
	ck_assert_int_ge(asprintf(&sql, "CREATE TABLE future (x); PRAGMA user_version = %d", newer),
			 0);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	harness_start_with(&h, dir, &opts);
	expect_refused(&h, "newer", -EPROTO);
	harness_stop(&h, false);

	/* The file still has the newer version: nothing migrated it down. */
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
	version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	ck_assert_int_eq(version, newer);
	nsr_test_rmtree(dir);
}
END_TEST

/*
 * A database path that is a symbolic link is refused, even when it points
 * to a valid database, so that records never land outside the server
 * directory. The target is left untouched.
 */
START_TEST(test_symlinked_database_is_refused)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *path = NULL, *target = NULL;
	const struct crash_daemon_options opts = { 0 };
	struct harness h;
	struct stat st;

	ck_assert_int_ge(asprintf(&target, "%s/elsewhere.sqlite", dir), 0);
	ck_assert_int_eq(nsr_store_create_at_version(target, nsr_store_schema_version_latest()), 0);
	path = server_db_path(dir, "linked");
	ck_assert_int_eq(symlink(target, path), 0);

	harness_start_with(&h, dir, &opts);
	expect_refused(&h, "linked", -ELOOP);
	harness_stop(&h, false);

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	{
		struct crash_db_state s;

		ck_assert_int_eq(crash_db_read(target, 8, &s), 0);
		ck_assert_str_eq(s.problem, "");
		ck_assert_uint_eq(s.n_records, 0);
		crash_db_state_free(&s);
	}
	nsr_test_rmtree(dir);
}
END_TEST

/* ---- permissions --------------------------------------------------------------- */

static void check_mode(const char *path, mode_t expected)
{
	struct stat st;

	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == expected, "%s has mode %04o, expected %04o", path,
		      st.st_mode & 07777, expected);
}

static void check_permissions_with_umask(mode_t mask)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *server_dir = NULL, *db = NULL;
	const struct crash_daemon_options opts = { 0 };
	char wal[4096], shm[4096];
	struct harness h;
	mode_t old = umask(mask);

	harness_start_with(&h, dir, &opts);
	ck_assert_int_eq(answer_of(&h, queue_create(&h, "modes", 1, true)), 0);

	ck_assert_int_eq(nsr_serverdir_default(dir, "modes", &server_dir), 0);
	ck_assert_int_eq(nsr_serverdir_db_path(server_dir, &db), 0);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(shm, sizeof(shm), "%s-shm", db);
	check_mode(server_dir, 0700);
	check_mode(db, 0600);
	check_mode(wal, 0600);
	check_mode(shm, 0600);

	harness_stop(&h, true);
	umask(old);
}

START_TEST(test_modes_with_umask_0)
{
	check_permissions_with_umask(0);
}
END_TEST

START_TEST(test_modes_with_umask_022)
{
	check_permissions_with_umask(022);
}
END_TEST

/* ---- a full and a failing file system ------------------------------------------ */

/*
 * These run in a forked child with its own mount namespace, where the
 * test mounts a small tmpfs. The child reports through its exit status:
 * 0 passed, 1 failed (the reason is on stderr), 77 not permitted here.
 */
#define CHILD_SKIP CRASH_CHILD_SKIP
#define CHILD_CHECK(cond, ...)                                                     \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);            \
			fprintf(stderr, __VA_ARGS__);                              \
			fputc('\n', stderr);                                       \
			_exit(1);                                                  \
		}                                                                  \
	} while (0)

static void child_mount_tmpfs(const char *dir, const char *size)
{
	char options[64];

	if (unshare(CLONE_NEWNS) < 0) {
		fprintf(stderr, "skipped: unshare(CLONE_NEWNS) failed: %s; run as root or with CAP_SYS_ADMIN\n",
			strerror(errno));
		_exit(CHILD_SKIP);
	}
	CHILD_CHECK(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0, "making / private: %s",
		    strerror(errno));
	snprintf(options, sizeof(options), "size=%s,mode=0700", size);
	if (mount("tmpfs", dir, "tmpfs", 0, options) < 0) {
		fprintf(stderr, "skipped: mounting a tmpfs on %s failed: %s\n", dir, strerror(errno));
		_exit(CHILD_SKIP);
	}
}

/* A client id of 1000 bytes, so that a few hundred records fill the file system. */
static uint64_t queue_big_create(struct harness *h, unsigned int n)
{
	struct nsr_genl_upcall up;
	char id[1001];
	uint64_t req;

	upcall_client(&up, NFSD_CLTRACK_REQ_CREATE, "full", n);
	/* A unique prefix, padded with 'f' to 1000 bytes. */
	memset(id, 'f', sizeof(id));
	memcpy(id, "big-", 4);
	for (unsigned int i = 0, v = n; i < 8; i++, v /= 10)
		id[11 - i] = (char)('0' + v % 10);
	CHILD_CHECK(nsr_client_set_id(&up.client, id, 1000) == 0, "id");
	req = fake_kernel_queue(&h->kernel, &up, true);
	nsr_genl_upcall_release(&up);
	return req;
}

static int32_t child_answer_of(struct harness *h, uint64_t req)
{
	int32_t status = 1;

	CHILD_CHECK(fake_kernel_wait_answer(&h->kernel, req, &status, crash_daemon_pump, &h->cd,
					    ANSWER_TIMEOUT_MS) == 0,
		    "request %llu was not answered", (unsigned long long)req);
	return status;
}

static void full_disk_child(const char *dir)
{
	const struct crash_daemon_options opts = { .state_dir = dir };
	_cleanup_free_ char *server_dir = NULL, *db = NULL;
	unsigned int acked = 0, failed = 0, n;
	struct nsr_store *store = NULL;
	const struct nsr_store_options ro = { .read_only = true };
	uint64_t count = 0;
	struct harness h;

	child_mount_tmpfs(dir, "1m");
	memset(&h, 0, sizeof(h));
	h.state_dir = strdup(dir);
	CHILD_CHECK(fake_kernel_start(&h.kernel) == 0, "fake kernel");
	CHILD_CHECK(crash_daemon_start(&h.cd, &opts, h.kernel.daemon_event_fd,
				       h.kernel.daemon_answer_fd, FAKE_KERNEL_FAMILY, false) == 0,
		    "daemon");

	/* Until the disk is full, then a few more: every one must get an answer. */
	for (n = 0; n < 4000 && failed < 5; n++) {
		int32_t status = child_answer_of(&h, queue_big_create(&h, n));

		if (status == 0) {
			acked++;
			continue;
		}
		CHILD_CHECK(status == -ENOSPC || status == -EIO,
			    "request %u failed with %d (%s), expected -ENOSPC", n, status,
			    strerror(-status));
		failed++;
	}
	fprintf(stderr, "full disk: %u requests acknowledged, then %u answered with an error\n",
		acked, failed);
	CHILD_CHECK(acked > 10, "only %u requests fit in 1 MiB", acked);
	CHILD_CHECK(failed == 5, "the file system never filled up after %u requests", n);

	crash_daemon_stop(&h.cd);
	fake_kernel_stop(&h.kernel);

	/* Every acknowledged record is still there. */
	CHILD_CHECK(nsr_serverdir_default(dir, "full", &server_dir) == 0, "server dir");
	CHILD_CHECK(nsr_serverdir_db_path(server_dir, &db) == 0, "db path");
	CHILD_CHECK(nsr_store_open(db, &ro, &store) == 0, "the database does not open after ENOSPC");
	CHILD_CHECK(nsr_store_count_clients(store, NSR_EPOCH_CURRENT, &count) == 0, "count");
	CHILD_CHECK(count >= acked, "%llu records, but %u were acknowledged",
		    (unsigned long long)count, acked);
	nsr_store_close(store);
	umount2(dir, MNT_DETACH);
	free(h.state_dir);
}

START_TEST(test_full_disk_fails_requests)
{
	crash_run_child(full_disk_child, "full disk");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash-hostile");
	TCase *input = tcase_create("input");
	TCase *files = tcase_create("files");

	tcase_set_timeout(input, 240);
	tcase_add_test(input, test_forged_netlink_messages_are_dropped);
	tcase_add_test(input, test_wrong_family_version_is_rejected);
	tcase_add_test(input, test_upcall_flood_stays_bounded);
	suite_add_tcase(s, input);

	tcase_set_timeout(files, 240);
	tcase_add_test(files, test_garbage_database_is_refused);
	tcase_add_test(files, test_newer_schema_is_refused);
	tcase_add_test(files, test_symlinked_database_is_refused);
	tcase_add_test(files, test_modes_with_umask_0);
	tcase_add_test(files, test_modes_with_umask_022);
	tcase_add_test(files, test_full_disk_fails_requests);
	suite_add_tcase(s, files);
	return nsr_test_run(s);
}
