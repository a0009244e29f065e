/*
 * serve.h: `xrecover serve`'s HTTP server (libmicrohttpd): /health,
 * /metrics and the reports as pages, read from the journal only.
 *
 *   GET /health                    the last run as JSON; 503 when degraded
 *   GET /metrics                   metrics_build(cfg, NULL): the text format
 *   GET /report/daily[/DATE]       the daily report (today, UTC) as HTML
 *   GET /incident/N                one incident's timeline as HTML
 *   GET /trace/STREAM/ID           one message's story as text
 *
 * Anything else is 404; a method other than GET and HEAD 405; a request
 * with a body 413; a path longer than SERVE_URL_MAX 414; headers past
 * SERVE_MEMORY 431; a bad DATE or N 400.  With a token, every request must
 * carry "Authorization: Bearer TOKEN" (401 otherwise), compared in
 * constant time.  The server never takes the journal's run lock and never
 * prints: it runs in a thread of libmicrohttpd's, one whole request at a
 * time, one request a connection.  At most SERVE_CONNECTIONS connections
 * are open (SERVE_PER_IP from one address); one more is closed at once.
 * Each is shut down SERVE_TIMEOUT_S seconds after it opened, whatever it
 * sends.
 */
#ifndef XR_CORE_SERVE_H
#define XR_CORE_SERVE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "config.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:8099"
#define SERVE_URL_MAX 2048              /* bytes of the decoded path */
#define SERVE_CONNECTIONS 32
#define SERVE_PER_IP 16                 /* connections from one address */
#define SERVE_TIMEOUT_S 15
#define SERVE_MEMORY 32768              /* bytes a connection's headers may use */

/* What the server cannot do itself, filled by the caller. */
struct serve_hooks {
	void *arg;
	/*
	 * The story of stream/id, as `trace` prints it, appended to out.
	 * Returns 0, or -1 with err (XR_ENOTHING: the journal knows nothing
	 * of it).
	 */
	int (*trace)(void *arg, const char *stream, struct entry_id id, struct buf *out,
	    struct xerr *err);
};

/* An address to listen on. */
struct serve_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	bool v6;
	bool loopback;              /* 127.0.0.0/8 or ::1 */
};

/*
 * Parses "ADDR:PORT" (an IPv4 address) or "[ADDR]:PORT" (IPv6); PORT 0
 * lets the system choose.  -1 with XR_EUSAGE when it is not one.
 */
int serve_parse_listen(const char *s, struct serve_addr *ret, struct xerr *err);

struct server;

/*
 * Starts listening on addr and answering in a thread of its own.  token:
 * the bearer token every request must carry, or NULL (then addr must be a
 * loopback address); it is copied.  cfg and hooks must outlive the
 * server.  Errors: XR_EUSAGE (no token off loopback, or the address cannot
 * be bound).  OUT: *ret, stopped and freed with serve_stop().
 */
int serve_start(const struct config *cfg, const struct serve_addr *addr, const char *token,
    const struct serve_hooks *hooks, struct server **ret, struct xerr *err);
/* "http://127.0.0.1:8099", the port the system chose for port 0 included. */
const char *serve_url(const struct server *s);
/* Stops answering, closes every connection and frees s (NULL is fine). */
void serve_stop(struct server *s);

#endif
