/* nsr-genl.c: the codec for the nfsd_cltrack generic netlink family. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "nsr-genl.h"

_Static_assert(NSR_CLIENTID_MAX == NFSD_CLTRACK_CLIENTID_MAX, "client id bounds differ");
_Static_assert(NSR_PRINCHASH_LEN == NFSD_CLTRACK_PRINCHASH_LEN, "principal hash lengths differ");
_Static_assert(NSR_ADDRESS_MAX == NFSD_CLTRACK_ADDR_MAX, "address bounds differ");
_Static_assert(NSR_PRINCIPAL_MAX == NFSD_CLTRACK_PRINCIPAL_MAX, "principal bounds differ");
_Static_assert(NSR_IMPL_ID_MAX == NFSD_CLTRACK_IMPL_ID_MAX, "implementation id bounds differ");
_Static_assert(NFSD_CLTRACK_A_MAX < 32, "attribute masks are 32 bits wide");

#define ATTR_BIT(type) (UINT32_C(1) << (type))

/* The minimum REPLY status: -MAX_ERRNO, the kernel's largest errno value. */
#define STATUS_MIN (-4095)

/* Bytes of a GRACE_RECORDS message that contains REQ_ID and no record. */
#define RECORDS_EMPTY_LEN (NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + sizeof(uint64_t))

/* Room for the longest upcall: four 1024-byte values and small fixed ones. */
#define UPCALL_MSG_SIZE 8192

static __thread char last_error[512];

const char *nsr_genl_strerror(void)
{
	return last_error;
}

static void clear_error(void)
{
	last_error[0] = '\0';
}

_printf_(2, 3) static int fail(int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return error;
}

static const char *cmd_name(unsigned int cmd)
{
	static const char *const names[] = {
		[NFSD_CLTRACK_CMD_HELLO] = "HELLO",
		[NFSD_CLTRACK_CMD_PENDING_NTF] = "PENDING_NTF",
		[NFSD_CLTRACK_CMD_GET_PENDING] = "GET_PENDING",
		[NFSD_CLTRACK_CMD_GRACE_RECORDS] = "GRACE_RECORDS",
		[NFSD_CLTRACK_CMD_REPLY] = "REPLY",
	};

	if (cmd < NSR_ARRAY_SIZE(names) && names[cmd])
		return names[cmd];
	return "unknown";
}

/* Attribute validation rules, one table per attribute space. */

enum attr_kind {
	KIND_U32,
	KIND_U64,
	KIND_S32,
	KIND_S64,
	KIND_STRING,	/* NUL-terminated, max_len bytes at most before the NUL */
	KIND_CLIENT_ID,	/* binary, 1..NFSD_CLTRACK_CLIENTID_MAX bytes */
	KIND_PRINCHASH,	/* binary, 0 or NFSD_CLTRACK_PRINCHASH_LEN bytes */
	KIND_NESTED,	/* must carry NLA_F_NESTED, as strict kernel parsing requires */
};

struct attr_rule {
	const char *name;
	enum attr_kind kind;
	size_t max_len;
};

static const struct attr_rule top_rules[NFSD_CLTRACK_A_MAX + 1] = {
	[NFSD_CLTRACK_A_VERSION] = { "NFSD_CLTRACK_A_VERSION", KIND_U32, 0 },
	[NFSD_CLTRACK_A_CAPS] = { "NFSD_CLTRACK_A_CAPS", KIND_U32, 0 },
	[NFSD_CLTRACK_A_REQ_ID] = { "NFSD_CLTRACK_A_REQ_ID", KIND_U64, 0 },
	[NFSD_CLTRACK_A_REQ_TYPE] = { "NFSD_CLTRACK_A_REQ_TYPE", KIND_U32, 0 },
	[NFSD_CLTRACK_A_STATUS] = { "NFSD_CLTRACK_A_STATUS", KIND_S32, 0 },
	[NFSD_CLTRACK_A_CLIENT_ID] = { "NFSD_CLTRACK_A_CLIENT_ID", KIND_CLIENT_ID, 0 },
	[NFSD_CLTRACK_A_PRINCHASH] = { "NFSD_CLTRACK_A_PRINCHASH", KIND_PRINCHASH, 0 },
	[NFSD_CLTRACK_A_SCOPE] = { "NFSD_CLTRACK_A_SCOPE", KIND_STRING, NFSD_CLTRACK_SCOPE_MAX },
	[NFSD_CLTRACK_A_BOOT_TIME] = { "NFSD_CLTRACK_A_BOOT_TIME", KIND_S64, 0 },
	[NFSD_CLTRACK_A_CLIENT_ADDR] = { "NFSD_CLTRACK_A_CLIENT_ADDR", KIND_STRING,
					 NFSD_CLTRACK_ADDR_MAX },
	[NFSD_CLTRACK_A_MINOR_VERSION] = { "NFSD_CLTRACK_A_MINOR_VERSION", KIND_U32, 0 },
	[NFSD_CLTRACK_A_PRINCIPAL] = { "NFSD_CLTRACK_A_PRINCIPAL", KIND_STRING,
				       NFSD_CLTRACK_PRINCIPAL_MAX },
	[NFSD_CLTRACK_A_IMPL_ID] = { "NFSD_CLTRACK_A_IMPL_ID", KIND_STRING,
				     NFSD_CLTRACK_IMPL_ID_MAX },
	[NFSD_CLTRACK_A_RECORD] = { "NFSD_CLTRACK_A_RECORD", KIND_NESTED, 0 },
	[NFSD_CLTRACK_A_AFTER_ID] = { "NFSD_CLTRACK_A_AFTER_ID", KIND_U64, 0 },
	[NFSD_CLTRACK_A_PENDING] = { "NFSD_CLTRACK_A_PENDING", KIND_U32, 0 },
	[NFSD_CLTRACK_A_TIMEOUT_MS] = { "NFSD_CLTRACK_A_TIMEOUT_MS", KIND_U32, 0 },
};

static const struct attr_rule record_rules[NFSD_CLTRACK_RECORD_A_MAX + 1] = {
	[NFSD_CLTRACK_RECORD_A_CLIENT_ID] = { "NFSD_CLTRACK_RECORD_A_CLIENT_ID", KIND_CLIENT_ID,
					      0 },
	[NFSD_CLTRACK_RECORD_A_PRINCHASH] = { "NFSD_CLTRACK_RECORD_A_PRINCHASH", KIND_PRINCHASH,
					      0 },
};

/* The attributes one message may carry. */
struct attr_set {
	const char *context;	/* names the message in errors */
	const struct attr_rule *rules;
	int maxtype;
	uint32_t allowed;
	uint32_t required;
	uint32_t repeated;	/* may appear more than once */
};

static const struct attr_set hello_request_set = {
	.context = "HELLO request",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_VERSION) | ATTR_BIT(NFSD_CLTRACK_A_CAPS),
	.required = ATTR_BIT(NFSD_CLTRACK_A_VERSION),
};

static const struct attr_set hello_reply_set = {
	.context = "HELLO reply",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_VERSION) | ATTR_BIT(NFSD_CLTRACK_A_CAPS) |
		   ATTR_BIT(NFSD_CLTRACK_A_TIMEOUT_MS) | ATTR_BIT(NFSD_CLTRACK_A_PENDING),
	.required = ATTR_BIT(NFSD_CLTRACK_A_VERSION),
};

static const struct attr_set pending_ntf_set = {
	.context = "PENDING_NTF",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_PENDING),
	.required = ATTR_BIT(NFSD_CLTRACK_A_PENDING),
};

static const struct attr_set get_pending_set = {
	.context = "GET_PENDING request",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_AFTER_ID),
};

#define CLIENT_ATTRS                                                                     \
	(ATTR_BIT(NFSD_CLTRACK_A_CLIENT_ID) | ATTR_BIT(NFSD_CLTRACK_A_PRINCHASH) |       \
	 ATTR_BIT(NFSD_CLTRACK_A_CLIENT_ADDR) | ATTR_BIT(NFSD_CLTRACK_A_MINOR_VERSION) | \
	 ATTR_BIT(NFSD_CLTRACK_A_PRINCIPAL) | ATTR_BIT(NFSD_CLTRACK_A_IMPL_ID))

static const struct attr_set upcall_set = {
	.context = "GET_PENDING reply",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_REQ_TYPE) |
		   ATTR_BIT(NFSD_CLTRACK_A_SCOPE) | ATTR_BIT(NFSD_CLTRACK_A_BOOT_TIME) |
		   CLIENT_ATTRS,
	.required = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_REQ_TYPE) |
		    ATTR_BIT(NFSD_CLTRACK_A_SCOPE) | ATTR_BIT(NFSD_CLTRACK_A_BOOT_TIME),
};

static const struct attr_set grace_records_set = {
	.context = "GRACE_RECORDS",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_RECORD),
	.required = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_RECORD),
	.repeated = ATTR_BIT(NFSD_CLTRACK_A_RECORD),
};

static const struct attr_set record_set = {
	.context = "GRACE_RECORDS record",
	.rules = record_rules,
	.maxtype = NFSD_CLTRACK_RECORD_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_RECORD_A_CLIENT_ID) |
		   ATTR_BIT(NFSD_CLTRACK_RECORD_A_PRINCHASH),
	.required = ATTR_BIT(NFSD_CLTRACK_RECORD_A_CLIENT_ID),
};

static const struct attr_set reply_set = {
	.context = "REPLY",
	.rules = top_rules,
	.maxtype = NFSD_CLTRACK_A_MAX,
	.allowed = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_STATUS),
	.required = ATTR_BIT(NFSD_CLTRACK_A_REQ_ID) | ATTR_BIT(NFSD_CLTRACK_A_STATUS),
};

/* Parsing */

static int check_fixed_len(const struct attr_rule *rule, const char *context, int len, int expected,
			   const char *ctype)
{
	if (len != expected)
		return fail(-EINVAL, "%s in %s is %d bytes, but a %s takes exactly %d", rule->name,
			    context, len, ctype, expected);
	return 0;
}

static int check_string(const struct attr_rule *rule, const char *context, const struct nlattr *nla)
{
	const char *s = nla_data(nla);
	int len = nla_len(nla);
	size_t n;

	if (len == 0 || s[len - 1] != '\0')
		return fail(-EINVAL, "%s in %s is not NUL-terminated", rule->name, context);

	n = strlen(s);
	if (n != (size_t)len - 1)
		return fail(-EINVAL, "%s in %s contains a NUL byte at offset %zu, before its end",
			    rule->name, context, n);
	if (n > rule->max_len)
		return fail(-EINVAL, "%s in %s is %zu bytes long, over its maximum of %zu",
			    rule->name, context, n, rule->max_len);
	return 0;
}

static int check_attr(const struct attr_rule *rule, const char *context, const struct nlattr *nla)
{
	bool nested_flag = nla->nla_type & NLA_F_NESTED;
	int len = nla_len(nla);

	if (rule->kind == KIND_NESTED && !nested_flag)
		return fail(-EINVAL, "%s in %s lacks the NLA_F_NESTED flag", rule->name, context);
	if (rule->kind != KIND_NESTED && nested_flag)
		return fail(-EINVAL, "%s in %s carries NLA_F_NESTED but is not a nested attribute",
			    rule->name, context);

	switch (rule->kind) {
	case KIND_U32:
		return check_fixed_len(rule, context, len, sizeof(uint32_t), "u32");
	case KIND_U64:
		return check_fixed_len(rule, context, len, sizeof(uint64_t), "u64");
	case KIND_S32:
		return check_fixed_len(rule, context, len, sizeof(int32_t), "s32");
	case KIND_S64:
		return check_fixed_len(rule, context, len, sizeof(int64_t), "s64");
	case KIND_STRING:
		return check_string(rule, context, nla);
	case KIND_CLIENT_ID:
		if (len == 0)
			return fail(-EINVAL, "%s in %s is empty, but a client id takes 1 to %d bytes",
				    rule->name, context, NFSD_CLTRACK_CLIENTID_MAX);
		if (len > NFSD_CLTRACK_CLIENTID_MAX)
			return fail(-E2BIG, "%s in %s is %d bytes, over the maximum of %d",
				    rule->name, context, len, NFSD_CLTRACK_CLIENTID_MAX);
		return 0;
	case KIND_PRINCHASH:
		if (len != 0 && len != NFSD_CLTRACK_PRINCHASH_LEN)
			return fail(-EINVAL, "%s in %s is %d bytes, but a principal hash takes 0 or %d",
				    rule->name, context, len, NFSD_CLTRACK_PRINCHASH_LEN);
		return 0;
	case KIND_NESTED:
		return 0;
	}
	return fail(-EINVAL, "%s in %s has no validation rule", rule->name, context);
}

/*
 * Validate every attribute in [@head, @head + @len) against @set and store
 * the first occurrence of each type in @tb, which has set->maxtype + 1
 * slots. An empty attribute of type 0 is skipped, because the kernel's
 * nla_put_u64_64bit() emits one as alignment padding on some architectures
 * when given type 0 as its pad type.
 */
static int parse_attrs(const struct nlattr *head, int len, const struct attr_set *set,
		       const char *context, const struct nlattr **tb)
{
	struct nlattr *nla;
	int rem, r;

	memset(tb, 0, (set->maxtype + 1) * sizeof(*tb));

	nla_for_each_attr(nla, (struct nlattr *)head, len, rem) {
		int type = nla_type(nla);
		const struct attr_rule *rule;

		if (type == 0 && nla_len(nla) == 0)
			continue;
		if (type > set->maxtype || !set->rules[type].name)
			return fail(-EPROTO, "unknown attribute type %d in %s", type, context);

		rule = &set->rules[type];
		if (!(set->allowed & ATTR_BIT(type)))
			return fail(-EPROTO, "%s (type %d) is not valid in %s", rule->name, type,
				    context);
		if (tb[type] && !(set->repeated & ATTR_BIT(type)))
			return fail(-EINVAL, "%s appears more than once in %s", rule->name, context);

		r = check_attr(rule, context, nla);
		if (r < 0)
			return r;
		if (!tb[type])
			tb[type] = nla;
	}

	if (rem > 0) {
		int offset = (int)((const char *)nla - (const char *)head);

		if (rem >= NLA_HDRLEN)
			return fail(-EBADMSG,
				    "truncated attribute in %s: type %d at attribute offset %d has "
				    "nla_len %u, but only %d bytes are left",
				    context, nla_type(nla), offset, nla->nla_len, rem);
		return fail(-EBADMSG,
			    "truncated attribute in %s: %d stray bytes at attribute offset %d",
			    context, rem, offset);
	}

	for (int type = 1; type <= set->maxtype; type++)
		if ((set->required & ATTR_BIT(type)) && !tb[type])
			return fail(-ENODATA, "missing required attribute %s in %s",
				    set->rules[type].name, context);
	return 0;
}

/*
 * Check the netlink and generic netlink headers and return the attribute
 * area of the message.
 */
static int parse_headers(const struct nlmsghdr *nlh, size_t len, const char *context,
			 const struct nlattr **head, int *attrlen)
{
	const struct genlmsghdr *genl;

	if (len < NLMSG_HDRLEN)
		return fail(-EBADMSG, "truncated %s: %zu bytes cannot hold a netlink header of %d",
			    context, len, (int)NLMSG_HDRLEN);
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return fail(-EBADMSG,
			    "truncated %s: nlmsg_len %u is shorter than the netlink and generic "
			    "netlink headers (%d bytes)",
			    context, nlh->nlmsg_len, (int)(NLMSG_HDRLEN + GENL_HDRLEN));
	if (nlh->nlmsg_len > len || nlh->nlmsg_len > INT_MAX)
		return fail(-EBADMSG, "truncated %s: nlmsg_len %u exceeds the %zu bytes received",
			    context, nlh->nlmsg_len, len);
	if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
		return fail(-EBADMSG, "netlink control message of type %u where %s was expected",
			    nlh->nlmsg_type, context);

	genl = nlmsg_data(nlh);
	if (genl->version != NFSD_CLTRACK_FAMILY_VERSION)
		return fail(-EPROTONOSUPPORT,
			    "generic netlink header version %u of %s is not supported; this "
			    "codec speaks version %d",
			    genl->version, context, NFSD_CLTRACK_FAMILY_VERSION);

	*head = genlmsg_attrdata(genl, 0);
	*attrlen = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
	return 0;
}

/* Check the headers and the command, then parse the attributes into @tb. */
static int parse_message(const struct nlmsghdr *nlh, size_t len, uint8_t cmd,
			 const struct attr_set *set, const struct nlattr **tb)
{
	const struct genlmsghdr *genl;
	const struct nlattr *head;
	int attrlen, r;

	clear_error();

	r = parse_headers(nlh, len, set->context, &head, &attrlen);
	if (r < 0)
		return r;

	genl = nlmsg_data(nlh);
	if (genl->cmd != cmd)
		return fail(-EOPNOTSUPP, "unexpected command %u (%s) where %s was expected",
			    genl->cmd, cmd_name(genl->cmd), set->context);

	return parse_attrs(head, attrlen, set, set->context, tb);
}

int nsr_genl_message_cmd(const struct nlmsghdr *nlh, size_t len)
{
	const struct nlattr *head;
	int attrlen, r;

	clear_error();

	r = parse_headers(nlh, len, "an nfsd_cltrack message", &head, &attrlen);
	if (r < 0)
		return r;
	return ((const struct genlmsghdr *)nlmsg_data(nlh))->cmd;
}

int nsr_genl_parse_hello_reply(const struct nlmsghdr *nlh, size_t len,
			       struct nsr_genl_hello *hello)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_HELLO, &hello_reply_set, tb);
	if (r < 0)
		return r;

	memset(hello, 0, sizeof(*hello));
	hello->version = nla_get_u32(tb[NFSD_CLTRACK_A_VERSION]);
	if (hello->version == 0)
		return fail(-EINVAL, "NFSD_CLTRACK_A_VERSION in HELLO reply is 0; versions start at 1");
	if (tb[NFSD_CLTRACK_A_CAPS])
		hello->caps = nla_get_u32(tb[NFSD_CLTRACK_A_CAPS]);
	if (tb[NFSD_CLTRACK_A_TIMEOUT_MS])
		hello->timeout_ms = nla_get_u32(tb[NFSD_CLTRACK_A_TIMEOUT_MS]);
	if (tb[NFSD_CLTRACK_A_PENDING])
		hello->pending = nla_get_u32(tb[NFSD_CLTRACK_A_PENDING]);
	return 0;
}

int nsr_genl_parse_pending_ntf(const struct nlmsghdr *nlh, size_t len, uint32_t *pending)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_PENDING_NTF, &pending_ntf_set, tb);
	if (r < 0)
		return r;

	*pending = nla_get_u32(tb[NFSD_CLTRACK_A_PENDING]);
	return 0;
}

void nsr_genl_upcall_init(struct nsr_genl_upcall *up)
{
	up->req_id = 0;
	up->type = 0;
	up->scope[0] = '\0';
	up->boot_time = 0;
	nsr_client_init(&up->client);
}

void nsr_genl_upcall_release(struct nsr_genl_upcall *up)
{
	nsr_client_release(&up->client);
}

static const char *string_attr(const struct nlattr *nla)
{
	return nla ? nla_data(nla) : NULL;
}

/* Fill the client of a CREATE or REMOVE upcall from validated attributes. */
static int upcall_client(const struct nlattr **tb, const char *context, struct nsr_client *client)
{
	const struct nlattr *id = tb[NFSD_CLTRACK_A_CLIENT_ID];
	const struct nlattr *hash = tb[NFSD_CLTRACK_A_PRINCHASH];
	const struct nlattr *minor = tb[NFSD_CLTRACK_A_MINOR_VERSION];
	int32_t minor_version = -1;
	int r;

	if (!id)
		return fail(-ENODATA, "missing required attribute NFSD_CLTRACK_A_CLIENT_ID in %s",
			    context);

	if (minor) {
		uint32_t v = nla_get_u32(minor);

		if (v > INT32_MAX)
			return fail(-EINVAL, "NFSD_CLTRACK_A_MINOR_VERSION %u in %s is out of range",
				    v, context);
		minor_version = (int32_t)v;
	}

	/* check_attr() applied the same length bounds, so these calls succeed. */
	nsr_client_set_id(client, nla_data(id), nla_len(id));
	if (hash)
		nsr_client_set_princhash(client, nla_data(hash), nla_len(hash));

	r = nsr_client_set_audit(client, string_attr(tb[NFSD_CLTRACK_A_CLIENT_ADDR]),
				 minor_version, string_attr(tb[NFSD_CLTRACK_A_PRINCIPAL]),
				 string_attr(tb[NFSD_CLTRACK_A_IMPL_ID]));
	if (r < 0)
		return fail(r, "copying the audit attributes of %s failed: %s", context, strerror(-r));
	return 0;
}

/* A GRACE_START or GRACE_DONE request carries no client. */
static int upcall_no_client(const struct nlattr **tb, const char *context)
{
	for (int type = 1; type <= NFSD_CLTRACK_A_MAX; type++)
		if ((CLIENT_ATTRS & ATTR_BIT(type)) && tb[type])
			return fail(-EPROTO, "%s (type %d) is not valid in %s", top_rules[type].name,
				    type, context);
	return 0;
}

/*
 * Find a well-formed REQ_ID in a message that failed to parse, so the caller
 * can still reply to it. Any header version is accepted: nfsd waits for an
 * answer to every request, and an error answer ends that wait at once.
 */
static uint64_t salvage_req_id(const struct nlmsghdr *nlh, size_t len)
{
	const struct genlmsghdr *genl;
	struct nlattr *nla;
	int rem;

	/* The same framing checks as parse_headers(), without touching the error text. */
	if (len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN ||
	    nlh->nlmsg_len > len || nlh->nlmsg_len > INT_MAX || nlh->nlmsg_type < NLMSG_MIN_TYPE)
		return 0;
	genl = nlmsg_data(nlh);
	if (genl->cmd != NFSD_CLTRACK_CMD_GET_PENDING)
		return 0;

	nla_for_each_attr(nla, genlmsg_attrdata(genl, 0),
			  (int)(nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN), rem)
		if (nla->nla_type == NFSD_CLTRACK_A_REQ_ID && nla_len(nla) == sizeof(uint64_t))
			return nla_get_u64(nla);
	return 0;
}

static int parse_upcall_attrs(const struct nlmsghdr *nlh, size_t len, struct nsr_genl_upcall *up)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	char context[64];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_GET_PENDING, &upcall_set, tb);
	if (r < 0)
		return r;

	up->req_id = nla_get_u64(tb[NFSD_CLTRACK_A_REQ_ID]);
	up->type = nla_get_u32(tb[NFSD_CLTRACK_A_REQ_TYPE]);
	up->boot_time = nla_get_s64(tb[NFSD_CLTRACK_A_BOOT_TIME]);
	strcpy(up->scope, nla_data(tb[NFSD_CLTRACK_A_SCOPE]));

	switch (up->type) {
	case NFSD_CLTRACK_REQ_CREATE:
	case NFSD_CLTRACK_REQ_REMOVE:
		snprintf(context, sizeof(context), "GET_PENDING reply for %s request %" PRIu64,
			 up->type == NFSD_CLTRACK_REQ_CREATE ? "CREATE" : "REMOVE", up->req_id);
		return upcall_client(tb, context, &up->client);
	case NFSD_CLTRACK_REQ_GRACE_START:
	case NFSD_CLTRACK_REQ_GRACE_DONE:
		snprintf(context, sizeof(context), "GET_PENDING reply for %s request %" PRIu64,
			 up->type == NFSD_CLTRACK_REQ_GRACE_START ? "GRACE_START" : "GRACE_DONE",
			 up->req_id);
		return upcall_no_client(tb, context);
	}
	return fail(-EINVAL,
		    "NFSD_CLTRACK_A_REQ_TYPE %u of request %" PRIu64 " is not a known request "
		    "type (%d..%d)",
		    up->type, up->req_id, NFSD_CLTRACK_REQ_CREATE, NFSD_CLTRACK_REQ_MAX);
}

int nsr_genl_parse_upcall(const struct nlmsghdr *nlh, size_t len, struct nsr_genl_upcall *up)
{
	int r;

	nsr_genl_upcall_release(up);
	nsr_genl_upcall_init(up);

	r = parse_upcall_attrs(nlh, len, up);
	if (r < 0) {
		nsr_genl_upcall_release(up);
		nsr_genl_upcall_init(up);
		up->req_id = salvage_req_id(nlh, len);
		return r;
	}
	return 0;
}

int nsr_genl_upcall_to_request(struct nsr_genl_upcall *up, struct nsr_request *req)
{
	enum nsr_op op;

	switch (up->type) {
	case NFSD_CLTRACK_REQ_CREATE:
		op = NSR_OP_CREATE;
		break;
	case NFSD_CLTRACK_REQ_REMOVE:
		op = NSR_OP_REMOVE;
		break;
	case NFSD_CLTRACK_REQ_GRACE_START:
		op = NSR_OP_GRACE_START;
		break;
	case NFSD_CLTRACK_REQ_GRACE_DONE:
		op = NSR_OP_GRACE_DONE;
		break;
	default:
		return fail(-EINVAL, "request %" PRIu64 " has unknown type %u", up->req_id,
			    up->type);
	}

	clear_error();
	nsr_request_init(req, op);
	req->xid = up->req_id;

	if (op == NSR_OP_GRACE_START)
		req->boot_time = up->boot_time;
	if (op == NSR_OP_CREATE || op == NSR_OP_REMOVE) {
		/* The audit strings move with the struct copy; @up must not free them. */
		req->client = up->client;
		nsr_client_init(&up->client);
	}
	return 0;
}

int nsr_genl_parse_hello(const struct nlmsghdr *nlh, size_t len, struct nsr_genl_hello *hello)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_HELLO, &hello_request_set, tb);
	if (r < 0)
		return r;

	memset(hello, 0, sizeof(*hello));
	hello->version = nla_get_u32(tb[NFSD_CLTRACK_A_VERSION]);
	if (hello->version == 0)
		return fail(-EINVAL,
			    "NFSD_CLTRACK_A_VERSION in HELLO request is 0; versions start at 1");
	if (tb[NFSD_CLTRACK_A_CAPS])
		hello->caps = nla_get_u32(tb[NFSD_CLTRACK_A_CAPS]);
	return 0;
}

int nsr_genl_parse_get_pending(const struct nlmsghdr *nlh, size_t len, uint64_t *after_id)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_GET_PENDING, &get_pending_set, tb);
	if (r < 0)
		return r;

	*after_id = tb[NFSD_CLTRACK_A_AFTER_ID] ? nla_get_u64(tb[NFSD_CLTRACK_A_AFTER_ID]) : 0;
	return 0;
}

/* Parse the @number-th RECORD, counting from 1 as the error text does. */
static int parse_record(const struct nlattr *nla, unsigned int number, struct nsr_genl_record *rec)
{
	const struct nlattr *tb[NFSD_CLTRACK_RECORD_A_MAX + 1];
	const struct nlattr *hash;
	char context[64];
	int r;

	snprintf(context, sizeof(context), "GRACE_RECORDS record %u", number);
	r = parse_attrs(nla_data(nla), nla_len(nla), &record_set, context, tb);
	if (r < 0)
		return r;

	rec->id = nla_data(tb[NFSD_CLTRACK_RECORD_A_CLIENT_ID]);
	rec->id_len = nla_len(tb[NFSD_CLTRACK_RECORD_A_CLIENT_ID]);
	hash = tb[NFSD_CLTRACK_RECORD_A_PRINCHASH];
	rec->princhash_len = hash ? nla_len(hash) : 0;
	rec->princhash = rec->princhash_len ? nla_data(hash) : NULL;
	return 0;
}

/* Validate every record when @fn is NULL, else deliver each to @fn. */
static int walk_records(const struct nlmsghdr *nlh, nsr_genl_record_fn fn, void *userdata)
{
	const struct genlmsghdr *genl = nlmsg_data(nlh);
	int attrlen = (int)(nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
	unsigned int number = 0;
	struct nlattr *nla;
	int rem, r;

	nla_for_each_attr(nla, genlmsg_attrdata(genl, 0), attrlen, rem) {
		struct nsr_genl_record rec;

		if (nla_type(nla) != NFSD_CLTRACK_A_RECORD)
			continue;

		r = parse_record(nla, ++number, &rec);
		if (r < 0)
			return r;
		if (fn) {
			r = fn(&rec, userdata);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int nsr_genl_parse_grace_records(const struct nlmsghdr *nlh, size_t len, uint64_t *req_id,
				 nsr_genl_record_fn fn, void *userdata)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_GRACE_RECORDS, &grace_records_set, tb);
	if (r < 0)
		return r;

	r = walk_records(nlh, NULL, NULL);
	if (r < 0)
		return r;

	*req_id = nla_get_u64(tb[NFSD_CLTRACK_A_REQ_ID]);
	return walk_records(nlh, fn, userdata);
}

int nsr_genl_parse_reply(const struct nlmsghdr *nlh, size_t len, uint64_t *req_id,
			 int32_t *status)
{
	const struct nlattr *tb[NFSD_CLTRACK_A_MAX + 1];
	int32_t s;
	int r;

	r = parse_message(nlh, len, NFSD_CLTRACK_CMD_REPLY, &reply_set, tb);
	if (r < 0)
		return r;

	s = nla_get_s32(tb[NFSD_CLTRACK_A_STATUS]);
	if (s > 0 || s < STATUS_MIN)
		return fail(-EINVAL,
			    "NFSD_CLTRACK_A_STATUS %" PRId32 " in REPLY is neither 0 nor a negative "
			    "errno (%d..-1)",
			    s, STATUS_MIN);

	*req_id = nla_get_u64(tb[NFSD_CLTRACK_A_REQ_ID]);
	*status = s;
	return 0;
}

/* Building */

static int new_message(int family, uint32_t portid, uint32_t seq, int flags, uint8_t cmd,
		       size_t size, struct nl_msg **ret)
{
	struct nl_msg *msg;

	clear_error();

	if (family < NLMSG_MIN_TYPE || family > UINT16_MAX)
		return fail(-EINVAL,
			    "generic netlink family id %d is out of range (%d..%d); resolve "
			    "\"%s\" with genl_ctrl_resolve() first",
			    family, NLMSG_MIN_TYPE, UINT16_MAX, NFSD_CLTRACK_FAMILY_NAME);

	msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();
	if (!msg)
		return fail(-ENOMEM, "allocating a %s message failed", cmd_name(cmd));

	if (!genlmsg_put(msg, portid, seq, family, 0, flags, cmd, NFSD_CLTRACK_FAMILY_VERSION)) {
		nlmsg_free(msg);
		return fail(-EMSGSIZE, "%s message of %zu bytes cannot hold the headers",
			    cmd_name(cmd), size);
	}

	*ret = msg;
	return 0;
}

/* Map a libnl put failure, which only happens when the buffer is full. */
static int put_failed(struct nl_msg *msg, const char *attr)
{
	return fail(-EMSGSIZE, "no room for %s in a %zu-byte message", attr,
		    nlmsg_get_max_size(msg));
}

static int check_client_id_len(size_t len)
{
	if (len == 0)
		return fail(-EINVAL, "client id is empty; a client id takes 1 to %d bytes",
			    NFSD_CLTRACK_CLIENTID_MAX);
	if (len > NFSD_CLTRACK_CLIENTID_MAX)
		return fail(-E2BIG, "client id is %zu bytes, over the maximum of %d", len,
			    NFSD_CLTRACK_CLIENTID_MAX);
	return 0;
}

static int check_princhash_len(size_t len)
{
	if (len != 0 && len != NFSD_CLTRACK_PRINCHASH_LEN)
		return fail(-EINVAL, "principal hash is %zu bytes, but must be 0 or %d", len,
			    NFSD_CLTRACK_PRINCHASH_LEN);
	return 0;
}

int nsr_genl_build_hello(int family, uint32_t version, uint32_t caps, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	if (version == 0)
		return fail(-EINVAL, "HELLO version 0 is invalid; versions start at 1");

	r = new_message(family, NL_AUTO_PORT, NL_AUTO_SEQ, NLM_F_REQUEST, NFSD_CLTRACK_CMD_HELLO,
			0, &msg);
	if (r < 0)
		return r;

	if (nla_put_u32(msg, NFSD_CLTRACK_A_VERSION, version) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_VERSION");
	if (nla_put_u32(msg, NFSD_CLTRACK_A_CAPS, caps) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_CAPS");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

int nsr_genl_build_get_pending(int family, uint64_t after_id, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	r = new_message(family, NL_AUTO_PORT, NL_AUTO_SEQ, NLM_F_REQUEST | NLM_F_DUMP,
			NFSD_CLTRACK_CMD_GET_PENDING, 0, &msg);
	if (r < 0)
		return r;

	if (nla_put_u64(msg, NFSD_CLTRACK_A_AFTER_ID, after_id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_AFTER_ID");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

int nsr_genl_build_grace_records(int family, uint64_t req_id, size_t max_size,
				 struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	if (max_size == 0)
		max_size = NSR_GENL_RECORDS_MSG_SIZE;
	if (max_size < RECORDS_EMPTY_LEN)
		return fail(-EINVAL, "GRACE_RECORDS size of %zu bytes is below the %zu its headers need",
			    max_size, (size_t)RECORDS_EMPTY_LEN);

	r = new_message(family, NL_AUTO_PORT, NL_AUTO_SEQ, NLM_F_REQUEST,
			NFSD_CLTRACK_CMD_GRACE_RECORDS, max_size, &msg);
	if (r < 0)
		return r;

	if (nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, req_id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_REQ_ID");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

int nsr_genl_grace_records_append(struct nl_msg *msg, const uint8_t *id, size_t id_len,
				  const uint8_t *princhash, size_t princhash_len)
{
	bool empty = nlmsg_hdr(msg)->nlmsg_len <= RECORDS_EMPTY_LEN;
	struct nlattr *nest;
	int r;

	clear_error();

	r = check_client_id_len(id_len);
	if (r < 0)
		return r;
	r = check_princhash_len(princhash_len);
	if (r < 0)
		return r;

	nest = nla_nest_start(msg, NFSD_CLTRACK_A_RECORD | NLA_F_NESTED);
	if (!nest)
		goto full;
	if (nla_put(msg, NFSD_CLTRACK_RECORD_A_CLIENT_ID, id_len, id) < 0)
		goto cancel;
	if (princhash_len &&
	    nla_put(msg, NFSD_CLTRACK_RECORD_A_PRINCHASH, princhash_len, princhash) < 0)
		goto cancel;
	nla_nest_end(msg, nest);
	return 0;

cancel:
	nla_nest_cancel(msg, nest);
full:
	if (empty)
		return fail(-ENOBUFS,
			    "a record with a %zu-byte client id does not fit an empty "
			    "GRACE_RECORDS message of %zu bytes; start it with a larger size",
			    id_len, nlmsg_get_max_size(msg));
	return fail(-EMSGSIZE, "GRACE_RECORDS message of %zu bytes is full",
		    nlmsg_get_max_size(msg));
}

int nsr_genl_build_reply(int family, uint64_t req_id, int32_t status, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	if (status > 0 || status < STATUS_MIN)
		return fail(-EINVAL, "REPLY status %" PRId32 " is neither 0 nor a negative errno",
			    status);

	r = new_message(family, NL_AUTO_PORT, NL_AUTO_SEQ, NLM_F_REQUEST, NFSD_CLTRACK_CMD_REPLY,
			0, &msg);
	if (r < 0)
		return r;

	if (nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, req_id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_REQ_ID");
	if (nla_put_s32(msg, NFSD_CLTRACK_A_STATUS, status) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_STATUS");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

int nsr_genl_build_hello_reply(int family, uint32_t portid, uint32_t seq,
			       const struct nsr_genl_hello *hello, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	if (hello->version == 0)
		return fail(-EINVAL, "HELLO reply version 0 is invalid; versions start at 1");

	r = new_message(family, portid, seq, 0, NFSD_CLTRACK_CMD_HELLO, 0, &msg);
	if (r < 0)
		return r;

	if (nla_put_u32(msg, NFSD_CLTRACK_A_VERSION, hello->version) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_VERSION");
	if (nla_put_u32(msg, NFSD_CLTRACK_A_CAPS, hello->caps) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_CAPS");
	if (nla_put_u32(msg, NFSD_CLTRACK_A_TIMEOUT_MS, hello->timeout_ms) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_TIMEOUT_MS");
	if (nla_put_u32(msg, NFSD_CLTRACK_A_PENDING, hello->pending) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_PENDING");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

int nsr_genl_build_pending_ntf(int family, uint32_t pending, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	int r;

	r = new_message(family, 0, 0, 0, NFSD_CLTRACK_CMD_PENDING_NTF, 0, &msg);
	if (r < 0)
		return r;

	if (nla_put_u32(msg, NFSD_CLTRACK_A_PENDING, pending) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_PENDING");

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}

static int check_audit_string(const char *s, size_t max, const char *attr)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max + 1);
	if (n > max)
		return fail(-EINVAL, "%s is longer than its maximum of %zu bytes", attr, max);
	return 0;
}

static int check_upcall_client(const struct nsr_client *c)
{
	int r;

	r = check_client_id_len(c->id_len);
	if (r < 0)
		return r;
	r = check_princhash_len(c->princhash_len);
	if (r < 0)
		return r;
	r = check_audit_string(c->address, NFSD_CLTRACK_ADDR_MAX, "NFSD_CLTRACK_A_CLIENT_ADDR");
	if (r < 0)
		return r;
	r = check_audit_string(c->principal, NFSD_CLTRACK_PRINCIPAL_MAX,
			       "NFSD_CLTRACK_A_PRINCIPAL");
	if (r < 0)
		return r;
	return check_audit_string(c->impl_id, NFSD_CLTRACK_IMPL_ID_MAX, "NFSD_CLTRACK_A_IMPL_ID");
}

static int put_upcall_client(struct nl_msg *msg, const struct nsr_client *c)
{
	if (nla_put(msg, NFSD_CLTRACK_A_CLIENT_ID, c->id_len, c->id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_CLIENT_ID");
	if (c->princhash_len &&
	    nla_put(msg, NFSD_CLTRACK_A_PRINCHASH, c->princhash_len, c->princhash) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_PRINCHASH");
	if (c->address && nla_put_string(msg, NFSD_CLTRACK_A_CLIENT_ADDR, c->address) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_CLIENT_ADDR");
	if (c->minor_version >= 0 &&
	    nla_put_u32(msg, NFSD_CLTRACK_A_MINOR_VERSION, (uint32_t)c->minor_version) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_MINOR_VERSION");
	if (c->principal && nla_put_string(msg, NFSD_CLTRACK_A_PRINCIPAL, c->principal) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_PRINCIPAL");
	if (c->impl_id && nla_put_string(msg, NFSD_CLTRACK_A_IMPL_ID, c->impl_id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_IMPL_ID");
	return 0;
}

int nsr_genl_build_upcall(int family, uint32_t portid, uint32_t seq,
			  const struct nsr_genl_upcall *up, struct nl_msg **ret)
{
	_cleanup_nlmsg_ struct nl_msg *msg = NULL;
	bool has_client;
	int r;

	clear_error();

	if (up->type < NFSD_CLTRACK_REQ_CREATE || up->type > NFSD_CLTRACK_REQ_MAX)
		return fail(-EINVAL, "request type %u is not a known request type (%d..%d)",
			    up->type, NFSD_CLTRACK_REQ_CREATE, NFSD_CLTRACK_REQ_MAX);
	if (strnlen(up->scope, sizeof(up->scope)) == sizeof(up->scope))
		return fail(-EINVAL, "scope of request %" PRIu64 " is not NUL-terminated",
			    up->req_id);

	has_client = up->type == NFSD_CLTRACK_REQ_CREATE || up->type == NFSD_CLTRACK_REQ_REMOVE;
	if (has_client) {
		r = check_upcall_client(&up->client);
		if (r < 0)
			return r;
	}

	r = new_message(family, portid, seq, NLM_F_MULTI, NFSD_CLTRACK_CMD_GET_PENDING,
			UPCALL_MSG_SIZE, &msg);
	if (r < 0)
		return r;

	if (nla_put_u64(msg, NFSD_CLTRACK_A_REQ_ID, up->req_id) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_REQ_ID");
	if (nla_put_u32(msg, NFSD_CLTRACK_A_REQ_TYPE, up->type) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_REQ_TYPE");
	if (nla_put_string(msg, NFSD_CLTRACK_A_SCOPE, up->scope) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_SCOPE");
	if (nla_put_s64(msg, NFSD_CLTRACK_A_BOOT_TIME, up->boot_time) < 0)
		return put_failed(msg, "NFSD_CLTRACK_A_BOOT_TIME");
	if (has_client) {
		r = put_upcall_client(msg, &up->client);
		if (r < 0)
			return r;
	}

	*ret = NSR_TAKE_PTR(msg);
	return 0;
}
