/* config.c: settings from defaults, the JSON file, the environment, flags. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../notify/notify.h"
#include "../stream/redis.h"
#include "config.h"
#include "rules.h"

#define DEFAULT_CONFIG "/etc/xrecover/config.json"

enum stype {
	S_STR,          /* char * */
	S_LIST,         /* char ** */
	S_DUR,          /* int64_t ms */
	S_IDLE,         /* int64_t ms, or "auto": CLAIM_IDLE_AUTO */
	S_IDLEMAP,      /* the "claim_idle_groups" object, file only */
	S_INT,          /* long long */
	S_BOOL,         /* bool; in the file true or false */
	S_COUNT,        /* int, flags only: -v -v */
	S_MODE,         /* the "mode" object, file only */
	S_WEBHOOKS,     /* the "webhooks" list, file only */
	S_OBJECT,       /* char *: a JSON object kept as text, file only */
	S_SERVE,        /* the "serve" object, file only */
};

struct setting {
	const char *key;
	enum stype type;
	size_t off;
	bool in_file;           /* may appear in the config file */
	const char *env;        /* environment variable, or NULL */
	const char *env2;       /* a second, weaker one */
	long long min, max;     /* S_INT */
	bool nonempty;          /* S_STR, S_LIST items */
};

#define F(field) offsetof(struct config, field)

static const struct setting settings[] = {
	{"redis", S_STR, F(redis_url), true, "XRECOVER_REDIS_URL", "REDIS_URL", 0, 0, true},
	{"db", S_STR, F(db_path), true, "XRECOVER_DB", NULL, 0, 0, true},
	{"json", S_BOOL, F(json), false, NULL, NULL, 0, 0, false},
	{"quiet", S_BOOL, F(quiet), false, NULL, NULL, 0, 0, false},
	{"verbose", S_COUNT, F(verbose), false, NULL, NULL, 0, 0, false},
	{"streams", S_LIST, F(streams), true, NULL, NULL, 0, 0, true},
	{"match", S_STR, F(match), true, NULL, NULL, 0, 0, true},
	{"groups", S_LIST, F(groups), true, NULL, NULL, 0, 0, true},
	{"claim_idle", S_IDLE, F(claim_idle_ms), true, NULL, NULL, 0, 0, false},
	{"claim_idle_groups", S_IDLEMAP, 0, true, NULL, NULL, 0, 0, false},
	{"claim_idle_floor", S_DUR, F(claim_idle_floor_ms), true, NULL, NULL, 0, 0, false},
	{"claim_idle_ceiling", S_DUR, F(claim_idle_ceiling_ms), true, NULL, NULL, 0, 0, false},
	{"claim_idle_busy", S_DUR, F(claim_idle_busy_ms), true, NULL, NULL, 0, 0, false},
	{"claim_idle_quiet", S_DUR, F(claim_idle_quiet_ms), true, NULL, NULL, 0, 0, false},
	{"only_silent_consumers", S_BOOL, F(only_silent_consumers), true, NULL, NULL, 0, 0, false},
	{"zombie_idle", S_DUR, F(zombie_idle_ms), true, NULL, NULL, 0, 0, false},
	{"batch", S_INT, F(batch), true, NULL, NULL, 1, 100000, false},
	{"consumer", S_STR, F(consumer), true, NULL, NULL, 0, 0, true},
	{"exclude_consumers", S_LIST, F(exclude), true, NULL, NULL, 0, 0, true},
	{"dry_run", S_BOOL, F(dry_run), false, NULL, NULL, 0, 0, false},
	{"action", S_STR, F(action), true, NULL, NULL, 0, 0, true},
	{"redeliver_to", S_STR, F(redeliver_to), true, NULL, NULL, 0, 0, true},
	{"all_groups", S_BOOL, F(all_groups), true, NULL, NULL, 0, 0, false},
	{"max_deliveries", S_INT, F(max_deliveries), true, NULL, NULL, 0, 1000000000, false},
	{"dead_letter_stream", S_STR, F(dead_letter_stream), true, NULL, NULL, 0, 0, true},
	{"no_claim", S_BOOL, F(no_claim), false, NULL, NULL, 0, 0, false},
	{"no_clean", S_BOOL, F(no_clean), false, NULL, NULL, 0, 0, false},
	{"log_file", S_STR, F(log_file), true, NULL, NULL, 0, 0, true},
	{"metrics_file", S_STR, F(metrics_file), true, NULL, NULL, 0, 0, true},
	{"password_file", S_STR, F(password_file), true, NULL, NULL, 0, 0, true},
	{"connect_timeout", S_DUR, F(connect_timeout_ms), true, NULL, NULL, 0, 0, false},
	{"command_timeout", S_DUR, F(command_timeout_ms), true, NULL, NULL, 0, 0, false},
	{"lock_timeout", S_DUR, F(lock_timeout_ms), true, NULL, NULL, 0, 0, false},
	{"archive_after", S_DUR, F(archive_after_ms), true, NULL, NULL, 0, 0, false},
	{"mode", S_MODE, 0, true, NULL, NULL, 0, 0, false},
	{"webhooks", S_WEBHOOKS, 0, true, NULL, NULL, 0, 0, false},
	{"interval", S_DUR, F(interval_ms), true, NULL, NULL, 0, 0, false},
	{"alert_rules", S_OBJECT, F(alert_rules), true, NULL, NULL, 0, 0, false},
	{"alert_cooldown", S_DUR, F(alert_cooldown_ms), true, NULL, NULL, 0, 0, false},
	{"alert_budget", S_DUR, F(alert_budget_ms), true, NULL, NULL, 0, 0, false},
	{"alert_max_attempts", S_INT, F(alert_max_attempts), true, NULL, NULL, 1, 1000, false},
	{"alert_backoff", S_DUR, F(alert_backoff_ms), true, NULL, NULL, 0, 0, false},
	{"serve", S_SERVE, 0, true, NULL, NULL, 0, 0, false},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *
find_setting(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

const char *
config_default_db(void)
{
	return geteuid() == 0 ? "/var/lib/xrecover/journal.db" : "./xrecover.db";
}

static char **
list_new(void)
{
	return xcalloc(1, sizeof(char *));
}

static size_t
list_len(char **l)
{
	size_t n = 0;

	while (l != NULL && l[n] != NULL)
		n++;
	return n;
}

static void
list_free(char **l)
{
	for (size_t i = 0; l != NULL && l[i] != NULL; i++)
		free(l[i]);
	free(l);
}

static char **
list_add(char **l, const char *s)
{
	size_t n = list_len(l);

	l = xrealloc(l, (n + 2) * sizeof(*l));
	l[n] = xstrdup(s);
	l[n + 1] = NULL;
	return l;
}

static void *
field(struct config *c, const struct setting *s)
{
	return (char *)c + s->off;
}

/* A duration from text into *ret; with idle, "auto" too (CLAIM_IDLE_AUTO). */
static int
set_duration(const char *value, const char *where, bool idle, int64_t *ret,
    struct xerr *err)
{
	int r;

	if (idle && strcmp(value, "auto") == 0) {
		*ret = CLAIM_IDLE_AUTO;
		return 0;
	}
	r = parse_duration(value, ret);
	if (r == -2)
		return xerr_set(err, XR_EUSAGE,
		    "%s: duration '%s' is out of range (at most " DURATION_MAX_TEXT ")",
		    where, value);
	if (r < 0)
		return xerr_set(err, XR_EUSAGE,
		    "%s: bad duration '%s' (use for example 1500ms, 90s, 5m, 1h, or 90 for seconds%s)",
		    where, value, idle ? ", or auto" : "");
	return 0;
}

/* Sets a setting from text (a flag or environment variable). */
static int
set_text(struct config *c, const struct setting *s, const char *value,
    const char *where, bool append, struct xerr *err)
{
	void *p = field(c, s);

	switch (s->type) {
	case S_STR:
		if (s->nonempty && value[0] == '\0')
			return xerr_set(err, XR_EUSAGE, "%s: must not be empty", where);
		free(*(char **)p);
		*(char **)p = xstrdup(value);
		return 0;
	case S_LIST:
		if (s->nonempty && value[0] == '\0')
			return xerr_set(err, XR_EUSAGE, "%s: must not be empty", where);
		if (!append) {
			list_free(*(char ***)p);
			*(char ***)p = list_new();
		}
		*(char ***)p = list_add(*(char ***)p, value);
		return 0;
	case S_IDLE:
	case S_DUR:
		return set_duration(value, where, s->type == S_IDLE, (int64_t *)p, err);
	case S_INT: {
		long long v;
		if (parse_int(value, s->min, s->max, &v) < 0)
			return xerr_set(err, XR_EUSAGE, "%s: '%s' is not a whole number from %lld to %lld",
			    where, value, s->min, s->max);
		*(long long *)p = v;
		return 0;
	}
	case S_BOOL:
		*(bool *)p = true;
		return 0;
	case S_COUNT:
		(*(int *)p)++;
		return 0;
	case S_MODE:
	case S_IDLEMAP:
	case S_WEBHOOKS:
	case S_OBJECT:
	case S_SERVE:
		break;
	}
	return xerr_set(err, XR_EUSAGE, "%s: cannot be set here", where);
}

static const char *
json_type_name(const cJSON *v)
{
	if (cJSON_IsString(v)) return "a string";
	if (cJSON_IsNumber(v)) return "a number";
	if (cJSON_IsBool(v)) return "true/false";
	if (cJSON_IsNull(v)) return "null";
	if (cJSON_IsArray(v)) return "a list";
	if (cJSON_IsObject(v)) return "an object";
	return "something else";
}

/* Reads a JSON list of non-empty strings into *ret (replacing it). */
static int
set_json_list(char ***ret, const cJSON *v, const char *path, const char *key,
    struct xerr *err)
{
	const cJSON *it;
	char **l;

	if (!cJSON_IsArray(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': '%s' must be a list of strings, not %s",
		    path, key, json_type_name(v));
	l = list_new();
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
			list_free(l);
			return xerr_set(err, XR_EUSAGE,
			    "config '%s': '%s' must be a list of non-empty strings", path, key);
		}
		l = list_add(l, it->valuestring);
	}
	list_free(*ret);
	*ret = l;
	return 0;
}

/* Refuses a key given twice in one JSON object (cJSON keeps both). */
static int
check_duplicates(const cJSON *obj, const char *path, const char *ctx, struct xerr *err)
{
	for (const cJSON *a = obj->child; a != NULL; a = a->next)
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return xerr_set(err, XR_EUSAGE, "config '%s': key '%s%s' is given twice",
				    path, ctx, a->string);
	return 0;
}

static int
set_mode(struct config *c, const cJSON *v, const char *path, struct xerr *err)
{
	const cJSON *it;

	if (!cJSON_IsObject(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': 'mode' must be an object, not %s",
		    path, json_type_name(v));
	if (check_duplicates(v, path, "mode.", err) < 0)
		return -1;
	cJSON_ArrayForEach(it, v) {
		char key[64];
		char ***dst;

		snprintf(key, sizeof(key), "mode.%s", it->string);
		if (strcmp(it->string, "files") == 0)
			dst = &c->mode_files;
		else if (strcmp(it->string, "live_when") == 0)
			dst = &c->live_when;
		else if (strcmp(it->string, "test_when") == 0)
			dst = &c->test_when;
		else
			return xerr_set(err, XR_EUSAGE,
			    "config '%s': unknown key '%s' (known: mode.files, mode.live_when, mode.test_when)",
			    path, key);
		if (set_json_list(dst, it, path, key, err) < 0)
			return -1;
		if (dst != &c->mode_files) {
			for (char **p = *dst; *p != NULL; p++) {
				const char *eq = strchr(*p, '=');
				if (eq == NULL || eq == *p)
					return xerr_set(err, XR_EUSAGE,
					    "config '%s': '%s' entry '%s' is not KEY=VALUE", path, key, *p);
			}
		}
	}
	return 0;
}

/* A duration (seconds as a number, or text) or "auto" into *ret, as claim_idle takes it. */
static int
json_idle(const cJSON *v, const char *where, int64_t *ret, struct xerr *err)
{
	if (cJSON_IsNumber(v)) {
		/* Written so that NaN fails it too. */
		if (!(v->valuedouble >= 0 && v->valuedouble <= DURATION_MAX_MS / 1000))
			return xerr_set(err, XR_EUSAGE, "%s must be a duration from 0 to "
			    DURATION_MAX_TEXT " (%lld seconds)", where, DURATION_MAX_MS / 1000);
		*ret = (int64_t)(v->valuedouble * 1000.0 + 0.5);
		return 0;
	}
	if (!cJSON_IsString(v))
		return xerr_set(err, XR_EUSAGE,
		    "%s must be a duration such as \"90s\", not %s", where, json_type_name(v));
	return set_duration(v->valuestring, where, true, ret, err);
}

static void
idle_groups_free(struct config *c)
{
	for (size_t i = 0; i < c->nidle_groups; i++)
		free(c->idle_groups[i].name);
	free(c->idle_groups);
	c->idle_groups = NULL;
	c->nidle_groups = 0;
}

/* "claim_idle_groups": {"STREAM/GROUP" or "GROUP": duration or "auto", ...} */
static int
set_idle_groups(struct config *c, const cJSON *v, const char *path, struct xerr *err)
{
	const cJSON *it;

	if (!cJSON_IsObject(v))
		return xerr_set(err, XR_EUSAGE,
		    "config '%s': 'claim_idle_groups' must be an object, not %s", path,
		    json_type_name(v));
	if (check_duplicates(v, path, "claim_idle_groups.", err) < 0)
		return -1;
	idle_groups_free(c);
	cJSON_ArrayForEach(it, v) {
		char where[600];
		int64_t ms;

		snprintf(where, sizeof(where), "config '%s': 'claim_idle_groups.%s'", path,
		    it->string);
		if (it->string[0] == '\0')
			return xerr_set(err, XR_EUSAGE, "%s: the name must not be empty", where);
		if (json_idle(it, where, &ms, err) < 0)
			return -1;
		c->idle_groups = xrealloc(c->idle_groups,
		    (c->nidle_groups + 1) * sizeof(*c->idle_groups));
		c->idle_groups[c->nidle_groups].name = xstrdup(it->string);
		c->idle_groups[c->nidle_groups].ms = ms;
		c->nidle_groups++;
	}
	return 0;
}

static void
webhook_conf_free(struct config_webhook *w)
{
	free(w->name);
	if (w->url != NULL)
		memset(w->url, 0, strlen(w->url));
	free(w->url);
	free(w->url_file);
	free(w->format);
	if (w->secret != NULL)
		memset(w->secret, 0, strlen(w->secret));
	free(w->secret);
	free(w->secret_file);
	free(w->min_severity);
	free(w->ca_file);
	list_free(w->rules);
	list_free(w->streams);
}

/* One entry of "webhooks"; where is "config 'PATH': webhook N". */
static int
set_webhook(struct config_webhook *w, const cJSON *obj, const char *path, const char *where,
    struct xerr *err)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
		{"name", offsetof(struct config_webhook, name)},
		{"url", offsetof(struct config_webhook, url)},
		{"url_file", offsetof(struct config_webhook, url_file)},
		{"format", offsetof(struct config_webhook, format)},
		{"secret", offsetof(struct config_webhook, secret)},
		{"secret_file", offsetof(struct config_webhook, secret_file)},
		{"min_severity", offsetof(struct config_webhook, min_severity)},
		{"ca_file", offsetof(struct config_webhook, ca_file)},
	};
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return xerr_set(err, XR_EUSAGE, "%s must be an object, not %s", where,
		    json_type_name(obj));
	if (check_duplicates(obj, path, "webhooks[].", err) < 0)
		return -1;
	w->timeout_ms = 10000;
	cJSON_ArrayForEach(it, obj) {
		size_t k;
		for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
			if (strcmp(strs[k].key, it->string) == 0)
				break;
		if (k < sizeof(strs) / sizeof(strs[0])) {
			char **dst = (char **)((char *)w + strs[k].off);
			/* A value that may be a secret is never repeated. */
			if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
				return xerr_set(err, XR_EUSAGE, "%s: '%s' must be a non-empty string",
				    where, it->string);
			*dst = xstrdup(it->valuestring);
		} else if (strcmp(it->string, "rules") == 0) {
			if (set_json_list(&w->rules, it, path, "webhooks[].rules", err) < 0)
				return -1;
		} else if (strcmp(it->string, "streams") == 0) {
			if (set_json_list(&w->streams, it, path, "webhooks[].streams", err) < 0)
				return -1;
		} else if (strcmp(it->string, "timeout") == 0) {
			int r = -1;
			if (cJSON_IsNumber(it) && it->valuedouble > 0 && it->valuedouble <= 3600) {
				w->timeout_ms = (int64_t)(it->valuedouble * 1000.0 + 0.5);
				r = 0;
			} else if (cJSON_IsString(it)) {
				r = parse_duration(it->valuestring, &w->timeout_ms);
			}
			if (r < 0 || w->timeout_ms <= 0 || w->timeout_ms > 3600 * 1000)
				return xerr_set(err, XR_EUSAGE, "%s: 'timeout' must be a duration "
				    "from 1ms to 1h, such as \"10s\"", where);
		} else {
			return xerr_set(err, XR_EUSAGE, "%s: unknown key '%s' (known: name, url, "
			    "url_file, format, secret, secret_file, min_severity, ca_file, timeout, "
			    "rules, streams)", where, it->string);
		}
	}
	if (w->name == NULL)
		return xerr_set(err, XR_EUSAGE, "%s: needs a 'name'", where);
	if ((w->url == NULL) == (w->url_file == NULL))
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): give one of 'url' and 'url_file'",
		    where, w->name);
	if (w->format == NULL || webhook_format_parse(w->format) < 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): 'format' must be slack, discord, "
		    "teams or json", where, w->name);
	if (w->secret != NULL && w->secret_file != NULL)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): give 'secret' or 'secret_file', "
		    "not both", where, w->name);
	if ((w->secret != NULL || w->secret_file != NULL) && strcmp(w->format, "json") != 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): a secret signs json requests only; "
		    "%s webhooks carry their token in the URL", where, w->name, w->format);
	if (w->min_severity != NULL && severity_parse(w->min_severity) < 0)
		return xerr_set(err, XR_EUSAGE, "%s ('%s'): 'min_severity' must be info, warning "
		    "or critical", where, w->name);
	if (w->rules == NULL)
		w->rules = list_new();
	if (w->streams == NULL)
		w->streams = list_new();
	return 0;
}

static int
set_webhooks(struct config *c, const cJSON *v, const char *path, struct xerr *err)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': 'webhooks' must be a list, not %s",
		    path, json_type_name(v));
	cJSON_ArrayForEach(it, v) {
		char where[600];

		snprintf(where, sizeof(where), "config '%s': webhook %zu", path, n + 1);
		c->webhooks = xrealloc(c->webhooks, (n + 1) * sizeof(*c->webhooks));
		memset(&c->webhooks[n], 0, sizeof(c->webhooks[n]));
		c->nwebhooks = ++n;
		if (set_webhook(&c->webhooks[n - 1], it, path, where, err) < 0)
			return -1;
		for (size_t k = 0; k + 1 < n; k++)
			if (strcmp(c->webhooks[k].name, c->webhooks[n - 1].name) == 0)
				return xerr_set(err, XR_EUSAGE, "%s: the name '%s' is used twice",
				    where, c->webhooks[k].name);
	}
	return 0;
}

/* The "serve" object: {"listen": "ADDR:PORT", "token_file": "FILE"}, both optional. */
static int
set_serve(struct config *c, const cJSON *v, const char *path, struct xerr *err)
{
	const cJSON *it;

	if (!cJSON_IsObject(v))
		return xerr_set(err, XR_EUSAGE, "config '%s': 'serve' must be an object, not %s",
		    path, json_type_name(v));
	if (check_duplicates(v, path, "serve.", err) < 0)
		return -1;
	cJSON_ArrayForEach(it, v) {
		char **dst;

		if (strcmp(it->string, "listen") == 0)
			dst = &c->serve_listen;
		else if (strcmp(it->string, "token_file") == 0)
			dst = &c->serve_token_file;
		else
			return xerr_set(err, XR_EUSAGE, "config '%s': unknown key 'serve.%s' (known: "
			    "serve.listen, serve.token_file)", path, it->string);
		if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
			return xerr_set(err, XR_EUSAGE, "config '%s': 'serve.%s' must be a non-empty "
			    "string", path, it->string);
		free(*dst);
		*dst = xstrdup(it->valuestring);
	}
	return 0;
}

static int
set_json(struct config *c, const struct setting *s, const cJSON *v, const char *path,
    struct xerr *err)
{
	void *p = field(c, s);
	char where[600];

	snprintf(where, sizeof(where), "config '%s': '%s'", path, s->key);
	switch (s->type) {
	case S_STR:
		if (!cJSON_IsString(v))
			return xerr_set(err, XR_EUSAGE, "%s must be a string, not %s", where,
			    json_type_name(v));
		return set_text(c, s, v->valuestring, where, false, err);
	case S_LIST:
		return set_json_list((char ***)p, v, path, s->key, err);
	case S_IDLE:
		return json_idle(v, where, (int64_t *)p, err);
	case S_IDLEMAP:
		return set_idle_groups(c, v, path, err);
	case S_BOOL:
		if (!cJSON_IsBool(v))
			return xerr_set(err, XR_EUSAGE, "%s must be true or false, not %s", where,
			    json_type_name(v));
		*(bool *)p = cJSON_IsTrue(v);
		return 0;
	case S_DUR:
		if (cJSON_IsNumber(v)) {
			/* Written so that NaN fails it too. */
			if (!(v->valuedouble >= 0 && v->valuedouble <= DURATION_MAX_MS / 1000))
				return xerr_set(err, XR_EUSAGE, "%s must be a duration from 0 to "
				    DURATION_MAX_TEXT " (%lld seconds)", where, DURATION_MAX_MS / 1000);
			*(int64_t *)p = (int64_t)(v->valuedouble * 1000.0 + 0.5);
			return 0;
		}
		if (!cJSON_IsString(v))
			return xerr_set(err, XR_EUSAGE,
			    "%s must be a duration such as \"90s\", not %s", where, json_type_name(v));
		return set_text(c, s, v->valuestring, where, false, err);
	case S_INT:
		if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long long)v->valuedouble)
			return xerr_set(err, XR_EUSAGE, "%s must be a whole number, not %s", where,
			    cJSON_IsNumber(v) ? "a fraction" : json_type_name(v));
		if (v->valuedouble < (double)s->min || v->valuedouble > (double)s->max)
			return xerr_set(err, XR_EUSAGE, "%s must be from %lld to %lld", where,
			    s->min, s->max);
		*(long long *)p = (long long)v->valuedouble;
		return 0;
	case S_MODE:
		return set_mode(c, v, path, err);
	case S_WEBHOOKS:
		return set_webhooks(c, v, path, err);
	case S_OBJECT:
		if (!cJSON_IsObject(v))
			return xerr_set(err, XR_EUSAGE, "%s must be an object, not %s", where,
			    json_type_name(v));
		free(*(char **)p);
		*(char **)p = cJSON_PrintUnformatted(v);
		if (*(char **)p == NULL)
			return xerr_set(err, XR_EUSAGE, "%s: out of memory", where);
		if (s->off == F(alert_rules))
			return rules_check(*(char **)p, where, err);
		return 0;
	case S_SERVE:
		return set_serve(c, v, path, err);
	case S_COUNT:
		break;
	}
	return xerr_set(err, XR_EUSAGE, "config '%s': unknown key '%s'", path, s->key);
}

/* Line and column of byte offset off in text, for parse errors. */
static void
line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int
load_file(struct config *c, const char *path, struct xerr *err)
{
	FILE *f = fopen(path, "re");
	struct buf text = BUF_INIT;
	char chunk[4096];
	size_t n;
	cJSON *root = NULL;
	const char *end = NULL;
	int rc = -1;

	if (f == NULL)
		return xerr_set(err, XR_EUSAGE, "cannot read config '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&text, chunk, n);
	if (ferror(f)) {
		xerr_set(err, XR_EUSAGE, "cannot read config '%s': %s", path, strerror(errno));
		fclose(f);
		buf_free(&text);
		return -1;
	}
	fclose(f);
	if (memchr(buf_str(&text), '\0', text.len) != NULL) {
		xerr_set(err, XR_EUSAGE, "config '%s': contains a NUL byte; not a JSON text", path);
		goto out;
	}
	/* The length counts the terminating NUL, which cJSON then requires. */
	root = cJSON_ParseWithLengthOpts(buf_str(&text), text.len + 1, &end, true);
	if (root == NULL) {
		int line, col;
		size_t off = end != NULL && end >= text.data ? (size_t)(end - text.data) : 0;
		line_col(buf_str(&text), off, &line, &col);
		xerr_set(err, XR_EUSAGE, "config '%s': malformed JSON at line %d, column %d",
		    path, line, col);
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		xerr_set(err, XR_EUSAGE, "config '%s': must be a JSON object, not %s", path,
		    json_type_name(root));
		goto out;
	}
	if (check_duplicates(root, path, "", err) < 0)
		goto out;
	for (const cJSON *it = root->child; it != NULL; it = it->next) {
		const struct setting *s = find_setting(it->string);
		if (s == NULL || !s->in_file) {
			xerr_set(err, XR_EUSAGE, "config '%s': unknown key '%s'", path, it->string);
			goto out;
		}
		if (set_json(c, s, it, path, err) < 0)
			goto out;
		if (s->off == F(redis_url))
			c->redis_from = FROM_FILE;
	}
	c->config_path = xstrdup(path);
	rc = 0;
out:
	cJSON_Delete(root);
	buf_free(&text);
	return rc;
}

static void
set_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->redis_url = xstrdup("redis://127.0.0.1:6379");
	c->db_path = xstrdup(config_default_db());
	c->streams = list_new();
	c->groups = list_new();
	c->exclude = list_new();
	c->mode_files = list_new();
	c->live_when = list_new();
	c->test_when = list_new();
	c->claim_idle_ms = 60 * 1000;
	c->claim_idle_floor_ms = 10 * 1000;
	c->claim_idle_ceiling_ms = 3600 * 1000;
	c->claim_idle_busy_ms = 30 * 1000;
	c->claim_idle_quiet_ms = 120 * 1000;
	c->zombie_idle_ms = 3600 * 1000;
	c->batch = 200;
	c->consumer = xstrdup("xrecover");
	c->action = xstrdup("hold");
	c->dead_letter_stream = xstrdup("{stream}:dlq");
	c->connect_timeout_ms = 5000;
	c->command_timeout_ms = 30000;
	c->lock_timeout_ms = 10000;
	c->interval_ms = 120 * 1000;
	c->alert_cooldown_ms = 30 * 60 * 1000;
	c->alert_budget_ms = 10 * 1000;
	c->alert_max_attempts = 10;
	c->alert_backoff_ms = 30 * 1000;
}

int
config_load(const char *config_file, const struct config_flag *flags, size_t nflags,
    struct config *ret, struct xerr *err)
{
	struct config c;
	const char *path = config_file;
	struct stat sb;

	set_defaults(&c);
	if (path == NULL) {
		const char *e = getenv("XRECOVER_CONFIG");
		if (e != NULL && e[0] != '\0')
			path = e;
		else if (stat(DEFAULT_CONFIG, &sb) == 0)
			path = DEFAULT_CONFIG;
	}
	if (path != NULL && load_file(&c, path, err) < 0)
		goto fail;

	for (size_t i = 0; i < NSETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *names[2] = {s->env, s->env2};
		for (int k = 0; k < 2; k++) {
			const char *v = names[k] != NULL ? getenv(names[k]) : NULL;
			if (v == NULL || v[0] == '\0')
				continue;
			if (set_text(&c, s, v, names[k], false, err) < 0)
				goto fail;
			if (s->off == F(redis_url))
				c.redis_from = FROM_ENV;
			break;
		}
	}

	for (size_t i = 0; i < nflags; i++) {
		const struct setting *s = find_setting(flags[i].key);
		bool append = false;

		if (s == NULL) {
			xerr_set(err, XR_EUSAGE, "%s: not a setting", flags[i].spelling);
			goto fail;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(flags[k].key, flags[i].key) == 0)
				append = true;
		if (set_text(&c, s, flags[i].value != NULL ? flags[i].value : "",
		    flags[i].spelling, append, err) < 0)
			goto fail;
		if (s->off == F(redis_url))
			c.redis_from = FROM_FLAG;
		/* --claim-idle applies to every group. */
		if (s->type == S_IDLE)
			idle_groups_free(&c);
	}
	if (c.claim_idle_floor_ms > c.claim_idle_ceiling_ms) {
		xerr_set(err, XR_EUSAGE, "claim_idle_floor (%lld ms) is above claim_idle_ceiling "
		    "(%lld ms)", (long long)c.claim_idle_floor_ms, (long long)c.claim_idle_ceiling_ms);
		goto fail;
	}
	if (strcmp(c.action, "hold") != 0 && strcmp(c.action, "redeliver") != 0 &&
	    strcmp(c.action, "hand-off") != 0 && strcmp(c.action, "dead-letter") != 0) {
		xerr_set(err, XR_EUSAGE, "action '%s': must be hold, redeliver, hand-off or dead-letter",
		    c.action);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	config_free(&c);
	return -1;
}

void
config_free(struct config *c)
{
	free(c->config_path);
	if (c->redis_url != NULL) {
		volatile char *p = c->redis_url;
		while (*p)
			*p++ = '\0';
	}
	free(c->redis_url);
	free(c->db_path);
	list_free(c->streams);
	free(c->match);
	list_free(c->groups);
	free(c->consumer);
	free(c->action);
	free(c->redeliver_to);
	free(c->dead_letter_stream);
	list_free(c->exclude);
	free(c->log_file);
	free(c->metrics_file);
	free(c->password_file);
	list_free(c->mode_files);
	list_free(c->live_when);
	list_free(c->test_when);
	idle_groups_free(c);
	for (size_t i = 0; i < c->nwebhooks; i++)
		webhook_conf_free(&c->webhooks[i]);
	free(c->webhooks);
	free(c->alert_rules);
	free(c->serve_listen);
	free(c->serve_token_file);
	memset(c, 0, sizeof(*c));
}

int64_t
config_claim_idle(const struct config *c, const char *stream, const char *group)
{
	size_t ls = strlen(stream);

	for (size_t i = 0; i < c->nidle_groups; i++) {
		const char *n = c->idle_groups[i].name;
		if (strncmp(n, stream, ls) == 0 && n[ls] == '/' && strcmp(n + ls + 1, group) == 0)
			return c->idle_groups[i].ms;
	}
	for (size_t i = 0; i < c->nidle_groups; i++)
		if (strcmp(c->idle_groups[i].name, group) == 0)
			return c->idle_groups[i].ms;
	return c->claim_idle_ms;
}

bool
config_any_auto(const struct config *c)
{
	for (size_t i = 0; i < c->nidle_groups; i++)
		if (c->idle_groups[i].ms == CLAIM_IDLE_AUTO)
			return true;
	return c->claim_idle_ms == CLAIM_IDLE_AUTO;
}

/* ------------------------------------------------------------ passwords */

#define CREDENTIAL "redis-password"
#define PASSWORD_MAX 4096

/* Zeroes and frees a password (NULL is fine). */
static void
password_free(char *pw)
{
	if (pw == NULL)
		return;
	for (volatile char *p = pw; *p != '\0'; p++)
		*p = '\0';
	free(pw);
}

/*
 * Reads a password from the file at path: one line, its newline dropped.
 * what names it in messages.  A file every user may read is refused: the
 * password would not be a secret.  Returns 1 and *ret (password_free), 0
 * when missing_ok and the file does not exist, -1 on error (XR_EUSAGE).
 */
static int
read_password(const char *path, const char *what, bool missing_ok, char **ret,
    struct xerr *err)
{
	char buf[PASSWORD_MAX + 2];
	size_t n = 0;
	struct stat sb;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (missing_ok && errno == ENOENT)
			return 0;
		return xerr_set(err, XR_EUSAGE, "%s '%s': cannot read it: %s", what, path,
		    strerror(errno));
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		xerr_set(err, XR_EUSAGE, "%s '%s': not a regular file", what, path);
		goto out;
	}
	if (sb.st_mode & S_IROTH) {
		xerr_set(err, XR_EUSAGE, "%s '%s' can be read by every user (mode %04o): "
		    "make it readable by its owner only (chmod 600), or by a group (chmod 640)",
		    what, path, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			xerr_set(err, XR_EUSAGE, "%s '%s': cannot read it: %s", what, path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PASSWORD_MAX) {
			xerr_set(err, XR_EUSAGE, "%s '%s': longer than %d bytes: not a password",
			    what, path, PASSWORD_MAX);
			goto out;
		}
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		xerr_set(err, XR_EUSAGE, "%s '%s' is empty", what, path);
		goto out;
	}
	if (memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL) {
		xerr_set(err, XR_EUSAGE, "%s '%s': must be one line of text", what, path);
		goto out;
	}
	*ret = xstrndup(buf, n);
	rc = 1;
out:
	for (volatile char *p = buf; p < buf + sizeof(buf); p++)
		*p = '\0';
	close(fd);
	return rc;
}

/* A path from the config, relative to the config file's directory. OUT: malloc'd path. */
static char *
config_relative(const struct config *c, const char *file)
{
	const char *slash;

	if (file[0] == '/' || c->config_path == NULL ||
	    (slash = strrchr(c->config_path, '/')) == NULL)
		return xstrdup(file);
	char *p = xmalloc((size_t)(slash - c->config_path) + strlen(file) + 2);
	sprintf(p, "%.*s/%s", (int)(slash - c->config_path), c->config_path, file);
	return p;
}

int
config_redis_target(const struct config *c, struct redis_target *ret, struct xerr *err)
{
	struct redis_target t;
	const char *env = getenv("REDISCLI_AUTH");
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char *pw = NULL;
	int r = 0;

	if (redis_target_parse_login(c->redis_url, true, &t, err) < 0)
		return -1;
	if (t.password != NULL && c->redis_from >= FROM_ENV) {
		/* 1, 2: a URL from a flag or the environment */
	} else if (env != NULL && env[0] != '\0') {
		pw = xstrdup(env);
		t.password_from = "REDISCLI_AUTH";
	} else if (t.password != NULL) {
		/* 4: the config file's URL */
	} else if (c->password_file != NULL) {
		char *path = config_relative(c, c->password_file);
		r = read_password(path, "password_file", false, &pw, err);
		free(path);
		t.password_from = "password_file";
	} else if (creds != NULL && creds[0] != '\0') {
		char *path = xmalloc(strlen(creds) + sizeof(CREDENTIAL) + 1);
		sprintf(path, "%s/" CREDENTIAL, creds);
		r = read_password(path, "credential", true, &pw, err);
		free(path);
		t.password_from = "the " CREDENTIAL " credential";
	}
	if (r < 0) {
		redis_target_free(&t);
		return -1;
	}
	if (pw != NULL) {
		password_free(t.password);
		t.password = pw;
	}
	if (t.password == NULL)
		t.password_from = NULL;
	if (t.user != NULL && t.password == NULL) {
		redis_target_free(&t);
		return xerr_set(err, XR_EUSAGE, "bad redis URL: a user name is given without a "
		    "password (use user:password@, or :password@ for the default user, or give "
		    "the password in REDISCLI_AUTH, password_file in the config, or the "
		    CREDENTIAL " credential)");
	}
	*ret = t;
	return 0;
}

int
config_redis_open(const struct config *c, const struct redis_target *t, struct rconn **ret,
    struct xerr *err)
{
	static const char places[] = "in the URL (redis://:PASSWORD@host), REDISCLI_AUTH, "
	    "password_file in the config, or the systemd credential " CREDENTIAL;
	struct buf msg = BUF_INIT;

	if (rconn_open(t, c->connect_timeout_ms, c->command_timeout_ms, ret, err) == 0)
		return 0;
	if (strstr(err->msg, "NOAUTH") != NULL && t->password == NULL)
		buf_printf(&msg, "%s (Redis wants a password: give it %s)", err->msg, places);
	else if (strstr(err->msg, "refused the login") != NULL)
		buf_printf(&msg, "%s (the password came from %s; a password goes %s)", err->msg,
		    t->password_from != NULL ? t->password_from : "nowhere", places);
	if (msg.len > 0)
		xerr_set(err, err->code, "%s", buf_str(&msg));
	buf_free(&msg);
	return -1;
}

/* ------------------------------------------------------------- webhooks */

int
config_webhook_find(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nwebhooks; i++)
		if (strcmp(c->webhooks[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A secret read from a file named in webhook cw: "webhook 'NAME' KEY". */
static int
read_webhook_file(const struct config *c, const struct config_webhook *cw, const char *key,
    const char *file, char **ret, struct xerr *err)
{
	char what[300];
	char *path = config_relative(c, file);
	int r;

	snprintf(what, sizeof(what), "webhook '%s' %s", cw->name, key);
	r = read_password(path, what, false, ret, err);
	free(path);
	return r < 0 ? -1 : 0;
}

int
config_webhook_open(const struct config *c, size_t i, struct webhook *ret, struct xerr *err)
{
	const struct config_webhook *cw = &c->webhooks[i];
	struct webhook w;

	memset(&w, 0, sizeof(w));
	w.name = xstrdup(cw->name);
	w.format = (enum webhook_format)webhook_format_parse(cw->format);
	w.min_severity = cw->min_severity != NULL ?
	    (enum severity)severity_parse(cw->min_severity) : SEV_WARNING;
	w.timeout_ms = cw->timeout_ms;
	w.connect_timeout_ms = 5000;
	w.rules = list_new();
	for (char **p = cw->rules; p != NULL && *p != NULL; p++)
		w.rules = list_add(w.rules, *p);
	w.streams = list_new();
	for (char **p = cw->streams; p != NULL && *p != NULL; p++)
		w.streams = list_add(w.streams, *p);
	if (cw->ca_file != NULL)
		w.ca_file = config_relative(c, cw->ca_file);
	if (cw->url != NULL)
		w.url = xstrdup(cw->url);
	else if (read_webhook_file(c, cw, "url_file", cw->url_file, &w.url, err) < 0)
		goto fail;
	if (cw->secret != NULL)
		w.secret = xstrdup(cw->secret);
	else if (cw->secret_file != NULL &&
	    read_webhook_file(c, cw, "secret_file", cw->secret_file, &w.secret, err) < 0)
		goto fail;
	if (w.secret != NULL) {
		/* A whsec_ secret that is not base64 is found now, not at each post. */
		struct buf sig = BUF_INIT;
		struct xerr e = {0};
		int r = notify_sign(w.secret, "msg_0", 0, "", 0, &sig, &e);
		buf_free(&sig);
		if (r < 0) {
			xerr_set(err, XR_EUSAGE, "webhook '%s': %s", cw->name, e.msg);
			goto fail;
		}
	}
	if (strncasecmp(w.url, "https://", 8) != 0 && strncasecmp(w.url, "http://", 7) != 0) {
		xerr_set(err, XR_EUSAGE, "webhook '%s': the URL must start with https:// "
		    "(or http://)", cw->name);
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	webhook_free(&w);
	return -1;
}

int
config_serve_token(const struct config *c, const char *flag_file, char **ret,
    struct xerr *err)
{
	char *path;
	int r;

	if (flag_file != NULL)
		return read_password(flag_file, "--token-file", false, ret, err);
	if (c->serve_token_file == NULL)
		return 0;
	path = config_relative(c, c->serve_token_file);
	r = read_password(path, "serve.token_file", false, ret, err);
	free(path);
	return r;
}

void
config_token_free(char *token)
{
	password_free(token);
}
