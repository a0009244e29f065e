/*
 * config.h: every setting, where it comes from, and the one place that
 * decides: command-line flags beat the environment, which beats the JSON
 * config file, which beats the built-in defaults.
 *
 * Each setting has a key, used as the config file's key; cmd/ records the
 * flags it parsed as (key, value) pairs and config_load() applies them
 * last.  The settings table is config.c; config_load() is confload.c,
 * the webhooks confhooks.c, the secrets confsecret.c (core/conf.h).
 */
#ifndef XR_CONFIG_H
#define XR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/xr.h"

struct config {
	char *config_path;          /* the file that was read, or NULL */

	char *redis_url;            /* secret: may hold a password */
	enum config_from {
		FROM_DEFAULT, FROM_FILE, FROM_ENV, FROM_FLAG,
	} redis_from;               /* where redis_url came from */
	char *password_file;        /* a file holding the Redis password */
	char *db_path;
	bool json, quiet;
	int verbose;

	char **streams;             /* NULL-terminated (possibly empty) lists */
	char *match;
	char **groups;

	int64_t claim_idle_ms;      /* CLAIM_IDLE_AUTO: from the group's history */
	struct idle_override {      /* "claim_idle_groups": per STREAM/GROUP or GROUP */
		char *name;
		int64_t ms;             /* a duration or CLAIM_IDLE_AUTO */
	} *idle_groups;
	size_t nidle_groups;
	int64_t claim_idle_floor_ms;    /* auto never goes below or above these */
	int64_t claim_idle_ceiling_ms;
	int64_t claim_idle_busy_ms;     /* auto with too little history */
	int64_t claim_idle_quiet_ms;
	bool only_silent_consumers;
	int64_t zombie_idle_ms;
	long long batch;
	char *consumer;
	char **exclude;
	bool dry_run, no_claim, no_clean;
	char *action;               /* hold, redeliver, hand-off, dead-letter */
	char *redeliver_to;         /* template ({stream}, {group}) of retry streams; NULL: own */
	bool all_groups;            /* copies may reach every group of the target stream */
	long long max_deliveries;   /* 0: off */
	char *dead_letter_stream;   /* template: {stream}, {group} */
	char *log_file;
	char *metrics_file;         /* run: the Prometheus text file (core/metrics.h); NULL: none */

	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	int64_t lock_timeout_ms;
	int64_t archive_after_ms;   /* run: archive events older than this, once a day (0: never) */

	char **mode_files;          /* globs of KEY=VALUE env files */
	char **live_when;           /* KEY=VALUE that make the mode LIVE */
	char **test_when;           /* KEY=VALUE that make it TEST */

	struct config_webhook *webhooks;    /* the "webhooks" list, as written */
	size_t nwebhooks;

	int64_t interval_ms;        /* how often the timer runs `run` (default 120s) */
	char *alert_rules;          /* the "alert_rules" object as JSON text, or NULL: defaults */
	int64_t alert_cooldown_ms;  /* a rule and group alert at most this often (default 30m) */
	int64_t alert_budget_ms;    /* a run's time for sending alerts, in all (default 10s) */
	long long alert_max_attempts;   /* per alert and webhook, then failed (default 10) */
	int64_t alert_backoff_ms;   /* the wait before the first retry, doubled each time (30s) */
	char *serve_listen;         /* "serve": {"listen"}: ADDR:PORT, or NULL */
	char *serve_token_file;     /* "serve": {"token_file"}, as written, or NULL */
};

/*
 * One entry of "webhooks", checked but not yet read: url_file and
 * secret_file are read by config_webhook_open().  Exactly one of url and
 * url_file is set; at most one of secret and secret_file.
 */
struct config_webhook {
	char *name;
	char *url, *url_file;       /* secret: the URL carries a token */
	char *format;               /* slack, discord, teams, json */
	char *secret, *secret_file; /* signs json requests (Standard Webhooks) */
	char *min_severity;         /* info, warning (default), critical */
	char *ca_file;              /* trust roots added to the system's */
	int64_t timeout_ms;         /* per request (default 10s) */
	char **rules;               /* the rules it wants; empty: every one */
	char **streams;             /* the streams it wants; empty: every one */
};

/* claim_idle "auto": each group's threshold follows what the journal saw of it. */
#define CLAIM_IDLE_AUTO (-1)

/*
 * The claim_idle setting for stream/group: a --claim-idle flag applies to
 * every group; otherwise "claim_idle_groups" by "STREAM/GROUP", then by
 * "GROUP", then "claim_idle".  A duration in ms, or CLAIM_IDLE_AUTO.
 */
int64_t config_claim_idle(const struct config *c, const char *stream, const char *group);
/* Whether any group may have claim_idle auto. */
bool config_any_auto(const struct config *c);

/* A flag as given on the command line: key is a setting's key. */
struct config_flag {
	const char *key;
	const char *value;          /* NULL for switches */
	const char *spelling;       /* "--claim-idle", for messages */
};

/*
 * Builds the configuration.  config_file is -c's value (NULL: use
 * $XRECOVER_CONFIG, else /etc/xrecover/config.json if it exists).  The
 * flags are applied in order; a list flag given once replaces the file's
 * list, given again appends.  Errors are XR_EUSAGE and name the key and
 * the file or flag.  OUT: *ret, freed with config_free().
 */
int config_load(const char *config_file, const struct config_flag *flags,
    size_t nflags, struct config *ret, struct xerr *err);
void config_free(struct config *c);

struct redis_target;
struct rconn;

/*
 * The Redis server to use and how to log in: the URL in use, with its
 * password from the strongest place that has one.  As for every setting,
 * flags beat the environment, which beats the config file; within one, a
 * password in the URL beats one beside it:
 *
 *   1. the URL of -r/--redis
 *   2. the URL of $XRECOVER_REDIS_URL or $REDIS_URL
 *   3. $REDISCLI_AUTH
 *   4. the URL of the config's "redis"
 *   5. the file the config's "password_file" names (relative to the config
 *      file; refused when every user may read it)
 *   6. the systemd credential $CREDENTIALS_DIRECTORY/redis-password
 *
 * A URL may name a user without a password when one of the others gives
 * it.  OUT: *ret, freed with redis_target_free(); ret->password_from says
 * where the password came from.  Errors: XR_EUSAGE, never repeating the
 * password.
 */
int config_redis_target(const struct config *c, struct redis_target *ret, struct xerr *err);

/*
 * rconn_open() with the configured timeouts.  When Redis refuses the login
 * or wants a password, the message says where the password came from and
 * where a password goes.
 */
int config_redis_open(const struct config *c, const struct redis_target *t,
    struct rconn **ret, struct xerr *err);

struct webhook;

/*
 * The index of the webhook named name, or -1.
 */
int config_webhook_find(const struct config *c, const char *name);

/*
 * Webhook i ready to post to: url_file and secret_file read (paths
 * relative to the config file; refused when every user may read them, as
 * password_file is).  OUT: *ret, freed with webhook_free().  Errors are
 * XR_EUSAGE, name the webhook, and never repeat the URL or the secret.
 */
int config_webhook_open(const struct config *c, size_t i, struct webhook *ret,
    struct xerr *err);

/*
 * The bearer token `serve` requires: from flag_file (--token-file, a path
 * as given) if not NULL, else from the config's serve.token_file (relative
 * to the config file).  Read as password_file is: one line, refused when
 * every user may read the file.  Returns 1 and *ret (config_token_free()),
 * 0 when neither names a file, -1 with XR_EUSAGE (never repeating the
 * token).
 */
int config_serve_token(const struct config *c, const char *flag_file, char **ret,
    struct xerr *err);
/* Zeroes and frees a token (NULL is fine). */
void config_token_free(char *token);

/* The default journal path: $XRECOVER_DB is handled by config_load. */
const char *config_default_db(void);

#endif
