/* nfslock.c: take and probe whole-file POSIX (fcntl) write locks for the VM tests. */

/*
 * Usage:
 *   nfslock hold FILE   wait for a write lock on FILE, print "locked FILE", then keep the
 *                       lock until a signal ends the process.
 *   nfslock try FILE    try a write lock once without waiting and release it at exit.
 *
 * FILE is opened read-write and created if missing, because an NFS server grants a
 * write lock only on a file opened for writing.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Exit codes, shared with tests/vm/lib.sh. */
enum nfslock_exit {
	NFSLOCK_ACQUIRED = 0,	/* try: nobody else held the lock */
	NFSLOCK_CONFLICT = 1,	/* try: another lock owner holds a conflicting lock */
	NFSLOCK_USAGE = 2,	/* invalid command line */
	NFSLOCK_FAILED = 3,	/* open or fcntl failed for another reason */
};

static void nfslock_usage(const char *program)
{
	fprintf(stderr, "usage: %s hold|try FILE\n", program);
}

/*
 * Open @path read-write, creating it if needed.
 * Returns the file descriptor, or -1 after printing the error.
 */
static int nfslock_open(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		fprintf(stderr, "nfslock: open %s failed: %s\n", path, strerror(errno));
	return fd;
}

/*
 * Lock all of @fd for writing with @command (F_SETLK or F_SETLKW).
 * Returns 0 on success or a negative errno value.
 */
static int nfslock_lock(int fd, int command)
{
	struct flock lock = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,	/* up to the end of the file, however long it grows */
	};

	if (fcntl(fd, command, &lock) < 0)
		return -errno;
	return 0;
}

/* Wait for the lock, report it on stdout and hold it until a signal arrives. */
static int nfslock_hold(const char *path)
{
	int fd, r;

	fd = nfslock_open(path);
	if (fd < 0)
		return NFSLOCK_FAILED;

	r = nfslock_lock(fd, F_SETLKW);
	if (r < 0) {
		fprintf(stderr, "nfslock: lock %s failed: %s\n", path, strerror(-r));
		return NFSLOCK_FAILED;
	}

	/* The test harness waits for this line before it relies on the lock. */
	printf("locked %s\n", path);
	fflush(stdout);

	for (;;)
		pause();
}

/* Try the lock once. The exit code is one of enum nfslock_exit. */
static int nfslock_try(const char *path)
{
	int fd, r;

	fd = nfslock_open(path);
	if (fd < 0)
		return NFSLOCK_FAILED;

	r = nfslock_lock(fd, F_SETLK);
	if (r == -EAGAIN || r == -EACCES) {
		printf("conflict %s\n", path);
		return NFSLOCK_CONFLICT;
	}
	if (r < 0) {
		fprintf(stderr, "nfslock: lock %s failed: %s\n", path, strerror(-r));
		return NFSLOCK_FAILED;
	}

	printf("acquired %s\n", path);
	return NFSLOCK_ACQUIRED;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		nfslock_usage(argv[0]);
		return NFSLOCK_USAGE;
	}

	if (strcmp(argv[1], "hold") == 0)
		return nfslock_hold(argv[2]);
	if (strcmp(argv[1], "try") == 0)
		return nfslock_try(argv[2]);

	fprintf(stderr, "nfslock: unknown command '%s', use hold or try\n", argv[1]);
	nfslock_usage(argv[0]);
	return NFSLOCK_USAGE;
}
