/* fuzz-conf.c: libFuzzer target for the nfs.conf parser and the settings built on it. */
#include <stddef.h>
#include <stdint.h>

#include "nsr-conf.h"
#include "nsr-log.h"
#include "nsr-settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_read_entry(const struct nsr_conf_entry *e, void *ctx)
{
	const struct nsr_conf *conf = ctx;
	int64_t v;
	bool b;

	/* Both getters must reject or accept any value without crashing. */
	(void)nsr_conf_get_int(conf, e->section, e->argument, e->key, 0, INT64_MIN, INT64_MAX, &v);
	(void)nsr_conf_get_bool(conf, e->section, e->argument, e->key, false, &b);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	struct nsr_settings settings = {};

	/* Errors are expected on most inputs; writing them out only slows the fuzzer. */
	nsr_log_open("fuzz-conf", NSR_LOG_STDERR, LOG_CRIT);

	if (nsr_conf_new(&conf) < 0)
		return 0;

	/* Includes would read files of the machine running the fuzzer. */
	(void)nsr_conf_parse_buffer(conf, "fuzz.conf", (const char *)data, size,
				    NSR_CONF_NO_INCLUDE);

	nsr_conf_foreach_entry(conf, NULL, fuzz_read_entry, conf);
	if (nsr_settings_load(&settings, conf) == 0)
		nsr_settings_release(&settings);
	return 0;
}
