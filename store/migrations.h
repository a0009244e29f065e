/*
 * migrations.h: the schema steps compiled from schema/NNN_*.sql (the
 * build generates their table); applied in order by journal_open().
 */
#ifndef XR_MIGRATIONS_H
#define XR_MIGRATIONS_H

#include <stddef.h>

struct migration {
	int version;            /* NNN of the file name; PRAGMA user_version after it */
	const char *name;       /* the file name */
	const char *sql;
};

extern const struct migration migrations[];
extern const size_t migrations_n;

#endif
