#!/bin/sh
# t0029-docs: the manual page xrecover(1) and the bash completion agree with
# `xrecover help`: every command, every option with its argument name and
# its help, every exit code of lib/xr.h; mandoc -T lint finds nothing, at
# its strictest level (STYLE); the completion, sourced in bash, completes
# commands, each command's options, option values and file names.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

MAN=$XR_BUILD/xrecover.1
COMPLETION=$XR_BUILD/xrecover.bash

# The page as a reader sees it, on lines long enough never to wrap, without
# the overstrike of bold and underline.
mandoc -T ascii -O width=1000 "$MAN" | sed 's/.\x08//g' >"$TMP/man.txt"

# squeeze: runs of blanks as one space, none at either end
squeeze() {
	sed 's/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//'
}

# section NAME: the rendered section NAME (its lines after the heading)
section() {
	awk -v name="$1" '/^[A-Z]/ { on = ($0 == name); next } on' "$TMP/man.txt"
}

# subsection NAME: the subsection NAME of COMMANDS
subsection() {
	section COMMANDS | awk -v name="$1" '/^   [^ ]/ { on = ($0 == "   " name); next } on'
}

# tagged: each tagged paragraph of stdin (an option, an exit code) as one
# line "TAG TEXT", squeezed; a tag is a line indented 7 spaces that starts
# with a '-' or a digit, its text on the same line or indented 14 below.
tagged() {
	awk '
	function flush() { if (tag != "") print tag; tag = "" }
	/^       [-0-9]/ { flush(); tag = $0; next }
	/^              [^ ]/ && tag != "" { tag = tag " " $0; next }
	{ flush() }
	END { flush() }' | squeeze
}

# help_list TITLE [COMMAND]: the lines of `xrecover help [COMMAND]` under
# "TITLE:" up to the blank line after them, squeezed
help_list() {
	"$XR" help ${2:+"$2"} | awk -v t="$1:" '$0 == t { on = 1; next } on && $0 == "" { exit } on' |
		squeeze
}

commands() {
	help_list Commands | awk '$1 != "help" { print $1 }'
}

# same WHAT EXPECTED_FILE ACTUAL_FILE: the two lists are equal, line for line
same() {
	if ! diff "$2" "$3" >"$TMP/diff"; then
		cat "$TMP/diff" >&2
		fail "$1: the manual page differs from xrecover help (< help, > manual)"
	fi
}

test_case 'mandoc -T lint -W style: not one message, of any level' '
	assert_exit 0 mandoc -T lint -W style "$MAN"
	assert_eq "" "$(cat "$TMP/out" "$TMP/err")" "mandoc -T lint -W style"
	# the check can fail: a page with a fault in it is reported
	sed "s/^\.SH DESCRIPTION/.SH DESCRIPTION\n.TP/; s/^\.TH .*/.TH XRECOVER 1/" "$MAN" >"$TMP/bad.1"
	if mandoc -T lint -W style "$TMP/bad.1" >"$TMP/out" 2>&1; then
		fail "mandoc -T lint passed a page without a date and with an empty .TP"
	fi
	assert_grep "WARNING: missing date" "$TMP/out"
'

test_case 'every command of xrecover help is in COMMANDS and SYNOPSIS, with its line and usage' '
	n=0
	for c in $(commands) help; do
		n=$((n + 1))
		subsection "$c" >"$TMP/block"
		[ -s "$TMP/block" ] || fail "no subsection $c in COMMANDS"
		summary=$(help_list Commands | awk -v c="$c" "\$1 == c { \$1 = \"\"; print }" | squeeze)
		[ -n "$summary" ] || fail "no line for $c in xrecover help"
		squeeze <"$TMP/block" >"$TMP/block.sq"
		grep -qxF -- "$summary" "$TMP/block.sq" || { cat "$TMP/block" >&2; fail "$c: no line \"$summary\""; }
		if [ "$c" != help ]; then
			usage=$("$XR" help "$c" | sed -n "1s/^usage: //p")
			grep -qxF -- "$usage" "$TMP/block.sq" || fail "$c: no usage \"$usage\""
			section SYNOPSIS | squeeze | grep -qxF -- "$usage" || fail "$c: not in SYNOPSIS"
		fi
	done
	# and nothing more: as many subsections as commands
	assert_eq "$n" "$(section COMMANDS | grep -c "^   [^ ]")" "subsections of COMMANDS"
	[ "$n" -ge 9 ] || fail "only $n commands"
	echo "# $n commands"
'

test_case 'every option of xrecover help CMD is under CMD, with its argument name and its help' '
	total=0
	for c in $(commands); do
		help_list Options "$c" >"$TMP/want"
		subsection "$c" | tagged >"$TMP/got"
		same "options of $c" "$TMP/want" "$TMP/got"
		total=$((total + $(wc -l <"$TMP/want")))
	done
	help_list "Global options" >"$TMP/want"
	section "GLOBAL OPTIONS" | tagged >"$TMP/got"
	same "global options" "$TMP/want" "$TMP/got"
	[ -s "$TMP/want" ] || fail "no global options"
	# the argument name as a word of its own: "--metrics-file FILE"
	section COMMANDS | tagged | grep -qxF -- "--metrics-file FILE after the run, replace FILE with the metrics in the Prometheus text format (for node_exporter'"'"'s textfile collector)"
	echo "# $total command options, $(wc -l <"$TMP/want") global ones"
'

test_case 'every exit code of lib/xr.h is in EXIT STATUS, with the meaning help gives' '
	sed -n "s/^[[:space:]]*XR_[A-Z]* = \([0-9]*\),.*/\1/p" "$TOP/lib/xr.h" >"$TMP/codes"
	[ "$(wc -l <"$TMP/codes")" -ge 11 ] || fail "codes of lib/xr.h: $(cat "$TMP/codes")"
	section "EXIT STATUS" | tagged >"$TMP/got"
	help_list "Exit codes" >"$TMP/want"
	same "exit codes" "$TMP/want" "$TMP/got"
	while read -r code; do
		grep -q "^$code " "$TMP/got" || fail "exit code $code of lib/xr.h is not in EXIT STATUS"
	done <"$TMP/codes"
	assert_eq "$(wc -l <"$TMP/codes")" "$(wc -l <"$TMP/got")" "exit codes in EXIT STATUS"
'

test_case 'the completion passes shellcheck, as bash' '
	shellcheck -s bash "$COMPLETION"
'

# complete WORDS...: what the completion offers for the command line WORDS
# (the last one being completed), one a line, sorted
complete_words() {
	bash -c '
		. "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		_xrecover
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$COMPLETION" "$@" | sed "/^$/d" | LC_ALL=C sort
}

test_case 'commands: xrecover re completes to the commands starting with re' '
	commands | grep "^re" | LC_ALL=C sort >"$TMP/want"
	[ "$(wc -l <"$TMP/want")" -ge 2 ] || fail "fewer than two commands start with re"
	complete_words xrecover re >"$TMP/got"
	same "xrecover re" "$TMP/want" "$TMP/got"
	# after global options, and after help
	complete_words xrecover --db "$DB" -r redis://127.0.0.1:1 re >"$TMP/got"
	same "xrecover --db ... re" "$TMP/want" "$TMP/got"
	complete_words xrecover help re >"$TMP/got"
	same "xrecover help re" "$TMP/want" "$TMP/got"
	{ commands; echo help; } | LC_ALL=C sort >"$TMP/want"
	complete_words xrecover "" >"$TMP/got"
	same "xrecover (all)" "$TMP/want" "$TMP/got"
'

test_case 'options: xrecover run --met completes to --metrics-file; each command to its options and the global ones' '
	assert_eq "--metrics-file" "$(complete_words xrecover run --met)" "xrecover run --met"
	assert_eq "--metrics-file" "$(complete_words xrecover -q run --batch 5 --met)" "after an option and its value"
	for c in $(commands); do
		{ help_list Options "$c"; help_list "Global options" "$c"; } |
			sed "s/^\(-., \)\{0,1\}\(--[a-z0-9-]*\).*/\2/" | LC_ALL=C sort -u >"$TMP/want"
		complete_words xrecover "$c" -- >"$TMP/got"
		same "xrecover $c --" "$TMP/want" "$TMP/got"
	done
'

test_case 'option values: files for FILE, the words of hold|redeliver|..., nothing for a name' '
	mkdir "$TMP/dir"
	: >"$TMP/dir/metrics.prom"
	: >"$TMP/dir/other"
	assert_eq "$TMP/dir/metrics.prom" "$(complete_words xrecover run --metrics-file "$TMP/dir/m")" "--metrics-file FILE"
	assert_eq "$TMP/dir/metrics.prom" "$(complete_words xrecover --db "$TMP/dir/m")" "--db FILE"
	assert_eq "$TMP/dir/metrics.prom" "$(complete_words xrecover report -o "$TMP/dir/m")" "-o FILE"
	assert_eq "$TMP/dir/metrics.prom" "$(complete_words xrecover --db = "$TMP/dir/m")" "--db=FILE"
	assert_eq "redeliver" "$(complete_words xrecover run --action r)" "--action"
	assert_eq "auto" "$(complete_words xrecover status --claim-idle a)" "--claim-idle"
	assert_eq "" "$(complete_words xrecover run --stream r)" "--stream NAME"
	assert_eq "" "$(complete_words xrecover rollback r)" "rollback BATCH"
'

# ROLLBACK.md, "A journal migration": the copy taken before migrating, and
# putting it back as ROLLBACK.md says.
backup_before_migrating() {
	J=$TMP/mig/journal.db
	mkdir -p "$TMP/mig"
	latest=$(printf '%s\n' "$TOP"/schema/[0-9][0-9][0-9]_*.sql | sed 's|.*/0*\([0-9]*\)_.*|\1|' | sort -n | tail -n 1)
	{ cat "$TOP/schema/001_init.sql"; echo "
		PRAGMA user_version = 1;
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328000, 1, 'run_start', '{\"mode\":\"TEST\"}');
		INSERT INTO events (ts, run, kind, stream, grp, entry_ms, entry_seq, consumer, idle_ms, deliveries, payload)
		  VALUES (1768644328001, 1, 'claim', 'old', 'g', 1768644000000, 0, 'dead', 5000, 1, '{\"k\":\"v\"}');
		INSERT INTO events (ts, run, kind, detail) VALUES (1768644328002, 1, 'run_end', '{\"status\":\"ok\",\"claimed\":1}');"
	} | sqlite3 "$J"
	sqlite3 "$J" .dump >"$TMP/v1.dump"
	# a run migrates it (and fails at Redis: nothing listens on port 1)
	assert_exit 3 "$XR" -r redis://127.0.0.1:1 --db "$J" run -s orders
	assert_eq "$latest" "$(sql "PRAGMA user_version" "$J")" "the journal's version after the run"
	[ -f "$J.bak-v1" ] || fail "no $J.bak-v1"
	assert_eq 600 "$(stat -c %a "$J.bak-v1")" "mode of the backup"
	assert_eq 1 "$(sql "PRAGMA user_version" "$J.bak-v1")" "the backup's version"
	assert_eq ok "$(sql "PRAGMA integrity_check" "$J.bak-v1")" "the backup's integrity"
	sqlite3 "$J.bak-v1" .dump >"$TMP/bak.dump"
	cmp "$TMP/v1.dump" "$TMP/bak.dump" || fail "the backup is not the journal as it was"
	ls "$TMP/mig" >"$TMP/files"
	assert_no_grep "tmp" "$TMP/files"
	# a journal already at the newest version is not copied again
	cp "$J.bak-v1" "$TMP/bak-v1.first"
	assert_exit 3 "$XR" -r redis://127.0.0.1:1 --db "$J" run -s orders
	cmp "$J.bak-v1" "$TMP/bak-v1.first" || fail "the backup changed"
	set -- "$TMP"/mig/*.bak-v*
	assert_eq 1 "$#" "backups"
	# a new journal has nothing to back up
	assert_exit 3 "$XR" -r redis://127.0.0.1:1 --db "$TMP/mig/new.db" run -s orders
	set -- "$TMP"/mig/new.db.bak*
	[ ! -e "$1" ] || fail "a new journal was backed up: $1"
	# put it back as ROLLBACK.md says: the migrated journal aside, the copy in its place
	mkdir "$TMP/mig/migrated"
	for f in "$J" "$J-wal" "$J-shm"; do
		[ ! -e "$f" ] || mv "$f" "$TMP/mig/migrated/"
	done
	cp -p "$J.bak-v1" "$J"
	assert_eq 1 "$(sql "PRAGMA user_version" "$J")" "the version put back"
	sqlite3 "$J" .dump >"$TMP/back.dump"
	cmp "$TMP/v1.dump" "$TMP/back.dump" || fail "the journal put back is not the one before"
	# this xrecover will not read it unmigrated: the old binary goes back with it
	assert_exit 4 "$XR" --db "$J" verify
	assert_grep "needs migrating" "$TMP/err"
}
test_case 'a journal is copied to journal.db.bak-vN before its migration from N, and the copy puts it back' \
	backup_before_migrating


# slugs FILE: the anchor of each heading of the Markdown FILE (outside code
# blocks), as GitHub makes them: lower case, punctuation dropped but '-' and
# '_', each space a '-'
slugs() {
	awk '/^```/ { code = !code; next }
	!code && /^#+ / {
		h = tolower($0)
		sub(/^#+ /, "", h)
		gsub(/[^a-z0-9 _-]/, "", h)
		gsub(/ /, "-", h)
		print h
	}' "$1"
}

# bad_links FILE: each relative link of the Markdown FILE whose file does
# not exist, or whose #fragment is no heading of that file, one a line
bad_links() {
	dir=$(dirname "$1")
	grep -o '](\([^)]*\))' "$1" | sed 's/^](//; s/)$//' | while IFS= read -r link; do
		case $link in
		*://* | mailto:*) continue ;;
		esac
		path=${link%%#*}
		frag=
		case $link in
		*'#'*) frag=${link#*#} ;;
		esac
		if [ -z "$path" ]; then
			target=$1
		else
			target=$dir/$path
		fi
		if [ ! -e "$target" ]; then
			echo "$1: $link: no such file"
		elif [ -n "$frag" ] && ! slugs "$target" | grep -qx -- "$frag"; then
			echo "$1: $link: no such heading"
		fi
	done
}

links_resolve() {
	n=0
	for f in "$TOP"/README.md "$TOP"/docs/*.md "$TOP"/ROLLBACK.md "$TOP"/bench/README.md \
		"$TOP"/tests/README.md; do
		[ -f "$f" ] || fail "no $f"
		c=$(grep -o '](\([^)]*\))' "$f" | grep -cv '://') || true
		n=$((n + c))
		bad_links "$f" >>"$TMP/bad"
	done
	assert_eq "" "$(cat "$TMP/bad")" "links to a missing file or heading"
	[ "$n" -gt 50 ] || fail "only $n relative links found: the check reads none"
	echo "# relative links checked: $n"
	# the check can fail: a link to a missing heading and to a missing file
	printf '# T\n\n## A `b`: c\n\n```\n# not a heading\n```\n' >"$TMP/doc.md"
	printf '[x](#a-b-c) [y](#t) [z](#not-a-heading) [w](nothere.md) [v](doc.md#t)\n' >>"$TMP/doc.md"
	bad_links "$TMP/doc.md" >"$TMP/bad2"
	assert_eq 2 "$(wc -l <"$TMP/bad2")" "faults found in a page with two"
	assert_grep "#not-a-heading: no such heading" "$TMP/bad2"
	assert_grep "nothere.md: no such file" "$TMP/bad2"
}
test_case 'every relative link of README.md, docs/, ROLLBACK.md, bench/ and tests/ READMEs names a file and heading that exist' \
	links_resolve

acl_line_agrees() {
	line=$(grep '^ACL SETUSER xrecover ' "$TOP"/README.md)
	assert_eq 1 "$(echo "$line" | wc -l)" "ACL lines in README.md"
	assert_eq "$line" "$(grep '^ACL SETUSER xrecover ' "$TOP"/docs/configuration.md)" \
		"the ACL line of docs/configuration.md and README.md's (t0027 tests README.md's)"
}
test_case 'the ACL line of docs/configuration.md is README.md'"'"'s' acl_line_agrees

test_done
