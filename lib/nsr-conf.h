/* nsr-conf.h: the nfs.conf-style configuration parser. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nsr-macro.h"

/*
 * The format is the one nfs-utils programs read from /etc/nfs.conf and the
 * *.conf files in /etc/nfs.conf.d:
 *
 *	# comment               ; comment
 *	[section]
 *	key = value
 *	[section "argument"]
 *	key = "quoted value"    # trailing comment
 *
 * Section and key names are case-insensitive and stored in lower case. An
 * argument is case-sensitive. Leading and trailing blanks are trimmed, and
 * one pair of matching single or double quotes around a value is removed.
 * Outside quotes, a '#' or ';' that follows a blank starts a comment. An
 * empty value is kept and overrides an earlier one. "include = FILE" reads
 * FILE in place of that line ("-FILE" when a missing FILE is fine).
 *
 * When a key is set again for the same section and argument, the later
 * value replaces the earlier one, so files loaded later override files
 * loaded earlier.
 *
 * Every error is logged once with "SOURCE:LINE:", the offending text and a
 * hint, and returned as -EINVAL.
 */

struct nsr_conf;

/* One assignment. Every string is owned by the struct nsr_conf. */
struct nsr_conf_entry {
	const char *section;	/* lower case */
	const char *argument;	/* NULL for a plain [section] */
	const char *key;	/* lower case */
	const char *value;
	const char *source;	/* file name, or the name given for a buffer */
	unsigned int line;
};

/* Flags for the load and parse functions. */
enum {
	NSR_CONF_MISSING_OK = 1 << 0,	/* a missing file is not an error */
	NSR_CONF_NO_INCLUDE = 1 << 1,	/* reject "include" (for the fuzzer) */
};

/**
 * nsr_conf_new - allocate an empty configuration
 *
 * Returns 0 or -ENOMEM.
 */
int nsr_conf_new(struct nsr_conf **ret);

/**
 * nsr_conf_free - free @conf and every string it owns; NULL is allowed
 */
void nsr_conf_free(struct nsr_conf *conf);

/**
 * nsr_conf_parse_buffer - parse configuration text held in memory
 * @source: the name that messages give for this text, such as a file name
 * @buf: the text; it need not be NUL-terminated
 * @len: its length in bytes
 * @flags: NSR_CONF_NO_INCLUDE or 0
 *
 * Relative include paths are resolved against the directory part of
 * @source. Assignments parsed before an error stay in @conf.
 * Returns 0, -EINVAL (logged with @source and the line), -ELOOP when
 * includes nest too deep, or -ENOMEM.
 */
int nsr_conf_parse_buffer(struct nsr_conf *conf, const char *source, const char *buf,
			  size_t len, unsigned int flags);

/**
 * nsr_conf_load_file - read and parse one file
 * @flags: NSR_CONF_MISSING_OK, NSR_CONF_NO_INCLUDE
 *
 * Returns 0 (also for a missing file with NSR_CONF_MISSING_OK), -ENOENT,
 * another negative errno from open or read (logged with @path), or an
 * error of nsr_conf_parse_buffer().
 */
int nsr_conf_load_file(struct nsr_conf *conf, const char *path, unsigned int flags);

/**
 * nsr_conf_load_dir - parse the *.conf files of @dir in byte-wise name order
 *
 * Skips names that start with '.' and entries that are not regular files.
 * A missing @dir is not an error. Returns 0 or the first error of
 * nsr_conf_load_file(); files after a failing one are not read.
 */
int nsr_conf_load_dir(struct nsr_conf *conf, const char *dir);

/**
 * nsr_conf_load_with_dropins - parse @path, then the *.conf files of @path.d
 * @flags: NSR_CONF_MISSING_OK when @path may be missing
 *
 * This is how nfs-utils programs read /etc/nfs.conf and /etc/nfs.conf.d.
 * Returns 0 or the first error of nsr_conf_load_file().
 */
int nsr_conf_load_with_dropins(struct nsr_conf *conf, const char *path, unsigned int flags);

/**
 * nsr_conf_find - the assignment of @key in [@section "@argument"], or NULL
 * @argument: NULL selects the plain [@section]
 *
 * Names are matched case-insensitively, the argument exactly.
 */
const struct nsr_conf_entry *nsr_conf_find(const struct nsr_conf *conf, const char *section,
					   const char *argument, const char *key);

/**
 * nsr_conf_get_string - the value of @key, or @def when it is not set
 */
const char *nsr_conf_get_string(const struct nsr_conf *conf, const char *section,
				const char *argument, const char *key, const char *def);

/**
 * nsr_conf_get_int - read a decimal integer in [@min, @max]
 * @ret: set to the value, or to @def when @key is not set
 *
 * Returns 0, or -EINVAL for a value that is not an integer in range. The
 * message names the file, line, key, value and the accepted range.
 */
int nsr_conf_get_int(const struct nsr_conf *conf, const char *section, const char *argument,
		     const char *key, int64_t def, int64_t min, int64_t max, int64_t *ret);

/**
 * nsr_conf_get_bool - read a boolean
 * @ret: set to the value, or to @def when @key is not set
 *
 * Accepts y, yes, true, on, 1 and n, no, false, off, 0 in any case.
 * Returns 0 or -EINVAL, logged like nsr_conf_get_int().
 */
int nsr_conf_get_bool(const struct nsr_conf *conf, const char *section, const char *argument,
		      const char *key, bool def, bool *ret);

/**
 * nsr_conf_invalid_value - log that @entry contains an invalid value
 * @expected_fmt: printf format saying what is expected and what to do
 *
 * Logs "SOURCE:LINE: invalid value 'VALUE' for KEY in [SECTION]: EXPECTED"
 * and returns -EINVAL.
 */
int nsr_conf_invalid_value(const struct nsr_conf_entry *entry, const char *expected_fmt, ...)
	_printf_(2, 3);

/**
 * nsr_conf_parse_bool - convert y/yes/true/on/1 or n/no/false/off/0
 *
 * Returns 1, 0, or -EINVAL for any other text.
 */
int nsr_conf_parse_bool(const char *text);

/*
 * Called once per distinct section (name and argument), in the order of
 * first appearance, with where it first appeared. A non-zero return stops
 * the walk and is returned.
 */
typedef int (*nsr_conf_section_fn)(const char *section, const char *argument,
				   const char *source, unsigned int line, void *ctx);

/**
 * nsr_conf_foreach_section - visit sections, for example every
 * [nsrecoveryd-netns "NAME"]
 * @section: visit only sections of this name (any argument), or NULL for all
 */
int nsr_conf_foreach_section(const struct nsr_conf *conf, const char *section,
			     nsr_conf_section_fn fn, void *ctx);

typedef int (*nsr_conf_entry_fn)(const struct nsr_conf_entry *entry, void *ctx);

/**
 * nsr_conf_foreach_entry - visit the assignments of sections named @section
 * (any argument), in the order they were first set
 */
int nsr_conf_foreach_entry(const struct nsr_conf *conf, const char *section,
			   nsr_conf_entry_fn fn, void *ctx);

/**
 * nsr_conf_warn_unknown_keys - log a warning for each unexpected key
 * @section: the section name to check (every argument)
 * @known: NULL-terminated list of lower-case key names
 *
 * Each warning names the file, line, section and key. Returns the number
 * of unknown keys.
 */
unsigned int nsr_conf_warn_unknown_keys(const struct nsr_conf *conf, const char *section,
					const char *const *known);

NSR_DEFINE_PTR_CLEANUP(struct nsr_conf, nsr_conf_free)
