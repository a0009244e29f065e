/* verify.c: `xrecover verify` (see verify.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../store/archive.h"
#include "archive.h"
#include "verify.h"

/* Marks ret broken in the archive at path, for why. */
static void
archive_broken(struct chain_report *ret, const char *path, const char *why)
{
	ret->status = CHAIN_ARCHIVE;
	snprintf(ret->archive, sizeof(ret->archive), "%s", path);
	snprintf(ret->archive_why, sizeof(ret->archive_why), "%s", why);
}

/*
 * The archives the journal at path names, oldest first, each whole on its
 * own, each going on from the one before, the last ending where the
 * journal goes on from.  A head not found in the journal is looked for
 * in them.  ret holds the journal's own result, and gets theirs.
 */
static int
verify_archives(const char *path, const unsigned char *want, struct chain_report *ret,
    struct xerr *err)
{
	struct journal *j = NULL;
	struct archive_row *rows = NULL;
	size_t n = 0;
	unsigned char prev[CHAIN_HASH_LEN] = {0};
	int64_t prev_seq = 0;
	bool look = want != NULL && ret->status == CHAIN_HEAD_MISSING;
	int rc = -1;

	if (journal_open(path, JOURNAL_READ, &j, err) < 0 ||
	    journal_archives(j, &rows, &n, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *ap = archive_path(path, rows[i].file);
		struct chain_report ar;
		struct xerr aerr = {0};
		struct stat sb;
		char why[160];
		bool stop = true;

		if (stat(ap, &sb) < 0) {
			snprintf(why, sizeof(why), "is missing (events %lld to %lld)",
			    (long long)rows[i].first_seq, (long long)rows[i].last_seq);
			archive_broken(ret, ap, why);
		} else if (chain_verify(ap, look ? want : NULL, NULL, NULL, &ar, &aerr) < 0) {
			snprintf(why, sizeof(why), "cannot be read: %.120s", aerr.msg);
			archive_broken(ret, ap, why);
		} else if (ar.status != CHAIN_WHOLE && ar.status != CHAIN_HEAD_MISSING) {
			/* Its own break, told as the journal's would be. */
			int64_t a = ret->archives, e = ret->archived_events;
			*ret = ar;
			ret->archives = a;
			ret->archived_events = e;
			snprintf(ret->archive, sizeof(ret->archive), "%s", ap);
		} else if (ar.anchor_seq != prev_seq || memcmp(ar.anchor, prev, CHAIN_HASH_LEN) != 0) {
			archive_broken(ret, ap, "does not go on from the archive before it");
		} else if (ar.head_seq != rows[i].last_seq ||
		    memcmp(ar.head, rows[i].last_hash, CHAIN_HASH_LEN) != 0) {
			snprintf(why, sizeof(why), "does not end with the event the journal goes on "
			    "from (event %lld): it is another file, or events were cut off",
			    (long long)rows[i].last_seq);
			archive_broken(ret, ap, why);
		} else {
			stop = false;
			ret->archives++;
			ret->archived_events += ar.events;
			if (look && ar.head_at > 0) {
				ret->head_at = ar.head_at;
				ret->status = CHAIN_WHOLE;
				look = false;
			}
		}
		free(ap);
		if (stop)
			break;
		memcpy(prev, rows[i].last_hash, CHAIN_HASH_LEN);
		prev_seq = rows[i].last_seq;
	}
	rc = 0;
out:
	archive_rows_free(rows, n);
	journal_close(j);
	return rc;
}

/* The archived events of one part of the chain: those with seq in [from, to]. */
struct recorded {
	int64_t from, to;
	struct rec_event {
		int64_t seq, last_seq, first_seq;
		char *detail;
	} *v;
	size_t n;
};

static int
on_archived(void *ctx, int64_t seq, const char *detail)
{
	struct recorded *r = ctx;
	cJSON *d;

	if (seq < r->from || (r->to > 0 && seq > r->to))
		return 0;
	d = cJSON_Parse(detail);
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n].seq = seq;
	r->v[r->n].last_seq = (int64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(d, "last_seq"));
	r->v[r->n].first_seq = (int64_t)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(d, "first_seq"));
	r->v[r->n].detail = xstrdup(detail);
	r->n++;
	cJSON_Delete(d);
	return 0;
}

/* The archived events of the archive at path that lie in it (an unreadable one: none). */
static void
recorded_in_archive(const char *path, const struct archive_row *row, struct recorded *rec)
{
	struct journal *a = NULL;
	struct stat sb;

	/* A missing or unreadable archive is verify_archives()'s to tell. */
	if (stat(path, &sb) < 0 || journal_open(path, JOURNAL_READ, &a, NULL) < 0)
		return;
	rec->from = row->first_seq;
	rec->to = row->last_seq;
	(void)journal_archived_events(a, on_archived, rec, NULL);
	journal_close(a);
}

/* A value of a detail, as JSON, cut short for a message.  OUT: free(). */
static char *
shown(const cJSON *v)
{
	char *p = v != NULL ? cJSON_PrintUnformatted(v) : NULL;
	char *ret = xstrdup(p != NULL ? p : "nothing");

	free(p);
	if (strlen(ret) > 80)
		strcpy(ret + 77, "...");
	return ret;
}

/* What the rows of one archive say (built) against what its archived event e recorded. */
static void
rows_differ(struct chain_report *ret, const struct rec_event *e, const char *built)
{
	cJSON *want = cJSON_Parse(e->detail), *have = cJSON_Parse(built);
	const cJSON *k;
	const char *key = NULL;

	cJSON_ArrayForEach(k, have) {
		if (!cJSON_Compare(k, cJSON_GetObjectItemCaseSensitive(want, k->string), true)) {
			key = k->string;
			break;
		}
	}
	ret->status = CHAIN_ARCHIVE_ROWS;
	if (key != NULL && strcmp(key, "totals") == 0) {
		snprintf(ret->archive_why, sizeof(ret->archive_why), "its archive_totals rows of "
		    "the archive of events %lld to %lld are not the totals its archived event %lld "
		    "recorded (a total was changed, added or deleted)", (long long)e->first_seq,
		    (long long)e->last_seq, (long long)e->seq);
	} else if (key != NULL) {
		char *h = shown(k), *w = shown(cJSON_GetObjectItemCaseSensitive(want, key));
		snprintf(ret->archive_why, sizeof(ret->archive_why), "its archives row of events "
		    "%lld to %lld says %s %s where its archived event %lld recorded %s",
		    (long long)e->first_seq, (long long)e->last_seq, key, h, (long long)e->seq, w);
		free(h);
		free(w);
	} else {
		snprintf(ret->archive_why, sizeof(ret->archive_why), "its archived event %lld "
		    "records more than the archives row of events %lld to %lld says",
		    (long long)e->seq, (long long)e->first_seq, (long long)e->last_seq);
	}
	cJSON_Delete(want);
	cJSON_Delete(have);
}

/*
 * The archives and archive_totals rows of the journal at path against the
 * archived events that recorded them, in the journal and in its archives:
 * each event has its rows, saying exactly what it recorded, and each row
 * its event.  An archive's own rows may name archives whose events lie
 * after it, in the live journal: a row without its event counts only when
 * the newest row's event was found.  Sets ret when they differ.
 */
static int
check_rows(const char *path, struct chain_report *ret, struct xerr *err)
{
	struct journal *j = NULL;
	struct archive_row *rows = NULL;
	struct archive_total *tv = NULL;
	struct recorded rec = {0};
	size_t n = 0, tn = 0;
	bool *seen = NULL;
	struct buf b = BUF_INIT;
	int rc = -1;

	if (journal_open(path, JOURNAL_READ, &j, err) < 0 ||
	    journal_archives(j, &rows, &n, err) < 0 ||
	    journal_archive_totals(j, &tv, &tn, err) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		char *ap = archive_path(path, rows[i].file);
		recorded_in_archive(ap, &rows[i], &rec);
		free(ap);
	}
	rec.from = n > 0 ? rows[n - 1].last_seq + 1 : 0;
	rec.to = 0;
	if (journal_archived_events(j, on_archived, &rec, err) < 0)
		goto out;
	seen = xcalloc(n + 1, sizeof(*seen));
	for (size_t e = 0; e < rec.n && ret->status != CHAIN_ARCHIVE_ROWS; e++) {
		const struct rec_event *ev = &rec.v[e];
		size_t i = 0, t0 = 0, t1;
		while (i < n && rows[i].last_seq != ev->last_seq)
			i++;
		if (i == n || seen[i]) {
			ret->status = CHAIN_ARCHIVE_ROWS;
			snprintf(ret->archive_why, sizeof(ret->archive_why), "its archived event %lld "
			    "records an archive of events %lld to %lld that table archives has no row "
			    "of (deleted)", (long long)ev->seq, (long long)ev->first_seq,
			    (long long)ev->last_seq);
			break;
		}
		seen[i] = true;
		while (t0 < tn && tv[t0].last_seq != ev->last_seq)
			t0++;
		for (t1 = t0; t1 < tn && tv[t1].last_seq == ev->last_seq; t1++)
			;
		buf_reset(&b);
		archive_detail(&b, &rows[i], tv + t0, t1 - t0);
		if (strcmp(buf_str(&b), ev->detail) != 0)
			rows_differ(ret, ev, buf_str(&b));
	}
	for (size_t i = 0; i < n && ret->status != CHAIN_ARCHIVE_ROWS && seen[n - 1]; i++) {
		if (seen[i])
			continue;
		ret->status = CHAIN_ARCHIVE_ROWS;
		snprintf(ret->archive_why, sizeof(ret->archive_why), "its archives row of events "
		    "%lld to %lld was recorded by no archived event (added)",
		    (long long)rows[i].first_seq, (long long)rows[i].last_seq);
	}
	for (size_t t = 0; t < tn && ret->status != CHAIN_ARCHIVE_ROWS; t++) {
		size_t i = 0;
		while (i < n && rows[i].last_seq != tv[t].last_seq)
			i++;
		if (i < n)
			continue;
		ret->status = CHAIN_ARCHIVE_ROWS;
		snprintf(ret->archive_why, sizeof(ret->archive_why), "it has archive_totals rows "
		    "of an archive ending at event %lld that table archives has no row of (added)",
		    (long long)tv[t].last_seq);
	}
	rc = 0;
out:
	for (size_t e = 0; e < rec.n; e++)
		free(rec.v[e].detail);
	free(rec.v);
	free(seen);
	buf_free(&b);
	archive_rows_free(rows, n);
	archive_totals_free(tv, tn);
	journal_close(j);
	return rc;
}

int
verify_journal(const struct config *cfg, const char *head_hex, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err)
{
	unsigned char want[CHAIN_HASH_LEN];

	if (head_hex != NULL && chain_unhex(head_hex, want) < 0)
		return xerr_set(err, XR_EUSAGE, "--head: '%s' is not a journal head (64 hex digits)",
		    head_hex);
	if (chain_verify(cfg->db_path, head_hex != NULL ? want : NULL, progress, progress_ctx,
	    ret, err) < 0)
		return -1;
	{
		/*
		 * The rows against the events that recorded them.  A row gone or
		 * changed under the live journal's first event changes the hash
		 * it goes on from: that break is told as the rows'.
		 */
		struct chain_report rows = *ret;
		bool whole = ret->status == CHAIN_WHOLE || ret->status == CHAIN_HEAD_MISSING;
		rows.status = CHAIN_WHOLE;
		if (check_rows(cfg->db_path, &rows, err) < 0)
			return -1;
		if (rows.status == CHAIN_ARCHIVE_ROWS && (whole || ret->bad_seq == ret->first_seq)) {
			*ret = rows;
			ret->archive[0] = '\0';
		} else if (whole && verify_archives(cfg->db_path, head_hex != NULL ? want : NULL, ret,
		    err) < 0) {
			return -1;
		}
	}
	/* For the metrics; a journal's directory that cannot be written is no error here. */
	(void)chain_record_write(cfg->db_path, verify_status_name(ret->status), ret);
	return 0;
}

const char *
verify_status_name(enum chain_break s)
{
	switch (s) {
	case CHAIN_WHOLE: return "whole";
	case CHAIN_CHANGED: return "changed";
	case CHAIN_DELETED: return "deleted";
	case CHAIN_INSERTED: return "inserted";
	case CHAIN_REORDERED: return "reordered";
	case CHAIN_UNHASHED: return "unhashed";
	case CHAIN_HEAD_MISSING: return "head missing";
	case CHAIN_INDEX: return "index";
	case CHAIN_ARCHIVE: return "archive";
	case CHAIN_ARCHIVE_ROWS: return "archive rows";
	}
	return "?";
}

void
verify_explain(const struct chain_report *r, char *out, size_t n)
{
	char head[CHAIN_HEX_LEN];

	chain_hex(r->head, head);
	if (r->archive[0] != '\0' && r->status != CHAIN_ARCHIVE) {
		/* A break inside an archive: told as the journal's, naming the file. */
		struct chain_report inner = *r;
		size_t k;
		inner.archive[0] = '\0';
		k = (size_t)snprintf(out, n, "archive '%s': ", r->archive);
		if (k < n)
			verify_explain(&inner, out + k, n - k);
		return;
	}
	switch (r->status) {
	case CHAIN_WHOLE:
		if (r->archives > 0)
			snprintf(out, n, "journal whole: %lld events, head %s (event %lld), and its %lld "
			    "archives: %lld events", (long long)r->events, head, (long long)r->head_seq,
			    (long long)r->archives, (long long)r->archived_events);
		else
			snprintf(out, n, "journal whole: %lld events, head %s (event %lld)",
			    (long long)r->events, head, (long long)r->head_seq);
		break;
	case CHAIN_ARCHIVE:
		snprintf(out, n, "journal broken: its archive '%s' %s", r->archive, r->archive_why);
		break;
	case CHAIN_ARCHIVE_ROWS:
		snprintf(out, n, "journal broken: %s", r->archive_why);
		break;
	case CHAIN_CHANGED:
		snprintf(out, n, "journal broken at event %lld (%s): it was changed after it was "
		    "written (its content does not match its hash)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_DELETED:
		if (r->missing_from > 0 && r->missing_from == r->missing_to)
			snprintf(out, n, "journal broken at event %lld (%s): event %lld before it was "
			    "deleted", (long long)r->bad_seq, r->what, (long long)r->missing_from);
		else if (r->missing_from > 0)
			snprintf(out, n, "journal broken at event %lld (%s): events %lld to %lld before "
			    "it were deleted", (long long)r->bad_seq, r->what,
			    (long long)r->missing_from, (long long)r->missing_to);
		else
			snprintf(out, n, "journal broken at event %lld (%s): the event before it was "
			    "deleted and the later ones renumbered", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_INSERTED:
		snprintf(out, n, "journal broken at event %lld (%s): it was inserted (it does not "
		    "follow from the event before it)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_REORDERED:
		snprintf(out, n, "journal broken at event %lld (%s): it was moved (it was written "
		    "as event %lld)", (long long)r->bad_seq, r->what, (long long)r->belongs_at);
		break;
	case CHAIN_UNHASHED:
		snprintf(out, n, "journal broken at event %lld (%s): it has no hash (inserted "
		    "outside xrecover)", (long long)r->bad_seq, r->what);
		break;
	case CHAIN_HEAD_MISSING:
		snprintf(out, n, "the head given is not in the journal: events after it were cut "
		    "off, or it is another journal's (the journal is whole up to its own head %s, "
		    "event %lld)", head, (long long)r->head_seq);
		break;
	case CHAIN_INDEX:
		snprintf(out, n, "journal broken: its %lld events are whole, but its index of copies "
		    "(table copied) was changed: %lld copies missing from it, %lld rows in it that no "
		    "event made", (long long)r->events, (long long)r->index_missing,
		    (long long)r->index_extra);
		break;
	}
}
