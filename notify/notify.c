/*
 * notify.c: rendering alerts for Slack, Discord, Teams and JSON receivers,
 * signing them (Standard Webhooks), and posting them with libcurl.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/payload.h"
#include "../lib/util.h"
#include "notify.h"

/* ------------------------------------------------------------- names */

static const char *const format_names[] = {"slack", "discord", "teams", "json"};
static const char *const severity_names[] = {"info", "warning", "critical"};
#define NNAMES(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The index of s in names[0..n), or -1. */
static int
name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

int
webhook_format_parse(const char *s)
{
	return name_index(format_names, NNAMES(format_names), s);
}

const char *
webhook_format_name(enum webhook_format f)
{
	return (int)f >= 0 && (int)f < NNAMES(format_names) ? format_names[f] : "?";
}

int
severity_parse(const char *s)
{
	return name_index(severity_names, NNAMES(severity_names), s);
}

const char *
severity_name(enum severity s)
{
	return (int)s >= 0 && (int)s < NNAMES(severity_names) ? severity_names[s] : "?";
}


void
webhook_free(struct webhook *w)
{
	if (w == NULL)
		return;
	free(w->name);
	secret_free(w->url);
	secret_free(w->secret);
	free(w->ca_file);
	strv_free(w->rules);
	strv_free(w->streams);
	memset(w, 0, sizeof(*w));
}

/* ------------------------------------------------------------ redaction */

/* A path segment shown as it is: a plain word such as "services" or "api". */
static bool
plain_segment(const char *s, size_t n)
{
	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

void
notify_redact(const char *url, char *out, size_t outlen)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;

	if (outlen == 0)
		return;
	snprintf(out, outlen, "(a URL that does not parse)");
	if (h == NULL || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	curl_url_get(h, CURLUPART_PORT, &port, 0);
	curl_url_get(h, CURLUPART_PATH, &path, 0);
	curl_url_get(h, CURLUPART_QUERY, &query, 0);

	struct buf b = BUF_INIT;
	const char *p = path != NULL ? path : "/";
	if (*p == '/')
		p++;
	const char *slash = strchr(p, '/');
	buf_printf(&b, "%s://", scheme);
	buf_add_esc(&b, host, strlen(host));
	if (port != NULL)
		buf_printf(&b, ":%s", port);
	buf_addc(&b, '/');
	if (slash != NULL && slash[1] != '\0' && plain_segment(p, (size_t)(slash - p))) {
		buf_add(&b, p, (size_t)(slash - p));
		buf_adds(&b, "/***");
	} else if (*p != '\0' || (query != NULL && *query != '\0')) {
		buf_adds(&b, "***");
	}
	snprintf(out, outlen, "%s", buf_str(&b));
	buf_free(&b);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(h);
}

/* ------------------------------------------------------------ rendering */

/* How a chat reads text: Slack's mrkdwn, Markdown (Discord, Teams' cards). */
enum chat { CHAT_SLACK, CHAT_MARKDOWN };

/*
 * Text from Redis for a chat message: control characters escaped, then
 * what the chat would read as markup made plain.  Markdown takes a
 * backslash before a punctuation character as that character.  Slack has
 * no such escape: &, < and > get its entities, and a zero-width space
 * after *, _, ~ and ` keeps them from pairing into bold, italics, strike
 * or code.
 */
static void
chat_esc(struct buf *b, const char *s, enum chat k)
{
	struct buf t = BUF_INIT;

	if (s == NULL)
		return;
	buf_add_esc(&t, s, strlen(s));
	for (size_t i = 0; i < t.len; i++) {
		char c = t.data[i];

		if (k == CHAT_MARKDOWN) {
			if (c != '\0' && strchr("\\`*_~|>#<[]()", c) != NULL)
				buf_addc(b, '\\');
			buf_addc(b, c);
			continue;
		}
		switch (c) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '*': case '_': case '~': case '`':
			buf_addc(b, c);
			buf_adds(b, "\xe2\x80\x8b");   /* U+200B */
			break;
		default: buf_addc(b, c);
		}
	}
	buf_free(&t);
}

static const char *
mode_tag(const struct alert *a)
{
	return a->mode == ALERT_LIVE ? "[LIVE]" : "[TEST]";
}

/* "[TEST] xrecover on HOST: TITLE" */
static void
text_title(struct buf *b, const struct alert *a, enum chat k)
{
	buf_printf(b, "%s %sxrecover on ", mode_tag(a),
	    a->state != NULL && strcmp(a->state, "resolved") == 0 ? "Resolved: " : "");
	chat_esc(b, a->host, k);
	buf_adds(b, ": ");
	chat_esc(b, a->title, k);
}

/* "stream S, group G" (or what of it there is), "" when neither. */
static void
text_where(struct buf *b, const struct alert *a, enum chat k)
{
	if (a->stream != NULL) {
		buf_adds(b, "stream ");
		chat_esc(b, a->stream, k);
	}
	if (a->group != NULL) {
		buf_adds(b, a->stream != NULL ? ", group " : "group ");
		chat_esc(b, a->group, k);
	}
}

/* One "- what: N" line per alert line, each ending in a newline. */
static void
text_lines(struct buf *b, const struct alert *a, enum chat k)
{
	for (size_t i = 0; i < a->nlines; i++) {
		buf_adds(b, "- ");
		chat_esc(b, a->lines[i].text, k);
		buf_printf(b, ": %lld\n", (long long)a->lines[i].count);
	}
}

/* Drops a final newline. */
static void
chomp(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
}

static void
text_more(struct buf *b, const struct alert *a, enum chat k)
{
	if (a->command == NULL)
		return;
	buf_adds(b, "more: ");
	chat_esc(b, a->command, k);
}

/* The whole message as plain lines (Slack's text, Discord's content). */
static void
text_all(struct buf *b, const struct alert *a, enum chat k, bool with_more)
{
	text_title(b, a, k);
	buf_printf(b, "\nseverity %s, rule ", severity_name(a->severity));
	chat_esc(b, a->rule, k);
	buf_addc(b, '\n');
	if (a->stream != NULL || a->group != NULL) {
		text_where(b, a, k);
		buf_addc(b, '\n');
	}
	text_lines(b, a, k);
	if (with_more)
		text_more(b, a, k);
}

/* Code points in valid UTF-8 (what buf_add_esc writes). */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* The byte offset after the first k code points of s. */
static size_t
utf8_prefix(const char *s, size_t n, size_t k)
{
	size_t i = 0, c = 0;

	while (i < n) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (c == k)
				break;
			c++;
		}
		i++;
	}
	return i;
}

#define CUT_MARK "\n[... cut to fit Discord's 2000 characters]\n"

static void
render_discord(struct jw *w, const struct alert *a)
{
	struct buf text = BUF_INIT, more = BUF_INIT;

	text_all(&text, a, CHAT_MARKDOWN, false);
	text_more(&more, a, CHAT_MARKDOWN);
	size_t total = utf8_chars(buf_str(&text), text.len) + utf8_chars(buf_str(&more), more.len);
	if (total > DISCORD_MAX_CHARS) {
		/* Cut the middle, keep the command that shows everything. */
		size_t room = DISCORD_MAX_CHARS - utf8_chars(CUT_MARK, strlen(CUT_MARK)) -
		    utf8_chars(buf_str(&more), more.len);
		if (room > DISCORD_MAX_CHARS)   /* a command longer than the limit */
			room = 0;
		text.len = utf8_prefix(buf_str(&text), text.len, room);
		buf_add(&text, "", 0);
		buf_adds(&text, CUT_MARK);
		buf_add(&text, buf_str(&more), more.len);
		text.len = utf8_prefix(buf_str(&text), text.len, DISCORD_MAX_CHARS);
		buf_add(&text, "", 0);
	} else {
		buf_add(&text, buf_str(&more), more.len);
	}
	jw_obj(w);
	jw_kstr(w, "content", buf_str(&text));
	/* Names from Redis must not ping anyone: no @everyone, no <@id>. */
	jw_key(w, "allowed_mentions");
	jw_obj(w);
	jw_key(w, "parse");
	jw_arr(w);
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	buf_free(&text);
	buf_free(&more);
}

/* Slack: "text" (notifications, fallback) and blocks; section text <= 3000. */
static void
render_slack(struct jw *w, const struct alert *a)
{
	struct buf text = BUF_INIT, t = BUF_INIT;

	text_all(&text, a, CHAT_SLACK, true);
	jw_obj(w);
	jw_kstr(w, "text", buf_str(&text));
	jw_key(w, "blocks");
	jw_arr(w);

	jw_obj(w);
	jw_kstr(w, "type", "section");
	jw_key(w, "text");
	jw_obj(w);
	jw_kstr(w, "type", "mrkdwn");
	buf_adds(&t, "*");
	text_title(&t, a, CHAT_SLACK);
	buf_printf(&t, "*\nseverity %s, rule ", severity_name(a->severity));
	chat_esc(&t, a->rule, CHAT_SLACK);
	if (a->stream != NULL || a->group != NULL) {
		buf_addc(&t, '\n');
		text_where(&t, a, CHAT_SLACK);
	}
	buf_addc(&t, '\n');
	text_lines(&t, a, CHAT_SLACK);
	chomp(&t);
	t.len = utf8_prefix(buf_str(&t), t.len, 3000);
	buf_add(&t, "", 0);
	jw_kstr(w, "text", buf_str(&t));
	jw_obj_end(w);
	jw_obj_end(w);

	if (a->command != NULL) {
		buf_reset(&t);
		text_more(&t, a, CHAT_SLACK);
		jw_obj(w);
		jw_kstr(w, "type", "context");
		jw_key(w, "elements");
		jw_arr(w);
		jw_obj(w);
		jw_kstr(w, "type", "mrkdwn");
		jw_kstr(w, "text", buf_str(&t));
		jw_obj_end(w);
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	buf_free(&text);
	buf_free(&t);
}

static void
card_text(struct jw *w, const char *text, const char *weight, const char *font)
{
	jw_obj(w);
	jw_kstr(w, "type", "TextBlock");
	jw_kstr(w, "text", text);
	jw_kbool(w, "wrap", true);
	if (weight != NULL)
		jw_kstr(w, "weight", weight);
	if (font != NULL)
		jw_kstr(w, "fontType", font);
	jw_obj_end(w);
}

static void
card_fact(struct jw *w, const char *title, const char *value)
{
	struct buf t = BUF_INIT;

	chat_esc(&t, value, CHAT_MARKDOWN);
	jw_obj(w);
	jw_kstr(w, "title", title);
	jw_kstr(w, "value", buf_str(&t));
	jw_obj_end(w);
	buf_free(&t);
}

/* Teams workflows ("Post to a channel when a webhook request is received"). */
static void
render_teams(struct jw *w, const struct alert *a)
{
	struct buf t = BUF_INIT;

	jw_obj(w);
	jw_kstr(w, "type", "message");
	jw_key(w, "attachments");
	jw_arr(w);
	jw_obj(w);
	jw_kstr(w, "contentType", "application/vnd.microsoft.card.adaptive");
	jw_kstr(w, "contentUrl", NULL);
	jw_key(w, "content");
	jw_obj(w);
	jw_kstr(w, "$schema", "http://adaptivecards.io/schemas/adaptive-card.json");
	jw_kstr(w, "type", "AdaptiveCard");
	jw_kstr(w, "version", "1.4");
	jw_key(w, "body");
	jw_arr(w);
	text_title(&t, a, CHAT_MARKDOWN);
	card_text(w, buf_str(&t), "Bolder", NULL);
	jw_obj(w);
	jw_kstr(w, "type", "FactSet");
	jw_key(w, "facts");
	jw_arr(w);
	card_fact(w, "Mode", a->mode == ALERT_LIVE ? "LIVE" : "TEST");
	card_fact(w, "Host", a->host);
	if (a->stream != NULL)
		card_fact(w, "Stream", a->stream);
	if (a->group != NULL)
		card_fact(w, "Group", a->group);
	card_fact(w, "Severity", severity_name(a->severity));
	card_fact(w, "Rule", a->rule);
	jw_arr_end(w);
	jw_obj_end(w);
	if (a->nlines > 0) {
		buf_reset(&t);
		text_lines(&t, a, CHAT_MARKDOWN);
		chomp(&t);
		card_text(w, buf_str(&t), NULL, NULL);
	}
	if (a->command != NULL) {
		buf_reset(&t);
		text_more(&t, a, CHAT_MARKDOWN);
		card_text(w, buf_str(&t), NULL, "Monospace");
	}
	jw_arr_end(w);
	jw_obj_end(w);
	jw_obj_end(w);
	jw_arr_end(w);
	jw_obj_end(w);
	buf_free(&t);
}

/* The whole alert: names as they are (JSON escapes what it must). */
static void
render_json(struct jw *w, const struct alert *a, const char *id)
{
	char when[32];

	format_utc(a->time_ms, false, when, sizeof(when));
	jw_obj(w);
	jw_kstr(w, "type", "xrecover.alert");
	jw_kstr(w, "id", id);
	jw_kstr(w, "mode", a->mode == ALERT_LIVE ? "LIVE" : "TEST");
	jw_kstr(w, "host", a->host);
	jw_kstr(w, "stream", a->stream);
	jw_kstr(w, "group", a->group);
	jw_kstr(w, "severity", severity_name(a->severity));
	jw_kstr(w, "rule", a->rule);
	if (a->state != NULL)
		jw_kstr(w, "state", a->state);
	if (a->number > 0)
		jw_kint(w, "alert", a->number);
	jw_kstr(w, "title", a->title);
	jw_key(w, "lines");
	jw_arr(w);
	for (size_t i = 0; i < a->nlines; i++) {
		jw_obj(w);
		jw_kstr(w, "text", a->lines[i].text);
		jw_kint(w, "count", a->lines[i].count);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kstr(w, "command", a->command);
	jw_kstr(w, "time", when);
	jw_obj_end(w);
}

int
notify_new_id(char id[40], struct xerr *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return xerr_set(err, XR_EFAIL, "no random bytes for a message id");
	memcpy(id, "msg_", 4);
	for (size_t i = 0; i < sizeof(rnd); i++) {
		id[4 + 2 * i] = hex[rnd[i] >> 4];
		id[5 + 2 * i] = hex[rnd[i] & 15];
	}
	id[4 + 2 * sizeof(rnd)] = '\0';
	return 0;
}

int
notify_render(const struct webhook *wh, const struct alert *a, const char *id,
    struct notify_msg *ret, struct xerr *err)
{
	struct notify_msg m;
	struct jw w;

	memset(&m, 0, sizeof(m));
	if (id == NULL) {
		if (notify_new_id(m.id, err) < 0)
			return -1;
	} else
		snprintf(m.id, sizeof(m.id), "%s", id);
	jw_init(&w, &m.body);
	switch (wh->format) {
	case WH_SLACK: render_slack(&w, a); break;
	case WH_DISCORD: render_discord(&w, a); break;
	case WH_TEAMS: render_teams(&w, a); break;
	case WH_JSON: render_json(&w, a, m.id); break;
	}
	*ret = m;
	return 0;
}

void
notify_msg_free(struct notify_msg *m)
{
	buf_free(&m->body);
}

/* ------------------------------------------------------------- signing */

int
notify_sign(const char *secret, const char *id, int64_t ts, const char *body, size_t len,
    struct buf *out, struct xerr *err)
{
	struct buf key = BUF_INIT, in = BUF_INIT;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int rc = -1;

	if (strncmp(secret, "whsec_", 6) == 0) {
		if (base64_decode(secret + 6, strlen(secret + 6), &key) < 0 || key.len == 0) {
			xerr_set(err, XR_EUSAGE, "the secret starts with whsec_ but what follows "
			    "is not base64");
			goto out;
		}
	} else {
		buf_adds(&key, secret);
	}
	buf_printf(&in, "%s.%lld.", id, (long long)ts);
	buf_add(&in, body, len);
	if (HMAC(EVP_sha256(), key.data, (int)key.len, (const unsigned char *)in.data, in.len,
	    mac, &maclen) == NULL) {
		xerr_set(err, XR_EFAIL, "HMAC-SHA256 failed");
		goto out;
	}
	buf_adds(out, "v1,");
	base64_encode(mac, maclen, out);
	rc = 0;
out:
	if (key.data != NULL)
		memset(key.data, 0, key.cap);
	buf_free(&key);
	buf_free(&in);
	return rc;
}

/* ------------------------------------------------------------- posting */

int
notify_global_init(struct xerr *err)
{
	CURLcode r = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (r != CURLE_OK)
		return xerr_set(err, XR_EFAIL, "cannot start libcurl: %s", curl_easy_strerror(r));
	return 0;
}

void
notify_global_cleanup(void)
{
	curl_global_cleanup();
}

#define ANSWER_MAX 16384

struct answer {
	struct buf body;            /* the first ANSWER_MAX bytes */
	char retry_after[80];       /* the Retry-After header's value */
};

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;

	if (a->body.len < ANSWER_MAX)
		buf_add(&a->body, p, len < ANSWER_MAX - a->body.len ? len : ANSWER_MAX - a->body.len);
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t i = sizeof(name) - 1, j = len;
		while (i < j && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '))
			j--;
		if (j - i < sizeof(a->retry_after))
			snprintf(a->retry_after, sizeof(a->retry_after), "%.*s", (int)(j - i), p + i);
	}
	return len;
}

/* Retry-After: seconds, or an HTTP date; -1 when neither. */
static int64_t
parse_retry_after(const char *v)
{
	long long s;

	if (v[0] == '\0')
		return -1;
	if (parse_int(v, 0, 86400LL * 365, &s) == 0)
		return s * 1000;
	time_t t = curl_getdate(v, NULL);
	if (t < 0)
		return -1;
	int64_t ms = (int64_t)t * 1000 - now_ms();
	return ms > 0 ? ms : 0;
}

/* A JSON answer's "retry_after" (Discord: seconds, a fraction); -1 when none. */
static int64_t
parse_body_retry_after(const struct buf *body)
{
	cJSON *root;
	const cJSON *v;
	int64_t ms = -1;

	if (body->len == 0)
		return -1;
	root = cJSON_ParseWithLength(body->data, body->len);
	v = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "retry_after") : NULL;
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 86400.0 * 365)
		ms = (int64_t)(v->valuedouble * 1000.0 + 0.5);
	cJSON_Delete(root);
	return ms;
}

/* Whether text gives away any part of the URL beyond its host, or the secret. */
static bool
leaks(const char *text, const struct webhook *w)
{
	CURLU *h = curl_url();
	char *path = NULL, *query = NULL, *user = NULL, *pass = NULL;
	bool bad = false;

	if (h == NULL || curl_url_set(h, CURLUPART_URL, w->url, 0) != CURLUE_OK) {
		bad = strstr(text, w->url) != NULL;
	} else {
		const char *parts[4];
		curl_url_get(h, CURLUPART_PATH, &path, 0);
		curl_url_get(h, CURLUPART_QUERY, &query, 0);
		curl_url_get(h, CURLUPART_USER, &user, 0);
		curl_url_get(h, CURLUPART_PASSWORD, &pass, 0);
		parts[0] = path; parts[1] = query; parts[2] = user; parts[3] = pass;
		for (int i = 0; i < 4; i++)
			if (parts[i] != NULL && strlen(parts[i]) > 1 && strstr(text, parts[i]) != NULL)
				bad = true;
		/* a path segment on its own (a token) */
		for (const char *p = path; p != NULL && *p != '\0' && !bad;) {
			const char *s = strchr(p + 1, '/');
			size_t n = s != NULL ? (size_t)(s - p - 1) : strlen(p + 1);
			if (n >= 4 && memmem(text, strlen(text), p + 1, n) != NULL)
				bad = true;
			p = s;
		}
	}
	if (w->secret != NULL && strstr(text, w->secret) != NULL)
		bad = true;
	curl_free(path);
	curl_free(query);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(h);
	return bad;
}

/*
 * The trust roots for a webhook with a ca_file: the system's bundle and
 * the file's, as one PEM text.  CURLOPT_CAINFO and CURLOPT_CAINFO_BLOB
 * each replace the roots in use; only both in one blob adds to them.
 */
static int
load_roots(CURL *h, const struct webhook *w, struct buf *out, char *msg, size_t msglen)
{
	char *sys = NULL;
	const char *paths[2];

	curl_easy_getinfo(h, CURLINFO_CAINFO, &sys);
	paths[0] = sys;
	paths[1] = w->ca_file;
	for (int i = 0; i < 2; i++) {
		FILE *f;
		char chunk[8192];
		size_t n;

		if (paths[i] == NULL)
			continue;
		f = fopen(paths[i], "re");
		if (f == NULL) {
			if (i == 0)
				continue;       /* no system bundle: the file alone */
			snprintf(msg, msglen, "ca_file '%s': %s", w->ca_file, strerror(errno));
			return -1;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_add(out, chunk, n);
		fclose(f);
		buf_addc(out, '\n');
	}
	return 0;
}

static bool
retryable_curl(CURLcode r)
{
	switch (r) {
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* The Standard Webhooks headers of a signed json request, onto *hdrs. */
static int
sign_headers(const struct webhook *w, const struct notify_msg *m, struct curl_slist **hdrs,
    char *err, size_t errlen)
{
	struct buf sig = BUF_INIT, line = BUF_INIT;
	struct xerr e = {0};
	int64_t ts = now_ms() / 1000;
	int rc = -1;

	if (notify_sign(w->secret, m->id, ts, buf_str(&m->body), m->body.len, &sig, &e) < 0) {
		snprintf(err, errlen, "%s", e.msg);
		goto out;
	}
	buf_printf(&line, "webhook-id: %s", m->id);
	*hdrs = curl_slist_append(*hdrs, buf_str(&line));
	buf_reset(&line);
	buf_printf(&line, "webhook-timestamp: %lld", (long long)ts);
	*hdrs = curl_slist_append(*hdrs, buf_str(&line));
	buf_reset(&line);
	buf_printf(&line, "webhook-signature: %s", buf_str(&sig));
	*hdrs = curl_slist_append(*hdrs, buf_str(&line));
	rc = 0;
out:
	buf_free(&sig);
	buf_free(&line);
	return rc;
}

/* The request's options: a POST of m's body, TLS verified, time-limited (total ms). */
static void
set_request(CURL *h, const struct webhook *w, const struct notify_msg *m,
    struct curl_slist *hdrs, int64_t total, struct answer *ans, char *errbuf)
{
	int64_t conn = w->connect_timeout_ms > 0 && w->connect_timeout_ms < total ?
	    w->connect_timeout_ms : total;

	curl_easy_setopt(h, CURLOPT_URL, w->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)total);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)conn);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "xrecover/" XR_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf_str(&m->body));
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)m->body.len);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, ans);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

/* What the answer means: delivered, or why not and whether to retry (and when). */
static void
classify(CURL *h, CURLcode cr, const struct webhook *w, const struct answer *ans,
    const char *errbuf, int64_t total, struct notify_result *r)
{
	if (cr != CURLE_OK) {
		const char *why = errbuf[0] != '\0' && !leaks(errbuf, w) ? errbuf : curl_easy_strerror(cr);
		struct buf e = BUF_INIT;
		if (cr == CURLE_OPERATION_TIMEDOUT) {
			char d[32];
			format_duration(total, d, sizeof(d));
			buf_printf(&e, "no answer within %s", d);
		} else {
			buf_add_esc(&e, why, strlen(why));
		}
		snprintf(r->error, sizeof(r->error), "%s", buf_str(&e));
		buf_free(&e);
		r->retryable = retryable_curl(cr);
		return;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http_status);
	if (r->http_status >= 200 && r->http_status < 300) {
		r->delivered = true;
		return;
	}
	r->retryable = r->http_status == 429 || r->http_status >= 500 || r->http_status == 408;
	if (r->retryable) {
		r->retry_after_ms = parse_body_retry_after(&ans->body);
		if (r->retry_after_ms < 0)
			r->retry_after_ms = parse_retry_after(ans->retry_after);
	}
	snprintf(r->error, sizeof(r->error), "answered HTTP %ld", r->http_status);
}

int
notify_post(const struct webhook *w, const struct notify_msg *m, struct notify_result *ret)
{
	struct notify_result r;
	struct answer ans;
	struct curl_slist *hdrs = NULL;
	struct buf roots = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	/* 0 would mean no limit at all: never that. */
	int64_t total = w->timeout_ms > 0 ? w->timeout_ms : 10000;
	int64_t t0 = mono_ms();
	CURL *h;

	memset(&r, 0, sizeof(r));
	memset(&ans, 0, sizeof(ans));
	r.retry_after_ms = -1;
	notify_redact(w->url, r.target, sizeof(r.target));

	h = curl_easy_init();
	if (h == NULL) {
		snprintf(r.error, sizeof(r.error), "cannot start a libcurl request");
		r.retryable = true;
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (w->format == WH_JSON && w->secret != NULL &&
	    sign_headers(w, m, &hdrs, r.error, sizeof(r.error)) < 0)
		goto out;
	if (w->ca_file != NULL) {
		if (load_roots(h, w, &roots, r.error, sizeof(r.error)) < 0)
			goto out;
		struct curl_blob blob = {roots.data, roots.len, CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	set_request(h, w, m, hdrs, total, &ans, errbuf);
	classify(h, curl_easy_perform(h), w, &ans, errbuf, total, &r);
out:
	r.elapsed_ms = mono_ms() - t0;
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	buf_free(&ans.body);
	buf_free(&roots);
	*ret = r;
	return r.delivered ? 0 : -1;
}

int
notify_probe(const struct webhook *w, struct notify_result *ret)
{
	struct notify_result r;
	struct buf roots = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	int64_t total = w->timeout_ms > 0 ? w->timeout_ms : 10000;
	int64_t conn = w->connect_timeout_ms > 0 && w->connect_timeout_ms < total ?
	    w->connect_timeout_ms : total;
	int64_t t0 = mono_ms();
	CURL *h;

	memset(&r, 0, sizeof(r));
	r.retry_after_ms = -1;
	notify_redact(w->url, r.target, sizeof(r.target));
	h = curl_easy_init();
	if (h == NULL) {
		snprintf(r.error, sizeof(r.error), "cannot start a libcurl request");
		goto out;
	}
	if (w->ca_file != NULL) {
		if (load_roots(h, w, &roots, r.error, sizeof(r.error)) < 0)
			goto out;
		struct curl_blob blob = {roots.data, roots.len, CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	curl_easy_setopt(h, CURLOPT_URL, w->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)total);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)conn);
	/* The connection (and TLS handshake) only: no request is sent. */
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		const char *why = errbuf[0] != '\0' && !leaks(errbuf, w) ? errbuf : curl_easy_strerror(cr);
		struct buf e = BUF_INIT;
		buf_add_esc(&e, why, strlen(why));
		snprintf(r.error, sizeof(r.error), "%s", buf_str(&e));
		buf_free(&e);
		r.retryable = retryable_curl(cr);
	} else {
		r.delivered = true;
	}
out:
	r.elapsed_ms = mono_ms() - t0;
	if (h != NULL)
		curl_easy_cleanup(h);
	buf_free(&roots);
	*ret = r;
	return r.delivered ? 0 : -1;
}
