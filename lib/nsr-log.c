/* nsr-log.c: logging to syslog or stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nsr-log.h"

static enum nsr_log_target log_target = NSR_LOG_STDERR;
static int log_max_level = LOG_INFO;
static const char *log_ident = "nsrecovery";

void nsr_log_open(const char *ident, enum nsr_log_target target, int max_level)
{
	log_ident = ident;
	log_target = target;
	log_max_level = max_level;

	if (target == NSR_LOG_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void nsr_log_set_max_level(int max_level)
{
	log_max_level = max_level;
}

int nsr_log_get_max_level(void)
{
	return log_max_level;
}

static const char *log_level_name(int level)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
		[LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
	};

	if (level < 0 || level > LOG_DEBUG)
		return "log";
	return names[level];
}

int nsr_log_internal(int level, int error, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int saved_errno = errno;

	if (level > log_max_level)
		goto out;

	/* Make "%m" print the error being reported, not a stale errno. */
	errno = error < 0 ? -error : saved_errno;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	if (log_target == NSR_LOG_SYSLOG) {
		syslog(level, "%s", line);
	} else if (log_target == NSR_LOG_STDERR_PLAIN) {
		fprintf(stderr, "%s: %s%s%s\n", log_ident, level <= LOG_WARNING ? log_level_name(level) : "",
			level <= LOG_WARNING ? ": " : "", line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s[%s]: %s\n", stamp, ts.tv_nsec / 1000000, log_ident,
			log_level_name(level), line);
	}

out:
	errno = saved_errno;
	return error < 0 ? error : 0;
}
