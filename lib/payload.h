/*
 * payload.h: the lossless text form of a stream entry's fields, and the
 * fields themselves (struct bytes), for stream/ and store/ alike.
 *
 * A stream entry is a list of field/value pairs of arbitrary bytes, in
 * order, where a field may repeat.  The journal keeps it as JSON text so
 * that people can read it (and use json_extract) in the sqlite3 shell, and
 * so that it decodes back to the same bytes:
 *
 *   {"field":"value", ...}          every field name is valid UTF-8
 *   ["field", "value", ...]         some field name is not
 *
 * A name or value that is valid UTF-8 is a JSON string (NUL and other
 * control bytes as \u00XX escapes); one that is not becomes
 * {"base64":"..."}.  Order and repeated fields are kept as they are.
 */
#ifndef XR_PAYLOAD_H
#define XR_PAYLOAD_H

#include <stddef.h>

#include "buf.h"

struct bytes {
	const char *p;
	size_t n;
};

/* Appends the JSON form of fv[0..n) (field, value, field, value...) to out. */
void payload_encode(const struct bytes *fv, size_t n, struct buf *out);

/*
 * Decodes the JSON form.  OUT: *ret_fv (ret_n items, alternately field and
 * value) pointing into *ret_store; free both with free().  Returns -1 if
 * json is not in this form.
 */
int payload_decode(const char *json, size_t len, struct bytes **ret_fv,
    size_t *ret_n, char **ret_store);

/*
 * Decoding many payloads into one space, reused: each decode appends its
 * bytes to store and (offset, length) pairs to off.  Pointers are made
 * once all are in (the store moves as it grows).
 */
struct payload_space {
	struct buf store;
	size_t *off;                /* item i is store[off[2i] .. off[2i] + off[2i+1]) */
	size_t n, cap;
};

#define PAYLOAD_SPACE_INIT {BUF_INIT, NULL, 0, 0}

/* OUT: the payload's items are sp's [*ret_first, *ret_first + *ret_n).  On -1, sp is as before. */
int payload_decode_into(const char *json, size_t len, struct payload_space *sp,
    size_t *ret_first, size_t *ret_n);
/* out[0 .. sp->n): every item in sp. */
void payload_space_items(const struct payload_space *sp, struct bytes *out);
void payload_space_reset(struct payload_space *sp);   /* empties it, keeping the memory */
void payload_space_free(struct payload_space *sp);

/* Base64 (RFC 4648, with padding). */
void base64_encode(const void *p, size_t n, struct buf *out);
/* Appends the decoded bytes to out; -1 on bad input. */
int base64_decode(const char *s, size_t n, struct buf *out);

#endif
