/*
 * buf.h: a growable byte buffer, always NUL-terminated so it can be used as
 * a C string when it holds text.  Allocation failure aborts: xrecover has
 * nothing sensible to do without memory, and aborting cannot half-change
 * Redis (every change is one atomic command).
 */
#ifndef XR_BUF_H
#define XR_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct buf {
	char *data;     /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT {NULL, 0, 0}

/* Makes room for extra more bytes (and the NUL): the slow path of buf_reserve(). */
void buf_grow(struct buf *b, size_t extra);

/* Appending is most of what xrecover does per entry: inline, growing rarely. */
static inline void
buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		buf_grow(b, extra);
}

static inline void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void
buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Appends s as a JSON string literal (quotes included).  Returns false,
 * leaving b as it was, when s is not valid UTF-8.
 */
bool buf_json_str(struct buf *b, const char *s, size_t n);
/*
 * Appends s[0..n) as text that is safe on a terminal and in a log line,
 * and that reads back unambiguously: valid UTF-8 is kept; a backslash
 * becomes \\; newline, carriage return and tab become \n, \r, \t;
 * every other control byte (below 0x20, and DEL) and every byte that is
 * not UTF-8 becomes \xHH; the control characters and the ones that
 * reorder or break lines that UTF-8 can carry (C1 such as U+009B,
 * U+2028, U+2029, the bidirectional marks and overrides) become \uHHHH.
 * Every renderer of names and payloads for people goes through it.
 */
void buf_add_esc(struct buf *b, const char *s, size_t n);
void buf_reset(struct buf *b);          /* len = 0, keeps the memory */
void buf_free(struct buf *b);           /* frees and re-initialises */
/* The text so far ("" when empty); stays owned by b. */
const char *buf_str(const struct buf *b);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
