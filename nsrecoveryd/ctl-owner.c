/* ctl-owner.c: nsrecoveryctl owner, takeover and release: the ownership lease of a server. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "nsr-log.h"
#include "nsr-macro.h"

/* The node named with --node, or the configured node-id. */
static const char *ctl_node(const struct ctl_context *ctx)
{
	return ctx->opts.node ? ctx->opts.node : ctx->settings.node_id;
}

static int64_t ctl_lease(const struct ctl_context *ctx)
{
	return ctx->opts.lease ? ctx->opts.lease : ctx->settings.ownership_lease;
}

static void ctl_owner_print(struct ctl_context *ctx, const char *name, const struct nsr_owner *o,
			    bool found)
{
	int64_t now = time(NULL);
	char until[32];

	if (ctx->opts.json) {
		json_t *root = json_pack("{s:o, s:o, s:o, s:s}", "server", ctl_json_text(name),
					 "node_id", found ? ctl_json_text(o->node_id) : json_null(),
					 "generation", found ? json_integer(o->generation) : json_null(),
					 "state", found ? ctl_owner_state(o, now) : "none");

		if (root && ctl_json_set_time(root, "expires", found ? o->expires : 0) < 0) {
			json_decref(root);
			root = NULL;
		}
		ctl_json_print(root);
		return;
	}

	if (!found) {
		printf("Server %s: no node has owned it yet.\n", name);
		return;
	}
	printf("Server %s: node %s, generation %" PRId64 ", %s%s%s\n", name, o->node_id,
	       o->generation, ctl_owner_state(o, now), o->expires ? " until " : "",
	       o->expires ? ctl_format_time(o->expires, until) : "");
}

int ctl_cmd_owner(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_store *store = NULL;
	struct nsr_owner owner = {};
	bool found;
	int r;

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	r = nsr_store_get_owner(store, &owner);
	nsr_store_close(store);
	if (r < 0 && r != -ENOENT)
		return CTL_EXIT_FAILURE;	/* the store logged it */
	found = r == 0;
	ctl_owner_print(ctx, name, &owner, found);

	/* With --node, the exit status tells scripts whether NODE owns the server. */
	if (ctx->opts.node && (!found || owner.expires == 0 ||
			       strcmp(owner.node_id, ctx->opts.node) != 0))
		return CTL_EXIT_NOT_OWNER;
	return CTL_EXIT_OK;
}

int ctl_cmd_takeover(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_store *store = NULL;
	struct nsr_owner owner;
	int r;

	r = ctl_open_server(ctx, argv[0], true, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	/* acquire() logs the takeover with the node it fences. */
	r = nsr_store_acquire(store, ctl_node(ctx), ctl_lease(ctx), true);
	if (r >= 0)
		r = nsr_store_held_owner(store, &owner);
	nsr_store_close(store);
	if (r < 0)
		return CTL_EXIT_FAILURE;

	ctl_owner_print(ctx, name, &owner, true);
	return CTL_EXIT_OK;
}

int ctl_cmd_release(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_store *store = NULL;
	struct nsr_owner owner = {};
	int r;

	r = ctl_open_server(ctx, argv[0], true, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	/* Another node's live lease is not ours to release; acquire() below re-checks it. */
	if (nsr_store_get_owner(store, &owner) == 0 && owner.expires > time(NULL) &&
	    strcmp(owner.node_id, ctl_node(ctx)) != 0) {
		nsr_store_close(store);
		printf("Server %s is owned by node %s, not %s; nothing to release.\n", name,
		       owner.node_id, ctl_node(ctx));
		return CTL_EXIT_OK;
	}

	/*
	 * Acquiring first bumps the generation, so every older handle of this
	 * node is fenced, such as a daemon that still has the server open.
	 * The release then lets any node acquire at once.
	 */
	r = nsr_store_acquire(store, ctl_node(ctx), ctl_lease(ctx), false);
	if (r == -EBUSY) {
		nsr_store_get_owner(store, &owner);
		nsr_store_close(store);
		printf("Server %s is owned by node %s, not %s; nothing to release.\n", name,
		       owner.node_id, ctl_node(ctx));
		return CTL_EXIT_OK;
	}
	if (r >= 0)
		r = nsr_store_release(store);
	if (r >= 0)
		r = nsr_store_get_owner(store, &owner);
	nsr_store_close(store);
	if (r < 0)
		return CTL_EXIT_FAILURE;

	ctl_owner_print(ctx, name, &owner, true);
	return CTL_EXIT_OK;
}
