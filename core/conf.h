/*
 * conf.h: what the files of the configuration share: the settings table
 * (config.c), the JSON value checks and string lists (confjson.c), the
 * "webhooks" list (confhooks.c), secret files (confsecret.c).  Private to
 * core/config.c and its conf*.c; the rest of the tree uses config.h.
 *
 *   confload.c  -> config.c -> confhooks.c -> confsecret.c
 *        \             \            \
 *         `-------------`------------`----> confjson.c
 */
#ifndef XR_CORE_CONF_H
#define XR_CORE_CONF_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* ------------------------------------------------------ config.c */

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

/* Every setting, and how many. */
extern const struct setting settings[];
extern const size_t nsettings;

/* The setting whose key is key, or NULL. */
const struct setting *find_setting(const char *key);
/* Sets a setting from text (a flag or environment variable); where names it in messages. */
int set_text(struct config *c, const struct setting *s, const char *value,
    const char *where, bool append, struct xerr *err);
/* Sets a setting from the config file's JSON value v (path: the file). */
int set_json(struct config *c, const struct setting *s, const cJSON *v, const char *path,
    struct xerr *err);
/* Zeroes *c and gives every setting its default. */
void set_defaults(struct config *c);
/* Drops every "claim_idle_groups" entry. */
void idle_groups_free(struct config *c);

/* ---------------------------------------------------- confjson.c */

/* NULL-terminated lists of strings: an empty one, one with s added (a copy); strv_free(). */
char **list_new(void);
char **list_add(char **l, const char *s);
/* What a JSON value is, for messages: "a string", "a list", ... */
const char *json_type_name(const cJSON *v);
/* Reads a JSON list of non-empty strings into *ret (replacing it). */
int set_json_list(char ***ret, const cJSON *v, const char *path, const char *key,
    struct xerr *err);
/* Refuses a key given twice in one JSON object (cJSON keeps both); ctx prefixes the key. */
int check_duplicates(const cJSON *obj, const char *path, const char *ctx, struct xerr *err);

/* --------------------------------------------------- confhooks.c */

/* The "webhooks" list into c->webhooks, each entry checked. */
int set_webhooks(struct config *c, const cJSON *v, const char *path, struct xerr *err);
void webhook_conf_free(struct config_webhook *w);

/* -------------------------------------------------- confsecret.c */

/* A password or other secret from a one-line file not every user may read (confsecret.c). */
int read_password(const char *path, const char *what, bool missing_ok, char **ret,
    struct xerr *err);
/* A path from the config, relative to the config file's directory. OUT: malloc'd path. */
char *config_relative(const struct config *c, const char *file);

#endif
