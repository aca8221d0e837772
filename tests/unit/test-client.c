/* test-client.c: client id validation and its printable forms. */
#include <errno.h>
#include <string.h>

#include "nsr-client.h"
#include "nsr-test.h"

START_TEST(test_id_bounds)
{
	static uint8_t big[NSR_CLIENTID_MAX + 1];
	struct nsr_client c;

	nsr_client_init(&c);
	memset(big, 'a', sizeof(big));

	ck_assert_int_eq(nsr_client_set_id(&c, big, NSR_CLIENTID_MAX), 0);
	ck_assert_uint_eq(c.id_len, NSR_CLIENTID_MAX);
	ck_assert_int_eq(nsr_client_set_id(&c, big, NSR_CLIENTID_MAX + 1), -E2BIG);
	ck_assert_uint_eq(c.id_len, NSR_CLIENTID_MAX);
	ck_assert_int_eq(nsr_client_set_id(&c, big, 0), -EINVAL);
}
END_TEST

START_TEST(test_princhash_lengths)
{
	static const uint8_t hash[NSR_PRINCHASH_LEN] = { 1, 2, 3 };
	struct nsr_client c;

	nsr_client_init(&c);
	ck_assert_int_eq(nsr_client_set_princhash(&c, hash, 0), 0);
	ck_assert_int_eq(nsr_client_set_princhash(&c, hash, NSR_PRINCHASH_LEN), 0);
	ck_assert_uint_eq(c.princhash_len, NSR_PRINCHASH_LEN);
	ck_assert_int_eq(nsr_client_set_princhash(&c, hash, 31), -EINVAL);
	ck_assert_int_eq(nsr_client_set_princhash(&c, hash, 33), -EINVAL);
}
END_TEST

START_TEST(test_format_round_trip)
{
	static const uint8_t binary[] = { 'L', 'i', 0, 'n', 0xff };
	static const uint8_t text[] = "Linux NFSv4.1 client-a";
	static const uint8_t looks_hex[] = "0x12";
	char buf[NSR_CLIENTID_TEXT_MAX];
	uint8_t back[NSR_CLIENTID_MAX];
	size_t len;

	ck_assert_str_eq(nsr_clientid_format(text, sizeof(text) - 1, buf), (const char *)text);
	ck_assert_str_eq(nsr_clientid_format(binary, sizeof(binary), buf), "0x4c69006eff");
	ck_assert_int_eq(nsr_clientid_parse(buf, back, &len), 0);
	ck_assert_uint_eq(len, sizeof(binary));
	ck_assert_mem_eq(back, binary, sizeof(binary));

	ck_assert_str_eq(nsr_clientid_format(looks_hex, 4, buf), "0x30783132");
	ck_assert_int_eq(nsr_clientid_parse(buf, back, &len), 0);
	ck_assert_mem_eq(back, looks_hex, 4);
}
END_TEST

START_TEST(test_parse_rejects_bad_hex)
{
	uint8_t back[NSR_CLIENTID_MAX];
	size_t len;

	ck_assert_int_eq(nsr_clientid_parse("", back, &len), -EINVAL);
	ck_assert_int_eq(nsr_clientid_parse("0x", back, &len), -EINVAL);
	ck_assert_int_eq(nsr_clientid_parse("0x123", back, &len), -EINVAL);
	ck_assert_int_eq(nsr_clientid_parse("0xzz", back, &len), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("clientid");

	tcase_add_test(tc, test_id_bounds);
	tcase_add_test(tc, test_princhash_lengths);
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_parse_rejects_bad_hex);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
