/*
 * chain.h: the journal's hash chain.
 *
 * Every event carries hash = SHA-256(previous event's hash || its own
 * canonical content); the first event's previous hash is 32 zero bytes.
 * The canonical content is the event's columns in table order, seq to
 * ref_seq (not hash), each as one tag byte and its value:
 *
 *   NULL     0x00
 *   integer  0x01, then 8 bytes, big-endian two's complement
 *   text     0x02, then its length in 8 bytes big-endian, then its bytes
 *
 * then each column added later (incident), the same way, only when it is
 * not NULL: adding a column never changes the hash of an older event.
 *
 * So changing, removing, inserting or reordering events breaks the chain
 * at the first one touched, and the newest hash (the head) stands for the
 * whole journal: kept elsewhere, it proves that nothing was cut off.
 */
#ifndef XR_CHAIN_H
#define XR_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/xr.h"

#define CHAIN_HASH_LEN 32
#define CHAIN_HEX_LEN (2 * CHAIN_HASH_LEN + 1)
#define CHAIN_BASE_COLS 17          /* seq .. ref_seq: always hashed */
#define CHAIN_COLS 18               /* and incident: hashed when not NULL */

enum cval_type { CV_NULL, CV_INT, CV_TEXT };

/* One column's value, as it is stored. */
struct cval {
	enum cval_type type;
	int64_t i;
	const char *s;
	size_t n;
};

/* The names of the columns the chain covers, in order ("seq", ..., "incident"). */
extern const char *const chain_columns[CHAIN_COLS];

/* What hashing needs, made once per thread. */
struct chain_hasher;
struct chain_hasher *chain_hasher_new(void);
void chain_hasher_free(struct chain_hasher *hs);

/* out = SHA-256(prev || canonical(v)). */
void chain_hash(struct chain_hasher *hs, const unsigned char prev[CHAIN_HASH_LEN],
    const struct cval v[CHAIN_COLS], unsigned char out[CHAIN_HASH_LEN]);

void chain_hex(const unsigned char h[CHAIN_HASH_LEN], char out[CHAIN_HEX_LEN]);
/* -1 unless s is 64 hex digits. */
int chain_unhex(const char *s, unsigned char out[CHAIN_HASH_LEN]);

/*
 * The rest is for store/, on the journal's SQLite handle; path names the
 * journal in error messages.
 */
struct sqlite3;
struct sqlite3_stmt;

/* "SELECT seq, ts, ..., incident, hash FROM events" and the rest. */
#define BASE_COLS \
	"seq, ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms, deliveries," \
	" payload, detail, batch, ref_stream, ref_ms, ref_seq"
#define ROW_COLS BASE_COLS ", incident, hash"
/* Before migration 004 there is no incident column: it is NULL. */
#define ROW_COLS_V3 BASE_COLS ", NULL, hash"

/* A row of ROW_COLS as values, pointing into st: valid until its next step. */
void row_values(struct sqlite3_stmt *st, struct cval v[CHAIN_COLS]);
/* The stored hash of the row, in st (NULL when it has none or it is not 32 bytes). */
const unsigned char *row_hash(struct sqlite3_stmt *st);
/*
 * The stored hash and seq of the last event before seq; when the journal
 * holds none, the last archived event's (chain_anchor) if it is before seq;
 * else the zero hash and 0.
 */
int hash_before(struct sqlite3 *db, int64_t seq, unsigned char ret[CHAIN_HASH_LEN],
    int64_t *ret_seq);

/*
 * The event the journal's chain goes on from after its archives (schema
 * 009): the last archived event's seq and hash (0 and the zero hash when
 * nothing was archived).
 */
int chain_anchor(struct sqlite3 *db, unsigned char ret[CHAIN_HASH_LEN], int64_t *ret_seq);

/* The newest event's hash and seq (seq 0 and zero hash for an empty journal). */
int chain_head(struct sqlite3 *db, const char *path, unsigned char ret[CHAIN_HASH_LEN],
    int64_t *ret_seq, struct xerr *err);

/*
 * Gives every event that has no hash yet its hash, in journal order (the
 * migration that brought the chain to older journals).
 */
int chain_backfill(struct sqlite3 *db, const char *path, struct xerr *err);

#endif
