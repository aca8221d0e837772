/* nsr-request.c: life cycle of the transport-neutral request. */
#include <stdlib.h>
#include <string.h>

#include "nsr-request.h"

void nsr_request_init(struct nsr_request *req, enum nsr_op op)
{
	memset(req, 0, offsetof(struct nsr_request, client));
	nsr_client_init(&req->client);
	req->op = op;
	req->boot_time = 0;
	req->scope = NULL;
	req->version = 0;
	req->status = 0;
	req->records_sent = 0;
	req->emit_record = NULL;
	req->complete = NULL;
	req->transport = NULL;
	req->waiter = NULL;
	req->next = NULL;
}

void nsr_request_release(struct nsr_request *req)
{
	nsr_client_release(&req->client);
	free(req->scope);
	req->scope = NULL;
}

const char *nsr_op_name(enum nsr_op op)
{
	switch (op) {
	case NSR_OP_CREATE:
		return "create";
	case NSR_OP_REMOVE:
		return "remove";
	case NSR_OP_CHECK:
		return "check";
	case NSR_OP_GRACE_START:
		return "grace-start";
	case NSR_OP_GRACE_DONE:
		return "grace-done";
	case NSR_OP_VERSION:
		return "version";
	case NSR_OP_RENEW:
		return "renew";
	}
	return "unknown";
}
