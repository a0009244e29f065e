/* json.c: the streaming JSON writer. */
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* Whether s[0..n) may hold a code point that cp_hidden() names (all start 0xc2 or 0xe2). */
static bool
may_hide(const char *s, size_t n)
{
	return memchr(s, 0xc2, n) != NULL || memchr(s, 0xe2, n) != NULL;
}

void
json_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	if (!may_hide(s, n) && buf_json_str(b, s, n))
		return;
	/*
	 * Write valid stretches as they are, each stray byte as \u00XX, and
	 * the code points a terminal would act on as \uXXXX: JSON is printed
	 * on terminals too.
	 */
	buf_addc(b, '"');
	while (i < n) {
		size_t j = i;
		while (j < n && (unsigned char)s[j] < 0x80)
			j++;
		if (j > i) {
			struct buf tmp = BUF_INIT;
			buf_json_str(&tmp, s + i, j - i);
			buf_add(b, tmp.data + 1, tmp.len - 2);
			buf_free(&tmp);
			i = j;
			continue;
		}
		size_t len = utf8_seq(s + i, n - i);
		if (len > 0 && cp_hidden(utf8_cp(s + i, len))) {
			buf_printf(b, "\\u%04x", (unsigned)utf8_cp(s + i, len));
			i += len;
		} else if (len > 0) {
			buf_add(b, s + i, len);
			i += len;
		} else {
			unsigned char c = (unsigned char)s[i++];
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			buf_add(b, e, 6);
		}
	}
	buf_addc(b, '"');
}

void
jw_init(struct jw *w, struct buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

static void
sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		buf_addc(w->b, ',');
	w->need_comma[w->depth] = true;
}

static void
open_(struct jw *w, char c)
{
	sep(w);
	buf_addc(w->b, c);
	if (w->depth < 31)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void
close_(struct jw *w, char c)
{
	buf_addc(w->b, c);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj(struct jw *w) { open_(w, '{'); }
void jw_obj_end(struct jw *w) { close_(w, '}'); }
void jw_arr(struct jw *w) { open_(w, '['); }
void jw_arr_end(struct jw *w) { close_(w, ']'); }

void
jw_key(struct jw *w, const char *k)
{
	sep(w);
	json_quote(w->b, k, strlen(k));
	buf_addc(w->b, ':');
	w->after_key = true;
}

void
jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	json_quote(w->b, s, n);
}

void
jw_str(struct jw *w, const char *s)
{
	if (s == NULL)
		jw_null(w);
	else
		jw_strn(w, s, strlen(s));
}

void
jw_int(struct jw *w, int64_t v)
{
	char tmp[24];
	int n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	sep(w);
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		tmp[n++] = '-';
	buf_reserve(w->b, (size_t)n);
	while (n > 0)
		w->b->data[w->b->len++] = tmp[--n];
	w->b->data[w->b->len] = '\0';
}

void
jw_bool(struct jw *w, bool v)
{
	sep(w);
	buf_adds(w->b, v ? "true" : "false");
}

void
jw_null(struct jw *w)
{
	sep(w);
	buf_adds(w->b, "null");
}

void
jw_raw(struct jw *w, const char *json)
{
	sep(w);
	buf_adds(w->b, json);
}

void
jw_kstr(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	jw_str(w, s);
}

void
jw_kint(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	jw_int(w, v);
}

void
jw_kbool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	jw_bool(w, v);
}

void
jw_kstrs(struct jw *w, const char *k, char *const *v, size_t n)
{
	jw_key(w, k);
	jw_arr(w);
	for (size_t i = 0; i < n && (n != JW_TO_NULL || v[i] != NULL); i++)
		jw_str(w, v[i]);
	jw_arr_end(w);
}
