/* redis.c: Redis URLs, the connection, and reads of stream metadata. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "redis.h"

/* ---------------------------------------------------------------- URLs */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi << 4 | lo) == 0) {
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

static int
bad_url(struct xerr *err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xerr_set(err, XR_EUSAGE, "bad redis URL: %s", msg);
}

/*
 * The '@' that ends "[user[:password]@]" at p, or NULL when there is none:
 * the last '@' before limit (the end of the URL; for unix://, its '?'), so
 * a password with an unescaped '/' or '@' still parses.  The one rule for
 * both redis_target_parse() and redis_url_password().
 */
static const char *
userinfo_end(const char *p, const char *limit)
{
	const char *at = NULL;

	for (const char *q = p; q < limit; q++)
		if (*q == '@')
			at = q;
	return at;
}

/* Where the user information of the URL whose "://" is at sep may end. */
static const char *
userinfo_limit(const char *url, const char *sep)
{
	const char *end = sep + strlen(sep);

	if (sep - url >= 4 && strncmp(sep - 4, "unix", 4) == 0) {
		const char *q = strchr(sep + 3, '?');
		if (q != NULL)
			return q;
	}
	return end;
}

bool
redis_url_password(const char *arg, size_t *ret_off, size_t *ret_len)
{
	const char *sep = strstr(arg, "://");
	const char *p, *at, *colon;

	if (sep == NULL)
		return false;
	p = sep + 3;
	at = userinfo_end(p, userinfo_limit(arg, sep));
	if (at == NULL)
		return false;
	colon = memchr(p, ':', (size_t)(at - p));
	if (colon == NULL || colon + 1 == at)
		return false;
	*ret_off = (size_t)(colon + 1 - arg);
	*ret_len = (size_t)(at - colon - 1);
	return true;
}

/*
 * Parses "[user[:password]@]" at the front of *p, up to limit
 * (userinfo_end); no message ever repeats any of it.
 */
static int
parse_userinfo(const char **p, const char *limit, bool password_elsewhere,
    struct redis_target *t, struct xerr *err)
{
	const char *at = userinfo_end(*p, limit);

	if (at == NULL)
		return 0;
	const char *colon = memchr(*p, ':', (size_t)(at - *p));
	const char *uend = colon != NULL ? colon : at;
	if (uend > *p) {
		t->user = pct_decode(*p, (size_t)(uend - *p));
		if (t->user == NULL)
			return bad_url(err, "bad %%-escape in the user name");
	}
	if (colon != NULL) {
		t->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		if (t->password == NULL)
			return bad_url(err, "bad %%-escape in the password");
		if (t->password[0] == '\0') {
			free(t->password);
			t->password = NULL;
		}
	}
	if (t->user != NULL && t->password == NULL && !password_elsewhere)
		return bad_url(err, "a user name is given without a password "
		    "(use user:password@, or :password@ for the default user)");
	*p = at + 1;
	return 0;
}

static int
parse_db(const char *s, size_t n, const char *what, struct redis_target *t,
    struct xerr *err)
{
	char tmp[32];
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return bad_url(err, "%s '%.*s' is not a database number", what,
		    (int)(n < 40 ? n : 40), s);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (parse_int(tmp, 0, 1 << 30, &v) < 0)
		return bad_url(err, "%s '%s' is not a database number", what, tmp);
	t->db = (int)v;
	return 0;
}

int
redis_target_parse(const char *url, struct redis_target *ret, struct xerr *err)
{
	return redis_target_parse_login(url, false, ret, err);
}

/* The path and the ?db=N of a unix:// URL, p just after the scheme. */
static int
parse_unix(const char *url, const char *p, bool password_elsewhere, struct redis_target *t,
    struct xerr *err)
{
	const char *end = url + strlen(url);
	const char *q = strchr(p, '?');
	const char *pend = userinfo_limit(url, url + 4);

	t->unix_socket = true;
	if (parse_userinfo(&p, pend, password_elsewhere, t, err) < 0)
		return -1;
	const char *slash = memchr(p, '/', (size_t)(pend - p));
	if (slash == NULL)
		return bad_url(err, "unix socket path must be absolute (unix:///path.sock)");
	if (p != slash)
		return bad_url(err, "unexpected text before the socket path (use unix:///path.sock)");
	if (pend - slash <= 1)
		return bad_url(err, "missing socket path");
	t->path = pct_decode(slash, (size_t)(pend - slash));
	if (t->path == NULL)
		return bad_url(err, "bad %%-escape in the socket path");
	if (q == NULL)
		return 0;
	for (const char *a = q + 1; a < end;) {
		const char *amp = strchr(a, '&');
		const char *aend = amp != NULL ? amp : end;
		if (aend - a > 3 && strncmp(a, "db=", 3) == 0) {
			if (parse_db(a + 3, (size_t)(aend - a - 3), "db", t, err) < 0)
				return -1;
		} else {
			const char *eq = memchr(a, '=', (size_t)(aend - a));
			size_t klen = (size_t)((eq != NULL ? eq : aend) - a);
			return bad_url(err, "unknown parameter '%.*s' (only db=N)",
			    (int)(klen < 40 ? klen : 40), a);
		}
		a = aend + (amp != NULL);
	}
	return 0;
}

/* The host of a redis:// URL, p to hend; sets *ret_port to where a port starts, or NULL. */
static int
parse_host(const char *p, const char *hend, struct redis_target *t, const char **ret_port,
    struct xerr *err)
{
	*ret_port = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hend - p));
		if (rb == NULL)
			return bad_url(err, "unclosed '[' in the host");
		t->host = xstrndup(p + 1, (size_t)(rb - p - 1));
		if (rb + 1 < hend) {
			if (rb[1] != ':')
				return bad_url(err, "unexpected '%.*s' after the host",
				    (int)(hend - rb - 1), rb + 1);
			*ret_port = rb + 2;
		}
	} else {
		const char *colon = memchr(p, ':', (size_t)(hend - p));
		const char *h_end = colon != NULL ? colon : hend;
		t->host = xstrndup(p, (size_t)(h_end - p));
		if (colon != NULL)
			*ret_port = colon + 1;
	}
	if (t->host[0] == '\0')
		return bad_url(err, "missing host");
	for (const char *h = t->host; *h; h++) {
		if (!isalnum((unsigned char)*h) && strchr("-._:%", *h) == NULL)
			return bad_url(err, "host '%s' has a bad character '%c'", t->host, *h);
	}
	return 0;
}

/* The port of a redis:// URL, from portstart to hend. */
static int
parse_port(const char *portstart, const char *hend, struct redis_target *t, struct xerr *err)
{
	char tmp[16];
	long long v;
	size_t n = (size_t)(hend - portstart);

	if (n == 0 || n >= sizeof(tmp))
		return bad_url(err, "port '%.*s' is not a number between 1 and 65535",
		    (int)(n < 20 ? n : 20), portstart);
	memcpy(tmp, portstart, n);
	tmp[n] = '\0';
	if (parse_int(tmp, 1, 65535, &v) < 0)
		return bad_url(err, "port '%s' is not a number between 1 and 65535", tmp);
	t->port = (int)v;
	return 0;
}

/* The rest of a redis:// URL, p just after the scheme. */
static int
parse_tcp(const char *url, const char *p, bool password_elsewhere, struct redis_target *t,
    struct xerr *err)
{
	const char *end = url + strlen(url), *portstart;

	if (parse_userinfo(&p, userinfo_limit(url, url + 5), password_elsewhere, t, err) < 0)
		return -1;
	const char *hend = strchr(p, '/');
	if (hend == NULL)
		hend = end;
	if (memchr(p, '?', (size_t)(end - p)) != NULL)
		return bad_url(err, "query parameters are not supported in redis:// URLs");
	if (parse_host(p, hend, t, &portstart, err) < 0)
		return -1;
	if (portstart != NULL && parse_port(portstart, hend, t, err) < 0)
		return -1;
	if (hend < end) {
		const char *d = hend + 1;
		size_t n = (size_t)(end - d);
		if (n > 0 && parse_db(d, n, "database", t, err) < 0)
			return -1;
	}
	return 0;
}

int
redis_target_parse_login(const char *url, bool password_elsewhere, struct redis_target *ret,
    struct xerr *err)
{
	struct redis_target t = {0};
	int rc;

	if (url == NULL || *url == '\0')
		return bad_url(err, "empty");
	t.port = 6379;
	if (strncmp(url, "unix://", 7) == 0) {
		rc = parse_unix(url, url + 7, password_elsewhere, &t, err);
	} else if (strncmp(url, "rediss://", 9) == 0) {
		rc = bad_url(err, "TLS (rediss://) is not supported by this build's hiredis 0.14; "
		    "use a local TLS proxy such as stunnel, or a unix socket");
	} else if (strncmp(url, "redis://", 8) == 0) {
		rc = parse_tcp(url, url + 8, password_elsewhere, &t, err);
	} else {
		const char *sep = strstr(url, "://");
		if (sep != NULL && sep - url < 20)
			rc = bad_url(err, "unknown scheme '%.*s' (use redis:// or unix://)",
			    (int)(sep - url), url);
		else
			rc = bad_url(err, "must start with redis:// or unix://");
	}
	if (rc < 0) {
		redis_target_free(&t);
		return -1;
	}
	if (t.password != NULL)
		t.password_from = "the URL";
	*ret = t;
	return 0;
}

void
redis_target_free(struct redis_target *t)
{
	free(t->host);
	free(t->path);
	free(t->user);
	secret_free(t->password);      /* not left in freed memory */
	memset(t, 0, sizeof(*t));
}

void
redis_target_describe(const struct redis_target *t, char *out, size_t len)
{
	char user[80] = "";

	if (t->user != NULL)
		snprintf(user, sizeof(user), " as user '%.60s'", t->user);
	if (t->unix_socket)
		snprintf(out, len, "%s db %d%s", t->path, t->db, user);
	else if (strchr(t->host, ':') != NULL)
		snprintf(out, len, "[%s]:%d db %d%s", t->host, t->port, t->db, user);
	else
		snprintf(out, len, "%s:%d db %d%s", t->host, t->port, t->db, user);
}

/* ---------------------------------------------------------- connection */

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	return tv;
}

int
rconn_io_error(struct rconn *rc, struct xerr *err)
{
	const char *why = rc->c->errstr[0] ? rc->c->errstr : "connection lost";

	if (rc->c->err == REDIS_ERR_IO && errno == EAGAIN)
		why = "timed out waiting for a reply";
	return xerr_set(err, XR_EREDIS, "redis at %s: %s", rc->where, why);
}

redisReply *
rconn_argv(struct rconn *rc, struct xerr *err, int argc, const char **argv,
    const size_t *lens)
{
	redisReply *r = redisCommandArgv(rc->c, argc, argv, lens);

	if (r == NULL) {
		rconn_io_error(rc, err);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		xerr_set(err, XR_EFAIL, "redis: %.*s %s", (int)(lens ? lens[0] : strlen(argv[0])),
		    argv[0], r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

redisReply *
rconn_cmd(struct rconn *rc, struct xerr *err, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(rc->c, fmt, ap);
	va_end(ap);
	if (r == NULL) {
		rconn_io_error(rc, err);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		size_t n = strcspn(fmt, " ");
		xerr_set(err, XR_EFAIL, "redis: %.*s: %s", (int)n, fmt, r->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

static void
parse_version(struct rconn *rc, const char *info)
{
	const char *v = strstr(info, "redis_version:");

	if (v != NULL)
		sscanf(v + 14, "%d.%d.%d", &rc->version[0], &rc->version[1],
		    &rc->version[2]);
}

int
rconn_open(const struct redis_target *t, int64_t connect_timeout_ms,
    int64_t command_timeout_ms, struct rconn **ret, struct xerr *err)
{
	struct rconn *rc = xcalloc(1, sizeof(*rc));
	redisReply *r = NULL;

	redis_target_describe(t, rc->where, sizeof(rc->where));
	if (t->unix_socket)
		rc->c = redisConnectUnixWithTimeout(t->path, tv_ms(connect_timeout_ms));
	else
		rc->c = redisConnectWithTimeout(t->host, t->port, tv_ms(connect_timeout_ms));
	if (rc->c == NULL) {
		xerr_set(err, XR_EREDIS, "cannot connect to redis at %s: out of memory", rc->where);
		goto fail;
	}
	if (rc->c->err) {
		const char *why = rc->c->errstr;
		if (rc->c->err == REDIS_ERR_IO && (errno == EINPROGRESS || errno == ETIMEDOUT))
			why = "connection timed out";
		xerr_set(err, XR_EREDIS, "cannot connect to redis at %s: %s", rc->where, why);
		goto fail;
	}
	redisSetTimeout(rc->c, tv_ms(command_timeout_ms));
	if (!t->unix_socket)
		redisEnableKeepAlive(rc->c);

	if (t->password != NULL) {
		if (t->user != NULL)
			r = redisCommand(rc->c, "AUTH %s %s", t->user, t->password);
		else
			r = redisCommand(rc->c, "AUTH %s", t->password);
		if (r == NULL) {
			rconn_io_error(rc, err);
			goto fail;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			xerr_set(err, XR_EREDIS, "redis at %s refused the login: %s",
			    rc->where, r->str);
			goto fail;
		}
		freeReplyObject(r);
		r = NULL;
	}
	if (t->db != 0) {
		r = redisCommand(rc->c, "SELECT %d", t->db);
		if (r == NULL) {
			rconn_io_error(rc, err);
			goto fail;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			xerr_set(err, strstr(r->str, "NOAUTH") ? XR_EREDIS : XR_EUSAGE,
			    "redis at %s: cannot select database %d: %s", rc->where,
			    t->db, r->str);
			goto fail;
		}
		freeReplyObject(r);
		r = NULL;
	}
	r = redisCommand(rc->c, "INFO server");
	if (r == NULL) {
		rconn_io_error(rc, err);
		goto fail;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		xerr_set(err, XR_EREDIS, "redis at %s: %s", rc->where, r->str);
		goto fail;
	}
	if (r->type == REDIS_REPLY_STRING)
		parse_version(rc, r->str);
	freeReplyObject(r);
	rc->has_inactive = rc->version[0] > 7 || (rc->version[0] == 7 && rc->version[1] >= 2);
	*ret = rc;
	return 0;
fail:
	if (r != NULL)
		freeReplyObject(r);
	rconn_close(rc);
	return -1;
}

void
rconn_close(struct rconn *rc)
{
	if (rc == NULL)
		return;
	if (rc->c != NULL)
		redisFree(rc->c);
	buf_free(&rc->out);
	free(rc);
}

/* ------------------------------------------------------------ pipelines */

/* "<prefix><n>\r\n" */
static void
resp_count(struct buf *b, char prefix, size_t n)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	*--p = '\n';
	*--p = '\r';
	do
		*--p = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	*--p = prefix;
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void
resp_begin(struct rconn *rc, size_t argc)
{
	resp_count(&rc->out, '*', argc);
}

void
resp_arg(struct rconn *rc, const void *p, size_t n)
{
	resp_count(&rc->out, '$', n);
	buf_add(&rc->out, p, n);
	buf_add(&rc->out, "\r\n", 2);
}

void
resp_flush(struct rconn *rc)
{
	if (rc->out.len > 0)
		redisAppendFormattedCommand(rc->c, rc->out.data, rc->out.len);
	buf_reset(&rc->out);
}

/* -------------------------------------------------------------- replies */

const redisReply *
reply_field(const redisReply *r, const char *key)
{
	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i];
		if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) &&
		    strcmp(k->str, key) == 0)
			return r->element[i + 1];
	}
	return NULL;
}

long long
reply_int(const redisReply *r, const char *key, long long dflt)
{
	const redisReply *v = reply_field(r, key);

	if (v == NULL)
		return dflt;
	if (v->type == REDIS_REPLY_INTEGER)
		return v->integer;
	if (v->type == REDIS_REPLY_STRING)
		return strtoll(v->str, NULL, 10);
	return dflt;
}

const char *
reply_str(const redisReply *r, const char *key)
{
	const redisReply *v = reply_field(r, key);

	if (v == NULL || (v->type != REDIS_REPLY_STRING && v->type != REDIS_REPLY_STATUS))
		return NULL;
	return v->str;
}

/* ---------------------------------------------------------------- reads */

int
redis_key_type(struct rconn *rc, const char *key, char *type, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "TYPE %s", key);

	if (r == NULL)
		return -1;
	snprintf(type, 16, "%s", r->type == REDIS_REPLY_STATUS ? r->str : "?");
	freeReplyObject(r);
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
redis_scan_streams(struct rconn *rc, const char *glob, char ***ret_names,
    size_t *ret_n, struct xerr *err)
{
	char cursor[32] = "0";
	char **names = NULL;
	size_t n = 0, cap = 0;

	do {
		redisReply *r = rconn_cmd(rc, err, "SCAN %s MATCH %s COUNT 1000 TYPE stream",
		    cursor, glob);
		if (r == NULL)
			goto fail;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			xerr_set(err, XR_EFAIL, "redis: SCAN: unexpected reply");
			goto fail;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];
			bool dup = false;
			/* SCAN may return a key twice; keep one. */
			for (size_t j = 0; j < n && !dup; j++)
				dup = strcmp(names[j], k->str) == 0;
			if (dup)
				continue;
			if (n + 2 > cap) {
				cap = cap ? cap * 2 : 16;
				names = xrealloc(names, cap * sizeof(*names));
			}
			names[n++] = xstrndup(k->str, k->len);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	if (names == NULL)
		names = xcalloc(1, sizeof(*names));
	names[n] = NULL;
	qsort(names, n, sizeof(*names), cmp_str);
	*ret_names = names;
	*ret_n = n;
	return 0;
fail:
	if (names != NULL) {
		names[n] = NULL;
		strv_free(names);
	}
	return -1;
}

int
redis_groups(struct rconn *rc, const char *stream, struct group_info **ret,
    size_t *ret_n, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "XINFO GROUPS %s", stream);
	struct group_info *g;

	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return xerr_set(err, XR_EFAIL, "redis: XINFO GROUPS %s: unexpected reply", stream);
	}
	g = xcalloc(r->elements + 1, sizeof(*g));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const char *name = reply_str(e, "name");
		const char *last = reply_str(e, "last-delivered-id");
		const redisReply *lag = reply_field(e, "lag");

		g[i].name = xstrdup(name != NULL ? name : "");
		g[i].consumers = reply_int(e, "consumers", 0);
		g[i].pending = reply_int(e, "pending", 0);
		g[i].lag = lag != NULL && lag->type == REDIS_REPLY_INTEGER ? lag->integer : -1;
		g[i].entries_read = reply_int(e, "entries-read", -1);
		snprintf(g[i].last_delivered, sizeof(g[i].last_delivered), "%s",
		    last != NULL ? last : "");
	}
	*ret_n = r->elements;
	*ret = g;
	freeReplyObject(r);
	return 0;
}

void
group_info_free(struct group_info *g, size_t n)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(g[i].name);
	free(g);
}

int
redis_consumers(struct rconn *rc, const char *stream, const char *group,
    struct consumer_info **ret, size_t *ret_n, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "XINFO CONSUMERS %s %s", stream, group);
	struct consumer_info *c;

	if (r == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return xerr_set(err, XR_EFAIL, "redis: XINFO CONSUMERS %s %s: unexpected reply",
		    stream, group);
	}
	c = xcalloc(r->elements + 1, sizeof(*c));
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		const redisReply *name = reply_field(e, "name");

		c[i].name = name != NULL && name->type == REDIS_REPLY_STRING ?
		    xstrndup(name->str, name->len) : xstrdup("");
		c[i].pending = reply_int(e, "pending", 0);
		c[i].idle_ms = reply_int(e, "idle", 0);
		c[i].inactive_ms = reply_int(e, "inactive", -1);
	}
	*ret_n = r->elements;
	*ret = c;
	freeReplyObject(r);
	return 0;
}

void
consumer_info_free(struct consumer_info *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(c[i].name);
	free(c);
}

int64_t
consumer_quiet_ms(const struct rconn *rc, const struct consumer_info *c)
{
	if (rc->has_inactive && c->inactive_ms >= 0)
		return c->inactive_ms;
	return c->idle_ms;
}

int
redis_stream_added(struct rconn *rc, const char *stream, long long *ret, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "XINFO STREAM %s", stream);

	if (r == NULL)
		return -1;
	*ret = r->type == REDIS_REPLY_ARRAY ? reply_int(r, "entries-added", -1) : -1;
	freeReplyObject(r);
	return 0;
}

int
redis_pending_owners(struct rconn *rc, const char *stream, const char *group,
    const struct entry_id *ids, size_t n, char **ret_owners, struct xerr *err)
{
	size_t got = 0;
	int rc_ = 0;

	for (size_t i = 0; i < n; i++) {
		char id[ENTRY_ID_STRLEN];
		entry_id_format(ids[i], id, sizeof(id));
		redisAppendCommand(rc->c, "XPENDING %s %s %s %s 1", stream, group, id, id);
		ret_owners[i] = NULL;
	}
	/* Every answer is read, so the connection stays in step after an error. */
	for (; got < n; got++) {
		redisReply *r = NULL;
		if (redisGetReply(rc->c, (void **)&r) != REDIS_OK)
			return rconn_io_error(rc, err);
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
		    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 2 &&
		    r->element[0]->element[1]->type == REDIS_REPLY_STRING)
			ret_owners[got] = xstrndup(r->element[0]->element[1]->str,
			    r->element[0]->element[1]->len);
		else if (r->type == REDIS_REPLY_ERROR && rc_ == 0)
			rc_ = xerr_set(err, XR_EFAIL, "redis: XPENDING %s %s: %s", stream, group,
			    r->str);
		freeReplyObject(r);
	}
	return rc_;
}

int
redis_pending_summary(struct rconn *rc, const char *stream, const char *group,
    struct pending_summary *ret, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "XPENDING %s %s", stream, group);
	struct pending_summary s = {0};

	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3) {
		s.count = r->element[0]->integer;
		if (r->element[1]->type == REDIS_REPLY_STRING)
			entry_id_parse(r->element[1]->str, r->element[1]->len, &s.oldest);
		if (r->element[2]->type == REDIS_REPLY_STRING)
			entry_id_parse(r->element[2]->str, r->element[2]->len, &s.newest);
	}
	freeReplyObject(r);
	*ret = s;
	return 0;
}

int
redis_pending_ids(struct rconn *rc, const char *stream, const char *group,
    const char *consumer, struct pending_id **ret, size_t *ret_n, struct xerr *err)
{
	char start[ENTRY_ID_STRLEN] = "-";
	struct pending_id *v = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		redisReply *r = rconn_cmd(rc, err, "XPENDING %s %s %s + 1000 %s", stream, group,
		    start, consumer);
		size_t k;

		if (r == NULL) {
			free(v);
			return -1;
		}
		k = r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
		for (size_t i = 0; i < k; i++) {
			const redisReply *e = r->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
			    e->element[0]->type != REDIS_REPLY_STRING ||
			    e->element[3]->type != REDIS_REPLY_INTEGER)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].deliveries = e->element[3]->integer;
			if (entry_id_parse(e->element[0]->str, e->element[0]->len, &v[n].id) == 0)
				n++;
		}
		freeReplyObject(r);
		if (k < 1000 || n == 0)
			break;
		entry_id_format(entry_id_next(v[n - 1].id), start, sizeof(start));
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
redis_oldest_held(struct rconn *rc, const char *stream, const char *group,
    const char *consumer, int64_t *ret_idle_ms, struct xerr *err)
{
	redisReply *r = rconn_cmd(rc, err, "XPENDING %s %s - + 1 %s", stream, group, consumer);

	if (r == NULL)
		return -1;
	*ret_idle_ms = -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		const redisReply *e = r->element[0];
		if (e->type == REDIS_REPLY_ARRAY && e->elements >= 4 &&
		    e->element[2]->type == REDIS_REPLY_INTEGER)
			*ret_idle_ms = e->element[2]->integer;
	}
	freeReplyObject(r);
	return 0;
}

int
redis_entry_exists(struct rconn *rc, const char *stream, struct entry_id id, bool *ret,
    struct xerr *err)
{
	char ids[ENTRY_ID_STRLEN];
	redisReply *r;

	entry_id_format(id, ids, sizeof(ids));
	r = rconn_cmd(rc, err, "XRANGE %s %s %s COUNT 1", stream, ids, ids);
	if (r == NULL)
		return -1;
	*ret = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
	freeReplyObject(r);
	return 0;
}

int
redis_entry_pending(struct rconn *rc, const char *stream, const char *group,
    struct entry_id id, char **ret_consumer, long long *ret_idle_ms,
    long long *ret_deliveries, struct xerr *err)
{
	char ids[ENTRY_ID_STRLEN];
	redisReply *r;

	*ret_consumer = NULL;
	entry_id_format(id, ids, sizeof(ids));
	r = rconn_cmd(rc, err, "XPENDING %s %s %s %s 1", stream, group, ids, ids);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		const redisReply *e = r->element[0];
		if (e->type == REDIS_REPLY_ARRAY && e->elements >= 4 &&
		    e->element[1]->type == REDIS_REPLY_STRING) {
			*ret_consumer = xstrndup(e->element[1]->str, e->element[1]->len);
			*ret_idle_ms = e->element[2]->integer;
			*ret_deliveries = e->element[3]->integer;
		}
	}
	freeReplyObject(r);
	return 0;
}
