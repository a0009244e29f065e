/* perms.c: the commands xrecover sends, and who may send them (see perms.h). */
#include <string.h>

#include "perms.h"

#define G "xrecover-doctor-probe"

/*
 * MULTI and EXEC last, in that order: Redis answers EXEC without MULTI
 * before it looks at permissions, so EXEC is probed inside the MULTI.
 */
const struct redis_perm redis_perms[] = {
	{"info", "the server's version, at every connection (INFO server)", {"INFO", "server"}},
	{"scan", "--match (SCAN ... TYPE stream)", {"SCAN", "0", "COUNT", "1"}},
	{"type", "streams named with --stream", {"TYPE", "{key}"}},
	{"exists", "rollback (in its script)", {"EXISTS", "{key}"}},
	{"time", "replay and redeliver: the copies' IDs", {"TIME"}},
	{"xinfo|groups", "a stream's groups", {"XINFO", "GROUPS", "{key}"}},
	{"xinfo|consumers", "a group's consumers", {"XINFO", "CONSUMERS", "{key}", G}},
	{"xinfo|stream", "status, replay, rollback", {"XINFO", "STREAM", "{key}"}},
	{"xpending", "claiming, status, adopting, moves", {"XPENDING", "{key}", G}},
	{"xclaim", "claiming, hand-off", {"XCLAIM", "{key}", G, G, "0", "0-1"}},
	{"xrange", "an entry's fields", {"XRANGE", "{key}", "0-0", "0-0"}},
	{"xadd", "replay, redeliver, dead-letter", {"XADD", "{key}", "NOMKSTREAM", "0-0", "f", "v"}},
	{"xdel", "rollback, dead-letter", {"XDEL", "{key}", "0-0"}},
	{"xack", "redeliver, dead-letter, settling", {"XACK", "{key}", G, "0-0"}},
	{"xgroup|create", "a retry stream's group (--redeliver-to, replay --to)",
	    {"XGROUP", "CREATE", "{key}", G, "not-an-id"}},
	{"xgroup|delconsumer", "deleting zombies, release", {"XGROUP", "DELCONSUMER", "{key}", G, G}},
	{"eval", "the atomic check-and-act scripts", {"EVAL", "return 1", "0"}},
	{"multi", "claiming: a page in one transaction", {"MULTI"}},
	{"exec", "claiming: a page in one transaction", {"EXEC"}},
	{NULL, NULL, {NULL}},
};

void
redis_perms_acl(struct buf *b)
{
	for (const struct redis_perm *p = redis_perms; p->acl != NULL; p++)
		buf_printf(b, "%s+%s", p == redis_perms ? "" : " ", p->acl);
}

/* p's probe with key in place, after the n words of head; returns argc. */
static int
probe_argv(const struct redis_perm *p, const char *key, const char **head, int n,
    const char **argv)
{
	for (int k = 0; k < n; k++)
		argv[k] = head[k];
	for (int k = 0; k < 8 && p->probe[k] != NULL; k++)
		argv[n++] = strcmp(p->probe[k], "{key}") == 0 ? key : p->probe[k];
	return n;
}

static bool
refused(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0;
}

/* ACL DRYRUN for each; -1 with *usable false when this user may not ask. */
static int
dryrun(struct rconn *rc, const char *user, const char *key, bool *denied, bool *usable,
    struct xerr *err)
{
	const char *head[] = {"ACL", "DRYRUN", user};
	const char *argv[12];
	size_t i = 0;

	*usable = false;
	for (const struct redis_perm *p = redis_perms; p->acl != NULL; p++, i++) {
		int n = probe_argv(p, key, head, 3, argv);
		redisReply *r = redisCommandArgv(rc->c, n, argv, NULL);
		if (r == NULL)
			return rconn_io_error(rc, err);
		/* Refused itself (NOPERM, or Redis older than 7.0): probe instead. */
		if (r->type == REDIS_REPLY_ERROR) {
			freeReplyObject(r);
			return -1;
		}
		denied[i] = !(r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0);
		freeReplyObject(r);
	}
	*usable = true;
	return 0;
}

int
redis_perms_check(struct rconn *rc, const char *user, const char *key, bool *denied,
    const char **ret_how, struct xerr *err)
{
	const char *argv[12];
	bool usable;
	size_t i = 0;

	if (dryrun(rc, user != NULL ? user : "default", key, denied, &usable, err) == 0) {
		*ret_how = "ACL DRYRUN";
		return 0;
	}
	if (usable || rc->c->err)
		return -1;
	*ret_how = "probes";
	for (const struct redis_perm *p = redis_perms; p->acl != NULL; p++, i++) {
		int n = probe_argv(p, key, NULL, 0, argv);
		redisReply *r = redisCommandArgv(rc->c, n, argv, NULL);
		if (r == NULL)
			return rconn_io_error(rc, err);
		denied[i] = refused(r);
		freeReplyObject(r);
	}
	/* Without MULTI, EXEC was answered "without MULTI": not known, so not held against it. */
	return 0;
}
