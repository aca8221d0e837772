/* nsr-serverdir.c: mapping a server name to its directory and database path. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-serverdir.h"
#include "nsr-store.h"

#define NSR_SERVER_NAME_MAX 255

int nsr_server_name_check(const char *name)
{
	size_t len;

	if (!name || !*name)
		return nsr_log_error_errno(-EINVAL, "Server name is empty; set a name of 1 to %d "
					   "printable ASCII characters", NSR_SERVER_NAME_MAX);

	len = strnlen(name, NSR_SERVER_NAME_MAX + 1);
	if (len > NSR_SERVER_NAME_MAX)
		return nsr_log_error_errno(-EINVAL, "Server name \"%.32s...\" is longer than %d "
					   "bytes; choose a shorter name", name,
					   NSR_SERVER_NAME_MAX);

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = name[i];

		if (ch < 0x20 || ch > 0x7e)
			return nsr_log_error_errno(-EINVAL, "Server name has byte 0x%02x at "
						   "offset %zu; use printable ASCII only", ch, i);
	}

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return nsr_log_error_errno(-EINVAL, "Server name \"%s\" is reserved; choose "
					   "another name", name);
	return 0;
}

static bool name_byte_is_plain(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

int nsr_serverdir_default(const char *state_dir, const char *name, char **ret)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len, dir_len = strlen(state_dir);
	char *path, *p;
	int r;

	r = nsr_server_name_check(name);
	if (r < 0)
		return r;

	/* Each byte takes at most three characters (%XX). */
	len = strlen(name);
	path = malloc(dir_len + 1 + 3 * len + 1);
	if (!path)
		return -ENOMEM;

	p = stpcpy(path, state_dir);
	if (dir_len == 0 || state_dir[dir_len - 1] != '/')
		*p++ = '/';
	for (const unsigned char *s = (const unsigned char *)name; *s; s++) {
		if (name_byte_is_plain(*s)) {
			*p++ = *s;
		} else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 0xf];
		}
	}
	*p = '\0';

	*ret = path;
	return 0;
}

int nsr_serverdir_db_path(const char *server_dir, char **ret)
{
	if (asprintf(ret, "%s/%s", server_dir, NSR_STORE_DB_NAME) < 0)
		return -ENOMEM;
	return 0;
}

/* Warn when records written to @path would vanish at the next reboot. */
static void dir_warn_volatile(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return;

	if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC)
		nsr_log_warning("Directory %s is on %s: client records stored there are lost at "
				"reboot, so no client can reclaim its state afterwards; use "
				"persistent storage", path,
				sfs.f_type == TMPFS_MAGIC ? "tmpfs" : "ramfs");
}

int nsr_dir_check(const char *path, bool writable)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return nsr_log_error_errno(-ENOENT, "Directory %s does not exist; create it "
						   "or fix the configured path", path);
		return nsr_log_error_errno(-errno, "Directory %s: %m", path);
	}

	if (!S_ISDIR(st.st_mode))
		return nsr_log_error_errno(-ENOTDIR, "%s is not a directory; fix the configured "
					   "path", path);

	if (!writable) {
		if (access(path, R_OK | X_OK) < 0)
			return nsr_log_error_errno(-errno, "Directory %s is not readable: %m; fix "
						   "its owner or mode", path);
		return 0;
	}

	if (access(path, W_OK | X_OK) < 0) {
		int r = -errno;

		if (r == -EROFS)
			return nsr_log_error_errno(r, "Directory %s is on a read-only file "
						   "system; remount it read-write or use a "
						   "writable directory", path);
		return nsr_log_error_errno(r == -EPERM ? -EACCES : r,
					   "Directory %s is not writable by this process: %m; fix "
					   "its owner or mode", path);
	}

	dir_warn_volatile(path);
	return 0;
}

int nsr_serverdir_create(const char *server_dir)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (mkdir(server_dir, 0700) < 0 && errno != EEXIST)
		return nsr_log_error_errno(-errno, "Creating server directory %s failed: %m",
					   server_dir);

	/* O_NOFOLLOW: tighten the directory itself, never a symlink's target. */
	fd = open(server_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return nsr_log_error_errno(-errno, "Opening server directory %s failed: %m; it "
					   "must be a directory, not a symbolic link", server_dir);

	if (fstat(fd, &st) < 0)
		return nsr_log_error_errno(-errno, "Server directory %s: %m", server_dir);

	/* mkdir() applied the umask; the mode must be exactly 0700 whatever it is. */
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		return nsr_log_error_errno(-errno, "Setting mode 0700 on %s failed: %m",
					   server_dir);
	return 0;
}

/* Whether @dir_fd contains @name/clients.sqlite as a regular file. */
static bool subdir_has_db(int dir_fd, const char *name)
{
	char rel[NAME_MAX + sizeof("/" NSR_STORE_DB_NAME)];
	struct stat st;

	snprintf(rel, sizeof(rel), "%s/%s", name, NSR_STORE_DB_NAME);
	return fstatat(dir_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int visit_server(const char *state_dir, const char *name, nsr_serverdir_fn fn, void *ctx)
{
	_cleanup_free_ char *server_dir = NULL, *db_path = NULL;
	int r;

	if (asprintf(&server_dir, "%s/%s", state_dir, name) < 0)
		return -ENOMEM;

	r = nsr_serverdir_db_path(server_dir, &db_path);
	if (r < 0)
		return r;

	return fn(server_dir, db_path, ctx);
}

int nsr_statedir_foreach_server(const char *state_dir, nsr_serverdir_fn fn, void *ctx)
{
	struct dirent **entries = NULL;
	_cleanup_close_ int dir_fd = -1;
	int n, r = 0;

	dir_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return nsr_log_error_errno(-errno, "Reading state directory %s failed: %m",
					   state_dir);

	n = scandir(state_dir, &entries, NULL, alphasort);
	if (n < 0)
		return nsr_log_error_errno(-errno, "Reading state directory %s failed: %m",
					   state_dir);

	for (int i = 0; i < n; i++) {
		const char *name = entries[i]->d_name;

		if (r == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    subdir_has_db(dir_fd, name))
			r = visit_server(state_dir, name, fn, ctx);
		free(entries[i]);
	}

	free(entries);
	return r;
}
