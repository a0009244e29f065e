/*
 * mode.h: whether this environment is TEST or LIVE.
 *
 * TEST unless an explicit rule says LIVE.  The rules, strongest first:
 * $XRECOVER_MODE (TEST or LIVE); a KEY=VALUE line in one of the config's
 * mode.files that equals an entry of mode.test_when (TEST) or, failing
 * that, of mode.live_when (LIVE).  Nothing else counts: a stray
 * NODE_ENV=production in some env file does not make a system LIVE.
 */
#ifndef XR_MODE_H
#define XR_MODE_H

#include "../lib/xr.h"
#include "config.h"

/* ret is self-contained: nothing to free. */
struct mode {
	const char *name;       /* "TEST" or "LIVE", a static string */
	char why[512];          /* the rule that decided, for the journal */
};

int mode_resolve(const struct config *c, struct mode *ret, struct xerr *err);

#endif
