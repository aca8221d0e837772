/* nsr-test.c: helpers shared by the check unit tests. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsr-log.h"
#include "nsr-test.h"

char *nsr_test_mkdtemp(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (asprintf(&path, "%s/nsr-test-XXXXXX", tmp) < 0)
		return NULL;
	if (!mkdtemp(path)) {
		free(path);
		return NULL;
	}
	return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void nsr_test_rmtree(const char *path)
{
	if (path)
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int nsr_test_run(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	nsr_log_open("test", NSR_LOG_STDERR, getenv("NSR_TEST_DEBUG") ? LOG_DEBUG : LOG_WARNING);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
