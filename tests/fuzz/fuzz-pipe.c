/* fuzz-pipe.c: libFuzzer target that feeds arbitrary bytes to the cld pipe parsers. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nsr-import.h"
#include "nsr-pipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each check is an invariant of the codec: a violation aborts and libFuzzer keeps the input. */
#define require(cond)                  \
	do {                           \
		if (!(cond))           \
			abort();       \
	} while (0)

/* An upcall the parser accepts must build again and parse back to the same request. */
static void check_upcall(const uint8_t *data, size_t size)
{
	struct nsr_pipe_hdr hdr;
	struct nsr_request req, again;
	uint8_t buf[NSR_PIPE_MSG_MAX];
	int r, n;

	r = nsr_pipe_parse_upcall(data, size, &hdr, &req);
	if (r < 0) {
		require(req.client.id_len == 0);
		/* Every error but a missing header leaves an xid to answer with. */
		if (r != -EBADMSG)
			require(nsr_pipe_build_status(&hdr, r, buf) > 0);
		return;
	}

	require(size == nsr_pipe_msg_size(hdr.version));
	n = nsr_pipe_build_upcall(hdr.version, hdr.cmd, hdr.xid,
				  req.client.id_len ? &req.client : NULL, buf);
	require(n == (int)size);
	require(nsr_pipe_parse_upcall(buf, (size_t)n, &hdr, &again) == 0);
	require(again.op == req.op && again.xid == req.xid);
	require(again.client.id_len == req.client.id_len);
	require(memcmp(again.client.id, req.client.id, req.client.id_len) == 0);
	require(again.client.princhash_len == req.client.princhash_len);
	nsr_request_release(&req);
	nsr_request_release(&again);
}

static void check_answer(const uint8_t *data, size_t size)
{
	struct nsr_pipe_answer a;

	for (unsigned int version = 1; version <= 2; version++)
		if (nsr_pipe_parse_answer(data, size, version, &a) == 0)
			require(a.size == nsr_pipe_msg_size(version));
}

/* The v4recovery name parser takes a NUL-terminated entry name. */
static void check_v4recovery_name(const uint8_t *data, size_t size)
{
	uint8_t id[NSR_IMPORT_HASH_ID_LEN];
	char name[64];
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

	memcpy(name, data, n);
	name[n] = '\0';
	if (nsr_import_parse_v4recovery_name(name, id) == 0) {
		require(strlen(name) == 32);
		require(memcmp(id, "hash:", 5) == 0 && id[37] == '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_upcall(data, size);
	check_answer(data, size);
	check_v4recovery_name(data, size);
	return 0;
}
