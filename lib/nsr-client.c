/* nsr-client.c: client ids, principal hashes and their printable forms. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-client.h"

void nsr_client_init(struct nsr_client *client)
{
	memset(client, 0, offsetof(struct nsr_client, id));
	client->princhash_len = 0;
	client->address = NULL;
	client->minor_version = -1;
	client->principal = NULL;
	client->impl_id = NULL;
}

void nsr_client_release(struct nsr_client *client)
{
	free(client->address);
	free(client->principal);
	free(client->impl_id);
	client->address = NULL;
	client->principal = NULL;
	client->impl_id = NULL;
}

int nsr_client_set_id(struct nsr_client *client, const void *data, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > NSR_CLIENTID_MAX)
		return -E2BIG;

	memcpy(client->id, data, len);
	client->id_len = len;
	return 0;
}

int nsr_client_set_princhash(struct nsr_client *client, const void *data, size_t len)
{
	if (len != 0 && len != NSR_PRINCHASH_LEN)
		return -EINVAL;

	if (len)
		memcpy(client->princhash, data, len);
	client->princhash_len = len;
	return 0;
}

static int dup_bounded(const char *s, size_t max, char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	if (strnlen(s, max + 1) > max)
		return -EINVAL;

	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int nsr_client_set_audit(struct nsr_client *client, const char *address, int32_t minor_version,
			 const char *principal, const char *impl_id)
{
	char *a = NULL, *p = NULL, *i = NULL;
	int r;

	r = dup_bounded(address, NSR_ADDRESS_MAX, &a);
	if (r < 0)
		goto fail;
	r = dup_bounded(principal, NSR_PRINCIPAL_MAX, &p);
	if (r < 0)
		goto fail;
	r = dup_bounded(impl_id, NSR_IMPL_ID_MAX, &i);
	if (r < 0)
		goto fail;

	nsr_client_release(client);
	client->address = a;
	client->minor_version = minor_version;
	client->principal = p;
	client->impl_id = i;
	return 0;

fail:
	free(a);
	free(p);
	free(i);
	return r;
}

bool nsr_clientid_is_printable(const uint8_t *id, size_t len)
{
	if (len == 0)
		return false;

	for (size_t i = 0; i < len; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			return false;
	return true;
}

static void format_hex(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

const char *nsr_clientid_format(const uint8_t *id, size_t len, char *buf)
{
	if (len > NSR_CLIENTID_MAX)
		len = NSR_CLIENTID_MAX;

	/* Printable text that starts with "0x" would read back as hex. */
	if (nsr_clientid_is_printable(id, len) && !(len >= 2 && id[0] == '0' && id[1] == 'x')) {
		memcpy(buf, id, len);
		buf[len] = '\0';
		return buf;
	}

	buf[0] = '0';
	buf[1] = 'x';
	format_hex(id, len, buf + 2);
	return buf;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nsr_clientid_parse(const char *text, uint8_t *id, size_t *len)
{
	size_t n = strlen(text);

	if (n == 0)
		return -EINVAL;

	if (n < 2 || text[0] != '0' || text[1] != 'x') {
		if (n > NSR_CLIENTID_MAX)
			return -E2BIG;
		memcpy(id, text, n);
		*len = n;
		return 0;
	}

	text += 2;
	n -= 2;
	if (n == 0 || n % 2)
		return -EINVAL;
	if (n / 2 > NSR_CLIENTID_MAX)
		return -E2BIG;

	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(text[2 * i]);
		int lo = hex_value(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return 0;
}

const char *nsr_princhash_format(const uint8_t *hash, size_t len, char *buf)
{
	if (len == 0 || len > NSR_PRINCHASH_LEN) {
		strcpy(buf, "-");
		return buf;
	}

	format_hex(hash, len, buf);
	return buf;
}
