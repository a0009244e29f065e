#!/bin/sh
# sql2c.sh OUT.c schema/001_x.sql schema/002_y.sql ...
# Writes the migrations[] table (store/migrations.h) with each file's SQL
# as a C string, in the order given (the Makefile sorts them by number).
set -eu
out=$1
shift
tmp=$out.tmp
{
	echo '/* Generated from the schema/ files by tools/sql2c.sh; do not edit. */'
	echo '#include "store/migrations.h"'
	echo
	echo 'const struct migration migrations[] = {'
	for f in "$@"; do
		name=$(basename "$f")
		num=${name%%_*}
		ver=$(echo "$num" | sed 's/^0*//')
		case "$ver" in ''|*[!0-9]*) echo "sql2c: bad migration name $name" >&2; exit 1;; esac
		echo "	{$ver, \"$name\","
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	 "/' -e 's/$/\\n"/' "$f"
		echo '	},'
	done
	echo '};'
	echo
	echo "const size_t migrations_n = $#;"
} > "$tmp"
mv "$tmp" "$out"
