/* nsr-serverdir.h: where each virtual server's database lives on disk. */
#pragma once

#include <stdbool.h>

/*
 * Layout. Each server owns one directory, by default
 *     STATE_DIR/NAME/clients.sqlite
 * where STATE_DIR is the daemon's state directory and NAME is the server's
 * stable name with every byte outside [A-Za-z0-9._-] written as %XX. A
 * server's directory may instead be configured explicitly, so that it can
 * live on storage that fails over with the server. The database records
 * the unescaped name under the meta key "name".
 */

/**
 * nsr_server_name_check - validate a server name
 *
 * A name is 1..255 bytes of printable ASCII and is not "." or "..".
 * Returns 0 or -EINVAL.
 */
int nsr_server_name_check(const char *name);

/**
 * nsr_serverdir_default - the default directory of server @name
 * @ret: set to a malloc'ed "STATE_DIR/ESCAPED-NAME"
 *
 * Returns 0, -EINVAL for an invalid name, or -ENOMEM.
 */
int nsr_serverdir_default(const char *state_dir, const char *name, char **ret);

/**
 * nsr_serverdir_db_path - the database file inside a server directory
 * @ret: set to a malloc'ed "SERVER_DIR/clients.sqlite"
 */
int nsr_serverdir_db_path(const char *server_dir, char **ret);

/**
 * nsr_dir_check - verify that @path is a usable directory
 * @writable: also require write and search permission for this process
 *
 * Logs one error naming @path and the fix. Returns 0, -ENOENT (missing),
 * -ENOTDIR, -EACCES or -EROFS (not writable). When @writable is set and the
 * directory is on tmpfs or ramfs, logs a warning that its records will not
 * survive a reboot, and still returns 0.
 */
int nsr_dir_check(const char *path, bool writable);

/**
 * nsr_serverdir_create - create a server directory with mode 0700
 *
 * The parent must exist. An existing directory is accepted and its mode is
 * tightened to 0700. Returns 0 or a negative errno, logged with the path.
 */
int nsr_serverdir_create(const char *server_dir);

/*
 * Called once per server database found under a state directory, with the
 * server directory and its database path. A non-zero return stops the walk
 * and is returned.
 */
typedef int (*nsr_serverdir_fn)(const char *server_dir, const char *db_path, void *ctx);

/**
 * nsr_statedir_foreach_server - visit every STATE_DIR/x/clients.sqlite
 *
 * Visits in name order. Returns 0, @fn's first non-zero return, or a
 * negative errno when @state_dir cannot be read.
 */
int nsr_statedir_foreach_server(const char *state_dir, nsr_serverdir_fn fn, void *ctx);
