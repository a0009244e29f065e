/*
 * adopt.c: entries the recovery consumer holds that this journal does not
 * know, adopted: journalled as claim_reconciled with "adopted" in the
 * detail, so that they are held entries like any other (see pass.h,
 * adopt_group).
 *
 * Another host's run with its own journal, a journal lost or rotated, a
 * run whose intents a power cut took: the recovery consumer then holds
 * entries no claim of this journal names.  Redis still tells where they
 * are (stream, group), how often they were delivered and how long they
 * have been idle; who had them before the claim it does not tell, so the
 * previous owner is "unknown".  Adopting reads them and writes the
 * journal, nothing else: the entries stay pending on the recovery
 * consumer with their delivery counts (XPENDING and XRANGE, never XCLAIM,
 * which would count a delivery).
 *
 * Knowing that nothing is new, cheaply.  Nothing but an XCLAIM (or an
 * XREADGROUP, XAUTOCLAIM) naming the recovery consumer adds an entry to
 * what it holds, and each of those sets the time Redis last saw it (XINFO
 * CONSUMERS "idle"; XPENDING, XINFO, XACK and the move scripts leave it
 * as it was).  A run that has looked at every entry the consumer holds
 * (or knew that nothing was new) reads that time again once its work on
 * the group is done.  If it is the same, or if it moved but the count
 * moved by exactly what this run did (claimed, minus what it
 * dead-lettered), the run records the sighting in its run_end
 * ("held_seen": [lo, hi, idle, held, checked, consumer]: the last
 * sighting lies between lo and hi, Unix ms of this host's clock; the
 * consumer was idle that long; it held that many entries, all known to
 * the journal; checked is when each entry was last looked at; the
 * recovery consumer's name).  The next run that
 * finds the same sighting and no more entries knows that nothing is new:
 * one XINFO CONSUMERS and one journal query for the group.  Otherwise it
 * lists what the consumer holds, a page of 1000 at a time, and looks each
 * page up in one query (a walk of the journal's entry index over the
 * page's IDs).
 *
 * A sighting only counts when the consumer had been idle longer than both
 * readings took, plus a few ms: a claim after the reading then moves it
 * beyond their uncertainty (the end reading waits that long if needed).
 * The one thing a count cannot show is another client adding entries
 * while this run works on the group and as many being taken away in the
 * same moments; so every entry is looked at again at least once an hour
 * (ADOPT_RECHECK_MS), whatever the sightings say.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../store/adopt.h"
#include "pass.h"

#define ADOPT_PAGE 1000
#define ADOPT_PIPELINE 100      /* XRANGEs in flight at once */
#define SEEN_SLACK_MS 3
#define SEEN_TIGHT_MS 3         /* a reading that took longer is made again */
#define SEEN_WAIT_MS 10         /* idle time wanted beyond the readings' */
#define PAUSE_MIN_HELD 5000     /* fewer held entries: a look costs less than the wait */
#define ADOPT_RECHECK_MS (60 * 60 * 1000)

/* ------------------------------------------------- the recovery consumer */

/* When Redis last saw the recovery consumer, and how many entries it holds. */
struct seen {
	bool exists;
	long long held;
	int64_t lo, hi, idle;
};

/* One reading of XINFO CONSUMERS; the time it took bounds the sighting. */
static int
read_seen_once(struct pass *p, const char *stream, const char *group, struct seen *s,
    struct xerr *err)
{
	struct consumer_info *cs = NULL;
	size_t n = 0;
	int64_t t0 = now_ms(), t1;

	memset(s, 0, sizeof(*s));
	if (redis_consumers(p->rc, stream, group, &cs, &n, err) < 0)
		return -1;
	t1 = now_ms();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cs[i].name, p->cfg->consumer) != 0)
			continue;
		s->exists = true;
		s->held = cs[i].pending;
		s->idle = cs[i].idle_ms;
		s->lo = t0 - cs[i].idle_ms;
		s->hi = t1 - cs[i].idle_ms + 1;
	}
	consumer_info_free(cs, n);
	return 0;
}

/*
 * When Redis last saw the recovery consumer, and how many entries it
 * holds.  A slow answer (a busy machine) is asked again, up to twice:
 * the narrower the bounds, the sooner a later claim shows.
 */
static int
read_seen(struct pass *p, const char *stream, const char *group, struct seen *s,
    struct xerr *err)
{
	for (int tries = 0; tries < 3; tries++) {
		if (read_seen_once(p, stream, group, s, err) < 0)
			return -1;
		if (!s->exists || s->hi - s->lo <= SEEN_TIGHT_MS)
			break;
	}
	return 0;
}

/* Whether a and b may be the same last sighting, and a claim after a would show. */
static bool
same_sighting(int64_t alo, int64_t ahi, int64_t aidle, int64_t blo, int64_t bhi)
{
	return blo <= ahi + SEEN_SLACK_MS && alo <= bhi + SEEN_SLACK_MS &&
	    aidle > (ahi - alo) + (bhi - blo) + SEEN_SLACK_MS;
}

/* ------------------------------------------------------------ journalling */

/* One XPENDING page of the recovery consumer, and which of it the journal knows. */
struct page {
	struct entry_id id[ADOPT_PAGE];
	char ids[ADOPT_PAGE][ENTRY_ID_STRLEN];
	int64_t idle[ADOPT_PAGE], deliveries[ADOPT_PAGE];
	bool known[ADOPT_PAGE];
	size_t n;
};

static void
adopted_detail(struct pass *p, const char *reason)
{
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kbool(&w, "adopted", true);
	jw_kstr(&w, "held_by", p->cfg->consumer);
	jw_kstr(&w, "previous_owner", "unknown");
	if (reason != NULL)
		jw_kstr(&w, "reason", reason);
	jw_obj_end(&w);
}

/*
 * Hands the writer entries pg->id[idx[0..n)], the stream's reply to
 * XRANGE id id for each in r[]: claim_reconciled with its fields (the
 * writer encodes them), or lost when the stream no longer has it.
 */
static int
journal_adopted(struct pass *p, struct group_result *gr, const struct page *pg,
    const size_t *idx, redisReply **r, size_t n, long long *lost, struct xerr *err)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = idx[k];
		struct event ev = EVENT_INIT;

		ev.run = p->run;
		ev.stream = gr->stream;
		ev.grp = gr->group;
		ev.has_entry = true;
		ev.entry = pg->id[i];
		ev.idle_ms = pg->idle[i];
		ev.deliveries = pg->deliveries[i];
		if (r[k]->type == REDIS_REPLY_ARRAY && r[k]->elements == 1 &&
		    r[k]->element[0]->type == REDIS_REPLY_ARRAY &&
		    r[k]->element[0]->elements == 2 &&
		    r[k]->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
			const redisReply *f = r[k]->element[0]->element[1];
			adopted_detail(p, NULL);
			ev.kind = "claim_reconciled";
			ev.detail = buf_str(&p->dbuf);
			pass_fields(p, f);
			ev_batch_add_fields(&p->batch, &ev, p->fv, f->elements);
		} else {
			const char *why = "deleted from the stream while the recovery consumer held "
			    "it, before this journal knew it";
			adopted_detail(p, why);
			ev.kind = "lost";
			ev.detail = buf_str(&p->dbuf);
			ev_batch_add(&p->batch, &ev);
			pass_log_lost(p, gr->stream, gr->group, pg->id[i], p->cfg->consumer,
			    pg->idle[i], pg->deliveries[i], why);
			(*lost)++;
		}
	}
	return writer_put(p->w, &p->batch, err);
}

/* Reads each unknown entry of the page (pipelined XRANGE) and journals it. */
static int
adopt_page(struct pass *p, struct group_result *gr, const struct page *pg,
    long long *adopted, long long *lost, struct xerr *err)
{
	size_t idx[ADOPT_PIPELINE];
	redisReply *r[ADOPT_PIPELINE];
	size_t i = 0;

	while (i < pg->n) {
		size_t n = 0, got = 0;
		long long lost0 = *lost;
		int rc;

		for (; i < pg->n && n < ADOPT_PIPELINE; i++) {
			if (pg->known[i])
				continue;
			idx[n++] = i;
			resp_begin(p->rc, 4);
			resp_arg(p->rc, "XRANGE", 6);
			resp_arg(p->rc, gr->stream, strlen(gr->stream));
			resp_arg(p->rc, pg->ids[i], strlen(pg->ids[i]));
			resp_arg(p->rc, pg->ids[i], strlen(pg->ids[i]));
		}
		if (n == 0)
			break;
		resp_flush(p->rc);
		for (; got < n; got++) {
			if (redisGetReply(p->rc->c, (void **)&r[got]) != REDIS_OK) {
				rconn_io_error(p->rc, err);
				break;
			}
		}
		rc = got < n ? -1 : 0;
		for (size_t k = 0; rc == 0 && k < n; k++)
			if (r[k]->type == REDIS_REPLY_ERROR)
				rc = xerr_set(err, XR_EFAIL, "redis: XRANGE %s: %s", gr->stream,
				    r[k]->str);
		if (rc == 0)
			rc = journal_adopted(p, gr, pg, idx, r, n, lost, err);
		for (size_t k = 0; k < got; k++)
			freeReplyObject(r[k]);
		if (rc < 0)
			return -1;
		*adopted += (long long)n - (*lost - lost0);
	}
	return 0;
}

/* Reads one XPENDING page of the recovery consumer's entries into pg. */
static int
read_page(struct pass *p, struct group_result *gr, const char *start, struct page *pg,
    struct xerr *err)
{
	redisReply *r = rconn_cmd(p->rc, err, "XPENDING %s %s %s + %d %s", gr->stream, gr->group,
	    start, ADOPT_PAGE, p->cfg->consumer);

	pg->n = 0;
	if (r == NULL)
		return -1;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		const redisReply *e = r->element[i];
		size_t k = pg->n;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    entry_id_parse(e->element[0]->str, e->element[0]->len, &pg->id[k]) < 0)
			continue;
		entry_id_format(pg->id[k], pg->ids[k], sizeof(pg->ids[k]));
		pg->idle[k] = e->element[2]->integer;
		pg->deliveries[k] = e->element[3]->integer;
		pg->n++;
	}
	size_t total = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	freeReplyObject(r);
	return total < ADOPT_PAGE ? 0 : 1;
}

/* Lists every entry the recovery consumer holds and adopts those not known. */
static int
adopt_scan(struct pass *p, struct group_result *gr, long long *lost, struct xerr *err)
{
	struct page *pg = xmalloc(sizeof(*pg));
	char start[ENTRY_ID_STRLEN] = "-";
	int rc = -1;

	for (;;) {
		int more = read_page(p, gr, start, pg, err);

		if (more < 0)
			goto out;
		/* The writer has journalled the pages before: the journal is ours to read. */
		if (pass_flush(p, err) < 0 ||
		    journal_known_ids(p->j, gr->stream, gr->group, pg->id, pg->n, pg->known,
		    err) < 0)
			goto out;
		if (adopt_page(p, gr, pg, &gr->adopted, lost, err) < 0)
			goto out;
		if (!more || pg->n == 0 || *p->stop)
			break;
		entry_id_format(entry_id_next(pg->id[pg->n - 1]), start, sizeof(start));
	}
	rc = *p->stop ? 1 : 0;
out:
	free(pg);
	return rc;
}

/* -------------------------------------------------------------- the step */

int
adopt_group(struct pass *p, struct group_result *gr, struct xerr *err)
{
	struct held_mark m;
	struct seen s;
	long long lost = 0;
	bool scan;
	int rc;

	gr->held_checked = gr->seen_ok = false;
	if (p->dry)
		return 0;
	if (read_seen(p, gr->stream, gr->group, &s, err) < 0)
		return -1;
	if (!s.exists) {
		/* Nothing held; what this run's claims add is known. */
		gr->seen_lo = gr->seen_hi = gr->seen_idle = gr->seen_held = 0;
		gr->seen_checked = now_ms();
		gr->held_checked = true;
		return 0;
	}
	if (journal_held_mark(p->j, p->run, gr->stream, gr->group, p->cfg->consumer, &m,
	    err) < 0)
		return -1;
	/* p->sweep: a run ended without a trace; look at everything held anyway. */
	scan = s.held > 0 && (p->sweep || !m.found || s.held > m.held ||
	    now_ms() - m.checked > ADOPT_RECHECK_MS ||
	    !same_sighting(m.seen_lo, m.seen_hi, m.seen_idle, s.lo, s.hi));
	if (scan) {
		if ((rc = adopt_scan(p, gr, &lost, err)) < 0)
			return -1;
		if (rc > 0)
			return 0;       /* stopped: no sighting recorded */
	}
	gr->lost += lost;
	gr->seen_lo = s.lo;
	gr->seen_hi = s.hi;
	gr->seen_idle = s.idle;
	gr->seen_held = s.held;
	gr->seen_checked = scan || s.held == 0 ? now_ms() : m.checked;
	gr->held_checked = true;

	struct logline l;
	ll_start(&l, gr->adopted > 0 ? LOG_INFO : LOG_DEBUG, "ADOPT", NULL);
	ll_str(&l, "stream", gr->stream);
	ll_str(&l, "group", gr->group);
	ll_int(&l, "adopted", gr->adopted);
	if (lost > 0)
		ll_int(&l, "lost", lost);
	ll_int(&l, "held", s.held);
	ll_str(&l, "checked", scan ? "each" : "unchanged");
	ll_emit(p->lg, &l);
	failpoint("adopt-checked");
	return 0;
}

int
adopt_group_end(struct pass *p, struct group_result *gr, struct xerr *err)
{
	long long expect = gr->seen_held + gr->claimed - gr->dead_lettered - gr->handed_off;
	struct seen s, again;

	if (!gr->held_checked)
		return 0;
	if (read_seen(p, gr->stream, gr->group, &s, err) < 0)
		return -1;
	if (!s.exists)
		return 0;
	if (!same_sighting(gr->seen_lo, gr->seen_hi, gr->seen_idle, s.lo, s.hi)) {
		/* Touched since: by this run's claims alone, or the next run looks. */
		if (gr->claimed == 0 || p->uncertain || s.held != expect)
			return 0;
		int64_t need = 2 * (s.hi - s.lo) + SEEN_SLACK_MS + SEEN_WAIT_MS;
		if (s.idle <= need && s.held < PAUSE_MIN_HELD)
			return 0;       /* the next run looks at these few again */
		if (s.idle <= need) {
			/* Just claimed into: wait until a later claim would show. */
			sleep_ms(need - s.idle + 1);
			if (read_seen(p, gr->stream, gr->group, &again, err) < 0)
				return -1;
			if (!again.exists || again.held != s.held ||
			    !same_sighting(again.lo, again.hi, again.idle, s.lo, s.hi))
				return 0;
			s = again;
		}
	}
	gr->seen_lo = s.lo;
	gr->seen_hi = s.hi;
	gr->seen_idle = s.idle;
	gr->seen_held = s.held;
	gr->seen_ok = true;
	return 0;
}
