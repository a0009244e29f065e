/*
 * payload.h: the journal's lossless text form of a stream entry's fields.
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

#include "../lib/buf.h"

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

/* Base64 (RFC 4648, with padding). */
void base64_encode(const void *p, size_t n, struct buf *out);
/* Appends the decoded bytes to out; -1 on bad input. */
int base64_decode(const char *s, size_t n, struct buf *out);

#endif
