/* nsr-schema.h: the schema migrations, embedded from the numbered SQL files in schema/. */
#pragma once

/*
 * Step i upgrades a database from schema version i to i + 1, so
 * nsr_schema_steps[k].version == k + 1 and the latest version equals
 * nsr_schema_step_count.
 */
struct nsr_schema_step {
	int version;
	const char *name;
	const char *sql;
};

extern const struct nsr_schema_step nsr_schema_steps[];
extern const unsigned int nsr_schema_step_count;
