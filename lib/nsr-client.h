/* nsr-client.h: the NFSv4 client record as every module sees it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An NFSv4 client id (nfs_client_id4.id) is an opaque of at most 1024 bytes. */
#define NSR_CLIENTID_MAX 1024

/* The principal hash is the SHA-256 digest of the Kerberos principal. */
#define NSR_PRINCHASH_LEN 32

/* Room for nsr_clientid_format(): "0x", two hex digits a byte, and a NUL. */
#define NSR_CLIENTID_TEXT_MAX (2 + 2 * NSR_CLIENTID_MAX + 1)

/* Upper bounds for the optional audit strings, NUL excluded. */
#define NSR_ADDRESS_MAX 64
#define NSR_PRINCIPAL_MAX 1024
#define NSR_IMPL_ID_MAX 1024

/*
 * A client as a request carries it. The id is binary-safe: it may hold NUL
 * bytes, and id_len is authoritative. Every audit field is optional:
 * NULL strings and a minor_version of -1 mean "not known".
 */
struct nsr_client {
	uint16_t id_len;
	uint8_t id[NSR_CLIENTID_MAX];
	uint8_t princhash_len; /* 0 or NSR_PRINCHASH_LEN */
	uint8_t princhash[NSR_PRINCHASH_LEN];

	char *address;
	int32_t minor_version;
	char *principal;
	char *impl_id;
};

/*
 * A stored client record, valid only during the callback that receives it.
 * Times are seconds since the Epoch.
 */
struct nsr_record {
	const uint8_t *id;
	size_t id_len;
	const uint8_t *princhash;
	size_t princhash_len;
	int64_t epoch;
	int64_t first_seen;
	int64_t last_seen;
	const char *address;
	int32_t minor_version;
	const char *principal;
	const char *impl_id;
};

/**
 * nsr_client_init - reset @client to an empty id with no audit attributes
 */
void nsr_client_init(struct nsr_client *client);

/**
 * nsr_client_release - free the audit strings of @client
 *
 * The id and principal hash live inside @client and need no freeing.
 */
void nsr_client_release(struct nsr_client *client);

/**
 * nsr_client_set_id - copy a client id into @client
 * @data: the opaque id, which may contain NUL bytes
 * @len: its length in bytes
 *
 * Returns 0, -EINVAL for an empty id, or -E2BIG for one longer than
 * NSR_CLIENTID_MAX bytes. @client is unchanged on error.
 */
int nsr_client_set_id(struct nsr_client *client, const void *data, size_t len);

/**
 * nsr_client_set_princhash - copy a principal hash into @client
 *
 * Returns 0, or -EINVAL when @len is neither 0 nor NSR_PRINCHASH_LEN.
 */
int nsr_client_set_princhash(struct nsr_client *client, const void *data, size_t len);

/**
 * nsr_client_set_audit - replace the optional audit attributes of @client
 *
 * Each string may be NULL. Returns 0, -EINVAL when a string is longer than
 * its NSR_*_MAX bound, or -ENOMEM; @client is unchanged on error.
 */
int nsr_client_set_audit(struct nsr_client *client, const char *address, int32_t minor_version,
			 const char *principal, const char *impl_id);

/**
 * nsr_clientid_is_printable - whether every byte is printable ASCII
 *
 * An empty id is not printable.
 */
bool nsr_clientid_is_printable(const uint8_t *id, size_t len);

/**
 * nsr_clientid_format - render a client id for people
 * @buf: at least NSR_CLIENTID_TEXT_MAX bytes
 *
 * The id is copied as is when it is printable ASCII and does not start
 * with "0x", and rendered as "0x" and lower-case hex otherwise, so the
 * output parses back with nsr_clientid_parse(). Returns @buf.
 */
const char *nsr_clientid_format(const uint8_t *id, size_t len, char *buf);

/**
 * nsr_clientid_parse - the inverse of nsr_clientid_format()
 * @text: printable text, or "0x" followed by an even number of hex digits
 * @id: at least NSR_CLIENTID_MAX bytes
 * @len: set to the id's length
 *
 * Returns 0, -EINVAL for empty text or malformed hex, or -E2BIG for an id
 * longer than NSR_CLIENTID_MAX bytes.
 */
int nsr_clientid_parse(const char *text, uint8_t *id, size_t *len);

/**
 * nsr_princhash_format - render a principal hash as 64 hex digits, or "-"
 * @buf: at least 2 * NSR_PRINCHASH_LEN + 1 bytes
 */
const char *nsr_princhash_format(const uint8_t *hash, size_t len, char *buf);
