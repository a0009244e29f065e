/*
 * pass.h: the state of one recovery pass, shared by recover.c (the pass),
 * its steps on a group (claim.c, dispose.c, clean.c), reconcile.c
 * (finishing what a killed run left) and the moves (moves.h: held.c,
 * copy.c, deadletter.c, settle.c, rollback.c), and the functions they
 * share (pass.c).  Private to core/.
 */
#ifndef XR_PASS_H
#define XR_PASS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/buf.h"
#include "../lib/json.h"
#include "../lib/log.h"
#include "../lib/payload.h"
#include "../store/intent.h"
#include "../store/journal.h"
#include "../store/writer.h"
#include "../stream/redis.h"
#include "../stream/zombie.h"
#include "config.h"
#include "mode.h"
#include "recover.h"

struct pass {
	const struct config *cfg;
	const struct mode *mode;
	const struct logger *lg;
	volatile sig_atomic_t *stop;
	struct journal *j;          /* NULL in a dry run */
	struct journal *hist;       /* a dry run's journal, read only, for claim_idle auto */
	struct intent_log *intents; /* NULL in a dry run */
	struct rconn *rc;
	struct recover_result *res;
	int64_t run;
	int64_t run_seq;            /* journal position of the run's run_start */
	bool dry;
	bool uncertain;             /* a claim or delete was sent and its answer lost */
	bool sweep;                 /* a run ended without a trace: check what is held */
	/*
	 * release (release.c): the consumer to delete from each group instead
	 * of the usual steps, and whether to claim its entries first.
	 */
	const char *release;
	bool release_claim;

	struct writer *w;           /* journals claimed pages while claiming goes on */
	struct ev_batch batch;      /* the page being handed to w */

	struct buf pbuf;            /* payload JSON, reused */
	struct buf dbuf;            /* detail JSON, reused */
	struct bytes *fv;           /* fields of one entry, reused */
	size_t fv_cap;
	struct xerr first_error;    /* the first group failure, for the summary */

	/* What reconcile() found that killed commands had done. */
	struct {
		long long claimed, lost, deleted, copies, dead_lettered, removed;
		long long crashed;          /* runs left without an end, closed as crashed */
		long long unreconciled;     /* records left in the intent file for later */
	} rec;
	struct xerr rec_error;      /* why the first of those could not be reconciled */
	/* The groups those records are about: no move touches their entries. */
	struct group_ref {
		char *stream, *group;
	} *unsettled;
	size_t nunsettled;
};

/* Waits until the writer has committed all it was given; the journal is idle after. */
int pass_flush(struct pass *p, struct xerr *err);
/* Appends one event and commits it (after what the writer holds). */
int pass_append(struct pass *p, const struct event *ev, struct xerr *err);

/* An [ERROR] or [WARN] line about a stream and group (either may be NULL). */
void pass_log_problem(struct pass *p, enum log_level level, const char *stream,
    const char *group, const char *msg);
/* Starts an intent record in p->dbuf: {"run":N,"kind":K,"stream":S,"group":G, ... */
void pass_intent_head(struct pass *p, struct jw *w, const char *kind, const char *stream,
    const char *group);
/* Who runs this command: "host", "user" and "pid" members of an object. */
void pass_who(struct jw *w);
/* Points p->fv at an entry's fields (a reply [field, value, ...]); p owns p->fv. */
void pass_fields(struct pass *p, const redisReply *f);
/* Encodes an entry's fields (a reply [field, value, ...]) into p->pbuf. */
void pass_encode_payload(struct pass *p, const redisReply *f);
void pass_log_lost(struct pass *p, const char *stream, const char *group,
    struct entry_id id, const char *owner, int64_t idle, int64_t deliveries,
    const char *reason);
/* Appends a consumer_deleted or consumer_kept event (inside a transaction). */
int pass_journal_zombie(struct pass *p, const char *stream, const char *group,
    const struct zombie_result *z, bool reconciled, struct xerr *err);

/*
 * The steps of a pass on one group, in order; each returns -1 with err set
 * when it failed (the pass goes on with the next group unless Redis or the
 * journal is gone), and adds what it did to gr.
 *
 * claim_group (claim.c): claims the group's stale entries into the
 * recovery consumer and journals them.
 * dispose_group (dispose.c): dead-letters or redelivers what the recovery
 * consumer holds, as --action and --max-deliveries say.
 * clean_group (clean.c): deletes consumers that own nothing and are quiet.
 */
int claim_group(struct pass *p, struct group_result *gr, struct xerr *err);
int dispose_group(struct pass *p, struct group_result *gr, struct xerr *err);
int clean_group(struct pass *p, struct group_result *gr, struct xerr *err);
/*
 * The deletion step of clean_group, for given candidates cs[0..n): the
 * intent, the atomic check-and-delete (stream/zombie.h) of those that own
 * nothing and are quiet min_idle_ms, and each outcome journalled.
 * OUT: *ret, n results in the order of cs (zombie_results_free()).
 */
int clean_delete(struct pass *p, const char *stream, const char *group, int64_t min_idle_ms,
    const struct consumer_info *const *cs, size_t n, struct zombie_result **ret,
    struct xerr *err);
/*
 * release_group (release.c), instead of the steps above when p->release
 * is set: deletes that consumer from the group when it owns nothing, after
 * claiming what it owns with p->release_claim.
 */
int release_group(struct pass *p, struct group_result *gr, struct xerr *err);
/* Sets err (XR_EOWNS) to the message of a release that kept the consumer somewhere. */
void release_refusal(const struct pass *p, struct xerr *err);

/*
 * runlog.c: the run's own events and summary.  run_start journals the
 * run_start event (and sets p->run, p->run_seq); run_end journals run_end,
 * synced, with p->res's counts and, in the same transaction, the alerts
 * the run raises (rules.h); log_summary writes the SUMMARY line.
 * missing_message and warning_message write, into out (len bytes, cut
 * short with "..."), what was missing, and what was kept back then missing.
 */
int run_start(struct pass *p, struct xerr *err);
int run_end(struct pass *p, const char *status, const char *error, struct xerr *err);
void log_summary(struct pass *p);
void missing_message(const struct recover_result *r, char *out, size_t len);
void warning_message(const struct recover_result *r, char *out, size_t len);

/*
 * Journals, exactly once, what killed runs did in Redis but did not
 * journal, from the intent file; closes those runs as "crashed".  A
 * record that Redis refuses now (NOPERM...) stays in the file:
 * p->rec.unreconciled counts them, p->rec_error says why, p->unsettled
 * names their groups, and 0 is returned.  Redis gone or the journal
 * unwritable returns -1; what was not reconciled stays in the file.
 */
int reconcile(struct pass *p, struct xerr *err);
/* Whether an unreconciled intent is about stream/group (see above). */
bool pass_unsettled(const struct pass *p, const char *stream, const char *group);
/* Frees p->unsettled. */
void pass_unsettled_free(struct pass *p);

/*
 * adopt_group (adopt.c), the first step on a group: journals every entry
 * the recovery consumer holds in the group that the journal does not know
 * (adopted: claim_reconciled, or lost when gone from the stream), counted
 * in gr->adopted; Redis is only read.  Looks at each held entry only when
 * Redis shows that someone may have added one since a run last checked
 * them all (or p->sweep).  adopt_group_end, after the other steps,
 * records in gr whether that check still holds (gr->seen_ok), for the
 * next run.
 */
int adopt_group(struct pass *p, struct group_result *gr, struct xerr *err);
int adopt_group_end(struct pass *p, struct group_result *gr, struct xerr *err);

#endif
