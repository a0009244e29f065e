/*
 * manual.h: the parts of the manual page xrecover(1) and the bash
 * completion that are written from the command table, so that neither can
 * drift from `xrecover help`.  cmd/main.c holds the table and calls these
 * for `xrecover help --man PART` and `xrecover help --completion bash`
 * (the Makefile's rules for xrecover.1 and xrecover.bash).
 */
#ifndef XR_MANUAL_H
#define XR_MANUAL_H

#include <stdio.h>

#include "command.h"

/* What help, the manual page and the completion are written from. */
struct cmd_table {
	const struct command *const *commands;  /* NULL-terminated */
	const char *usage;                      /* after "xrecover " */
	const struct cmd_option *global;        /* the global options, zero-terminated */
	const char *help_summary;               /* help's own line in the list of commands */
	const char *notes;                      /* after the global options: durations, precedence */
};

/*
 * Writes one generated part of the manual page as man(7) source:
 * "synopsis", "commands", "options" (the global ones and the notes) or
 * "exit-status".  Returns -1 for an unknown part, having written nothing.
 */
int manual_write(FILE *f, const struct cmd_table *t, const char *part);

/* Writes the bash completion script for xrecover. */
void completion_write(FILE *f, const struct cmd_table *t);

#endif
