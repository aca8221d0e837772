/* ctl-export.c: nsrecoveryctl export and import: a server's records as JSON, and back. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "nsr-client.h"
#include "nsr-config.h"
#include "nsr-log.h"
#include "nsr-macro.h"
#include "nsr-serverdir.h"

/* docs/export-format.md describes this format; bump the version on any incompatible change. */
#define CTL_EXPORT_FORMAT "nsrecoveryd-export"
#define CTL_EXPORT_VERSION 1

/* Set @key to @value, which this call owns; failure means out of memory. */
static int ctl_json_put(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value) < 0 ? -ENOMEM : 0;
}

json_t *ctl_record_json(const struct nsr_record *rec, const struct nsr_grace_state *grace)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	char id[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	char hash[2 * NSR_PRINCHASH_LEN + 1];
	int r = 0;

	if (!o)
		return NULL;

	nsr_clientid_format(rec->id, rec->id_len, id);
	nsr_princhash_format(rec->princhash, rec->princhash_len, hash);

	r |= ctl_json_put(o, "epoch", json_integer(rec->epoch));
	r |= ctl_json_put(o, "state", json_string(ctl_epoch_state(grace, rec->epoch)));
	r |= ctl_json_put(o, "id", ctl_json_text(id));
	r |= ctl_json_put(o, "id_hex", json_string(ctl_clientid_hex(rec->id, rec->id_len, hex)));
	r |= ctl_json_put(o, "princhash", rec->princhash_len ? json_string(hash) : json_null());
	r |= ctl_json_set_time(o, "first_seen", rec->first_seen);
	r |= ctl_json_set_time(o, "last_seen", rec->last_seen);
	r |= ctl_json_put(o, "address", ctl_json_text(rec->address));
	r |= ctl_json_put(o, "minor_version",
			  rec->minor_version >= 0 ? json_integer(rec->minor_version) : json_null());
	r |= ctl_json_put(o, "principal", ctl_json_text(rec->principal));
	r |= ctl_json_put(o, "impl_id", ctl_json_text(rec->impl_id));
	return r ? NULL : NSR_TAKE_PTR(o);
}

json_t *ctl_event_json(const struct nsr_event *ev)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	char id[NSR_CLIENTID_TEXT_MAX], hex[NSR_CLIENTID_TEXT_MAX];
	int r = 0;

	if (!o)
		return NULL;

	r |= ctl_json_put(o, "seq", json_integer(ev->seq));
	r |= ctl_json_set_time(o, "time", ev->time);
	r |= ctl_json_put(o, "type", json_string(nsr_event_type_name(ev->type)));
	if (ev->id && ev->id_len) {
		nsr_clientid_format(ev->id, ev->id_len, id);
		r |= ctl_json_put(o, "id", ctl_json_text(id));
		r |= ctl_json_put(o, "id_hex",
				  json_string(ctl_clientid_hex(ev->id, ev->id_len, hex)));
	} else {
		r |= ctl_json_put(o, "id", json_null());
		r |= ctl_json_put(o, "id_hex", json_null());
	}
	r |= ctl_json_put(o, "epoch", json_integer(ev->epoch));
	r |= ctl_json_put(o, "detail", ctl_json_text(ev->detail));
	return r ? NULL : NSR_TAKE_PTR(o);
}

/* ---- export -------------------------------------------------------------- */

struct ctl_export_walk {
	const struct nsr_grace_state *grace;
	json_t *array;
};

static int ctl_export_record(const struct nsr_record *rec, void *userdata)
{
	struct ctl_export_walk *w = userdata;

	return json_array_append_new(w->array, ctl_record_json(rec, w->grace)) < 0 ? -ENOMEM : 0;
}

static int ctl_export_event(const struct nsr_event *ev, void *userdata)
{
	struct ctl_export_walk *w = userdata;

	return json_array_append_new(w->array, ctl_event_json(ev)) < 0 ? -ENOMEM : 0;
}

static json_t *ctl_export_grace(const struct nsr_grace_state *g)
{
	json_t *o = json_object();
	int r = 0;

	if (!o)
		return NULL;
	r |= ctl_json_put(o, "current_epoch", json_integer(g->current_epoch));
	r |= ctl_json_put(o, "recovery_epoch", json_integer(g->recovery_epoch));
	r |= ctl_json_put(o, "in_progress", json_boolean(g->recovery_epoch != 0));
	r |= ctl_json_set_time(o, "grace_started", g->grace_started);
	r |= ctl_json_put(o, "boot_time", json_integer(g->boot_time));
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *ctl_export_server(struct nsr_store *store, const char *name)
{
	_cleanup_free_ char *scope = NULL;
	json_t *o = json_object();
	int r = 0;

	if (!o)
		return NULL;
	nsr_store_get_meta(store, "scope", &scope);
	r |= ctl_json_put(o, "name", ctl_json_text(name));
	r |= ctl_json_put(o, "scope", ctl_json_text(scope));
	r |= ctl_json_put(o, "schema_version", json_integer(nsr_store_schema_version(store)));
	if (r) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Build the whole document from one read transaction's worth of state. */
static int ctl_export_build(struct ctl_context *ctx, struct nsr_store *store, const char *name,
			    json_t **ret)
{
	_cleanup_(json_decrefp) json_t *root = json_object();
	struct nsr_grace_state grace;
	struct ctl_export_walk w = { .grace = &grace };
	int r = 0;

	if (!root)
		return -ENOMEM;

	r = nsr_store_get_grace(store, &grace);
	if (r < 0)
		return r;

	r |= ctl_json_put(root, "format", json_string(CTL_EXPORT_FORMAT));
	r |= ctl_json_put(root, "format_version", json_integer(CTL_EXPORT_VERSION));
	r |= ctl_json_put(root, "generator", json_string("nsrecoveryctl " NSR_VERSION));
	r |= ctl_json_set_time(root, "exported_at", time(NULL));
	r |= ctl_json_put(root, "server", ctl_export_server(store, name));
	r |= ctl_json_put(root, "grace", ctl_export_grace(&grace));
	r |= ctl_json_put(root, "records", w.array = json_array());
	if (r)
		return -ENOMEM;

	r = nsr_store_foreach_client(store, NSR_EPOCH_ALL, ctl_export_record, &w);
	if (r < 0)
		return r;

	if (ctx->opts.events) {
		if (ctl_json_put(root, "events", w.array = json_array()) < 0)
			return -ENOMEM;
		r = nsr_store_foreach_event(store, 0, ctl_export_event, &w);
		if (r < 0)
			return r;
	}

	*ret = NSR_TAKE_PTR(root);
	return 0;
}

int ctl_cmd_export(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_free_ char *name = NULL;
	struct nsr_store *store = NULL;
	json_t *root = NULL;
	int r;

	r = ctl_open_server(ctx, argv[0], false, &store, &name);
	if (r < 0)
		return ctl_exit_code(r);

	r = ctl_export_build(ctx, store, name, &root);
	nsr_store_close(store);
	if (r >= 0)
		r = ctl_json_print(root);
	if (r < 0)
		return ctl_read_failed(r, "export", name);
	return CTL_EXIT_OK;
}

/* ---- import -------------------------------------------------------------- */

/* The parsed records, with the strings they point into kept alive by the JSON document. */
struct ctl_import {
	const char *file;
	struct nsr_grace_state grace;
	struct nsr_import_record *recs;
	uint8_t (*ids)[NSR_CLIENTID_MAX];
	uint8_t (*hashes)[NSR_PRINCHASH_LEN];
	size_t n;
	size_t skipped;		/* stale records, which no server state refers to */
};

static void ctl_import_release(struct ctl_import *im)
{
	free(im->recs);
	free(im->ids);
	free(im->hashes);
}

static int ctl_import_invalid(const struct ctl_import *im, size_t i, const char *what)
{
	return nsr_log_error_errno(-EINVAL, "%s: record %zu: %s; fix the file or export it "
				   "again", im->file, i, what);
}

/* An optional string member: absent or null gives NULL. */
static int ctl_import_string(json_t *o, const char *key, const char **ret)
{
	json_t *v = json_object_get(o, key);

	*ret = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*ret = json_string_value(v);
	return 0;
}

static int ctl_import_int(json_t *o, const char *key, bool required, int64_t *ret)
{
	json_t *v = json_object_get(o, key);

	*ret = 0;
	if (!v || json_is_null(v))
		return required ? -EINVAL : 0;
	if (!json_is_integer(v))
		return -EINVAL;
	*ret = json_integer_value(v);
	return 0;
}

static int ctl_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode an optional "0x" and 2 to 2 * @max hex digits into @out. */
static int ctl_import_hex(const char *text, uint8_t *out, size_t max, size_t *len)
{
	size_t n;

	if (strncmp(text, "0x", 2) == 0)
		text += 2;
	n = strlen(text);
	if (n == 0 || n % 2 || n / 2 > max)
		return -EINVAL;

	for (size_t i = 0; i < n / 2; i++) {
		int hi = ctl_hex_digit(text[2 * i]), lo = ctl_hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

static int ctl_import_id(struct ctl_import *im, json_t *o, size_t i, struct nsr_record *rec)
{
	const char *hex = NULL, *text = NULL;
	size_t len = 0;

	if (ctl_import_string(o, "id_hex", &hex) < 0 || ctl_import_string(o, "id", &text) < 0)
		return ctl_import_invalid(im, i, "\"id\" and \"id_hex\" must be strings");

	/* id_hex is exact; id may have lost bytes that were not valid UTF-8. */
	if (hex) {
		if (ctl_import_hex(hex, im->ids[im->n], NSR_CLIENTID_MAX, &len) < 0)
			return ctl_import_invalid(im, i, "\"id_hex\" is not 1 to 1024 bytes of hex");
	} else if (text) {
		if (nsr_clientid_parse(text, im->ids[im->n], &len) < 0)
			return ctl_import_invalid(im, i, "\"id\" is not a valid client id");
	} else {
		return ctl_import_invalid(im, i, "the record has neither \"id_hex\" nor \"id\"");
	}

	rec->id = im->ids[im->n];
	rec->id_len = len;
	return 0;
}

static int ctl_import_fields(struct ctl_import *im, json_t *o, size_t i, struct nsr_record *rec)
{
	const char *hash = NULL;
	int64_t minor = -1;
	size_t len = 0;

	if (ctl_import_string(o, "princhash", &hash) < 0)
		return ctl_import_invalid(im, i, "\"princhash\" must be a string or null");
	if (hash) {
		if (ctl_import_hex(hash, im->hashes[im->n], NSR_PRINCHASH_LEN, &len) < 0 ||
		    len != NSR_PRINCHASH_LEN)
			return ctl_import_invalid(im, i, "\"princhash\" must be 64 hex digits");
		rec->princhash = im->hashes[im->n];
		rec->princhash_len = len;
	}

	if (ctl_import_int(o, "epoch", true, &rec->epoch) < 0 ||
	    ctl_import_int(o, "first_seen_epoch", true, &rec->first_seen) < 0 ||
	    ctl_import_int(o, "last_seen_epoch", true, &rec->last_seen) < 0)
		return ctl_import_invalid(im, i, "\"epoch\", \"first_seen_epoch\" and "
					  "\"last_seen_epoch\" must be integers");

	if (json_is_integer(json_object_get(o, "minor_version")))
		minor = json_integer_value(json_object_get(o, "minor_version"));
	if (minor < -1 || minor > INT32_MAX)
		return ctl_import_invalid(im, i, "\"minor_version\" is out of range");
	rec->minor_version = minor;

	if (ctl_import_string(o, "address", &rec->address) < 0 ||
	    ctl_import_string(o, "principal", &rec->principal) < 0 ||
	    ctl_import_string(o, "impl_id", &rec->impl_id) < 0)
		return ctl_import_invalid(im, i, "\"address\", \"principal\" and \"impl_id\" must "
					  "be strings or null");
	return 0;
}

static int ctl_import_record(struct ctl_import *im, json_t *o, size_t i)
{
	struct nsr_import_record *ir = &im->recs[im->n];
	const char *state = NULL;
	int r;

	if (!json_is_object(o))
		return ctl_import_invalid(im, i, "a record must be a JSON object");
	if (ctl_import_string(o, "state", &state) < 0 || !state)
		return ctl_import_invalid(im, i, "\"state\" must be current, reclaimable or stale");

	if (strcmp(state, "stale") == 0) {
		im->skipped++;
		return 0;
	}
	if (strcmp(state, "current") == 0)
		ir->role = NSR_IMPORT_CURRENT;
	else if (strcmp(state, "reclaimable") == 0)
		ir->role = NSR_IMPORT_RECLAIMABLE;
	else
		return ctl_import_invalid(im, i, "\"state\" must be current, reclaimable or stale");

	ir->rec = (struct nsr_record){ .minor_version = -1 };
	r = ctl_import_id(im, o, i, &ir->rec);
	if (r < 0)
		return r;
	r = ctl_import_fields(im, o, i, &ir->rec);
	if (r < 0)
		return r;
	im->n++;
	return 0;
}

static int ctl_import_header(struct ctl_import *im, json_t *root)
{
	json_t *format = json_object_get(root, "format");
	json_t *version = json_object_get(root, "format_version");
	json_t *grace = json_object_get(root, "grace");

	if (!json_is_string(format) || strcmp(json_string_value(format), CTL_EXPORT_FORMAT) != 0)
		return nsr_log_error_errno(-EINVAL, "%s is not an nsrecoveryctl export: its "
					   "\"format\" is not \"%s\"", im->file, CTL_EXPORT_FORMAT);
	if (!json_is_integer(version) || json_integer_value(version) < 1)
		return nsr_log_error_errno(-EINVAL, "%s: \"format_version\" must be a positive "
					   "integer", im->file);
	if (json_integer_value(version) > CTL_EXPORT_VERSION)
		return nsr_log_error_errno(-EPROTO, "%s has export format version %" JSON_INTEGER_FORMAT
					   ", newer than version %d, the latest this program reads: "
					   "import it with a newer nsrecoveryctl", im->file,
					   json_integer_value(version), CTL_EXPORT_VERSION);

	if (!json_is_object(grace) ||
	    ctl_import_int(grace, "current_epoch", true, &im->grace.current_epoch) < 0 ||
	    ctl_import_int(grace, "recovery_epoch", true, &im->grace.recovery_epoch) < 0 ||
	    ctl_import_int(grace, "grace_started_epoch", false, &im->grace.grace_started) < 0 ||
	    ctl_import_int(grace, "boot_time", false, &im->grace.boot_time) < 0)
		return nsr_log_error_errno(-EINVAL, "%s: \"grace\" must be an object with integer "
					   "\"current_epoch\" and \"recovery_epoch\"", im->file);
	return 0;
}

static int ctl_import_parse(struct ctl_import *im, json_t *root)
{
	json_t *records = json_object_get(root, "records");
	size_t n;
	int r;

	r = ctl_import_header(im, root);
	if (r < 0)
		return r;
	if (!json_is_array(records))
		return nsr_log_error_errno(-EINVAL, "%s: \"records\" must be an array", im->file);

	n = json_array_size(records);
	im->recs = calloc(n ?: 1, sizeof(*im->recs));
	im->ids = calloc(n ?: 1, sizeof(*im->ids));
	im->hashes = calloc(n ?: 1, sizeof(*im->hashes));
	if (!im->recs || !im->ids || !im->hashes)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		r = ctl_import_record(im, json_array_get(records, i), i);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Open SERVER read-write. With --create a server that does not exist yet is
 * created: STATE_DIR/NAME for a name, or the named directory, so that an
 * export can be restored on a fresh host. Without it a mistyped name fails
 * instead of leaving a stray server directory behind.
 */
static int ctl_import_open(struct ctl_context *ctx, const char *arg, struct nsr_store **ret,
			   char **ret_name)
{
	const struct nsr_store_options opts = {
		.create = true,
		.client_lease_time = ctx->settings.audit_lease_time,
	};
	_cleanup_free_ char *dir = NULL, *db = NULL;
	int r;

	if (!ctx->opts.create) {
		r = ctl_open_server(ctx, arg, true, ret, ret_name);
		if (r == -ENOENT)
			nsr_log_error("add --create to create server %s from the file", arg);
		return r;
	}

	if (strchr(arg, '/')) {
		dir = strdup(arg);
		if (!dir)
			return -ENOMEM;
	} else {
		r = nsr_server_name_check(arg);
		if (r < 0)
			return nsr_log_error_errno(r, "invalid server name '%s': use 1 to 255 "
						   "printable ASCII characters", arg);
		r = nsr_serverdir_default(ctx->state_dir, arg, &dir);
		if (r < 0)
			return r;
	}

	r = nsr_serverdir_create(dir);
	if (r < 0)
		return r;
	r = nsr_serverdir_db_path(dir, &db);
	if (r < 0)
		return r;
	if (access(db, F_OK) == 0)
		return ctl_open_server(ctx, arg, true, ret, ret_name);

	r = nsr_store_open(db, &opts, ret);
	if (r < 0)
		return r;
	if (!strchr(arg, '/')) {
		r = nsr_store_set_meta(*ret, "name", arg);
		if (r < 0)
			return r;
	}
	*ret_name = strdup(arg);
	return *ret_name ? 0 : -ENOMEM;
}

/*
 * Read @path as JSON. Returns 0, or a logged -ENOENT (exit code 3) or other
 * negative errno. Only a syntax error is reported as LINE:COLUMN.
 */
static int ctl_import_load(const char *path, json_t **ret)
{
	_cleanup_fclose_ FILE *f = NULL;
	json_error_t error;
	struct stat st;

	f = fopen(path, "re");
	if (!f && errno == ENOENT)
		return nsr_log_error_errno(-ENOENT, "import file %s not found: %m; give the path "
					   "of a file that 'nsrecoveryctl export' wrote", path);
	if (!f)
		return nsr_log_error_errno(-errno, "open import file %s: %m", path);
	if (fstat(fileno(f), &st) < 0)
		return nsr_log_error_errno(-errno, "read import file %s: %m", path);
	if (S_ISDIR(st.st_mode))
		return nsr_log_error_errno(-EISDIR, "import file %s is a directory; give the path "
					   "of a file that 'nsrecoveryctl export' wrote", path);

	*ret = json_loadf(f, JSON_REJECT_DUPLICATES, &error);
	if (!*ret && ferror(f))
		return nsr_log_error_errno(-EIO, "read import file %s: %m", path);
	if (!*ret)
		return nsr_log_error_errno(-EINVAL, "%s:%d:%d: not valid JSON: %s", path,
					   error.line, error.column, error.text);
	return 0;
}

int ctl_cmd_import(struct ctl_context *ctx, int argc, char **argv)
{
	_cleanup_(json_decrefp) json_t *root = NULL;
	_cleanup_free_ char *name = NULL;
	struct ctl_import im = { .file = argv[1] };
	struct nsr_import_result res = {};
	struct nsr_store *store = NULL;
	int r;

	r = ctl_import_load(argv[1], &root);
	if (r < 0)
		return ctl_exit_code(r);

	r = ctl_import_parse(&im, root);
	if (r >= 0)
		r = ctl_import_open(ctx, argv[0], &store, &name);
	if (r >= 0)
		r = nsr_store_import(store, &im.grace, im.recs, im.n, argv[1], &res);
	nsr_store_close(store);
	ctl_import_release(&im);
	if (r < 0)
		return ctl_exit_code(r);

	printf("Imported %s into server %s: %" PRIu64 " record%s added, %" PRIu64 " already "
	       "present%s%s.\n", argv[1], name, res.added, res.added == 1 ? "" : "s", res.updated,
	       res.adopted_grace ? ", grace state adopted from the file" : "",
	       im.skipped ? ", stale records skipped" : "");
	return CTL_EXIT_OK;
}
