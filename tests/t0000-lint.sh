#!/bin/sh
# t0000-lint: every shell script of the project passes shellcheck, checked
# for the shell it runs under: its #! line, or sh for the files that are
# sourced (tests/lib.sh) or run with `sh` (.ci/run and the rest), with
# and without following what it sources.
# Case bodies are single-quoted and expanded by test_case, so shellcheck
# cannot see the variables they use.
# shellcheck disable=SC2016,SC2034
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# shell_of FILE: the dialect shellcheck should check FILE as
shell_of() {
	case $(head -n 1 "$1") in
	'#!'*bash*) echo bash ;;
	*) echo sh ;;
	esac
}

scripts=$(cd "$TOP" && { ls .ci/run tests/*.sh tools/*.sh bench/*.sh; \
	ls deploy/*.sh 2>/dev/null || true; })

# Each file twice: with what it sources, and alone, as a reader of that one
# file sees it (a variable set only for lib.sh must be exported).
lint_one() {
	cd "$TOP" || return
	shellcheck -s "$(shell_of "$1")" -x "$1" &&
		shellcheck -s "$(shell_of "$1")" -e SC1091 "$1"
}
for f in $scripts; do
	test_case "shellcheck -s $(shell_of "$TOP/$f") $f" "lint_one $f"
done

test_done
