/* test-conf.c: the nfs.conf parser and the daemon settings read from it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nsr-conf.h"
#include "nsr-config.h"
#include "nsr-settings.h"
#include "nsr-test.h"

/* stderr is redirected here while a test captures log output. */
static FILE *capture_file;
static int capture_saved_fd = -1;

static void capture_begin(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	ck_assert_ptr_nonnull(capture_file);
	capture_saved_fd = dup(STDERR_FILENO);
	ck_assert_int_ge(capture_saved_fd, 0);
	ck_assert_int_ge(dup2(fileno(capture_file), STDERR_FILENO), 0);
}

/* Stop capturing and return what was logged, malloc'ed. */
static char *capture_end(void)
{
	char *text;
	long size;

	fflush(stderr);
	dup2(capture_saved_fd, STDERR_FILENO);
	close(capture_saved_fd);
	capture_saved_fd = -1;

	size = ftell(capture_file);
	ck_assert_int_ge(size, 0);
	text = calloc(1, size + 1);
	ck_assert_ptr_nonnull(text);
	rewind(capture_file);
	ck_assert_uint_eq(fread(text, 1, size, capture_file), (size_t)size);
	fclose(capture_file);
	capture_file = NULL;
	return text;
}

static void assert_contains(const char *haystack, const char *needle)
{
	ck_assert_msg(strstr(haystack, needle), "expected \"%s\" in output:\n%s", needle,
		      haystack);
}

static struct nsr_conf *parse_ok(const char *text)
{
	struct nsr_conf *conf;

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	ck_assert_int_eq(nsr_conf_parse_buffer(conf, "test.conf", text, strlen(text), 0), 0);
	return conf;
}

/* Parse @text and return the parser's result; *@log receives the log output. */
static int parse_logged(const char *text, size_t len, char **log)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	int r;

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	capture_begin();
	r = nsr_conf_parse_buffer(conf, "test.conf", text, len, 0);
	*log = capture_end();
	return r;
}

/* Load settings from @text; *@log receives the log output. */
static int settings_logged(const char *text, struct nsr_settings *s, char **log)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(text);
	int r;

	capture_begin();
	r = nsr_settings_load(s, conf);
	*log = capture_end();
	return r;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *path = NULL;
	FILE *f;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_parse_basic)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"# leading comment\n"
		"; another comment\n"
		"\n"
		"  [nsrecoveryd]  \n"
		"workers=4\n"
		"\tmax-batch   =   128   \n"
		"   # indented comment\n"
		"node-id = host-a # trailing comment\n"
		"transport = genl ; trailing comment\n"
		"path-with-hash = /srv/a#b\n"
		"[nfsd]\n"
		"threads = 8\n");

	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "workers", "x"), "4");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "max-batch", "x"), "128");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "node-id", "x"),
			 "host-a");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "transport", "x"), "genl");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "path-with-hash", "x"),
			 "/srv/a#b");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nfsd", NULL, "threads", "x"), "8");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nfsd", NULL, "missing", "dflt"), "dflt");
	ck_assert_ptr_null(nsr_conf_get_string(conf, "nosuch", NULL, "workers", NULL));
}
END_TEST

START_TEST(test_parse_case_insensitive_names)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"[NSRecoveryD]\n"
		"Workers = 3\n"
		"[NSRecoveryD-NetNS \"Blue\"]\n"
		"PATH = /run/netns/Blue\n");
	const struct nsr_conf_entry *e;

	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "workers", "x"), "3");
	ck_assert_str_eq(nsr_conf_get_string(conf, "NSRECOVERYD", NULL, "WORKERS", "x"), "3");

	/* Arguments name namespaces, which are case-sensitive file names. */
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "Blue", "path", "x"),
			 "/run/netns/Blue");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "blue", "path", "x"),
			 "x");

	e = nsr_conf_find(conf, "nsrecoveryd", NULL, "workers");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->section, "nsrecoveryd");
	ck_assert_str_eq(e->key, "workers");
	ck_assert_str_eq(e->source, "test.conf");
	ck_assert_uint_eq(e->line, 2);
}
END_TEST

START_TEST(test_parse_quoting)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"[s]\n"
		"double = \"two words\"\n"
		"single = 'it is # not a comment'\n"
		"padded = \"  kept blanks  \"   # comment after quotes\n"
		"inner = \"a 'b' c\"\n"
		"empty = \"\"\n"
		"bare-empty =\n"
		"apostrophe = don't\n");

	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "double", "x"), "two words");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "single", "x"),
			 "it is # not a comment");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "padded", "x"), "  kept blanks  ");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "inner", "x"), "a 'b' c");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "empty", "x"), "");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "bare-empty", "x"), "");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "apostrophe", "x"), "don't");
}
END_TEST

START_TEST(test_parse_line_endings)
{
	static const char crlf[] = "[s]\r\nkey = value\r\nother = \"q\"\r\nlast = no-newline";
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(crlf);

	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "key", "x"), "value");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "other", "x"), "q");
	ck_assert_str_eq(nsr_conf_get_string(conf, "s", NULL, "last", "x"), "no-newline");
}
END_TEST

START_TEST(test_parse_later_value_wins)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"[s]\n"
		"key = first\n"
		"[t]\n"
		"key = other\n"
		"[S]\n"
		"KEY = second\n");
	const struct nsr_conf_entry *e = nsr_conf_find(conf, "s", NULL, "key");

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->value, "second");
	ck_assert_uint_eq(e->line, 6);
	ck_assert_str_eq(nsr_conf_get_string(conf, "t", NULL, "key", "x"), "other");
}
END_TEST

struct section_list {
	char text[512];
};

static int collect_section(const char *section, const char *argument, const char *source,
			   unsigned int line, void *ctx)
{
	struct section_list *l = ctx;
	char item[128];

	snprintf(item, sizeof(item), "%s/%s@%u;", section, argument ? argument : "-", line);
	strncat(l->text, item, sizeof(l->text) - strlen(l->text) - 1);
	return 0;
}

START_TEST(test_parse_subsections)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"[nsrecoveryd-netns \"b\"]\n"
		"path = /proc/1/ns/net\n"
		"[nsrecoveryd]\n"
		"workers = 2\n"
		"[ nsrecoveryd-netns   \"a b\" ]\n"
		"server = srv-a\n"
		"[nsrecoveryd-netns \"b\"]\n"
		"server = srv-b\n"
		"[nsrecoveryd-netns \"empty\"]\n");
	struct section_list all = {}, netns = {};

	ck_assert_int_eq(nsr_conf_foreach_section(conf, NULL, collect_section, &all), 0);
	ck_assert_str_eq(all.text, "nsrecoveryd-netns/b@1;nsrecoveryd/-@3;"
				   "nsrecoveryd-netns/a b@5;nsrecoveryd-netns/empty@9;");

	ck_assert_int_eq(nsr_conf_foreach_section(conf, "NSRECOVERYD-NETNS", collect_section,
						  &netns), 0);
	ck_assert_str_eq(netns.text, "nsrecoveryd-netns/b@1;nsrecoveryd-netns/a b@5;"
				     "nsrecoveryd-netns/empty@9;");

	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "b", "path", "x"),
			 "/proc/1/ns/net");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "b", "server", "x"),
			 "srv-b");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "a b", "server", "x"),
			 "srv-a");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", NULL, "server", "x"), "x");
}
END_TEST

static int stop_at_second(const char *section, const char *argument, const char *source,
			  unsigned int line, void *ctx)
{
	int *seen = ctx;

	return ++*seen == 2 ? 42 : 0;
}

START_TEST(test_foreach_stops_on_nonzero)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok("[a]\n[b]\n[c]\n");
	int seen = 0;

	ck_assert_int_eq(nsr_conf_foreach_section(conf, NULL, stop_at_second, &seen), 42);
	ck_assert_int_eq(seen, 2);
}
END_TEST

struct syntax_case {
	const char *text;
	const char *where;	/* "test.conf:LINE:" */
	const char *what;
	const char *shown;	/* the offending text, as the message shows it */
};

START_TEST(test_parse_syntax_errors)
{
	static const struct syntax_case cases[] = {
		{ "[nsrecoveryd\nworkers = 1\n", "test.conf:1:", "unterminated section header",
		  "'[nsrecoveryd'" },
		{ "# c\n[nsrecoveryd-netns \"a\"\n", "test.conf:2:", "add the closing ']'",
		  "[nsrecoveryd-netns \"a\"" },
		{ "[]\n", "test.conf:1:", "missing section name", "'[]'" },
		{ "[ \"arg\" ]\n", "test.conf:1:", "missing section name", "[ \"arg\" ]" },
		{ "[a \"x]\n", "test.conf:1:", "unterminated argument", "[a \"x]" },
		{ "[a \"\"]\n", "test.conf:1:", "empty argument", "[a \"\"]" },
		{ "[a b]\n", "test.conf:1:", "unexpected text in section header", "[a b]" },
		{ "[a/b]\n", "test.conf:1:", "invalid section name", "[a/b]" },
		{ "[a] trailing\n", "test.conf:1:", "unexpected text after section header",
		  "[a] trailing" },
		{ "[a]\n\nworkers 4\n", "test.conf:3:", "missing '='", "'workers 4'" },
		{ "[a]\n= 4\n", "test.conf:2:", "missing key name", "write key = value" },
		{ "[a]\nmy key = 4\n", "test.conf:2:", "invalid key name", "'my key'" },
		{ "workers = 4\n", "test.conf:1:", "before any section header",
		  "'workers'" },
		{ "[a]\nk = \"abc\n", "test.conf:2:", "unterminated quoted value", "\"abc" },
		{ "[a]\nk = 'abc\n", "test.conf:2:", "add the closing '", "'abc" },
		{ "[a]\nk = \"abc\" def\n", "test.conf:2:", "unexpected text after the quoted value",
		  "\"abc\" def" },
		{ "[a]\n\x01\x02 = 1\n", "test.conf:2:", "invalid key name", "\\x01\\x02" },
	};

	for (size_t i = 0; i < NSR_ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *log = NULL;
		int r = parse_logged(cases[i].text, strlen(cases[i].text), &log);

		ck_assert_msg(r == -EINVAL, "case %zu: expected -EINVAL, got %d", i, r);
		assert_contains(log, cases[i].where);
		assert_contains(log, cases[i].what);
		assert_contains(log, cases[i].shown);
	}
}
END_TEST

START_TEST(test_parse_nul_byte)
{
	static const char text[] = "[a]\nk = v\0x\n";
	_cleanup_free_ char *log = NULL;

	ck_assert_int_eq(parse_logged(text, sizeof(text) - 1, &log), -EINVAL);
	assert_contains(log, "test.conf:2:");
	assert_contains(log, "NUL byte");
}
END_TEST

START_TEST(test_parse_long_value_is_cut)
{
	char text[600];
	_cleanup_free_ char *log = NULL;

	strcpy(text, "[a]\n");
	memset(text + 4, 'x', 500);
	text[504] = '\0';
	ck_assert_int_eq(parse_logged(text, strlen(text), &log), -EINVAL);
	assert_contains(log, "...");
	ck_assert_ptr_null(strstr(log, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				       "xxxxxxxxxxxxxxxxx"));
}
END_TEST

START_TEST(test_get_int)
{
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = parse_ok(
		"[nsrecoveryd]\n"
		"workers = 8\n"
		"plus = +5\n"
		"negative = -3\n");
	int64_t v;

	ck_assert_int_eq(nsr_conf_get_int(conf, "nsrecoveryd", NULL, "workers", 2, 1, 64, &v), 0);
	ck_assert_int_eq(v, 8);
	ck_assert_int_eq(nsr_conf_get_int(conf, "nsrecoveryd", NULL, "plus", 2, 1, 64, &v), 0);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(nsr_conf_get_int(conf, "nsrecoveryd", NULL, "negative", 0, -5, 5, &v), 0);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(nsr_conf_get_int(conf, "nsrecoveryd", NULL, "unset", 7, 1, 64, &v), 0);
	ck_assert_int_eq(v, 7);
}
END_TEST

struct value_case {
	const char *value;
	const char *expected;
};

START_TEST(test_get_int_errors)
{
	static const struct value_case cases[] = {
		{ "four", "expected an integer from 1 to 64" },
		{ "0", "expected an integer from 1 to 64" },
		{ "65", "expected an integer from 1 to 64" },
		{ "4x", "expected an integer from 1 to 64" },
		{ "0x10", "expected an integer from 1 to 64" },
		{ "99999999999999999999", "expected an integer from 1 to 64" },
		{ "", "delete the line to use the default 2" },
		{ " 4", "delete the line to use the default 2" },
	};

	for (size_t i = 0; i < NSR_ARRAY_SIZE(cases); i++) {
		_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
		_cleanup_free_ char *text = NULL, *log = NULL, *shown = NULL;
		int64_t v = -1;
		int r;

		ck_assert_int_ge(asprintf(&text, "[nsrecoveryd]\n# c\nworkers = \"%s\"\n",
					  cases[i].value), 0);
		conf = parse_ok(text);

		capture_begin();
		r = nsr_conf_get_int(conf, "nsrecoveryd", NULL, "workers", 2, 1, 64, &v);
		log = capture_end();

		ck_assert_msg(r == -EINVAL, "value '%s': expected -EINVAL, got %d", cases[i].value,
			      r);
		ck_assert_int_eq(v, -1);
		ck_assert_int_ge(asprintf(&shown, "invalid value '%s'", cases[i].value), 0);
		assert_contains(log, "test.conf:3:");
		assert_contains(log, shown);
		assert_contains(log, "for workers in [nsrecoveryd]");
		assert_contains(log, cases[i].expected);
	}
}
END_TEST

START_TEST(test_get_bool)
{
	static const char *const yes[] = { "y", "yes", "true", "on", "1", "YES", "True", "On" };
	static const char *const no[] = { "n", "no", "false", "off", "0", "NO", "False", "OFF" };
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	_cleanup_free_ char *log = NULL;
	bool b;

	for (size_t i = 0; i < NSR_ARRAY_SIZE(yes); i++)
		ck_assert_msg(nsr_conf_parse_bool(yes[i]) == 1, "'%s' should be true", yes[i]);
	for (size_t i = 0; i < NSR_ARRAY_SIZE(no); i++)
		ck_assert_msg(nsr_conf_parse_bool(no[i]) == 0, "'%s' should be false", no[i]);
	ck_assert_int_eq(nsr_conf_parse_bool(""), -EINVAL);
	ck_assert_int_eq(nsr_conf_parse_bool("yess"), -EINVAL);
	ck_assert_int_eq(nsr_conf_parse_bool("2"), -EINVAL);

	conf = parse_ok("[nsrecoveryd-netns \"a\"]\ndebug = On\nbad = maybe\n");
	ck_assert_int_eq(nsr_conf_get_bool(conf, "nsrecoveryd-netns", "a", "debug", false, &b), 0);
	ck_assert(b);
	ck_assert_int_eq(nsr_conf_get_bool(conf, "nsrecoveryd-netns", "a", "unset", true, &b), 0);
	ck_assert(b);

	capture_begin();
	ck_assert_int_eq(nsr_conf_get_bool(conf, "nsrecoveryd-netns", "a", "bad", false, &b),
			 -EINVAL);
	log = capture_end();
	assert_contains(log, "test.conf:3: invalid value 'maybe' for bad in "
			     "[nsrecoveryd-netns \"a\"]");
	assert_contains(log, "expected yes or no");
	assert_contains(log, "default no");
}
END_TEST

START_TEST(test_load_dropins_in_name_order)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *main_path = NULL, *dropins = NULL;
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	const struct nsr_conf_entry *e;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&main_path, "%s/nfs.conf", dir), 0);
	ck_assert_int_ge(asprintf(&dropins, "%s/nfs.conf.d", dir), 0);
	ck_assert_int_eq(mkdir(dropins, 0755), 0);

	write_file(dir, "nfs.conf", "[nsrecoveryd]\nworkers = 1\nmax-batch = 10\n"
				    "node-id = main\n");
	/* Created out of order, so that readdir order cannot pass for name order. */
	write_file(dropins, "20-b.conf", "[nsrecoveryd]\nworkers = 3\n");
	write_file(dropins, "10-a.conf", "[NSRECOVERYD]\nworkers = 2\nmax-batch = 20\n");
	write_file(dropins, "30-c.conf.disabled", "[nsrecoveryd]\nworkers = 9\n");
	write_file(dropins, ".99-hidden.conf", "[nsrecoveryd]\nworkers = 9\n");
	write_file(dropins, "Z-upper.conf", "[nsrecoveryd]\nnode-id = upper\n");
	write_file(dropins, "a-lower.conf", "[nsrecoveryd]\nnode-id = lower\n");
	{
		_cleanup_free_ char *subdir = NULL;

		ck_assert_int_ge(asprintf(&subdir, "%s/40-dir.conf", dropins), 0);
		ck_assert_int_eq(mkdir(subdir, 0755), 0);
	}

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	ck_assert_int_eq(nsr_conf_load_with_dropins(conf, main_path, 0), 0);

	e = nsr_conf_find(conf, "nsrecoveryd", NULL, "workers");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->value, "3");
	ck_assert(strstr(e->source, "20-b.conf"));
	ck_assert_uint_eq(e->line, 2);
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "max-batch", "x"), "20");

	/* Byte order puts upper case first, so "a-lower.conf" is read last. */
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "node-id", "x"), "lower");

	nsr_test_rmtree(dir);
}
END_TEST

START_TEST(test_load_missing_files)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *main_path = NULL, *dropins = NULL;
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	_cleanup_free_ char *log = NULL;
	int r;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&main_path, "%s/nfs.conf", dir), 0);
	ck_assert_int_ge(asprintf(&dropins, "%s/nfs.conf.d", dir), 0);
	ck_assert_int_eq(nsr_conf_new(&conf), 0);

	/* Neither file nor directory: fine when the file is optional. */
	ck_assert_int_eq(nsr_conf_load_with_dropins(conf, main_path, NSR_CONF_MISSING_OK), 0);

	capture_begin();
	r = nsr_conf_load_with_dropins(conf, main_path, 0);
	log = capture_end();
	ck_assert_int_eq(r, -ENOENT);
	assert_contains(log, main_path);
	assert_contains(log, "does not exist");

	/* Drop-ins are still read when the main file is missing. */
	ck_assert_int_eq(mkdir(dropins, 0755), 0);
	write_file(dropins, "x.conf", "[nsrecoveryd]\nworkers = 5\n");
	ck_assert_int_eq(nsr_conf_load_with_dropins(conf, main_path, NSR_CONF_MISSING_OK), 0);
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "workers", "x"), "5");

	nsr_test_rmtree(dir);
}
END_TEST

START_TEST(test_load_dropin_error_names_file)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *main_path = NULL, *dropins = NULL;
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	_cleanup_free_ char *log = NULL, *where = NULL;
	int r;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&main_path, "%s/nfs.conf", dir), 0);
	ck_assert_int_ge(asprintf(&dropins, "%s/nfs.conf.d", dir), 0);
	ck_assert_int_eq(mkdir(dropins, 0755), 0);
	write_file(dir, "nfs.conf", "[nfsd]\nthreads = 8\n");
	write_file(dropins, "50-bad.conf", "[nsrecoveryd]\n\n\nworkers\n");

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	capture_begin();
	r = nsr_conf_load_with_dropins(conf, main_path, 0);
	log = capture_end();

	ck_assert_int_eq(r, -EINVAL);
	ck_assert_int_ge(asprintf(&where, "%s/50-bad.conf:4: missing '='", dropins), 0);
	assert_contains(log, where);
	nsr_test_rmtree(dir);
}
END_TEST

START_TEST(test_load_include)
{
	_cleanup_free_ char *dir = nsr_test_mkdtemp(), *main_path = NULL, *loop = NULL;
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	_cleanup_free_ char *log = NULL;
	int r;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&main_path, "%s/nfs.conf", dir), 0);
	write_file(dir, "nfs.conf",
		   "[nsrecoveryd]\n"
		   "include = extra.conf\n"
		   "include = -optional-missing.conf\n"
		   "include = missing.conf\n"
		   "max-batch = 30\n");
	write_file(dir, "extra.conf",
		   "workers = 6\n"
		   "[nsrecoveryd-netns \"a\"]\n"
		   "server = from-include\n");

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	capture_begin();
	r = nsr_conf_load_file(conf, main_path, 0);
	log = capture_end();
	ck_assert_int_eq(r, 0);

	/* The included file continues the including section, and may open new ones. */
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd", NULL, "workers", "x"), "6");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "a", "server", "x"),
			 "from-include");
	ck_assert_str_eq(nsr_conf_get_string(conf, "nsrecoveryd-netns", "a", "max-batch", "x"),
			 "30");
	ck_assert_ptr_null(nsr_conf_find(conf, "nsrecoveryd", NULL, "include"));

	/* A missing include only warns, as it does in nfs-utils. */
	assert_contains(log, "nfs.conf:4: included file");
	assert_contains(log, "missing.conf does not exist");
	ck_assert_ptr_null(strstr(log, "optional-missing"));

	ck_assert_int_ge(asprintf(&loop, "%s/loop.conf", dir), 0);
	write_file(dir, "loop.conf", "[a]\ninclude = loop.conf\n");
	free(log);
	capture_begin();
	r = nsr_conf_load_file(conf, loop, 0);
	log = capture_end();
	ck_assert_int_eq(r, -ELOOP);
	assert_contains(log, "include cycle");

	nsr_test_rmtree(dir);
}
END_TEST

START_TEST(test_include_rejected_when_disabled)
{
	static const char text[] = "[a]\ninclude = /etc/passwd\n";
	_cleanup_(nsr_conf_freep) struct nsr_conf *conf = NULL;
	_cleanup_free_ char *log = NULL;
	int r;

	ck_assert_int_eq(nsr_conf_new(&conf), 0);
	capture_begin();
	r = nsr_conf_parse_buffer(conf, "buf", text, strlen(text), NSR_CONF_NO_INCLUDE);
	log = capture_end();
	ck_assert_int_eq(r, -EINVAL);
	assert_contains(log, "buf:2: 'include' is not allowed");
}
END_TEST

START_TEST(test_settings_defaults)
{
	_cleanup_(nsr_settings_release) struct nsr_settings s = {};
	_cleanup_free_ char *log = NULL;
	char host[HOST_NAME_MAX + 1] = "";

	ck_assert_int_eq(settings_logged("[nfsd]\nthreads = 8\n", &s, &log), 0);
	ck_assert_str_eq(log, "");
	ck_assert_int_eq(gethostname(host, sizeof(host) - 1), 0);

	ck_assert_str_eq(s.state_dir, NSR_STATEDIR);
	ck_assert_uint_eq(s.workers, 2);
	ck_assert_uint_eq(s.max_batch, 256);
	ck_assert_int_eq(s.transport, NSR_TRANSPORT_AUTO);
	ck_assert_str_eq(s.netns_dir, "/run/netns");
	ck_assert_str_eq(s.node_id, host);
	ck_assert_int_eq(s.event_retention_days, 90);
	ck_assert_int_eq(s.event_retention_rows, 100000);
	ck_assert(!s.debug);
	ck_assert_uint_eq(s.n_netns, 0);
}
END_TEST

START_TEST(test_settings_full)
{
	_cleanup_(nsr_settings_release) struct nsr_settings s = {};
	_cleanup_free_ char *log = NULL;
	const struct nsr_netns_settings *ns;

	ck_assert_int_eq(settings_logged(
		"[nsrecoveryd]\n"
		"state-directory = /srv/nsr\n"
		"workers = 64\n"
		"max-batch = 1\n"
		"transport = PIPE\n"
		"netns-directory = /var/run/netns\n"
		"node-id = node-1.example.org\n"
		"event-retention-days = 0\n"
		"event-retention-rows = 5\n"
		"debug = yes\n"
		"[nsrecoveryd-netns \"red\"]\n"
		"[nsrecoveryd-netns \"blue\"]\n"
		"path = /proc/1234/ns/net\n"
		"server = nfs.example.org\n"
		"state-directory = /shared/blue\n"
		"transport = genl\n", &s, &log), 0);
	ck_assert_str_eq(log, "");

	ck_assert_str_eq(s.state_dir, "/srv/nsr");
	ck_assert_uint_eq(s.workers, 64);
	ck_assert_uint_eq(s.max_batch, 1);
	ck_assert_int_eq(s.transport, NSR_TRANSPORT_PIPE);
	ck_assert_str_eq(s.netns_dir, "/var/run/netns");
	ck_assert_str_eq(s.node_id, "node-1.example.org");
	ck_assert_int_eq(s.event_retention_days, 0);
	ck_assert_int_eq(s.event_retention_rows, 5);
	ck_assert(s.debug);

	ck_assert_uint_eq(s.n_netns, 2);
	ns = nsr_settings_find_netns(&s, "red");
	ck_assert_ptr_nonnull(ns);
	ck_assert_str_eq(ns->path, "/var/run/netns/red");
	ck_assert_ptr_null(ns->server);
	ck_assert_ptr_null(ns->state_dir);
	ck_assert_int_eq(ns->transport, NSR_TRANSPORT_PIPE);
	ck_assert_uint_eq(ns->line, 11);
	/* The settings outlive the parsed configuration, which is freed by now. */
	ck_assert_str_eq(ns->source, "test.conf");

	ns = nsr_settings_find_netns(&s, "blue");
	ck_assert_ptr_nonnull(ns);
	ck_assert_str_eq(ns->path, "/proc/1234/ns/net");
	ck_assert_str_eq(ns->server, "nfs.example.org");
	ck_assert_str_eq(ns->state_dir, "/shared/blue");
	ck_assert_int_eq(ns->transport, NSR_TRANSPORT_GENL);
	ck_assert_ptr_null(nsr_settings_find_netns(&s, "green"));
}
END_TEST

START_TEST(test_settings_empty_netns_directory)
{
	_cleanup_(nsr_settings_release) struct nsr_settings s = {};
	_cleanup_free_ char *log = NULL;

	ck_assert_int_eq(settings_logged("[nsrecoveryd]\nnetns-directory =\n"
					 "[nsrecoveryd-netns \"x\"]\n", &s, &log), 0);
	ck_assert_ptr_null(s.netns_dir);
	ck_assert_uint_eq(s.n_netns, 1);
	ck_assert_str_eq(s.netns[0].path, "/run/netns/x");
}
END_TEST

struct settings_error_case {
	const char *text;
	const char *messages[3];
};

START_TEST(test_settings_errors)
{
	static const struct settings_error_case cases[] = {
		{ "[nsrecoveryd]\nworkers = 0\n",
		  { "test.conf:2: invalid value '0' for workers in [nsrecoveryd]", "from 1 to 64" } },
		{ "[nsrecoveryd]\nworkers = 65\n", { "test.conf:2:", "'65'", "from 1 to 64" } },
		{ "[nsrecoveryd]\nmax-batch = 0\n", { "test.conf:2:", "max-batch", "from 1 to 65536" } },
		{ "[nsrecoveryd]\ntransport = udp\n",
		  { "test.conf:2: invalid value 'udp' for transport", "expected auto, genl or pipe" } },
		{ "[nsrecoveryd]\nstate-directory = var/lib/x\n",
		  { "test.conf:2:", "'var/lib/x' for state-directory", "absolute path" } },
		{ "[nsrecoveryd]\nstate-directory =\n",
		  { "test.conf:2:", "'' for state-directory", "absolute path" } },
		{ "[nsrecoveryd]\nnetns-directory = netns\n",
		  { "test.conf:2:", "'netns'", "or nothing to turn this off" } },
		{ "[nsrecoveryd]\nnode-id = two words\n",
		  { "test.conf:2:", "'two words' for node-id", "without blanks" } },
		{ "[nsrecoveryd]\nevent-retention-days = -1\n",
		  { "test.conf:2:", "event-retention-days", "from 0 to 36500" } },
		{ "[nsrecoveryd]\nevent-retention-rows = many\n",
		  { "test.conf:2:", "'many' for event-retention-rows" } },
		{ "[nsrecoveryd]\ndebug = verbose\n",
		  { "test.conf:2:", "'verbose' for debug", "expected yes or no" } },
		{ "[nsrecoveryd]\nnetns-directory = run/netns\n",
		  { "test.conf:2:", "netns-directory", "absolute path" } },
		{ "[nsrecoveryd-netns]\npath = /run/netns/x\n",
		  { "test.conf:1: [nsrecoveryd-netns] needs a namespace name",
		    "[nsrecoveryd-netns \"NAME\"]" } },
		{ "[nsrecoveryd-netns \"a/b\"]\n",
		  { "test.conf:1: invalid namespace name \"a/b\"" } },
		{ "[nsrecoveryd-netns \"..\"]\n",
		  { "test.conf:1: invalid namespace name \"..\"" } },
		{ "[nsrecoveryd-netns \"a\"]\npath = netns/a\n",
		  { "test.conf:2:", "'netns/a' for path in [nsrecoveryd-netns \"a\"]",
		    "absolute path" } },
		{ "[nsrecoveryd-netns \"a\"]\nserver = ..\n",
		  { "test.conf:2:", "'..' for server in [nsrecoveryd-netns \"a\"]" } },
		{ "[nsrecoveryd-netns \"a\"]\nstate-directory = shared\n",
		  { "test.conf:2:", "'shared' for state-directory" } },
		{ "[nsrecoveryd]\ntransport = genl\n[nsrecoveryd-netns \"a\"]\ntransport = nl\n",
		  { "test.conf:4:", "'nl' for transport in [nsrecoveryd-netns \"a\"]" } },
		{ "[nsrecoveryd-netns \"a\"]\npath = /proc/1/ns/net\n"
		  "[nsrecoveryd-netns \"b\"]\npath = /proc/1/ns/net\n",
		  { "test.conf:3: namespaces \"b\" and \"a\" (test.conf:1)",
		    "the namespace file /proc/1/ns/net" } },
		{ "[nsrecoveryd-netns \"a\"]\nstate-directory = /srv/x\n"
		  "[nsrecoveryd-netns \"b\"]\nstate-directory = /srv/x\n",
		  { "test.conf:3:", "the state directory /srv/x", "its own directory" } },
	};

	for (size_t i = 0; i < NSR_ARRAY_SIZE(cases); i++) {
		struct nsr_settings s = {};
		_cleanup_free_ char *log = NULL;
		int r = settings_logged(cases[i].text, &s, &log);

		ck_assert_msg(r == -EINVAL, "case %zu: expected -EINVAL, got %d", i, r);
		ck_assert_ptr_null(s.state_dir);
		ck_assert_ptr_null(s.netns);
		for (size_t m = 0; m < NSR_ARRAY_SIZE(cases[i].messages) && cases[i].messages[m]; m++)
			assert_contains(log, cases[i].messages[m]);
	}
}
END_TEST

START_TEST(test_settings_reports_every_error)
{
	struct nsr_settings s = {};
	_cleanup_free_ char *log = NULL;

	ck_assert_int_eq(settings_logged("[nsrecoveryd]\nworkers = 0\nmax-batch = x\n"
					 "[nsrecoveryd-netns \"a\"]\ntransport = x\n", &s, &log),
			 -EINVAL);
	assert_contains(log, "test.conf:2:");
	assert_contains(log, "test.conf:3:");
	assert_contains(log, "test.conf:5:");
}
END_TEST

START_TEST(test_settings_unknown_keys_warn)
{
	_cleanup_(nsr_settings_release) struct nsr_settings s = {};
	_cleanup_free_ char *log = NULL;

	ck_assert_int_eq(settings_logged(
		"[nfsd]\n"
		"threads = 8\n"
		"whatever = 1\n"
		"[nsrecoveryd]\n"
		"wrkers = 3\n"
		"[nsrecoveryd-netns \"a\"]\n"
		"pth = /x\n"
		"[nsrecoveryd-netnss \"b\"]\n"
		"[nsrecoveryd \"c\"]\n", &s, &log), 0);

	assert_contains(log, "test.conf:5: unknown key 'wrkers' in [nsrecoveryd]");
	assert_contains(log, "test.conf:7: unknown key 'pth' in [nsrecoveryd-netns \"a\"]");
	assert_contains(log, "test.conf:8: unknown section [nsrecoveryd-netnss]");
	assert_contains(log, "test.conf:9: [nsrecoveryd] takes no argument");
	ck_assert_ptr_null(strstr(log, "threads"));
	ck_assert_ptr_null(strstr(log, "whatever"));
	ck_assert_uint_eq(s.workers, 2);
}
END_TEST

START_TEST(test_transport_names)
{
	enum nsr_transport t;

	ck_assert_int_eq(nsr_transport_from_string("auto", &t), 0);
	ck_assert_int_eq(t, NSR_TRANSPORT_AUTO);
	ck_assert_int_eq(nsr_transport_from_string("GenL", &t), 0);
	ck_assert_int_eq(t, NSR_TRANSPORT_GENL);
	ck_assert_int_eq(nsr_transport_from_string("pipe", &t), 0);
	ck_assert_int_eq(t, NSR_TRANSPORT_PIPE);
	ck_assert_int_eq(nsr_transport_from_string("", &t), -EINVAL);
	ck_assert_str_eq(nsr_transport_name(NSR_TRANSPORT_GENL), "genl");
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *parse = tcase_create("parse");
	TCase *load = tcase_create("load");
	TCase *settings = tcase_create("settings");

	tcase_add_test(parse, test_parse_basic);
	tcase_add_test(parse, test_parse_case_insensitive_names);
	tcase_add_test(parse, test_parse_quoting);
	tcase_add_test(parse, test_parse_line_endings);
	tcase_add_test(parse, test_parse_later_value_wins);
	tcase_add_test(parse, test_parse_subsections);
	tcase_add_test(parse, test_foreach_stops_on_nonzero);
	tcase_add_test(parse, test_parse_syntax_errors);
	tcase_add_test(parse, test_parse_nul_byte);
	tcase_add_test(parse, test_parse_long_value_is_cut);
	tcase_add_test(parse, test_get_int);
	tcase_add_test(parse, test_get_int_errors);
	tcase_add_test(parse, test_get_bool);
	suite_add_tcase(s, parse);

	tcase_add_test(load, test_load_dropins_in_name_order);
	tcase_add_test(load, test_load_missing_files);
	tcase_add_test(load, test_load_dropin_error_names_file);
	tcase_add_test(load, test_load_include);
	tcase_add_test(load, test_include_rejected_when_disabled);
	suite_add_tcase(s, load);

	tcase_add_test(settings, test_settings_defaults);
	tcase_add_test(settings, test_settings_full);
	tcase_add_test(settings, test_settings_empty_netns_directory);
	tcase_add_test(settings, test_settings_errors);
	tcase_add_test(settings, test_settings_reports_every_error);
	tcase_add_test(settings, test_settings_unknown_keys_warn);
	tcase_add_test(settings, test_transport_names);
	suite_add_tcase(s, settings);

	return s;
}

int main(void)
{
	return nsr_test_run(conf_suite());
}
