/* nsr-log.h: logging to syslog or stderr, with the negative-errno idiom. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "nsr-macro.h"

/*
 * Every module reports failure as a negative errno and logs it once, where
 * it is handled:
 *
 *	r = nsr_store_open(...);
 *	if (r < 0)
 *		return nsr_log_error_errno(r, "open %s: %m", path);
 *
 * The _errno variants set errno to -r before formatting, so "%m" prints the
 * error's text, and they return r, which is always negative.
 */

enum nsr_log_target {
	NSR_LOG_STDERR,		/* "TIME IDENT[LEVEL]: message", for daemons in the foreground */
	NSR_LOG_STDERR_PLAIN,	/* "IDENT: LEVEL: message", for command-line tools */
	NSR_LOG_SYSLOG,
};

/**
 * nsr_log_open - choose where log lines go
 * @ident: program name for syslog and the stderr prefix
 * @target: where lines go, see enum nsr_log_target
 * @max_level: the least severe syslog priority that is written
 */
void nsr_log_open(const char *ident, enum nsr_log_target target, int max_level);

void nsr_log_set_max_level(int max_level);
int nsr_log_get_max_level(void);

/**
 * nsr_log_internal - write one log line
 * @level: syslog priority
 * @error: a negative errno to expose to "%m", or 0
 * @fmt: printf format
 *
 * Returns @error when it is negative, or 0.
 */
int nsr_log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define nsr_log_debug(...) nsr_log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define nsr_log_info(...) nsr_log_internal(LOG_INFO, 0, __VA_ARGS__)
#define nsr_log_notice(...) nsr_log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define nsr_log_warning(...) nsr_log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define nsr_log_error(...) nsr_log_internal(LOG_ERR, 0, __VA_ARGS__)

#define nsr_log_debug_errno(r, ...) nsr_log_internal(LOG_DEBUG, nsr_neg_errno(r), __VA_ARGS__)
#define nsr_log_info_errno(r, ...) nsr_log_internal(LOG_INFO, nsr_neg_errno(r), __VA_ARGS__)
#define nsr_log_warning_errno(r, ...) nsr_log_internal(LOG_WARNING, nsr_neg_errno(r), __VA_ARGS__)
#define nsr_log_error_errno(r, ...) nsr_log_internal(LOG_ERR, nsr_neg_errno(r), __VA_ARGS__)

/* Accept an errno of either sign and return it negative, never 0. */
static inline int nsr_neg_errno(int r)
{
	if (r > 0)
		return -r;
	if (r == 0)
		return -EIO;
	return r;
}
