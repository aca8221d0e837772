/* fuzz-import.c: libFuzzer target for the legacy importers: nfsdcld and nfsdcltrack databases, v4recovery names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsr-import.h"
#include "nsr-log.h"

/*
 * The first input byte selects what the rest is: 0 a v4recovery entry name,
 * 1 an nfsdcld main.sqlite, 2 an nfsdcltrack main.sqlite. Database bytes
 * are written to a scratch directory, because the importers read files.
 */
enum {
	FUZZ_V4RECOVERY_NAME,
	FUZZ_NFSDCLD_DB,
	FUZZ_NFSDCLTRACK_DB,
	FUZZ_MODES,
};

static char scratch_dir[] = "/tmp/fuzz-import-XXXXXX";
static char db_path[sizeof(scratch_dir) + 16];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* Every rejected input is logged as an error; keep the fuzzer's output readable. */
	nsr_log_open("fuzz-import", NSR_LOG_STDERR, LOG_EMERG);

	if (!mkdtemp(scratch_dir))
		abort();
	snprintf(db_path, sizeof(db_path), "%s/main.sqlite", scratch_dir);
	return 0;
}

static void fuzz_v4recovery_name(const uint8_t *data, size_t size)
{
	uint8_t id[NSR_IMPORT_HASH_ID_LEN];
	char *name = strndup((const char *)data, size);

	if (!name)
		return;
	if (nsr_import_parse_v4recovery_name(name, id) == 0 && memcmp(id, "hash:", 5) != 0)
		abort(); /* an accepted name always becomes the "hash:" form */
	free(name);
}

static void fuzz_database(enum nsr_import_format format, const uint8_t *data, size_t size)
{
	struct nsr_import_set set = { 0 };
	FILE *f;

	f = fopen(db_path, "we");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);

	if (nsr_import_read(format, db_path, &set) == 0) {
		for (size_t i = 0; i < set.n_recs; i++)
			if (set.recs[i].rec.id_len == 0 || set.recs[i].rec.id_len > NSR_CLIENTID_MAX)
				abort(); /* records the kernel would reject must have been skipped */
	}
	nsr_import_set_release(&set);
	unlink(db_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;

	switch (data[0] % FUZZ_MODES) {
	case FUZZ_V4RECOVERY_NAME:
		fuzz_v4recovery_name(data + 1, size - 1);
		break;
	case FUZZ_NFSDCLD_DB:
		fuzz_database(NSR_IMPORT_NFSDCLD, data + 1, size - 1);
		break;
	case FUZZ_NFSDCLTRACK_DB:
		fuzz_database(NSR_IMPORT_NFSDCLTRACK, data + 1, size - 1);
		break;
	}
	return 0;
}
