/*
 * rollback.c: takes back the copies of a replay batch that no group has
 * read.
 *
 * Guarantees: the copies to take back are written to the intent file
 * before Redis sees the request; a copy some group has read, or one that
 * settled, stays, and is reported; a dry run changes nothing and says
 * what would happen.  Journals copy_removed for each copy taken back (or
 * found gone), through the writer thread, and one rollback event for the
 * batch, synced to disk with all before it.
 *
 * Pages of copies (one intent line and one request each, FLY of them with
 * Redis at a time) are taken back as the writer thread journals the pages
 * before them, as a replay's copies are made (copy.c).
 *
 * The journal lock is not held throughout: once it has been held HOLD_MS,
 * the pages in flight are answered and handed to the writer, all
 * journalled so far is committed, this command's intents are taken out of
 * the intent file (they are journalled: nothing is in flight), and the
 * lock is let go for GAP_MS, long enough for a command waiting for it (it
 * tries every 50 ms) to take it.  Whoever takes it meanwhile finds no
 * intent of this rollback to reconcile.  Taken again, the lock is the
 * start of a new step: the intent file is opened again (a command may
 * have rewritten it), what a command killed meanwhile left is reconciled
 * first, and if anyone wrote to the journal meanwhile (a run settling
 * copies of this batch), the copies still to go are read again.  The
 * rollback lock (journal_lock_rollback), held throughout, keeps a second
 * rollback out, which could otherwise take turns with this one.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/json.h"
#include "../lib/util.h"
#include "../stream/move.h"
#include "moves.h"

#define PAGE 1000               /* copies a request */
#define FLY 2                   /* requests sent and not answered yet, at most */
#define HOLD_MS 1000            /* the journal lock is held this long at most, ... */
#define GAP_MS 100              /* ... then let go this long */

/* -------------------------------------------------------------- rollback */

/* Copies of one stream to take back in one request: r->l.v[which[k]], IDs ascending. */
struct page {
	size_t which[PAGE];
	struct entry_id ids[PAGE];
	size_t m;
	const char *to;
};

/* One rollback as it goes. */
struct rolling {
	struct pass *p;
	int64_t batch;
	bool dry;
	struct copy_list l;         /* the batch's copies, by stream and ID */
	size_t next;                /* where in l the next page starts */
	struct page fly[FLY];       /* sent, answer not read yet; oldest first */
	size_t nfly;
	struct rollback_report *ret;
	progress_fn progress;
	void *progress_ctx;
	size_t total, done;         /* copies to take back; looked at */
	int64_t held_since;         /* when the journal lock was taken */
};

/* What a rollback would do to the copies of pg, in u: by the groups' reads. */
static int
unsend_dry(struct pass *p, const struct page *pg, enum unsend *u, struct xerr *err)
{
	struct read_state rs;

	if (read_state_get(p->rc, pg->to, &rs, err) < 0)
		return -1;
	for (size_t k = 0; k < pg->m; k++) {
		bool read = false;
		for (size_t g = 0; g < rs.ngroups; g++)
			read = read || entry_id_cmp(rs.last[g], pg->ids[k]) >= 0;
		u[k] = read ? UNSEND_READ : UNSEND_REMOVED;
	}
	read_state_free(&rs);
	return 0;
}

/* Writes the page pg to the intent file, then sends it to Redis. */
static int
page_send(struct rolling *r, const struct page *pg, struct xerr *err)
{
	struct pass *p = r->p;
	struct jw w;

	buf_reset(&p->dbuf);
	jw_init(&w, &p->dbuf);
	jw_obj(&w);
	jw_kint(&w, "run", p->run);
	jw_kstr(&w, "kind", "rollback");
	jw_kint(&w, "batch", r->batch);
	intent_kname(&w, "to", pg->to);
	jw_key(&w, "copies");
	jw_arr(&w);
	for (size_t k = 0; k < pg->m; k++) {
		const struct copy_row *c = &r->l.v[pg->which[k]];
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
	if (intent_append(p->intents, p->dbuf.data, p->dbuf.len, err) < 0)
		return -1;
	return copies_unsend_send(p->rc, pg->to, pg->ids, pg->m, err);
}

/*
 * Counts in ret what became of copy c (o), and hands a copy taken back or
 * gone to the writer as copy_removed (unless dry).
 */
static void
unsent(struct rolling *r, const struct copy_row *c, enum unsend o)
{
	struct rollback_report *ret = r->ret;

	if (o == UNSEND_READ) {
		/* Room for twice as many each time it is full: a batch may have been read whole. */
		if ((ret->read & (ret->read - 1)) == 0) {
			size_t cap = ret->read ? 2 * ret->read : 1;
			ret->read_ids = xrealloc(ret->read_ids, cap * sizeof(*ret->read_ids));
			ret->read_streams = xrealloc(ret->read_streams,
			    cap * sizeof(*ret->read_streams));
		}
		ret->read_ids[ret->read] = c->copy;
		ret->read_streams[ret->read] = xstrdup(c->to);
		ret->read++;
		return;
	}
	if (o == UNSEND_REMOVED)
		ret->removed++;
	else
		ret->gone++;
	if (r->dry)
		return;
	struct event ev = copy_event(r->p, "copy_removed", r->batch, c,
	    o == UNSEND_GONE ? "{\"gone\":true}" : "{}");
	ev_batch_add(&r->p->batch, &ev);
}

/* What became of the copies of page pg (u): counted, and handed to the writer. */
static int
page_done(struct rolling *r, const struct page *pg, const enum unsend *u, struct xerr *err)
{
	struct pass *p = r->p;

	for (size_t k = 0; k < pg->m; k++)
		unsent(r, &r->l.v[pg->which[k]], u[k]);
	/* The writer thread journals them while the next pages are with Redis. */
	if (p->batch.n > 0 && writer_put(p->w, &p->batch, err) < 0)
		return -1;
	r->done += pg->m;
	if (r->progress != NULL)
		r->progress(r->progress_ctx, r->done, r->total);
	return 0;
}

/* Reads the oldest page's answer. */
static int
page_recv(struct rolling *r, struct xerr *err)
{
	enum unsend u[PAGE];
	struct page *pg = &r->fly[0];

	if (copies_unsend_recv(r->p->rc, pg->to, pg->m, u, err) < 0)
		return -1;
	failpoint("rollback-unsent");
	if (page_done(r, pg, u, err) < 0)
		return -1;
	memmove(&r->fly[0], &r->fly[1], (r->nfly - 1) * sizeof(r->fly[0]));
	r->nfly--;
	return 0;
}

/*
 * The next page from r->l into pg: up to PAGE copies, all in one stream,
 * neither settled (those are counted) nor removed.  pg->m is 0 at the end.
 */
static void
page_next(struct rolling *r, struct page *pg)
{
	pg->m = 0;
	while (pg->m == 0 && r->next < r->l.n) {
		size_t i = r->next;
		pg->to = r->l.v[i].to;
		for (; i < r->l.n && pg->m < PAGE && strcmp(r->l.v[i].to, pg->to) == 0; i++) {
			if (r->l.v[i].settled) {
				r->ret->settled++;
				continue;
			}
			if (r->l.v[i].removed)
				continue;
			pg->ids[pg->m] = r->l.v[i].copy;
			pg->which[pg->m++] = i;
		}
		r->next = i;
	}
}

/* The batch's copies, sorted by the stream they are in, then by ID, into r->l. */
static int
load_copies(struct rolling *r, struct xerr *err)
{
	struct copy_list l = {0};

	if (journal_batch_copies(r->p->j, r->batch, keep_copy, &l, err) < 0) {
		copies_free(&l);
		return -1;
	}
	copies_fix(&l);
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_copy_target);
	/* Read again: the same copies in the same order, their state now. */
	if (r->l.v != NULL && l.n != r->l.n) {
		copies_free(&l);
		return xerr_set(err, XR_EFAIL, "the copies of replay batch %lld changed while it "
		    "was rolled back", (long long)r->batch);
	}
	copies_free(&r->l);
	r->l = l;
	return 0;
}

/*
 * Lets the journal lock go for GAP_MS once it has been held HOLD_MS (see
 * the top of the file), nothing in flight, and takes it again: without a
 * time limit (a run may take longer than --lock-timeout), but not once
 * stopped.
 */
static int
take_turns(struct rolling *r, struct xerr *err)
{
	struct pass *p = r->p;
	char hex[65];
	int64_t before, after;

	if (mono_ms() - r->held_since < HOLD_MS)
		return 0;
	while (r->nfly > 0)
		if (page_recv(r, err) < 0)
			return -1;
	/* All journalled and committed: this command's intents are done with. */
	if (pass_flush(p, err) < 0 || intent_clear(p->intents, err) < 0 ||
	    journal_head(p->j, hex, &before, err) < 0)
		return -1;
	intent_close(p->intents);
	p->intents = NULL;
	journal_unlock(p->j);
	sleep_ms(GAP_MS);
	for (;;) {
		if (*p->stop)
			return xerr_set(err, XR_EFAIL, "interrupted");
		if (journal_lock(p->j, 1000, err) == 0)
			break;
		if (err->code != XR_ELOCKED)
			return -1;
	}
	r->held_since = mono_ms();
	if (intent_open(p->cfg->db_path, &p->intents, err) < 0 ||
	    journal_head(p->j, hex, &after, err) < 0)
		return -1;
	if (after == before)
		return 0;
	/* Someone wrote meanwhile: what a killed command left first, as at the start. */
	if (reconcile(p, err) < 0)
		return -1;
	if (p->rec.unreconciled > 0) {
		*err = p->rec_error;
		return -1;
	}
	return load_copies(r, err);
}

/* Takes back the copies of r->l a page at a time. */
static int
rollback_pages(struct rolling *r, struct xerr *err)
{
	struct pass *p = r->p;

	if (r->dry) {
		struct page pg;
		enum unsend u[PAGE];
		for (page_next(r, &pg); pg.m > 0; page_next(r, &pg))
			if (unsend_dry(p, &pg, u, err) < 0 || page_done(r, &pg, u, err) < 0)
				return -1;
		return 0;
	}
	for (;;) {
		if (*p->stop) {
			/* What Redis was asked is answered and journalled: nothing left uncertain. */
			while (r->nfly > 0)
				if (page_recv(r, err) < 0)
					return -1;
			return xerr_set(err, XR_EFAIL, "interrupted");
		}
		if (take_turns(r, err) < 0)
			return -1;
		/* Keep FLY requests with Redis while journalling the answers. */
		while (r->nfly < FLY) {
			struct page *pg = &r->fly[r->nfly];
			page_next(r, pg);
			if (pg->m == 0)
				break;
			if (page_send(r, pg, err) < 0)
				return -1;
			r->nfly++;
		}
		if (r->nfly == 0)
			break;
		if (page_recv(r, err) < 0)
			return -1;
	}
	/* Fewer than counted at first when copies settled meanwhile: the bar ends all the same. */
	if (r->progress != NULL && r->done < r->total)
		r->progress(r->progress_ctx, r->done, r->done);
	return 0;
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
	/* The end of a rollback is synced to disk with all before it. */
	if (pass_flush(p, err) < 0 || journal_begin_durable(p->j, err) < 0)
		return -1;
	return journal_append_commit(p->j, &ev, err);
}

int
rollback_batch(struct pass *p, int64_t batch, bool dry, progress_fn progress,
    void *progress_ctx, struct rollback_report *ret, struct xerr *err)
{
	struct rolling r = {0};
	struct batch_info bi;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	r.p = p;
	r.batch = batch;
	r.dry = dry;
	r.ret = ret;
	r.progress = progress;
	r.progress_ctx = progress_ctx;
	r.held_since = mono_ms();
	if (journal_batch_info(p->j, batch, &bi, err) < 0)
		return -1;
	if (!bi.exists)
		return xerr_set(err, XR_ENOTHING, "there is no replay batch %lld in the journal",
		    (long long)batch);
	if (bi.rolled_back)
		return xerr_set(err, XR_ENOTHING,
		    "replay batch %lld was already rolled back; nothing changed", (long long)batch);
	if (load_copies(&r, err) < 0)
		goto out;
	for (size_t i = 0; i < r.l.n; i++)
		r.total += !r.l.v[i].settled && !r.l.v[i].removed;
	if (!dry && writer_start(p->j, 4096, 500, &p->w, err) < 0)
		goto out;
	if (rollback_pages(&r, err) < 0) {
		/* Answers lost: the next command looks the copies up. */
		if (r.nfly > 0)
			p->uncertain = true;
		/* What was taken back is journalled; a rollback of the batch takes back the rest. */
		if (*p->stop && err->code == XR_EFAIL)
			xerr_set(err, XR_EFAIL, "interrupted after taking back %zu of %zu copies of "
			    "replay batch %lld; `xrecover rollback %lld` takes back the rest",
			    ret->removed + ret->gone, r.total, (long long)batch, (long long)batch);
		goto out;
	}
	if (!dry && rollback_event(p, batch, ret, err) < 0)
		goto out;
	rc = 0;
out:
	if (p->w != NULL) {
		struct xerr werr = {0};
		if (writer_stop(p->w, &werr) < 0 && rc == 0) {
			*err = werr;
			rc = -1;
		}
		p->w = NULL;
	}
	copies_free(&r.l);
	return rc;
}
