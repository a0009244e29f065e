/* move.c: copies, dead-letter moves, settling checks and rollback (see move.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "move.h"

/* ------------------------------------------------------------- copies */

int
copy_first_id(struct rconn *rc, const char *stream, struct entry_id *ret, struct xerr *err)
{
	struct entry_id last = {0, 0}, now = {0, 0};
	redisReply *r;

	r = rconn_cmd(rc, err, "TIME");
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		now.ms = strtoull(r->element[0]->str, NULL, 10) * 1000 +
		    strtoull(r->element[1]->str, NULL, 10) / 1000;
	freeReplyObject(r);

	r = redisCommand(rc->c, "XINFO STREAM %s", stream);
	if (r == NULL)
		return rconn_io_error(rc, err);
	if (r->type == REDIS_REPLY_ARRAY) {
		const char *l = reply_str(r, "last-generated-id");
		if (l != NULL)
			entry_id_parse(l, strlen(l), &last);
	} else if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key") == NULL) {
		xerr_set(err, XR_EFAIL, "redis: XINFO STREAM %s: %s", stream, r->str);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	last = entry_id_next(last);
	*ret = entry_id_cmp(last, now) > 0 ? last : now;
	return 0;
}

int
copies_send(struct rconn *rc, const char *stream, const struct copy *c, size_t n,
    struct xerr *err)
{
	size_t slen = strlen(stream);
	int done = 0;

	for (size_t i = 0; i < n; i++) {
		char id[ENTRY_ID_STRLEN];

		entry_id_format(c[i].id, id, sizeof(id));
		resp_begin(rc, 3 + c[i].nfv);
		resp_arg(rc, "XADD", 4);
		resp_arg(rc, stream, slen);
		resp_arg(rc, id, strlen(id));
		for (size_t f = 0; f < c[i].nfv; f++)
			resp_arg(rc, c[i].fv[f].p, c[i].fv[f].n);
	}
	resp_flush(rc);
	do {
		if (redisBufferWrite(rc->c, &done) != REDIS_OK)
			return rconn_io_error(rc, err);
	} while (!done);
	return 0;
}

int
copies_recv(struct rconn *rc, const char *stream, struct copy *c, size_t n, struct xerr *err)
{
	int rc_ = 0;

	/* One answer per XADD; each copy stands or fails on its own. */
	for (size_t i = 0; i < n; i++) {
		redisReply *r;

		if (redisGetReply(rc->c, (void **)&r) != REDIS_OK)
			return rconn_io_error(rc, err);
		c[i].done = false;
		if (r->type == REDIS_REPLY_STRING) {
			c[i].done = true;
		} else if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "equal or smaller") != NULL) {
			/* A producer took the ID first: plan this copy again. */
		} else if (rc_ == 0) {
			rc_ = xerr_set(err, XR_EFAIL, "redis: XADD %s: %s", stream,
			    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		}
		freeReplyObject(r);
	}
	return rc_;
}

int
group_create(struct rconn *rc, const char *stream, const char *group, bool *ret_created,
    struct xerr *err)
{
	redisReply *r = redisCommand(rc->c, "XGROUP CREATE %s %s $ MKSTREAM", stream, group);

	if (r == NULL)
		return rconn_io_error(rc, err);
	*ret_created = r->type != REDIS_REPLY_ERROR;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
		xerr_set(err, XR_EFAIL, "redis: XGROUP CREATE %s %s: %s", stream, group, r->str);
		freeReplyObject(r);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* ------------------------------------------------------- dead letters */

/*
 * The owner check of the scripts below, made in the script so that nobody
 * claims the entry between the check and what follows.  not_ours(key,
 * group, id, consumer) is nil when id is pending in key/group on consumer;
 * else the answer that leaves id alone: {id, 0} not pending, {id, 1,
 * other} pending on another consumer (read by not_ours_answer()).
 */
#define NOT_OURS_LUA \
"local function not_ours(key, group, id, consumer)\n" \
"  local p = redis.call('XPENDING', key, group, id, id, 1)\n" \
"  if #p == 0 then return {id, 0} end\n" \
"  if p[1][2] ~= consumer then return {id, 1, p[1][2]} end\n" \
"  return nil\n" \
"end\n"

/*
 * Reads an answer of not_ours(): sets *ret_not_pending, or *ret_owner (the
 * caller frees it), and returns true; false for any other answer.
 */
static bool
not_ours_answer(const redisReply *e, bool *ret_not_pending, char **ret_owner)
{
	const redisReply *res;

	if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
		return false;
	res = e->element[1];
	if (res->type != REDIS_REPLY_INTEGER)
		return false;
	if (res->integer == 0) {
		*ret_not_pending = true;
		return true;
	}
	if (res->integer == 1 && e->elements > 2 && e->element[2]->type == REDIS_REPLY_STRING) {
		*ret_owner = xstrndup(e->element[2]->str, e->element[2]->len);
		return true;
	}
	return false;
}

/*
 * KEYS[1] the dead-letter stream, KEYS[2] the stream; ARGV[1] the group,
 * ARGV[2] the consumer the entries must be pending on, then per entry:
 * its ID, the number of items, the items.  Per entry: {id, dlq_id} moved,
 * {id, 0} not pending, {id, 1, consumer} pending on another consumer (both
 * left alone), {id, -1, error} (and nothing after it was tried).
 */
static const char dlq_lua[] = NOT_OURS_LUA
"local out = {}\n"
"local i = 3\n"
"while i <= #ARGV do\n"
"  local id = ARGV[i]\n"
"  local n = tonumber(ARGV[i + 1])\n"
"  local items = {}\n"
"  for k = 1, n do items[k] = ARGV[i + 1 + k] end\n"
"  i = i + 2 + n\n"
"  local a = not_ours(KEYS[2], ARGV[1], id, ARGV[2])\n"
"  if a then\n"
"    out[#out + 1] = a\n"
"  else\n"
"    local r = redis.pcall('XADD', KEYS[1], '*', unpack(items))\n"
"    if type(r) == 'table' and r.err then\n"
"      out[#out + 1] = {id, -1, r.err}\n"
"      return out\n"
"    end\n"
"    redis.call('XACK', KEYS[2], ARGV[1], id)\n"
"    out[#out + 1] = {id, r}\n"
"  end\n"
"end\n"
"return out\n";

static bool
named(const redisReply *r, const char *s)
{
	return r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

bool
dead_letter_source(const redisReply *f, const redisReply **ret_stream,
    const redisReply **ret_group, const redisReply **ret_id)
{
	static const char *const plain[] = {DLQ_FIELD_STREAM, DLQ_FIELD_GROUP, DLQ_FIELD_ID,
	    DLQ_FIELD_CONSUMER, DLQ_FIELD_DELIVERIES, DLQ_FIELD_TIME, DLQ_FIELD_REASON};
	static const char *const copy[] = {DLQ_FIELD_STREAM, DLQ_FIELD_GROUP, DLQ_FIELD_ID,
	    DLQ_FIELD_COPY_STREAM, DLQ_FIELD_COPY_GROUP, DLQ_FIELD_COPY_ID, DLQ_FIELD_CONSUMER,
	    DLQ_FIELD_DELIVERIES, DLQ_FIELD_TIME, DLQ_FIELD_REASON};
	size_t n, k, at;
	bool is_copy;

	if (f == NULL || f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0 || f->elements < 14)
		return false;
	n = f->elements;
	/* The seventh pair from the end tells the two apart. */
	is_copy = named(f->element[n - 14], DLQ_FIELD_COPY_STREAM);
	k = is_copy ? 10 : 7;
	if (n < 2 * k)
		return false;
	at = n - 2 * k;
	for (size_t i = 0; i < k; i++)
		if (!named(f->element[at + 2 * i], is_copy ? copy[i] : plain[i]) ||
		    f->element[at + 2 * i + 1]->type != REDIS_REPLY_STRING)
			return false;
	at += is_copy ? 6 : 0;
	*ret_stream = f->element[at + 1];
	*ret_group = f->element[at + 3];
	*ret_id = f->element[at + 5];
	return true;
}

char *
dlq_name(const char *tmpl, const char *stream, const char *group)
{
	struct buf b = BUF_INIT;

	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "{stream}", 8) == 0) {
			buf_adds(&b, stream);
			p += 8;
		} else if (strncmp(p, "{group}", 7) == 0) {
			buf_adds(&b, group);
			p += 7;
		} else {
			buf_addc(&b, *p++);
		}
	}
	return b.data != NULL ? b.data : xstrdup("");
}

int
dead_letters_move(struct rconn *rc, const char *stream, const char *group, const char *owner,
    const char *dlq, struct dead_letter *d, size_t n, struct xerr *err)
{
	const char **argv;
	size_t *lens;
	size_t cap = 7, k = 0;
	char (*num)[32];
	char now[32];
	redisReply *r;
	int rc_ = -1;

	for (size_t i = 0; i < n; i++)
		cap += d[i].nfv + 22;
	argv = xmalloc(cap * sizeof(*argv));
	lens = xmalloc(cap * sizeof(*lens));
	num = xmalloc(n * 4 * sizeof(*num));
	format_utc(now_ms(), true, now, sizeof(now));

#define ARG(s, l) do { argv[k] = (s); lens[k] = (l); k++; } while (0)
#define ARGS(s) ARG((s), strlen(s))
	ARGS("EVAL");
	ARGS(dlq_lua);
	ARGS("2");
	ARGS(dlq);
	ARGS(stream);
	ARGS(group);
	ARGS(owner);
	for (size_t i = 0; i < n; i++) {
		char *id = num[4 * i], *cnt = num[4 * i + 1], *dl = num[4 * i + 2];
		char *oid = num[4 * i + 3];
		bool copy = d[i].origin_stream != NULL;
		entry_id_format(d[i].id, id, 32);
		entry_id_format(d[i].origin_id, oid, 32);
		snprintf(cnt, 32, "%zu", d[i].nfv + (copy ? 20 : 14));
		snprintf(dl, 32, "%lld", d[i].deliveries);
		ARGS(id);
		ARGS(cnt);
		for (size_t f = 0; f < d[i].nfv; f++)
			ARG(d[i].fv[f].p, d[i].fv[f].n);
		ARGS(DLQ_FIELD_STREAM);
		ARGS(copy ? d[i].origin_stream : stream);
		ARGS(DLQ_FIELD_GROUP);
		ARGS(copy ? d[i].origin_group : group);
		ARGS(DLQ_FIELD_ID);
		ARGS(copy ? oid : id);
		if (copy) {
			ARGS(DLQ_FIELD_COPY_STREAM);
			ARGS(stream);
			ARGS(DLQ_FIELD_COPY_GROUP);
			ARGS(group);
			ARGS(DLQ_FIELD_COPY_ID);
			ARGS(id);
		}
		ARGS(DLQ_FIELD_CONSUMER);
		ARGS(d[i].consumer != NULL ? d[i].consumer : "");
		ARGS(DLQ_FIELD_DELIVERIES);
		ARGS(dl);
		ARGS(DLQ_FIELD_TIME);
		ARGS(now);
		ARGS(DLQ_FIELD_REASON);
		ARGS(d[i].reason != NULL ? d[i].reason : "");
		d[i].done = d[i].not_pending = false;
		d[i].owner = NULL;
	}
#undef ARG
#undef ARGS
	r = rconn_argv(rc, err, (int)k, argv, lens);
	if (r == NULL)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY) {
		xerr_set(err, XR_EFAIL, "redis: dead-letter move to %s: unexpected reply", dlq);
		goto out;
	}
	rc_ = 0;
	for (size_t i = 0; i < r->elements && i < n; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
		    not_ours_answer(e, &d[i].not_pending, &d[i].owner))
			continue;
		const redisReply *res = e->element[1];
		if (res->type == REDIS_REPLY_STRING) {
			d[i].done = entry_id_parse(res->str, res->len, &d[i].dlq_id) == 0;
		} else {
			rc_ = xerr_set(err, XR_EFAIL, "redis: XADD %s: %s", dlq,
			    e->elements > 2 && e->element[2]->type == REDIS_REPLY_STRING ?
			    e->element[2]->str : "refused");
		}
	}
out:
	if (r != NULL)
		freeReplyObject(r);
	free(argv);
	free(lens);
	free(num);
	return rc_;
}

/* ------------------------------------------------------------ settling */

int
read_state_get(struct rconn *rc, const char *stream, struct read_state *ret,
    struct xerr *err)
{
	struct read_state rs = {0};
	redisReply *r = redisCommand(rc->c, "XINFO GROUPS %s", stream);

	if (r == NULL)
		return rconn_io_error(rc, err);
	if (r->type == REDIS_REPLY_ERROR) {
		bool missing = strstr(r->str, "no such key") != NULL;
		if (!missing)
			xerr_set(err, XR_EFAIL, "redis: XINFO GROUPS %s: %s", stream, r->str);
		freeReplyObject(r);
		*ret = rs;
		return missing ? 0 : -1;
	}
	rs.exists = true;
	rs.ngroups = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	rs.names = xcalloc(rs.ngroups + 1, sizeof(*rs.names));
	rs.last = xcalloc(rs.ngroups + 1, sizeof(*rs.last));
	for (size_t i = 0; i < rs.ngroups; i++) {
		const char *name = reply_str(r->element[i], "name");
		const char *last = reply_str(r->element[i], "last-delivered-id");
		rs.names[i] = xstrdup(name != NULL ? name : "");
		if (last != NULL)
			entry_id_parse(last, strlen(last), &rs.last[i]);
	}
	freeReplyObject(r);
	*ret = rs;
	return 0;
}

void
read_state_free(struct read_state *rs)
{
	for (size_t i = 0; i < rs->ngroups; i++)
		free(rs->names[i]);
	free(rs->names);
	free(rs->last);
	memset(rs, 0, sizeof(*rs));
}

int
copy_consumed(struct rconn *rc, const char *stream, const struct read_state *rs,
    const char *group, struct entry_id id, bool *ret_consumed, bool *ret_read,
    bool *ret_exists, struct xerr *err)
{
	char ids[ENTRY_ID_STRLEN];
	bool consumed = false, read = false, any = false;
	redisReply *r;

	entry_id_format(id, ids, sizeof(ids));
	r = rconn_cmd(rc, err, "XRANGE %s %s %s", stream, ids, ids);
	if (r == NULL)
		return -1;
	*ret_exists = r->type == REDIS_REPLY_ARRAY && r->elements == 1;
	freeReplyObject(r);
	consumed = true;
	for (size_t g = 0; g < rs->ngroups; g++) {
		bool delivered = entry_id_cmp(rs->last[g], id) >= 0;
		bool target = group == NULL || strcmp(rs->names[g], group) == 0;

		read = read || delivered;
		if (!target)
			continue;
		any = true;
		if (!delivered) {
			consumed = false;
			continue;
		}
		r = rconn_cmd(rc, err, "XPENDING %s %s %s %s 1", stream, rs->names[g], ids, ids);
		if (r == NULL)
			return -1;
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
			consumed = false;
		freeReplyObject(r);
	}
	*ret_consumed = consumed && any;
	*ret_read = read;
	return 0;
}

/*
 * Runs the command whose first words are head[0 .. nhead) followed by
 * ids[0 .. n) as text.  Returns the reply (freed by the caller), or NULL.
 */
static redisReply *
ids_command(struct rconn *rc, const char *const *head, size_t nhead,
    const struct entry_id *ids, size_t n, struct xerr *err)
{
	const char **argv = xmalloc((nhead + n) * sizeof(*argv));
	char (*s)[ENTRY_ID_STRLEN] = xmalloc((n + 1) * sizeof(*s));
	redisReply *r;

	for (size_t k = 0; k < nhead; k++)
		argv[k] = head[k];
	for (size_t j = 0; j < n; j++) {
		entry_id_format(ids[j], s[j], sizeof(s[j]));
		argv[nhead + j] = s[j];
	}
	r = rconn_argv(rc, err, (int)(nhead + n), argv, NULL);
	free(argv);
	free(s);
	return r;
}

/* XACK or XDEL of ids, 1000 at a time. */
static int
id_command(struct rconn *rc, const char *cmd, const char *stream, const char *group,
    const struct entry_id *ids, size_t n, struct xerr *err)
{
	const char *head[] = {cmd, stream, group};

	for (size_t i = 0; i < n; i += 1000) {
		size_t m = n - i < 1000 ? n - i : 1000;
		redisReply *r = ids_command(rc, head, group != NULL ? 3 : 2, ids + i, m, err);

		if (r == NULL)
			return -1;
		freeReplyObject(r);
	}
	return 0;
}

/*
 * KEYS[1] the stream; ARGV[1] the group, ARGV[2] the consumer the entries
 * must be pending on, then the IDs.  Per ID: {id, 2} acknowledged, else
 * not_ours()'s answer (left alone).  No such group (or stream): none is
 * pending, as XACK would have it.
 */
static const char ack_lua[] = NOT_OURS_LUA
"local out = {}\n"
"local g = redis.pcall('XPENDING', KEYS[1], ARGV[1])\n"
"local none = type(g) == 'table' and g.err ~= nil\n"
"for i = 3, #ARGV do\n"
"  local id = ARGV[i]\n"
"  local a = none and {id, 0} or not_ours(KEYS[1], ARGV[1], id, ARGV[2])\n"
"  if not a then\n"
"    redis.call('XACK', KEYS[1], ARGV[1], id)\n"
"    a = {id, 2}\n"
"  end\n"
"  out[#out + 1] = a\n"
"end\n"
"return out\n";

/*
 * KEYS[1] the stream; ARGV[1] the group, ARGV[2] the consumer the entries
 * must be pending on, ARGV[3] the consumer they go to, then the IDs.  Per
 * ID: {id, 3} handed over, else not_ours()'s answer (left alone).
 */
static const char hand_off_lua[] = NOT_OURS_LUA
"local out = {}\n"
"for i = 4, #ARGV do\n"
"  local id = ARGV[i]\n"
"  local a = not_ours(KEYS[1], ARGV[1], id, ARGV[2])\n"
"  if not a then\n"
"    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, id, 'JUSTID')\n"
"    a = {id, 3}\n"
"  end\n"
"  out[#out + 1] = a\n"
"end\n"
"return out\n";

/*
 * Runs script (ack_lua or hand_off_lua) over ids[0..n), 500 a call, on the
 * entries pending on owner in stream/group (to: where hand_off_lua sends
 * them).  ret_done[i] (if not NULL): the script answered done_code for it;
 * ret_owner[i]: the consumer it was pending on instead, else NULL.
 */
static int
on_held(struct rconn *rc, const char *script, const char *what, const char *stream,
    const char *group, const char *owner, const char *to, long long done_code,
    const struct entry_id *ids, size_t n, bool *ret_done, char **ret_owner, struct xerr *err)
{
	for (size_t i = 0; i < n; i++) {
		ret_owner[i] = NULL;
		if (ret_done != NULL)
			ret_done[i] = false;
	}
	for (size_t i = 0; i < n; i += 500) {
		size_t m = n - i < 500 ? n - i : 500;
		const char *head[] = {"EVAL", script, "1", stream, group, owner, to};
		redisReply *r = ids_command(rc, head, to != NULL ? 7 : 6, ids + i, m, err);

		if (r == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != m) {
			xerr_set(err, XR_EFAIL, "redis: %s in %s: %s", what, stream,
			    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			freeReplyObject(r);
			return -1;
		}
		for (size_t j = 0; j < m; j++) {
			const redisReply *e = r->element[j];
			bool not_pending = false;

			if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
			    e->element[1]->type == REDIS_REPLY_INTEGER &&
			    e->element[1]->integer == done_code) {
				if (ret_done != NULL)
					ret_done[i + j] = true;
			} else {
				not_ours_answer(e, &not_pending, &ret_owner[i + j]);
			}
		}
		freeReplyObject(r);
	}
	return 0;
}

int
ack_held(struct rconn *rc, const char *stream, const char *group, const char *owner,
    const struct entry_id *ids, size_t n, char **ret_owner, struct xerr *err)
{
	return on_held(rc, ack_lua, "acknowledging", stream, group, owner, NULL, 2, ids, n, NULL,
	    ret_owner, err);
}

int
hand_off(struct rconn *rc, const char *stream, const char *group, const char *owner,
    const char *to, const struct entry_id *ids, size_t n, bool *ret_done, char **ret_owner,
    struct xerr *err)
{
	return on_held(rc, hand_off_lua, "handing off", stream, group, owner, to, 3, ids, n,
	    ret_done, ret_owner, err);
}

int
del_entries(struct rconn *rc, const char *stream, const struct entry_id *ids, size_t n,
    struct xerr *err)
{
	return id_command(rc, "XDEL", stream, NULL, ids, n, err);
}

/* ------------------------------------------------------------ rollback */

/*
 * KEYS[1] the stream; ARGV the copies' IDs, ascending.  A copy is read when
 * any group has delivered past it; only unread copies are removed.  IDs
 * are compared as the decimal numbers they are, exactly.  The read ones
 * come first; then, when nothing at or after the first unread one was
 * ever deleted (max-deleted-entry-id is below it) or trimmed (the stream's
 * first entry is at or below it), every one of them is there and one XDEL
 * takes them all; else one XDEL each tells which were gone.
 */
static const char unsend_lua[] =
"local function lt(a, b)\n"
"  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
"  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
"  if am ~= bm then\n"
"    if #am ~= #bm then return #am < #bm end\n"
"    return am < bm\n"
"  end\n"
"  if #as ~= #bs then return #as < #bs end\n"
"  return as < bs\n"
"end\n"
"local last\n"
"local exists = redis.call('EXISTS', KEYS[1]) == 1\n"
"if exists then\n"
"  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
"    for i = 1, #g, 2 do\n"
"      if g[i] == 'last-delivered-id' and (last == nil or lt(last, g[i + 1])) then\n"
"        last = g[i + 1]\n"
"      end\n"
"    end\n"
"  end\n"
"end\n"
"local out, i = {}, 1\n"
"while last ~= nil and i <= #ARGV and not lt(last, ARGV[i]) do\n"
"  out[i] = 'read'\n"
"  i = i + 1\n"
"end\n"
"if i > #ARGV then return out end\n"
"local whole = false\n"
"if exists then\n"
"  local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
"  local maxdel, first\n"
"  for k = 1, #info, 2 do\n"
"    if info[k] == 'max-deleted-entry-id' then maxdel = info[k + 1] end\n"
"    if info[k] == 'first-entry' and type(info[k + 1]) == 'table' then\n"
"      first = info[k + 1][1]\n"
"    end\n"
"  end\n"
"  whole = maxdel ~= nil and first ~= nil and lt(maxdel, ARGV[i]) and not lt(ARGV[i], first)\n"
"end\n"
"if whole then\n"
"  local n = redis.call('XDEL', KEYS[1], unpack(ARGV, i))\n"
"  if n ~= #ARGV - i + 1 then\n"
"    return redis.error_reply('removed ' .. n .. ' of ' .. (#ARGV - i + 1) .. ' copies')\n"
"  end\n"
"  for k = i, #ARGV do out[k] = 'removed' end\n"
"else\n"
"  for k = i, #ARGV do\n"
"    out[k] = redis.call('XDEL', KEYS[1], ARGV[k]) == 1 and 'removed' or 'gone'\n"
"  end\n"
"end\n"
"return out\n";

int
copies_unsend_send(struct rconn *rc, const char *stream, const struct entry_id *ids, size_t n,
    struct xerr *err)
{
	int done = 0;

	for (size_t i = 1; i < n; i++)
		if (entry_id_cmp(ids[i - 1], ids[i]) >= 0)
			return xerr_set(err, XR_EFAIL, "rollback on %s: copies not in ascending order",
			    stream);
	resp_begin(rc, 4 + n);
	resp_arg(rc, "EVAL", 4);
	resp_arg(rc, unsend_lua, sizeof(unsend_lua) - 1);
	resp_arg(rc, "1", 1);
	resp_arg(rc, stream, strlen(stream));
	for (size_t i = 0; i < n; i++) {
		char id[ENTRY_ID_STRLEN];
		entry_id_format(ids[i], id, sizeof(id));
		resp_arg(rc, id, strlen(id));
	}
	resp_flush(rc);
	do {
		if (redisBufferWrite(rc->c, &done) != REDIS_OK)
			return rconn_io_error(rc, err);
	} while (!done);
	return 0;
}

int
copies_unsend_recv(struct rconn *rc, const char *stream, size_t n, enum unsend *ret,
    struct xerr *err)
{
	redisReply *r;

	if (redisGetReply(rc->c, (void **)&r) != REDIS_OK)
		return rconn_io_error(rc, err);
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		xerr_set(err, XR_EFAIL, "redis: rollback on %s: %s", stream,
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		const char *o = r->element[j]->type == REDIS_REPLY_STRING ? r->element[j]->str : "";
		ret[j] = strcmp(o, "removed") == 0 ? UNSEND_REMOVED :
		    strcmp(o, "read") == 0 ? UNSEND_READ : UNSEND_GONE;
	}
	freeReplyObject(r);
	return 0;
}
