/* make-db.c: build server databases through the store, for the nsrecoveryctl tests. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsr-audit.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-store.h"

/*
 * Usage: make-db STATE_DIR NAME SCENARIO
 *   basic  three clients (one with a principal and princhash, one with a
 *          binary id), then a restart: grace in progress, one reclaimed
 *   shared one client id from two addresses within a lease period, and a
 *          scope change
 *   empty  a database with no records
 */

static int apply_create(struct nsr_store *store, const void *id, size_t len, int64_t time,
			const char *address, const char *principal, const uint8_t *hash)
{
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };
	int r;

	nsr_request_init(&req, NSR_OP_CREATE);
	req.time = time;
	r = nsr_client_set_id(&req.client, id, len);
	if (r >= 0 && hash)
		r = nsr_client_set_princhash(&req.client, hash, NSR_PRINCHASH_LEN);
	if (r >= 0)
		r = nsr_client_set_audit(&req.client, address, 1, principal, "Linux 6.12");
	if (r >= 0)
		r = nsr_store_apply(store, batch, 1);
	if (r >= 0)
		r = req.status;
	nsr_request_release(&req);
	return r;
}

static int apply_op(struct nsr_store *store, enum nsr_op op, int64_t time)
{
	struct nsr_request req;
	struct nsr_request *batch[1] = { &req };
	int r;

	nsr_request_init(&req, op);
	req.time = time;
	r = nsr_store_apply(store, batch, 1);
	return r < 0 ? r : req.status;
}

static int scenario_basic(struct nsr_store *store, int64_t now)
{
	static const uint8_t binary[] = { 0x00, 0x01, 0xfe, 0xff };
	uint8_t hash[NSR_PRINCHASH_LEN];
	int r = 0;

	memset(hash, 0xab, sizeof(hash));
	r |= apply_create(store, "alpha", 5, now - 7200, "192.0.2.1", NULL, NULL);
	r |= apply_create(store, "bravo", 5, now - 3600, "192.0.2.2", "nfs/bravo@EXAMPLE.ORG",
			  hash);
	r |= apply_create(store, binary, sizeof(binary), now - 600, "2001:db8::3", NULL, NULL);
	r |= apply_op(store, NSR_OP_GRACE_START, now - 60);
	r |= apply_create(store, "alpha", 5, now - 30, "192.0.2.1", NULL, NULL);
	return r;
}

static int scenario_shared(struct nsr_store *store, int64_t now)
{
	int r = 0;

	r |= apply_create(store, "pod-host", 8, now - 20, "198.51.100.1", NULL, NULL);
	r |= apply_create(store, "pod-host", 8, now - 10, "198.51.100.2", NULL, NULL);
	r |= nsr_store_note_scope(store, "scope-one", NULL) < 0;
	r |= nsr_store_note_scope(store, "scope-two", NULL) < 0;
	return r;
}

int main(int argc, char **argv)
{
	const struct nsr_store_options opts = { .create = true };
	struct nsr_store *store = NULL;
	char *dir = NULL, *db = NULL;
	int64_t now = time(NULL);
	int r;

	nsr_log_open("make-db", NSR_LOG_STDERR_PLAIN, LOG_WARNING);
	if (argc != 4) {
		fprintf(stderr, "usage: make-db STATE_DIR NAME basic|shared|empty\n");
		return 2;
	}

	r = nsr_serverdir_default(argv[1], argv[2], &dir);
	if (r >= 0)
		r = nsr_serverdir_create(dir);
	if (r >= 0)
		r = nsr_serverdir_db_path(dir, &db);
	if (r >= 0)
		r = nsr_store_open(db, &opts, &store);
	if (r >= 0)
		r = nsr_store_set_meta(store, "name", argv[2]);
	if (r < 0)
		return 1;

	if (strcmp(argv[3], "basic") == 0)
		r = scenario_basic(store, now);
	else if (strcmp(argv[3], "shared") == 0)
		r = scenario_shared(store, now);
	else if (strcmp(argv[3], "empty") != 0)
		r = -EINVAL;

	nsr_store_close(store);
	free(dir);
	free(db);
	return r ? 1 : 0;
}
