/*
 * adopt.c: entries the recovery consumer holds that the journal does not
 * know, journalled (see pass.h, sweep_held).
 */
#include <string.h>

#include "../lib/json.h"
#include "pass.h"

static const char *const held_kinds[] = {"claim", "claim_reconciled", NULL};

int
sweep_held(struct pass *p, const char *stream, const char *group, long long *found,
    struct xerr *err)
{
	char start[ENTRY_ID_STRLEN] = "-";
	int rc = -1;

	*found = 0;
	if (journal_begin(p->j, err) < 0)
		return -1;
	for (;;) {
		redisReply *r = rconn_cmd(p->rc, err, "XPENDING %s %s %s + 1000 %s", stream, group,
		    start, p->cfg->consumer);
		struct entry_id id = {0, 0};
		size_t n;

		if (r == NULL)
			goto out;
		n = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		for (size_t i = 0; i < n; i++) {
			const redisReply *e = r->element[i];
			bool known;

			if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
			    entry_id_parse(e->element[0]->str, e->element[0]->len, &id) < 0)
				continue;
			if (journal_entry_has(p->j, stream, group, id, held_kinds, 0, &known, err) < 0) {
				freeReplyObject(r);
				goto out;
			}
			if (known)
				continue;
			redisReply *range = rconn_cmd(p->rc, err, "XRANGE %s %s %s", stream,
			    e->element[0]->str, e->element[0]->str);
			if (range == NULL) {
				freeReplyObject(r);
				goto out;
			}
			struct event ev = EVENT_INIT;
			struct jw w;
			ev.run = p->run;
			ev.stream = stream;
			ev.grp = group;
			ev.has_entry = true;
			ev.entry = id;
			ev.deliveries = e->element[3]->integer;
			buf_reset(&p->dbuf);
			jw_init(&w, &p->dbuf);
			jw_obj(&w);
			jw_kbool(&w, "found_held", true);
			jw_obj_end(&w);
			ev.detail = buf_str(&p->dbuf);
			if (range->type == REDIS_REPLY_ARRAY && range->elements == 1) {
				pass_encode_payload(p, range->element[0]->element[1]);
				ev.kind = "claim_reconciled";
				ev.payload = buf_str(&p->pbuf);
				ev.payload_len = p->pbuf.len;
			} else {
				ev.kind = "lost";
				buf_reset(&p->dbuf);
				jw_init(&w, &p->dbuf);
				jw_obj(&w);
				jw_kstr(&w, "reason", "deleted from the stream while held by the recovery "
				    "consumer after a run that left no trace");
				jw_kbool(&w, "found_held", true);
				jw_obj_end(&w);
				ev.detail = buf_str(&p->dbuf);
			}
			freeReplyObject(range);
			if (journal_append(p->j, &ev, err) < 0) {
				freeReplyObject(r);
				goto out;
			}
			(*found)++;
		}
		freeReplyObject(r);
		if (n < 1000)
			break;
		entry_id_format(entry_id_next(id), start, sizeof(start));
	}
	rc = journal_commit(p->j, err);
out:
	if (rc < 0)
		journal_rollback(p->j);
	return rc;
}
