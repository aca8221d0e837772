/* crash-vfs.h: a SQLite VFS shim that reconstructs files as a power cut would leave them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The shim wraps the default unix VFS under the name CRASH_VFS_NAME. Every
 * write and truncation passes through to the real file, and is also
 * recorded per file as unsynced. An xSync of a file makes its recorded
 * changes durable. The durable image of a file starts as its content when
 * the shim first opens it.
 *
 * A power cut is armed with a countdown of modifying operations (xWrite,
 * xTruncate, xSync, xDelete). When the countdown reaches zero, that
 * operation and every later one fail with an I/O error and change
 * nothing, as if the machine had stopped. After the connections are
 * closed, crash_vfs_power_cut() rewrites each file with its durable image
 * and deletes the -shm files, which are rebuilt after a reboot.
 *
 * Directory entries are treated as durable at once: a created or deleted
 * file is never brought back or lost by the cut.
 */

#define CRASH_VFS_NAME "crash"

/* What happens to the writes that no sync covered. */
enum crash_vfs_mode {
	CRASH_VFS_DROP,		/* all of them are lost */
	CRASH_VFS_TEAR,		/* lost, except a prefix of 512-byte sectors of the first one */
	CRASH_VFS_REORDER,	/* a random subset survives, and one of the others is torn */
};

/**
 * crash_vfs_register - register the shim once per process
 *
 * Returns 0 or a SQLite error code.
 */
int crash_vfs_register(void);

/**
 * crash_vfs_arm - cut the power at the @countdown-th modifying operation from now
 * @countdown: >= 1; 0 disarms
 * @mode: what survives of the unsynced writes
 * @seed: for the choices of CRASH_VFS_TEAR and CRASH_VFS_REORDER
 */
void crash_vfs_arm(uint64_t countdown, enum crash_vfs_mode mode, uint32_t seed);

/* Whether the armed cut has happened. */
bool crash_vfs_tripped(void);

/**
 * crash_vfs_power_cut - rewrite every tracked file with its durable image
 *
 * Call after the cut tripped and every connection through the shim was
 * closed. Forgets all files and disarms the shim. Returns 0 or a negative
 * errno.
 */
int crash_vfs_power_cut(void);

/**
 * crash_vfs_forget - forget every tracked file without touching it, and disarm
 *
 * For a clean shutdown: the next open treats the files as durable.
 */
void crash_vfs_forget(void);

/* Modifying operations and syncs seen since the last crash_vfs_forget() or cut. */
uint64_t crash_vfs_ops(void);
uint64_t crash_vfs_syncs(void);
