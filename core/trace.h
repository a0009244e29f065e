/*
 * trace.h: one message's whole story (`xrecover trace`), and the fate of
 * one claim, which the incident report shows for each entry.
 *
 * A message is the entry first journalled (the original) and every entry
 * made from it since: its copies (replay, redeliver), the copies of those,
 * and the dead letters of any of them.  Its story is every event about
 * any of them in journal order; its fate, for each group the original was
 * claimed in, is the fate of its chain of copies (see chain_fate()).
 */
#ifndef XR_CORE_TRACE_H
#define XR_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"
#include "../store/journal.h"
#include "config.h"

#define TRACE_NONE ((size_t)-1)

/* Where Redis has an entry pending now. */
struct trace_pending {
	char *group, *consumer;
	long long idle_ms, deliveries;
};

/* One entry of the message: the original, a copy, or a dead letter. */
struct trace_node {
	char *stream;
	struct entry_id id;
	bool dead_letter;           /* an entry of a dead-letter stream */
	size_t parent;              /* the node it was made from; TRACE_NONE: the original */
	int64_t batch;              /* a copy: its replay batch */
	/* What Redis says of it now (when the trace's redis_asked). */
	bool in_stream;
	struct trace_pending *pending;  /* each group it is pending in */
	size_t npending;
};

/* One event of the story. */
struct trace_step {
	int64_t seq, pos;           /* journal order (pos: a copy's place in its event) */
	int64_t ts, run, batch, incident;
	char *kind;                 /* the journal's (claim, lost, dead_lettered, ...), "copy" for
	                             * a copy made, "rollback" for the copy's batch rolled back */
	size_t node;                /* the entry it is about */
	size_t other;               /* copy: the copy made; dead_lettered: the dead letter;
	                             * settled, copy_removed: the copy; else TRACE_NONE */
	char *grp, *consumer;       /* NULL when the event has none */
	int64_t idle_ms, deliveries; /* -1: not journalled */
	char *source;               /* copy: "held" or "dead_letter" */
	char *reason;               /* dead_lettered, lost: why */
	char *user, *host;          /* rollback: who */
};

/* The fate of one group's chain. */
struct trace_fate {
	char *grp;                  /* the group the original was claimed (or lost) in */
	int64_t claim_seq;          /* its latest claim or loss there */
	int64_t last_seq;           /* the last claim of its chain of copies */
	size_t last_node;
	const char *fate;           /* chain_fate()'s words */
	int64_t deliveries;         /* every delivery of the entry and its copies */
};

struct trace {
	char *payload;              /* the journal's JSON of the fields; NULL if never claimed */
	struct trace_node *nodes;   /* nodes[0] is the original */
	size_t nnodes;
	struct trace_step *steps;   /* in journal order */
	size_t nsteps;
	struct trace_fate *fates;
	size_t nfates;
	char **unread;              /* a line for each archive of the journal not read (NULL-terminated) */
	size_t nunread;
	bool redis_asked;           /* nodes[].in_stream and .pending are Redis's answers */
	char *redis_error;          /* why Redis could not be asked, or NULL */
};

/*
 * The fate of the claim (or loss) at journal position seq, following its
 * chain of copies as schema/006_fates.sql describes: from a claim, the
 * latest copy made of it since; if that copy was claimed (in the same
 * group when in the same stream, in any group elsewhere), its latest
 * claim, and so on.  The fate is what happened last to the chain's last
 * claim: held, dead-lettered, replayed and read, replayed, copy not read
 * yet, held (replay rolled back), taken by a live consumer, claimed again,
 * lost.  deliveries counts those of every entry of the chain.  r is a
 * store/trace.h reader of the journal.
 */
struct chain_fate {
	int64_t last_seq;
	char *stream, *grp;         /* the last claim's entry */
	struct entry_id id;
	const char *fate;           /* static */
	int64_t deliveries;
};
struct trace_reader;
int chain_fate(struct trace_reader *r, int64_t seq, struct chain_fate *ret, struct xerr *err);
void chain_fate_free(struct chain_fate *f);

/*
 * The story of the message stream/id is part of: stream/id may be the
 * original, any copy of it, or a dead letter of either.  Reads the
 * journal, then asks Redis; when Redis cannot be asked, ret->redis_error
 * says why and the rest is filled in.  The journal's archives are read
 * with it, as one journal; one that cannot be read (missing, unreadable,
 * more than can be read at once) is left out and said in ret->unread.
 * XR_ENOTHING when the journal knows nothing of it.
 */
int trace_entry(const struct config *cfg, const char *stream, struct entry_id id,
    struct trace *ret, struct xerr *err);
/*
 * trace_entry() from the journal alone: Redis is not asked, and
 * ret->redis_error is not_asked (for `serve`, which reads the journal only).
 */
int trace_entry_journal(const struct config *cfg, const char *stream, struct entry_id id,
    const char *not_asked, struct trace *ret, struct xerr *err);

/*
 * The stories of the messages whose claimed payload has field name equal
 * to value, first claimed first, at most max of them; *ret_matched counts
 * them all.  XR_ENOTHING when none matches.  OUT: *ret (trace_free_all()).
 */
int trace_field(const struct config *cfg, const char *name, const char *value, size_t max,
    struct trace **ret, size_t *ret_n, size_t *ret_matched, struct xerr *err);

void trace_free(struct trace *t);
void trace_free_all(struct trace *t, size_t n);

#endif
