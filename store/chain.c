/* chain.c: the journal's hash chain: hashing, backfill, verify (see chain.h). */
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "journal.h"

#define DB_ERR(j, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", journal_path(j), (what), \
	    journal_errmsg(j))

const char *const chain_columns[CHAIN_COLS] = {
	"seq", "ts", "run", "kind", "stream", "grp", "entry_ms", "entry_seq", "consumer",
	"idle_ms", "deliveries", "payload", "detail", "batch", "ref_stream", "ref_ms", "ref_seq",
	"incident",
};

/* "SELECT seq, ts, ..., incident, hash FROM events" and the rest. */
#define BASE_COLS \
	"seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms, deliveries," \
	" payload, detail, batch, ref_stream, ref_ms, ref_seq"
#define ROW_COLS BASE_COLS ", incident, hash"
/* Before migration 004 there is no incident column: it is NULL. */
#define ROW_COLS_V3 BASE_COLS ", NULL, hash"

static void
put_be64(struct buf *b, uint64_t v)
{
	unsigned char x[8];

	for (int i = 7; i >= 0; i--) {
		x[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	buf_add(b, x, 8);
}

/* OpenSSL 3 looks an algorithm up on each one-shot call: fetch it once. */
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256;

static void
md_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

struct chain_hasher {
	EVP_MD_CTX *ctx;
	struct buf canon;
};

struct chain_hasher *
chain_hasher_new(void)
{
	struct chain_hasher *hs = xcalloc(1, sizeof(*hs));

	pthread_once(&md_once, md_fetch);
	hs->ctx = EVP_MD_CTX_new();
	if (sha256 == NULL || hs->ctx == NULL) {
		fprintf(stderr, "xrecover: OpenSSL has no SHA-256\n");
		abort();
	}
	return hs;
}

void
chain_hasher_free(struct chain_hasher *hs)
{
	if (hs == NULL)
		return;
	EVP_MD_CTX_free(hs->ctx);
	buf_free(&hs->canon);
	free(hs);
}

void
chain_hash(struct chain_hasher *hs, const unsigned char prev[CHAIN_HASH_LEN],
    const struct cval v[CHAIN_COLS], unsigned char out[CHAIN_HASH_LEN])
{
	struct buf *canon = &hs->canon;
	unsigned int n;

	buf_reset(canon);
	buf_add(canon, prev, CHAIN_HASH_LEN);
	for (int i = 0; i < CHAIN_COLS; i++) {
		switch (v[i].type) {
		case CV_NULL:
			if (i < CHAIN_BASE_COLS)
				buf_addc(canon, 0);
			break;
		case CV_INT:
			buf_addc(canon, 1);
			put_be64(canon, (uint64_t)v[i].i);
			break;
		case CV_TEXT:
			buf_addc(canon, 2);
			put_be64(canon, (uint64_t)v[i].n);
			buf_add(canon, v[i].s, v[i].n);
			break;
		}
	}
	if (EVP_DigestInit_ex(hs->ctx, sha256, NULL) != 1 ||
	    EVP_DigestUpdate(hs->ctx, canon->data, canon->len) != 1 ||
	    EVP_DigestFinal_ex(hs->ctx, out, &n) != 1) {
		fprintf(stderr, "xrecover: SHA-256 failed\n");
		abort();
	}
}

void
chain_hex(const unsigned char h[CHAIN_HASH_LEN], char out[CHAIN_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < CHAIN_HASH_LEN; i++) {
		out[2 * i] = digits[h[i] >> 4];
		out[2 * i + 1] = digits[h[i] & 15];
	}
	out[2 * CHAIN_HASH_LEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
chain_unhex(const char *s, unsigned char out[CHAIN_HASH_LEN])
{
	if (strlen(s) != 2 * CHAIN_HASH_LEN)
		return -1;
	for (int i = 0; i < CHAIN_HASH_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A row of ROW_COLS as values; valid until the next step. */
static void
row_values(sqlite3_stmt *st, struct cval v[CHAIN_COLS])
{
	for (int i = 0; i < CHAIN_COLS; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			v[i] = (struct cval){CV_NULL, 0, NULL, 0};
			break;
		case SQLITE_INTEGER:
			v[i] = (struct cval){CV_INT, sqlite3_column_int64(st, i), NULL, 0};
			break;
		default:
			/* STRICT: the other columns are TEXT. */
			v[i].type = CV_TEXT;
			v[i].s = (const char *)sqlite3_column_text(st, i);
			v[i].n = (size_t)sqlite3_column_bytes(st, i);
			v[i].i = 0;
			break;
		}
	}
}

/* The stored hash of the row (NULL when it has none or it is not 32 bytes). */
static const unsigned char *
row_hash(sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, CHAIN_COLS) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, CHAIN_COLS) != CHAIN_HASH_LEN)
		return NULL;
	return sqlite3_column_blob(st, CHAIN_COLS);
}

/* The stored hash and seq of the last event before seq (zero hash, 0 when none). */
static int
hash_before(sqlite3 *db, int64_t seq, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, CHAIN_HASH_LEN);
	*ret_seq = 0;
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM events WHERE seq < ?1"
	    " ORDER BY seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == CHAIN_HASH_LEN)
			memcpy(ret, sqlite3_column_blob(st, 1), CHAIN_HASH_LEN);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
chain_head(struct journal *j, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq,
    struct xerr *err)
{
	if (hash_before(journal_db(j), INT64_MAX, ret, ret_seq) < 0)
		return DB_ERR(j, err, "reading the chain's head");
	return 0;
}

/* ------------------------------------------------------------- backfill */

int
chain_backfill(struct journal *j, struct xerr *err)
{
	sqlite3 *db = journal_db(j);
	sqlite3_stmt *sel = NULL, *upd = NULL;
	unsigned char prev[CHAIN_HASH_LEN] = {0};
	struct chain_hasher *hs = chain_hasher_new();
	int64_t after = 0;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLS_V3 " FROM events WHERE seq > ?1 ORDER BY seq"
	    " LIMIT 10000", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE events SET hash = ?1 WHERE seq = ?2", -1, &upd,
	    NULL) != SQLITE_OK) {
		DB_ERR(j, err, "chaining the journal");
		goto out;
	}
	for (;;) {
		/* A chunk at a time: the rows are read, then hashed in place. */
		struct { int64_t seq; unsigned char h[CHAIN_HASH_LEN]; bool set; } *todo = NULL;
		size_t n = 0, cap = 0;
		int src;

		sqlite3_bind_int64(sel, 1, after);
		while ((src = sqlite3_step(sel)) == SQLITE_ROW) {
			struct cval v[CHAIN_COLS];
			const unsigned char *h = row_hash(sel);

			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				todo = xrealloc(todo, cap * sizeof(*todo));
			}
			todo[n].seq = sqlite3_column_int64(sel, 0);
			todo[n].set = h == NULL;
			if (h == NULL) {
				row_values(sel, v);
				chain_hash(hs, prev, v, todo[n].h);
				h = todo[n].h;
			}
			memcpy(prev, h, CHAIN_HASH_LEN);
			n++;
		}
		sqlite3_reset(sel);
		if (src != SQLITE_DONE) {
			free(todo);
			DB_ERR(j, err, "chaining the journal");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (!todo[i].set)
				continue;
			sqlite3_bind_blob(upd, 1, todo[i].h, CHAIN_HASH_LEN, SQLITE_STATIC);
			sqlite3_bind_int64(upd, 2, todo[i].seq);
			src = sqlite3_step(upd);
			sqlite3_reset(upd);
			if (src != SQLITE_DONE) {
				free(todo);
				DB_ERR(j, err, "chaining the journal");
				goto out;
			}
		}
		if (n == 0) {
			free(todo);
			break;
		}
		after = todo[n - 1].seq;
		free(todo);
	}
	rc = 0;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	chain_hasher_free(hs);
	return rc;
}

/* --------------------------------------------------------------- verify */

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
	/* Two halves, walked at once; each starts from the stored hash before it. */
	int64_t mid = lo + (hi - lo) / 2;
	for (int i = 0; i < 2 && total > 0; i++) {
		w[i].path = path;
		/* The whole journal starts at event 1: events missing before lo count. */
		w[i].from = i == 0 ? (from > 0 ? from : 1) : mid + 1;
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
	if (to > 0) {
		/* The head of the range: the stored hash of its last event. */
		unsigned char h[CHAIN_HASH_LEN];
		if (total > 0 && hash_before(journal_db(j), hi + 1, h, &ret->head_seq) < 0) {
			DB_ERR(j, err, "verifying");
			goto out;
		}
		if (total > 0)
			memcpy(ret->head, h, CHAIN_HASH_LEN);
	} else if (chain_head(j, ret->head, &ret->head_seq, err) < 0) {
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
