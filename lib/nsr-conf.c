/* nsr-conf.c: the nfs.conf-style configuration parser. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsr-conf.h"
#include "nsr-log.h"
#include "nsr-macro.h"

/* Includes nest at most this deep, which also stops include cycles. */
#define CONF_INCLUDE_DEPTH_MAX 8

/* A configuration file larger than this is rejected as a mistake. */
#define CONF_FILE_SIZE_MAX (4 * 1024 * 1024)

/* Quoted text in messages is cut after this many bytes. */
#define CONF_QUOTE_MAX 80

/* Room for one quoted piece of text: every byte may become "\xNN". */
#define CONF_QUOTE_BUF (4 * CONF_QUOTE_MAX + 8)

struct conf_section {
	char *name;
	char *argument;
	const char *source;
	unsigned int line;
};

struct conf_entry {
	struct nsr_conf_entry pub;
	size_t section;
};

struct nsr_conf {
	struct conf_section *sections;
	size_t n_sections;
	struct conf_entry *entries;
	size_t n_entries;
	char **sources;
	size_t n_sources;
};

/* The parse position shared by a file and the files it includes. */
struct conf_state {
	struct nsr_conf *conf;
	unsigned int flags;
	unsigned int depth;
	ssize_t section;	/* index into conf->sections, or -1 before any header */
};

/* One buffer being parsed. */
struct conf_parser {
	struct conf_state *state;
	const char *source;	/* owned by conf->sources */
	unsigned int line;
};

static int conf_load_file_at_depth(struct conf_state *state, const char *path, unsigned int flags);

int nsr_conf_new(struct nsr_conf **ret)
{
	struct nsr_conf *conf = calloc(1, sizeof(*conf));

	if (!conf)
		return -ENOMEM;
	*ret = conf;
	return 0;
}

void nsr_conf_free(struct nsr_conf *conf)
{
	if (!conf)
		return;

	for (size_t i = 0; i < conf->n_sections; i++) {
		free(conf->sections[i].name);
		free(conf->sections[i].argument);
	}
	for (size_t i = 0; i < conf->n_entries; i++) {
		free((char *)conf->entries[i].pub.key);
		free((char *)conf->entries[i].pub.value);
	}
	for (size_t i = 0; i < conf->n_sources; i++)
		free(conf->sources[i]);

	free(conf->sections);
	free(conf->entries);
	free(conf->sources);
	free(conf);
}

static bool conf_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool conf_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static char *conf_skip_blanks(char *s)
{
	while (conf_is_blank(*s))
		s++;
	return s;
}

static void conf_trim_end(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && conf_is_blank(s[n - 1]))
		s[--n] = '\0';
}

static void conf_ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

/*
 * Copy @s into @buf for a message: non-printable bytes become \xNN, and
 * text after CONF_QUOTE_MAX bytes becomes "...", so a binary file cannot
 * flood the log or the terminal.
 */
static const char *conf_quote(const char *s, char *buf)
{
	char *p = buf;
	size_t i;

	for (i = 0; s[i] && i < CONF_QUOTE_MAX; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f)
			*p++ = c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	if (s[i])
		p = stpcpy(p, "...");
	*p = '\0';
	return buf;
}

/* Render "[name]" or "[name \"argument\"]" for messages. */
static const char *conf_section_label(const char *name, const char *argument, char *buf,
				      size_t size)
{
	char quoted[CONF_QUOTE_BUF];

	if (argument)
		snprintf(buf, size, "[%s \"%s\"]", name, conf_quote(argument, quoted));
	else
		snprintf(buf, size, "[%s]", name);
	return buf;
}

static const char *conf_intern_source(struct nsr_conf *conf, const char *source)
{
	char **sources;
	char *copy;

	for (size_t i = 0; i < conf->n_sources; i++)
		if (strcmp(conf->sources[i], source) == 0)
			return conf->sources[i];

	copy = strdup(source);
	if (!copy)
		return NULL;
	sources = reallocarray(conf->sources, conf->n_sources + 1, sizeof(*sources));
	if (!sources) {
		free(copy);
		return NULL;
	}
	conf->sources = sources;
	conf->sources[conf->n_sources++] = copy;
	return copy;
}

static ssize_t conf_find_section(const struct nsr_conf *conf, const char *name,
				 const char *argument)
{
	for (size_t i = 0; i < conf->n_sections; i++) {
		const struct conf_section *s = &conf->sections[i];

		if (strcasecmp(s->name, name) != 0)
			continue;
		if (!s->argument != !argument)
			continue;
		if (argument && strcmp(s->argument, argument) != 0)
			continue;
		return i;
	}
	return -1;
}

/* Take ownership of @name and @argument, even on error. */
static ssize_t conf_add_section(struct nsr_conf *conf, char *name, char *argument,
				const char *source, unsigned int line)
{
	struct conf_section *sections;
	ssize_t i;

	i = conf_find_section(conf, name, argument);
	if (i >= 0) {
		free(name);
		free(argument);
		return i;
	}

	sections = reallocarray(conf->sections, conf->n_sections + 1, sizeof(*sections));
	if (!sections) {
		free(name);
		free(argument);
		return -ENOMEM;
	}
	conf->sections = sections;
	conf->sections[conf->n_sections] = (struct conf_section){
		.name = name, .argument = argument, .source = source, .line = line,
	};
	return conf->n_sections++;
}

/* Set @key in section @section, replacing an earlier value. */
static int conf_set(struct nsr_conf *conf, size_t section, const char *key, const char *value,
		    const char *source, unsigned int line)
{
	const struct conf_section *sec = &conf->sections[section];
	struct conf_entry *entries, *e;
	char *v;

	v = strdup(value);
	if (!v)
		return -ENOMEM;

	for (size_t i = 0; i < conf->n_entries; i++) {
		e = &conf->entries[i];
		if (e->section == section && strcmp(e->pub.key, key) == 0) {
			free((char *)e->pub.value);
			e->pub.value = v;
			e->pub.source = source;
			e->pub.line = line;
			return 0;
		}
	}

	entries = reallocarray(conf->entries, conf->n_entries + 1, sizeof(*entries));
	if (!entries) {
		free(v);
		return -ENOMEM;
	}
	conf->entries = entries;
	e = &conf->entries[conf->n_entries];
	*e = (struct conf_entry){
		.pub = {
			.section = sec->name,
			.argument = sec->argument,
			.key = strdup(key),
			.value = v,
			.source = source,
			.line = line,
		},
		.section = section,
	};
	if (!e->pub.key) {
		free(v);
		return -ENOMEM;
	}
	conf->n_entries++;
	return 0;
}

/* Log "SOURCE:LINE: message" and return -EINVAL. */
_printf_(2, 3)
static int conf_syntax_error(const struct conf_parser *p, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	return nsr_log_error_errno(-EINVAL, "%s:%u: %s", p->source, p->line, msg);
}

/* Parse "[name]" or "[name \"argument\"]", with @s at the '['. */
static int conf_parse_header(struct conf_parser *p, char *s)
{
	char quoted[CONF_QUOTE_BUF];
	char *q, *name_start, *name, *argument = NULL;
	size_t name_len;
	ssize_t i;

	q = conf_skip_blanks(s + 1);
	name_start = q;
	while (*q && !conf_is_blank(*q) && *q != ']' && *q != '"' && *q != '[')
		q++;
	name_len = q - name_start;

	if (name_len == 0)
		return conf_syntax_error(p, "missing section name in '%s'; write [section] or "
					 "[section \"argument\"]", conf_quote(s, quoted));
	for (size_t k = 0; k < name_len; k++)
		if (!conf_is_name_char(name_start[k]))
			return conf_syntax_error(p, "invalid section name in '%s'; a section name "
						 "contains only letters, digits, '-', '_' and '.'",
						 conf_quote(s, quoted));

	q = conf_skip_blanks(q);
	if (*q == '"') {
		char *end = strchr(q + 1, '"');

		if (!end)
			return conf_syntax_error(p, "unterminated argument in section header '%s'; "
						 "add the closing '\"'", conf_quote(s, quoted));
		if (end == q + 1)
			return conf_syntax_error(p, "empty argument in section header '%s'; name "
						 "the argument or drop the quotes",
						 conf_quote(s, quoted));
		for (char *c = q + 1; c < end; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return conf_syntax_error(p, "control character in the argument of "
							 "section header '%s'",
							 conf_quote(s, quoted));
		argument = strndup(q + 1, end - (q + 1));
		if (!argument)
			return -ENOMEM;
		q = conf_skip_blanks(end + 1);
	}

	if (*q != ']') {
		free(argument);
		if (*q == '\0')
			return conf_syntax_error(p, "unterminated section header '%s'; add the "
						 "closing ']'", conf_quote(s, quoted));
		return conf_syntax_error(p, "unexpected text in section header '%s'; write "
					 "[section] or [section \"argument\"]",
					 conf_quote(s, quoted));
	}

	q = conf_skip_blanks(q + 1);
	if (*q != '\0' && *q != '#' && *q != ';') {
		free(argument);
		return conf_syntax_error(p, "unexpected text after section header '%s'; move it "
					 "to a line of its own or make it a comment",
					 conf_quote(s, quoted));
	}

	name = strndup(name_start, name_len);
	if (!name) {
		free(argument);
		return -ENOMEM;
	}
	conf_ascii_lower(name);

	i = conf_add_section(p->state->conf, name, argument, p->source, p->line);
	if (i < 0)
		return i;
	p->state->section = i;
	return 0;
}

/*
 * Cut the value that starts at @v, in a line whose '=' is just before
 * @after_eq. Sets *@ret to the value, inside the line's own buffer.
 */
static int conf_parse_value(struct conf_parser *p, char *after_eq, char **ret)
{
	char quoted[CONF_QUOTE_BUF];
	char *v = conf_skip_blanks(after_eq);

	if (*v == '"' || *v == '\'') {
		char *end = strchr(v + 1, *v);
		char *rest;

		if (!end)
			return conf_syntax_error(p, "unterminated quoted value %s; add the closing "
						 "%c", conf_quote(v, quoted), *v);
		rest = conf_skip_blanks(end + 1);
		if (*rest != '\0' && *rest != '#' && *rest != ';')
			return conf_syntax_error(p, "unexpected text after the quoted value in '%s'; "
						 "quote the whole value", conf_quote(v, quoted));
		*end = '\0';
		*ret = v + 1;
		return 0;
	}

	/* Outside quotes, '#' or ';' after a blank starts a comment. */
	for (char *c = after_eq; *c; c++) {
		if ((*c == '#' || *c == ';') && c > after_eq && conf_is_blank(c[-1])) {
			*c = '\0';
			break;
		}
	}
	v = conf_skip_blanks(after_eq);
	conf_trim_end(v);
	*ret = v;
	return 0;
}

static int conf_include(struct conf_parser *p, const char *value)
{
	_cleanup_free_ char *path = NULL;
	unsigned int flags = 0;
	const char *slash;
	int r;

	if (p->state->flags & NSR_CONF_NO_INCLUDE)
		return conf_syntax_error(p, "'include' is not allowed here; remove the line");

	if (value[0] == '-') {
		flags |= NSR_CONF_MISSING_OK;
		value++;
	}
	if (value[0] == '\0')
		return conf_syntax_error(p, "'include' needs a file name; write include = FILE");

	slash = strrchr(p->source, '/');
	if (value[0] == '/' || !slash)
		path = strdup(value);
	else if (asprintf(&path, "%.*s/%s", (int)(slash - p->source), p->source, value) < 0)
		path = NULL;
	if (!path)
		return -ENOMEM;

	if (p->state->depth >= CONF_INCLUDE_DEPTH_MAX)
		return nsr_log_error_errno(-ELOOP, "%s:%u: includes nest deeper than %d files at "
					   "'%s'; check for an include cycle", p->source, p->line,
					   CONF_INCLUDE_DEPTH_MAX, path);

	/* nfs-utils programs only warn about a missing include, so do the same. */
	if (!(flags & NSR_CONF_MISSING_OK) && access(path, F_OK) < 0 && errno == ENOENT) {
		nsr_log_warning("%s:%u: included file %s does not exist; ignoring it (write "
				"include = -FILE to silence this)", p->source, p->line, path);
		return 0;
	}

	p->state->depth++;
	r = conf_load_file_at_depth(p->state, path, flags);
	p->state->depth--;
	return r;
}

static int conf_parse_assignment(struct conf_parser *p, char *s)
{
	char quoted[CONF_QUOTE_BUF];
	char *eq, *value = NULL;
	int r;

	eq = strchr(s, '=');
	if (!eq)
		return conf_syntax_error(p, "missing '=' in '%s'; write key = value, or start "
					 "the line with '#' to make it a comment",
					 conf_quote(s, quoted));
	*eq = '\0';
	conf_trim_end(s);

	if (s[0] == '\0')
		return conf_syntax_error(p, "missing key name before '='; write key = value");
	for (char *c = s; *c; c++)
		if (!conf_is_name_char(*c))
			return conf_syntax_error(p, "invalid key name '%s'; a key name contains "
						 "only letters, digits, '-', '_' and '.'",
						 conf_quote(s, quoted));
	conf_ascii_lower(s);

	if (p->state->section < 0)
		return conf_syntax_error(p, "'%s' is set before any section header; add a "
					 "header such as [nsrecoveryd] above it", s);

	r = conf_parse_value(p, eq + 1, &value);
	if (r < 0)
		return r;

	if (strcmp(s, "include") == 0)
		return conf_include(p, value);

	return conf_set(p->state->conf, p->state->section, s, value, p->source, p->line);
}

static int conf_parse_line(struct conf_parser *p, char *line)
{
	char *s = conf_skip_blanks(line);

	conf_trim_end(s);
	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[')
		return conf_parse_header(p, s);
	return conf_parse_assignment(p, s);
}

static int conf_parse_buffer_state(struct conf_state *state, const char *source,
				   const char *buf, size_t len)
{
	struct conf_parser p = { .state = state, .line = 0 };
	const char *pos = buf, *end = buf + len;
	int r;

	p.source = conf_intern_source(state->conf, source);
	if (!p.source)
		return -ENOMEM;

	while (pos < end) {
		const char *nl = memchr(pos, '\n', end - pos);
		size_t n = (nl ? nl : end) - pos;
		_cleanup_free_ char *line = NULL;

		p.line++;
		if (memchr(pos, '\0', n))
			return conf_syntax_error(&p, "NUL byte in line; is this a text file?");

		line = strndup(pos, n);
		if (!line)
			return -ENOMEM;

		r = conf_parse_line(&p, line);
		if (r < 0)
			return r;

		pos += n + (nl ? 1 : 0);
	}
	return 0;
}

int nsr_conf_parse_buffer(struct nsr_conf *conf, const char *source, const char *buf,
			  size_t len, unsigned int flags)
{
	struct conf_state state = { .conf = conf, .flags = flags, .section = -1 };

	return conf_parse_buffer_state(&state, source, buf, len);
}

static int conf_read_fd(int fd, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = 0;

	for (;;) {
		ssize_t n;

		if (len == size) {
			char *bigger;

			if (size >= CONF_FILE_SIZE_MAX)
				return nsr_log_error_errno(-EFBIG, "%s is larger than %d bytes; is "
							   "this a configuration file?", path,
							   CONF_FILE_SIZE_MAX);
			size = size ? size * 2 : 4096;
			bigger = realloc(buf, size);
			if (!bigger)
				return -ENOMEM;
			buf = bigger;
		}

		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nsr_log_error_errno(-errno, "read %s: %m", path);
		if (n == 0)
			break;
		len += n;
	}

	*ret = NSR_TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int conf_load_file_at_depth(struct conf_state *state, const char *path, unsigned int flags)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	int r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && (flags & NSR_CONF_MISSING_OK))
			return 0;
		if (errno == ENOENT)
			return nsr_log_error_errno(-ENOENT, "configuration file %s does not exist; "
						   "check the path", path);
		return nsr_log_error_errno(-errno, "open configuration file %s: %m", path);
	}

	if (fstat(fd, &st) < 0)
		return nsr_log_error_errno(-errno, "stat %s: %m", path);
	if (S_ISDIR(st.st_mode))
		return nsr_log_error_errno(-EISDIR, "configuration file %s is a directory; name "
					   "a file", path);

	r = conf_read_fd(fd, path, &buf, &len);
	if (r < 0)
		return r;

	return conf_parse_buffer_state(state, path, buf, len);
}

int nsr_conf_load_file(struct nsr_conf *conf, const char *path, unsigned int flags)
{
	struct conf_state state = { .conf = conf, .flags = flags, .section = -1 };

	return conf_load_file_at_depth(&state, path, flags);
}

static int conf_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool conf_is_dropin_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

static void conf_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Collect the drop-in file names of @dir, sorted byte-wise. */
static int conf_list_dropins(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		return nsr_log_error_errno(-errno, "open configuration directory %s: %m", dir);
	}

	while ((de = readdir(d))) {
		char **bigger;

		if (!conf_is_dropin_name(de->d_name))
			continue;
		bigger = reallocarray(names, n + 1, sizeof(*names));
		if (!bigger || !(bigger[n] = strdup(de->d_name))) {
			conf_free_names(bigger ? bigger : names, n);
			closedir(d);
			return -ENOMEM;
		}
		names = bigger;
		n++;
	}
	closedir(d);

	if (n > 0)
		qsort(names, n, sizeof(*names), conf_compare_names);
	*ret = names;
	*ret_n = n;
	return 0;
}

int nsr_conf_load_dir(struct nsr_conf *conf, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	int r;

	r = conf_list_dropins(dir, &names, &n);
	if (r < 0)
		return r;

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			nsr_log_debug("skipping %s: not a regular file", path);
			continue;
		}
		r = nsr_conf_load_file(conf, path, 0);
		if (r < 0)
			break;
	}

	conf_free_names(names, n);
	return r;
}

int nsr_conf_load_with_dropins(struct nsr_conf *conf, const char *path, unsigned int flags)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	r = nsr_conf_load_file(conf, path, flags);
	if (r < 0)
		return r;

	if (asprintf(&dir, "%s.d", path) < 0)
		return -ENOMEM;
	return nsr_conf_load_dir(conf, dir);
}

const struct nsr_conf_entry *nsr_conf_find(const struct nsr_conf *conf, const char *section,
					   const char *argument, const char *key)
{
	ssize_t s = conf_find_section(conf, section, argument);

	if (s < 0)
		return NULL;

	for (size_t i = 0; i < conf->n_entries; i++) {
		const struct conf_entry *e = &conf->entries[i];

		if (e->section == (size_t)s && strcasecmp(e->pub.key, key) == 0)
			return &e->pub;
	}
	return NULL;
}

const char *nsr_conf_get_string(const struct nsr_conf *conf, const char *section,
				const char *argument, const char *key, const char *def)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, section, argument, key);

	return e ? e->value : def;
}

int nsr_conf_invalid_value(const struct nsr_conf_entry *e, const char *expected_fmt, ...)
{
	char label[CONF_QUOTE_BUF + 64], quoted[CONF_QUOTE_BUF], expected[256];
	va_list ap;

	va_start(ap, expected_fmt);
	vsnprintf(expected, sizeof(expected), expected_fmt, ap);
	va_end(ap);

	return nsr_log_error_errno(-EINVAL, "%s:%u: invalid value '%s' for %s in %s: %s",
				   e->source, e->line, conf_quote(e->value, quoted), e->key,
				   conf_section_label(e->section, e->argument, label,
						      sizeof(label)),
				   expected);
}

static int conf_parse_int64(const char *text, int64_t *ret)
{
	char *end;
	long long v;

	if (!((text[0] >= '0' && text[0] <= '9') || text[0] == '-' || text[0] == '+'))
		return -EINVAL;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == text || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

int nsr_conf_get_int(const struct nsr_conf *conf, const char *section, const char *argument,
		     const char *key, int64_t def, int64_t min, int64_t max, int64_t *ret)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, section, argument, key);
	int64_t v;

	if (!e) {
		*ret = def;
		return 0;
	}

	if (conf_parse_int64(e->value, &v) < 0 || v < min || v > max)
		return nsr_conf_invalid_value(e, "expected an integer from %" PRId64 " to %" PRId64
					"; fix it, or delete the line to use the default %" PRId64,
					min, max, def);
	*ret = v;
	return 0;
}

int nsr_conf_parse_bool(const char *text)
{
	static const char *const yes[] = { "y", "yes", "true", "on", "1" };
	static const char *const no[] = { "n", "no", "false", "off", "0" };

	for (size_t i = 0; i < NSR_ARRAY_SIZE(yes); i++)
		if (strcasecmp(text, yes[i]) == 0)
			return 1;
	for (size_t i = 0; i < NSR_ARRAY_SIZE(no); i++)
		if (strcasecmp(text, no[i]) == 0)
			return 0;
	return -EINVAL;
}

int nsr_conf_get_bool(const struct nsr_conf *conf, const char *section, const char *argument,
		      const char *key, bool def, bool *ret)
{
	const struct nsr_conf_entry *e = nsr_conf_find(conf, section, argument, key);
	int b;

	if (!e) {
		*ret = def;
		return 0;
	}

	b = nsr_conf_parse_bool(e->value);
	if (b < 0)
		return nsr_conf_invalid_value(e, "expected yes or no (also y, true, on, 1 or n, "
					"false, off, 0); fix it, or delete the line to use the "
					"default %s", def ? "yes" : "no");
	*ret = b;
	return 0;
}

int nsr_conf_foreach_section(const struct nsr_conf *conf, const char *section,
			     nsr_conf_section_fn fn, void *ctx)
{
	for (size_t i = 0; i < conf->n_sections; i++) {
		const struct conf_section *s = &conf->sections[i];
		int r;

		if (section && strcasecmp(s->name, section) != 0)
			continue;
		r = fn(s->name, s->argument, s->source, s->line, ctx);
		if (r != 0)
			return r;
	}
	return 0;
}

int nsr_conf_foreach_entry(const struct nsr_conf *conf, const char *section,
			   nsr_conf_entry_fn fn, void *ctx)
{
	for (size_t i = 0; i < conf->n_entries; i++) {
		const struct conf_entry *e = &conf->entries[i];
		int r;

		if (section && strcasecmp(e->pub.section, section) != 0)
			continue;
		r = fn(&e->pub, ctx);
		if (r != 0)
			return r;
	}
	return 0;
}

unsigned int nsr_conf_warn_unknown_keys(const struct nsr_conf *conf, const char *section,
					const char *const *known)
{
	unsigned int unknown = 0;

	for (size_t i = 0; i < conf->n_entries; i++) {
		const struct nsr_conf_entry *e = &conf->entries[i].pub;
		char label[CONF_QUOTE_BUF + 64];
		bool found = false;

		if (strcasecmp(e->section, section) != 0)
			continue;
		for (const char *const *k = known; *k && !found; k++)
			found = strcmp(e->key, *k) == 0;
		if (found)
			continue;

		nsr_log_warning("%s:%u: unknown key '%s' in %s; ignoring it (check the spelling)",
				e->source, e->line, e->key,
				conf_section_label(e->section, e->argument, label, sizeof(label)));
		unknown++;
	}
	return unknown;
}
