/*
 * doctor.h: `xrecover doctor`: checks of everything xrecover relies on,
 * each with what it found and, when not ok, what to do.
 */
#ifndef XR_DOCTOR_H
#define XR_DOCTOR_H

#include <stddef.h>

#include "../lib/xr.h"
#include "config.h"

enum check_level {
	CHECK_OK,
	CHECK_SKIP,     /* could not be checked here (no systemd, nothing to check) */
	CHECK_WARN,     /* works, with something to know */
	CHECK_FAIL,     /* xrecover will not work until this is fixed */
};

struct check {
	char *name;                 /* "config", "redis", "journal", "webhook NAME", ... */
	enum check_level level;
	char *what;                 /* what was found; may name streams or keys (hostile) */
	char *fix;                  /* what to do, NULL when ok */
};

struct doctor_result {
	struct check *v;
	size_t n;
};

/*
 * Runs every check.  config_error, unless NULL, is why the configuration
 * did not load: that is the one check, the others need it.  Nothing is
 * written: the journal is opened read only, the lock tried and let go,
 * webhooks only connected to.  OUT: *ret (doctor_result_free()).
 */
void doctor_run(const struct config *cfg, const struct xerr *config_error,
    struct doctor_result *ret);
void doctor_result_free(struct doctor_result *r);
/* "ok", "skipped", "warning", "FAIL" */
const char *check_level_name(enum check_level l);
/* Whether any check failed. */
bool doctor_failed(const struct doctor_result *r);

#endif
