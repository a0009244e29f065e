/*
 * main.c: the command table, the global options, dispatch, and the help
 * that is generated from the table.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../stream/redis.h"
#include "command.h"
#include "manual.h"

static const struct command *const commands[] = {
	&cmd_run,
	&cmd_status,
	&cmd_replay,
	&cmd_rollback,
	&cmd_report,
	&cmd_trace,
	&cmd_verify,
	&cmd_release,
	&cmd_doctor,
	&cmd_archive,
	&cmd_test_alert,
	&cmd_serve,
	NULL,
};

/* Options every command takes, before or after its name. */
static const struct cmd_option global_options[] = {
	{"config", 'c', NULL, "FILE", "JSON config file (default $XRECOVER_CONFIG, else /etc/xrecover/config.json if present)"},
	{"redis", 'r', "redis", "URL", "redis://[user[:password]@]host[:port][/db] or unix:///path.sock[?db=N] (default $XRECOVER_REDIS_URL, $REDIS_URL, redis://127.0.0.1:6379); the password may also come from $REDISCLI_AUTH, password_file in the config, or the systemd credential redis-password"},
	{"db", 0, "db", "FILE", "the journal (default $XRECOVER_DB, else /var/lib/xrecover/journal.db as root, ./xrecover.db otherwise)"},
	{"json", 0, "json", NULL, "print results as JSON"},
	{"quiet", 'q', "quiet", NULL, "only warnings and errors on stderr"},
	{"verbose", 'v', "verbose", NULL, "more detail (per page of claims)"},
	{"connect-timeout", 0, "connect_timeout", "DURATION", "give up connecting to Redis after this long (default 5s)"},
	{"command-timeout", 0, "command_timeout", "DURATION", "give up waiting for a Redis reply after this long (default 30s)"},
	{"lock-timeout", 0, "lock_timeout", "DURATION", "wait this long for another xrecover to release the journal (default 10s)"},
	{"version", 0, NULL, NULL, "print the version"},
	{"help", 'h', NULL, NULL, "print help"},
	{NULL, 0, NULL, NULL, NULL},
};

static const char help_summary[] = "show help for a command: xrecover help COMMAND";
static const char help_notes[] =
    "Durations: 1500ms, 90s, 5m, 1h, or a bare number of seconds; at most 36500d.\n"
    "Flags beat the environment, which beats the config file.\n";

/* What help, the manual page and the bash completion are written from. */
static const struct cmd_table table = {
	.commands = commands,
	.usage = "[GLOBAL OPTIONS] COMMAND [OPTIONS]",
	.global = global_options,
	.help_summary = help_summary,
	.notes = help_notes,
};

static volatile sig_atomic_t stop_flag;

/* --json was given: failures before a command runs are JSON on stdout too. */
static bool want_json;

static void
on_signal(int sig)
{
	stop_flag = 1;
	/* A second signal ends the process the usual way. */
	signal(sig, SIG_DFL);
}

/*
 * "xrecover: msg", and with --json the failure object, before a command has
 * its context (its configuration or log file failed).
 */
static int
fail_early(const struct xerr *err)
{
	int code = err->code != 0 ? err->code : XR_EFAIL;

	out_error(NULL, err->msg);
	if (want_json)
		out_json_failure(NULL, err->msg, code);
	return code;
}

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; commands[i] != NULL; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

/* ---------------------------------------------------------------- help */

static void
print_options(FILE *f, const struct cmd_option *opts)
{
	for (const struct cmd_option *o = opts; o->name != NULL; o++) {
		char left[64];
		if (o->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-30s %s\n", left, o->help);
	}
}

static void
print_exit_codes(FILE *f)
{
	fputs("\nExit codes:\n", f);
	for (const struct exit_code_doc *e = exit_code_table; e->meaning != NULL; e++)
		fprintf(f, "  %d  %s\n", e->code, e->meaning);
}

static void
print_general_help(FILE *f)
{
	fprintf(f, "usage: xrecover %s\n\n", table.usage);
	fputs("xrecover keeps Redis Streams consumer groups healthy: it claims entries that\n"
	    "dead consumers left pending, deletes consumers that are gone for good, and\n"
	    "journals every action with each message's payload in an append-only SQLite journal.\n\n"
	    "Commands:\n", f);
	for (size_t i = 0; commands[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-10s %s\n", "help", help_summary);
	fputs("\nGlobal options:\n", f);
	print_options(f, global_options);
	fprintf(f, "\n%s", help_notes);
	print_exit_codes(f);
}

static void
print_command_help(FILE *f, const struct command *cmd)
{
	fprintf(f, "usage: xrecover %s %s\n\n%s\n\nOptions:\n", cmd->name, cmd->usage,
	    cmd->description);
	print_options(f, cmd->options);
	fputs("\nGlobal options:\n", f);
	print_options(f, global_options);
	print_exit_codes(f);
}

static int
usage_error(const char *cmd, const char *fmt, const char *what)
{
	char msg[300];
	struct buf e = BUF_INIT;

	snprintf(msg, sizeof(msg), fmt, what);
	if (cmd != NULL)
		fprintf(stderr, "xrecover %s: %s (see 'xrecover help %s')\n", cmd,
		    out_esc(&e, msg), cmd);
	else
		fprintf(stderr, "xrecover: %s (see 'xrecover help')\n", out_esc(&e, msg));
	buf_free(&e);
	if (want_json)
		out_json_failure(NULL, msg, XR_EUSAGE);
	return XR_EUSAGE;
}

/* ------------------------------------------------------------- parsing */

struct parsed {
	const char *config_file;
	struct config_flag *flags;
	size_t nflags;
	struct cmd_arg *local;
	size_t nlocal;
	char **args;
	int nargs;
	bool help, version;
};

/* All options a command accepts: its own, then the global ones. */
static const struct cmd_option **
all_options(const struct command *cmd, size_t *ret_n)
{
	size_t n = 0, k = 0;
	const struct cmd_option **v;

	for (const struct cmd_option *o = global_options; o->name; o++)
		n++;
	for (const struct cmd_option *o = cmd != NULL ? cmd->options : NULL; o && o->name; o++)
		n++;
	v = xcalloc(n + 1, sizeof(*v));
	for (const struct cmd_option *o = cmd != NULL ? cmd->options : NULL; o && o->name; o++)
		v[k++] = o;
	for (const struct cmd_option *o = global_options; o->name; o++)
		v[k++] = o;
	*ret_n = n;
	return v;
}

/*
 * Parses argv[0..argc) with the options of cmd (NULL: global only).
 * stop_at_arg stops at the first non-option (the command name).  Returns
 * the index after what was parsed, or -1 after printing the error.
 */
static int
parse_options(int argc, char **argv, const struct command *cmd, bool stop_at_arg,
    struct parsed *p)
{
	size_t n;
	const struct cmd_option **opts = all_options(cmd, &n);
	struct option *lo = xcalloc(n + 1, sizeof(*lo));
	struct buf shorts = BUF_INIT;
	const char *cname = cmd != NULL ? cmd->name : NULL;
	int rc = -1, c;

	buf_adds(&shorts, stop_at_arg ? "+:" : ":");
	for (size_t i = 0; i < n; i++) {
		lo[i].name = opts[i]->name;
		lo[i].has_arg = opts[i]->arg ? required_argument : no_argument;
		lo[i].val = 1000 + (int)i;
		if (opts[i]->short_name) {
			buf_addc(&shorts, (char)opts[i]->short_name);
			if (opts[i]->arg)
				buf_addc(&shorts, ':');
		}
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, buf_str(&shorts), lo, NULL)) != -1) {
		const struct cmd_option *o = NULL;

		if (c == '?') {
			const char *bad = argv[optind - 1];
			char tmp[4] = {'-', (char)optopt, 0, 0};
			if (optopt != 0)
				bad = tmp;
			usage_error(cname, "unknown option '%s'", bad);
			goto out;
		}
		if (c == ':') {
			const char *bad = argv[optind - 1];
			usage_error(cname, "option '%s' needs a value", bad);
			goto out;
		}
		if (c >= 1000)
			o = opts[c - 1000];
		for (size_t i = 0; o == NULL && i < n; i++)
			if (opts[i]->short_name == c)
				o = opts[i];
		if (o == NULL)
			goto out;
		if (strcmp(o->name, "help") == 0) {
			p->help = true;
		} else if (strcmp(o->name, "version") == 0) {
			p->version = true;
		} else if (strcmp(o->name, "config") == 0) {
			p->config_file = optarg;
		} else if (o->key != NULL) {
			p->flags = xrealloc(p->flags, (p->nflags + 1) * sizeof(*p->flags));
			p->flags[p->nflags].key = o->key;
			p->flags[p->nflags].value = o->arg ? optarg : NULL;
			p->flags[p->nflags].spelling = o->name;
			p->nflags++;
		} else {
			p->local = xrealloc(p->local, (p->nlocal + 1) * sizeof(*p->local));
			p->local[p->nlocal].name = o->name;
			p->local[p->nlocal].value = o->arg ? optarg : NULL;
			p->nlocal++;
		}
	}
	rc = optind;
out:
	free(opts);
	free(lo);
	buf_free(&shorts);
	return rc;
}

/*
 * Overwrites with 'x' the password of every URL in argv, found as the URL
 * parser finds it (redis_url_password), so that `ps` and /proc/PID/cmdline
 * stop showing it once it has been read.
 */
static void
scrub_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		size_t off, len;
		if (redis_url_password(argv[i], &off, &len))
			memset(argv[i] + off, 'x', len);
	}
}

static void
parsed_free(struct parsed *p)
{
	free(p->flags);
	free(p->local);
	memset(p, 0, sizeof(*p));
}

/* Runs the command line; gp and cp are freed by the caller on every path. */
static int
dispatch(int argc, char **argv, struct parsed *gp, struct parsed *cp)
{
	const struct command *cmd;
	struct ctx c;
	struct xerr err = {0};
	int next, rc;

	next = parse_options(argc, argv, NULL, true, gp);
	if (next < 0)
		return XR_EUSAGE;
	if (gp->version) {
		printf("xrecover %s\n", XR_VERSION);
		return XR_OK;
	}
	if (next >= argc) {
		print_general_help(gp->help ? stdout : stderr);
		if (!gp->help && want_json)
			out_json_failure(NULL, "no command given (see 'xrecover help')", XR_EUSAGE);
		return gp->help ? XR_OK : XR_EUSAGE;
	}
	if (strcmp(argv[next], "help") == 0) {
		if (next + 1 >= argc) {
			print_general_help(stdout);
			return XR_OK;
		}
		/* For the Makefile: the manual page's generated parts, the completion. */
		if (strcmp(argv[next + 1], "--man") == 0 && next + 3 == argc)
			return manual_write(stdout, &table, argv[next + 2]) < 0 ?
			    usage_error(NULL, "no part '%s' of the manual", argv[next + 2]) :
			    XR_OK;
		if (strcmp(argv[next + 1], "--completion") == 0 && next + 3 == argc &&
		    strcmp(argv[next + 2], "bash") == 0) {
			completion_write(stdout, &table);
			return XR_OK;
		}
		cmd = find_command(argv[next + 1]);
		if (cmd == NULL)
			return usage_error(NULL, "unknown command '%s'", argv[next + 1]);
		print_command_help(stdout, cmd);
		return XR_OK;
	}
	cmd = find_command(argv[next]);
	if (cmd == NULL)
		return usage_error(NULL, "unknown command '%s'", argv[next]);
	if (gp->help) {
		print_command_help(stdout, cmd);
		return XR_OK;
	}

	/* The command's own options (and the global ones again, in any order). */
	int cargc = argc - next;
	char **cargv = argv + next;
	int first_arg = parse_options(cargc, cargv, cmd, false, cp);
	if (first_arg < 0)
		return XR_EUSAGE;
	if (cp->help) {
		print_command_help(stdout, cmd);
		return XR_OK;
	}
	int nargs = cargc - first_arg;
	if (nargs > cmd->max_args)
		return usage_error(cmd->name, "unexpected argument '%s'",
		    cargv[first_arg + cmd->max_args]);
	if (nargs < cmd->min_args)
		return usage_error(cmd->name, "usage: xrecover %s", cmd->usage);

	/* Global flags first, then the command's: later ones win. */
	size_t nflags = gp->nflags + cp->nflags;
	struct config_flag *flags = xcalloc(nflags + 1, sizeof(*flags));
	if (gp->nflags)
		memcpy(flags, gp->flags, gp->nflags * sizeof(*flags));
	if (cp->nflags)
		memcpy(flags + gp->nflags, cp->flags, cp->nflags * sizeof(*flags));
	for (size_t i = 0; i < nflags; i++) {
		char *sp = xmalloc(strlen(flags[i].spelling) + 3);
		sprintf(sp, "--%s", flags[i].spelling);
		flags[i].spelling = sp;
	}
	memset(&c, 0, sizeof(c));
	rc = config_load(cp->config_file ? cp->config_file : gp->config_file, flags, nflags,
	    &c.cfg, &err);
	for (size_t i = 0; i < nflags; i++)
		free((char *)flags[i].spelling);
	free(flags);
	scrub_argv(argc, argv);
	if (rc < 0 && !cmd->runs_on_bad_config)
		return fail_early(&err);
	if (rc < 0) {
		memset(&c.cfg, 0, sizeof(c.cfg));
		c.cfg.json = want_json;
		c.config_error = &err;
	}
	if (out_open(&c.out, &c.cfg, &err) < 0) {
		config_free(&c.cfg);
		return fail_early(&err);
	}
	c.args = cargv + first_arg;
	c.nargs = nargs;
	c.opts = cp->local;
	c.nopts = cp->nlocal;
	c.lg = &c.out.lg;
	c.stop = &stop_flag;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	rc = cmd->run(&c);

	out_close(&c.out);
	config_free(&c.cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	struct parsed gp = {0}, cp = {0};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		want_json = want_json || strcmp(argv[i], "--json") == 0;
	rc = dispatch(argc, argv, &gp, &cp);
	parsed_free(&gp);
	parsed_free(&cp);
	return rc;
}
