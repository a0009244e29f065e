/*
 * replay.c: `xrecover replay`, re-inject journalled messages into their
 * stream (or another) as one batch that `rollback` can undo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/replay.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/util.h"
#include "command.h"

static const struct cmd_option replay_options[] = {
	{"run", 0, NULL, "N", "the entries run N claimed"},
	{"incident", 0, NULL, "ID", "the entries claimed in incident ID (see report --incidents)"},
	{"message", 'm', NULL, "STREAM/ID", "this entry (repeatable)"},
	{"since", 0, NULL, "TIME", "entries claimed at or after TIME (2026-01-17T10:05:28Z, 2026-01-17, or 2h for two hours ago)"},
	{"until", 0, NULL, "TIME", "entries claimed before TIME"},
	{"stream", 's', "streams", "NAME", "only entries of this stream (repeatable)"},
	{"group", 'g', "groups", "NAME", "only entries of this group (repeatable)"},
	{"dead-lettered", 0, NULL, NULL, "only entries now in a dead-letter stream"},
	{"to", 0, NULL, "STREAM", "copy into STREAM instead of each entry's own stream; {stream} and {group} are replaced (a retry stream per group, its group created if missing)"},
	{"all-groups", 0, NULL, NULL, "let the copies reach every group of the target stream, not only the entry's own"},
	{"rate", 0, NULL, "N", "at most N copies per second (0.001 to 1000000000)"},
	{"dry-run", 'n', "dry_run", NULL, "change nothing; print what would be re-injected"},
	{NULL, 0, NULL, NULL, NULL},
};


static void
print_json(const struct replay_result *r, bool dry, const char *error, int code)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	jw_obj(&w);
	jw_kstr(&w, "status", code == XR_OK ? "ok" : "failed");
	if (r->batch > 0)
		jw_kint(&w, "batch", r->batch);
	else
		jw_kstr(&w, "batch", NULL);
	jw_kbool(&w, "dry_run", dry);
	jw_kint(&w, "selected", (int64_t)r->selected);
	jw_kint(&w, "copied", (int64_t)r->copied);
	jw_kint(&w, "skipped_in_flight", (int64_t)r->skipped_in_flight);
	jw_key(&w, "entries");
	jw_arr(&w);
	for (size_t i = 0; i < r->nentries; i++) {
		const struct replayed *e = &r->entries[i];
		char id[ENTRY_ID_STRLEN], copy[ENTRY_ID_STRLEN];

		entry_id_format(e->id, id, sizeof(id));
		entry_id_format(e->copy, copy, sizeof(copy));
		jw_obj(&w);
		jw_kstr(&w, "stream", e->stream);
		jw_kstr(&w, "group", e->group);
		jw_kstr(&w, "id", id);
		jw_kstr(&w, "source", e->source);
		jw_kstr(&w, "to", e->to);
		jw_kstr(&w, "copy_id", dry ? NULL : copy);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	out_json_outcome(&w, error, code);
	jw_obj_end(&w);
	puts(buf_str(&b));
	buf_free(&b);
}

static void
draw(void *ctx, size_t done, size_t total)
{
	progress_draw(ctx, done, total);
}

static const struct column dry_cols[] = {
	{"STREAM", "stream", COL_STR},
	{"GROUP", "group", COL_STR},
	{"ID", "id", COL_STR},
	{"NOW", "source", COL_STR},
	{"COPY TO", "to", COL_STR},
};

/* --message (repeatable) into req->sel, and into the selection's JSON. */
static int
parse_messages(struct ctx *c, struct replay_request *req, struct jw *w, struct xerr *err)
{
	struct selection *s = &req->sel;

	for (size_t i = 0; i < c->nopts; i++) {
		if (strcmp(c->opts[i].name, "message") != 0)
			continue;
		s->messages = xrealloc(s->messages, (s->nmessages + 1) * sizeof(*s->messages));
		if (parse_stream_id("--message", c->opts[i].value, &s->messages[s->nmessages].stream,
		    &s->messages[s->nmessages].id, err) < 0)
			return -1;
		s->nmessages++;
	}
	if (s->nmessages == 0)
		return 0;
	jw_key(w, "messages");
	jw_arr(w);
	for (size_t i = 0; i < c->nopts; i++)
		if (strcmp(c->opts[i].name, "message") == 0)
			jw_str(w, c->opts[i].value);
	jw_arr_end(w);
	return 0;
}

/* --run or --incident N: a positive number. */
static int
parse_number(struct ctx *c, const char *name, const char *what, int64_t *ret, struct jw *w,
    struct xerr *err)
{
	const char *v = ctx_opt(c, name);
	long long n;

	if (v == NULL)
		return 0;
	if (parse_int(v, 1, INT64_MAX, &n) < 0)
		return xerr_set(err, XR_EUSAGE, "--%s: '%s' is not %s", name, v, what);
	*ret = n;
	jw_kint(w, name, n);
	return 1;
}

/* --since or --until. */
static int
parse_when(struct ctx *c, const char *name, int64_t *ret, struct jw *w, struct xerr *err)
{
	const char *v = ctx_opt(c, name);

	if (v == NULL)
		return 0;
	if (parse_time(v, now_ms(), ret) < 0)
		return xerr_set(err, XR_EUSAGE, "--%s: '%s' is not a time (use 2026-01-17T10:05:28Z, "
		    "2026-01-17, or a duration ago such as 2h)", name, v);
	jw_kstr(w, name, v);
	return 1;
}

/*
 * What to replay, from the options, into req->sel, and the same as JSON
 * into sel (journalled with the batch).  At least one criterion is needed.
 */
static int
parse_selection(struct ctx *c, struct replay_request *req, struct buf *sel, struct xerr *err)
{
	struct selection *s = &req->sel;
	struct jw w;
	int k, found = 0;

	jw_init(&w, sel);
	jw_obj(&w);
	if (parse_messages(c, req, &w, err) < 0)
		return -1;
	found += s->nmessages > 0;
	if ((k = parse_number(c, "run", "a run number", &s->run, &w, err)) < 0)
		return -1;
	found += k;
	if ((k = parse_number(c, "incident", "an incident ID", &s->incident, &w, err)) < 0)
		return -1;
	found += k;
	if ((k = parse_when(c, "since", &s->since_ms, &w, err)) < 0)
		return -1;
	found += k;
	if ((k = parse_when(c, "until", &s->until_ms, &w, err)) < 0)
		return -1;
	found += k;
	if (c->cfg.streams[0] != NULL) {
		s->streams = c->cfg.streams;
		jw_kstrs(&w, "streams", c->cfg.streams, JW_TO_NULL);
		found++;
	}
	if (c->cfg.groups[0] != NULL) {
		s->groups = c->cfg.groups;
		jw_kstrs(&w, "groups", c->cfg.groups, JW_TO_NULL);
	}
	if (ctx_flag(c, "dead-lettered")) {
		s->dead_lettered = true;
		jw_kbool(&w, "dead_lettered", true);
		found++;
	}
	jw_obj_end(&w);
	if (found == 0)
		return xerr_set(err, XR_EUSAGE, "say what to replay: --run, --message, "
		    "--since/--until, --stream or --dead-lettered");
	req->selection_json = buf_str(sel);
	return 0;
}

/* Where the copies go and how fast: --to, --rate. */
static int
parse_target(struct ctx *c, struct replay_request *req, struct xerr *err)
{
	const char *v;

	req->to = ctx_opt(c, "to");
	req->all_groups = ctx_flag(c, "all-groups");
	if (req->to != NULL && req->to[0] == '\0')
		return xerr_set(err, XR_EUSAGE, "--to: a stream name must not be empty");
	if ((v = ctx_opt(c, "rate")) != NULL) {
		char *end;
		req->rate = strtod(v, &end);
		/* Written so that NaN fails it too. */
		if (*end != '\0' || !(req->rate >= 0.001 && req->rate <= 1e9))
			return xerr_set(err, XR_EUSAGE, "--rate: '%s' is not a number of copies per "
			    "second from 0.001 to 1000000000", v);
	}
	return 0;
}

/* A dry run: the entries it would copy, and how many. */
static void
print_dry(const struct replay_result *res)
{
	struct table t;

	table_init(&t, dry_cols, sizeof(dry_cols) / sizeof(dry_cols[0]));
	for (size_t i = 0; i < res->nentries; i++) {
		char id[ENTRY_ID_STRLEN];
		size_t row = table_row(&t);
		entry_id_format(res->entries[i].id, id, sizeof(id));
		table_str(&t, row, 0, res->entries[i].stream);
		table_str(&t, row, 1, res->entries[i].group);
		table_str(&t, row, 2, id);
		table_str(&t, row, 3, res->entries[i].source);
		table_str(&t, row, 4, res->entries[i].to);
	}
	table_print(&t, stdout);
	table_free(&t);
	printf("would copy %zu entries", res->selected);
	if (res->skipped_in_flight > 0)
		printf("; %zu skipped: a copy of each is already in flight", res->skipped_in_flight);
	printf("\n");
}

/* A batch that began: what it copied (text and log line), ended well or not. */
static void
print_batch(struct ctx *c, const struct replay_request *req, const struct replay_result *res,
    bool ok, bool text)
{
	struct logline l;

	if (text) {
		printf("replay batch %lld: copied %zu of %zu entries", (long long)res->batch,
		    res->copied, res->selected);
		if (res->skipped_in_flight > 0)
			printf(" (%zu skipped: a copy already in flight)", res->skipped_in_flight);
		printf("\nundo with: xrecover rollback %lld\n", (long long)res->batch);
	}
	ll_start(&l, ok ? LOG_INFO : LOG_WARN, "REPLAY", NULL);
	ll_int(&l, "batch", res->batch);
	ll_int(&l, "copied", (int64_t)res->copied);
	ll_int(&l, "selected", (int64_t)res->selected);
	ll_int(&l, "skipped_in_flight", (int64_t)res->skipped_in_flight);
	ll_str(&l, "to", req->to != NULL ? req->to : "(own stream)");
	ll_emit(c->lg, &l);
}

static int
replay_run(struct ctx *c)
{
	struct replay_request req = {0};
	struct replay_result res;
	struct xerr err = {0};
	struct progress pr;
	struct buf sel = BUF_INIT;
	int r, rc = XR_OK;
	bool json;

	if (parse_selection(c, &req, &sel, &err) < 0 || parse_target(c, &req, &err) < 0) {
		rc = fail(c, &err);
		goto out;
	}
	req.dry_run = c->cfg.dry_run;
	req.want_entries = c->cfg.json || req.dry_run;
	progress_init(&pr, "replay", c->cfg.quiet || req.dry_run);
	req.progress = pr.on ? draw : NULL;
	req.progress_ctx = &pr;

	r = replay(&c->cfg, c->lg, c->stop, &req, &res, &err);
	/* A batch that began says how it ended, failure or not. */
	json = c->cfg.json && (r == 0 || res.batch > 0);
	if (json) {
		print_json(&res, req.dry_run, err.msg, r == 0 ? XR_OK : err.code != 0 ? err.code :
		    XR_EFAIL);
		c->out.json_done = true;
	} else if (r == 0 && req.dry_run) {
		print_dry(&res);
	}
	if (res.batch > 0)
		print_batch(c, &req, &res, r == 0, !json);
	replay_result_free(&res);
	if (r < 0)
		rc = fail(c, &err);
out:
	for (size_t i = 0; i < req.sel.nmessages; i++)
		free(req.sel.messages[i].stream);
	free(req.sel.messages);
	buf_free(&sel);
	return rc;
}

const struct command cmd_replay = {
	.name = "replay",
	.summary = "re-inject journalled messages into their stream (or --to another) as one batch",
	.usage = "[--run N] [--incident ID] [--message STREAM/ID]... [--since T] [--until T] [-s STREAM]... "
	    "[--to STREAM] [--all-groups] [--rate N] [OPTIONS]",
	.description =
	    "Copies the selected journalled entries, each field and value byte for byte and in\n"
	    "order, to the end of their stream (or of --to STREAM), where consumers read them\n"
	    "with '>'.  The copies form one batch, printed with its number.  The originals stay\n"
	    "where they are (held by the recovery consumer, or in the dead-letter stream) until\n"
	    "a later `run` sees the copy read and acknowledged and settles it; until then\n"
	    "`rollback BATCH` takes back every copy no group has read.  Entries with a copy in\n"
	    "flight are skipped.  Shows progress on a terminal.",
	.options = replay_options,
	.min_args = 0,
	.max_args = 0,
	.run = replay_run,
};
