/* zombie.c: the atomic check-and-delete of idle consumers (see zombie.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "zombie.h"

/*
 * KEYS[1] stream; ARGV[1] group, ARGV[2] min quiet ms, ARGV[3] "1" to use
 * "inactive", ARGV[4..] the candidates.  Returns, per candidate,
 * {name, outcome, pending, idle, inactive}.
 */
static const char zombie_lua[] =
"if redis.replicate_commands then redis.replicate_commands() end\n"
"local min = tonumber(ARGV[2])\n"
"local info = {}\n"
"for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do\n"
"  local t = {}\n"
"  for i = 1, #c, 2 do t[c[i]] = c[i + 1] end\n"
"  info[t['name']] = t\n"
"end\n"
"local out = {}\n"
"for i = 4, #ARGV do\n"
"  local name = ARGV[i]\n"
"  local t = info[name]\n"
"  if t == nil then\n"
"    out[#out + 1] = {name, 'gone', -1, -1, -1}\n"
"  else\n"
"    local inactive = t['inactive'] or -1\n"
"    local quiet = t['idle']\n"
"    if ARGV[3] == '1' and inactive >= 0 then quiet = inactive end\n"
"    local outcome = 'deleted'\n"
"    if t['pending'] ~= 0 then\n"
"      outcome = 'pending'\n"
"    elseif quiet < min then\n"
"      outcome = 'active'\n"
"    else\n"
"      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)\n"
"    end\n"
"    out[#out + 1] = {name, outcome, t['pending'], t['idle'], inactive}\n"
"  end\n"
"end\n"
"return out\n";

const char *
zombie_outcome_name(enum zombie_outcome o)
{
	switch (o) {
	case ZOMBIE_DELETED: return "deleted";
	case ZOMBIE_KEPT_PENDING: return "kept: owns pending entries";
	case ZOMBIE_KEPT_ACTIVE: return "kept: active again";
	case ZOMBIE_GONE: return "already gone";
	}
	return "?";
}

int
zombies_delete(struct rconn *rc, const char *stream, const char *group,
    int64_t min_idle_ms, bool use_inactive, char *const *names, size_t n,
    struct zombie_result **ret, struct xerr *err)
{
	const char **argv = xmalloc((n + 7) * sizeof(*argv));
	char min[24];
	struct zombie_result *res;
	redisReply *r;
	size_t k = 0;

	snprintf(min, sizeof(min), "%" PRId64, min_idle_ms);
	argv[k++] = "EVAL";
	argv[k++] = zombie_lua;
	argv[k++] = "1";
	argv[k++] = stream;
	argv[k++] = group;
	argv[k++] = min;
	argv[k++] = use_inactive ? "1" : "0";
	for (size_t i = 0; i < n; i++)
		argv[k++] = names[i];
	r = rconn_argv(rc, err, (int)k, argv, NULL);
	free(argv);
	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		freeReplyObject(r);
		return xerr_set(err, XR_EFAIL, "redis: zombie check on %s %s: unexpected reply",
		    stream, group);
	}
	res = xcalloc(n + 1, sizeof(*res));
	for (size_t i = 0; i < n; i++) {
		const redisReply *e = r->element[i];
		const char *o;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 5) {
			zombie_results_free(res, n);
			freeReplyObject(r);
			return xerr_set(err, XR_EFAIL, "redis: zombie check: malformed answer");
		}
		res[i].name = xstrdup(names[i]);
		o = e->element[1]->str;
		res[i].outcome = strcmp(o, "deleted") == 0 ? ZOMBIE_DELETED :
		    strcmp(o, "pending") == 0 ? ZOMBIE_KEPT_PENDING :
		    strcmp(o, "active") == 0 ? ZOMBIE_KEPT_ACTIVE : ZOMBIE_GONE;
		res[i].pending = e->element[2]->integer;
		res[i].idle_ms = e->element[3]->integer;
		res[i].inactive_ms = e->element[4]->integer;
	}
	freeReplyObject(r);
	*ret = res;
	return 0;
}

void
zombie_results_free(struct zombie_result *r, size_t n)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(r[i].name);
	free(r);
}
