/*
 * notify.h: alerts posted to chat webhooks and JSON receivers, over HTTP(S)
 * with libcurl.  It knows nothing of Redis or the journal: core/ hands it an
 * alert and a webhook, and gets back what happened, which a caller may keep
 * (an outbox stores each attempt's result and tries again later).
 *
 * Two steps, so that a retry sends the very same message:
 *   notify_render()  the request body for the webhook's format, and the
 *                    message id (Standard Webhooks' webhook-id)
 *   notify_post()    one HTTP POST of a rendered message; classifies the
 *                    answer (delivered, retryable or not, when to retry)
 *
 * A webhook URL carries its token in the path or query, and the secret
 * signs requests: neither ever appears in a result.  Targets are shown as
 * notify_redact() writes them: scheme, host and port, the first path
 * segment when it is a plain word and more follow, then three asterisks:
 * a Slack URL shows as https://hooks.slack.com/services/ and the asterisks.
 */
#ifndef XR_NOTIFY_H
#define XR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/xr.h"

enum alert_mode { ALERT_TEST, ALERT_LIVE };

enum severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL };

/* One thing that happened, with its count: "claimed in the last hour", 12. */
struct alert_line {
	const char *text;
	int64_t count;
};

/*
 * An alert as core/ hands it over.  Strings are borrowed; any of them may
 * come from Redis (hostile: every chat format escapes control characters).
 * stream and group may be NULL when the alert is about no one group.
 */
struct alert {
	enum alert_mode mode;
	const char *host;
	const char *stream;
	const char *group;
	enum severity severity;
	const char *rule;           /* "claimed", "test", ... */
	const char *state;          /* "firing", "resolved", or NULL (a test, a report) */
	int64_t number;             /* the alert's number in the journal; 0: none */
	const char *title;          /* one line: what happened */
	const struct alert_line *lines;
	size_t nlines;
	const char *command;        /* what shows more: "xrecover report --incident 4" */
	int64_t time_ms;            /* when it happened, Unix ms */
};

enum webhook_format { WH_SLACK, WH_DISCORD, WH_TEAMS, WH_JSON };

/* A webhook ready to use: url and secret are the real ones (from a file, if so). */
struct webhook {
	char *name;
	char *url;                  /* secret: never printed; see notify_redact() */
	enum webhook_format format;
	char *secret;               /* NULL: unsigned; "whsec_<base64>" or raw bytes */
	enum severity min_severity;
	char *ca_file;              /* NULL, or a PEM file of trust roots to add */
	int64_t timeout_ms;         /* the whole request */
	int64_t connect_timeout_ms;
	char **rules;               /* NULL-terminated; empty: every rule */
	char **streams;             /* NULL-terminated; empty: every stream */
};

void webhook_free(struct webhook *w);

/* "slack", "discord", "teams", "json"; -1 for anything else. */
int webhook_format_parse(const char *s);
const char *webhook_format_name(enum webhook_format f);
/* "info", "warning", "critical"; -1 for anything else. */
int severity_parse(const char *s);
const char *severity_name(enum severity s);

/* Discord refuses content longer than this many characters (code points). */
#define DISCORD_MAX_CHARS 2000

/* A rendered message: what goes out, the same on every attempt. */
struct notify_msg {
	struct buf body;            /* the request body, JSON */
	char id[40];                /* "msg_" and 32 hex digits, unique */
};

/*
 * Renders alert a for webhook w's format into *ret (freed with
 * notify_msg_free()).  id: the message id a retry sends again, or NULL
 * for a fresh random one (notify_new_id()).  The body depends only on w's
 * format, a and the id.  -1 (XR_EFAIL) only when no random bytes could
 * be had.
 */
int notify_render(const struct webhook *w, const struct alert *a, const char *id,
    struct notify_msg *ret, struct xerr *err);
/* A fresh message id: "msg_" and 32 random hex digits. */
int notify_new_id(char id[40], struct xerr *err);
void notify_msg_free(struct notify_msg *m);

/*
 * The Standard Webhooks signature of body sent with id at timestamp ts:
 * "v1," and the base64 HMAC-SHA256 of "id.ts.body" keyed with secret
 * (the bytes after "whsec_" decoded from base64, or the secret's own
 * bytes when it has no such prefix).  -1 (XR_EUSAGE) when a whsec_
 * secret is not base64; the message never shows the secret.
 */
int notify_sign(const char *secret, const char *id, int64_t ts, const char *body, size_t len,
    struct buf *out, struct xerr *err);

/* What one POST came to.  Self-contained: nothing to free. */
struct notify_result {
	bool delivered;             /* a 2xx answer */
	bool retryable;             /* not delivered, and worth trying again later */
	long http_status;           /* 0: no answer (timeout, refused, TLS) */
	int64_t retry_after_ms;     /* -1: not said; else Retry-After or Discord's retry_after */
	int64_t elapsed_ms;
	char target[300];           /* the URL, redacted */
	char error[600];            /* "" when delivered; never holds the URL's path or the secret */
};

/* Once per process, before any notify_post(). */
int notify_global_init(struct xerr *err);
void notify_global_cleanup(void);

/*
 * POSTs m to w: TLS verified always (w->ca_file adds trust roots to the
 * system's), no redirects followed, w's timeouts.  2xx is delivered; 429,
 * 5xx and no answer (timeout, connection refused or cut) are retryable,
 * with retry_after_ms from Retry-After (seconds or an HTTP date) or a JSON
 * body's retry_after (Discord: seconds); other answers, and TLS failures,
 * are not retryable.  Always fills *ret; returns 0 when delivered, else -1.
 * A caller with a time budget for several posts lowers w->timeout_ms to
 * what is left of it.
 */
int notify_post(const struct webhook *w, const struct notify_msg *m, struct notify_result *ret);

/*
 * Whether w's receiver answers, without sending it anything: a TCP
 * connection, and for https the TLS handshake verified as notify_post's,
 * within w's timeouts; no HTTP request goes out.  Fills *ret (delivered:
 * it connected; error: why not, redacted like notify_post's); 0 when it
 * connected, else -1.
 */
int notify_probe(const struct webhook *w, struct notify_result *ret);
/* url with its token hidden, as described above, into out (always terminated). */
void notify_redact(const char *url, char *out, size_t outlen);

#endif
