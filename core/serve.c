/* serve.c: `serve`'s HTTP server (see serve.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "../lib/json.h"
#include "../store/journal.h"
#include "../store/report.h"
#include "metrics.h"
#include "render.h"
#include "report.h"
#include "serve.h"

/* An open connection, for the deadline (see reaper). */
struct slot {
	int fd;                     /* -1: free */
	int64_t since;              /* mono_ms() it opened; INT64_MAX: shut down */
};

struct server {
	struct MHD_Daemon *d;
	const struct config *cfg;
	const struct serve_hooks *hooks;
	char *token;                /* NULL: none asked */
	size_t token_len;
	char url[80];
	/* The connections, under mu: taken and freed in libmicrohttpd's thread, cut by the reaper. */
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* stop was asked */
	pthread_t reaper;
	bool reaping, stopping;
	struct slot slots[SERVE_CONNECTIONS];
};

/* ------------------------------------------------------------- address */

int
serve_parse_listen(const char *s, struct serve_addr *ret, struct xerr *err)
{
	struct serve_addr a;
	const char *colon, *host_end;
	char host[INET6_ADDRSTRLEN + 1];
	long long port;

	memset(&a, 0, sizeof(a));
	if (s[0] == '[') {
		host_end = strchr(s, ']');
		colon = host_end != NULL && host_end[1] == ':' ? host_end + 1 : NULL;
		s++;
		a.v6 = true;
	} else {
		colon = strrchr(s, ':');
		host_end = colon;
	}
	if (colon == NULL || host_end == s || (size_t)(host_end - s) >= sizeof(host) ||
	    parse_int(colon + 1, 0, 65535, &port) < 0)
		goto bad;
	memcpy(host, s, (size_t)(host_end - s));
	host[host_end - s] = '\0';
	if (a.v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.sa;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		a.len = sizeof(*in6);
		a.loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&a.sa;
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
			goto bad;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		a.len = sizeof(*in);
		a.loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	*ret = a;
	return 0;
bad:
	return xerr_set(err, XR_EUSAGE, "--listen '%s': expected ADDR:PORT with a numeric "
	    "address, such as 127.0.0.1:8099 or [::1]:8099", a.v6 ? s - 1 : s);
}

/* ---------------------------------------------------------------- replies */

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, const struct buf *body)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(body->len, body->len > 0 ? body->data : (void *)"",
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	/* The pages are one file each, with no script: nothing else may load or run. */
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

/* A short text answer: fmt's %s arguments are escaped (they may be names from Redis). */
static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	enum MHD_Result ok;

	va_start(ap, fmt);
	for (const char *p = fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			const char *s = va_arg(ap, const char *);
			buf_add_esc(&b, s, strlen(s));
			p++;
		} else {
			buf_addc(&b, *p);
		}
	}
	va_end(ap);
	buf_addc(&b, '\n');
	ok = reply(conn, status, "text/plain; charset=utf-8", &b);
	buf_free(&b);
	return ok;
}

/* An error of a page's builder: 404 when there is no such thing, else 500. */
static enum MHD_Result
reply_error(struct MHD_Connection *conn, const struct xerr *err)
{
	return reply_text(conn, err->code == XR_ENOTHING ? MHD_HTTP_NOT_FOUND :
	    MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err->msg);
}

/* ----------------------------------------------------------------- pages */

/*
 * /health: the journal's newest run_end.  Degraded (503) when there is no
 * journal or no run yet, when that run failed or was interrupted, or when
 * it ended more than three intervals ago.
 */
static enum MHD_Result
page_health(struct server *s, struct MHD_Connection *conn)
{
	struct journal *j = NULL;
	struct rows rl = {0};
	struct xerr err = {0};
	struct buf b = BUF_INIT, why = BUF_INIT;
	struct jw w;
	const char *status = NULL;
	int64_t ts = 0, now = now_ms();
	bool ok = false, have = false;
	enum MHD_Result r;

	if (journal_open(s->cfg->db_path, JOURNAL_READ, &j, &err) < 0 ||
	    rq_health_last_run(j, &rl, &err) < 0) {
		buf_printf(&why, "the journal cannot be read: %s", err.msg);
	} else if (rl.nrows == 0) {
		buf_adds(&why, "no run has ended yet");
	} else {
		have = true;
		ts = rows_int(&rl, 0, 1);
		status = rows_text(&rl, 0, 2);
		if (status == NULL || (strcmp(status, "ok") != 0 && strcmp(status, "warning") != 0)) {
			buf_printf(&why, "the last run (%lld) ended %s",
			    (long long)rows_int(&rl, 0, 0), status != NULL ? status : "without a status");
			if (rows_text(&rl, 0, 6) != NULL)
				buf_printf(&why, ": %s", rows_text(&rl, 0, 6));
		} else if (now - ts > 3 * s->cfg->interval_ms) {
			char age[32], iv[32];
			format_age(now - ts, age, sizeof(age));
			format_age(s->cfg->interval_ms, iv, sizeof(iv));
			buf_printf(&why, "the last run ended %s ago, more than three intervals "
			    "(interval %s)", age, iv);
		} else {
			ok = true;
		}
	}
	journal_close(j);
	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "status", ok ? "ok" : "degraded");
	if (have) {
		char t[40];
		format_utc(ts, false, t, sizeof(t));
		jw_kstr(&w, "last_run", t);
		jw_kint(&w, "run", rows_int(&rl, 0, 0));
		jw_kstr(&w, "last_run_status", status);
		jw_kint(&w, "claimed_count", rows_int(&rl, 0, 3));
		jw_kint(&w, "deleted_count", rows_int(&rl, 0, 4));
		jw_key(&w, "pending_messages");
		if (rows_at(&rl, 0, 5)->type == RV_NULL)
			jw_null(&w);
		else
			jw_int(&w, rows_int(&rl, 0, 5));
	} else {
		jw_kstr(&w, "last_run", NULL);
		jw_kstr(&w, "run", NULL);
		jw_kstr(&w, "last_run_status", NULL);
		jw_kstr(&w, "claimed_count", NULL);
		jw_kstr(&w, "deleted_count", NULL);
		jw_kstr(&w, "pending_messages", NULL);
	}
	/* The last run's groups' consumers, the recovery consumer not counted (clean.c). */
	jw_key(&w, "active_consumers");
	if (have && rows_at(&rl, 0, 7)->type != RV_NULL)
		jw_int(&w, rows_int(&rl, 0, 7));
	else
		jw_null(&w);
	if (!ok)
		jw_kstr(&w, "reason", buf_str(&why));
	jw_obj_end(&w);
	buf_addc(&b, '\n');
	r = reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", &b);
	rows_free(&rl);
	buf_free(&b);
	buf_free(&why);
	return r;
}

static enum MHD_Result
page_metrics(struct server *s, struct MHD_Connection *conn)
{
	struct buf b = BUF_INIT;
	struct xerr err = {0};
	enum MHD_Result r;

	if (metrics_build(s->cfg, NULL, &b, &err) < 0)
		r = reply_error(conn, &err);
	else
		r = reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
	buf_free(&b);
	return r;
}

/* A report as its HTML page. */
static enum MHD_Result
page_report(struct server *s, struct MHD_Connection *conn, const struct report_request *req)
{
	struct report rep;
	struct buf b = BUF_INIT;
	struct xerr err = {0};
	enum MHD_Result r;

	if (report_build(s->cfg, req, &rep, &err) < 0) {
		r = reply_error(conn, &err);
	} else {
		render(&rep, RENDER_HTML, &b);
		r = reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", &b);
	}
	report_free(&rep);
	buf_free(&b);
	return r;
}

/* /report/daily/DATE: DATE is YYYY-MM-DD; NULL: today (UTC). */
static enum MHD_Result
page_daily(struct server *s, struct MHD_Connection *conn, const char *date)
{
	struct report_request req = {.what = REPORT_DAILY};
	int64_t t;

	req.day_ms = now_ms() / 86400000 * 86400000;
	if (date != NULL) {
		if (strlen(date) != 10 || parse_time(date, now_ms(), &t) < 0 || t % 86400000 != 0)
			return reply_text(conn, MHD_HTTP_BAD_REQUEST, "'%s' is not a date (YYYY-MM-DD)",
			    date);
		req.day_ms = t;
	}
	return page_report(s, conn, &req);
}

static enum MHD_Result
page_incident(struct server *s, struct MHD_Connection *conn, const char *n)
{
	struct report_request req = {.what = REPORT_INCIDENT};
	long long id;

	if (parse_int(n, 1, INT64_MAX, &id) < 0)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, "'%s' is not an incident number", n);
	req.id = id;
	return page_report(s, conn, &req);
}

/* /trace/STREAM/ID: the stream is everything before the last '/'. */
static enum MHD_Result
page_trace(struct server *s, struct MHD_Connection *conn, const char *arg)
{
	const char *slash = strrchr(arg, '/');
	struct entry_id id;
	struct buf b = BUF_INIT;
	struct xerr err = {0};
	enum MHD_Result r;
	char *stream;

	if (slash == NULL || slash == arg || entry_id_parse(slash + 1, strlen(slash + 1), &id) < 0)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, "'%s' is not STREAM/ID, for example "
		    "orders/1700000000000-0", arg);
	stream = xstrndup(arg, (size_t)(slash - arg));
	if (s->hooks == NULL || s->hooks->trace == NULL)
		r = reply_text(conn, MHD_HTTP_NOT_FOUND, "no trace here");
	else if (s->hooks->trace(s->hooks->arg, stream, id, &b, &err) < 0)
		r = reply_error(conn, &err);
	else
		r = reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", &b);
	free(stream);
	buf_free(&b);
	return r;
}

/* ------------------------------------------------------------ connections */

/* A free slot, or NULL when SERVE_CONNECTIONS are open; under mu. */
static struct slot *
slot_free(struct server *s)
{
	for (size_t i = 0; i < SERVE_CONNECTIONS; i++)
		if (s->slots[i].fd < 0)
			return &s->slots[i];
	return NULL;
}

/*
 * A new connection is closed at once when SERVE_CONNECTIONS are open
 * (libmicrohttpd's own limit would leave it unanswered until one closes).
 */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct server *s = cls;
	bool room;

	(void)addr;
	(void)len;
	pthread_mutex_lock(&s->mu);
	room = slot_free(s) != NULL;
	pthread_mutex_unlock(&s->mu);
	return room ? MHD_YES : MHD_NO;
}

/* A connection opened (takes a slot) or closed (frees it; its socket is still open). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	struct slot *sl = *ctx;
	const union MHD_ConnectionInfo *ci;

	pthread_mutex_lock(&s->mu);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		sl = slot_free(s);
		if (ci != NULL && sl != NULL) {
			sl->fd = ci->connect_fd;
			sl->since = mono_ms();
			*ctx = sl;
		} else if (ci != NULL) {
			shutdown(ci->connect_fd, SHUT_RDWR);     /* on_accept let none through */
		}
	} else if (sl != NULL) {
		sl->fd = -1;
		*ctx = NULL;
	}
	pthread_mutex_unlock(&s->mu);
}

/*
 * The reaper thread: a connection still open SERVE_TIMEOUT_S after it
 * opened is shut down, whatever it sends (a connection carries one
 * request: every answer says "Connection: close").  libmicrohttpd's own
 * timeout counts from the last byte, so a client that sent a byte now
 * and then would hold its connection for ever.  The socket is shut
 * down, not closed: libmicrohttpd sees the end and closes it after
 * on_connection freed the slot (under mu: never a socket closed and
 * reused meanwhile).
 */
static void *
reaper(void *arg)
{
	struct server *s = arg;
	const int64_t limit = SERVE_TIMEOUT_S * 1000;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t now = mono_ms(), next = now + limit;

		for (size_t i = 0; i < SERVE_CONNECTIONS; i++) {
			struct slot *sl = &s->slots[i];

			if (sl->fd < 0 || sl->since == INT64_MAX)
				continue;
			if (now - sl->since >= limit) {
				shutdown(sl->fd, SHUT_RDWR);
				sl->since = INT64_MAX;
			} else if (sl->since + limit < next) {
				next = sl->since + limit;
			}
		}
		ts.tv_sec = (time_t)(next / 1000);
		ts.tv_nsec = (long)(next % 1000) * 1000000;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ----------------------------------------------------------------- requests */

/* Whether the request carries "Authorization: Bearer TOKEN", compared in constant time. */
static bool
authorized(const struct server *s, struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char diff;
	size_t n;

	if (s->token == NULL)
		return true;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	n = strlen(h);
	/* Time depends on the token's length only, never on where they differ. */
	diff = n != s->token_len;
	for (size_t i = 0; i < s->token_len; i++)
		diff |= (unsigned char)s->token[i] ^ (unsigned char)(i < n ? h[i] : 0);
	return diff == 0;
}

static const char *
after(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(url, prefix, n) == 0 ? url + n : NULL;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct server *s = cls;
	const char *len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	const char *rest;
	static int seen;

	(void)version;
	(void)upload_data;
	/* Every request is answered on its first call, before any body is read. */
	if (*req_cls != NULL)
		return MHD_NO;
	*req_cls = &seen;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
	if ((len != NULL && strcmp(len, "0") != 0) || te != NULL || *upload_data_size > 0)
		return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "a request takes no body");
	if (strlen(url) > SERVE_URL_MAX)
		return reply_text(conn, MHD_HTTP_URI_TOO_LONG, "the path is too long");
	if (!authorized(s, conn))
		return reply_text(conn, MHD_HTTP_UNAUTHORIZED, "a bearer token is required");
	if (strcmp(url, "/health") == 0)
		return page_health(s, conn);
	if (strcmp(url, "/metrics") == 0)
		return page_metrics(s, conn);
	if (strcmp(url, "/report/daily") == 0)
		return page_daily(s, conn, NULL);
	if ((rest = after(url, "/report/daily/")) != NULL)
		return page_daily(s, conn, rest);
	if ((rest = after(url, "/incident/")) != NULL)
		return page_incident(s, conn, rest);
	if ((rest = after(url, "/trace/")) != NULL)
		return page_trace(s, conn, rest);
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found");
}

/* libmicrohttpd's own messages: a library does not print. */
static void
quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

int
serve_start(const struct config *cfg, const struct serve_addr *addr, const char *token,
    const struct serve_hooks *hooks, struct server **ret, struct xerr *err)
{
	struct server *s;
	const union MHD_DaemonInfo *info;
	char host[INET6_ADDRSTRLEN];
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	pthread_condattr_t ca;

	if (token == NULL && !addr->loopback)
		return xerr_set(err, XR_EUSAGE, "serve: listening beyond loopback needs a token "
		    "(--token-file FILE, or \"serve\": {\"token_file\": ...} in the config)");
	s = xcalloc(1, sizeof(*s));
	s->cfg = cfg;
	s->hooks = hooks;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* mono_ms()'s clock */
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < SERVE_CONNECTIONS; i++)
		s->slots[i].fd = -1;
	if (token != NULL) {
		s->token = xstrdup(token);
		s->token_len = strlen(token);
	}
	if (addr->v6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	/* on_accept keeps to SERVE_CONNECTIONS; libmicrohttpd's limit is never reached. */
	s->d = MHD_start_daemon(flags, 0, on_accept, s, on_request, s,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr->sa,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)(2 * SERVE_CONNECTIONS),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVE_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVE_MEMORY,
	    MHD_OPTION_EXTERNAL_LOGGER, quiet, NULL,
	    MHD_OPTION_END);
	if (addr->v6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&addr->sa)->sin6_addr, host,
		    sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&addr->sa)->sin_addr, host,
		    sizeof(host));
	if (s->d == NULL) {
		int e = errno;
		xerr_set(err, XR_EUSAGE, "serve: cannot listen on %s%s%s:%u%s%s", addr->v6 ? "[" : "",
		    host, addr->v6 ? "]" : "",
		    ntohs(addr->v6 ? ((const struct sockaddr_in6 *)&addr->sa)->sin6_port :
		    ((const struct sockaddr_in *)&addr->sa)->sin_port),
		    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
		serve_stop(s);
		return -1;
	}
	if (pthread_create(&s->reaper, NULL, reaper, s) != 0) {
		xerr_set(err, XR_EFAIL, "serve: cannot start a thread");
		serve_stop(s);
		return -1;
	}
	s->reaping = true;
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(s->url, sizeof(s->url), "http://%s%s%s:%u", addr->v6 ? "[" : "", host,
	    addr->v6 ? "]" : "", info != NULL ? (unsigned)info->port : 0u);
	*ret = s;
	return 0;
}

const char *
serve_url(const struct server *s)
{
	return s->url;
}

void
serve_stop(struct server *s)
{
	if (s == NULL)
		return;
	if (s->reaping) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->reaper, NULL);
	}
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	secret_free(s->token);
	free(s);
}
