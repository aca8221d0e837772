/* ctl-import-legacy.c: nsrecoveryctl import-legacy: bring nfsdcld, nfsdcltrack or v4recovery clients over. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "nsr-import.h"
#include "nsr-log.h"

/*
 * import-legacy SERVER FORMAT PATH reads the source and reports what an
 * import would do; with --yes it also writes. Reporting first is the
 * default because an import cannot be undone, except by "forget" per client.
 */

static void print_summary_text(const struct nsr_import_set *set, const char *server,
			       const struct nsr_import_summary *s, bool written)
{
	printf("%s %s into server %s:\n", written ? "Imported" : "Would import", set->source,
	       server);
	if (set->schema_version)
		printf("  source schema version  %d\n", set->schema_version);
	printf("  %-22s %llu\n", written ? "imported" : "to import", (unsigned long long)s->imported);
	printf("  %-22s %llu\n", "already present", (unsigned long long)s->present);
	printf("  %-22s %llu\n", "skipped", (unsigned long long)s->skipped);
	for (size_t i = 0; i < set->n_skips; i++) {
		_cleanup_free_ char *id = ctl_printable(set->skips[i].id);

		printf("    %s: %s\n", id ? id : "?", set->skips[i].reason);
	}
	if (set->n_legacy_hashes)
		printf("  %zu records are MD5 digests of client ids (\"hash:\" form). nfsd matches them\n"
		       "  only over the cld pipe, on kernels with CONFIG_NFSD_LEGACY_CLIENT_TRACKING.\n",
		       set->n_legacy_hashes);
	if (!written)
		printf("Nothing was written; run again with --yes to import.\n");
}

static int print_summary_json(const struct nsr_import_set *set, const char *server,
			      const struct nsr_import_summary *s, bool written)
{
	json_t *root = json_object(), *skips = json_array();

	if (!root || !skips) {
		json_decref(root);
		json_decref(skips);
		return -ENOMEM;
	}
	for (size_t i = 0; i < set->n_skips; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "id", ctl_json_text(set->skips[i].id));
		json_object_set_new(o, "reason", ctl_json_text(set->skips[i].reason));
		json_array_append_new(skips, o);
	}
	json_object_set_new(root, "server", ctl_json_text(server));
	json_object_set_new(root, "format", json_string(nsr_import_format_name(set->format)));
	json_object_set_new(root, "source", ctl_json_text(set->path));
	json_object_set_new(root, "schema_version", json_integer(set->schema_version));
	json_object_set_new(root, "written", json_boolean(written));
	json_object_set_new(root, "imported", json_integer((json_int_t)s->imported));
	json_object_set_new(root, "already_present", json_integer((json_int_t)s->present));
	json_object_set_new(root, "skipped", json_integer((json_int_t)s->skipped));
	json_object_set_new(root, "legacy_hashes", json_integer((json_int_t)set->n_legacy_hashes));
	json_object_set_new(root, "skips", skips);
	return ctl_json_print(root);
}

int ctl_cmd_import_legacy(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_import_set set = { 0 };
	struct nsr_import_summary summary;
	enum nsr_import_format format;
	struct nsr_store *store = NULL;
	bool write = ctx->opts.yes;
	int r;

	if (nsr_import_format_from_string(argv[1], &format) < 0) {
		fprintf(stderr, "nsrecoveryctl: unknown source format '%s'; use nfsdcld, "
			"nfsdcltrack or v4recovery.\n", argv[1]);
		return CTL_EXIT_USAGE;
	}

	r = nsr_import_read(format, argv[2], &set);
	if (r < 0)
		return r == -ENOENT ? CTL_EXIT_NOT_FOUND : CTL_EXIT_FAILURE;

	r = ctl_open_server(ctx, argv[0], write, &store, &name);
	if (r < 0) {
		nsr_import_set_release(&set);
		if (r == -ENOENT)
			nsr_log_error("start nsrecoveryd once so that it creates server %s, or set "
				      "import-from in its [nsrecoveryd-netns] section to import at "
				      "its first start", argv[0]);
		return ctl_exit_code(r);
	}

	r = nsr_import_apply(store, &set, !write, &summary);
	if (r < 0)
		nsr_log_error_errno(r, "importing %s into server %s failed: %m; nothing was written",
				    set.source, name);
	else if (ctx->opts.json)
		r = print_summary_json(&set, name, &summary, write);
	else
		print_summary_text(&set, name, &summary, write);

	nsr_store_close(store);
	nsr_import_set_release(&set);
	return r < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}
