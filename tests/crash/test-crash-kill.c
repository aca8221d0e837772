/* test-crash-kill.c: every acknowledged upcall survives SIGKILL of the daemon side. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash-daemon.h"
#include "crash-util.h"
#include "fake-kernel.h"
#include "nsr-log.h"
#include "nsr-serverdir.h"
#include "nsr-test.h"

/*
 * The fake kernel lives in this process and records which upcalls were
 * answered with status 0. The daemon side (event loop, dispatcher, store)
 * runs in a forked child over socketpairs, and is killed with SIGKILL at a
 * random moment. The kernel side then reads the database itself and checks
 * it against its record of acknowledgements. Requests still unanswered are
 * queued again for the next child, as nfsd keeps them pending across a
 * daemon restart.
 *
 * At most one request per client is unanswered at a time, and a grace
 * request is only queued when nothing else is unanswered, so that each
 * unanswered request can be checked on its own: it is either wholly
 * applied or not at all.
 *
 * NOTE: a seed replays the same requests and kill delays, but the moment
 * the kill lands also depends on thread scheduling, so a replay is close to
 * the failed run, not identical.
 */

#define CLIENTS 300
#define SCOPE "crash-kill"
#define MAX_IN_FLIGHT 64
#define ROUND_MAX_MS 300

enum pending_op {
	OP_NONE,
	OP_CREATE,
	OP_REMOVE,
	OP_GRACE_START,
	OP_GRACE_DONE,
};

struct state {
	bool current[CLIENTS];
	bool recovery[CLIENTS];
	int64_t current_epoch;
	int64_t recovery_epoch;
};

struct kill_test {
	uint32_t rng;
	char *state_dir;
	char *db_path;

	struct state acked;		/* after every acknowledged request */
	enum pending_op in_flight[CLIENTS];
	enum pending_op grace_in_flight;
	bool ever_acked;

	/* This round: the op behind each fake kernel slot, by queue order. */
	struct {
		enum pending_op op;
		int client;		/* -1 for grace */
		bool seen;
	} slots[FAKE_KERNEL_MAX_PENDING];
	unsigned int n_slots;

	unsigned long acks, grace_acks, rounds, kills_with_in_flight, applied_unacked;
};

static void state_apply(struct state *s, enum pending_op op, int client)
{
	switch (op) {
	case OP_CREATE:
		s->current[client] = true;
		break;
	case OP_REMOVE:
		s->current[client] = false;
		break;
	case OP_GRACE_START:
		if (s->recovery_epoch != 0)
			break;	/* nfsd restarted during grace: the same clients stay reclaimable */
		memcpy(s->recovery, s->current, sizeof(s->recovery));
		memset(s->current, 0, sizeof(s->current));
		s->recovery_epoch = s->current_epoch;
		s->current_epoch++;
		break;
	case OP_GRACE_DONE:
		memset(s->recovery, 0, sizeof(s->recovery));
		s->recovery_epoch = 0;
		break;
	case OP_NONE:
		break;
	}
}

static uint32_t op_type(enum pending_op op)
{
	switch (op) {
	case OP_CREATE:
		return NFSD_CLTRACK_REQ_CREATE;
	case OP_REMOVE:
		return NFSD_CLTRACK_REQ_REMOVE;
	case OP_GRACE_START:
		return NFSD_CLTRACK_REQ_GRACE_START;
	default:
		return NFSD_CLTRACK_REQ_GRACE_DONE;
	}
}

static void queue_op(struct kill_test *t, struct fake_kernel *k, enum pending_op op, int client,
		     bool notify)
{
	struct nsr_genl_upcall up;

	nsr_genl_upcall_init(&up);
	up.type = op_type(op);
	snprintf(up.scope, sizeof(up.scope), "%s", SCOPE);
	up.boot_time = 1700000000;

	if (client >= 0) {
		uint8_t hash[NSR_PRINCHASH_LEN];
		char id[64], address[32];

		crash_client_id(client, id, sizeof(id));
		crash_client_address(client, address, sizeof(address));
		crash_client_princhash(client, hash);
		ck_assert_int_eq(nsr_client_set_id(&up.client, id, strlen(id)), 0);
		if (op == OP_CREATE) {
			ck_assert_int_eq(nsr_client_set_princhash(&up.client, hash, sizeof(hash)), 0);
			ck_assert_int_eq(nsr_client_set_audit(&up.client, address, 2, NULL,
							      CRASH_CLIENT_IMPL_ID),
					 0);
		}
	}

	ck_assert_uint_lt(t->n_slots, FAKE_KERNEL_MAX_PENDING);
	t->slots[t->n_slots].op = op;
	t->slots[t->n_slots].client = client;
	t->slots[t->n_slots].seen = false;
	t->n_slots++;

	ck_assert_uint_eq(fake_kernel_queue(k, &up, notify), t->n_slots);
	nsr_genl_upcall_release(&up);
}

/* Move newly answered requests into the acknowledged state; returns how many are unanswered. */
static unsigned int harvest(struct kill_test *t, struct fake_kernel *k)
{
	unsigned int unanswered = 0;

	pthread_mutex_lock(&k->lock);
	for (unsigned int i = 0; i < t->n_slots; i++) {
		const struct fake_pending *p = &k->pending[i];

		if (t->slots[i].seen)
			continue;
		if (!p->answered) {
			unanswered++;
			continue;
		}

		ck_assert_msg(p->status == 0, "request %u (op %d, client %d) was answered %d",
			      i + 1, t->slots[i].op, t->slots[i].client, p->status);
		t->slots[i].seen = true;
		state_apply(&t->acked, t->slots[i].op, t->slots[i].client);
		if (t->slots[i].client >= 0) {
			t->in_flight[t->slots[i].client] = OP_NONE;
		} else {
			t->grace_in_flight = OP_NONE;
			t->grace_acks++;
		}
		t->acks++;
		t->ever_acked = true;
	}
	pthread_mutex_unlock(&k->lock);
	return unanswered;
}

/* Pick a client with nothing in flight and queue a create or a remove for it. */
static void queue_client_op(struct kill_test *t, struct fake_kernel *k)
{
	int client = crash_random(&t->rng) % CLIENTS;
	enum pending_op op;

	for (int tries = 0; tries < CLIENTS && t->in_flight[client] != OP_NONE; tries++)
		client = (client + 1) % CLIENTS;
	if (t->in_flight[client] != OP_NONE)
		return;

	/* Mostly toggle, sometimes repeat, which must be harmless. */
	op = t->acked.current[client] ? OP_REMOVE : OP_CREATE;
	if (crash_random(&t->rng) % 8 == 0)
		op = op == OP_CREATE ? OP_REMOVE : OP_CREATE;

	t->in_flight[client] = op;
	queue_op(t, k, op, client, true);
}

/* The daemon side: never returns. */
static void __attribute__((noreturn)) run_daemon(struct kill_test *t, struct fake_kernel *k)
{
	struct crash_daemon_options opts = { .state_dir = t->state_dir };
	struct crash_daemon cd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(k->event_fd);
	close(k->answer_fd);

	if (crash_daemon_start(&cd, &opts, k->daemon_event_fd, k->daemon_answer_fd,
			       FAKE_KERNEL_FAMILY, false) < 0)
		_exit(2);
	event_base_dispatch(cd.d.base);
	_exit(3);
}

/* Whether @obs matches @expected, apart from clients with an op in flight. */
static bool state_matches(const struct kill_test *t, const struct crash_db_state *obs,
			  const struct state *expected, bool allow_client_ops, char *why,
			  size_t size)
{
	if (obs->current_epoch != expected->current_epoch ||
	    obs->recovery_epoch != expected->recovery_epoch) {
		snprintf(why, size, "grace state is epoch %lld / recovery %lld, expected %lld / %lld",
			 (long long)obs->current_epoch, (long long)obs->recovery_epoch,
			 (long long)expected->current_epoch, (long long)expected->recovery_epoch);
		return false;
	}

	for (int i = 0; i < CLIENTS; i++) {
		bool after = t->in_flight[i] == OP_CREATE;

		if (obs->recovering[i] != expected->recovery[i]) {
			snprintf(why, size, "client %d is %s the recovery epoch, expected %s", i,
				 obs->recovering[i] ? "in" : "not in",
				 expected->recovery[i] ? "in it" : "not");
			return false;
		}
		if (obs->present[i] == expected->current[i])
			continue;
		if (allow_client_ops && t->in_flight[i] != OP_NONE && obs->present[i] == after)
			continue;
		snprintf(why, size, "client %d is %s, but its last acknowledged request left it %s",
			 i, obs->present[i] ? "present" : "missing",
			 expected->current[i] ? "present" : "removed");
		return false;
	}
	return true;
}

static void check_database(struct kill_test *t)
{
	struct crash_db_state obs;
	char why[256] = "", why_after[256] = "";
	bool ok;
	int r;

	r = crash_db_read(t->db_path, CLIENTS, &obs);
	if ((r == -ENOENT || r == -EPROTO) && !t->ever_acked) {
		/* Killed before the database had a schema, and nothing was acknowledged. */
		crash_db_state_free(&obs);
		return;
	}
	ck_assert_msg(r == 0, "round %lu: the database does not open after SIGKILL: %s", t->rounds,
		      strerror(-r));
	ck_assert_msg(!obs.problem[0], "round %lu: %s", t->rounds, obs.problem);

	if (t->grace_in_flight != OP_NONE) {
		struct state after = t->acked;

		state_apply(&after, t->grace_in_flight, -1);
		ok = state_matches(t, &obs, &t->acked, false, why, sizeof(why)) ||
		     state_matches(t, &obs, &after, false, why_after, sizeof(why_after));
	} else {
		ok = state_matches(t, &obs, &t->acked, true, why, sizeof(why));
	}
	ck_assert_msg(ok, "round %lu: %s%s%s", t->rounds, why, why_after[0] ? "; or " : "",
		      why_after);

	for (int i = 0; i < CLIENTS; i++)
		if (t->in_flight[i] != OP_NONE && obs.present[i] != t->acked.current[i])
			t->applied_unacked++;
	crash_db_state_free(&obs);
}

/* Queue again what the killed daemon left unanswered, as nfsd still holds it. */
static void requeue_in_flight(struct kill_test *t, struct fake_kernel *k)
{
	t->n_slots = 0;
	if (t->grace_in_flight != OP_NONE)
		queue_op(t, k, t->grace_in_flight, -1, false);
	for (int i = 0; i < CLIENTS; i++)
		if (t->in_flight[i] != OP_NONE)
			queue_op(t, k, t->in_flight[i], i, false);
}

static void kill_round(struct kill_test *t)
{
	uint64_t kill_at = crash_now_ms() + crash_random(&t->rng) % ROUND_MAX_MS;
	unsigned int window = 1 + crash_random(&t->rng) % MAX_IN_FLIGHT;
	bool want_grace = crash_random(&t->rng) % 4 == 0;	/* once the queue is empty */
	struct fake_kernel k;
	unsigned int unanswered;
	int status;
	pid_t pid;

	ck_assert_int_eq(fake_kernel_start(&k), 0);
	requeue_in_flight(t, &k);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		run_daemon(t, &k);
	close(k.daemon_event_fd);
	close(k.daemon_answer_fd);

	while (crash_now_ms() < kill_at) {
		struct timespec pause = { .tv_nsec = 500000 };

		unanswered = harvest(t, &k);
		if (want_grace && t->grace_in_flight == OP_NONE && unanswered == 0) {
			t->grace_in_flight = t->acked.recovery_epoch ? OP_GRACE_DONE : OP_GRACE_START;
			queue_op(t, &k, t->grace_in_flight, -1, true);
			want_grace = false;
		}
		while (!want_grace && t->grace_in_flight == OP_NONE && unanswered < window &&
		       t->n_slots < FAKE_KERNEL_MAX_PENDING - CLIENTS) {
			queue_client_op(t, &k);
			unanswered++;
		}
		nanosleep(&pause, NULL);
	}

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "the daemon side exited on its own with status 0x%x", status);

	/* Answers the kernel thread processed before the kill are acknowledged. */
	unanswered = harvest(t, &k);
	if (unanswered > 0)
		t->kills_with_in_flight++;
	fake_kernel_stop(&k);

	t->rounds++;
	check_database(t);
}

START_TEST(test_acknowledged_upcalls_survive_sigkill)
{
	unsigned long rounds = crash_env_ulong("NSR_CRASH_KILL_ROUNDS", 150);
	uint64_t deadline = crash_now_ms() + 1000 * crash_env_ulong("NSR_CRASH_SECONDS", 40);
	_cleanup_free_ char *server_dir = NULL;
	struct kill_test *t;

	t = calloc(1, sizeof(*t));
	ck_assert_ptr_nonnull(t);
	t->rng = crash_seed("sigkill");
	t->state_dir = nsr_test_mkdtemp();
	ck_assert_ptr_nonnull(t->state_dir);
	ck_assert_int_eq(nsr_serverdir_default(t->state_dir, SCOPE, &server_dir), 0);
	ck_assert_int_eq(nsr_serverdir_db_path(server_dir, &t->db_path), 0);
	t->acked.current_epoch = 1;

	while (t->rounds < rounds && crash_now_ms() < deadline)
		kill_round(t);

	fprintf(stderr,
		"sigkill: %lu rounds, %lu acknowledged requests (%lu grace), %lu kills with requests "
		"in flight, %lu unacknowledged requests found applied\n",
		t->rounds, t->acks, t->grace_acks, t->kills_with_in_flight, t->applied_unacked);
	ck_assert_uint_ge(t->rounds, 20);
	ck_assert_uint_gt(t->acks, 100);
	ck_assert_uint_gt(t->grace_acks, 2);
	ck_assert_uint_gt(t->kills_with_in_flight, t->rounds / 4);

	nsr_test_rmtree(t->state_dir);
	free(t->state_dir);
	free(t->db_path);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crash-kill");
	TCase *tc = tcase_create("sigkill");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_acknowledged_upcalls_survive_sigkill);
	suite_add_tcase(s, tc);
	return nsr_test_run(s);
}
