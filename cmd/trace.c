/*
 * trace.c: `xrecover trace STREAM/ID` and `xrecover trace --field NAME=VALUE`:
 * one message's whole story from the journal, its fate, and what Redis
 * says of it now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/trace.h"
#include "../lib/buf.h"
#include "../lib/json.h"
#include "command.h"

#define FIELD_SHOWN 100         /* stories a field search prints at most */

static const struct cmd_option trace_options[] = {
	{"field", 0, NULL, "NAME=VALUE", "the messages whose payload has field NAME equal to VALUE (each one's story, the first 100)"},
	{NULL, 0, NULL, NULL, NULL},
};

enum { S_AT, S_EVENT, S_ENTRY, S_GROUP, S_DETAIL };
static const struct column step_cols[] = {
	{"AT", "at", COL_STR},
	{"EVENT", "event", COL_STR},
	{"ENTRY", "entry", COL_STR},
	{"GROUP", "group", COL_STR},
	{"DETAIL", "detail", COL_STR},
};

enum { N_ENTRY, N_ROLE, N_STREAM, N_PENDING };
static const struct column node_cols[] = {
	{"ENTRY", "entry", COL_STR},
	{"IS", "is", COL_STR},
	{"IN-STREAM", "in_stream", COL_STR},
	{"PENDING", "pending", COL_STR},
};

enum { F_GROUP, F_FATE, F_DELIVERIES, F_LAST };
static const struct column fate_cols[] = {
	{"GROUP", "group", COL_STR},
	{"FATE", "fate", COL_STR},
	{"DELIVERIES", "deliveries", COL_INT},
	{"LAST-CLAIMED", "last_claimed", COL_STR},
};

/* "stream/id" of node i, in b (emptied first). */
static const char *
entry_name(struct buf *b, const struct trace *t, size_t i)
{
	char ids[ENTRY_ID_STRLEN];

	buf_reset(b);
	if (i == TRACE_NONE)
		return buf_adds(b, "-"), buf_str(b);
	entry_id_format(t->nodes[i].id, ids, sizeof(ids));
	buf_printf(b, "%s/%s", t->nodes[i].stream, ids);
	return buf_str(b);
}

/* The event's words, as the EVENT column shows them. */
static const char *
step_event(const struct trace_step *s)
{
	static const struct { const char *kind, *words; } w[] = {
		{"claim", "claimed"},
		{"claim_reconciled", "claimed"},
		{"lost", "lost"},
		{"copy", "copied"},
		{"dead_lettered", "dead-lettered"},
		{"settled", "settled"},
		{"taken", "taken"},
		{"handed_off", "handed off"},
		{"copy_removed", "copy removed"},
		{"rollback", "rolled back"},
	};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(s->kind, w[i].kind) == 0)
			return w[i].words;
	return s->kind;
}

/* The DETAIL column: what the event says besides its entry and group. */
static void
step_detail(struct buf *b, const struct trace *t, const struct trace_step *s)
{
	struct buf n = BUF_INIT;
	const char *k = s->kind;

	buf_reset(b);
	if (strcmp(k, "claim") == 0 || strcmp(k, "claim_reconciled") == 0) {
		buf_printf(b, "from %s", s->consumer != NULL ? s->consumer : "an unknown consumer");
		if (s->deliveries >= 0)
			buf_printf(b, ", deliveries %lld", (long long)s->deliveries);
		buf_printf(b, ", run %lld", (long long)s->run);
		if (s->incident > 0)
			buf_printf(b, ", incident %lld", (long long)s->incident);
		if (strcmp(k, "claim_reconciled") == 0)
			buf_adds(b, " (journalled by the next run)");
	} else if (strcmp(k, "copy") == 0) {
		buf_printf(b, "to %s, batch %lld", entry_name(&n, t, s->other), (long long)s->batch);
		if (s->source != NULL && strcmp(s->source, "dead_letter") == 0)
			buf_adds(b, ", from its dead letter");
	} else if (strcmp(k, "dead_lettered") == 0) {
		buf_printf(b, "to %s", entry_name(&n, t, s->other));
		if (s->deliveries >= 0)
			buf_printf(b, ", deliveries %lld", (long long)s->deliveries);
		if (s->reason != NULL)
			buf_printf(b, ": %s", s->reason);
	} else if (strcmp(k, "settled") == 0) {
		buf_printf(b, "its copy %s was consumed (read, pending nowhere), batch %lld",
		    entry_name(&n, t, s->other), (long long)s->batch);
	} else if (strcmp(k, "taken") == 0) {
		buf_printf(b, "by %s, a live consumer: left to it", s->consumer != NULL ?
		    s->consumer : "?");
	} else if (strcmp(k, "handed_off") == 0) {
		buf_printf(b, "to %s, a live consumer of its group", s->consumer != NULL ?
		    s->consumer : "?");
	} else if (strcmp(k, "copy_removed") == 0) {
		buf_printf(b, "%s, batch %lld", entry_name(&n, t, s->other), (long long)s->batch);
	} else if (strcmp(k, "rollback") == 0) {
		buf_printf(b, "batch %lld", (long long)s->batch);
		if (s->user != NULL)
			buf_printf(b, ", by %s@%s", s->user, s->host != NULL ? s->host : "?");
	} else if (strcmp(k, "lost") == 0) {
		buf_adds(b, s->reason != NULL ? s->reason : "deleted while pending");
	}
	buf_free(&n);
}

/* The IS column: what the entry is to the message. */
static void
node_role(struct buf *b, const struct trace *t, size_t i)
{
	struct buf n = BUF_INIT;
	const struct trace_node *nd = &t->nodes[i];

	buf_reset(b);
	if (nd->parent == TRACE_NONE)
		buf_adds(b, "the original");
	else if (nd->dead_letter)
		buf_printf(b, "dead letter of %s", entry_name(&n, t, nd->parent));
	else
		buf_printf(b, "copy of %s, batch %lld", entry_name(&n, t, nd->parent),
		    (long long)nd->batch);
	buf_free(&n);
}

static void
node_pending(struct buf *b, const struct trace_node *nd)
{
	buf_reset(b);
	if (nd->dead_letter)
		return;
	if (nd->npending == 0)
		buf_adds(b, "nowhere");
	for (size_t k = 0; k < nd->npending; k++) {
		char age[32];
		format_age(nd->pending[k].idle_ms, age, sizeof(age));
		buf_printf(b, "%s%s on %s, deliveries %lld, idle %s", k > 0 ? "; " : "",
		    nd->pending[k].group, nd->pending[k].consumer, nd->pending[k].deliveries, age);
	}
}

static void
fill_tables(const struct trace *t, struct table *st, struct table *nt, struct table *ft)
{
	struct buf b = BUF_INIT;
	char at[32];

	table_init(st, step_cols, sizeof(step_cols) / sizeof(step_cols[0]));
	table_init(nt, node_cols, sizeof(node_cols) / sizeof(node_cols[0]));
	table_init(ft, fate_cols, sizeof(fate_cols) / sizeof(fate_cols[0]));
	for (size_t i = 0; i < t->nsteps; i++) {
		const struct trace_step *s = &t->steps[i];
		size_t r = table_row(st);
		format_utc(s->ts, true, at, sizeof(at));
		table_str(st, r, S_AT, at);
		table_str(st, r, S_EVENT, step_event(s));
		table_str(st, r, S_ENTRY, entry_name(&b, t, s->node));
		if (s->grp != NULL)
			table_str(st, r, S_GROUP, s->grp);
		step_detail(&b, t, s);
		table_str(st, r, S_DETAIL, buf_str(&b));
	}
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct trace_node *nd = &t->nodes[i];
		size_t r = table_row(nt);
		table_str(nt, r, N_ENTRY, entry_name(&b, t, i));
		node_role(&b, t, i);
		table_str(nt, r, N_ROLE, buf_str(&b));
		if (t->redis_asked) {
			table_str(nt, r, N_STREAM, nd->in_stream ? "yes" : "no");
			node_pending(&b, nd);
			if (!nd->dead_letter)
				table_str(nt, r, N_PENDING, buf_str(&b));
		}
	}
	for (size_t i = 0; i < t->nfates; i++) {
		const struct trace_fate *f = &t->fates[i];
		size_t r = table_row(ft);
		table_str(ft, r, F_GROUP, f->grp);
		table_str(ft, r, F_FATE, f->fate);
		table_int(ft, r, F_DELIVERIES, f->deliveries);
		table_str(ft, r, F_LAST, entry_name(&b, t, f->last_node));
	}
	buf_free(&b);
}

void
print_unread(char *const *v, size_t n, FILE *f)
{
	struct buf e = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", out_esc(&e, v[i]));
	buf_free(&e);
}

void
trace_print(const struct trace *t, FILE *f)
{
	struct table st, nt, ft;
	struct buf b = BUF_INIT, e = BUF_INIT;

	fill_tables(t, &st, &nt, &ft);
	fprintf(f, "message %s\n", out_esc(&e, entry_name(&b, t, 0)));
	fprintf(f, "payload %s\n\n", t->payload != NULL ? out_esc(&e, t->payload) : "-");
	table_print(&st, f);
	fputc('\n', f);
	if (ft.nrows > 0) {
		table_print(&ft, f);
		fputc('\n', f);
	}
	if (!t->redis_asked)
		fprintf(f, "Redis could not be asked: %s\n", out_esc(&e, t->redis_error));
	table_print(&nt, f);
	table_free(&st);
	table_free(&nt);
	table_free(&ft);
	buf_free(&b);
	buf_free(&e);
}

static void
json_entry(struct jw *w, const char *key, const struct trace *t, size_t i)
{
	char ids[ENTRY_ID_STRLEN];

	jw_key(w, key);
	if (i == TRACE_NONE) {
		jw_null(w);
		return;
	}
	entry_id_format(t->nodes[i].id, ids, sizeof(ids));
	jw_obj(w);
	jw_kstr(w, "stream", t->nodes[i].stream);
	jw_kstr(w, "id", ids);
	jw_obj_end(w);
}

static void
json_opt_int(struct jw *w, const char *key, int64_t v, int64_t none)
{
	if (v == none)
		jw_kstr(w, key, NULL);
	else
		jw_kint(w, key, v);
}

static void
json_trace(struct jw *w, const struct trace *t)
{
	struct buf b = BUF_INIT;
	char at[32];

	jw_obj(w);
	json_entry(w, "message", t, 0);
	jw_key(w, "payload");
	if (t->payload != NULL)
		jw_raw(w, t->payload);
	else
		jw_null(w);
	jw_key(w, "events");
	jw_arr(w);
	for (size_t i = 0; i < t->nsteps; i++) {
		const struct trace_step *s = &t->steps[i];
		jw_obj(w);
		jw_kint(w, "seq", s->seq);
		format_utc(s->ts, true, at, sizeof(at));
		jw_kstr(w, "at", at);
		jw_kstr(w, "event", s->kind);
		json_entry(w, "entry", t, s->node);
		jw_kstr(w, "group", s->grp);
		jw_kstr(w, "consumer", s->consumer);
		json_opt_int(w, "deliveries", s->deliveries, -1);
		json_opt_int(w, "run", s->run, 0);
		json_opt_int(w, "batch", s->batch, 0);
		json_opt_int(w, "incident", s->incident, 0);
		json_entry(w, "to", t, s->other);
		jw_kstr(w, "source", s->source);
		jw_kstr(w, "reason", s->reason);
		step_detail(&b, t, s);
		jw_kstr(w, "detail", buf_str(&b));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "fates");
	jw_arr(w);
	for (size_t i = 0; i < t->nfates; i++) {
		const struct trace_fate *f = &t->fates[i];
		jw_obj(w);
		jw_kstr(w, "group", f->grp);
		jw_kstr(w, "fate", f->fate);
		jw_kint(w, "deliveries", f->deliveries);
		json_entry(w, "last_claimed", t, f->last_node);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "entries");
	jw_arr(w);
	for (size_t i = 0; i < t->nnodes; i++) {
		const struct trace_node *nd = &t->nodes[i];
		jw_obj(w);
		json_entry(w, "entry", t, i);
		jw_kstr(w, "is", nd->parent == TRACE_NONE ? "original" : nd->dead_letter ?
		    "dead_letter" : "copy");
		json_entry(w, "of", t, nd->parent);
		json_opt_int(w, "batch", nd->batch, 0);
		jw_key(w, "in_stream");
		if (t->redis_asked)
			jw_bool(w, nd->in_stream);
		else
			jw_null(w);
		jw_key(w, "pending");
		if (!t->redis_asked || nd->dead_letter) {
			jw_null(w);
		} else {
			jw_arr(w);
			for (size_t k = 0; k < nd->npending; k++) {
				jw_obj(w);
				jw_kstr(w, "group", nd->pending[k].group);
				jw_kstr(w, "consumer", nd->pending[k].consumer);
				jw_kint(w, "deliveries", nd->pending[k].deliveries);
				jw_kint(w, "idle_ms", nd->pending[k].idle_ms);
				jw_obj_end(w);
			}
			jw_arr_end(w);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kstrs(w, "archives_unread", t->unread, t->nunread);
	jw_kbool(w, "redis_asked", t->redis_asked);
	jw_kstr(w, "redis_error", t->redis_error);
	jw_obj_end(w);
	buf_free(&b);
}


/* Ends the command: Redis not asked is exit 3, after the story. */
static int
finish(struct ctx *c, struct jw *w, const struct trace *t, size_t n)
{
	const char *rerr = NULL;
	struct xerr err = {0};

	for (size_t i = 0; i < n && rerr == NULL; i++)
		if (!t[i].redis_asked)
			rerr = t[i].redis_error;
	if (rerr != NULL)
		xerr_set(&err, XR_EREDIS, "redis could not be asked, the journal's story only: %s",
		    rerr);
	if (w != NULL) {
		out_json_outcome(w, rerr != NULL ? err.msg : NULL, rerr != NULL ? XR_EREDIS : XR_OK);
		jw_obj_end(w);
		puts(buf_str(w->b));
		c->out.json_done = true;
	}
	if (rerr != NULL)
		return fail(c, &err);
	return XR_OK;
}

static int
trace_one(struct ctx *c, const char *arg)
{
	struct trace t;
	struct xerr err = {0};
	struct entry_id id;
	char *stream = NULL;
	int rc;

	if (parse_stream_id("trace", arg, &stream, &id, &err) < 0)
		return fail(c, &err);
	rc = trace_entry(&c->cfg, stream, id, &t, &err);
	free(stream);
	if (rc < 0)
		return fail(c, &err);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_key(&w, "messages");
		jw_arr(&w);
		json_trace(&w, &t);
		jw_arr_end(&w);
		rc = finish(c, &w, &t, 1);
		buf_free(&b);
	} else {
		print_unread(t.unread, t.nunread, stdout);
		trace_print(&t, stdout);
		rc = finish(c, NULL, &t, 1);
	}
	trace_free(&t);
	return rc;
}

static int
trace_by_field(struct ctx *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct trace *t;
	size_t n, matched;
	struct xerr err = {0};
	char *name;
	int rc;

	if (eq == NULL || eq == arg) {
		xerr_set(&err, XR_EUSAGE, "--field '%s': expected NAME=VALUE, for example "
		    "order_id=1067", arg);
		return fail(c, &err);
	}
	name = xstrndup(arg, (size_t)(eq - arg));
	rc = trace_field(&c->cfg, name, eq + 1, FIELD_SHOWN, &t, &n, &matched, &err);
	free(name);
	if (rc < 0)
		return fail(c, &err);
	if (c->cfg.json) {
		struct buf b = BUF_INIT;
		struct jw w;
		jw_init(&w, &b);
		jw_obj(&w);
		jw_kint(&w, "matched", (int64_t)matched);
		jw_key(&w, "messages");
		jw_arr(&w);
		for (size_t i = 0; i < n; i++)
			json_trace(&w, &t[i]);
		jw_arr_end(&w);
		rc = finish(c, &w, t, n);
		buf_free(&b);
	} else {
		struct buf e = BUF_INIT;
		printf("%zu message%s with %s", matched, matched == 1 ? "" : "s", out_esc(&e, arg));
		if (matched > n)
			printf(", the first %zu shown", n);
		fputs("\n\n", stdout);
		buf_free(&e);
		if (n > 0)
			print_unread(t[0].unread, t[0].nunread, stdout);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				fputs("\n\n", stdout);
			trace_print(&t[i], stdout);
		}
		rc = finish(c, NULL, t, n);
	}
	trace_free_all(t, n);
	return rc;
}

static int
trace_run(struct ctx *c)
{
	const char *field = ctx_opt(c, "field");
	struct xerr err = {0};

	if ((field != NULL) == (c->nargs == 1)) {
		xerr_set(&err, XR_EUSAGE, "trace takes one STREAM/ID or --field NAME=VALUE");
		return fail(c, &err);
	}
	return field != NULL ? trace_by_field(c, field) : trace_one(c, c->args[0]);
}

const struct command cmd_trace = {
	.name = "trace",
	.summary = "one message's whole story: claims, copies, dead letters, settling, and where it is now",
	.usage = "STREAM/ID | --field NAME=VALUE",
	.description =
	    "Prints every journalled event about a message, in time order, following it\n"
	    "across its copies (replay, redeliver) and dead letters: STREAM/ID may be the\n"
	    "original, any copy of it, or a dead letter.  Then its fate for each group it was\n"
	    "claimed in, and what Redis says of each of its entries now: whether the stream\n"
	    "still has it, and where it is pending (group, consumer, delivery count).\n"
	    "--field finds messages by a field of their journalled payload.  The archives the\n"
	    "journal names are read with it; one that cannot be read is said in one line.\n"
	    "When Redis cannot be asked, the journal's story is printed and the exit code\n"
	    "is 3.",
	.options = trace_options,
	.min_args = 0,
	.max_args = 1,
	.run = trace_run,
};
