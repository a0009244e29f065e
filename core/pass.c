/*
 * pass.c: what the parts of a recovery pass share (see pass.h): appending
 * to the journal behind the writer, who runs the command, an entry's
 * fields and payload, the LOST line and the zombie events.
 */
#include <pwd.h>
#include <unistd.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "pass.h"

int
pass_flush(struct pass *p, struct xerr *err)
{
	if (p->w != NULL)
		return writer_sync(p->w, err);
	return 0;
}

int
pass_append(struct pass *p, const struct event *ev, struct xerr *err)
{
	if (pass_flush(p, err) < 0 || journal_begin(p->j, err) < 0)
		return -1;
	return journal_append_commit(p->j, ev, err);
}

void
pass_who(struct jw *w)
{
	char host[256] = "";
	struct passwd *pw = getpwuid(geteuid());

	gethostname(host, sizeof(host) - 1);
	jw_kstr(w, "host", host);
	jw_kstr(w, "user", pw != NULL ? pw->pw_name : "?");
	jw_kint(w, "pid", (int64_t)getpid());
}

void
pass_fields(struct pass *p, const redisReply *f)
{
	if (p->fv_cap < f->elements) {
		p->fv_cap = f->elements;
		p->fv = xrealloc(p->fv, p->fv_cap * sizeof(*p->fv));
	}
	for (size_t i = 0; i < f->elements; i++) {
		p->fv[i].p = f->element[i]->str;
		p->fv[i].n = f->element[i]->len;
	}
}

void
pass_encode_payload(struct pass *p, const redisReply *f)
{
	pass_fields(p, f);
	buf_reset(&p->pbuf);
	payload_encode(p->fv, f->elements, &p->pbuf);
}

void
pass_log_lost(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const char *owner, int64_t idle, int64_t deliveries,
    const char *reason)
{
	char ids[ENTRY_ID_STRLEN];
	struct logline l;

	entry_id_format(id, ids, sizeof(ids));
	ll_start(&l, LOG_WARN, "LOST", NULL);
	ll_str(&l, "entry", ids);
	ll_str(&l, "stream", stream);
	ll_str(&l, "group", group);
	ll_str(&l, "consumer", owner != NULL ? owner : "?");
	ll_int(&l, "idle_ms", idle);
	ll_int(&l, "deliveries", deliveries);
	ll_str(&l, "reason", reason);
	ll_emit(p->lg, &l);
}

int
pass_journal_zombie(struct pass *p, const char *stream, const char *group,
    const struct zombie_result *z, bool reconciled, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "pending", z->pending);
	if (z->inactive_ms >= 0)
		jw_kint(&w, "inactive_ms", z->inactive_ms);
	if (z->outcome != ZOMBIE_DELETED)
		jw_kstr(&w, "reason", zombie_outcome_name(z->outcome));
	if (reconciled)
		jw_kbool(&w, "reconciled", true);
	jw_obj_end(&w);
	ev.kind = z->outcome == ZOMBIE_DELETED ? "consumer_deleted" : "consumer_kept";
	ev.run = p->run;
	ev.stream = stream;
	ev.grp = group;
	ev.consumer = z->name;
	ev.idle_ms = z->idle_ms;
	ev.detail = buf_str(&p->dbuf);
	return journal_append(p->j, &ev, err);
}

/* An [ERROR] or [WARN] line about a stream and group (either may be NULL). */
void
pass_log_problem(struct pass *p, enum log_level level, const char *stream, const char *group,
    const char *msg)
{
	struct logline l;

	ll_start(&l, level, level == LOG_ERROR ? "ERROR" : "WARN", NULL);
	if (stream != NULL)
		ll_str(&l, "stream", stream);
	if (group != NULL)
		ll_str(&l, "group", group);
	ll_str(&l, level == LOG_ERROR ? "error" : "warning", msg);
	ll_emit(p->lg, &l);
}

/* Starts an intent record: {"run":N,"kind":K,"stream":S,"group":G, ... */
void
pass_intent_head(struct pass *p, struct jw *w, const char *kind, const char *stream,
    const char *group)
{
	buf_reset(&p->dbuf);
	jw_init(w, &p->dbuf);
	jw_obj(w);
	jw_kint(w, "run", p->run);
	jw_kstr(w, "kind", kind);
	intent_kname(w, "stream", stream);
	intent_kname(w, "group", group);
}

bool
pass_unsettled(const struct pass *p, const char *stream, const char *group)
{
	for (size_t i = 0; i < p->nunsettled; i++)
		if (strcmp(p->unsettled[i].stream, stream) == 0 &&
		    strcmp(p->unsettled[i].group, group) == 0)
			return true;
	return false;
}

void
pass_unsettled_free(struct pass *p)
{
	for (size_t i = 0; i < p->nunsettled; i++) {
		free(p->unsettled[i].stream);
		free(p->unsettled[i].group);
	}
	free(p->unsettled);
	p->unsettled = NULL;
	p->nunsettled = 0;
}
