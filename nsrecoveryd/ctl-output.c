/* ctl-output.c: nsrecoveryctl output: JSON strings, tables, times. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "nsr-client.h"
#include "nsr-log.h"
#include "nsr-macro.h"

/* The length of the valid UTF-8 sequence at @s, or 0 when it is invalid. */
static size_t json_utf8_length(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;

	/* Reject overlong forms, UTF-16 surrogates and code points above U+10FFFF. */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Write @text as a JSON string. Bytes that are not valid UTF-8 become U+FFFD. */
void ctl_json_write(FILE *f, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*s < 0x20) {
				fprintf(f, "\\u%04x", *s);
			} else if (*s < 0x80) {
				fputc(*s, f);
			} else {
				n = json_utf8_length(s);
				if (n == 0) {
					fputs("\\ufffd", f);
					break;
				}
				fwrite(s, 1, n, f);
				s += n;
				continue;
			}
		}
		s++;
	}
	fputc('"', f);
}

void ctl_json_write_or_null(FILE *f, const char *text)
{
	if (text)
		ctl_json_write(f, text);
	else
		fputs("null", f);
}

/* Write ",\n" between members, and "\n" before the first. */
void ctl_json_separator(FILE *f, bool *first)
{
	fputs(*first ? "\n" : ",\n", f);
	*first = false;
}

/* Format seconds since the Epoch as ISO 8601 UTC, or "-" for 0. */
const char *ctl_format_time(int64_t t, char buf[static 32])
{
	time_t tt = t;
	struct tm tm;

	if (t == 0 || !gmtime_r(&tt, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "-";
	return buf;
}

/* A malloc'ed copy of @s for a terminal: control characters become '?'. */
char *ctl_printable(const char *s)
{
	char *copy = strdup(s ? s : "-");

	if (!copy)
		return NULL;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return copy;
}

void ctl_table_release(struct ctl_table *t)
{
	for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}

/* Append a row of t->n_columns strings, copied. NULL cells print as "-". */
int ctl_table_add_row(struct ctl_table *t, const char *const *row)
{
	char **cells;

	cells = reallocarray(t->cells, (t->n_rows + 1) * t->n_columns, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	t->cells = cells;

	for (size_t c = 0; c < t->n_columns; c++) {
		char *copy = ctl_printable(row[c]);

		if (!copy) {
			for (size_t k = 0; k < c; k++)
				free(cells[t->n_rows * t->n_columns + k]);
			return -ENOMEM;
		}
		cells[t->n_rows * t->n_columns + c] = copy;
	}
	t->n_rows++;
	return 0;
}

static bool ctl_table_column_visible(const struct ctl_table *t, size_t c)
{
	if (!(t->columns[c].flags & CTL_COLUMN_OPTIONAL))
		return true;
	for (size_t r = 0; r < t->n_rows; r++)
		if (strcmp(t->cells[r * t->n_columns + c], "-") != 0)
			return true;
	return false;
}

static void ctl_table_print_row(const struct ctl_table *t, const char *const *row,
				const size_t *width, const bool *visible, size_t last)
{
	for (size_t c = 0; c <= last; c++) {
		int w = c == last && !(t->columns[c].flags & CTL_COLUMN_RIGHT) ? 0 : (int)width[c];

		if (!visible[c])
			continue;
		if (t->columns[c].flags & CTL_COLUMN_RIGHT)
			printf("%*s", w, row[c]);
		else
			printf("%-*s", w, row[c]);
		fputs(c == last ? "\n" : "  ", stdout);
	}
}

/* NOTE: widths count bytes, so UTF-8 text in a cell can misalign later columns. */
int ctl_table_print(const struct ctl_table *t)
{
	_cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(*width));
	_cleanup_free_ bool *visible = calloc(t->n_columns, sizeof(*visible));
	_cleanup_free_ const char **header = calloc(t->n_columns, sizeof(*header));
	size_t last = 0;

	if (!width || !visible || !header)
		return -ENOMEM;

	for (size_t c = 0; c < t->n_columns; c++) {
		visible[c] = ctl_table_column_visible(t, c);
		if (visible[c])
			last = c;
		header[c] = t->columns[c].header;
		width[c] = strlen(header[c]);
		for (size_t r = 0; r < t->n_rows; r++) {
			size_t n = strlen(t->cells[r * t->n_columns + c]);

			if (n > width[c])
				width[c] = n;
		}
	}

	ctl_table_print_row(t, header, width, visible, last);
	for (size_t r = 0; r < t->n_rows; r++)
		ctl_table_print_row(t, (const char *const *)&t->cells[r * t->n_columns], width,
				    visible, last);
	return 0;
}


/* Render the id as hex even when it is printable, for the "id_hex" field. */
const char *ctl_clientid_hex(const uint8_t *id, size_t len, char *buf)
{
	static const char digits[] = "0123456789abcdef";
	char *p = buf;

	*p++ = '0';
	*p++ = 'x';
	for (size_t i = 0; i < len && i < NSR_CLIENTID_MAX; i++) {
		*p++ = digits[id[i] >> 4];
		*p++ = digits[id[i] & 0xf];
	}
	*p = '\0';
	return buf;
}

void ctl_print_int_or_null(bool valid, int64_t v)
{
	if (valid)
		printf("%" PRId64, v);
	else
		fputs("null", stdout);
}

/* Parse "[+-]HH[:]MM" or "Z" at @s into seconds east of UTC. */
static int ctl_parse_zone(const char *s, int64_t *ret)
{
	int hours, minutes, n = 0;

	*ret = 0;
	if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0)
		return 0;
	if (*s != '+' && *s != '-')
		return -EINVAL;

	if (sscanf(s + 1, "%2d:%2d%n", &hours, &minutes, &n) != 2 &&
	    sscanf(s + 1, "%2d%2d%n", &hours, &minutes, &n) != 2)
		return -EINVAL;
	if (s[1 + n] != '\0' || hours > 23 || minutes > 59)
		return -EINVAL;

	*ret = (int64_t)(hours * 3600 + minutes * 60) * (*s == '-' ? -1 : 1);
	return 0;
}

/* "YYYY-MM-DD", then optionally "THH:MM[:SS]" or " HH:MM[:SS]", then a zone. */
static int ctl_parse_iso8601(const char *text, int64_t *ret)
{
	struct tm tm = {};
	const char *rest;
	int64_t offset;
	time_t t;

	rest = strptime(text, "%Y-%m-%d", &tm);
	if (!rest)
		return -EINVAL;
	if (*rest == 'T' || *rest == 't' || *rest == ' ') {
		const char *with_seconds = strptime(rest + 1, "%H:%M:%S", &tm);

		rest = with_seconds ?: strptime(rest + 1, "%H:%M", &tm);
		if (!rest)
			return -EINVAL;
	}
	if (ctl_parse_zone(rest, &offset) < 0)
		return -EINVAL;

	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t - offset;
	return 0;
}

int ctl_parse_time(const char *text, int64_t now, int64_t *ret)
{
	static const struct {
		char suffix;
		int64_t seconds;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	char *end;
	long long n;

	if (text[0] == '@') {
		errno = 0;
		n = strtoll(text + 1, &end, 10);
		if (errno || end == text + 1 || *end)
			return -EINVAL;
		*ret = n;
		return 0;
	}

	if (text[0] >= '0' && text[0] <= '9' && !strchr(text, '-')) {
		errno = 0;
		n = strtoll(text, &end, 10);
		if (errno || end == text || n < 0 || end[0] == '\0' || end[1] != '\0')
			return -EINVAL;
		for (size_t i = 0; i < NSR_ARRAY_SIZE(units); i++) {
			if (*end == units[i].suffix) {
				*ret = now - (int64_t)n * units[i].seconds;
				return 0;
			}
		}
		return -EINVAL;
	}

	return ctl_parse_iso8601(text, ret);
}

json_t *ctl_json_text(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	_cleanup_free_ char *clean = NULL;
	char *p;

	if (!text)
		return json_null();

	/* Each invalid byte becomes the 3 bytes of U+FFFD. */
	clean = malloc(3 * strlen(text) + 1);
	if (!clean)
		return NULL;

	p = clean;
	while (*s) {
		size_t n = *s < 0x80 ? 1 : json_utf8_length(s);

		if (n == 0) {
			p = stpcpy(p, "\xef\xbf\xbd");
			s++;
			continue;
		}
		memcpy(p, s, n);
		p += n;
		s += n;
	}
	*p = '\0';
	return json_string(clean);
}

int ctl_json_set_time(json_t *obj, const char *key, int64_t t)
{
	_cleanup_free_ char *epoch_key = NULL;
	char buf[32];

	if (asprintf(&epoch_key, "%s_epoch", key) < 0)
		return -ENOMEM;
	if (json_object_set_new(obj, key, t ? json_string(ctl_format_time(t, buf)) : json_null()) < 0 ||
	    json_object_set_new(obj, epoch_key, json_integer(t)) < 0)
		return -ENOMEM;
	return 0;
}

int ctl_json_print(json_t *root)
{
	int r;

	if (!root)
		return -ENOMEM;
	r = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (r < 0)
		return nsr_log_error_errno(-EIO, "write the JSON output: %m");
	fputc('\n', stdout);
	if (fflush(stdout) != 0)
		return nsr_log_error_errno(-errno, "write the JSON output: %m");
	return 0;
}

int ctl_log_quiet(void)
{
	int level = nsr_log_get_max_level();

	nsr_log_set_max_level(LOG_CRIT);
	return level;
}
