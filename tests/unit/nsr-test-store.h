/* nsr-test-store.h: fixture helpers for the unit tests that open a store file. */
#pragma once

#include "nsr-store.h"

/*
 * Create a fresh test directory in *@dir and set *@db_path to the store
 * file NSR_STORE_DB_NAME inside it, which is not created. Both strings are
 * malloc'ed. Fails the test when either step fails.
 */
void nsr_test_store_setup(char **dir, char **db_path);

/* Remove *@dir with everything in it, free both strings and set them to NULL. */
void nsr_test_store_teardown(char **dir, char **db_path);

/* Open the store at @path with @opts, failing the test unless that returns 0. */
struct nsr_store *nsr_test_store_open(const char *path, const struct nsr_store_options *opts);
