/*
 * deliver.c: alerts out of the outbox to the webhooks (outbox.h,
 * outbox_deliver): each pending pair re-rendered from its alert event,
 * posted without the journal's lock, its attempt journalled after.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "../store/report.h"
#include "outbox.h"

/* A retry is never put off longer than this. */
#define RETRY_MAX_MS (3600 * 1000LL)
/* Taking the journal's lock again may outlast the budget by this much. */
#define LOCK_SLACK_MS 2000

/* An alert rebuilt from its event's detail; its strings point into json. */
struct stored_alert {
	cJSON *json;
	struct alert a;
	struct alert_line *lines;
};

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The alert of event seq (at ts, about stream/grp) from its detail; -1 when it does not parse. */
static int
stored_alert_load(struct stored_alert *s, int64_t seq, int64_t ts, const char *stream,
    const char *grp, const char *detail)
{
	const cJSON *lines;
	const char *v;
	int sev;

	memset(s, 0, sizeof(*s));
	s->json = detail != NULL ? cJSON_Parse(detail) : NULL;
	if (s->json == NULL)
		return -1;
	s->a.rule = jstr(s->json, "rule");
	s->a.title = jstr(s->json, "title");
	if (s->a.rule == NULL || s->a.title == NULL)
		return -1;
	v = jstr(s->json, "severity");
	sev = v != NULL ? severity_parse(v) : -1;
	s->a.severity = sev >= 0 ? (enum severity)sev : SEV_WARNING;
	v = jstr(s->json, "state");
	s->a.state = v != NULL && strcmp(v, "notice") != 0 ? v : NULL;
	v = jstr(s->json, "mode");
	s->a.mode = v != NULL && strcmp(v, "LIVE") == 0 ? ALERT_LIVE : ALERT_TEST;
	s->a.host = jstr(s->json, "host");
	s->a.command = jstr(s->json, "command");
	s->a.stream = stream;
	s->a.group = grp;
	s->a.number = seq;
	s->a.time_ms = ts;
	lines = cJSON_GetObjectItemCaseSensitive(s->json, "lines");
	if (cJSON_IsArray(lines)) {
		int n = cJSON_GetArraySize(lines);
		s->lines = xcalloc((size_t)n + 1, sizeof(*s->lines));
		for (int i = 0; i < n; i++) {
			const cJSON *l = cJSON_GetArrayItem(lines, i);
			const cJSON *t = cJSON_GetArrayItem(l, 0), *c = cJSON_GetArrayItem(l, 1);
			if (!cJSON_IsString(t))
				continue;
			s->lines[s->a.nlines].text = t->valuestring;
			s->lines[s->a.nlines].count = cJSON_IsNumber(c) ? (int64_t)c->valuedouble : 0;
			s->a.nlines++;
		}
		s->a.lines = s->lines;
	}
	return 0;
}

static void
stored_alert_free(struct stored_alert *s)
{
	cJSON_Delete(s->json);
	free(s->lines);
	memset(s, 0, sizeof(*s));
}

/* alert_backoff * 2^(attempt - 1), at most RETRY_MAX_MS. */
static int64_t
backoff(const struct config *cfg, int64_t attempt)
{
	int64_t d = cfg->alert_backoff_ms > 0 ? cfg->alert_backoff_ms : 0;

	for (int64_t i = 1; i < attempt && d < RETRY_MAX_MS; i++)
		d *= 2;
	return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* The wait before the retry of attempt, given what the webhook said (retry_after -1: nothing). */
static int64_t
retry_wait(const struct config *cfg, int64_t attempt, int64_t retry_after)
{
	int64_t d = backoff(cfg, attempt);

	if (retry_after > d)
		d = retry_after;
	return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* Journals post p as an alert_attempt event, in a transaction of its own. */
static int
journal_attempt(struct journal *j, int64_t run, const struct outbox_post *p, struct xerr *err)
{
	struct event ev = EVENT_INIT;
	struct buf b = BUF_INIT;
	struct jw w;
	int rc;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_kint(&w, "alert", p->alert);
	jw_kstr(&w, "webhook", p->webhook);
	jw_kint(&w, "attempt", p->attempt);
	jw_kstr(&w, "outcome", p->outcome);
	jw_kint(&w, "status", p->r.http_status);
	if (p->r.error[0] != '\0')
		jw_kstr(&w, "error", p->r.error);
	if (p->retry_at > 0)
		jw_kint(&w, "retry_at", p->retry_at);
	if (p->r.retry_after_ms >= 0)
		jw_kint(&w, "retry_after_ms", p->r.retry_after_ms);
	jw_kint(&w, "elapsed_ms", p->r.elapsed_ms);
	jw_kstr(&w, "target", p->r.target);
	jw_obj_end(&w);
	ev.kind = "alert_attempt";
	ev.run = run;
	ev.stream = p->stream;
	ev.grp = p->group;
	ev.detail = buf_str(&b);
	rc = journal_begin(j, err) < 0 || journal_append_commit(j, &ev, err) < 0 ? -1 : 0;
	buf_free(&b);
	return rc;
}

static struct outbox_post *
new_post(struct outbox_result *r, const struct rows *rs, size_t i, int64_t attempt)
{
	struct outbox_post *p;

	r->posts = xrealloc(r->posts, (r->nposts + 1) * sizeof(*r->posts));
	p = &r->posts[r->nposts++];
	memset(p, 0, sizeof(*p));
	p->alert = rows_int(rs, i, 0);
	p->webhook = xstrdup(rows_text(rs, i, 1));
	p->stream = rows_text(rs, i, 6) != NULL ? xstrdup(rows_text(rs, i, 6)) : NULL;
	p->group = rows_text(rs, i, 7) != NULL ? xstrdup(rows_text(rs, i, 7)) : NULL;
	p->attempt = attempt;
	p->r.retry_after_ms = -1;
	return p;
}

/* The lock again, waiting at most what is left of the budget and a little. */
static int
relock(struct journal *j, const struct config *cfg, int64_t deadline, struct xerr *err)
{
	int64_t wait = deadline - mono_ms();

	wait = (wait > 0 ? wait : 0) + LOCK_SLACK_MS;
	if (cfg->lock_timeout_ms > 0 && cfg->lock_timeout_ms < wait)
		wait = cfg->lock_timeout_ms;
	return journal_lock(j, wait, err);
}

/*
 * Row i of rs, a pending pair, to its webhook: posted (retried here while
 * the wait fits the budget), each POST journalled.  Called and returns
 * with the lock held.
 */
static int
deliver_pair(struct journal *j, const struct config *cfg, int64_t run, int64_t deadline,
    const struct rows *rs, size_t i, struct outbox_result *ret, struct xerr *err)
{
	struct stored_alert sa;
	struct webhook w;
	struct notify_msg m;
	struct xerr e = {0};
	int64_t attempt = rows_int(rs, i, 3);
	const char *id = rows_text(rs, i, 2);
	int k = config_webhook_find(cfg, rows_text(rs, i, 1));
	int rc = 0;

	if (k < 0 || stored_alert_load(&sa, rows_int(rs, i, 0), rows_int(rs, i, 5),
	    rows_text(rs, i, 6), rows_text(rs, i, 7), rows_text(rs, i, 8)) < 0) {
		struct outbox_post *p = new_post(ret, rs, i, attempt + 1);
		p->outcome = "failed";
		snprintf(p->r.error, sizeof(p->r.error), "%s", k < 0 ?
		    "webhook no longer configured" : "the alert event does not parse");
		ret->failed++;
		if (k >= 0)
			stored_alert_free(&sa);
		return journal_attempt(j, run, p, err);
	}
	if (config_webhook_open(cfg, (size_t)k, &w, &e) < 0) {
		/* url_file or secret_file unreadable: perhaps not for long. */
		struct outbox_post *p = new_post(ret, rs, i, attempt + 1);
		bool last = p->attempt >= cfg->alert_max_attempts;
		p->outcome = last ? "failed" : "retry";
		p->retry_at = last ? 0 : now_ms() + retry_wait(cfg, p->attempt, -1);
		snprintf(p->r.error, sizeof(p->r.error), "%s", e.msg);
		if (last)
			ret->failed++;
		else
			ret->pending++;
		stored_alert_free(&sa);
		return journal_attempt(j, run, p, err);
	}
	if (notify_render(&w, &sa.a, id, &m, &e) < 0) {
		webhook_free(&w);
		stored_alert_free(&sa);
		ret->pending++;
		return 0;
	}
	int64_t timeout = w.timeout_ms > 0 ? w.timeout_ms : 10000;
	for (;;) {
		int64_t left = deadline - mono_ms(), wait = 0;
		struct outbox_post *p;

		if (left <= 0) {
			ret->pending++;         /* the budget is spent: a later call */
			break;
		}
		w.timeout_ms = timeout < left ? timeout : left;
		p = new_post(ret, rs, i, ++attempt);
		/* Guarantee 8: no lock held while waiting on the webhook. */
		journal_unlock(j);
		notify_post(&w, &m, &p->r);
		if ((rc = relock(j, cfg, deadline, err)) < 0)
			break;
		if (p->r.delivered) {
			p->outcome = "delivered";
			ret->sent++;
		} else if (!p->r.retryable || attempt >= cfg->alert_max_attempts) {
			p->outcome = "failed";
			if (p->r.retryable) {
				size_t n = strlen(p->r.error);
				snprintf(p->r.error + n, sizeof(p->r.error) - n,
				    "; attempt %lld of %lld: no more", (long long)attempt,
				    (long long)cfg->alert_max_attempts);
			}
			ret->failed++;
		} else {
			p->outcome = "retry";
			wait = retry_wait(cfg, attempt, p->r.retry_after_ms);
			p->retry_at = now_ms() + wait;
		}
		if ((rc = journal_attempt(j, run, p, err)) < 0)
			break;
		if (strcmp(p->outcome, "retry") != 0)
			break;
		/* Wait here when the retry still fits the budget, with time to send it. */
		if (mono_ms() + wait >= deadline) {
			ret->pending++;
			break;
		}
		journal_unlock(j);
		sleep_ms(wait);
		if ((rc = relock(j, cfg, deadline, err)) < 0)
			break;
	}
	notify_msg_free(&m);
	webhook_free(&w);
	stored_alert_free(&sa);
	return rc;
}

/*
 * The pending pairs of the alerts after *seen (oldest first): those due
 * delivered while the budget lasts, the others counted pending (all of
 * them when !deliver).  *seen becomes the newest alert among them, *curl
 * true once libcurl is set up.  OUT: *ret_n, how many pairs there were.
 */
static int
deliver_after(struct journal *j, const struct config *cfg, int64_t run, int64_t deadline,
    bool deliver, int64_t *seen, bool *curl, size_t *ret_n, struct outbox_result *ret,
    struct xerr *err)
{
	struct rows rs;
	int64_t after = *seen;
	int rc = 0;

	*ret_n = 0;
	if (rq_outbox_pending(j, &rs, err) < 0) {
		rows_free(&rs);
		return -1;
	}
	for (size_t i = 0; i < rs.nrows && rc == 0; i++) {
		const struct rval *at = rows_at(&rs, i, 4);
		int64_t alert = rows_int(&rs, i, 0);

		if (alert <= after)
			continue;
		(*ret_n)++;
		if (alert > *seen)
			*seen = alert;
		if (!deliver || (at->type == RV_INT && at->i > now_ms()) || mono_ms() >= deadline) {
			ret->pending++;         /* not here, not yet, or no time left */
			continue;
		}
		if (!*curl && (rc = notify_global_init(err)) < 0)
			break;
		*curl = true;
		rc = deliver_pair(j, cfg, run, deadline, &rs, i, ret, err);
	}
	rows_free(&rs);
	return rc;
}

int
outbox_deliver(struct journal *j, const struct config *cfg, int64_t run, int64_t budget_ms,
    struct outbox_result *ret, struct xerr *err)
{
	int64_t deadline = mono_ms() + budget_ms, seen = 0;
	bool curl = false, mine;
	size_t n;
	int rc = 0;

	memset(ret, 0, sizeof(*ret));
	if (cfg->nwebhooks == 0)
		return 0;
	/*
	 * The delivery lock is tried with the journal's lock held, as alerts
	 * are raised: one raised by a process that found the delivery lock
	 * taken is in the outbox at the holder's next look, which it takes
	 * after any POST.
	 */
	do {
		struct xerr e = {0};
		int fd = -1;

		mine = journal_lock_deliver(journal_path(j), &fd, &e) == 0;
		if (!mine && e.code != XR_ELOCKED) {
			*err = e;
			rc = -1;
			break;
		}
		if (!mine)
			snprintf(ret->left, sizeof(ret->left), "%s", e.msg);
		rc = deliver_after(j, cfg, run, deadline, mine, &seen, &curl, &n, ret, err);
		if (fd >= 0)
			close(fd);
	} while (rc == 0 && mine && n > 0);
	if (curl)
		notify_global_cleanup();
	return rc;
}

void
outbox_result_free(struct outbox_result *r)
{
	for (size_t i = 0; r != NULL && i < r->nposts; i++) {
		free(r->posts[i].webhook);
		free(r->posts[i].stream);
		free(r->posts[i].group);
	}
	free(r->posts);
	memset(r, 0, sizeof(*r));
}

void
outbox_log(const struct logger *lg, const struct outbox_result *o)
{
	if (o->left[0] != '\0') {
		struct logline l;
		char why[sizeof(o->left) + 40];
		snprintf(why, sizeof(why), "%s, which sends what is pending", o->left);
		ll_start(&l, LOG_INFO, "ALERT", "LEFT");
		ll_int(&l, "pending", o->pending);
		ll_str(&l, "why", why);
		ll_emit(lg, &l);
	}
	for (size_t i = 0; i < o->nposts; i++) {
		const struct outbox_post *op = &o->posts[i];
		bool ok = strcmp(op->outcome, "delivered") == 0;
		struct logline l;

		ll_start(&l, ok ? LOG_INFO : LOG_WARN, "ALERT", ok ? "DELIVERED" :
		    strcmp(op->outcome, "retry") == 0 ? "RETRY" : "FAILED");
		ll_int(&l, "alert", op->alert);
		ll_str(&l, "webhook", op->webhook);
		ll_int(&l, "attempt", op->attempt);
		if (op->r.http_status != 0)
			ll_int(&l, "http_status", op->r.http_status);
		if (op->retry_at > 0)
			ll_dur(&l, "retry_in", op->retry_at - now_ms() > 0 ? op->retry_at - now_ms() : 0);
		ll_dur(&l, "time", op->r.elapsed_ms);
		if (op->r.target[0] != '\0')
			ll_str(&l, "target", op->r.target);
		if (op->r.error[0] != '\0')
			ll_str(&l, "error", op->r.error);
		ll_emit(lg, &l);
	}
}
