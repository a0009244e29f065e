/*
 * record.h: reconciling one record of the intent file (reconcile.c, and
 * rmoves.c for the moves).  Private to core/.
 */
#ifndef XR_RECORD_H
#define XR_RECORD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "pass.h"

struct counts {
	long long claimed, lost, deleted, kept, copies, dead_lettered, removed, handed_off;
};

struct rx {
	struct pass *p;
	struct xerr *err;           /* the record in hand's */
	struct xerr *out;           /* reconcile()'s, for an error that ends it */
	struct counts n;            /* what the records reconciled so far did */
	char **names;               /* names of the record in hand, decoded */
	size_t nnames;
	long long unreconciled;     /* records left in the file for later */
};

/*
 * A name from the intent file (intent_name()): a string, or
 * {"base64":"..."} for one that is not UTF-8.  NULL if it is neither.  A
 * decoded name is rx's and lives until names_free().
 */
const char *name_of(struct rx *rx, const cJSON *v);
void names_free(struct rx *rx);
/* What a refusal of Redis about a stream's group meant. */
enum gone {
	GONE_NOT,                   /* nothing: the group is there */
	GONE_STREAM,                /* the stream was deleted, with its groups */
	GONE_GROUP,                 /* the group was destroyed, with its pending list */
};
/*
 * After Redis refused a command about stream/group (NOGROUP, or no such
 * key): whether the stream or the group is gone (asked again, not read
 * from the error).  Returns -1, with the refusal in rx->err, when neither
 * is (NOPERM...), or when Redis cannot be asked.
 */
int group_gone(struct rx *rx, const char *stream, const char *group, enum gone *ret);
/* Item i of an intent entry array: a name (as name_of), a plain string, an ID. */
const char *item_name(struct rx *rx, const cJSON *a, int i);
const char *item_str(const cJSON *a, int i);
bool item_id(const cJSON *a, int i, struct entry_id *ret);

/*
 * rmoves.c: the moves of a record d: copies to stream `to` of replay batch
 * `batch`; dead-letter moves of stream/group planned since seq `since`;
 * a rollback's removals.  0 when the record is done with, -1 with rx->err
 * set when it must stay in the intent file.
 */
int reconcile_copy(struct rx *rx, const cJSON *d, int64_t batch, const char *to);
int reconcile_dead_letter(struct rx *rx, const cJSON *d, int64_t since, const char *stream,
    const char *group);
int reconcile_rollback(struct rx *rx, const cJSON *d, int64_t batch, const char *to);
/* Hand-offs of stream/group to a live consumer planned since seq `since`. */
int reconcile_hand_off(struct rx *rx, const cJSON *d, int64_t since, const char *stream,
    const char *group);

#endif
