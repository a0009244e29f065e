/*
 * json.h: a small streaming JSON writer over struct buf.  Commas and
 * nesting are tracked for the caller.  Strings that are not valid UTF-8
 * have each stray byte written as \u00XX, so the output is always valid
 * JSON (exact bytes, where they matter, are kept elsewhere: payload.h).
 * Control characters, and the code points cp_hidden() names, are always
 * \u escapes, so JSON printed on a terminal cannot act on it.
 */
#ifndef XR_JSON_H
#define XR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct jw {
	struct buf *b;
	int depth;
	bool need_comma[32];
	bool after_key;
};

void jw_init(struct jw *w, struct buf *b);
void jw_obj(struct jw *w);          /* { */
void jw_obj_end(struct jw *w);      /* } */
void jw_arr(struct jw *w);          /* [ */
void jw_arr_end(struct jw *w);      /* ] */
void jw_key(struct jw *w, const char *k);
void jw_str(struct jw *w, const char *s);       /* NULL writes null */
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_raw(struct jw *w, const char *json);    /* an already-encoded value */

/* Shorthands for "key": value inside an object. */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_kint(struct jw *w, const char *k, int64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);
/* "k": [strings]: the n strings of v, or with n JW_TO_NULL those up to a NULL. */
#define JW_TO_NULL ((size_t)-1)
void jw_kstrs(struct jw *w, const char *k, char *const *v, size_t n);

/*
 * Appends s as a JSON string, escaping stray non-UTF-8 bytes as \u00XX
 * and the code points cp_hidden() names as \uXXXX.
 */
void json_quote(struct buf *b, const char *s, size_t n);

#endif
