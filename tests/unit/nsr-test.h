/* nsr-test.h: helpers shared by the check unit tests. */
#pragma once

#include <check.h>

/*
 * Create a fresh empty directory under $TMPDIR (or /tmp) for one test and
 * return its malloc'ed path. The directory is removed by nsr_test_rmtree().
 */
char *nsr_test_mkdtemp(void);

/* Remove @path and everything below it; errors are ignored. */
void nsr_test_rmtree(const char *path);

/* Run @suite with CK_NORMAL output and return the process exit code. */
int nsr_test_run(Suite *suite);
