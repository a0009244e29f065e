/* chain.c: the journal's hash chain: hashing, the head, backfill (see chain.h). */
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"

#define DB_ERR(db, path, err, what) \
	xerr_set((err), XR_EJOURNAL, "journal '%s': %s: %s", (path), (what), sqlite3_errmsg(db))

const char *const chain_columns[CHAIN_COLS] = {
	"seq", "ts", "run", "kind", "stream", "grp", "entry_ms", "entry_seq", "consumer",
	"idle_ms", "deliveries", "payload", "detail", "batch", "ref_stream", "ref_ms", "ref_seq",
	"incident",
};

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

void
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

const unsigned char *
row_hash(sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, CHAIN_COLS) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, CHAIN_COLS) != CHAIN_HASH_LEN)
		return NULL;
	return sqlite3_column_blob(st, CHAIN_COLS);
}

int
chain_anchor(sqlite3 *db, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, CHAIN_HASH_LEN);
	*ret_seq = 0;
	if (sqlite3_prepare_v2(db, "SELECT last_seq, last_hash FROM archives"
	    " ORDER BY last_seq DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -1;
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
	if (rc == SQLITE_DONE) {
		/* None left here: the chain goes on from the last archive's, if any. */
		unsigned char h[CHAIN_HASH_LEN];
		int64_t at;
		if (chain_anchor(db, h, &at) < 0)
			return -1;
		if (at > 0 && at < seq) {
			memcpy(ret, h, CHAIN_HASH_LEN);
			*ret_seq = at;
		}
		return 0;
	}
	return rc == SQLITE_ROW ? 0 : -1;
}

int
chain_head(sqlite3 *db, const char *path, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq,
    struct xerr *err)
{
	if (hash_before(db, INT64_MAX, ret, ret_seq) < 0)
		return DB_ERR(db, path, err, "reading the chain's head");
	return 0;
}

/* ------------------------------------------------------------- backfill */

int
chain_backfill(sqlite3 *db, const char *path, struct xerr *err)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	unsigned char prev[CHAIN_HASH_LEN] = {0};
	struct chain_hasher *hs = chain_hasher_new();
	int64_t after = 0;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "SELECT " ROW_COLS_V3 " FROM events WHERE seq > ?1 ORDER BY seq"
	    " LIMIT 10000", -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE events SET hash = ?1 WHERE seq = ?2", -1, &upd,
	    NULL) != SQLITE_OK) {
		DB_ERR(db, path, err, "chaining the journal");
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
			DB_ERR(db, path, err, "chaining the journal");
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
				DB_ERR(db, path, err, "chaining the journal");
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
