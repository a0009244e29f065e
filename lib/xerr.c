/* xerr.c: the error record and the exit code table. */
#include <stdio.h>

#include "xr.h"

const struct exit_code_doc exit_code_table[] = {
	{XR_OK, "success"},
	{XR_EFAIL, "the command ran but something failed (see the error lines)"},
	{XR_EUSAGE, "bad command line, config file or input; nothing was changed"},
	{XR_EREDIS, "Redis unreachable, login refused, or connection lost (trace: after the journal's story)"},
	{XR_EJOURNAL, "the journal cannot be opened, read or written"},
	{XR_ELOCKED, "another xrecover holds the journal lock"},
	{XR_ENOTHING, "nothing matched or nothing left to do (empty selection, unknown or rolled-back batch, trace of an entry or field the journal does not know)"},
	{XR_EBROKEN, "verify: the journal's hash chain is broken, or the head given is not in it"},
	{XR_EMISSING, "run, status: a stream named with --stream or in the config does not exist, or (run) a group named with --group is on none of the selected streams; it was skipped and the rest was done"},
	{XR_EUNSAFE, "entries kept back: a copy would reach groups that did not ask for it (run: they stay held, the rest was done; replay: nothing was copied)"},
	{XR_EMETRICS, "run: the run went well and is journalled, but --metrics-file could not be written"},
	{XR_EOWNS, "release: the consumer still owns pending entries; it was kept in those groups (--claim moves them to the recovery consumer first)"},
	{-1, NULL},
};

int
xerr_vset(struct xerr *err, int code, const char *fmt, va_list ap)
{
	if (err != NULL) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return -1;
}

int
xerr_set(struct xerr *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xerr_vset(err, code, fmt, ap);
	va_end(ap);
	return -1;
}
