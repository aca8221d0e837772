/* genl-seeds.c: write the fuzz-genl seed corpus from messages the codec builds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/msg.h>

#include "nsr-genl.h"

/* Any id in the dynamic generic netlink range will do. */
#define FAMILY 0x1d

static const uint8_t seed_hash[NFSD_CLTRACK_PRINCHASH_LEN] = {
	0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};

/* Write the messages in @msgs back to back into @dir/@name, as one receive buffer would. */
static int write_seed(const char *dir, const char *name, struct nl_msg **msgs, size_t count)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "genl-seeds: cannot create %s: %m\n", path);
		return -errno;
	}

	for (size_t i = 0; i < count; i++) {
		struct nlmsghdr *nlh = nlmsg_hdr(msgs[i]);

		if (fwrite(nlh, NLMSG_ALIGN(nlh->nlmsg_len), 1, f) != 1) {
			fprintf(stderr, "genl-seeds: writing %s failed\n", path);
			return -EIO;
		}
		nlmsg_free(msgs[i]);
	}
	return 0;
}

static int check(int r, const char *message)
{
	if (r < 0)
		fprintf(stderr, "genl-seeds: building %s failed: %s (%s)\n", message, strerror(-r),
			nsr_genl_strerror());
	return r;
}

static void make_upcall(struct nsr_genl_upcall *up, uint32_t type, uint64_t req_id)
{
	nsr_genl_upcall_init(up);
	up->req_id = req_id;
	up->type = type;
	strcpy(up->scope, "nfs.example");
	up->boot_time = 1712345678;
}

static int write_upcalls(const char *dir)
{
	static const uint8_t binary_id[] = { 'c', 0, 'l', 0xff, 0 };
	struct nsr_genl_upcall up;
	struct nl_msg *msgs[3];
	int r;

	make_upcall(&up, NFSD_CLTRACK_REQ_CREATE, 7);
	nsr_client_set_id(&up.client, binary_id, sizeof(binary_id));
	nsr_client_set_princhash(&up.client, seed_hash, sizeof(seed_hash));
	r = nsr_client_set_audit(&up.client, "fd00::2", 2, "nfs/c@EX", "kernel.org");
	if (r >= 0)
		r = check(nsr_genl_build_upcall(FAMILY, 1, 1, &up, &msgs[0]), "CREATE upcall");
	nsr_genl_upcall_release(&up);
	if (r < 0)
		return r;

	make_upcall(&up, NFSD_CLTRACK_REQ_REMOVE, 8);
	nsr_client_set_id(&up.client, "client-b", 8);
	r = check(nsr_genl_build_upcall(FAMILY, 1, 1, &up, &msgs[1]), "REMOVE upcall");
	if (r < 0)
		return r;

	make_upcall(&up, NFSD_CLTRACK_REQ_GRACE_START, 9);
	r = check(nsr_genl_build_upcall(FAMILY, 1, 1, &up, &msgs[2]), "GRACE_START upcall");
	if (r < 0)
		return r;

	return write_seed(dir, "upcall-dump", msgs, 3);
}

static int write_grace_records(const char *dir)
{
	struct nl_msg *msg;
	int r;

	r = check(nsr_genl_build_grace_records(FAMILY, 9, 0, &msg), "GRACE_RECORDS");
	if (r < 0)
		return r;

	nsr_genl_grace_records_append(msg, (const uint8_t *)"a", 1, NULL, 0);
	nsr_genl_grace_records_append(msg, (const uint8_t *)"b\0b", 3, seed_hash,
				      sizeof(seed_hash));
	nsr_genl_grace_records_append(msg, (const uint8_t *)"client-c", 8, NULL, 0);
	return write_seed(dir, "grace-records", &msg, 1);
}

int main(int argc, char **argv)
{
	const struct nsr_genl_hello reply = { 1, NFSD_CLTRACK_CAP_AUDIT, 10000, 2 };
	struct nl_msg *msg;

	if (argc != 2) {
		fprintf(stderr, "usage: genl-seeds DIRECTORY\n");
		return 2;
	}

	if (check(nsr_genl_build_hello(FAMILY, 1, 3, &msg), "HELLO") < 0 ||
	    write_seed(argv[1], "hello", &msg, 1) < 0)
		return 1;
	if (check(nsr_genl_build_hello_reply(FAMILY, 1, 1, &reply, &msg), "HELLO reply") < 0 ||
	    write_seed(argv[1], "hello-reply", &msg, 1) < 0)
		return 1;
	if (check(nsr_genl_build_pending_ntf(FAMILY, 3, &msg), "PENDING_NTF") < 0 ||
	    write_seed(argv[1], "pending-ntf", &msg, 1) < 0)
		return 1;
	if (check(nsr_genl_build_get_pending(FAMILY, 6, &msg), "GET_PENDING") < 0 ||
	    write_seed(argv[1], "get-pending", &msg, 1) < 0)
		return 1;
	if (check(nsr_genl_build_reply(FAMILY, 7, -ENOENT, &msg), "REPLY") < 0 ||
	    write_seed(argv[1], "reply", &msg, 1) < 0)
		return 1;
	if (write_upcalls(argv[1]) < 0 || write_grace_records(argv[1]) < 0)
		return 1;
	return 0;
}
