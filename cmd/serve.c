/*
 * serve.c: `xrecover serve [--listen ADDR:PORT] [--token-file FILE]`:
 * /health, /metrics and the reports over HTTP until SIGTERM or SIGINT
 * (core/serve.h does the serving).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/serve.h"
#include "../core/trace.h"
#include "command.h"

static const struct cmd_option serve_options[] = {
	{"listen", 0, NULL, "ADDR:PORT", "the address to listen on (default 127.0.0.1:8099; [::1]:PORT for IPv6; any other than loopback needs a token)"},
	{"token-file", 0, NULL, "FILE", "every request must carry \"Authorization: Bearer TOKEN\", TOKEN the one line of FILE (not readable by every user)"},
	{NULL, 0, NULL, NULL, NULL},
};

/* The trace page: the journal's story, as `trace` prints it. */
static int
trace_page(void *arg, const char *stream, struct entry_id id, struct buf *out, struct xerr *err)
{
	const struct ctx *c = arg;
	struct trace t;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (trace_entry_journal(&c->cfg, stream, id, "not asked: serve reads the journal only",
	    &t, err) < 0)
		return -1;
	f = open_memstream(&text, &len);
	if (f == NULL) {
		trace_free(&t);
		return xerr_set(err, XR_EFAIL, "out of memory");
	}
	print_unread(t.unread, t.nunread, f);
	trace_print(&t, f);
	fclose(f);
	buf_add(out, text, len);
	free(text);
	trace_free(&t);
	return 0;
}

static int
serve_run(struct ctx *c)
{
	const char *listen = ctx_opt(c, "listen");
	struct serve_hooks hooks = {.arg = c, .trace = trace_page};
	struct serve_addr addr;
	struct server *s = NULL;
	struct xerr err = {0};
	char *token = NULL;
	sigset_t block, old;

	if (listen == NULL)
		listen = c->cfg.serve_listen != NULL ? c->cfg.serve_listen : SERVE_DEFAULT_LISTEN;
	if (serve_parse_listen(listen, &addr, &err) < 0 ||
	    config_serve_token(&c->cfg, ctx_opt(c, "token-file"), &token, &err) < 0)
		goto fail;
	/*
	 * SIGINT and SIGTERM are blocked before the server's thread starts, so
	 * that it inherits the mask and only sigsuspend below takes them.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (serve_start(&c->cfg, &addr, token, &hooks, &s, &err) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto fail;
	}
	config_token_free(token);
	printf("serving %s (journal %s)\n", serve_url(s), c->cfg.db_path);
	fflush(stdout);
	while (!*c->stop)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	serve_stop(s);
	return XR_OK;
fail:
	config_token_free(token);
	return fail(c, &err);
}

const struct command cmd_serve = {
	.name = "serve",
	.summary = "/health, /metrics and the reports as pages over HTTP, from the journal",
	.usage = "[--listen ADDR:PORT] [--token-file FILE]",
	.description =
	    "Answers HTTP GET until SIGTERM or SIGINT: /health (the last run as JSON, 503 when\n"
	    "degraded: it failed, or ended more than three intervals ago), /metrics (the\n"
	    "Prometheus text format), /report/daily and /report/daily/YYYY-MM-DD (the daily\n"
	    "report's HTML page, today by default), /incident/N and /trace/STREAM/ID.  Reads the\n"
	    "journal only, never takes its lock: runs go on while it serves.  Listens on\n"
	    "127.0.0.1:8099 unless told otherwise; off loopback it needs a token, and with a\n"
	    "token every request must carry it.  Exits 0 when stopped.",
	.options = serve_options,
	.min_args = 0,
	.max_args = 0,
	.run = serve_run,
};
