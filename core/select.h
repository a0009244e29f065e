/*
 * select.h: which streams a command works on: the named ones (--stream, or
 * the config's "streams"), then every stream matching --match.
 */
#ifndef XR_SELECT_H
#define XR_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "../stream/redis.h"
#include "config.h"

struct selected {
	char *name;
	bool named;                 /* given by name, so it may not exist */
};

/*
 * OUT: *ret (free with selected_free), named streams first, in the order
 * given, then matches, sorted, without repeats.  With nothing selected,
 * all_by_default matches every stream, else it is an XR_EUSAGE error.
 */
int select_streams(struct rconn *rc, const struct config *cfg, bool all_by_default,
    struct selected **ret, size_t *ret_n, struct xerr *err);
void selected_free(struct selected *s, size_t n);

/* Whether the config's --group list (empty: all) includes name. */
bool group_selected(const struct config *cfg, const char *name);

#endif
