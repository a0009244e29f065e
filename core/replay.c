/* replay.c: the replay and rollback commands (see replay.h). */
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
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
    volatile sig_atomic_t *stop, bool dry, struct xerr *err)
{
	struct redis_target t;
	int rc = -1;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->lg = lg;
	p->stop = stop;
	p->dry = dry;
	if (redis_target_parse(cfg->redis_url, &t, err) < 0)
		return -1;
	if (journal_open(cfg->db_path, dry ? JOURNAL_READ : JOURNAL_WRITE, &p->j, err) < 0)
		goto out;
	if (!dry && (journal_lock(p->j, cfg->lock_timeout_ms, err) < 0 ||
	    intent_open(cfg->db_path, &p->intents, err) < 0))
		goto out;
	if (rconn_open(&t, cfg->connect_timeout_ms, cfg->command_timeout_ms, &p->rc, err) < 0)
		goto out;
	if (!dry && reconcile(p, err) < 0)
		goto out;
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

struct gather {
	struct replay_result *r;
};

static int
gather_copy(void *ctx, const struct copy_row *c)
{
	struct replay_result *r = ((struct gather *)ctx)->r;
	struct replayed *e;

	r->entries = xrealloc(r->entries, (r->nentries + 1) * sizeof(*r->entries));
	e = &r->entries[r->nentries++];
	e->stream = xstrdup(c->stream);
	e->group = xstrdup(c->grp);
	e->id = c->id;
	e->to = xstrdup(c->to);
	e->copy = c->copy;
	e->source = source_name(c->source);
	return 0;
}

int
replay(const struct config *cfg, const struct logger *lg, volatile sig_atomic_t *stop,
    const struct replay_request *req, struct replay_result *ret, struct xerr *err)
{
	struct pass p;
	struct held_list l = {0};
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (session_open(&p, cfg, lg, stop, req->dry_run, err) < 0)
		goto out;
	if (held_load(&p, &req->sel, &l, err) < 0)
		goto out;
	ret->selected = l.n;
	ret->skipped_in_flight = l.skipped_in_flight;
	if (l.n == 0) {
		if (l.skipped_in_flight > 0)
			xerr_set(err, XR_ENOTHING, "all %zu selected entries already have a copy in "
			    "flight (settle or roll back that batch first); nothing replayed",
			    l.skipped_in_flight);
		else
			xerr_set(err, XR_ENOTHING, "no journalled entry matches the selection; "
			    "nothing replayed");
		goto out;
	}
	if (req->to != NULL) {
		if (check_target(&p, req->to, err) < 0)
			goto out;
	} else {
		for (size_t i = 0; i < l.n; i++) {
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = strcmp(l.v[k].e.stream, l.v[i].e.stream) == 0;
			if (!seen && check_target(&p, l.v[i].e.stream, err) < 0)
				goto out;
		}
	}
	if (req->dry_run) {
		for (size_t i = 0; i < l.n; i++) {
			struct replayed *e;
			ret->entries = xrealloc(ret->entries, (ret->nentries + 1) * sizeof(*ret->entries));
			e = &ret->entries[ret->nentries++];
			memset(e, 0, sizeof(*e));
			e->stream = xstrdup(l.v[i].e.stream);
			e->group = xstrdup(l.v[i].e.grp);
			e->id = l.v[i].e.id;
			e->to = xstrdup(req->to != NULL ? req->to : l.v[i].e.stream);
			e->source = source_name(l.v[i].e.source);
		}
		rc = 0;
		goto out;
	}

	struct copy_opts o = {req->to, req->rate, req->progress, req->progress_ctx};
	struct copy_result cr = {0};
	struct xerr cerr = {0};
	if (batch_begin(&p, false, req->to, req->selection_json, l.n, &ret->batch, err) < 0)
		goto out;
	int crc = copy_entries(&p, ret->batch, &l, &o, &cr, &cerr);
	ret->copied = cr.copied;
	ret->retried = cr.retried;
	if (batch_end(&p, ret->batch, crc < 0 ? "failed" : *stop ? "interrupted" : "ok",
	    cr.copied, err) < 0)
		goto out;
	struct gather g = {ret};
	if (journal_batch_copies(p.j, ret->batch, gather_copy, &g, err) < 0)
		goto out;
	if (crc < 0) {
		*err = cerr;
		goto out;
	}
	if (*stop) {
		xerr_set(err, XR_EFAIL, "interrupted after %zu of %zu copies (batch %lld)",
		    cr.copied, l.n, (long long)ret->batch);
		goto out;
	}
	rc = 0;
out:
	held_free(&l);
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
    int64_t batch, bool dry_run, struct rollback_report *ret, struct xerr *err)
{
	struct pass p;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	if (session_open(&p, cfg, lg, stop, dry_run, err) == 0 &&
	    rollback_batch(&p, batch, dry_run, ret, err) == 0)
		rc = 0;
	ret->batch = batch;
	ret->dry_run = dry_run;
	if (session_close(&p, rc == 0, rc == 0 ? err : NULL) < 0)
		rc = -1;
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
