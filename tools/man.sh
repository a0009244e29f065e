#!/bin/sh
# man.sh XRECOVER TEMPLATE OUT: writes the manual page OUT from TEMPLATE
# (doc/xrecover.1.in), each line '.\" generated: PART' replaced by what
# `XRECOVER help --man PART` writes, and @VERSION@ by the version.
set -eu
bin=$1
in=$2
out=$3
version=$("$bin" --version)
version=${version#xrecover }
marker='.\" generated: '
{
	while IFS= read -r line; do
		case $line in
		"$marker"*) "$bin" help --man "${line#"$marker"}" ;;
		*@VERSION@*) printf '%s%s%s\n' "${line%%@VERSION@*}" "$version" "${line#*@VERSION@}" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done <"$in"
} >"$out.tmp"
mv "$out.tmp" "$out"
