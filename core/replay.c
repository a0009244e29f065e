/* replay.c: the replay and rollback commands (see replay.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/util.h"
#include "../stream/move.h"
#include "archive.h"
#include "incident.h"
#include "moves.h"
#include "replay.h"

/*
 * Opens what a command that writes needs, in the order guarantee 3 asks:
 * the journal and its lock and the intent file, proven usable before
 * Redis is touched; then Redis; then what killed commands left is
 * finished.  A dry run only reads the journal and takes no lock.
 */
static int
session_open(struct pass *p, const struct config *cfg, const struct logger *lg,
    volatile sig_atomic_t *stop, bool dry, int *rollback_lock, struct xerr *err)
{
	struct redis_target t;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->lg = lg;
	p->stop = stop;
	p->dry = dry;
	if (config_redis_target(cfg, &t, err) < 0)
		return -1;
	if (journal_open(cfg->db_path, dry ? JOURNAL_READ : JOURNAL_WRITE, &p->j, err) < 0)
		goto out;
	incident_policy_set(p->j);
	/* A rollback takes the lock one rollback at a time holds, then the journal's. */
	if (!dry && rollback_lock != NULL &&
	    journal_lock_rollback(cfg->db_path, cfg->lock_timeout_ms, rollback_lock, err) < 0)
		goto out;
	if (!dry && (journal_lock(p->j, cfg->lock_timeout_ms, err) < 0 ||
	    intent_open(cfg->db_path, &p->intents, err) < 0))
		goto out;
	if (config_redis_open(cfg, &t, &p->rc, err) < 0)
		goto out;
	if (!dry && reconcile(p, err) < 0)
		goto out;
	/* A move could touch what a killed command may have moved: not until it is known. */
	if (p->rec.unreconciled > 0) {
		*err = p->rec_error;
		goto out;
	}
	rc = 0;
out:
	redis_target_free(&t);
	return rc;
}

/* Empties the intent file unless an answer from Redis was lost; closes all. */
static int
session_close(struct pass *p, bool ok, struct xerr *err)
{
	int rc = 0;

	if (ok && p->intents != NULL && !p->uncertain && intent_clear(p->intents, err) < 0)
		rc = -1;
	rconn_close(p->rc);
	intent_close(p->intents);
	journal_close(p->j);
	buf_free(&p->pbuf);
	buf_free(&p->dbuf);
	ev_batch_free(&p->batch);
	free(p->fv);
	pass_unsettled_free(p);
	return rc;
}

/* A replay may go to a stream, or to a key that does not exist yet. */
static int
check_target(struct pass *p, const char *name, struct xerr *err)
{
	char type[16];

	if (redis_key_type(p->rc, name, type, err) < 0)
		return -1;
	if (strcmp(type, "stream") != 0 && strcmp(type, "none") != 0)
		return xerr_set(err, XR_EUSAGE, "cannot replay into '%s': it is a %s, not a stream",
		    name, type);
	return 0;
}

/* One replay as it streams: chunks of the selection are copied as they are read. */
struct streaming {
	struct pass *p;
	const struct replay_request *req;
	struct replay_result *ret;
	char **checked;             /* target streams known to be streams */
	size_t nchecked;
	size_t estimate;            /* selected at most, for the progress */
	size_t done_before;         /* copied in earlier chunks */
	bool failed_copy;           /* copy_entries failed: cerr says why */
	struct xerr cerr;
	struct xerr *err;
	bool templ;                 /* --to is a template: one target per stream and group */
	struct expansion {
		char *stream, *grp, *name;
	} *exp;                     /* ... each target, expanded once */
	size_t nexp;
	char **reached;             /* with --all-groups: the other groups the copies reach */
};

static void
chunk_progress(void *ctx, size_t done, size_t total)
{
	struct streaming *sm = ctx;

	(void)total;
	if (sm->req->progress != NULL)
		sm->req->progress(sm->req->progress_ctx, sm->done_before + done,
		    sm->estimate > sm->done_before + done ? sm->estimate : sm->done_before + done);
}

static int
check_once(struct streaming *sm, const char *name)
{
	for (size_t i = 0; i < sm->nchecked; i++)
		if (strcmp(sm->checked[i], name) == 0)
			return 0;
	if (check_target(sm->p, name, sm->err) < 0)
		return -1;
	sm->checked = xrealloc(sm->checked, (sm->nchecked + 1) * sizeof(*sm->checked));
	sm->checked[sm->nchecked++] = xstrdup(name);
	return 0;
}

/* Where the copies of stream/grp's entries go (the string is sm's). */
static const char *
target_of(struct streaming *sm, const char *stream, const char *grp)
{
	struct expansion *e;

	if (sm->req->to == NULL)
		return stream;
	if (!sm->templ)
		return sm->req->to;
	for (size_t i = 0; i < sm->nexp; i++)
		if (strcmp(sm->exp[i].stream, stream) == 0 && strcmp(sm->exp[i].grp, grp) == 0)
			return sm->exp[i].name;
	sm->exp = xrealloc(sm->exp, (sm->nexp + 1) * sizeof(*sm->exp));
	e = &sm->exp[sm->nexp++];
	e->stream = xstrdup(stream);
	e->grp = xstrdup(grp);
	e->name = dlq_name(sm->req->to, stream, grp);
	return e->name;
}

/*
 * Guarantee 9 for the entries of stream/grp: their copies must reach no
 * other group, unless --all-groups (then the groups they reach are kept
 * for the journal).
 */
static int
check_reach(void *ctx, const char *stream, const char *grp)
{
	struct streaming *sm = ctx;
	const char *to = target_of(sm, stream, grp);
	char **others = NULL;
	int rc = 0;

	if (check_once(sm, to) < 0 || copy_other_groups(sm->p, to, grp, &others, sm->err) < 0)
		return -1;
	if (others[0] != NULL && !sm->req->all_groups) {
		char *names = names_text(others);
		rc = xerr_set(sm->err, XR_EUNSAFE, "replay into stream '%s' would reach group%s %s "
		    "too, not only '%s' (the group the entries were pending in); nothing replayed: "
		    "add --to STREAM (a stream only that group reads; --to '{stream}:retry:{group}' "
		    "makes one per group) or --all-groups", to, others[1] != NULL ? "s" : "", names,
		    grp);
		free(names);
	}
	for (char **o = others; rc == 0 && *o != NULL; o++)
		names_add(&sm->reached, *o);
	strv_free(others);
	return rc;
}

/*
 * Before anything is copied: every target must be a stream and reach no
 * group but the entries' own (or --all-groups); then each per-group
 * target of a --to template gets its group, so that it reads the copies.
 */
static int
check_targets(struct streaming *sm)
{
	const struct replay_request *req = sm->req;
	char **all = NULL;

	sm->templ = req->to != NULL && (strstr(req->to, "{stream}") != NULL ||
	    strstr(req->to, "{group}") != NULL);
	if (req->to != NULL && !sm->templ) {
		/* One target without groups: no copy reaches anyone, whatever was selected. */
		if (check_once(sm, req->to) < 0 ||
		    copy_other_groups(sm->p, req->to, "", &all, sm->err) < 0)
			return -1;
		bool none = all[0] == NULL;
		strv_free(all);
		if (none)
			return 0;
	}
	if (journal_select_groups(sm->p->j, &req->sel, check_reach, sm, sm->err) < 0)
		return -1;
	for (size_t i = 0; i < sm->nexp && !req->dry_run; i++)
		if (copy_group_ensure(sm->p, sm->exp[i].name, sm->exp[i].grp, "REPLAY",
		    "replay --to TEMPLATE: the group of the same name reads the copies",
		    sm->err) < 0)
			return -1;
	return 0;
}

static void
add_result(struct replay_result *r, const struct held *h, const char *to, bool made)
{
	struct replayed *e;

	r->entries = xrealloc(r->entries, (r->nentries + 1) * sizeof(*r->entries));
	e = &r->entries[r->nentries++];
	memset(e, 0, sizeof(*e));
	e->stream = xstrdup(h->e.stream);
	e->group = xstrdup(h->e.grp);
	e->id = h->e.id;
	e->to = xstrdup(to);
	if (made)
		e->copy = h->copy_id;
	e->source = source_name(h->e.source);
}

static int
replay_chunk(void *ctx, struct held_list *l)
{
	struct streaming *sm = ctx;
	struct pass *p = sm->p;
	const struct replay_request *req = sm->req;
	struct replay_result *ret = sm->ret;

	static char *none[] = {NULL};

	for (size_t i = 0; i < l->n; i++) {
		struct held *h = &l->v[i];
		h->copy_to = target_of(sm, h->e.stream, h->e.grp);
		if (check_once(sm, h->copy_to) < 0)
			return -1;
	}
	ret->selected += l->n;
	if (req->dry_run) {
		for (size_t i = 0; i < l->n && req->want_entries; i++)
			add_result(ret, &l->v[i], l->v[i].copy_to, false);
		return 0;
	}
	if (*p->stop)
		return 1;           /* no more pages */
	/* The batch begins with its first chunk: an empty selection changes nothing. */
	if (ret->batch == 0 &&
	    batch_begin(p, false, req->to, req->selection_json,
	    req->all_groups ? (sm->reached != NULL ? sm->reached : none) : NULL, sm->estimate,
	    &ret->batch, sm->err) < 0)
		return -1;
	struct copy_opts o = {req->to, req->rate, chunk_progress, sm};
	struct copy_result cr = {0};
	int crc = copy_entries(p, ret->batch, l, &o, &cr, &sm->cerr);
	ret->copied += cr.copied;
	ret->retried += cr.retried;
	sm->done_before += cr.copied;
	for (size_t i = 0; i < l->n && req->want_entries; i++)
		if (l->v[i].copied)
			add_result(ret, &l->v[i], l->v[i].copy_to, true);
	if (crc < 0) {
		sm->failed_copy = true;
		*sm->err = sm->cerr;
		return -1;
	}
	return 0;
}

/*
 * When nothing in the journal matched: the claims the selection matches in
 * its archives, said in err (XR_ENOTHING).  Returns how many (0: none, or
 * they could not be read: the journal's own answer stands).
 */
static int64_t
archived_matches(const struct config *cfg, const struct selection *sel, struct xerr *err)
{
	struct archive_read ar = {0};
	struct journal *j;
	struct xerr e = {0};
	int64_t n = 0, first, last;

	if (journal_open(cfg->db_path, JOURNAL_READ, &j, &e) < 0)
		return 0;
	if (archive_span(cfg->db_path, j, NULL, "replay", &ar, &e) == 0 && ar.live_from > 0 &&
	    journal_select_before(j, sel, ar.live_from, &n, &first, &last, &e) == 0 && n > 0)
		xerr_set(err, XR_ENOTHING, "%lld matching event%s in archives (events %lld to %lld): "
		    "replay reads the live journal only", (long long)n, n == 1 ? " is" : "s are",
		    (long long)first, (long long)last);
	archive_read_free(&ar);
	journal_close(j);
	return n;
}

int
replay(const struct config *cfg, const struct logger *lg, volatile sig_atomic_t *stop,
    const struct replay_request *req, struct replay_result *ret, struct xerr *err)
{
	struct pass p;
	struct journal *reader = NULL;
	struct streaming sm = {0};
	int rc = -1, src;

	memset(ret, 0, sizeof(*ret));
	sm.p = &p;
	sm.req = req;
	sm.ret = ret;
	sm.err = err;
	if (session_open(&p, cfg, lg, stop, req->dry_run, NULL, err) < 0 || check_targets(&sm) < 0)
		goto out;
	/* Only a progress display needs the total beforehand (a second pass). */
	if (req->progress != NULL && journal_select_count(p.j, &req->sel, &sm.estimate, err) < 0)
		goto out;
	/*
	 * The selection is read through a connection of its own while the
	 * writer thread journals the copies through the main one: reading,
	 * copying and journalling go on at the same time, a chunk at a time.
	 */
	if (req->dry_run) {
		reader = p.j;
	} else {
		if (journal_open(cfg->db_path, JOURNAL_READ, &reader, err) < 0)
			goto out;
		if (writer_start(p.j, 4096, 500, &p.w, err) < 0)
			goto out;
	}
	src = held_each(reader, &req->sel, 2000, replay_chunk, &sm, &ret->skipped_in_flight, err);
	if (p.w != NULL) {
		struct xerr werr = {0};
		if (writer_stop(p.w, &werr) < 0 && src == 0) {
			*err = werr;
			src = -1;
		}
		p.w = NULL;
	}
	if (ret->batch > 0 && batch_end(&p, ret->batch, src < 0 ? "failed" : *stop ?
	    "interrupted" : "ok", ret->copied, src < 0 ? NULL : err) < 0)
		goto out;
	if (src < 0)
		goto out;
	if (ret->selected == 0) {
		if (ret->skipped_in_flight > 0)
			xerr_set(err, XR_ENOTHING, "all %zu selected entries already have a copy in "
			    "flight (settle or roll back that batch first); nothing replayed",
			    ret->skipped_in_flight);
		else if (archived_matches(cfg, &req->sel, err) == 0)
			xerr_set(err, XR_ENOTHING, "no journalled entry matches the selection; "
			    "nothing replayed");
		goto out;
	}
	if (*stop && !req->dry_run) {
		xerr_set(err, XR_EFAIL, "interrupted after %zu of %zu copies (batch %lld)",
		    ret->copied, ret->selected, (long long)ret->batch);
		goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < sm.nchecked; i++)
		free(sm.checked[i]);
	free(sm.checked);
	for (size_t i = 0; i < sm.nexp; i++) {
		free(sm.exp[i].stream);
		free(sm.exp[i].grp);
		free(sm.exp[i].name);
	}
	free(sm.exp);
	strv_free(sm.reached);
	if (reader != NULL && reader != p.j)
		journal_close(reader);
	if (session_close(&p, rc == 0, rc == 0 ? err : NULL) < 0)
		rc = -1;
	return rc;
}

void
replay_result_free(struct replay_result *r)
{
	for (size_t i = 0; i < r->nentries; i++) {
		free(r->entries[i].stream);
		free(r->entries[i].group);
		free(r->entries[i].to);
	}
	free(r->entries);
	memset(r, 0, sizeof(*r));
}

int
rollback(const struct config *cfg, const struct logger *lg, volatile sig_atomic_t *stop,
    const struct rollback_request *req, struct rollback_report *ret, struct xerr *err)
{
	struct pass p;
	int lock = -1;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (session_open(&p, cfg, lg, stop, req->dry_run, &lock, err) == 0 &&
	    rollback_batch(&p, req->batch, req->dry_run, req->progress, req->progress_ctx, ret,
	    err) == 0)
		rc = 0;
	ret->batch = req->batch;
	ret->dry_run = req->dry_run;
	if (session_close(&p, rc == 0, rc == 0 ? err : NULL) < 0)
		rc = -1;
	if (lock >= 0)
		close(lock);
	return rc;
}

void
rollback_report_free(struct rollback_report *r)
{
	for (size_t i = 0; i < r->read; i++)
		free(r->read_streams[i]);
	free(r->read_streams);
	free(r->read_ids);
	memset(r, 0, sizeof(*r));
}
