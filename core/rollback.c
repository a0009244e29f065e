/*
 * rollback.c: takes back the copies of a replay batch that no group has
 * read.
 *
 * Guarantees: the copies to take back are written to the intent file
 * before Redis sees the request; a copy some group has read, or one that
 * settled, stays, and is reported; a dry run changes nothing and says
 * what would happen.  Journals copy_removed for each copy taken back (or
 * found gone) and one rollback event for the batch.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

/* -------------------------------------------------------------- rollback */

/* What a rollback would do to the copies ids[0..m) in stream to, in u: by the groups' reads. */
static int
unsend_dry(struct pass *p, const char *to, const struct entry_id *ids, size_t m,
    enum unsend *u, struct xerr *err)
{
	struct read_state rs;

	if (read_state_get(p->rc, to, &rs, err) < 0)
		return -1;
	for (size_t k = 0; k < m; k++) {
		bool read = false;
		for (size_t g = 0; g < rs.ngroups; g++)
			read = read || entry_id_cmp(rs.last[g], ids[k]) >= 0;
		u[k] = read ? UNSEND_READ : UNSEND_REMOVED;
	}
	read_state_free(&rs);
	return 0;
}

/*
 * Takes back the copies l->v[which[0..m)] of batch, all in stream to (their
 * IDs in ids), what became of each in u: written to the intent file first.
 */
static int
unsend(struct pass *p, int64_t batch, const struct copy_list *l, const char *to,
    const size_t *which, const struct entry_id *ids, size_t m, enum unsend *u, struct xerr *err)
{
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "kind", "rollback");
	jw_kint(&w, "batch", batch);
	intent_kname(&w, "to", to);
	jw_key(&w, "copies");
	jw_arr(&w);
	for (size_t k = 0; k < m; k++) {
		const struct copy_row *c = &l->v[which[k]];
		char cid[ENTRY_ID_STRLEN], oid[ENTRY_ID_STRLEN];
		entry_id_format(c->copy, cid, sizeof(cid));
		entry_id_format(c->id, oid, sizeof(oid));
		jw_arr(&w);
		jw_str(&w, cid);
		intent_name(&w, c->stream);
		intent_name(&w, c->grp);
		jw_str(&w, oid);
		jw_arr_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0 ||
	    copies_unsend(p->rc, to, ids, m, u, err) < 0) {
		p->uncertain = true;
		return -1;
	}
	failpoint("rollback-unsent");
	return 0;
}

/*
 * Counts in ret what became of copy c (o), and journals a copy taken back
 * or gone as copy_removed (unless dry).
 */
static int
unsent(struct pass *p, int64_t batch, bool dry, const struct copy_row *c, enum unsend o,
    struct rollback_report *ret, struct xerr *err)
{
	struct jw w;
	struct event ev;

	if (o == UNSEND_READ) {
		ret->read_ids = xrealloc(ret->read_ids, (ret->read + 1) * sizeof(*ret->read_ids));
		ret->read_streams = xrealloc(ret->read_streams,
		    (ret->read + 1) * sizeof(*ret->read_streams));
		ret->read_ids[ret->read] = c->copy;
		ret->read_streams[ret->read] = xstrdup(c->to);
		ret->read++;
		return 0;
	}
	if (o == UNSEND_REMOVED)
		ret->removed++;
	else
		ret->gone++;
	if (dry)
		return 0;
	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	if (o == UNSEND_GONE)
		jw_kbool(&w, "gone", true);
	jw_obj_end(&w);
	ev = copy_event(p, "copy_removed", batch, c, buf_str(&p->dbuf));
	return pass_append(p, &ev, err) < 0 ? -1 : 0;
}

/* Rolls back the copies l->v[from..end) of batch, all in one stream. */
static int
rollback_stream(struct pass *p, int64_t batch, bool dry, const struct copy_list *l,
    size_t from, size_t end, struct rollback_report *ret, struct xerr *err)
{
	const char *to = l->v[from].to;
	struct entry_id *ids = xmalloc((end - from) * sizeof(*ids));
	size_t *which = xmalloc((end - from) * sizeof(*which));
	enum unsend *u = xcalloc(end - from, sizeof(*u));
	size_t m = 0;
	int rc = -1;

	for (size_t k = from; k < end; k++) {
		if (l->v[k].settled) {
			ret->settled++;
			continue;
		}
		if (l->v[k].removed)
			continue;
		ids[m] = l->v[k].copy;
		which[m++] = k;
	}
	if (m > 0 && (dry ? unsend_dry(p, to, ids, m, u, err) :
	    unsend(p, batch, l, to, which, ids, m, u, err)) < 0)
		goto out;
	for (size_t k = 0; k < m; k++)
		if (unsent(p, batch, dry, &l->v[which[k]], u[k], ret, err) < 0)
			goto out;
	rc = 0;
out:
	free(u);
	free(which);
	free(ids);
	return rc;
}

/* Journals the batch's rollback event: what ret counts, and the copies read. */
static int
rollback_event(struct pass *p, int64_t batch, const struct rollback_report *ret,
    struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "removed", (int64_t)(ret->removed + ret->gone));
	jw_kint(&w, "already_read", (int64_t)ret->read);
	jw_kint(&w, "already_settled", (int64_t)ret->settled);
	jw_key(&w, "read_ids");
	jw_arr(&w);
	for (size_t k = 0; k < ret->read; k++) {
		char id[ENTRY_ID_STRLEN];
		entry_id_format(ret->read_ids[k], id, sizeof(id));
		jw_str(&w, id);
	}
	jw_arr_end(&w);
	pass_who(&w);
	jw_obj_end(&w);
	ev.kind = "rollback";
	ev.run = p->run;
	ev.batch = batch;
	ev.detail = buf_str(&p->dbuf);
	return pass_append(p, &ev, err) < 0 ? -1 : 0;
}

int
rollback_batch(struct pass *p, int64_t batch, bool dry, struct rollback_report *ret,
    struct xerr *err)
{
	struct batch_info bi;
	struct copy_list l = {0};
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (journal_batch_info(p->j, batch, &bi, err) < 0)
		return -1;
	if (!bi.exists)
		return xerr_set(err, XR_ENOTHING, "there is no replay batch %lld in the journal",
		    (long long)batch);
	if (bi.rolled_back)
		return xerr_set(err, XR_ENOTHING,
		    "replay batch %lld was already rolled back; nothing changed", (long long)batch);
	if (journal_batch_copies(p->j, batch, keep_copy, &l, err) < 0)
		goto out;
	copies_fix(&l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_copy_target);
	/* The copies, sorted, by the stream they are in. */
	for (size_t i = 0, end; i < l.n; i = end) {
		for (end = i; end < l.n && strcmp(l.v[end].to, l.v[i].to) == 0; end++)
			;
		if (rollback_stream(p, batch, dry, &l, i, end, ret, err) < 0)
			goto out;
	}
	if (!dry && rollback_event(p, batch, ret, err) < 0)
		goto out;
	rc = 0;
out:
	copies_free(&l);
	return rc;
}
