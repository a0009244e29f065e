/* verify.c: walking a journal's hash chain for its first bad event (see verify.h). */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "chain.h"
#include "journal.h"
#include "verify.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

/* One thread's part of the walk: the events with seq in [from, to]. */
struct walker {
	const char *path;
	int64_t from, to;
	const unsigned char *want_head;
	atomic_llong *done;
	atomic_llong *stop_at;      /* the lowest bad seq found so far (INT64_MAX: none) */
	atomic_int *finished;       /* walkers done */
	int64_t bad_seq;            /* 0: none in this part */
	int64_t head_at;            /* seq holding want_head, 0: not here */
	int64_t checked;
	int rc;
	struct xerr err;
};

static void
lower_stop(atomic_llong *stop_at, int64_t seq)
{
	long long cur = atomic_load(stop_at);

	while (seq < cur && !atomic_compare_exchange_weak(stop_at, &cur, seq))
		;
}

static void *
walk(void *arg)
{
	struct walker *w = arg;
	struct journal *j = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char prev[CHAIN_HASH_LEN], h[CHAIN_HASH_LEN];
	int64_t prev_seq, n = 0;
	struct chain_hasher *hs = chain_hasher_new();
	int src;

	w->rc = -1;
	if (journal_open(w->path, JOURNAL_READ, &j, &w->err) < 0)
		goto out;
	if (hash_before(journal_db(j), w->from, prev, &prev_seq) < 0 ||
	    sqlite3_prepare_v2(journal_db(j), "SELECT " ROW_COLS " FROM events"
	    " WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
		DB_ERR(j, &w->err, "verifying");
		goto out;
	}
	sqlite3_bind_int64(st, 1, w->from);
	sqlite3_bind_int64(st, 2, w->to);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct cval v[CHAIN_COLS];
		int64_t seq = sqlite3_column_int64(st, 0);
		const unsigned char *stored = row_hash(st);

		if (seq >= atomic_load(w->stop_at))
			break;              /* a bad event before this one was found */
		row_values(st, v);
		if (stored != NULL)
			chain_hash(hs, prev, v, h);
		if (seq != prev_seq + 1 || stored == NULL ||
		    memcmp(h, stored, CHAIN_HASH_LEN) != 0) {
			w->bad_seq = seq;
			lower_stop(w->stop_at, seq);
			break;
		}
		if (w->want_head != NULL && memcmp(stored, w->want_head, CHAIN_HASH_LEN) == 0)
			w->head_at = seq;
		memcpy(prev, stored, CHAIN_HASH_LEN);
		prev_seq = seq;
		if (++n % 4096 == 0)
			atomic_fetch_add(w->done, 4096);
	}
	atomic_fetch_add(w->done, n % 4096);
	w->checked = n;
	if (src != SQLITE_ROW && src != SQLITE_DONE) {
		DB_ERR(j, &w->err, "verifying");
		goto out;
	}
	w->rc = 0;
out:
	sqlite3_finalize(st);
	journal_close(j);
	chain_hasher_free(hs);
	atomic_fetch_add(w->finished, 1);
	return NULL;
}

/* Rows around a bad event, for telling what was done to it. */
struct near {
	int64_t seq;
	struct cval v[CHAIN_COLS];
	unsigned char hash[CHAIN_HASH_LEN];
	bool has_hash;
	struct buf text;            /* v's texts */
};

static void
near_keep(struct near *r, sqlite3_stmt *st)
{
	const unsigned char *h = row_hash(st);
	size_t off[CHAIN_COLS];

	row_values(st, r->v);
	r->seq = r->v[0].i;
	r->has_hash = h != NULL;
	if (h != NULL)
		memcpy(r->hash, h, CHAIN_HASH_LEN);
	buf_reset(&r->text);
	for (int i = 0; i < CHAIN_COLS; i++) {
		off[i] = r->text.len;
		if (r->v[i].type == CV_TEXT)
			buf_add(&r->text, r->v[i].s, r->v[i].n);
	}
	for (int i = 0; i < CHAIN_COLS; i++)
		if (r->v[i].type == CV_TEXT)
			r->v[i].s = r->text.data != NULL ? r->text.data + off[i] : "";
}

/* Whether r, had it stood at seq after an event whose hash is prev, hashes to want. */
static bool
hashes_as(const struct near *r, int64_t seq, const unsigned char prev[CHAIN_HASH_LEN],
    const unsigned char want[CHAIN_HASH_LEN], struct chain_hasher *hs)
{
	struct cval v[CHAIN_COLS];
	unsigned char h[CHAIN_HASH_LEN];

	memcpy(v, r->v, sizeof(v));
	v[0].i = seq;
	chain_hash(hs, prev, v, h);
	return memcmp(h, want, CHAIN_HASH_LEN) == 0;
}

static void
describe(const struct near *r, char *out, size_t n)
{
	const struct cval *v = r->v;
	char id[64] = "";

	if (v[6].type == CV_INT && v[7].type == CV_INT)
		snprintf(id, sizeof(id), " %lld-%lld", (long long)v[6].i, (long long)v[7].i);
	snprintf(out, n, "%.*s%s%.*s%s%.*s%s", v[3].type == CV_TEXT ? (int)v[3].n : 1,
	    v[3].type == CV_TEXT ? v[3].s : "?", v[4].type == CV_TEXT ? " " : "",
	    v[4].type == CV_TEXT ? (int)(v[4].n > 60 ? 60 : v[4].n) : 0,
	    v[4].type == CV_TEXT ? v[4].s : "", v[5].type == CV_TEXT ? "/" : "",
	    v[5].type == CV_TEXT ? (int)(v[5].n > 60 ? 60 : v[5].n) : 0,
	    v[5].type == CV_TEXT ? v[5].s : "", id);
}

/*
 * The walk stopped at bad: tells what was done, by trying each story
 * against the stored hashes around it.
 */
static int
classify(struct journal *j, int64_t bad, struct chain_report *ret, struct xerr *err)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *st;
	struct near p = {0}, f = {0}, q = {0};
	struct chain_hasher *hs = chain_hasher_new();
	unsigned char zero[CHAIN_HASH_LEN] = {0};
	const unsigned char *prev;
	bool have_q = false;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLS " FROM events WHERE seq >= ?1"
	    " ORDER BY seq LIMIT 2", -1, &st, NULL) != SQLITE_OK)
		return DB_ERR(j, err, "verifying");
	sqlite3_bind_int64(st, 1, bad);
	if (sqlite3_step(st) == SQLITE_ROW)
		near_keep(&f, st);
	if (sqlite3_step(st) == SQLITE_ROW) {
		near_keep(&q, st);
		have_q = true;
	}
	sqlite3_finalize(st);
	if (hash_before(db, bad, p.hash, &p.seq) < 0) {
		DB_ERR(j, err, "verifying");
		goto out;
	}
	prev = p.seq > 0 ? p.hash : zero;
	ret->bad_seq = bad;
	describe(&f, ret->what, sizeof(ret->what));
	if (f.seq != p.seq + 1) {
		ret->status = CHAIN_DELETED;
		ret->missing_from = p.seq + 1;
		ret->missing_to = f.seq - 1;
	} else if (!f.has_hash) {
		ret->status = CHAIN_UNHASHED;
	} else if (have_q && q.has_hash && hashes_as(&q, q.seq, f.hash, q.hash, hs)) {
		/* The next one still follows from its stored hash: only its content changed. */
		ret->status = CHAIN_CHANGED;
	} else if (have_q && q.has_hash && hashes_as(&f, q.seq, q.hash, f.hash, hs)) {
		/* f follows from the next one: the two were swapped. */
		ret->status = CHAIN_REORDERED;
		ret->belongs_at = q.seq;
	} else if (have_q && q.has_hash && hashes_as(&q, q.seq - 1, prev, q.hash, hs)) {
		/* The next one was hashed right after p: f was put in between. */
		ret->status = CHAIN_INSERTED;
	} else if (have_q && q.has_hash && hashes_as(&q, q.seq + 1, f.hash, q.hash, hs)) {
		/* The events from f on were moved down by one: the one before f is gone. */
		ret->status = CHAIN_DELETED;
		ret->missing_from = ret->missing_to = 0;
	} else {
		/* Was f hashed somewhere else?  Look for where its hash follows. */
		sqlite3_stmt *pr;
		if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM events WHERE seq >= ?1"
		    " ORDER BY seq LIMIT 1000000", -1, &pr, NULL) != SQLITE_OK) {
			DB_ERR(j, err, "verifying");
			goto out;
		}
		sqlite3_bind_int64(pr, 1, bad + 1);
		ret->status = have_q ? CHAIN_CHANGED : CHAIN_INSERTED;
		while (sqlite3_step(pr) == SQLITE_ROW) {
			/*
			 * f belongs right after the event whose hash x holds: at
			 * x.seq + 1 if x is where it was, at x.seq if x and f were
			 * swapped with each other.
			 */
			int64_t xs = sqlite3_column_int64(pr, 0);
			const void *xh = sqlite3_column_blob(pr, 1);
			if (sqlite3_column_bytes(pr, 1) != CHAIN_HASH_LEN)
				continue;
			for (int64_t at = xs; at <= xs + 1; at++) {
				if (at != bad && hashes_as(&f, at, xh, f.hash, hs)) {
					ret->status = CHAIN_REORDERED;
					ret->belongs_at = at;
					break;
				}
			}
			if (ret->status == CHAIN_REORDERED)
				break;
		}
		sqlite3_finalize(pr);
	}
	rc = 0;
out:
	buf_free(&p.text);
	buf_free(&f.text);
	buf_free(&q.text);
	chain_hasher_free(hs);
	return rc;
}

/*
 * The copied table against the copies the events list: an index is not in
 * the chain, so it is checked against what is.
 */
static int
check_copied(struct journal *j, struct chain_report *ret, struct xerr *err)
{
#define COPIED_COLS "entry_ms, entry_seq, stream, grp, seq, pos, batch"
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM (SELECT " COPIED_COLS " FROM copy_events"
	    "   EXCEPT SELECT " COPIED_COLS " FROM copied)),"
	    " (SELECT count(*) FROM (SELECT " COPIED_COLS " FROM copied"
	    "   EXCEPT SELECT " COPIED_COLS " FROM copy_events))";
#undef COPIED_COLS
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(journal_db(j), sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return DB_ERR(j, err, "verifying the index of copies");
	}
	ret->index_missing = sqlite3_column_int64(st, 0);
	ret->index_extra = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (ret->index_missing > 0 || ret->index_extra > 0)
		ret->status = CHAIN_INDEX;
	return 0;
}

int
chain_verify(const char *path, const unsigned char *want_head, chain_progress_fn progress,
    void *progress_ctx, struct chain_report *ret, struct xerr *err)
{
	return chain_verify_range(path, 0, 0, want_head, progress, progress_ctx, ret, err);
}

int
chain_verify_range(const char *path, int64_t from, int64_t to, const unsigned char *want_head,
    chain_progress_fn progress, void *progress_ctx, struct chain_report *ret, struct xerr *err)
{
	struct journal *j = NULL;
	sqlite3_stmt *st = NULL;
	int64_t lo = 0, hi = 0, total = 0;
	atomic_llong done = 0, stop_at = INT64_MAX;
	atomic_int finished = 0;
	struct walker w[2];
	pthread_t th[2];
	int nw = 0, rc = -1;

	memset(ret, 0, sizeof(*ret));
	memset(w, 0, sizeof(w));
	if (journal_open(path, JOURNAL_READ, &j, err) < 0)
		return -1;
	if (sqlite3_prepare_v2(journal_db(j), "SELECT min(seq), max(seq), count(*) FROM events"
	    " WHERE seq >= ?1 AND (?2 = 0 OR seq <= ?2)", -1, &st, NULL) != SQLITE_OK) {
		DB_ERR(j, err, "verifying");
		goto out;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	if (sqlite3_step(st) != SQLITE_ROW) {
		DB_ERR(j, err, "verifying");
		goto out;
	}
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	total = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	st = NULL;
	/* After archives, the journal starts at the event after the last archived one. */
	if (chain_anchor(journal_db(j), ret->anchor, &ret->anchor_seq) < 0) {
		DB_ERR(j, err, "verifying");
		goto out;
	}
	/* Two halves, walked at once; each starts from the stored hash before it. */
	int64_t mid = lo + (hi - lo) / 2;
	for (int i = 0; i < 2 && total > 0; i++) {
		w[i].path = path;
		/* The whole journal starts at event 1: events missing before lo count. */
		w[i].from = i == 0 ? (from > 0 ? from : ret->anchor_seq + 1) : mid + 1;
		w[i].to = i == 0 ? mid : hi;
		w[i].want_head = want_head;
		w[i].done = &done;
		w[i].stop_at = &stop_at;
		w[i].finished = &finished;
		if (w[i].from > w[i].to)
			continue;
		if (pthread_create(&th[nw], NULL, walk, &w[i]) != 0) {
			xerr_set(err, XR_EFAIL, "cannot start a thread");
			break;
		}
		nw++;
	}
	while (progress != NULL && nw > 0) {
		bool over = atomic_load(&finished) == nw;
		progress(progress_ctx, atomic_load(&done), total);
		if (over)
			break;
		struct timespec ts = {0, 100000000L};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nw; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (w[i].rc < 0 && w[i].from <= w[i].to && total > 0) {
			*err = w[i].err;
			goto out;
		}
	}
	ret->events = total;
	ret->first_seq = lo;
	if (to > 0) {
		/* The head of the range: the stored hash of its last event. */
		unsigned char h[CHAIN_HASH_LEN];
		if (total > 0 && hash_before(journal_db(j), hi + 1, h, &ret->head_seq) < 0) {
			DB_ERR(j, err, "verifying");
			goto out;
		}
		if (total > 0)
			memcpy(ret->head, h, CHAIN_HASH_LEN);
	} else if (chain_head(journal_db(j), journal_path(j), ret->head, &ret->head_seq, err) < 0) {
		goto out;
	}
	for (int i = 0; i < 2; i++)
		if (w[i].head_at > 0)
			ret->head_at = w[i].head_at;
	if (atomic_load(&stop_at) != INT64_MAX) {
		if (classify(j, atomic_load(&stop_at), ret, err) < 0)
			goto out;
	} else if (want_head != NULL && ret->head_at == 0) {
		ret->status = CHAIN_HEAD_MISSING;
	} else {
		ret->status = CHAIN_WHOLE;
		if (to == 0 && check_copied(j, ret, err) < 0)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	journal_close(j);
	return rc;
}

/* -------------------------------------------------- the last verify */

/* "<db>.verified". OUT: free(). */
static char *
last_path(const char *db)
{
	char *p = xmalloc(strlen(db) + 10);

	sprintf(p, "%s.verified", db);
	return p;
}

int
chain_record_write(const char *db, const char *status, const struct chain_report *r)
{
	struct buf b = BUF_INIT;
	struct jw w;
	char head[CHAIN_HEX_LEN];
	char *p = last_path(db);
	int rc;

	chain_hex(r->head, head);
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kint(&w, "verified_at", now_ms());
	jw_kstr(&w, "status", status);
	jw_kbool(&w, "ok", r->status == CHAIN_WHOLE);
	jw_kint(&w, "events", r->events);
	jw_kint(&w, "archived_events", r->archived_events);
	jw_kstr(&w, "head", head);
	jw_kint(&w, "head_seq", r->head_seq);
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	rc = file_replace(p, b.data, b.len, 0600);
	buf_free(&b);
	free(p);
	return rc;
}

int
chain_record_read(const char *db, struct chain_record *ret)
{
	char *p = last_path(db);
	struct buf b = BUF_INIT;
	cJSON *d = NULL;
	const cJSON *at, *ok;
	FILE *f = fopen(p, "r");
	char chunk[512];
	size_t n;
	int rc = -1;

	free(p);
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < 65536)
		buf_add(&b, chunk, n);
	fclose(f);
	d = cJSON_Parse(buf_str(&b));
	at = cJSON_GetObjectItemCaseSensitive(d, "verified_at");
	ok = cJSON_GetObjectItemCaseSensitive(d, "ok");
	if (cJSON_IsNumber(at) && cJSON_IsBool(ok)) {
		ret->at_ms = (int64_t)at->valuedouble;
		ret->ok = cJSON_IsTrue(ok);
		rc = 0;
	}
	cJSON_Delete(d);
	buf_free(&b);
	return rc;
}
