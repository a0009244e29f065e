/*
 * command.h: a command is an entry in a table.  cmd/main.c holds the table,
 * parses the global options and each command's own, checks the number of
 * arguments, loads the configuration, and calls run().  help is generated
 * from the entries.  cmd/command.c has what the commands call on their
 * context.
 */
#ifndef XR_COMMAND_H
#define XR_COMMAND_H

#include <signal.h>
#include <stdbool.h>

#include "../core/config.h"
#include "../lib/log.h"
#include "../lib/util.h"
#include "out.h"

/* One option: a setting (key) or, with key NULL, a switch the command reads. */
struct cmd_option {
	const char *name;           /* long name, without "--" */
	int short_name;             /* 0 for none */
	const char *key;            /* config key it sets, or NULL */
	const char *arg;            /* argument name, or NULL for a switch */
	const char *help;
};

/* Option rows several commands share, so that their help cannot drift. */
#define OPTIONS_SELECT(what) \
	{"stream", 's', "streams", "NAME", what " this stream (repeatable)"}, \
	{"match", 0, "match", "GLOB", what " every stream whose name matches (SCAN ... TYPE stream)"}, \
	{"group", 'g', "groups", "NAME", "only this consumer group (repeatable; default every group)"}
#define OPTIONS_CONSUMERS \
	{"consumer", 0, "consumer", "NAME", "the recovery consumer that holds claimed entries (default xrecover)"}, \
	{"exclude-consumer", 0, "exclude_consumers", "GLOB", "never claim from or delete these consumers (repeatable)"}, \
	{"claim-idle", 0, "claim_idle", "DURATION|auto", "claim entries idle at least this long (default 60s; auto: from each group's history; applies to every group)"}, \
	{"only-silent-consumers", 0, "only_silent_consumers", NULL, "claim only from consumers silent at least the threshold (implied by auto)"}, \
	{"claim-idle-floor", 0, "claim_idle_floor", "DURATION", "auto never goes below this (default 10s)"}, \
	{"claim-idle-ceiling", 0, "claim_idle_ceiling", "DURATION", "auto never goes above this (default 1h)"}, \
	{"claim-idle-busy", 0, "claim_idle_busy", "DURATION", "auto with too little history, a busy stream (default 30s)"}, \
	{"claim-idle-quiet", 0, "claim_idle_quiet", "DURATION", "auto with too little history, a quiet stream (default 120s)"}, \
	{"zombie-idle", 0, "zombie_idle", "DURATION", "delete consumers quiet this long with nothing pending (default 1h; on Redis >= 7.2 measured on 'inactive')"}

/* An option of the command's own (a cmd_option with no config key). */
struct cmd_arg {
	const char *name;
	const char *value;          /* NULL for switches */
};

struct ctx {
	struct config cfg;
	struct cmd_arg *opts;       /* the command's own options, in order */
	size_t nopts;
	char **args;                /* positional arguments */
	int nargs;
	struct out out;
	const struct logger *lg;
	volatile sig_atomic_t *stop;
	/* Why the configuration did not load (cfg is empty), for runs_on_bad_config. */
	const struct xerr *config_error;
};

struct command {
	const char *name;
	const char *summary;        /* one line for `xrecover help` */
	const char *usage;          /* after "xrecover NAME " */
	const char *description;    /* a paragraph for `xrecover help NAME` */
	const struct cmd_option *options;   /* terminated by a zeroed entry */
	int min_args, max_args;
	int (*run)(struct ctx *c);  /* returns an exit code (lib/xr.h) */
	/* run() is called even when the configuration does not load (ctx.config_error). */
	bool runs_on_bad_config;
};

extern const struct command cmd_run;
extern const struct command cmd_status;
extern const struct command cmd_replay;
extern const struct command cmd_rollback;
extern const struct command cmd_verify;
extern const struct command cmd_release;
extern const struct command cmd_doctor;
extern const struct command cmd_archive;
extern const struct command cmd_report;
extern const struct command cmd_trace;
extern const struct command cmd_test_alert;
extern const struct command cmd_serve;

/* The last value given for the command's own option name, or NULL. */
const char *ctx_opt(const struct ctx *c, const char *name);
/* Whether the switch name was given. */
bool ctx_flag(const struct ctx *c, const char *name);

/*
 * STREAM/ID as given on the command line (what: the option or argument it
 * is, for the message): the stream is everything before the last '/'.
 * OUT: *ret_stream (free()).  XR_EUSAGE when it is not STREAM/ID.
 */
int parse_stream_id(const char *what, const char *s, char **ret_stream, struct entry_id *ret_id,
    struct xerr *err);

struct trace;
/* One message's story as `trace` prints it (cmd/trace.c), on f. */
void trace_print(const struct trace *t, FILE *f);
/* A line for each archive of the journal not read (trace's, report's), escaped, on f. */
void print_unread(char *const *v, size_t n, FILE *f);

/*
 * Prints "xrecover: msg" (with --json, the failure object on stdout) and
 * returns err->code (XR_EFAIL if 0), for `return fail(...)`.
 */
int fail(struct ctx *c, const struct xerr *err);

#endif
