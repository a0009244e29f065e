/* payload.c: the lossless JSON form of stream entry fields (see payload.h). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "util.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
base64_encode(const void *data, size_t n, struct buf *out)
{
	const unsigned char *p = data;
	size_t i = 0;

	buf_reserve(out, (n + 2) / 3 * 4);
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = {b64[v >> 18], b64[v >> 12 & 63], b64[v >> 6 & 63], b64[v & 63]};
		buf_add(out, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		char q[4] = {b64[v >> 18], b64[v >> 12 & 63],
		    i + 1 < n ? b64[v >> 6 & 63] : '=', '='};
		buf_add(out, q, 4);
	}
}

static int
b64val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p != NULL ? (int)(p - b64) : -1;
}

int
base64_decode(const char *s, size_t n, struct buf *out)
{
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else {
				if (pad)
					return -1;
				v[k] = b64val(s[i + k]);
				if (v[k] < 0)
					return -1;
			}
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		    (uint32_t)v[2] << 6 | (uint32_t)v[3];
		char q[3] = {(char)(x >> 16), (char)(x >> 8 & 255), (char)(x & 255)};
		buf_add(out, q, (size_t)(3 - pad));
	}
	return 0;
}

static void
encode_item(const struct bytes *b, struct buf *out)
{
	if (!buf_json_str(out, b->p, b->n)) {
		buf_adds(out, "{\"base64\":\"");
		base64_encode(b->p, b->n, out);
		buf_adds(out, "\"}");
	}
}

void
payload_encode(const struct bytes *fv, size_t n, struct buf *out)
{
	bool object = true;

	for (size_t i = 0; i < n; i += 2)
		if (!utf8_valid(fv[i].p, fv[i].n))
			object = false;
	buf_addc(out, object ? '{' : '[');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(out, object && i % 2 == 1 ? ':' : ',');
		encode_item(&fv[i], out);
	}
	buf_addc(out, object ? '}' : ']');
}

/* ------------------------------------------------------------- decoding */

struct parser {
	const char *s, *end;
	struct payload_space *sp;   /* where the items go */
};

static void
skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' ||
	    *p->s == '\r'))
		p->s++;
}

static bool
take(struct parser *p, char c)
{
	skip_ws(p);
	if (p->s < p->end && *p->s == c) {
		p->s++;
		return true;
	}
	return false;
}

static int
hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*ret = v;
	return 0;
}

static void
put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 63));
		buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 63));
		u[2] = (char)(0x80 | (cp & 63));
		buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 63));
		u[2] = (char)(0x80 | (cp >> 6 & 63));
		u[3] = (char)(0x80 | (cp & 63));
		buf_add(b, u, 4);
	}
}

/*
 * Where the run of bytes from s that a JSON string holds as they are ends:
 * at a quote, a backslash or a control byte.  Eight bytes at a time: each
 * test below is nonzero exactly when some byte of the word matches.
 */
static const char *
plain_end(const char *s, const char *end)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;

	while (end - s >= 8) {
		uint64_t v, q, bs;

		memcpy(&v, s, 8);
		q = v ^ (ones * '"');
		bs = v ^ (ones * '\\');
		if ((((q - ones) & ~q) | ((bs - ones) & ~bs) | ((v - ones * 0x20) & ~v)) & highs)
			break;
		s += 8;
	}
	while (s < end && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
		s++;
	return s;
}

/* A JSON string, decoded onto the end of b. */
static int
parse_string(struct parser *p, struct buf *b)
{
	if (!take(p, '"'))
		return -1;
	while (p->s < p->end) {
		const char *run = p->s;
		p->s = plain_end(p->s, p->end);
		buf_add(b, run, (size_t)(p->s - run));
		if (p->s >= p->end || (unsigned char)*p->s < 0x20)
			return -1;
		if (*p->s == '"') {
			p->s++;
			return 0;
		}
		/* backslash */
		if (p->end - p->s < 2)
			return -1;
		char c = p->s[1];
		p->s += 2;
		switch (c) {
		case '"': buf_addc(b, '"'); break;
		case '\\': buf_addc(b, '\\'); break;
		case '/': buf_addc(b, '/'); break;
		case 'b': buf_addc(b, '\b'); break;
		case 'f': buf_addc(b, '\f'); break;
		case 'n': buf_addc(b, '\n'); break;
		case 'r': buf_addc(b, '\r'); break;
		case 't': buf_addc(b, '\t'); break;
		case 'u': {
			uint32_t cp, lo;
			if (p->end - p->s < 4 || hex4(p->s, &cp) < 0)
				return -1;
			p->s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' ||
				    hex4(p->s + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return -1;
				p->s += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return -1;
			}
			put_utf8(b, cp);
			break;
		}
		default:
			return -1;
		}
	}
	return -1;
}

/* One name or value: a string, or {"base64":"..."}.  Records its extent. */
static int
parse_item(struct parser *p)
{
	struct payload_space *sp = p->sp;
	size_t start = sp->store.len;

	skip_ws(p);
	if (p->s < p->end && *p->s == '{') {
		struct buf key = BUF_INIT, enc = BUF_INIT;
		int rc = -1;

		p->s++;
		if (parse_string(p, &key) == 0 && strcmp(buf_str(&key), "base64") == 0 &&
		    key.len == 6 && take(p, ':') && parse_string(p, &enc) == 0 &&
		    take(p, '}') && base64_decode(buf_str(&enc), enc.len, &sp->store) == 0)
			rc = 0;
		buf_free(&key);
		buf_free(&enc);
		if (rc < 0)
			return -1;
	} else if (parse_string(p, &sp->store) < 0) {
		return -1;
	}
	if (sp->n + 1 > sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 16;
		sp->off = xrealloc(sp->off, sp->cap * 2 * sizeof(*sp->off));
	}
	sp->off[2 * sp->n] = start;
	sp->off[2 * sp->n + 1] = sp->store.len - start;
	sp->n++;
	return 0;
}

int
payload_decode_into(const char *json, size_t len, struct payload_space *sp,
    size_t *ret_first, size_t *ret_n)
{
	struct parser p = {json, json + len, sp};
	size_t first = sp->n, store_len = sp->store.len;
	bool object;
	char close;

	skip_ws(&p);
	if (take(&p, '{'))
		object = true;
	else if (take(&p, '['))
		object = false;
	else
		goto fail;
	close = object ? '}' : ']';
	if (!take(&p, close)) {
		for (;;) {
			if (parse_item(&p) < 0)
				goto fail;
			if (object) {
				if (!take(&p, ':') || parse_item(&p) < 0)
					goto fail;
			}
			if (take(&p, close))
				break;
			if (!take(&p, ','))
				goto fail;
		}
	}
	skip_ws(&p);
	if (p.s != p.end || (sp->n - first) % 2 != 0)
		goto fail;
	*ret_first = first;
	*ret_n = sp->n - first;
	return 0;
fail:
	sp->n = first;
	sp->store.len = store_len;
	return -1;
}

void
payload_space_items(const struct payload_space *sp, struct bytes *out)
{
	for (size_t i = 0; i < sp->n; i++) {
		out[i].p = sp->store.data + sp->off[2 * i];
		out[i].n = sp->off[2 * i + 1];
	}
}

void
payload_space_reset(struct payload_space *sp)
{
	buf_reset(&sp->store);
	sp->n = 0;
}

void
payload_space_free(struct payload_space *sp)
{
	buf_free(&sp->store);
	free(sp->off);
	memset(sp, 0, sizeof(*sp));
}

int
payload_decode(const char *json, size_t len, struct bytes **ret_fv,
    size_t *ret_n, char **ret_store)
{
	struct payload_space sp = PAYLOAD_SPACE_INIT;
	size_t first, n;

	if (payload_decode_into(json, len, &sp, &first, &n) < 0) {
		payload_space_free(&sp);
		return -1;
	}
	*ret_fv = xcalloc(n + 1, sizeof(**ret_fv));
	*ret_store = sp.store.data != NULL ? sp.store.data : xcalloc(1, 1);
	payload_space_items(&sp, *ret_fv);
	free(sp.off);
	*ret_n = n;
	return 0;
}
