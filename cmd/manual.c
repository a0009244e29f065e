/*
 * manual.c: the generated parts of xrecover(1) and the bash completion,
 * both written from the command table (see manual.h).  The rest of the
 * manual page, what no table knows, is doc/xrecover.1.in; tools/man.sh puts
 * the two together.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../lib/buf.h"
#include "manual.h"

/* -------------------------------------------------------------- roff */

/* Lines of roff source no longer than this (mandoc's style), where they can break. */
#define ROFF_WIDTH 80

/*
 * Appends n bytes of s as roff text: a backslash as \e, every '-' as \- (a
 * minus, so that options copied from the page work).
 */
static void
roff_esc(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			buf_adds(b, "\\e");
		else if (s[i] == '-')
			buf_adds(b, "\\-");
		else
			buf_addc(b, s[i]);
	}
}

/*
 * Writes escaped text as roff text lines, broken at blanks into lines of at
 * most width bytes where a word allows (SIZE_MAX: one line), each without
 * trailing blanks, and \& before a '.' or '\'' that begins one (a request).
 */
static void
roff_emit(FILE *f, const char *s, size_t width)
{
	size_t len = strlen(s);

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	while (len > 0) {
		size_t n = len, rest;

		while (*s == ' ' || *s == '\t') {
			s++;
			len--;
		}
		if (len > width) {
			/* The last blank within width; else the first after it. */
			n = width;
			while (n > 0 && s[n] != ' ')
				n--;
			if (n == 0)
				n = strcspn(s, " ");
		}
		if (n > len)
			n = len;
		rest = n;
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (*s == '.' || *s == '\'')
			fputs("\\&", f);
		fwrite(s, 1, n, f);
		fputc('\n', f);
		s += rest;
		len -= rest;
	}
}

/*
 * Writes text that may span lines (help's own line breaks) as roff text;
 * an empty line becomes blank_macro (".PP").
 */
static void
roff_lines(FILE *f, const char *s, const char *blank_macro)
{
	struct buf b = BUF_INIT;

	while (s != NULL && *s != '\0') {
		const char *nl = strchr(s, '\n');
		size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);

		buf_reset(&b);
		roff_esc(&b, s, n);
		if (strspn(buf_str(&b), " \t") == b.len)
			fprintf(f, "%s\n", blank_macro);
		else
			roff_emit(f, buf_str(&b), ROFF_WIDTH);
		s += n;
		if (*s == '\n')
			s++;
	}
	buf_free(&b);
}

/* "\fBxrecover NAME\fR USAGE" (NAME NULL: "\fBxrecover\fR USAGE"). */
static void
roff_usage(FILE *f, const char *name, const char *usage)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "\\fBxrecover");
	if (name != NULL) {
		buf_addc(&b, ' ');
		roff_esc(&b, name, strlen(name));
	}
	buf_adds(&b, "\\fR ");
	if (usage != NULL)
		roff_esc(&b, usage, strlen(usage));
	roff_emit(f, buf_str(&b), ROFF_WIDTH);
	buf_free(&b);
}

/*
 * Each option as a tagged paragraph, its tag as help shows it:
 * "-s, --stream NAME" (the name bold, the argument italic).
 */
static void
roff_options(FILE *f, const struct cmd_option *opts)
{
	struct buf b = BUF_INIT;

	for (const struct cmd_option *o = opts; o != NULL && o->name != NULL; o++) {
		buf_reset(&b);
		if (o->short_name) {
			buf_adds(&b, "\\fB");
			roff_esc(&b, (char[]){'-', (char)o->short_name}, 2);
			buf_adds(&b, "\\fR, ");
		}
		buf_adds(&b, "\\fB\\-\\-");
		roff_esc(&b, o->name, strlen(o->name));
		buf_adds(&b, "\\fR");
		if (o->arg != NULL) {
			buf_adds(&b, " \\fI");
			roff_esc(&b, o->arg, strlen(o->arg));
			buf_adds(&b, "\\fR");
		}
		fputs(".TP\n", f);
		roff_emit(f, buf_str(&b), SIZE_MAX);    /* a tag is one line */
		roff_lines(f, o->help, ".br");
	}
	buf_free(&b);
}

static void
man_synopsis(FILE *f, const struct cmd_table *t)
{
	roff_usage(f, NULL, t->usage);
	for (size_t i = 0; t->commands[i] != NULL; i++) {
		fputs(".br\n", f);
		roff_usage(f, t->commands[i]->name, t->commands[i]->usage);
	}
	fputs(".br\n", f);
	roff_usage(f, "help", "[COMMAND]");
}

static void
man_commands(FILE *f, const struct cmd_table *t)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; t->commands[i] != NULL; i++) {
		const struct command *c = t->commands[i];

		buf_reset(&b);
		roff_esc(&b, c->name, strlen(c->name));
		fprintf(f, ".SS %s\n", buf_str(&b));
		roff_usage(f, c->name, c->usage);
		fputs(".PP\n", f);
		roff_lines(f, c->summary, ".PP");
		fputs(".PP\n", f);
		roff_lines(f, c->description, ".PP");
		if (c->options != NULL && c->options->name != NULL) {
			fputs(".PP\nOptions (and the global options):\n", f);
			roff_options(f, c->options);
		}
	}
	fputs(".SS help\n", f);
	roff_usage(f, "help", "[COMMAND]");
	fputs(".PP\n", f);
	roff_lines(f, t->help_summary, ".PP");
	fputs(".PP\n\\fBxrecover \\fICOMMAND\\fB \\-\\-help\\fR shows the same.\n", f);
	buf_free(&b);
}

static void
man_options(FILE *f, const struct cmd_table *t)
{
	roff_options(f, t->global);
	fputs(".PP\n", f);
	roff_lines(f, t->notes, ".PP");
}

static void
man_exit_status(FILE *f)
{
	for (const struct exit_code_doc *e = exit_code_table; e->meaning != NULL; e++) {
		fprintf(f, ".TP\n.B %d\n", e->code);
		roff_lines(f, e->meaning, ".br");
	}
}

int
manual_write(FILE *f, const struct cmd_table *t, const char *part)
{
	if (strcmp(part, "synopsis") == 0)
		man_synopsis(f, t);
	else if (strcmp(part, "commands") == 0)
		man_commands(f, t);
	else if (strcmp(part, "options") == 0)
		man_options(f, t);
	else if (strcmp(part, "exit-status") == 0)
		man_exit_status(f);
	else
		return -1;
	return 0;
}

/* ---------------------------------------------------------- completion */

/* s as one bash word in single quotes. */
static void
sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* Appends "--name -x " for each option (-x if it has one). */
static void
option_words(struct buf *b, const struct cmd_option *opts)
{
	for (const struct cmd_option *o = opts; o != NULL && o->name != NULL; o++) {
		buf_printf(b, "--%s ", o->name);
		if (o->short_name)
			buf_printf(b, "-%c ", o->short_name);
	}
}

/*
 * The case patterns "CMD:--name|CMD:-x" of one option (cmd NULL: any
 * command, or none yet: "*:"), after sep unless it is the first.
 */
static void
sh_option_patterns(FILE *f, const char *cmd, const struct cmd_option *o, const char *sep,
    bool *first)
{
	char dash[64];

	for (int k = 0; k < 2; k++) {
		if (k == 0)
			snprintf(dash, sizeof(dash), "--%s", o->name);
		else if (o->short_name)
			snprintf(dash, sizeof(dash), "-%c", o->short_name);
		else
			break;
		fputs(*first ? "" : k == 0 ? sep : "|", f);
		*first = false;
		if (cmd != NULL)
			sh_quote(f, cmd);
		else
			fputc('*', f);
		fputc(':', f);
		sh_quote(f, dash);
	}
}

/* Whether an option's value is a file name. */
static bool
arg_is_file(const struct cmd_option *o)
{
	return o->arg != NULL && strcmp(o->arg, "FILE") == 0;
}

/*
 * The literal words of an argument such as "hold|redeliver|hand-off" or
 * "DURATION|auto" (those written in lower case), space-separated, into buf;
 * false when it has none.
 */
static bool
arg_words(const struct cmd_option *o, char *buf, size_t size)
{
	const char *s = o->arg;
	size_t used = 0;

	buf[0] = '\0';
	if (s == NULL || strchr(s, '|') == NULL)
		return false;
	while (*s != '\0') {
		size_t n = strcspn(s, "|");
		bool lower = n > 0;

		for (size_t i = 0; i < n; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
				lower = false;
		if (lower && used + n + 2 < size) {
			if (used > 0)
				buf[used++] = ' ';
			memcpy(buf + used, s, n);
			used += n;
			buf[used] = '\0';
		}
		s += n;
		if (*s == '|')
			s++;
	}
	return used > 0;
}

enum value_kind { VALUE_FILE, VALUE_WORDS, VALUE_OTHER };

static enum value_kind
value_kind(const struct cmd_option *o, char *words, size_t size)
{
	if (arg_is_file(o))
		return VALUE_FILE;
	if (arg_words(o, words, size))
		return VALUE_WORDS;
	return VALUE_OTHER;
}

/*
 * The patterns of every option, of every command and the global ones, whose
 * value is of kind k (with VALUE_WORDS, one case arm per option, completed
 * with its words); then the arm's body.
 */
static void
sh_value_arms(FILE *f, const struct cmd_table *t, enum value_kind k, const char *body)
{
	char words[256];
	bool first = true;
	size_t n = 0;

	while (t->commands[n] != NULL)
		n++;
	for (size_t i = 0; i <= n; i++) {
		const struct command *c = i < n ? t->commands[i] : NULL;
		const struct cmd_option *opts = c != NULL ? c->options : t->global;

		for (const struct cmd_option *o = opts; o != NULL && o->name != NULL; o++) {
			if (o->arg == NULL || value_kind(o, words, sizeof(words)) != k)
				continue;
			if (first || k == VALUE_WORDS)
				fputc('\t', f);
			if (k == VALUE_WORDS)
				first = true;
			sh_option_patterns(f, c != NULL ? c->name : NULL, o, "|\\\n\t", &first);
			if (k == VALUE_WORDS) {
				fputs(")\n\t\t_xrecover_words ", f);
				sh_quote(f, words);
				fputs("\n\t\treturn ;;\n", f);
			}
		}
	}
	if (k != VALUE_WORDS && !first)
		fprintf(f, ")\n\t\t%s ;;\n", body);
}

void
completion_write(FILE *f, const struct cmd_table *t)
{
	struct buf b = BUF_INIT;
	bool first = true;

	fputs("# bash completion for xrecover(1), generated from its command table\n"
	    "# (xrecover help --completion bash).  Source it, or install it as\n"
	    "# /usr/share/bash-completion/completions/xrecover.\n"
	    "\n"
	    "_xrecover_files() {\n"
	    "\tcompopt -o filenames 2>/dev/null\n"
	    "\tmapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	    "}\n"
	    "\n"
	    "_xrecover_words() {\n"
	    "\tmapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\")\n"
	    "}\n"
	    "\n"
	    "_xrecover() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} opt cmd='' at=0 i=1 w\n"
	    "\tCOMPREPLY=()\n"
	    "\t# The command: the first word that is neither an option nor an option's value.\n"
	    "\twhile ((i < COMP_CWORD)); do\n"
	    "\t\tw=${COMP_WORDS[i]}\n"
	    "\t\tcase $w in\n\t\t", f);
	for (const struct cmd_option *o = t->global; o->name != NULL; o++) {
		char dash[64];

		if (o->arg == NULL)
			continue;
		snprintf(dash, sizeof(dash), "--%s", o->name);
		fputs(first ? "" : "|", f);
		sh_quote(f, dash);
		first = false;
		if (o->short_name) {
			snprintf(dash, sizeof(dash), "-%c", o->short_name);
			fputc('|', f);
			sh_quote(f, dash);
		}
	}
	fputs(")\n"
	    "\t\t\t# a global option, its value, and the '=' of --opt=value\n"
	    "\t\t\tif [[ ${COMP_WORDS[i + 1]} == = ]]; then ((i += 3)); else ((i += 2)); fi\n"
	    "\t\t\tcontinue ;;\n"
	    "\t\t-*) ;;\n"
	    "\t\t*)\n"
	    "\t\t\tcmd=$w\n"
	    "\t\t\tat=$i\n"
	    "\t\t\tbreak ;;\n"
	    "\t\tesac\n"
	    "\t\t((i++))\n"
	    "\tdone\n"
	    "\t# The option whose value is being completed, if any (--opt value, --opt=value).\n"
	    "\tif [[ $cur == = ]]; then\n"
	    "\t\topt=${COMP_WORDS[COMP_CWORD - 1]}\n"
	    "\t\tcur=''\n"
	    "\telif ((COMP_CWORD > 1)) && [[ ${COMP_WORDS[COMP_CWORD - 1]} == = ]]; then\n"
	    "\t\topt=${COMP_WORDS[COMP_CWORD - 2]}\n"
	    "\telse\n"
	    "\t\topt=${COMP_WORDS[COMP_CWORD - 1]}\n"
	    "\tfi\n"
	    "\tcase $cmd:$opt in\n", f);
	sh_value_arms(f, t, VALUE_FILE, "_xrecover_files\n\t\treturn");
	sh_value_arms(f, t, VALUE_WORDS, NULL);
	/* A value xrecover cannot guess (a name, a number, a time): nothing. */
	sh_value_arms(f, t, VALUE_OTHER, "return");
	fputs("\tesac\n"
	    "\tif [[ $cur == -* ]]; then\n"
	    "\t\tcase $cmd in\n", f);
	for (size_t i = 0; t->commands[i] != NULL; i++) {
		buf_reset(&b);
		option_words(&b, t->commands[i]->options);
		fputs("\t\t", f);
		sh_quote(f, t->commands[i]->name);
		fputs(") w=", f);
		sh_quote(f, buf_str(&b));
		fputs(" ;;\n", f);
	}
	buf_reset(&b);
	option_words(&b, t->global);
	fputs("\t\t*) w='' ;;\n"
	    "\t\tesac\n"
	    "\t\t_xrecover_words \"$w\"", f);
	sh_quote(f, buf_str(&b));
	fputs("\n"
	    "\t\treturn\n"
	    "\tfi\n", f);
	buf_reset(&b);
	for (size_t i = 0; t->commands[i] != NULL; i++)
		buf_printf(&b, "%s ", t->commands[i]->name);
	/* After help, a command; first, a command or help. */
	fputs("\tif [[ $cmd == help ]] && ((COMP_CWORD == at + 1)); then\n"
	    "\t\t_xrecover_words ", f);
	sh_quote(f, buf_str(&b));
	buf_adds(&b, "help");
	fputs("\n"
	    "\telif [[ -z $cmd ]]; then\n"
	    "\t\t_xrecover_words ", f);
	sh_quote(f, buf_str(&b));
	fputs("\n"
	    "\tfi\n"
	    "}\n"
	    "\n"
	    "complete -F _xrecover xrecover\n", f);
	buf_free(&b);
}
