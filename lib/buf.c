/* buf.c: growable byte buffer and allocation helpers. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

static void
oom(void)
{
	fputs("xrecover: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
	b->data[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static bool
plain_byte(unsigned char c)
{
	return c >= 0x20 && c != '"' && c != '\\' && c < 0x7f;
}

/*
 * Nonzero if a byte of w may need attention in a JSON string: below 0x20,
 * '"', '\\', 0x7f or above.  Eight bytes tested at once; a false alarm only
 * sends those bytes through the byte-by-byte test.
 */
static uint64_t
word_attention(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return (((w - ones * 0x20) | (q - ones) | (bs - ones) | (w + ones)) & ~w & high) |
	    (w & high);
}

/* The end of the run of plain bytes in s[i..n). */
static size_t
plain_run(const char *s, size_t i, size_t n)
{
	for (;;) {
		uint64_t w;

		while (i + 8 <= n && (memcpy(&w, s + i, 8), word_attention(w) == 0))
			i += 8;
		size_t lim = i + 8 < n ? i + 8 : n;
		while (i < lim && plain_byte((unsigned char)s[i]))
			i++;
		if (i < lim || i == n)
			return i;
	}
}

bool
buf_json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len, i = 0;

	/* Worst case: every byte becomes \u00XX. */
	buf_reserve(b, n * 6 + 2);
	char *o = b->data + b->len;
	*o++ = '"';
	while (i < n) {
		/* Copy the run of plain ASCII that needs no escape in one go. */
		size_t j = plain_run(s, i, n);
		memcpy(o, s + i, j - i);
		o += j - i;
		i = j;
		if (i == n)
			break;
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			size_t len = utf8_seq(s + i, n - i);
			if (len == 0) {
				b->len = start;
				b->data[start] = '\0';
				return false;
			}
			memcpy(o, s + i, len);
			o += len;
			i += len;
			continue;
		}
		i++;
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
	return true;
}

void
buf_add_esc(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && plain_byte((unsigned char)s[j]))
			j++;
		buf_add(b, s + i, j - i);
		if (j == n)
			break;
		i = j;
		unsigned char c = (unsigned char)s[i];
		if (c == '"') {
			buf_addc(b, '"');
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t len = utf8_seq(s + i, n - i);
			if (len > 0) {
				uint32_t cp = utf8_cp(s + i, len);
				if (cp_hidden(cp))
					buf_printf(b, "\\u%04x", (unsigned)cp);
				else
					buf_add(b, s + i, len);
				i += len;
				continue;
			}
		}
		i++;
		switch (c) {
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		default: {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			buf_add(b, e, 4);
		}
		}
	}
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
