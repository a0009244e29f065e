/* archive.c: moving old events to an archive file (see archive.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "../store/archive.h"
#include "../store/intent.h"
#include "../store/journal.h"
#include "../store/verify.h"
#include "archive.h"
#include "metrics.h"

#define DAY_MS (24LL * 60 * 60 * 1000)

char *
archive_path(const char *journal, const char *file)
{
	char *dir, *p;

	if (strchr(file, '/') != NULL)
		return xstrdup(file);
	dir = xstrdup(journal);
	p = xmalloc(strlen(journal) + strlen(file) + 2);
	sprintf(p, "%s/%s", dirname(dir), file);
	free(dir);
	return p;
}

bool
archive_due(const struct config *cfg, int64_t now)
{
	char *lp = xmalloc(strlen(cfg->db_path) + 16);
	struct stat sb;
	bool due;

	sprintf(lp, "%s.archive.lock", cfg->db_path);
	due = stat(lp, &sb) < 0 || (int64_t)sb.st_mtime * 1000 <= now - DAY_MS;
	free(lp);
	return due;
}

/* The directory of path, resolved (NULL when it cannot be). OUT: free(). */
static char *
real_dir(const char *path)
{
	char *d = xstrdup(path);
	char *r = realpath(dirname(d), NULL);

	free(d);
	return r;
}

/* "DIR/NAME" of the journal DIR/NAME.db: what its archives' default names start with. */
static char *
archive_stem(const char *db)
{
	char *b = xstrdup(db), *d = xstrdup(db);
	char *stem = basename(b), *dot = strrchr(stem, '.');
	char *ret;

	if (dot != NULL && dot != stem && strcmp(dot, ".db") == 0)
		*dot = '\0';
	ret = xmalloc(strlen(db) + 2);
	sprintf(ret, "%s/%s", dirname(d), stem);
	free(b);
	free(d);
	return ret;
}

/*
 * Where the archive goes (ret->file) and how the live journal names it
 * (*ret_name: its name alone when it lies beside the journal).
 */
static int
name_archive(const char *db, const char *to, const struct archive_result *r, char **ret_name,
    char *file, size_t n, struct xerr *err)
{
	char *jdir = real_dir(db), *adir = NULL;
	const char *base;

	if (to == NULL) {
		char *stem = archive_stem(db);
		snprintf(file, n, "%s-archive-%lld-%lld.db", stem, (long long)r->first_seq,
		    (long long)r->last_seq);
		free(stem);
	} else {
		snprintf(file, n, "%s", to);
	}
	adir = real_dir(file);
	if (jdir == NULL || adir == NULL) {
		free(jdir);
		free(adir);
		return xerr_set(err, XR_EUSAGE, "cannot use archive '%s': %s", file, strerror(errno));
	}
	base = strrchr(file, '/') != NULL ? strrchr(file, '/') + 1 : file;
	if (strcmp(jdir, adir) == 0) {
		*ret_name = xstrdup(base);
	} else {
		*ret_name = xmalloc(strlen(adir) + strlen(base) + 2);
		sprintf(*ret_name, "%s/%s", adir, base);
	}
	free(jdir);
	free(adir);
	return 0;
}

/*
 * An archive file already at path may be replaced only when it is the
 * leftover of an interrupted archive of this journal: a journal that the
 * live one does not name, whose events are the live journal's own from its
 * first (the same hashes).
 */
static int
check_target(struct journal *j, const char *path, const char *name,
    const struct archive_row *rows, size_t nrows, struct xerr *err)
{
	struct journal *a = NULL;
	struct archive_limits al;
	unsigned char ha[CHAIN_HASH_LEN], hj[CHAIN_HASH_LEN];
	struct stat sb;
	bool ok = false;

	if (stat(path, &sb) < 0)
		return 0;
	for (size_t i = 0; i < nrows; i++)
		if (strcmp(rows[i].file, name) == 0)
			return xerr_set(err, XR_EUSAGE, "archive '%s' exists and holds archived events",
			    path);
	if (journal_open(path, JOURNAL_READ, &a, NULL) == 0 &&
	    journal_archive_limits(a, 0, &al, NULL) == 0 && al.first_seq > 0 &&
	    journal_event_hash(a, al.head_seq, ha, NULL) == 0 &&
	    journal_event_hash(j, al.head_seq, hj, NULL) == 0 &&
	    memcmp(ha, hj, CHAIN_HASH_LEN) == 0) {
		struct archive_limits jl;
		ok = journal_archive_limits(j, 0, &jl, NULL) == 0 && jl.first_seq == al.first_seq;
	}
	journal_close(a);
	if (!ok)
		return xerr_set(err, XR_EUSAGE, "'%s' exists and is not an archive of this journal's "
		    "events; choose another --to", path);
	return 0;
}

/*
 * What an interrupted archive left beside the journal under the default
 * names: its temporary files, and an archive renamed into place that the
 * journal does not name yet (its events are all still in the journal:
 * check_target proves it).  The archive lock keeps other archives out.
 */
static void
clear_leftovers(struct journal *j, const char *db, const struct archive_row *rows, size_t nrows)
{
	static const char *const ends[] = {"-archive-*.db.tmp", "-archive-*.db"};
	char *stem = archive_stem(db);
	char *pat = xmalloc(strlen(stem) + 32);

	for (size_t e = 0; e < 2; e++) {
		glob_t g;
		sprintf(pat, "%s%s", stem, ends[e]);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		for (size_t i = 0; i < g.gl_pathc; i++) {
			const char *p = g.gl_pathv[i];
			const char *base = strrchr(p, '/') != NULL ? strrchr(p, '/') + 1 : p;
			if (e == 0 || check_target(j, p, base, rows, nrows, NULL) == 0)
				journal_file_remove(p, NULL);
		}
		globfree(&g);
	}
	free(pat);
	free(stem);
}

/* The oldest run and batch the intent file's records name (0: none). */
struct intents_seen {
	int64_t run, batch;
};

static void
intent_seen(void *ctx, const char *line)
{
	struct intents_seen *in = ctx;
	cJSON *d = cJSON_Parse(line);
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(d, "run");
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(d, "batch");

	if (cJSON_IsNumber(run) && run->valuedouble > 0 &&
	    (in->run == 0 || (int64_t)run->valuedouble < in->run))
		in->run = (int64_t)run->valuedouble;
	if (cJSON_IsNumber(batch) && batch->valuedouble > 0 &&
	    (in->batch == 0 || (int64_t)batch->valuedouble < in->batch))
		in->batch = (int64_t)batch->valuedouble;
	cJSON_Delete(d);
}

/* The first event the intent file's records may need (0: none). */
static int
intent_limit(struct journal *j, const char *db, int64_t *ret, struct xerr *err)
{
	struct intents_seen in = {0, 0};
	int64_t r = 0, b = 0;

	*ret = 0;
	if (intent_peek(db, intent_seen, &in, err) < 0 ||
	    (in.run > 0 && journal_run_start_seq(j, in.run, &r, err) < 0) ||
	    (in.batch > 0 && journal_batch_start_seq(j, in.batch, &b, err) < 0))
		return -1;
	*ret = r > 0 && (b == 0 || r < b) ? r : b;
	return 0;
}

/* Where the cut falls: the last event to move, and why not later. */
static int
plan(struct journal *j, const char *db, int64_t before_ms, struct archive_limits *l,
    struct archive_result *r, struct xerr *err)
{
	int64_t last, split, intent;

	if (journal_archive_limits(j, before_ms, l, err) < 0 ||
	    intent_limit(j, db, &intent, err) < 0)
		return -1;
	last = l->newer_seq > 0 ? l->newer_seq - 1 : l->head_seq;
	if (l->run_seq > 0 && l->run_seq <= last) {
		last = l->run_seq - 1;
		r->stop = ARCHIVE_STOP_RUN;
		r->stop_at = l->run_seq;
		r->stop_id = l->run;
	}
	if (l->batch_seq > 0 && l->batch_seq <= last) {
		last = l->batch_seq - 1;
		r->stop = ARCHIVE_STOP_BATCH;
		r->stop_at = l->batch_seq;
		r->stop_id = l->batch;
	}
	if (l->held_seq > 0 && l->held_seq <= last) {
		last = l->held_seq - 1;
		r->stop = ARCHIVE_STOP_HELD;
		r->stop_at = l->held_seq;
		r->stop_id = 0;
	}
	if (l->alert_seq > 0 && l->alert_seq <= last) {
		last = l->alert_seq - 1;
		r->stop = ARCHIVE_STOP_ALERT;
		r->stop_at = l->alert_seq;
		r->stop_id = 0;
	}
	if (intent > 0 && intent <= last) {
		last = intent - 1;
		r->stop = ARCHIVE_STOP_INTENT;
		r->stop_at = intent;
		r->stop_id = 0;
	}
	while (last >= l->first_seq) {
		if (journal_split_at(j, last, &split, err) < 0)
			return -1;
		if (split == 0)
			break;
		last = split - 1;
		if (r->stop == ARCHIVE_STOP_NONE) {
			r->stop = ARCHIVE_STOP_SPLIT;
			r->stop_at = split;
		}
	}
	if (r->stop != ARCHIVE_STOP_NONE)
		r->stop_seq = last + 1;
	/* Only the archived events of earlier archives: nothing worth a file. */
	if (l->work_seq == 0 || l->work_seq > last)
		last = 0;
	r->first_seq = l->first_seq;
	r->last_seq = last;
	return 0;
}

/*
 * The archived event that closes the new live journal's copying: it holds
 * exactly what the archive's archives and archive_totals rows say, so
 * that those rows are in the chain too (verify checks them against it).
 */
static int
append_archived(struct journal *l, const struct archive_row *row, struct archive_total *tv,
    size_t tn, struct xerr *err)
{
	struct buf b = BUF_INIT;
	struct event ev = EVENT_INIT;
	int rc;

	archive_detail(&b, row, tv, tn);
	ev.kind = "archived";
	ev.detail = buf_str(&b);
	rc = journal_begin(l, err) < 0 ? -1 : journal_append_commit(l, &ev, err);
	buf_free(&b);
	return rc;
}

/* The new live journal holds exactly the live one's events after the cut, up to head. */
static int
check_live(struct journal *j, struct journal *l, int64_t last, int64_t head, struct xerr *err)
{
	struct archive_row a, b;
	unsigned char ha[CHAIN_HASH_LEN], hb[CHAIN_HASH_LEN];

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (journal_range_info(j, last + 1, head, &a, err) < 0 ||
	    journal_range_info(l, last + 1, head, &b, err) < 0)
		return -1;
	if (a.events != b.events || (head > last && (journal_event_hash(j, head, ha, err) < 0 ||
	    journal_event_hash(l, head, hb, err) < 0 || memcmp(ha, hb, CHAIN_HASH_LEN) != 0)))
		return xerr_set(err, XR_EJOURNAL, "journal '%s': the copy of events %lld to %lld "
		    "is not whole; nothing was changed", journal_path(j), (long long)last + 1,
		    (long long)head);
	return 0;
}

int
archive_journal(const struct config *cfg, int64_t before_ms, const char *to,
    struct archive_result *ret, struct xerr *err)
{
	const char *db = cfg->db_path;
	struct journal *j = NULL, *a = NULL, *l = NULL;
	struct archive_limits lim;
	struct archive_row row, *rows = NULL;
	struct chain_report vr;
	struct archive_total *tv = NULL;
	size_t nrows = 0, tn = 0;
	char *name = NULL, *tmp = NULL, *next = NULL;
	int64_t n, head;
	int lock_fd = -1, rc = -1;

	memset(ret, 0, sizeof(*ret));
	memset(&row, 0, sizeof(row));
	if (journal_lock_archive(db, cfg->lock_timeout_ms, &lock_fd, err) < 0)
		return -1;
	next = xmalloc(strlen(db) + 8);
	sprintf(next, "%s.new", db);
	/* What an interrupted archive left beside the journal is its own: start again. */
	if (journal_file_remove(next, err) < 0 ||
	    journal_open(db, JOURNAL_WRITE, &j, err) < 0 ||
	    journal_archives(j, &rows, &nrows, err) < 0)
		goto out;
	clear_leftovers(j, db, rows, nrows);
	if (plan(j, db, before_ms, &lim, ret, err) < 0)
		goto out;
	if (ret->last_seq < ret->first_seq || ret->first_seq == 0) {
		ret->nothing = true;
		ret->last_seq = 0;
		rc = 0;
		goto out;
	}
	if (name_archive(db, to, ret, &name, ret->file, sizeof(ret->file), err) < 0 ||
	    check_target(j, ret->file, name, rows, nrows, err) < 0 ||
	    journal_range_info(j, ret->first_seq, ret->last_seq, &row, err) < 0 ||
	    journal_event_hash(j, ret->last_seq, row.last_hash, err) < 0)
		goto out;
	row.first_seq = ret->first_seq;
	row.last_seq = ret->last_seq;
	row.file = name;
	row.archived_at = now_ms();
	ret->events = row.events;
	/* The metrics' counters of what moves, and of the archives before (never back). */
	if (metrics_archive_totals(j, row.first_seq, row.last_seq, &tv, &tn, err) < 0)
		goto out;

	/* The archive, without the lock: these events never change. */
	tmp = xmalloc(strlen(ret->file) + 8);
	sprintf(tmp, "%s.tmp", ret->file);
	if (journal_file_remove(tmp, err) < 0 ||
	    journal_open(tmp, JOURNAL_WRITE, &a, err) < 0 ||
	    journal_copy_from(a, db, row.first_seq, row.last_seq, true, &n, err) < 0 ||
	    journal_seal(a, err) < 0)
		goto out;
	journal_close(a);
	a = NULL;
	if (n != row.events)
		goto short_copy;
	if (chain_verify(tmp, NULL, NULL, NULL, &vr, err) < 0)
		goto out;
	if (vr.status != CHAIN_WHOLE || vr.head_seq != row.last_seq ||
	    memcmp(vr.head, row.last_hash, CHAIN_HASH_LEN) != 0) {
		xerr_set(err, XR_EJOURNAL, "journal '%s': the archive made of events %lld to %lld "
		    "does not verify; nothing was changed (verify the journal)", db,
		    (long long)row.first_seq, (long long)row.last_seq);
		goto out;
	}
	failpoint("archive-written");

	/* The new live journal: the archives it follows from, the newer events. */
	head = lim.head_seq;
	if (journal_open(next, JOURNAL_WRITE, &l, err) < 0 ||
	    journal_copy_from(l, db, 0, -1, true, &n, err) < 0 ||
	    journal_add_archive(l, &row, err) < 0 ||
	    journal_add_archive_totals(l, row.last_seq, tv, tn, err) < 0 ||
	    journal_copy_from(l, db, row.last_seq + 1, head, false, &n, err) < 0)
		goto out;
	failpoint("archive-copied");

	/* The last step, under the lock: what was appended meanwhile, and the renames. */
	if (journal_lock(j, cfg->lock_timeout_ms, err) < 0)
		goto out;
	failpoint("archive-locked");
	{
		char hex[CHAIN_HEX_LEN];
		int64_t now_head;
		if (journal_head(j, hex, &now_head, err) < 0 ||
		    (now_head > head && journal_copy_from(l, db, head + 1, now_head, false, &n,
		    err) < 0))
			goto out;
		head = now_head;
	}
	if (check_live(j, l, row.last_seq, head, err) < 0 || append_archived(l, &row, tv, tn, err) < 0)
		goto out;
	journal_close(l);
	l = NULL;
	if (journal_file_rename(tmp, ret->file, db, err) < 0)
		goto out;
	failpoint("archive-renamed");
	if (journal_replace(j, next, err) < 0)
		goto out;
	failpoint("archive-replaced");
	ret->kept_from = row.last_seq + 1;
	if (journal_head(j, ret->head, &ret->kept_to, err) < 0)
		goto out;
	rc = 0;
	goto out;
short_copy:
	xerr_set(err, XR_EJOURNAL, "journal '%s': events %lld to %lld are not all there "
	    "(verify the journal); nothing was changed", db, (long long)row.first_seq,
	    (long long)row.last_seq);
out:
	journal_close(a);
	journal_close(l);
	if (rc < 0) {
		/* Nothing was put in place: what was built beside the journal goes. */
		if (tmp != NULL)
			journal_file_remove(tmp, NULL);
		journal_file_remove(next, NULL);
	}
	journal_close(j);
	archive_rows_free(rows, nrows);
	archive_totals_free(tv, tn);
	free(name);
	free(tmp);
	free(next);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}

/* ------------------------------------------------------------- reading */

/* Whether archive r may hold what need asks for, or later events of it. */
static bool
needed(const struct archive_row *r, const struct archive_need *need)
{
	return need == NULL || (r->last_ts >= need->ts && r->last_run >= need->run &&
	    r->last_seq >= need->seq);
}

int
archive_span(const char *db, struct journal *j, const struct archive_need *need,
    const char *cmd, struct archive_read *ret, struct xerr *err)
{
	struct archive_row *rows = NULL;
	struct archive_part *parts;
	size_t n = 0, np = 0, max, first = 0;
	char line[1024];
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (journal_archives(j, &rows, &n, err) < 0)
		return -1;
	ret->live_from = n > 0 ? rows[n - 1].last_seq + 1 : 0;
	/* The first that may hold it, and every one after it: what follows it may be later. */
	while (first < n && !needed(&rows[first], need))
		first++;
	max = journal_span_max(j);
	parts = xcalloc(n + 1, sizeof(*parts));
	ret->unread = xcalloc(n + 1, sizeof(*ret->unread));
	for (size_t i = n; i-- > first;) {
		char *path = archive_path(db, rows[i].file);
		struct stat sb;
		line[0] = '\0';
		if (stat(path, &sb) < 0) {
			snprintf(line, sizeof(line), "archive '%s' is missing: its events %lld to %lld "
			    "are not read", path, (long long)rows[i].first_seq, (long long)rows[i].last_seq);
		} else if (np < max) {
			parts[np++] = (struct archive_part){path, rows[i].first_seq, rows[i].last_seq,
			    false, NULL};
			continue;
		} else if (np == max) {
			/* Older than can be read at once: said once, naming the newest of them. */
			snprintf(line, sizeof(line), "the archives of events %lld to %lld are not read: "
			    "at most %zu are read at once (with --db '%s', %s reads the older ones)",
			    (long long)rows[first].first_seq, (long long)rows[i].last_seq, max, path, cmd);
			np++;
		}
		if (line[0] != '\0')
			ret->unread[ret->nunread++] = xstrdup(line);
		free(path);
	}
	if (np > max)
		np = max;
	rc = journal_span_archives(j, parts, np, err);
	ret->parts = xcalloc(np + 1, sizeof(*ret->parts));
	for (size_t i = 0; i < np; i++) {
		if (rc == 0 && !parts[i].read) {
			snprintf(line, sizeof(line), "archive '%s' cannot be read (%s): its events %lld "
			    "to %lld are not read", parts[i].path, parts[i].why != NULL ? parts[i].why :
			    "?", (long long)parts[i].first_seq, (long long)parts[i].last_seq);
			ret->unread[ret->nunread++] = xstrdup(line);
		}
		if (rc == 0 && parts[i].read) {
			ret->parts[ret->nparts++] = parts[i];
			continue;
		}
		free((char *)parts[i].path);
		free(parts[i].why);
	}
	free(parts);
	archive_rows_free(rows, n);
	return rc;
}

void
archive_read_free(struct archive_read *r)
{
	strv_free(r->unread);
	for (size_t i = 0; i < r->nparts; i++) {
		free((char *)r->parts[i].path);
		free(r->parts[i].why);
	}
	free(r->parts);
	memset(r, 0, sizeof(*r));
}

void
archive_unread_err(struct xerr *err, const struct archive_read *r)
{
	struct buf b = BUF_INIT;

	if (r->nunread == 0 || err->code != XR_ENOTHING)
		return;
	buf_printf(&b, "%s (%s)", err->msg, r->unread[0]);
	snprintf(err->msg, sizeof(err->msg), "%s", buf_str(&b));
	buf_free(&b);
}
