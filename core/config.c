/*
 * config.c: the settings table (config.h), their defaults, and how each
 * setting takes a value: from text (a flag or an environment variable) or
 * from the config file's JSON (the objects "mode", "claim_idle_groups"
 * and "serve" here; "webhooks" in confhooks.c).  Where the values come
 * from and in which order is confload.c; the secrets the settings name
 * are read by confsecret.c.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "conf.h"
#include "config.h"
#include "rules.h"

const struct setting settings[] = {
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
const size_t nsettings = NSETTINGS;

const struct setting *
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
int
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
			strv_free(*(char ***)p);
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

void
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

int
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

void
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

void
config_free(struct config *c)
{
	free(c->config_path);
	secret_free(c->redis_url);
	free(c->db_path);
	strv_free(c->streams);
	free(c->match);
	strv_free(c->groups);
	free(c->consumer);
	free(c->action);
	free(c->redeliver_to);
	free(c->dead_letter_stream);
	strv_free(c->exclude);
	free(c->log_file);
	free(c->metrics_file);
	free(c->password_file);
	strv_free(c->mode_files);
	strv_free(c->live_when);
	strv_free(c->test_when);
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
