/*
 * perms.h: every Redis command xrecover sends, in one list, and whether
 * the logged-in user may run each.  README.md's least-privilege ACL line
 * is this list (t0027 checks them against each other and against a user
 * with exactly these permissions).
 */
#ifndef XR_PERMS_H
#define XR_PERMS_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/buf.h"
#include "redis.h"

struct redis_perm {
	const char *acl;            /* as ACL SETUSER spells it: "xgroup|delconsumer" */
	const char *why;            /* what needs it */
	/*
	 * The command in a form that changes nothing ("{key}": the key
	 * checked): a group that does not exist, the ID 0-0 that no entry
	 * has, a group created with an invalid ID.
	 */
	const char *probe[8];
};

/* The list, ended by a zeroed entry.  AUTH needs no permission; SELECT is not listed
 * (only a URL naming a database other than 0 sends it: add +select then). */
extern const struct redis_perm redis_perms[];

/* "+a +b ..." for ACL SETUSER, into b. */
void redis_perms_acl(struct buf *b);

/*
 * Whether the logged-in user may run each command of redis_perms, on key
 * (a stream the user works on, or any name): with ACL DRYRUN as user when
 * Redis (7.0+) lets this user ask, otherwise by sending each in a form
 * that changes nothing (a missing group, an invalid ID) and reading
 * NOPERM from the answer.  OUT: denied[i] for each entry (the caller's
 * array, as long as the list), *ret_how ("ACL DRYRUN" or "probes").
 * -1 when Redis went away (XR_EREDIS).
 */
int redis_perms_check(struct rconn *rc, const char *user, const char *key, bool *denied,
    const char **ret_how, struct xerr *err);

#endif
