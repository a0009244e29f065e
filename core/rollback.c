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

int
rollback_batch(struct pass *p, int64_t batch, bool dry, struct rollback_report *ret,
    struct xerr *err)
{
	struct batch_info bi;
	struct copy_list l = {0};
	enum unsend *res = NULL;
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
	res = xcalloc(l.n + 1, sizeof(*res));
	for (size_t i = 0; i < l.n;) {
		size_t end = i, m = 0;
		struct entry_id *ids;
		size_t *which;

		while (end < l.n && strcmp(l.v[end].to, l.v[i].to) == 0)
			end++;
		ids = xmalloc((end - i) * sizeof(*ids));
		which = xmalloc((end - i) * sizeof(*which));
		for (size_t k = i; k < end; k++) {
			if (l.v[k].settled) {
				ret->settled++;
				continue;
			}
			if (l.v[k].removed)
				continue;
			ids[m] = l.v[k].copy;
			which[m++] = k;
		}
		if (m > 0 && dry) {
			struct read_state rs;
			if (read_state_get(p->rc, l.v[i].to, &rs, err) < 0) {
				free(ids);
				free(which);
				goto out;
			}
			for (size_t k = 0; k < m; k++) {
				bool read = false;
				for (size_t g = 0; g < rs.ngroups; g++)
					read = read || entry_id_cmp(rs.last[g], ids[k]) >= 0;
				res[which[k]] = read ? UNSEND_READ : UNSEND_REMOVED;
			}
			read_state_free(&rs);
		} else if (m > 0) {
			struct jw w;
			enum unsend *u = xcalloc(m, sizeof(*u));

			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			jw_kint(&w, "run", p->run);
			jw_kstr(&w, "kind", "rollback");
			jw_kint(&w, "batch", batch);
			intent_kname(&w, "to", l.v[i].to);
			jw_key(&w, "copies");
			jw_arr(&w);
			for (size_t k = 0; k < m; k++) {
				const struct copy_row *c = &l.v[which[k]];
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
			    copies_unsend(p->rc, l.v[i].to, ids, m, u, err) < 0) {
				p->uncertain = true;
				free(u);
				free(ids);
				free(which);
				goto out;
			}
			failpoint("rollback-unsent");
			for (size_t k = 0; k < m; k++)
				res[which[k]] = u[k];
			free(u);
		}
		for (size_t k = 0; k < m; k++) {
			const struct copy_row *c = &l.v[which[k]];
			enum unsend o = res[which[k]];

			if (o == UNSEND_READ) {
				ret->read_ids = xrealloc(ret->read_ids, (ret->read + 1) * sizeof(*ret->read_ids));
				ret->read_streams = xrealloc(ret->read_streams,
				    (ret->read + 1) * sizeof(*ret->read_streams));
				ret->read_ids[ret->read] = c->copy;
				ret->read_streams[ret->read] = xstrdup(c->to);
				ret->read++;
				continue;
			}
			if (o == UNSEND_REMOVED)
				ret->removed++;
			else
				ret->gone++;
			if (dry)
				continue;
			struct jw w;
			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			if (o == UNSEND_GONE)
				jw_kbool(&w, "gone", true);
			jw_obj_end(&w);
			struct event ev = copy_event(p, "copy_removed", batch, c, buf_str(&p->dbuf));
			if (pass_append(p, &ev, err) < 0) {
				free(ids);
				free(which);
				goto out;
			}
		}
		free(ids);
		free(which);
		i = end;
	}
	if (!dry) {
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
		if (pass_append(p, &ev, err) < 0)
			goto out;
	}
	rc = 0;
out:
	free(res);
	copies_free(&l);
	return rc;
}
