/* test-crash-readonly.c: the daemon side when its database's file system turns read-only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash-daemon.h"
#include "crash-util.h"
#include "fake-kernel.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-test.h"

/*
 * The test builds a real ext4 file system in a file, attaches it to a loop
 * device and mounts it with errors=remount-ro inside a private mount
 * namespace of a forked child. The daemon side serves a server from it.
 * Then the test reports an ext4 error through sysfs (trigger_fs_error),
 * which is what ext4 does itself on a failed metadata write: the journal
 * aborts and the file system turns read-only under the open database.
 * It accepts no writes again, not even after a read-write remount, until
 * it is unmounted and checked. The daemon keeps a server's database open
 * and never reopens it, so the repair needs a stopped daemon: the test
 * stops the daemon side, runs e2fsck, and starts a new daemon side.
 *
 * Each such test adds an "EXT4-fs error" line to the kernel log.
 */

#define ANSWER_TIMEOUT_MS 20000
#define SCOPE "readonly"
#define IMAGE_SIZE (32 << 20)

/*
 * The child reports through its exit status: 0 passed, 1 failed, 77 not
 * possible here. The reason goes to report_fd, the test's stderr even
 * while the daemon's log is captured.
 */
#define CHILD_SKIP CRASH_CHILD_SKIP
static int report_fd = STDERR_FILENO;
#define CHILD_CHECK(cond, ...)                                                     \
	do {                                                                       \
		if (!(cond)) {                                                     \
			dprintf(report_fd, "%s:%d: ", __FILE__, __LINE__);         \
			dprintf(report_fd, __VA_ARGS__);                           \
			dprintf(report_fd, "\n");                                  \
			_exit(1);                                                  \
		}                                                                  \
	} while (0)
#define CHILD_SKIP_IF(cond, ...)                                                   \
	do {                                                                       \
		if (cond) {                                                        \
			dprintf(report_fd, "skipped: " __VA_ARGS__);               \
			dprintf(report_fd, "\n");                                  \
			_exit(CHILD_SKIP);                                         \
		}                                                                  \
	} while (0)

/* Client numbers of each phase. */
enum {
	ACKED_CREATES = 30,	/* 0..29 created before the failure */
	ACKED_REMOVES = 5,	/* 0..4 removed again before the failure */
	FAILED_BASE = 100,	/* 100.. sent while the file system is read-only */
	FAILED_ONE_BY_ONE = 8,
	FAILED_BURST = 24,	/* queued at once, so they arrive as batches */
	LATER_BASE = 200,	/* 200.. sent after the repair */
	LATER = 10,
	N_CLIENTS = 256,
};

struct disk {
	char *image;
	char *mnt;
	char loop_dev[32];	/* /dev/loopN */
	char loop_name[16];	/* loopN, the name under /sys/fs/ext4 */
	int loop_fd;
};

struct side {
	struct fake_kernel kernel;
	struct crash_daemon cd;
};

/* Run @argv with stdout discarded; returns its exit status, or 127 when it cannot run. */
static int run_command(char *const argv[])
{
	posix_spawn_file_actions_t actions;
	extern char **environ;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&actions);
		return 127;
	}
	posix_spawn_file_actions_destroy(&actions);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 128;
	return WEXITSTATUS(status);
}

static void disk_make_image(struct disk *disk)
{
	char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-E", "nodiscard", disk->image, NULL };
	int fd, status;

	fd = open(disk->image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	CHILD_CHECK(fd >= 0, "creating %s: %s", disk->image, strerror(errno));
	CHILD_CHECK(ftruncate(fd, IMAGE_SIZE) == 0, "sizing %s: %s", disk->image, strerror(errno));
	close(fd);

	status = run_command(mkfs);
	CHILD_SKIP_IF(status == 127, "mkfs.ext4 cannot run; install e2fsprogs");
	CHILD_CHECK(status == 0, "mkfs.ext4 %s exited with status %d", disk->image, status);
}

/* Attach the image to a free loop device, which detaches itself after the last close. */
static void disk_attach_loop(struct disk *disk)
{
	struct loop_config config = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
	int control, image_fd = -1, n = -1;

	control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	CHILD_SKIP_IF(control < 0, "opening /dev/loop-control failed: %s; loop devices are needed",
		      strerror(errno));
	image_fd = open(disk->image, O_RDWR | O_CLOEXEC);
	CHILD_CHECK(image_fd >= 0, "opening %s: %s", disk->image, strerror(errno));
	config.fd = image_fd;

	/* Another process may take the free device first, so ask again. */
	for (int attempt = 0; attempt < 10; attempt++) {
		n = ioctl(control, LOOP_CTL_GET_FREE);
		CHILD_SKIP_IF(n < 0, "LOOP_CTL_GET_FREE failed: %s", strerror(errno));
		snprintf(disk->loop_dev, sizeof(disk->loop_dev), "/dev/loop%d", n);
		snprintf(disk->loop_name, sizeof(disk->loop_name), "loop%d", n);
		disk->loop_fd = open(disk->loop_dev, O_RDWR | O_CLOEXEC);
		CHILD_SKIP_IF(disk->loop_fd < 0, "opening %s failed: %s", disk->loop_dev,
			      strerror(errno));
		if (ioctl(disk->loop_fd, LOOP_CONFIGURE, &config) == 0)
			break;
		CHILD_SKIP_IF(errno != EBUSY, "attaching %s to %s failed: %s", disk->image,
			      disk->loop_dev, strerror(errno));
		close(disk->loop_fd);
		disk->loop_fd = -1;
	}
	CHILD_CHECK(disk->loop_fd >= 0, "no free loop device after 10 attempts");
	close(image_fd);
	close(control);
}

/* @first: a failure means that this machine does not permit the test, so skip it. */
static void disk_mount(struct disk *disk, bool first)
{
	int r;

	r = mount(disk->loop_dev, disk->mnt, "ext4", MS_NOSUID | MS_NODEV, "errors=remount-ro");
	CHILD_SKIP_IF(r < 0 && first, "mounting ext4 from %s failed: %s", disk->loop_dev,
		      strerror(errno));
	CHILD_CHECK(r == 0, "mounting %s on %s: %s", disk->loop_dev, disk->mnt, strerror(errno));
	/* The daemon refuses a state directory that others may read. */
	CHILD_CHECK(chmod(disk->mnt, 0700) == 0, "chmod %s: %s", disk->mnt, strerror(errno));
}

static void disk_setup(struct disk *disk, const char *dir)
{
	CHILD_SKIP_IF(unshare(CLONE_NEWNS) < 0,
		      "unshare(CLONE_NEWNS) failed: %s; run as root or with CAP_SYS_ADMIN",
		      strerror(errno));
	CHILD_CHECK(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0,
		    "making / private: %s", strerror(errno));

	CHILD_CHECK(asprintf(&disk->image, "%s/disk.img", dir) > 0, "asprintf");
	CHILD_CHECK(asprintf(&disk->mnt, "%s/mnt", dir) > 0, "asprintf");
	CHILD_CHECK(mkdir(disk->mnt, 0700) == 0, "mkdir %s: %s", disk->mnt, strerror(errno));

	disk_make_image(disk);
	disk_attach_loop(disk);
	disk_mount(disk, true);
}

/* Whether a new file can be created on the file system. */
static bool disk_writable(struct disk *disk)
{
	char probe[4096];
	int fd;

	snprintf(probe, sizeof(probe), "%s/probe", disk->mnt);
	fd = open(probe, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	close(fd);
	unlink(probe);
	return true;
}

/* Report an ext4 error as ext4 does on a failed metadata write, so errors=remount-ro applies. */
static void disk_fail(struct disk *disk)
{
	static const char message[] = "nsrecoveryd test: the storage failed";
	char path[128];
	int fd;

	/*
	 * Write back every dirty page first, as the periodic writeback of a
	 * long-running server would. The pages of SQLite's mapped -shm file
	 * are then clean, so its next change to them faults into ext4 on the
	 * failed file system.
	 */
	fd = open(disk->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHILD_CHECK(fd >= 0 && syncfs(fd) == 0, "syncfs %s: %s", disk->mnt, strerror(errno));
	close(fd);

	snprintf(path, sizeof(path), "/sys/fs/ext4/%s/trigger_fs_error", disk->loop_name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHILD_SKIP_IF(fd < 0, "opening %s failed: %s; this kernel cannot simulate an ext4 error",
		      path, strerror(errno));
	CHILD_CHECK(write(fd, message, sizeof(message) - 1) == (ssize_t)sizeof(message) - 1,
		    "writing %s: %s", path, strerror(errno));
	close(fd);

	CHILD_CHECK(!disk_writable(disk) && errno == EROFS,
		    "the file system is still writable after the reported error");
}

/*
 * Bring the file system back as an administrator would: unmount it, let
 * e2fsck repair it, and mount it again.
 */
static void disk_repair(struct disk *disk)
{
	char *fsck[] = { "e2fsck", "-f", "-y", disk->loop_dev, NULL };
	int r, status;

	/*
	 * Once its journal aborted, ext4 stays read-only until it is checked,
	 * whatever a remount returns (6.18 accepts the remount and still
	 * refuses writes). Note what this kernel does.
	 */
	r = mount(NULL, disk->mnt, NULL, MS_REMOUNT, NULL);
	fprintf(stderr, "read-only file system: remounting read-write %s%s; the file system %s\n",
		r == 0 ? "returned 0" : "failed: ", r == 0 ? "" : strerror(errno),
		disk_writable(disk) ? "accepts writes again" : "still refuses writes");

	CHILD_CHECK(umount2(disk->mnt, 0) == 0, "unmounting %s: %s; is the database still open?",
		    disk->mnt, strerror(errno));
	status = run_command(fsck);
	/* 0: clean, 1: errors corrected. */
	CHILD_CHECK(status == 0 || status == 1, "e2fsck %s exited with status %d",
		    disk->loop_dev, status);
	disk_mount(disk, false);
}

static void side_start(struct side *side, const char *state_dir)
{
	const struct crash_daemon_options opts = { .state_dir = state_dir };

	memset(side, 0, sizeof(*side));
	CHILD_CHECK(fake_kernel_start(&side->kernel) == 0, "starting the fake kernel");
	CHILD_CHECK(crash_daemon_start(&side->cd, &opts, side->kernel.daemon_event_fd,
				       side->kernel.daemon_answer_fd, FAKE_KERNEL_FAMILY,
				       false) == 0,
		    "starting the daemon side");
}

static void side_stop(struct side *side)
{
	crash_daemon_stop(&side->cd);
	fake_kernel_stop(&side->kernel);
}

static uint64_t side_queue(struct side *side, uint32_t type, unsigned int client, bool notify)
{
	uint8_t hash[NSR_PRINCHASH_LEN];
	struct nsr_genl_upcall up;
	char id[64], address[32];
	uint64_t req;

	nsr_genl_upcall_init(&up);
	up.type = type;
	snprintf(up.scope, sizeof(up.scope), "%s", SCOPE);
	up.boot_time = 1700000000;
	crash_client_id(client, id, sizeof(id));
	crash_client_address(client, address, sizeof(address));
	crash_client_princhash(client, hash);
	CHILD_CHECK(nsr_client_set_id(&up.client, id, strlen(id)) == 0, "client id");
	CHILD_CHECK(nsr_client_set_princhash(&up.client, hash, sizeof(hash)) == 0, "hash");
	CHILD_CHECK(nsr_client_set_audit(&up.client, address, 2, NULL, CRASH_CLIENT_IMPL_ID) == 0,
		    "audit");

	req = fake_kernel_queue(&side->kernel, &up, notify);
	nsr_genl_upcall_release(&up);
	return req;
}

static int32_t side_answer(struct side *side, uint64_t req)
{
	int32_t status = 1;

	CHILD_CHECK(fake_kernel_wait_answer(&side->kernel, req, &status, crash_daemon_pump,
					    &side->cd, ANSWER_TIMEOUT_MS) == 0,
		    "request %llu was not answered within %d ms", (unsigned long long)req,
		    ANSWER_TIMEOUT_MS);
	return status;
}

/* Send one request and wait for its answer. */
static int32_t side_call(struct side *side, uint32_t type, unsigned int client)
{
	return side_answer(side, side_queue(side, type, client, true));
}

/* Whether client @n must be in the current epoch, given which phases have run. */
static bool expected_present(unsigned int n, bool later_done)
{
	if (n < ACKED_REMOVES)
		return false;
	if (n < ACKED_CREATES)
		return true;
	return later_done && n >= LATER_BASE && n < LATER_BASE + LATER;
}

/* Every acknowledged change is in the database, and no failed one. */
static void check_database(const char *db, bool later_done)
{
	struct crash_db_state s;
	int r;

	r = crash_db_read(db, N_CLIENTS, &s);
	CHILD_CHECK(r == 0, "reading %s: %s", db, strerror(-r));
	CHILD_CHECK(s.problem[0] == '\0', "%s: %s", db, s.problem);
	for (unsigned int n = 0; n < N_CLIENTS; n++)
		CHILD_CHECK(s.present[n] == expected_present(n, later_done),
			    "client %u is %s the database, expected %s", n,
			    s.present[n] ? "in" : "missing from",
			    expected_present(n, later_done) ? "present" : "absent");
	crash_db_state_free(&s);
}

/* Send requests while the file system is read-only. Every one must fail with -EROFS. */
static void send_while_read_only(struct side *side)
{
	uint64_t burst[FAILED_BURST];
	int32_t status;

	for (unsigned int i = 0; i < FAILED_ONE_BY_ONE; i++) {
		status = side_call(side, NFSD_CLTRACK_REQ_CREATE, FAILED_BASE + i);
		CHILD_CHECK(status == -EROFS, "CREATE %u on a read-only file system: status %d "
			    "(%s), expected -EROFS", i, status, strerror(-status));
	}

	/* A removal of an acknowledged client fails too, and leaves the record. */
	status = side_call(side, NFSD_CLTRACK_REQ_REMOVE, ACKED_REMOVES);
	CHILD_CHECK(status == -EROFS, "REMOVE on a read-only file system: status %d, expected "
		    "-EROFS", status);

	for (unsigned int i = 0; i < FAILED_BURST; i++)
		burst[i] = side_queue(side, NFSD_CLTRACK_REQ_CREATE,
				      FAILED_BASE + FAILED_ONE_BY_ONE + i, i == FAILED_BURST - 1);
	for (unsigned int i = 0; i < FAILED_BURST; i++) {
		status = side_answer(side, burst[i]);
		CHILD_CHECK(status == -EROFS, "queued CREATE %u on a read-only file system: "
			    "status %d (%s), expected -EROFS", i, status, strerror(-status));
	}
}

/* Whether @path contains a line that contains both @a and @b. */
static bool log_has_line(const char *path, const char *a, const char *b)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, a) && strstr(line, b);
	fclose(f);
	return found;
}

/* Copy the captured log to stderr, so that the test output shows what an administrator sees. */
static void log_replay(const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	fprintf(stderr, "---- daemon log while the file system was read-only ----\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fprintf(stderr, "---- end of the daemon log ----\n");
	fclose(f);
}

static void read_only_child(const char *dir)
{
	_cleanup_free_ char *server_dir = NULL, *db = NULL, *log = NULL;
	struct disk disk = { .loop_fd = -1 };
	struct side side;
	int saved_stderr, log_fd;

	disk_setup(&disk, dir);
	CHILD_CHECK(asprintf(&log, "%s/daemon.log", dir) > 0, "asprintf");
	CHILD_CHECK(nsr_serverdir_default(disk.mnt, SCOPE, &server_dir) == 0, "server dir");
	CHILD_CHECK(nsr_serverdir_db_path(server_dir, &db) == 0, "db path");

	/* Acknowledged changes: creates, then removals of the first few. */
	side_start(&side, disk.mnt);
	for (unsigned int n = 0; n < ACKED_CREATES; n++)
		CHILD_CHECK(side_call(&side, NFSD_CLTRACK_REQ_CREATE, n) == 0, "CREATE %u failed", n);
	for (unsigned int n = 0; n < ACKED_REMOVES; n++)
		CHILD_CHECK(side_call(&side, NFSD_CLTRACK_REQ_REMOVE, n) == 0, "REMOVE %u failed", n);

	/* The daemon's log goes to a file outside the failing file system. */
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHILD_CHECK(saved_stderr >= 0 && log_fd >= 0, "capturing the log: %s", strerror(errno));
	report_fd = saved_stderr;
	dup2(log_fd, STDERR_FILENO);
	close(log_fd);

	disk_fail(&disk);
	send_while_read_only(&side);

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	report_fd = STDERR_FILENO;
	close(saved_stderr);
	log_replay(log);
	/* The dispatcher's line names the server, and the store's line names the database. */
	CHILD_CHECK(log_has_line(log, "server " SCOPE ":", "Read-only file system"),
		    "no log line names server %s and the error", SCOPE);
	CHILD_CHECK(log_has_line(log, db, "Read-only file system"),
		    "no log line names database %s and the error", db);

	side_stop(&side);

	/* An administrator repairs the file system, and a new daemon side finds every record. */
	disk_repair(&disk);
	check_database(db, false);

	side_start(&side, disk.mnt);
	for (unsigned int n = LATER_BASE; n < LATER_BASE + LATER; n++)
		CHILD_CHECK(side_call(&side, NFSD_CLTRACK_REQ_CREATE, n) == 0,
			    "CREATE %u after the repair failed", n);
	side_stop(&side);
	check_database(db, true);

	CHILD_CHECK(umount2(disk.mnt, 0) == 0, "unmounting %s: %s", disk.mnt, strerror(errno));
	close(disk.loop_fd);
	free(disk.image);
	free(disk.mnt);
}

START_TEST(test_storage_turns_read_only)
{
	crash_run_child(read_only_child, "read-only storage");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash-readonly");
	TCase *tc = tcase_create("storage");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_storage_turns_read_only);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
