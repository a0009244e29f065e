/*
 * unit.c: unit tests of the pure pieces (no Redis, no files): durations,
 * times, entry IDs, UTF-8, the payload codec, base64, the JSON writer,
 * logfmt quoting, Redis URLs and webhook URLs as shown.  Prints TAP lines ("ok N - name").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cmd/out.h"
#include "../core/metrics.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "../lib/payload.h"
#include "../notify/notify.h"
#include "../stream/redis.h"

static int n_test, n_failed;
static int case_failed;

#define CHECK(cond) do { if (!(cond)) { \
	printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	case_failed = 1; } } while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
	if (strcmp(a_, b_) != 0) { \
		printf("#   %s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_, b_); \
		case_failed = 1; } } while (0)

static void
run(const char *name, void (*fn)(void))
{
	case_failed = 0;
	fn();
	n_test++;
	if (case_failed) {
		n_failed++;
		printf("not ok %d - unit: %s\n", n_test, name);
	} else {
		printf("ok %d - unit: %s\n", n_test, name);
	}
}

static void
t_durations(void)
{
	int64_t ms;
	char out[32];

	CHECK(parse_duration("1500ms", &ms) == 0 && ms == 1500);
	CHECK(parse_duration("90s", &ms) == 0 && ms == 90000);
	CHECK(parse_duration("5m", &ms) == 0 && ms == 300000);
	CHECK(parse_duration("1h", &ms) == 0 && ms == 3600000);
	CHECK(parse_duration("90", &ms) == 0 && ms == 90000);
	CHECK(parse_duration("0", &ms) == 0 && ms == 0);
	CHECK(parse_duration("1h30m", &ms) == 0 && ms == 5400000);
	CHECK(parse_duration("2d", &ms) == 0 && ms == 172800000);
	CHECK(parse_duration("", &ms) < 0);
	CHECK(parse_duration("abc", &ms) < 0);
	CHECK(parse_duration("-5s", &ms) < 0);
	CHECK(parse_duration("5x", &ms) < 0);
	CHECK(parse_duration("5 s", &ms) < 0);
	CHECK(parse_duration("s", &ms) < 0);
	CHECK(parse_duration("1.5s", &ms) < 0);
	CHECK(parse_duration("99999999999999999999s", &ms) == -2);
	/* The longest there is, and nothing past it: no overflow, whatever the digits. */
	CHECK(parse_duration("36500d", &ms) == 0 && ms == DURATION_MAX_MS);
	CHECK(parse_duration("3153600000000ms", &ms) == 0 && ms == DURATION_MAX_MS);
	CHECK(parse_duration("36500d1ms", &ms) == -2);
	CHECK(parse_duration("36499d24h1ms", &ms) == -2);
	CHECK(parse_duration("106751991167d", &ms) == -2);
	CHECK(parse_duration("9223372036854775807ms", &ms) == -2);
	CHECK(parse_duration("18446744073709551615d", &ms) == -2);
	CHECK(parse_duration("3153600001", &ms) == -2);
	CHECK(parse_duration("1e300", &ms) == -1);
	CHECK(parse_duration("nan", &ms) == -1);
	CHECK(parse_duration("inf", &ms) == -1);
	CHECK(parse_duration("99999999999999999999x", &ms) == -1);
	format_duration(60000, out, sizeof(out));
	CHECK_STR(out, "1m");
	format_duration(1500, out, sizeof(out));
	CHECK_STR(out, "1500ms");
	format_duration(7380000, out, sizeof(out));
	CHECK_STR(out, "2h3m");
	format_duration(90000, out, sizeof(out));
	CHECK_STR(out, "1m30s");
	format_age(850, out, sizeof(out));
	CHECK_STR(out, "850ms");
	format_age(12345, out, sizeof(out));
	CHECK_STR(out, "12.3s");
	format_age(245000, out, sizeof(out));
	CHECK_STR(out, "4m5s");
	format_age(11040000, out, sizeof(out));
	CHECK_STR(out, "3h4m");
	format_age(183600000, out, sizeof(out));
	CHECK_STR(out, "2d3h");
	/* What format_duration writes, parse_duration reads back. */
	int64_t samples[] = {0, 1, 999, 1000, 59000, 61000, 3600000, 3601000, 86400000, 90061000};
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		format_duration(samples[i], out, sizeof(out));
		CHECK(parse_duration(out, &ms) == 0 && ms == samples[i]);
	}
}

static void
t_times(void)
{
	char out[40];
	int64_t ms;

	format_utc(1768644328000LL, false, out, sizeof(out));
	CHECK_STR(out, "2026-01-17T10:05:28Z");
	format_utc(1768644328123LL, true, out, sizeof(out));
	CHECK_STR(out, "2026-01-17T10:05:28.123Z");
	CHECK(parse_time("2026-01-17T10:05:28Z", 0, &ms) == 0 && ms == 1768644328000LL);
	CHECK(parse_time("2026-01-17", 0, &ms) == 0 && ms == 1768608000000LL);
	CHECK(parse_time("2h", 10000000, &ms) == 0 && ms == 10000000 - 7200000);
	CHECK(parse_time("yesterday", 0, &ms) < 0);
	CHECK(parse_time("2026-01-17T25:00:00Z", 0, &ms) < 0);
}

static void
t_entry_ids(void)
{
	struct entry_id id;
	char out[ENTRY_ID_STRLEN];

	CHECK(entry_id_parse("1700000000000-5", 15, &id) == 0 && id.ms == 1700000000000ULL &&
	    id.seq == 5);
	CHECK(entry_id_parse("42", 2, &id) == 0 && id.ms == 42 && id.seq == 0);
	CHECK(entry_id_parse("-5", 2, &id) < 0);
	CHECK(entry_id_parse("1-", 2, &id) < 0);
	CHECK(entry_id_parse("1-2-3", 5, &id) < 0);
	CHECK(entry_id_parse("18446744073709551616-0", 22, &id) < 0);
	CHECK(entry_id_parse("18446744073709551615-18446744073709551615", 41, &id) == 0 &&
	    id.ms == UINT64_MAX && id.seq == UINT64_MAX);
	CHECK(entry_id_parse("018446744073709551615-9999999999999999999", 41, &id) == 0 &&
	    id.ms == UINT64_MAX && id.seq == 9999999999999999999ULL);
	CHECK(entry_id_parse("5-18446744073709551616", 22, &id) < 0);
	CHECK(entry_id_parse("99999999999999999999-0", 22, &id) < 0);
	id.ms = 7;
	id.seq = UINT64_MAX;
	id = entry_id_next(id);
	CHECK(id.ms == 8 && id.seq == 0);
	entry_id_format(id, out, sizeof(out));
	CHECK_STR(out, "8-0");
	struct entry_id a = {1, 2}, b = {1, 3}, c = {2, 0};
	CHECK(entry_id_cmp(a, b) < 0 && entry_id_cmp(c, b) > 0 && entry_id_cmp(a, a) == 0);
}

static void
t_utf8(void)
{
	CHECK(utf8_valid("plain", 5));
	CHECK(utf8_valid("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 9));
	CHECK(utf8_valid("a\0b", 3));
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("\xc3\x28", 2));
	CHECK(!utf8_valid("\xc0\xaf", 2));            /* overlong */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));        /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));    /* > U+10FFFF */
	CHECK(!utf8_valid("\xe4\xb8", 2));            /* truncated */
}

static void
t_base64(void)
{
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

	for (size_t i = 0; i < 7; i++) {
		struct buf b = BUF_INIT, d = BUF_INIT;
		base64_encode(in[i], strlen(in[i]), &b);
		CHECK_STR(buf_str(&b), want[i]);
		CHECK(base64_decode(b.data ? b.data : "", b.len, &d) == 0);
		CHECK(d.len == strlen(in[i]) && memcmp(buf_str(&d), in[i], d.len) == 0);
		buf_free(&b);
		buf_free(&d);
	}
	struct buf d = BUF_INIT;
	CHECK(base64_decode("Zm9", 3, &d) < 0);
	CHECK(base64_decode("Zm=v", 4, &d) < 0);
	CHECK(base64_decode("Z!9v", 4, &d) < 0);
	buf_free(&d);
}

/* Encodes fv, checks the text against want (if given) and that it decodes back. */
static void
roundtrip(const struct bytes *fv, size_t n, const char *want)
{
	struct buf b = BUF_INIT;
	struct bytes *out;
	size_t nout;
	char *store;

	payload_encode(fv, n, &b);
	if (want != NULL)
		CHECK_STR(buf_str(&b), want);
	CHECK(utf8_valid(buf_str(&b), b.len));
	if (payload_decode(buf_str(&b), b.len, &out, &nout, &store) < 0) {
		CHECK(!"decodes");
	} else {
		CHECK(nout == n);
		for (size_t i = 0; i < n && i < nout; i++)
			CHECK(out[i].n == fv[i].n && memcmp(out[i].p, fv[i].p, fv[i].n) == 0);
		free(out);
		free(store);
	}
	buf_free(&b);
}

static void
t_payload(void)
{
	struct bytes a[] = {{"order", 5}, {"42", 2}, {"note", 4}, {"hi \"there\"", 10}};
	roundtrip(a, 4, "{\"order\":\"42\",\"note\":\"hi \\\"there\\\"\"}");

	struct bytes nul[] = {{"v", 1}, {"a\0b", 3}};
	roundtrip(nul, 2, "{\"v\":\"a\\u0000b\"}");

	struct bytes bad[] = {{"v", 1}, {"\xff\xfe", 2}};
	roundtrip(bad, 2, "{\"v\":{\"base64\":\"//4=\"}}");

	struct bytes badkey[] = {{"\xc3\x28", 2}, {"x", 1}};
	roundtrip(badkey, 2, "[{\"base64\":\"wyg=\"},\"x\"]");

	struct bytes dup[] = {{"a", 1}, {"1", 1}, {"a", 1}, {"2", 1}};
	roundtrip(dup, 4, "{\"a\":\"1\",\"a\":\"2\"}");

	struct bytes empty[] = {{"e", 1}, {"", 0}};
	roundtrip(empty, 2, "{\"e\":\"\"}");

	struct bytes uni[] = {{"\xc3\xa9", 2}, {"\xf0\x9f\x98\x80", 4}};
	roundtrip(uni, 2, "{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}");

	/* Random bytes of every length up to 300, 200 times. */
	unsigned int seed = 12345;
	for (int k = 0; k < 200; k++) {
		char f[300], v[300];
		size_t fl = (size_t)(rand_r(&seed) % 300), vl = (size_t)(rand_r(&seed) % 300);
		for (size_t i = 0; i < fl; i++)
			f[i] = (char)(k % 3 == 0 ? 'a' + rand_r(&seed) % 26 : rand_r(&seed));
		for (size_t i = 0; i < vl; i++)
			v[i] = (char)(k % 2 == 0 ? 0x20 + rand_r(&seed) % 95 : rand_r(&seed));
		struct bytes r[] = {{f, fl}, {v, vl}, {"tail", 4}, {v, vl / 2}};
		roundtrip(r, 4, NULL);
	}

	/* Every ASCII byte, and a two-byte character, at every offset of a value. */
	for (int c = 0; c < 0x80; c++) {
		for (size_t off = 0; off < 17; off++) {
			char v[17];
			memset(v, 'x', sizeof(v));
			v[off] = (char)c;
			if (off < 16 && c == 0x7f) {
				v[off] = '\xc3';
				v[off + 1] = '\xa9';
			}
			struct bytes r[] = {{"v", 1}, {v, sizeof(v)}};
			roundtrip(r, 2, NULL);
		}
	}
	/* A raw control byte, which a JSON string may not hold, is refused wherever it is. */
	for (size_t off = 0; off < 17; off++) {
		char json[64];
		struct bytes *o;
		size_t no;
		char *st;
		snprintf(json, sizeof(json), "{\"a\":\"%.*s\x01%.*s\"}", (int)off,
		    "xxxxxxxxxxxxxxxxx", (int)(16 - off), "xxxxxxxxxxxxxxxxx");
		if (payload_decode(json, strlen(json), &o, &no, &st) == 0) {
			CHECK(!"a raw control byte is refused");
			free(o);
			free(st);
		}
	}

	/* A megabyte of binary. */
	size_t mb = 1 << 20;
	char *big = malloc(mb);
	for (size_t i = 0; i < mb; i++)
		big[i] = (char)(i * 131 + 7);
	struct bytes b1[] = {{"big", 3}, {big, mb}};
	roundtrip(b1, 2, NULL);
	free(big);

	/* What is not this format is refused. */
	const char *bad_json[] = {"", "{", "{\"a\"}", "{\"a\":1}", "[\"a\"]", "{\"a\":\"b\"} x",
	    "{\"a\":{\"base64\":\"!!\"}}", "{\"a\":{\"hex\":\"00\"}}", "\"a\"", "{\"a\":\"\\ud800\"}"};
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++) {
		struct bytes *o;
		size_t no;
		char *st;
		if (payload_decode(bad_json[i], strlen(bad_json[i]), &o, &no, &st) == 0) {
			printf("#   accepted: %s\n", bad_json[i]);
			CHECK(!"refused");
			free(o);
			free(st);
		}
	}
}

static void
t_json_writer(void)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "s", "a\"b");
	jw_kint(&w, "n", -3);
	jw_key(&w, "l");
	jw_arr(&w);
	jw_int(&w, 1);
	jw_str(&w, NULL);
	jw_bool(&w, true);
	jw_arr_end(&w);
	jw_kstr(&w, "bad", "x\xffy");
	jw_obj_end(&w);
	CHECK_STR(buf_str(&b), "{\"s\":\"a\\\"b\",\"n\":-3,\"l\":[1,null,true],\"bad\":\"x\\u00ffy\"}");
	buf_free(&b);
}

/* What buf_json_str must produce, one byte at a time (valid UTF-8 input). */
static void
json_str_reference(struct buf *b, const char *s, size_t n)
{
	buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\b')
			buf_adds(b, "\\b");
		else if (c == '\f')
			buf_adds(b, "\\f");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

/* Every byte that needs care, at every offset of strings around a word long. */
static void
t_json_strings(void)
{
	const char special[] = {'"', '\\', '\n', '\0', 0x1f, 0x7f, 0x20, '!', '~', 0x01};
	struct buf got = BUF_INIT, want = BUF_INIT;
	char s[40];
	int bad = 0;

	for (size_t len = 1; len <= 33; len++) {
		for (size_t at = 0; at < len; at++) {
			for (size_t k = 0; k < sizeof(special); k++) {
				for (size_t i = 0; i < len; i++)
					s[i] = (char)('a' + i % 26);
				s[at] = special[k];
				if (len > 20 && at + 9 < len)
					s[at + 9] = '"';
				buf_reset(&got);
				buf_reset(&want);
				CHECK(buf_json_str(&got, s, len));
				json_str_reference(&want, s, len);
				if (strcmp(buf_str(&got), buf_str(&want)) != 0 && bad++ < 3)
					printf("#   len %zu at %zu byte 0x%02x: %s != %s\n", len, at,
					    (unsigned char)special[k], buf_str(&got), buf_str(&want));
			}
		}
	}
	CHECK(bad == 0);
	/* Multi-byte UTF-8 after a plain word, and a bad sequence after one. */
	buf_reset(&got);
	CHECK(buf_json_str(&got, "abcdefgh\xc3\xa9ijklmnop\xe4\xb8\xad", 21));
	CHECK_STR(buf_str(&got), "\"abcdefgh\xc3\xa9ijklmnop\xe4\xb8\xad\"");
	buf_reset(&got);
	buf_adds(&got, "kept");
	CHECK(!buf_json_str(&got, "abcdefghijklmnop\xc3(", 18));
	CHECK_STR(buf_str(&got), "kept");
	buf_free(&got);
	buf_free(&want);
}

static void
t_logfmt(void)
{
	const char *in[] = {"orders", "", "two words", "a=b", "q\"uote", "x\ny", "caf\xc3\xa9", "\xff",
	    "k\n2026-01-17T10:05:28Z [SUMMARY] run=9", "a\\\"b\r\x1b\x7f\xc2\x9b"};
	const char *want[] = {"orders", "\"\"", "\"two words\"", "\"a=b\"", "\"q\\\"uote\"",
	    "\"x\\ny\"", "\"caf\xc3\xa9\"", "\"\\xff\"",
	    "\"k\\n2026-01-17T10:05:28Z [SUMMARY] run=9\"", "\"a\\\\\\\"b\\r\\x1b\\x7f\\u009b\""};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct buf b = BUF_INIT;
		logfmt_value(&b, in[i]);
		CHECK_STR(buf_str(&b), want[i]);
		buf_free(&b);
	}
}

/* Every byte value, alone and in company: no control byte is ever written as it is. */
static void
t_escape(void)
{
	const char *in[] = {"plain name", "a\\b", "x\ny\rz\tw", "\x1b[31mred", "del\x7f",
	    "bad\xff\xc3(", "caf\xc3\xa9", "csi\xc2\x9b" "2J", "nel\xc2\x85", "rlo\xe2\x80\xae",
	    "ls\xe2\x80\xa8", "\"q\"", "\x01\x1f"};
	const char *want[] = {"plain name", "a\\\\b", "x\\ny\\rz\\tw", "\\x1b[31mred", "del\\x7f",
	    "bad\\xff\\xc3(", "caf\xc3\xa9", "csi\\u009b2J", "nel\\u0085", "rlo\\u202e",
	    "ls\\u2028", "\"q\"", "\\x01\\x1f"};

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct buf b = BUF_INIT;
		buf_add_esc(&b, in[i], strlen(in[i]));
		CHECK_STR(buf_str(&b), want[i]);
		buf_free(&b);
	}
	for (int c = 0; c < 256; c++) {
		char s[3] = {'a', (char)c, 'z'};
		struct buf b = BUF_INIT;
		buf_add_esc(&b, s, 3);
		for (size_t k = 0; k < b.len; k++) {
			unsigned char o = (unsigned char)b.data[k];
			CHECK(o >= 0x20 && o != 0x7f && o < 0x80);
		}
		buf_free(&b);
	}
	/* The C1 range as UTF-8: each one escaped, nothing else from the two-byte range. */
	for (int cp = 0x80; cp < 0x800; cp++) {
		char s[2] = {(char)(0xc0 | cp >> 6), (char)(0x80 | (cp & 0x3f))};
		struct buf b = BUF_INIT;
		buf_add_esc(&b, s, 2);
		CHECK((cp <= 0x9f) == (b.len == 6 && b.data[0] == '\\'));
		buf_free(&b);
	}
}

/* Label values of the Prometheus text format (core/metrics.h). */
static void
t_metrics_labels(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{"orders", "orders"},
		{"a\"b", "a\\\"b"},
		{"a\\b", "a\\\\b"},
		{"a\nb", "a\\nb"},
		{"tab\tcr\r", "tab\tcr\r"},
		{"\xc3\xa9\xe4\xb8\xad", "\xc3\xa9\xe4\xb8\xad"},
		{"x\xffy\xc3", "x\xef\xbf\xbdy\xef\xbf\xbd"},
		{"", ""},
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		metrics_label_value(&b, cases[i].in);
		CHECK_STR(buf_str(&b), cases[i].out);
	}
	buf_free(&b);
}

static void
t_urls(void)
{
	struct redis_target t;
	struct xerr err;
	char d[300];

	CHECK(redis_target_parse("redis://127.0.0.1:6380/2", &t, &err) == 0);
	CHECK(!t.unix_socket && strcmp(t.host, "127.0.0.1") == 0 && t.port == 6380 && t.db == 2 &&
	    t.password == NULL && t.user == NULL);
	redis_target_free(&t);

	CHECK(redis_target_parse("redis://app:s%40cret@cache.internal", &t, &err) == 0);
	CHECK(strcmp(t.user, "app") == 0 && strcmp(t.password, "s@cret") == 0 && t.port == 6379);
	redis_target_describe(&t, d, sizeof(d));
	CHECK(strstr(d, "cret") == NULL);
	redis_target_free(&t);

	CHECK(redis_target_parse("redis://:pw@[::1]:7000", &t, &err) == 0);
	CHECK(strcmp(t.host, "::1") == 0 && t.port == 7000 && strcmp(t.password, "pw") == 0 &&
	    t.user == NULL);
	redis_target_free(&t);

	CHECK(redis_target_parse("unix:///run/redis.sock?db=3", &t, &err) == 0);
	CHECK(t.unix_socket && strcmp(t.path, "/run/redis.sock") == 0 && t.db == 3);
	redis_target_free(&t);

	const char *bad[] = {"", "http://x", "redis://", "redis://h:0", "redis://h:70000",
	    "redis://h:abc", "redis://h/x", "redis://h:1/-1", "unix://relative.sock",
	    "unix:///s?db=x", "unix:///s?foo=1", "redis://u@h", "rediss://h", "redis://[::1",
	    "redis://h o"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (redis_target_parse(bad[i], &t, &err) == 0) {
			printf("#   accepted: %s\n", bad[i]);
			CHECK(!"refused");
			redis_target_free(&t);
		} else {
			CHECK(err.code == XR_EUSAGE);
		}
	}
	/* An unescaped '/' or '@' in a password still parses. */
	CHECK(redis_target_parse("redis://u:pw/half@x@h:7001/1", &t, &err) == 0);
	CHECK(strcmp(t.user, "u") == 0 && strcmp(t.password, "pw/half@x") == 0 &&
	    strcmp(t.host, "h") == 0 && t.port == 7001 && t.db == 1);
	redis_target_free(&t);
	CHECK(redis_target_parse("unix://u:pw/half@/tmp/r.sock?db=4", &t, &err) == 0);
	CHECK(strcmp(t.password, "pw/half") == 0 && strcmp(t.path, "/tmp/r.sock") == 0 && t.db == 4);
	redis_target_free(&t);
	/* A password never shows in an error, whatever is wrong. */
	CHECK(redis_target_parse("redis://u:topsecret@h:99999", &t, &err) < 0);
	CHECK(strstr(err.msg, "topsecret") == NULL);
	CHECK(redis_target_parse("redis://u:topsecret@h/zz", &t, &err) < 0);
	CHECK(strstr(err.msg, "topsecret") == NULL);
	CHECK(redis_target_parse("redis://topsecret@h", &t, &err) < 0);
	CHECK(strstr(err.msg, "topsecret") == NULL);
	CHECK(redis_target_parse("unix://u:top/secret@x/s.sock", &t, &err) < 0);
	CHECK(strstr(err.msg, "top") == NULL && strstr(err.msg, "secret") == NULL);
	/* A user name alone, when the password comes from elsewhere (core/confsecret.c). */
	CHECK(redis_target_parse_login("redis://app@h:7002", true, &t, &err) == 0);
	CHECK(strcmp(t.user, "app") == 0 && t.password == NULL && t.password_from == NULL &&
	    t.port == 7002);
	redis_target_free(&t);
	CHECK(redis_target_parse_login("redis://app:pw@h", true, &t, &err) == 0);
	CHECK(strcmp(t.password, "pw") == 0 && strcmp(t.password_from, "the URL") == 0);
	redis_target_free(&t);
	/* Refused after the password was read: it is freed (make test SANITIZE=1 sees a leak). */
	CHECK(redis_target_parse("unix://u:topsecret@relative.sock", &t, &err) < 0);
	CHECK(strstr(err.msg, "topsecret") == NULL);
}

/*
 * What the process title hides is what the parser reads as the password:
 * every byte of it, and nothing else.
 */
static void
t_url_password(void)
{
	const char *urls[] = {"redis://u:pa@ss@host", "redis://:p@ss:w/rd@h:7000/2",
	    "redis://u:pw/half@x@h:7001/1", "unix://u:pw/half@/tmp/r.sock?db=4",
	    "unix://:p@w@/tmp/r.sock?db=4", "redis://:pw@[::1]:7000", "redis://u:a://b@h"};
	const char *none[] = {"redis://h", "redis://h:1/2", "unix:///tmp/s?db=1", "plain",
	    "unix:///tmp/s?x=a:b@c", "redis://u:@h"};
	size_t off, len;

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct redis_target t;
		struct xerr err;
		char arg[200];

		if (redis_target_parse(urls[i], &t, &err) < 0) {
			printf("#   refused: %s: %s\n", urls[i], err.msg);
			CHECK(!"parsed");
			continue;
		}
		CHECK(redis_url_password(urls[i], &off, &len));
		CHECK(len == strlen(t.password) && memcmp(urls[i] + off, t.password, len) == 0);
		/* the same inside an option, as --redis=URL */
		snprintf(arg, sizeof(arg), "--redis=%s", urls[i]);
		CHECK(redis_url_password(arg, &off, &len));
		CHECK(len == strlen(t.password) && memcmp(arg + off, t.password, len) == 0);
		memset(arg + off, 'x', len);
		CHECK(strstr(arg, t.password) == NULL);
		redis_target_free(&t);
	}
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		CHECK(!redis_url_password(none[i], &off, &len));
}

/* A webhook URL as shown: scheme, host, port, a plain first segment, "***". */
static void
t_redact(void)
{
	static const struct { const char *url, *shown; } cases[] = {
		{"https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com/services/***"},
		{"https://discord.com/api/webhooks/1234/TOKEN", "https://discord.com/api/***"},
		{"https://h.example:8443/workflows/ab/triggers?sig=TOKEN", "https://h.example:8443/workflows/***"},
		{"https://h.example/TOKEN", "https://h.example/***"},
		{"https://h.example/TOKEN/", "https://h.example/***"},
		{"https://h.example/TOKEN123/rest", "https://h.example/***"},
		{"https://h.example/averyveryverylongword/rest", "https://h.example/***"},
		{"https://h.example/?token=TOKEN", "https://h.example/***"},
		{"https://h.example/", "https://h.example/"},
		{"https://user:TOKEN@h.example/hooks/x", "https://h.example/hooks/***"},
		{"http://[::1]:8080/hooks/TOKEN", "http://[::1]:8080/hooks/***"},
		{"https://h.example/hooks/TOKEN#frag", "https://h.example/hooks/***"},
		{"not a url", "(a URL that does not parse)"},
	};
	char out[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		notify_redact(cases[i].url, out, sizeof(out));
		CHECK_STR(out, cases[i].shown);
		CHECK(strstr(out, "TOKEN") == NULL);
	}
	notify_redact("https://hooks.slack.com/services/T0/B0/XXXX", out, 12);
	CHECK_STR(out, "https://hoo");
}

int
main(void)
{
	run("durations parse and format", t_durations);
	run("UTC times", t_times);
	run("stream entry IDs", t_entry_ids);
	run("UTF-8 validation", t_utf8);
	run("base64", t_base64);
	run("payload JSON is lossless", t_payload);
	run("JSON writer", t_json_writer);
	run("JSON strings, byte by byte and a word at a time", t_json_strings);
	run("logfmt values", t_logfmt);
	run("escaping for terminals and logs", t_escape);
	run("metrics label values", t_metrics_labels);
	run("redis URLs", t_urls);
	run("the password in a URL, as the process title hides it", t_url_password);
	run("webhook URLs as shown, their tokens hidden", t_redact);
	printf("# unit: %d passed, %d failed\n", n_test - n_failed, n_failed);
	return n_failed ? 1 : 0;
}
