/* nsr-test-store.c: fixture helpers for the unit tests that open a store file. */
#include <stdio.h>
#include <stdlib.h>

#include "nsr-test-store.h"
#include "nsr-test.h"

void nsr_test_store_setup(char **dir, char **db_path)
{
	*dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(*dir);
	ck_assert_int_ge(asprintf(db_path, "%s/%s", *dir, NSR_STORE_DB_NAME), 0);
}

void nsr_test_store_teardown(char **dir, char **db_path)
{
	nsr_test_rmtree(*dir);
	free(*dir);
	free(*db_path);
	*dir = NULL;
	*db_path = NULL;
}

struct nsr_store *nsr_test_store_open(const char *path, const struct nsr_store_options *opts)
{
	struct nsr_store *store = NULL;

	ck_assert_int_eq(nsr_store_open(path, opts, &store), 0);
	return store;
}
