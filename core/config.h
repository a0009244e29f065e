/*
 * config.h: every setting, where it comes from, and the one place that
 * decides: command-line flags beat the environment, which beats the JSON
 * config file, which beats the built-in defaults.
 *
 * Each setting has a key, used as the config file's key; cmd/ records the
 * flags it parsed as (key, value) pairs and config_load() applies them
 * last.
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
	char *db_path;
	bool json, quiet;
	int verbose;

	char **streams;             /* NULL-terminated (possibly empty) lists */
	char *match;
	char **groups;

	int64_t claim_idle_ms;
	int64_t zombie_idle_ms;
	long long batch;
	char *consumer;
	char **exclude;
	bool dry_run, no_claim, no_clean;
	char *action;               /* hold, redeliver, dead-letter */
	long long max_deliveries;   /* 0: off */
	char *dead_letter_stream;   /* template: {stream}, {group} */
	char *log_file;

	int64_t connect_timeout_ms;
	int64_t command_timeout_ms;
	int64_t lock_timeout_ms;

	char **mode_files;          /* globs of KEY=VALUE env files */
	char **live_when;           /* KEY=VALUE that make the mode LIVE */
	char **test_when;           /* KEY=VALUE that make it TEST */
};

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

/* The default journal path: $XRECOVER_DB is handled by config_load. */
const char *config_default_db(void);

/* Whether key names a setting (for cmd/ to check its own table). */
bool config_has_key(const char *key);

#endif
