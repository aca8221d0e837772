/* crash-vfs.c: a SQLite VFS shim that reconstructs files as a power cut would leave them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "crash-vfs.h"

#define SECTOR_SIZE 512

/* One change to a file that no sync has covered yet. */
struct change {
	bool truncate;
	int64_t offset;		/* write offset, or the new size of a truncation */
	size_t len;
	uint8_t *data;
};

/* What the shim knows of one database, WAL or journal file, by path. */
struct tracked_file {
	struct tracked_file *next;
	char *path;
	bool main_db;		/* its -shm file is deleted by the cut */
	uint8_t *durable;	/* the content a power cut leaves */
	size_t durable_len;
	struct change *changes;	/* unsynced, oldest first */
	size_t n_changes, cap_changes;
};

struct crash_file {
	sqlite3_file base;
	struct tracked_file *tracked;	/* NULL for temporary files */
	sqlite3_file *real;		/* the unix VFS's file, allocated right after this struct */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *real_vfs;
static sqlite3_vfs crash_vfs;
static struct tracked_file *files;
static uint64_t countdown;
static bool tripped;
static enum crash_vfs_mode cut_mode;
static uint32_t cut_seed;
static uint64_t n_ops, n_syncs;

static void *xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (!q)
		abort();
	return q;
}

/* Apply one change to a byte image. */
static void image_apply(uint8_t **image, size_t *len, const struct change *c, size_t keep)
{
	size_t end;

	if (c->truncate) {
		if ((size_t)c->offset > *len) {
			*image = xrealloc(*image, c->offset);
			memset(*image + *len, 0, c->offset - *len);
		}
		*len = c->offset;
		return;
	}

	end = (size_t)c->offset + keep;
	if (end > *len) {
		*image = xrealloc(*image, end);
		memset(*image + *len, 0, end - *len);
		*len = end;
	}
	memcpy(*image + c->offset, c->data, keep);
}

static void changes_clear(struct tracked_file *tf)
{
	for (size_t i = 0; i < tf->n_changes; i++)
		free(tf->changes[i].data);
	tf->n_changes = 0;
}

static void change_add(struct tracked_file *tf, bool truncate, int64_t offset, const void *data,
		       size_t len)
{
	struct change *c;

	if (tf->n_changes == tf->cap_changes) {
		tf->cap_changes = tf->cap_changes ? 2 * tf->cap_changes : 64;
		tf->changes = xrealloc(tf->changes, tf->cap_changes * sizeof(*tf->changes));
	}

	c = &tf->changes[tf->n_changes++];
	c->truncate = truncate;
	c->offset = offset;
	c->len = len;
	c->data = NULL;
	if (len > 0) {
		c->data = xrealloc(NULL, len);
		memcpy(c->data, data, len);
	}
}

static void tracked_free(struct tracked_file *tf)
{
	changes_clear(tf);
	free(tf->changes);
	free(tf->durable);
	free(tf->path);
	free(tf);
}

static struct tracked_file *tracked_find(const char *path)
{
	for (struct tracked_file *tf = files; tf; tf = tf->next)
		if (strcmp(tf->path, path) == 0)
			return tf;
	return NULL;
}

static void tracked_drop(const char *path)
{
	for (struct tracked_file **p = &files; *p; p = &(*p)->next) {
		if (strcmp((*p)->path, path) == 0) {
			struct tracked_file *tf = *p;

			*p = tf->next;
			tracked_free(tf);
			return;
		}
	}
}

/* Start tracking @path, taking its current content as durable. */
static struct tracked_file *tracked_get(const char *path, bool main_db)
{
	struct tracked_file *tf = tracked_find(path);
	int fd;

	if (tf)
		return tf;

	tf = xrealloc(NULL, sizeof(*tf));
	memset(tf, 0, sizeof(*tf));
	tf->path = strdup(path);
	tf->main_db = main_db;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		uint8_t buf[65536];
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			tf->durable = xrealloc(tf->durable, tf->durable_len + n);
			memcpy(tf->durable + tf->durable_len, buf, n);
			tf->durable_len += n;
		}
		close(fd);
	}

	tf->next = files;
	files = tf;
	return tf;
}

/*
 * Count one modifying operation. Returns false once the power is cut, in
 * which case the operation must fail and change nothing. Called locked.
 */
static bool op_allowed(void)
{
	if (tripped)
		return false;
	n_ops++;
	if (countdown > 0 && --countdown == 0) {
		tripped = true;
		return false;
	}
	return true;
}

static int crash_close(sqlite3_file *f)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xClose(cf->real);
}

static int crash_read(sqlite3_file *f, void *buf, int amount, sqlite3_int64 offset)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xRead(cf->real, buf, amount, offset);
}

static int crash_write(sqlite3_file *f, const void *buf, int amount, sqlite3_int64 offset)
{
	struct crash_file *cf = (struct crash_file *)f;
	int rc = SQLITE_IOERR_WRITE;

	pthread_mutex_lock(&lock);
	if (op_allowed()) {
		rc = cf->real->pMethods->xWrite(cf->real, buf, amount, offset);
		if (rc == SQLITE_OK && cf->tracked)
			change_add(cf->tracked, false, offset, buf, amount);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static int crash_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct crash_file *cf = (struct crash_file *)f;
	int rc = SQLITE_IOERR_TRUNCATE;

	pthread_mutex_lock(&lock);
	if (op_allowed()) {
		rc = cf->real->pMethods->xTruncate(cf->real, size);
		if (rc == SQLITE_OK && cf->tracked)
			change_add(cf->tracked, true, size, NULL, 0);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static int crash_sync(sqlite3_file *f, int flags)
{
	struct crash_file *cf = (struct crash_file *)f;
	struct tracked_file *tf = cf->tracked;
	int rc = SQLITE_IOERR_FSYNC;

	pthread_mutex_lock(&lock);
	if (op_allowed()) {
		rc = cf->real->pMethods->xSync(cf->real, flags);
		if (rc == SQLITE_OK && tf) {
			for (size_t i = 0; i < tf->n_changes; i++)
				image_apply(&tf->durable, &tf->durable_len, &tf->changes[i],
					    tf->changes[i].len);
			changes_clear(tf);
		}
		if (rc == SQLITE_OK)
			n_syncs++;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

static int crash_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xFileSize(cf->real, size);
}

static int crash_lock(sqlite3_file *f, int level)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xLock(cf->real, level);
}

static int crash_unlock(sqlite3_file *f, int level)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xUnlock(cf->real, level);
}

static int crash_check_reserved_lock(sqlite3_file *f, int *out)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xCheckReservedLock(cf->real, out);
}

static int crash_file_control(sqlite3_file *f, int op, void *arg)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xFileControl(cf->real, op, arg);
}

static int crash_sector_size(sqlite3_file *f)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xSectorSize(cf->real);
}

/* Claim no atomic or sequential writes, so that SQLite relies on its syncs alone. */
static int crash_device_characteristics(sqlite3_file *f)
{
	struct crash_file *cf = (struct crash_file *)f;
	int caps = cf->real->pMethods->xDeviceCharacteristics(cf->real);

	return caps & ~(SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 |
			SQLITE_IOCAP_ATOMIC1K | SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K |
			SQLITE_IOCAP_ATOMIC8K | SQLITE_IOCAP_ATOMIC16K | SQLITE_IOCAP_ATOMIC32K |
			SQLITE_IOCAP_ATOMIC64K | SQLITE_IOCAP_BATCH_ATOMIC);
}

/* The -shm file is shared memory: the shim passes it through, and the cut deletes it. */
static int crash_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **ret)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xShmMap(cf->real, page, size, extend, ret);
}

static int crash_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xShmLock(cf->real, offset, n, flags);
}

static void crash_shm_barrier(sqlite3_file *f)
{
	struct crash_file *cf = (struct crash_file *)f;

	cf->real->pMethods->xShmBarrier(cf->real);
}

static int crash_shm_unmap(sqlite3_file *f, int delete_flag)
{
	struct crash_file *cf = (struct crash_file *)f;

	return cf->real->pMethods->xShmUnmap(cf->real, delete_flag);
}

/* Version 2: no xFetch, so SQLite never reads through a memory map that bypasses the shim. */
static const sqlite3_io_methods crash_io_methods = {
	.iVersion = 2,
	.xClose = crash_close,
	.xRead = crash_read,
	.xWrite = crash_write,
	.xTruncate = crash_truncate,
	.xSync = crash_sync,
	.xFileSize = crash_file_size,
	.xLock = crash_lock,
	.xUnlock = crash_unlock,
	.xCheckReservedLock = crash_check_reserved_lock,
	.xFileControl = crash_file_control,
	.xSectorSize = crash_sector_size,
	.xDeviceCharacteristics = crash_device_characteristics,
	.xShmMap = crash_shm_map,
	.xShmLock = crash_shm_lock,
	.xShmBarrier = crash_shm_barrier,
	.xShmUnmap = crash_shm_unmap,
};

static int crash_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		      int *out_flags)
{
	struct crash_file *cf = (struct crash_file *)f;
	int durable_kinds = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
	int rc;

	memset(cf, 0, sizeof(*cf));
	cf->real = (sqlite3_file *)(cf + 1);

	rc = real_vfs->xOpen(real_vfs, name, cf->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;

	if (name && (flags & durable_kinds)) {
		pthread_mutex_lock(&lock);
		cf->tracked = tracked_get(name, flags & SQLITE_OPEN_MAIN_DB);
		pthread_mutex_unlock(&lock);
	}

	cf->base.pMethods = &crash_io_methods;
	return SQLITE_OK;
}

static int crash_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	int rc = SQLITE_IOERR_DELETE;

	pthread_mutex_lock(&lock);
	if (op_allowed()) {
		rc = real_vfs->xDelete(real_vfs, name, sync_dir);
		if (rc == SQLITE_OK || rc == SQLITE_IOERR_DELETE_NOENT)
			tracked_drop(name);
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

int crash_vfs_register(void)
{
	if (real_vfs)
		return SQLITE_OK;

	real_vfs = sqlite3_vfs_find("unix");
	if (!real_vfs)
		return SQLITE_ERROR;

	/* Every method not replaced here is the unix VFS's own, with its settings. */
	crash_vfs = *real_vfs;
	crash_vfs.pNext = NULL;
	crash_vfs.zName = CRASH_VFS_NAME;
	crash_vfs.szOsFile = (int)sizeof(struct crash_file) + real_vfs->szOsFile;
	crash_vfs.xOpen = crash_open;
	crash_vfs.xDelete = crash_delete;
	return sqlite3_vfs_register(&crash_vfs, 0);
}

void crash_vfs_arm(uint64_t n, enum crash_vfs_mode mode, uint32_t seed)
{
	pthread_mutex_lock(&lock);
	countdown = n;
	tripped = false;
	cut_mode = mode;
	cut_seed = seed ? seed : 1;
	pthread_mutex_unlock(&lock);
}

bool crash_vfs_tripped(void)
{
	bool r;

	pthread_mutex_lock(&lock);
	r = tripped;
	pthread_mutex_unlock(&lock);
	return r;
}

static uint32_t next_random(void)
{
	/* xorshift32: reproducible from the seed and independent of rand(). */
	cut_seed ^= cut_seed << 13;
	cut_seed ^= cut_seed >> 17;
	cut_seed ^= cut_seed << 5;
	return cut_seed;
}

/* A prefix of whole sectors of @c, possibly empty; writes shorter than a sector are lost. */
static size_t torn_length(const struct change *c)
{
	size_t sectors = c->len / SECTOR_SIZE;

	return sectors ? (next_random() % sectors) * SECTOR_SIZE : 0;
}

/* The content @tf has after the cut, by the mode's rule for its unsynced changes. */
static void tracked_settle(struct tracked_file *tf)
{
	ssize_t torn = -1;

	if (tf->n_changes == 0)
		return;

	switch (cut_mode) {
	case CRASH_VFS_DROP:
		return;
	case CRASH_VFS_TEAR:
		if (!tf->changes[0].truncate)
			image_apply(&tf->durable, &tf->durable_len, &tf->changes[0],
				    torn_length(&tf->changes[0]));
		return;
	case CRASH_VFS_REORDER:
		torn = next_random() % tf->n_changes;
		for (size_t i = 0; i < tf->n_changes; i++) {
			const struct change *c = &tf->changes[i];

			if ((ssize_t)i == torn && !c->truncate)
				image_apply(&tf->durable, &tf->durable_len, c, torn_length(c));
			else if ((ssize_t)i != torn && next_random() % 2)
				image_apply(&tf->durable, &tf->durable_len, c, c->len);
		}
		return;
	}
}

static int tracked_write_back(struct tracked_file *tf)
{
	int fd, r = 0;

	fd = open(tf->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (tf->durable_len > 0 && write(fd, tf->durable, tf->durable_len) != (ssize_t)tf->durable_len)
		r = -EIO;
	close(fd);
	return r;
}

int crash_vfs_power_cut(void)
{
	int r = 0;

	pthread_mutex_lock(&lock);
	while (files) {
		struct tracked_file *tf = files;
		char shm[4096];

		files = tf->next;
		tracked_settle(tf);
		if (r == 0)
			r = tracked_write_back(tf);
		if (tf->main_db) {
			snprintf(shm, sizeof(shm), "%s-shm", tf->path);
			unlink(shm);
		}
		tracked_free(tf);
	}
	countdown = 0;
	tripped = false;
	n_ops = n_syncs = 0;
	pthread_mutex_unlock(&lock);
	return r;
}

void crash_vfs_forget(void)
{
	pthread_mutex_lock(&lock);
	while (files) {
		struct tracked_file *tf = files;

		files = tf->next;
		tracked_free(tf);
	}
	countdown = 0;
	tripped = false;
	n_ops = n_syncs = 0;
	pthread_mutex_unlock(&lock);
}

uint64_t crash_vfs_ops(void)
{
	uint64_t n;

	pthread_mutex_lock(&lock);
	n = n_ops;
	pthread_mutex_unlock(&lock);
	return n;
}

uint64_t crash_vfs_syncs(void)
{
	uint64_t n;

	pthread_mutex_lock(&lock);
	n = n_syncs;
	pthread_mutex_unlock(&lock);
	return n;
}
